"""The FIFO pair through which pre-receive (a bash script) asks the server to check a push's
objects while git holds them in quarantine, without starting a Python process.

The server makes `PLAN.q` and `PLAN.a` next to the plan file before the plan appears.
pre-receive opens both read-write (an open that never blocks, whether or not the server
is there), writes its object environment and push options into `.q` (lines `KEY=VALUE`,
then a line `.`), then reads NUL-terminated records from `.a`: empty ones are the
server's sign of life (one as soon as it has the request, then one every `HEARTBEAT`
seconds while it checks), the first non-empty one is the verdict: a first character `0`
(go on) or `1` (refuse), then the lines to show the pusher. The script gives up after
`SILENCE_TIMEOUT` seconds without a record, so a server that died, before or during the
check, fails the push within seconds instead of leaving git waiting.

The server keeps `.q` open read-write from the start, so its read never sees an end of
file it must tell apart from a writer yet to come (the `.` line ends the request). `.a`
is opened for writing only once the script has opened it (`ENXIO` until then), so
nothing is written into a FIFO nobody reads (the kernel would drop it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

MAX_REQUEST = 1024 * 1024
MAX_REPLY = 32 * 1024  # well under a pipe's buffer: one non-blocking write suffices
REPLY_PATIENCE = 30.0
HEARTBEAT = 5.0
SILENCE_TIMEOUT = 15
_END = b"\n.\n"


def paths(plan: Path) -> tuple[Path, Path]:
    return plan.with_name(plan.name + ".q"), plan.with_name(plan.name + ".a")


def make(plan: Path) -> None:
    for path in paths(plan):
        os.mkfifo(path, 0o600)


def remove(plan: Path) -> None:
    for path in paths(plan):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


async def read_request(plan: Path) -> dict[str, list[str]]:
    """Wait for the script's request: each key's values, in order."""
    fd = os.open(paths(plan)[0], os.O_RDWR | os.O_NONBLOCK)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    data = bytearray()

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            data.extend(os.read(fd, 65536))
        if (data.endswith(_END) or len(data) > MAX_REQUEST) and not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    request: dict[str, list[str]] = {}
    for line in bytes(data).decode("utf-8", "surrogateescape").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            request.setdefault(key, []).append(value)
    return request


async def write_reply(plan: Path, ok: bool, lines: list[str]) -> None:
    """Hand the verdict to the script once it reads (given up after REPLY_PATIENCE)."""
    text = "\n".join(["0" if ok else "1", *(f"gitserver: {line}" for line in lines)])
    data = text.encode("utf-8", "surrogateescape").replace(b"\0", b"")[: MAX_REPLY - 1]
    await _send(plan, data + b"\0")


@contextlib.asynccontextmanager
async def alive(plan: Path, every: float = HEARTBEAT) -> AsyncIterator[None]:
    """While the block runs, tell the waiting script the server is at work: at once,
    then every `every` seconds (an empty record)."""

    async def beat() -> None:
        while True:
            await _send(plan, b"\0")
            await asyncio.sleep(every)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await task


async def _send(plan: Path, data: bytes) -> None:
    path = paths(plan)[1]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_PATIENCE
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO or loop.time() > deadline:
                raise
            await asyncio.sleep(0.002)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
