"""A smart HTTP request's body on its way into git's stdin (see `GitHttp`).

The body is copied in bounded chunks while git's answer streams back. A body that
breaks off, grows past its limit or stops moving ends with EOF on git's stdin, never a
kill: git gives up on the half-read input and removes its quarantine by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

from aiohttp import StreamReader, web
from aiohttp.http_exceptions import HttpProcessingError

from gitserver.gitcmd import kill

log = logging.getLogger(__name__)

CHUNK = 65536
# After a stalled body's stdin is closed, git gets this long to clean up and exit.
_STALL_GRACE = 10.0


class Body(enum.Enum):
    """How a request body's copy into git ended."""

    COMPLETE = "complete"
    CUT = "cut"  # the client went away or sent too much
    UNDECODABLE = "undecodable"  # invalid gzip or chunking
    STALLED = "stalled"


class BadBody(Exception):
    """A request body that is not worth reading further: answer, then close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    @classmethod
    def stalled(cls, seconds: float) -> BadBody:
        return cls(408, f"gitserver: the request body stalled for {seconds:g} s")

    @classmethod
    def undecodable(cls) -> BadBody:
        # Invalid gzip or chunking; aiohttp's own message quotes the bytes, so not that.
        return cls(400, "gitserver: the request body could not be decoded")


async def final_answer(request: web.Request, status: int, message: str) -> web.StreamResponse:
    """Answer `message` and close the connection without reading the rest of the body.

    Left to aiohttp, the unread body would be read for a lingering period, and a body
    that cannot be decoded would be logged there as an unhandled exception.
    """
    response = web.Response(status=status, text=message + "\n", content_type="text/plain")
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.prepare(request)
        await response.write_eof()
    request.protocol.force_close()
    return response


def outcome(feed: asyncio.Task[Body] | None) -> Body | None:
    """How the body's copy ended; None while it runs, or if it was cancelled or failed."""
    if feed is None or not feed.done() or feed.cancelled() or feed.exception() is not None:
        return None
    return feed.result()


async def settle(feed: asyncio.Task[Body], grace: float = 5.0) -> None:
    """Let the body copy finish, but never wait on a client once git has exited.

    A client that keeps its request body open after git's answer would otherwise hold
    the response (and the client waiting for it) until the transport timeout.
    """
    try:
        await asyncio.wait_for(asyncio.shield(feed), grace)
    except TimeoutError:
        feed.cancel()
    except Exception:
        log.debug("request body copy failed after git exited", exc_info=True)


def feed(
    content: StreamReader,
    process: asyncio.subprocess.Process,
    prefix: bytes,
    limit: int,
    idle: float,
    *,
    drain: bool = False,
    stalled: bool = False,
) -> asyncio.Task[Body]:
    """Copy `prefix` and then the request body into git's stdin.

    A body that breaks off, grows past `limit` (0: none, the prefix counts) or stops
    moving for `idle` seconds ends with EOF on git's stdin: git gives up on the half-read
    input and cleans up after itself (its quarantine directory), which a kill would leave
    behind. With `drain`, the body is read to its end even after git stopped reading it.
    `stalled`: the body already stopped moving while `prefix` was read.
    """

    async def stall() -> Body:
        log.warning("request body stalled", extra={"idle_timeout": idle})
        assert process.stdin is not None
        process.stdin.close()
        await _stop(process)
        return Body.STALLED

    async def copy() -> Body:
        stdin = process.stdin
        assert stdin is not None
        total = len(prefix)
        try:
            if limit and total > limit:
                log.warning("request body over the limit", extra={"limit": limit})
                stdin.close()
                return Body.CUT
            if prefix:
                await _write(stdin, prefix)
            if stalled:
                return await stall()
            while True:
                try:
                    chunk = await read_chunk(content, idle)
                except TimeoutError:
                    return await stall()
                except (web.RequestPayloadError, HttpProcessingError):
                    stdin.close()
                    return Body.UNDECODABLE
                except Exception:
                    stdin.close()
                    return Body.CUT
                if not chunk:
                    break
                total += len(chunk)
                if limit and total > limit:
                    log.warning("request body over the limit", extra={"limit": limit})
                    stdin.close()
                    return Body.CUT
                await _write(stdin, chunk)
            stdin.close()
        except ConnectionError:
            # git stopped reading: it has said what it had to say
            if drain:
                with contextlib.suppress(Exception):
                    while await read_chunk(content, idle):
                        pass
        return Body.COMPLETE

    return asyncio.ensure_future(copy())


async def read_chunk(content: StreamReader, idle: float) -> bytes:
    """The body's next chunk (b"" at its end); TimeoutError after `idle` s without one."""
    async with asyncio.timeout(idle):
        return await content.read(CHUNK)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Give git, whose stdin is closed, `_STALL_GRACE` s to exit, then kill it."""
    try:
        async with asyncio.timeout(_STALL_GRACE):
            await process.wait()
    except TimeoutError:
        kill(process)


async def _write(stdin: asyncio.StreamWriter, data: bytes) -> None:
    stdin.write(data)
    await stdin.drain()


async def tail(stream: asyncio.StreamReader, keep: int = 4096) -> str:
    """Read `stream` (git's stderr) to its end, keeping its last `keep` bytes for the log."""
    tail = b""
    while chunk := await stream.read(CHUNK):
        tail = (tail + chunk)[-keep:]
    return tail.decode("utf-8", "replace")
