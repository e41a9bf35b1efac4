"""The upload-pack response cache: identical requests over HTTP share one
`git upload-pack` run, whose whole answer is streamed from a file (`PackCache`).

Three kinds of answer are kept, each only when it is a pure function of what its key
covers (`cache_key` and `advertisement_key` return None for the rest, which run git as
before):

- a clone's fetch (no `have` line: never a negotiation, whose answer depends on which
  of the client's commits the server has; shallow or filtered or not), in the response
  cache proper;
- protocol v2's `ls-refs`, and the `info/refs` advertisement of upload-pack, in the
  refs cache (small answers, their own counters): these show HEAD, which names the
  default branch, so HEAD's bytes are in their key;
- the whole body must parse as pkt-lines (a request git would refuse runs git, which
  answers it as before).

A key is SHA-256 over a version tag, the kind, the repository's id, its `ref_version`,
HEAD and the repository's config as read before the run (`RepoFiles`), the
Git-Protocol header, the Content-Encoding and the (inflated) body. That is enough:

- Objects are content-addressed: the same wants name the same objects forever, and a
  repository's id (a UUID) is never reused, so a deleted and recreated repository
  never matches an old entry.
- What does depend on the refs (the refs listed; which wants are allowed, under
  `uploadpack.allowReachableSHA1InWant`; the tags `include-tag` adds) is keyed by
  `ref_version`, bumped in the transaction of every ledger ref change
  (`store.refs.lock_repository`: pushes, API updates, a default branch change, the
  reconciler). The version is read when the request is admitted, and the run starts
  after that, so an entry holds refs at least as new as its version says. A push
  settles before its response ends, so a request that starts after a push returned
  has a new key.
- HEAD moves only together with a `ref_version` bump (taken first, under the
  repository lock: a repository's first branch, `store.branches.set_default`), so HEAD
  never returns to an earlier value under one version, and a request admitted after
  the change is done reads the new version. A run that saw a newer HEAD than its key
  says can be found only by requests concurrent with the change.
- The protocol v2 capability advertisement lists no refs: its key has neither
  `ref_version` nor HEAD, only what it depends on: git (one binary per process), the
  engine's forced upload-pack configuration (fixed per process), the repository's own
  config (`extensions.objectFormat`, `lsrefs.unborn`, `uploadpack.*`; a config that
  includes other files is never cached) and the protocol header.
- Nothing in an answer depends on who asks: the engine's upload-pack configuration
  (`engine._UPLOAD_CONFIG`) hides no refs per principal, and authorization runs on
  every request before the cache is consulted.

Progress lines inside a cached answer repeat the counts of the run that made it.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gitserver.transport.engine import UPLOAD_PACK, GitEngine
from gitserver.transport.packcache import Pack, PackCache, PackFailed
from gitserver.transport.packobjects import stream_output
from gitserver.transport.pktline import MAX_PKT, ProtocolError, pkt_length

log = logging.getLogger(__name__)

__all__ = [
    "MAX_CACHED_REQUEST",
    "Answer",
    "GitExited",
    "Key",
    "Kind",
    "RepoFiles",
    "UploadResponses",
    "advertisement_key",
    "cache_key",
    "clone_request",
    "ls_refs_request",
    "repo_files",
]

MAX_CACHED_REQUEST = 64 * 1024
"""Bodies up to this size (inflated) are looked at; a clone's wants fit many times."""

_KEY_VERSION = b"upload-pack-response 2\0"
_CHUNK = 1 << 20
_READ = 256 * 1024
# pkt-line lengths 0000 (flush), 0001 (delim) and 0002 (response end) carry no payload.
_SPECIAL = 3


class GitExited(PackFailed):
    """upload-pack exited non-zero by itself: what it wrote is its whole (error) answer."""


class Kind(enum.StrEnum):
    FETCH = "fetch"  # a clone's POST: the response cache
    LS_REFS = "ls-refs"  # protocol v2's ref listing: the refs cache
    ADVERTISEMENT = "advertisement"  # GET info/refs: the refs cache


@dataclass(frozen=True, slots=True)
class Key:
    kind: Kind
    digest: str


@dataclass(frozen=True, slots=True)
class RepoFiles:
    """What upload-pack's answers depend on beside the refs: HEAD (the default branch,
    or the unborn one) and the repository's own config, as read before the run."""

    head: bytes
    config: bytes


_MAX_FILE = 64 * 1024


