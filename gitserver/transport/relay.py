"""Bytes between an SSH channel and a git process, bounded both ways.

Explicit pumps (read 64 KiB, write, drain) rather than asyncssh's `redirect()`: with
`redirect()` the exit status can overtake stdout, and a full clone then dies with
"unexpected disconnect while reading sideband packet" (reference/git-protocol.md 4.3).
The exit status is sent only after git's stdout and stderr have both reached EOF.

Backpressure: we read from the channel only as fast as git's stdin drains, and asyncssh
stops opening the SSH window while its buffer is full; we read git's output only as
fast as the channel drains.

When the client vanishes: a fetch is killed (nothing to protect). A push gets EOF on
stdin instead: if git had the whole pack it finishes and the repository, not the
client, decides what happened; if not, git sees a short pack, exits and removes its
quarantine itself, which a SIGKILL would leave behind (`tmp_objdir-incoming-*`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

import asyncssh

from gitserver.gitcmd import kill
from gitserver.transport.pktline import ProtocolError
from gitserver.transport.reportstatus import ReportSplicer

log = logging.getLogger(__name__)

CHUNK = 65536
_CLIENT_ERRORS = (OSError, asyncssh.Error, asyncio.IncompleteReadError)
# After EOF on a push's stdin, how long git may take to give up before it is killed.
_PUSH_GRACE = 30.0


class Gate(Protocol):
    """Sees a push's command list before git does (per-ref decisions over SSH)."""

    splicer: ReportSplicer | None  # reads git's report on its way to the client
    filtered: bool  # refs were dropped: git may stop reading before the pack ends

    async def open(self, source: asyncssh.SSHReader[bytes]) -> bytes:
        """Read the command list from the client; returns what git gets instead."""
        ...


@dataclass(frozen=True, slots=True)
class RelayLimits:
    idle_timeout: float
    session_timeout: float


class SessionTimeout(Exception):
    """The session moved no data for too long, or ran for too long."""


class _Clock:
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.last = self._loop.time()

    def touch(self) -> None:
        self.last = self._loop.time()

    def idle(self) -> float:
        return self._loop.time() - self.last


async def relay(
    channel: asyncssh.SSHServerProcess[bytes],
    git: asyncio.subprocess.Process,
    limits: RelayLimits,
    *,
    push: bool,
    gate: Gate | None = None,
) -> int:
    """Run `git` against the channel until its outputs end; returns its exit status.

    Raises:
        SessionTimeout: idle or total time ran out (git has been stopped).
    """
    assert git.stdin is not None and git.stdout is not None and git.stderr is not None
    clock = _Clock()
    feed = asyncio.ensure_future(_feed(channel.stdin, git.stdin, clock, gate))
    outputs = {
        asyncio.ensure_future(_pump(git.stdout, channel.stdout, clock, gate)),
        asyncio.ensure_future(_pump(git.stderr, channel.stderr, clock)),
    }
    closed: asyncio.Future[None] | None = asyncio.ensure_future(channel.channel.wait_closed())
    tick = min(5.0, limits.idle_timeout / 4)
    try:
        async with asyncio.timeout(limits.session_timeout):
            pending = set(outputs)
            while pending:
                waiting = pending | ({closed} if closed is not None else set())
                done, _ = await asyncio.wait(
                    waiting, timeout=tick, return_when=asyncio.FIRST_COMPLETED
                )
                pending -= done
                if closed is not None and closed.done():
                    closed = None
                    _client_gone(git, push=push)
                if pending and clock.idle() > limits.idle_timeout:
                    raise SessionTimeout(f"no data for {limits.idle_timeout:g} seconds")
            returncode = await git.wait()
    except TimeoutError:
        await _stop(git, feed, push=push)
        raise SessionTimeout(f"longer than {limits.session_timeout:g} seconds") from None
    except SessionTimeout:
        await _stop(git, feed, push=push)
        raise
    finally:
        if git.returncode is None:
            kill(git)
            await git.wait()
        for task in (feed, *outputs):
            task.cancel()
        await asyncio.gather(feed, *outputs, return_exceptions=True)
        if closed is not None:
            closed.cancel()
    return returncode if returncode >= 0 else 128 - returncode


def _client_gone(git: asyncio.subprocess.Process, *, push: bool) -> None:
    if push:
        # The feeder sees EOF or an error from the closed channel and closes git's
        # stdin; git either completes a push it has whole or abandons it cleanly.
        log.info("ssh client went away during a push; letting git settle")
        return
    kill(git)


async def _stop(git: asyncio.subprocess.Process, feed: asyncio.Future[None], *, push: bool) -> None:
    """Stop git: a push by EOF first (its quarantine goes with it), a fetch at once."""
    if push and git.returncode is None:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        if git.stdin is not None:
            git.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(git.wait(), _PUSH_GRACE)
    kill(git)


async def _feed(
    source: asyncssh.SSHReader[bytes],
    sink: asyncio.StreamWriter,
    clock: _Clock,
    gate: Gate | None = None,
) -> None:
    """Client to git's stdin; EOF (or a broken channel) closes git's stdin.

    With a `gate`, the push's command list goes through it first. When it filtered refs
    out, git may stop reading before the pack ends: the rest is read and dropped, so
    the client is never left blocked writing while it waits for the report.
    """
    drain = False
    try:
        if gate is not None:
            prefix = await gate.open(source)
            clock.touch()
            drain = gate.filtered
            sink.write(prefix)
            await sink.drain()
        while chunk := await source.read(CHUNK):
            clock.touch()
            sink.write(chunk)
            await sink.drain()
    except ProtocolError as exc:
        log.info("malformed push over ssh: %s", exc)
    except _CLIENT_ERRORS:
        if drain:
            with contextlib.suppress(*_CLIENT_ERRORS):
                while await source.read(CHUNK):
                    clock.touch()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            sink.close()


async def _pump(
    source: asyncio.StreamReader,
    sink: asyncssh.SSHWriter[bytes],
    clock: _Clock,
    gate: Gate | None = None,
) -> None:
    """git's output to the channel; once the channel is gone, read on and discard
    (git must never block on a full pipe while it finishes a push). A gate's splicer,
    once it has one, reads git's report and adds the denied refs to it."""
    open_ = True
    while True:
        chunk = await source.read(CHUNK)
        if gate is not None and gate.splicer is not None:
            chunk = gate.splicer.feed(chunk) if chunk else gate.splicer.finish()
            if not chunk and source.at_eof():
                break
        elif not chunk:
            break
        clock.touch()
        if not open_ or not chunk:
            continue
        try:
            sink.write(chunk)
            await sink.drain()
        except _CLIENT_ERRORS:
            open_ = False
