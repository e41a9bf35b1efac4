"""The `gitserver` CLI, run by forking a process that imported it already.

The suite runs the CLI hundreds of times, and each start of `.venv/bin/gitserver` spends
most of its time importing (~0.7 s unloaded, several seconds on a loaded machine). A
zygote imports the CLI once per test worker; every call forks a child that takes the
caller's arguments, environment, working directory and stdin, runs the CLI's `main`
and exits. Each call is still its own process (its umask, logging, event loop and
exit code are its own), running the same code the installed script runs. Tests of
what happens before `main` (the script itself, the interpreter's start) run the binary.

`GITSERVER_TEST_CLI_ZYGOTE=0` turns it off: every call starts the binary.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ENABLED = os.environ.get("GITSERVER_TEST_CLI_ZYGOTE", "1") != "0"
_HEADER = struct.Struct("!I")


def _send(conn: socket.socket, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    conn.sendall(_HEADER.pack(len(data)) + data)


def _receive(conn: socket.socket) -> dict[str, Any]:
    def exactly(size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = conn.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("the CLI zygote closed the connection")
            chunks += chunk
        return bytes(chunks)

    (size,) = _HEADER.unpack(exactly(_HEADER.size))
    result: dict[str, Any] = json.loads(exactly(size))
    return result


class CliZygote:
    """One zygote process per test worker, started at the first call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="gitserver-cli-zygote-"))
        self._socket = self._dir / "socket"

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        stdin: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        self._ensure_started()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(self._socket))
            request = {"argv": list(argv), "env": dict(env), "cwd": os.getcwd()}
            _send(conn, {**request, "stdin": stdin or ""})
            reply = _receive(conn)
        return subprocess.CompletedProcess(
            ["gitserver", *argv], int(reply["code"]), reply["stdout"], reply["stderr"]
        )

    def _ensure_started(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            self._socket.unlink(missing_ok=True)
            root = Path(__file__).resolve().parent.parent
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.cli_zygote", str(self._socket)],
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
            )
            assert self._process.stdout is not None
            if self._process.stdout.readline().strip() != b"ready":
                raise RuntimeError("the CLI zygote did not start")
            atexit.register(self.stop)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


_ZYGOTE = CliZygote()


def run_cli(
    binary: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`binary argv...` with `env`: through the zygote unless it is turned off."""
    if ENABLED:
        return _ZYGOTE.run(argv, env, stdin, timeout)
    return subprocess.run(
        [binary, *argv], input=stdin, capture_output=True, text=True, env=dict(env), timeout=timeout
    )


# -- the zygote process -------------------------------------------------------------------


def _serve(path: str) -> None:
    import gitserver.cli.main as cli_main

    _warm()
    # Each child parses with its own copy of one parser, built here once (building it is
    # most of what a call costs after the imports).
    parser = cli_main.build_parser()
    cli_main.__dict__["build_parser"] = lambda: parser
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    server.settimeout(1.0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)
    while os.getppid() == parent:  # the worker went away: so does its zygote
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        if os.fork() == 0:
            server.close()
            _child(conn, cli_main.main)
        conn.close()


def _warm() -> None:
    """Import what a call would import on its way (database drivers, the services)."""
    import aiosqlite  # noqa: F401
    import asyncpg  # noqa: F401
    import sqlalchemy.dialects.postgresql.asyncpg
    import sqlalchemy.dialects.sqlite.aiosqlite  # noqa: F401

    import gitserver.services  # noqa: F401


def _child(conn: socket.socket, main: Any) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the CLI waits for its git children
        conn.settimeout(None)
        request = _receive(conn)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # stdin, stdout, stderr; the process ends with os._exit, which closes them
        files = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115
        files[0].write(request["stdin"].encode())
        files[0].seek(0)
        for fd, file in enumerate(files):
            os.dup2(file.fileno(), fd)
        sys.argv = ["gitserver", *request["argv"]]
        code = _call(main, request["argv"])
        stdout, stderr = (_read(file) for file in files[1:])
        _send(conn, {"code": code, "stdout": stdout, "stderr": stderr})
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _read(file: Any) -> str:
    file.seek(0)
    return str(file.read().decode("utf-8", "replace"))


def _call(main: Any, argv: list[str]) -> int:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
        if isinstance(code, str):  # sys.exit("message"), as the interpreter does it
            print(code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    _serve(sys.argv[1])