def repo_files(path: Path) -> RepoFiles | None:
    """HEAD and config of the repository at `path` now; None when either cannot be
    read, is unusually large, or the config includes other files (whose changes the
    key would not see): then nothing is cached for the request."""
    try:
        head = _small_file(path / "HEAD")
        config = _small_file(path / "config")
    except OSError:
        return None
    if head is None or config is None or b"include" in config.lower():
        return None
    return RepoFiles(head, config)


def _small_file(path: Path) -> bytes | None:
    # Two small reads from the page cache: cheaper than a thread hop.
    with path.open("rb") as handle:
        data = handle.read(_MAX_FILE + 1)
    return data if len(data) <= _MAX_FILE else None


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


def ls_refs_request(body: bytes, protocol: str) -> bool:
    """Whether `body` is a whole protocol v2 `ls-refs` request."""
    if "version=2" not in protocol:
        return False
    try:
        lines = _pkt_lines(body)
    except ProtocolError:
        return False
    return bool(lines) and lines[0].rstrip(b"\n") == b"command=ls-refs"


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
    repository_id: str,
    ref_version: int,
    protocol: str,
    encoding: str,
    body: bytes,
    files: RepoFiles | None,
) -> Key | None:
    """The answer's identity, or None when the answer is not a function of it."""
    if files is None or len(body) > MAX_CACHED_REQUEST:
        return None
    if clone_request(body, protocol):
        kind = Kind.FETCH
    elif ls_refs_request(body, protocol):
        kind = Kind.LS_REFS
    else:
        return None
    parts = (repository_id, str(ref_version), protocol, encoding)
    return _key(kind, parts, files.head, files.config, body)


def advertisement_key(
    repository_id: str, ref_version: int, protocol: str, files: RepoFiles | None
) -> Key | None:
    """The identity of upload-pack's `info/refs` answer; None if it cannot be known.

    In protocol v2 the answer is the capability list, which lists no refs: neither
    `ref_version` nor HEAD is in its key, so it outlives pushes. Before v2 it lists
    every ref and HEAD's target.
    """
    if files is None:
        return None
    if "version=2" in protocol:
        return _key(Kind.ADVERTISEMENT, (repository_id, protocol), b"", files.config, b"")
    parts = (repository_id, str(ref_version), protocol)
    return _key(Kind.ADVERTISEMENT, parts, files.head, files.config, b"")


def _key(kind: Kind, parts: tuple[str, ...], head: bytes, config: bytes, body: bytes) -> Key:
    digest = hashlib.sha256(_KEY_VERSION + kind.encode() + b"\0")
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    # Lengths first: no two different (head, config, body) run together alike.
    digest.update(f"{len(head)} {len(config)} {len(body)}\0".encode())
    digest.update(head + config + body)
    return Key(kind, digest.hexdigest())


class Answer:
    """One request's cached answer: a finished file (`size` known) or a run's output."""

    def __init__(self, pack: Pack) -> None:
        self._pack = pack
        self.file: BinaryIO = pack.file
        # A finished file's size: the response may then be sent whole (sendfile).
        self.size: int | None = pack.finished_size()

    def pieces(self) -> AsyncGenerator[bytes, None]:
        """The answer in pieces of at most 256 KiB, as they are ready.

        Raises:
            GitExited: git failed; what came is all it had to say.
            PackFailed: the run was cut; what came so far is not whole.
        """
        return _pieces(self._pack)


class UploadResponses:
    """Runs upload-pack once per key and hands every request the cached answer.

    `cache` keeps fetch answers (packs: large); `refs` keeps ref listings and
    advertisements (small, and asked three times as often: two per v2 clone)."""

    def __init__(
        self, engine: GitEngine, cache: PackCache, timeout: float, refs: PackCache
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.refs = refs
        self._timeout = timeout

    @contextlib.asynccontextmanager
    async def open(
        self, key: Key, path: Path, protocol: str, body: bytes = b""
    ) -> AsyncIterator[Answer]:
        """The answer for `key`; a run of upload-pack on `path` if it is new.

        Raises:
            CacheUnavailable: no file can be made for a new entry; nothing was started.
        """
        advertise = key.kind is Kind.ADVERTISEMENT
        cache = self.cache if key.kind is Kind.FETCH else self.refs
        fill = functools.partial(self._run, path, protocol, body, advertise)
        async with cache.open(key.digest, fill) as entry:
            yield Answer(entry)

    async def _run(
        self, path: Path, protocol: str, body: bytes, advertise: bool
    ) -> AsyncGenerator[bytes, None]:
        """One upload-pack run on `body`: its stdout; PackFailed unless it exits 0."""
        process = await self.engine.spawn(
            UPLOAD_PACK, path, stateless=True, advertise=advertise, protocol=protocol, limit=_CHUNK
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
