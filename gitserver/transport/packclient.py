"""uploadpack.packObjectsHook client: hands upload-pack's pack-objects run to the server.

git runs it as `python -I -S packclient.py git [--shallow-file ""] pack-objects ...`
for every fetch and clone (see gitserver.transport.packobjects for the protocol), so it
imports only modules built into the interpreter and starts in a few milliseconds. The
pack moves from the server's socket to upload-pack's pipe with splice(2), in the
kernel. Without the server (no socket, or it is gone) it runs pack-objects itself:
the fetch then works as it would without the hook.
"""

import _socket
import errno
import os
import sys

MAGIC = b"gitserver-pack-objects 1\n"


def main(argv: list[str]) -> int:
    command = argv[1:]
    address = os.environ.get("GITSERVER_HOOK_SOCKET", "")
    token = os.environ.get("GITSERVER_PACK_TOKEN", "")
    repository = os.environ.get("GITSERVER_PACK_REPO", "")
    if not command:
        sys.stderr.write("gitserver: pack-objects hook run without a command\n")
        return 1
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        if not (address and token and repository):
            raise OSError("no server")
        conn.connect(address)
    except OSError:
        conn.close()
        # stdin untouched: git reads it as if it had been run directly.
        os.execvp(command[0], command)  # noqa: S606 - the command git itself would run
    fields = [token, repository, *command]
    header = b"\0".join(field.encode("utf-8", "surrogateescape") for field in fields)
    conn.sendall(MAGIC + b"%d\n" % len(header) + header)
    while chunk := os.read(0, 65536):
        conn.sendall(chunk)
    conn.shutdown(_socket.SHUT_WR)
    try:
        return _relay(conn)
    except OSError as exc:
        if exc.errno != errno.EPIPE:  # upload-pack stopped reading: its client went away
            sys.stderr.write("gitserver: the pack was cut off\n")
        return 1


def _relay(conn: _socket.socket) -> int:
    """Copy the reply's pack frames to stdout; 0 only after the server's end frame."""
    splice = True
    while True:
        head = _exactly(conn, 5)
        kind, length = head[:1], int.from_bytes(head[1:], "big")
        if kind == b"D":
            left = _splice(conn.fileno(), length) if splice else length
            if left:  # stdout is no pipe (splice needs one): copy from here on
                splice = False
                _copy(conn, left)
        elif kind == b"E":
            return 0
        else:
            message = _exactly(conn, length) if kind == b"F" else b"gitserver: bad reply"
            sys.stderr.write(message.decode("utf-8", "replace") + "\n")
            return 1


def _splice(source: int, length: int) -> int:
    """Move `length` bytes to stdout in the kernel; what is left if splice cannot."""
    while length:
        try:
            moved = os.splice(source, 1, length)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                return length
            raise
        if not moved:
            raise OSError(errno.ECONNRESET, "the server went away")
        length -= moved
    return 0


def _copy(conn: _socket.socket, length: int) -> None:
    while length:
        chunk = conn.recv(min(length, 1 << 20))
        if not chunk:
            raise OSError(errno.ECONNRESET, "the server went away")
        view = memoryview(chunk)
        while view:
            view = view[os.write(1, view) :]
        length -= len(chunk)


def _exactly(conn: _socket.socket, length: int) -> bytes:
    data = b""
    while len(data) < length:
        chunk = conn.recv(length - len(data))
        if not chunk:
            raise OSError(errno.ECONNRESET, "the server went away")
        data += chunk
    return data


if __name__ == "__main__":
    sys.exit(main(sys.argv))
