"""The upload-pack response cache: identical clone requests over HTTP share one
`git upload-pack` run, whose whole answer is streamed from a file (`PackCache`).

Only requests whose answer is a pure function of the repository's refs and the request
bytes are cached (`cache_key` returns None for the rest, which run git as before):

- no `have` line: a clone (shallow, filtered or not), never a negotiation, whose
  answer depends on which of the client's commits the server has;
- in protocol v2 only `command=fetch`; `ls-refs` shows HEAD, which can change without
  a ref moving;
- the whole body parses as pkt-lines (a request git would refuse runs git, which
  answers it as before).

The key is SHA-256 over a version tag, the repository's id, its `ref_version`, the
Git-Protocol header, the Content-Encoding and the (inflated) body. That is enough:

- Objects are content-addressed: the same wants name the same objects forever, and a
  repository's id (a UUID) is never reused, so a deleted and recreated repository
  never matches an old entry.
- What does depend on the refs (which wants are allowed, under
  `uploadpack.allowReachableSHA1InWant`; the tags `include-tag` adds) is keyed by
  `ref_version`, bumped in the transaction of every ledger ref change
  (`store.refs.lock_repository`: pushes, API updates, the reconciler). The version is
  read when the request is admitted, and the run starts after that, so an entry holds
  refs at least as new as its version says. A push settles before its response ends,
  so a clone that starts after a push returned has a new key.
- Nothing in the answer depends on who asks: the engine's upload-pack configuration
  (`engine._UPLOAD_CONFIG`) hides no refs per principal, and authorization runs on
  every request before the cache is consulted.

Progress lines inside a cached answer repeat the counts of the run that made it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

from gitserver.transport.engine import UPLOAD_PACK, GitEngine
from gitserver.transport.packcache import Pack, PackCache, PackFailed
from gitserver.transport.packobjects import stream_output
from gitserver.transport.pktline import MAX_PKT, ProtocolError, pkt_length

log = logging.getLogger(__name__)

__all__ = ["MAX_CACHED_REQUEST", "GitExited", "UploadResponses", "cache_key", "clone_request"]

MAX_CACHED_REQUEST = 64 * 1024
"""Bodies up to this size (inflated) are looked at; a clone's wants fit many times."""

_KEY_VERSION = b"upload-pack-response 1\0"
_CHUNK = 1 << 20
_READ = 256 * 1024
# pkt-line lengths 0000 (flush), 0001 (delim) and 0002 (response end) carry no payload.
_SPECIAL = 3


class GitExited(PackFailed):
    """upload-pack exited non-zero by itself: what it wrote is its whole (error) answer."""


def clone_request(body: bytes, protocol: str) -> bool:
    """Whether `body` is a whole upload-pack request with wants and no `have` line
    (in protocol v2: a fetch)."""
    try:
        lines = _pkt_lines(body)
    except ProtocolError:
        return False
    if "version=2" in protocol:
        if not lines or lines[0].rstrip(b"\n") != b"command=fetch":
            return False
    elif any(line.startswith(b"command=") for line in lines):
        return False
    wants = any(line.startswith(b"want ") for line in lines)
    return wants and not any(line.startswith(b"have ") for line in lines)


def _pkt_lines(body: bytes) -> list[bytes]:
    """The payloads of the pkt-lines `body` is made of, exactly.

    Raises:
        ProtocolError: a bad header or length, or a line cut short.
    """
    lines: list[bytes] = []
    offset = 0
    while offset < len(body):
        length = pkt_length(body[offset : offset + 4])
        if length < _SPECIAL:
            offset += 4
            continue
        if length < 4 or length > MAX_PKT or offset + length > len(body):
            raise ProtocolError("bad pkt-line")
        lines.append(body[offset + 4 : offset + length])
        offset += length
    return lines


def cache_key(
    repository_id: str, ref_version: int, protocol: str, encoding: str, body: bytes
) -> str | None:
    """The answer's identity, or None when the answer is not a function of it."""
    if len(body) > MAX_CACHED_REQUEST or not clone_request(body, protocol):
        return None
    digest = hashlib.sha256(_KEY_VERSION)
    for part in (repository_id, str(ref_version), protocol, encoding):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()


class UploadResponses:
    """Runs upload-pack once per key and hands every request the cached answer."""

    def __init__(self, engine: GitEngine, cache: PackCache, timeout: float) -> None:
        self.engine = engine
        self.cache = cache
        self._timeout = timeout

    @contextlib.asynccontextmanager
    async def open(
        self, key: str, path: Path, protocol: str, body: bytes
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The answer for `key`, in pieces of at most 256 KiB; a run of `path` if new.

        Raises:
            CacheUnavailable: no file can be made for a new entry; nothing was started.
            GitExited (while iterating): git failed; what came is all it had to say.
            PackFailed (while iterating): the run was cut; what came so far is not whole.
        """
        async with self.cache.open(key, lambda: self._run(path, protocol, body)) as entry:
            pieces = _pieces(entry)
            try:
                yield pieces
            finally:
                await pieces.aclose()

    async def _run(self, path: Path, protocol: str, body: bytes) -> AsyncGenerator[bytes, None]:
        """One upload-pack run on `body`: its stdout; PackFailed unless it exits 0."""
        process = await self.engine.spawn(
            UPLOAD_PACK, path, stateless=True, protocol=protocol, limit=_CHUNK
        )
        run = stream_output(process, body, self._timeout, "upload-pack", GitExited)
        try:
            async for chunk in run:
                yield chunk
        finally:
            await run.aclose()  # the process is stopped now, not when run is collected


async def _pieces(entry: Pack) -> AsyncGenerator[bytes, None]:
    fd = entry.file.fileno()
    async for offset, count in entry.spans():
        end = offset + count
        while offset < end:
            # From the page cache, a quarter MiB at a time: bounded memory per request,
            # and the caller's drain holds a slow client back, not the run.
            data = os.pread(fd, min(_READ, end - offset), offset)
            if not data:
                raise PackFailed("the response file is shorter than written")
            yield data
            offset += len(data)
