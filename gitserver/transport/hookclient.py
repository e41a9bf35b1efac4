"""Git hook client: forwards a hook invocation to the server that spawned git.

Runs as `python -I -S hookclient.py HOOK [ARGS...]` from the hook scripts the server
writes into DATA/hooks, so it must import nothing but the standard library and start
fast. The server answers with an exit status and a message for the pushing user.
"""

import json
import os
import socket
import sys

_ENV_KEYS = (
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PUSH_OPTION_COUNT",
)


def main(argv: list[str]) -> int:
    hook, args = argv[1], argv[2:]
    token = os.environ.get("GITSERVER_HOOK_TOKEN")
    address = os.environ.get("GITSERVER_HOOK_SOCKET")
    if not token or not address:
        sys.stderr.write("gitserver: refusing a ref update that the server did not start\n")
        return 1
    env = {key: os.environ[key] for key in _ENV_KEYS if key in os.environ}
    for index in range(int(os.environ.get("GIT_PUSH_OPTION_COUNT", "0") or 0)):
        key = f"GIT_PUSH_OPTION_{index}"
        env[key] = os.environ.get(key, "")
    stdin = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    request = {"token": token, "hook": hook, "args": args, "stdin": stdin, "env": env}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(600)
            conn.connect(address)
            conn.sendall(json.dumps(request).encode("utf-8", "surrogateescape") + b"\n")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        reply = json.loads(b"".join(chunks))
    except (OSError, ValueError):
        sys.stderr.write("gitserver: internal error while checking this push\n")
        return 1
    message = reply.get("message") or ""
    if message:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
    return int(reply.get("exit", 1))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
