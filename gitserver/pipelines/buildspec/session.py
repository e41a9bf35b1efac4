"""The build's one shell: a long-lived bash (or sh) fed commands, one at a time.

The shell reads its script from a pipe (`bash /dev/stdin`: bash opens it again as its
script file, on a descriptor of its own), and its first line points stdin at /dev/null,
so build commands cannot swallow the next command. Each command is sent as

    __gs_c='<the command, single-quoted>'
    eval "$__gs_c"
    printf '\\n\\036GS<token> %d\\n' "$?" >&9

`eval` at the top level keeps `cd`, `export`, plain assignments and `declare` in the one
shell, which is CodeBuild 0.2's promise; a syntax error is the command's status (2), not
the shell's end. The status line goes to fd 9, a copy of the original stdout made before
any command ran, so a command's own `exec >file` cannot hide it, and it arrives in order
after the command's output on the same pipe. Its leading newline ends a last line that
had none; the reader drops the one empty line it leaves when the output did end with a
newline. If the shell itself exits (`exit 3`, `set -e`), the command's status is the
shell's, and `ShellExited` tells the runner to start a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_LINE_MAX = 64 * 1024
_CAPTURE_MAX = 1024 * 1024


class ShellExited(Exception):
    """The shell ended while a command ran; `status` is its exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the build shell exited with status {status}")
        self.status = status


def quote(text: str) -> str:
    """`text` single-quoted for bash and sh."""
    return "'" + text.replace("'", "'\\''") + "'"


class ShellSession:
    """One shell process and the reader of its output; `run` one command at a time."""

    def __init__(self, on_line: Callable[[bytes], None]) -> None:
        self._on_line = on_line
        self._token = secrets.token_hex(8)
        self._sentinel = re.compile(rb"\x1eGS" + self._token.encode() + rb" (\d+)")
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._pending: asyncio.Future[int] | None = None
        self._capture: bytearray | None = None
        self._held_empty = False
        self._tasks: list[asyncio.Task[None]] = []
        self._eof = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """The process id of the started executable (bwrap or prlimit), if running."""
        return self._process.pid if self._process else None

    async def start(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        """Start the shell: `argv` ends with the shell, which reads /dev/stdin."""
        read_end, write_end = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=read_end,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=dict(env),
                cwd=str(cwd),
                start_new_session=True,
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        loop = asyncio.get_running_loop()
        pipe = os.fdopen(write_end, "wb", buffering=0)
        transport, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, pipe)
        assert isinstance(transport, asyncio.WriteTransport)
        self._writer = transport
        self._writer.write(b"exec 0</dev/null\nexec 9>&1\n")
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._watch())]

    async def run(self, command: str, *, capture: bool = False) -> tuple[int, bytes]:
        """Run one command in the shell; its status and (with `capture`) its output.

        Captured output goes to the caller, not to `on_line`.

        Raises:
            ShellExited: the shell ended before the command finished.
        """
        if self._writer is None or self._writer.is_closing() or self._eof.is_set():
            raise ShellExited(self.returncode or 0)
        self._pending = asyncio.get_running_loop().create_future()
        self._capture = bytearray() if capture else None
        script = (
            f"__gs_c={quote(command)}\n"
            'eval "$__gs_c"\n'
            f"printf '\\n\\036GS{self._token} %d\\n' \"$?\" >&9\n"
        )
        self._writer.write(script.encode("utf-8", "surrogateescape"))
        try:
            status = await self._pending
        finally:
            self._pending = None
        captured = bytes(self._capture or b"")
        self._capture = None
        return status, captured

    @property
    def returncode(self) -> int | None:
        """The shell process's exit status once it ended."""
        return self._process.returncode if self._process else None

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        partial = b""
        try:
            while chunk := await stream.read(65536):
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    self._line(line)
                while len(partial) > _LINE_MAX:
                    self._line(partial[:_LINE_MAX])
                    partial = partial[_LINE_MAX:]
            if partial:
                self._line(partial)
            self._flush_held()
        finally:
            self._eof.set()

    def _line(self, line: bytes) -> None:
        match = self._sentinel.fullmatch(line)
        if match is not None:
            self._held_empty = False
            if self._pending is not None and not self._pending.done():
                self._pending.set_result(int(match[1]))
            return
        self._flush_held()
        if not line:
            self._held_empty = True
            return
        self._emit(line)

    def _flush_held(self) -> None:
        if self._held_empty:
            self._held_empty = False
            self._emit(b"")

    def _emit(self, line: bytes) -> None:
        if self._capture is not None:
            if len(self._capture) < _CAPTURE_MAX:
                self._capture += line + b"\n"
            return
        self._on_line(line)

    async def _watch(self) -> None:
        assert self._process is not None
        status = await self._process.wait()
        # Output the shell wrote before it ended is still in the pipe: read it first.
        # A background process that keeps the pipe open must not hold the build.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._eof.wait(), 0.5)
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(ShellExited(status))

    def kill(self) -> None:
        """Kill the shell and everything it started (its session; bwrap's namespace)."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    async def close(self) -> None:
        """End the shell (killing what is left) and wait for its reader."""
        self.kill()
        if self._writer is not None:
            self._writer.close()
        if self._process is not None:
            await self._process.wait()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
