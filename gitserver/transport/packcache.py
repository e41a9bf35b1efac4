"""The pack-objects cache: one `git pack-objects` run per distinct request at a time,
and its pack streamed from a file to every identical request.

An entry is a file named by its key. Its life:

    writing ──(run succeeded)──> done: renamed to KEY.pack, kept (or, larger than the
       │                          whole cache, unlinked once written: streamed, not kept)
       └──(run failed, timed out, every reader gone)──> failed: temp file unlinked

Every request reads the file, never the run: the first one attaches to the entry it
started, identical ones attach to the same entry while it is written (they follow the
growing file and wait for more), later ones read the finished file. A slow client never
slows the run, and the server holds no pack in memory. A reader sees EOF only on `done`;
on `failed` it gets `PackFailed`, so a cut pack is never passed off as a whole one.
Files are opened when a request attaches, so eviction (an unlink) never cuts a reader.
The index lives in memory: the directory is emptied at start, and a crash leaves
nothing that a later process would serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import logging
import os
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

__all__ = [
    "CacheUnavailable",
    "Fill",
    "Pack",
    "PackCache",
    "PackCacheStats",
    "PackFailed",
    "Source",
    "metrics_text",
]

Fill = Callable[[], AsyncGenerator[bytes, None]]
"""Starts a run: yields the pack's bytes, raises if the run fails."""


class PackFailed(Exception):
    """The run this request read from failed; the request must fail too."""


class CacheUnavailable(Exception):
    """No file can be made for a new entry (the disk is full, the directory is gone)."""


class Source(enum.StrEnum):
    HIT = "hit"  # a finished file
    JOIN = "join"  # an entry still being written
    MISS = "miss"  # a run started for this request


class _State(enum.Enum):
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class PackCacheStats:
    """Counters for /metrics."""

    requests: dict[Source, int] = field(default_factory=lambda: dict.fromkeys(Source, 0))
    runs_failed: int = 0
    evictions: int = 0


@dataclass(eq=False, slots=True)
class _Entry:
    key: str
    path: Path
    created: float
    used: float  # its run's end, or the last request that attached: the LRU order
    size: int = 0
    state: _State = _State.WRITING
    kept: bool = True
    readers: int = 0
    # What readers raise on failure: the run's own kind of PackFailed, if it raised one.
    failure: type[PackFailed] = PackFailed
    task: asyncio.Task[None] | None = None
    grown: asyncio.Event = field(default_factory=asyncio.Event)

    def changed(self) -> None:
        """Wake every reader waiting for more (or for the end)."""
        self.grown.set()
        self.grown = asyncio.Event()


class Pack:
    """One request's view of an entry: its open file and how far it may read."""

    def __init__(self, entry: _Entry, file: BinaryIO, source: Source) -> None:
        self._entry = entry
        self.file = file
        self.source = source

    def finished_size(self) -> int | None:
        """The file's size if its run has finished (it will not grow); None while written."""
        return self._entry.size if self._entry.state is _State.DONE else None

    async def spans(self) -> AsyncIterator[tuple[int, int]]:
        """(offset, count) of each stretch of the file that is ready, until the pack ends.

        Raises:
            PackFailed: the run failed; what was read so far is not a pack. The run's
                own subclass of PackFailed, if it raised one.
        """
        entry, offset = self._entry, 0
        while True:
            size = entry.size
            if size > offset:
                yield offset, size - offset
                offset = size
            elif entry.state is _State.DONE:
                return
            elif entry.state is _State.FAILED:
                raise entry.failure(entry.key)
            else:
                await entry.grown.wait()


# Below this much free space on its file system the cache steps aside (see `_start`).
MIN_FREE_BYTES = 64 * 1024 * 1024


def _free_bytes(path: Path) -> int:
    found = os.statvfs(path)
    return found.f_bavail * found.f_frsize


class Budget:
    """One limit on the bytes several caches keep on disk (the pack and response caches
    share `pack_cache_max_bytes`, less the refs cache's share): past it, the least
    recently used or written finished entry of any of them goes first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0  # every entry of every cache, written or being written
        self._caches: list[PackCache] = []

    def join(self, cache: PackCache) -> None:
        self._caches.append(cache)

    def make_room(self) -> None:
        while self.used > self.max_bytes:
            oldest: tuple[PackCache, _Entry] | None = None
            for cache in self._caches:
                entry = cache._least_recent()
                if entry is not None and (oldest is None or entry.used < oldest[1].used):
                    oldest = (cache, entry)
            if oldest is None:  # all of it is being written: a finished run makes room
                return
            oldest[0]._evict(oldest[1])


class PackCache:
    """Entries by key, LRU-ordered, kept `max_age` s each within a `budget` of bytes on
    disk that it may share with other caches (without one: `max_bytes` of its own)."""

    def __init__(
        self,
        root: Path,
        *,
        max_age: float,
        max_bytes: int | None = None,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (budget is None) == (max_bytes is None):
            raise TypeError("a PackCache takes exactly one of max_bytes and budget")
        self.root = root
        self.max_age = max_age
        self.budget = budget if budget is not None else Budget(max_bytes or 0)
        self.budget.join(self)
        self.stats = PackCacheStats()
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0  # every entry in the index, written or being written
        self._runs: set[asyncio.Task[None]] = set()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def reset(self) -> None:
        """Empty the directory, and siblings named by a process id that is gone
        (a server that was killed); blocking: run it in a thread at start."""
        shutil.rmtree(self.root, ignore_errors=True)
        for sibling in self.root.parent.glob("[0-9]*"):
            if sibling.name.isdigit() and not _running(int(sibling.name)):
                shutil.rmtree(sibling, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def open(self, key: str, fill: Fill) -> AsyncIterator[Pack]:
        """The pack for `key`: a finished file, the run writing it, or a new run of `fill`.

        The run stops (and nothing is kept) if every request reading it leaves early.

        Raises:
            CacheUnavailable: a new entry's file cannot be made; nothing was started.
        """
        self.sweep()
        entry = self._entries.get(key)
        pack: Pack | None = None
        if entry is not None and entry.state is _State.DONE:
            pack = self._attach(entry, Source.HIT)
            if pack is not None:
                self._entries.move_to_end(key)
                entry.used = self._clock()
        elif entry is not None:
            pack = self._attach(entry, Source.JOIN)
        if pack is None:
            pack = self._start(key, fill)
        self.stats.requests[pack.source] += 1
        entry = pack._entry
        try:
            yield pack
        finally:
            pack.file.close()
            entry.readers -= 1
            if entry.state is _State.WRITING and entry.readers == 0:
                self._abandon(entry)

    def sweep(self) -> None:
        """Drop finished entries past `max_age`, then the least recently used of every
        cache sharing the budget while it is exceeded."""
        now = self._clock()
        for entry in list(self._entries.values()):
            if entry.state is _State.DONE and now - entry.created >= self.max_age:
                self._evict(entry)
        self.budget.make_room()

    async def close(self) -> None:
        """Stop every run (at shutdown); readers still attached fail."""
        for task in self._runs:
            task.cancel()
        await asyncio.gather(*self._runs, return_exceptions=True)

    # --- entries -------------------------------------------------------------------------

    def _attach(self, entry: _Entry, source: Source) -> Pack | None:
        try:
            file = entry.path.open("rb")
        except FileNotFoundError:  # removed behind our back: make it again
            log.warning("a cached pack's file is missing", extra={"key": entry.key})
            self._drop(entry)
            return None
        entry.readers += 1
        return Pack(entry, file, source)

    def _start(self, key: str, fill: Fill) -> Pack:
        path = self.root / f"{key}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            # A full disk takes an empty file but fails its first write, and a failed
            # write fails every fetch reading it: with little room left, stream directly.
            if _free_bytes(self.root) < MIN_FREE_BYTES:
                raise OSError(errno.ENOSPC, "too little free space for the pack cache")
            out = path.open("xb", buffering=0)
        except OSError as exc:
            log.warning("cannot make a pack cache file: %s", exc)
            raise CacheUnavailable(str(exc)) from exc
        now = self._clock()
        entry = _Entry(key, path, now, now)
        self._entries[key] = entry
        pack = self._attach(entry, Source.MISS)
        assert pack is not None
        entry.task = asyncio.get_running_loop().create_task(self._write(entry, fill, out))
        self._runs.add(entry.task)
        entry.task.add_done_callback(self._runs.discard)
        return pack

    async def _write(self, entry: _Entry, fill: Fill, out: BinaryIO) -> None:
        chunks = fill()
        try:
            async for chunk in chunks:
                # A page-cache write of at most one pipe read: cheaper than a thread hop.
                out.write(chunk)
                entry.size += len(chunk)
                self._bytes += len(chunk)
                self.budget.used += len(chunk)
                if entry.size > self.budget.max_bytes:  # could never be kept
                    entry.kept = False
                entry.changed()
                if self.budget.used > self.budget.max_bytes:
                    self.sweep()
        except asyncio.CancelledError:
            self._fail(entry)
            raise
        except Exception as exc:
            log.warning("pack-objects run failed: %s", exc, extra={"key": entry.key})
            if isinstance(exc, PackFailed):
                entry.failure = type(exc)
            self._fail(entry)
            return
        finally:
            out.close()
            await chunks.aclose()
        self._finish(entry)

    def _finish(self, entry: _Entry) -> None:
        # Written is used: a response finishes after the pack inside it, and of the two
        # the response is what serves the next clone without running git.
        entry.used = self._clock()
        if self._entries.get(entry.key) is entry:
            self._entries.move_to_end(entry.key)
        if entry.kept and self._entries.get(entry.key) is entry:
            final = self.root / f"{entry.key}.pack"
            try:
                entry.path.rename(final)  # readers hold the file open: the rename cuts no one
                entry.path = final
            except OSError:
                log.exception("keeping a pack failed", extra={"key": entry.key})
                entry.kept = False
        entry.state = _State.DONE
        entry.changed()
        if not entry.kept:
            self._drop(entry)
        self.sweep()

    def _fail(self, entry: _Entry) -> None:
        if entry.state is not _State.FAILED:
            self.stats.runs_failed += 1
        entry.state = _State.FAILED
        entry.changed()
        self._drop(entry)

    def _abandon(self, entry: _Entry) -> None:
        """Nobody reads this run any more: stop it, and let no new request attach to it."""
        log.info("pack-objects run abandoned by its readers", extra={"key": entry.key})
        self._fail(entry)
        if entry.task is not None:
            entry.task.cancel()

    def _least_recent(self) -> _Entry | None:
        """The finished entry used longest ago (the dict is in order of use)."""
        return next((e for e in self._entries.values() if e.state is _State.DONE), None)

    def _evict(self, entry: _Entry) -> None:
        self.stats.evictions += 1
        self._drop(entry)

    def _drop(self, entry: _Entry) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
            self._bytes -= entry.size
            self.budget.used -= entry.size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metrics_text(cache: PackCache, name: str = "pack", run: str = "pack-objects") -> str:
    """The cache's counters in Prometheus' text format, as `gitserver_{name}_cache_*`;
    `run` names what a miss starts."""
    stats = cache.stats
    metric = f"gitserver_{name}_cache"
    lines = [
        f"# HELP {metric}_requests_total {run} requests, by how they were"
        f" answered (miss: a {run} run started for it).",
        f"# TYPE {metric}_requests_total counter",
        *(
            f'{metric}_requests_total{{result="{source}"}} {count}'
            for source, count in stats.requests.items()
        ),
        f"# HELP {metric}_failed_runs_total {run} runs that failed or were abandoned.",
        f"# TYPE {metric}_failed_runs_total counter",
        f"{metric}_failed_runs_total {stats.runs_failed}",
        f"# HELP {metric}_evictions_total Cached {name}s removed for age or space.",
        f"# TYPE {metric}_evictions_total counter",
        f"{metric}_evictions_total {stats.evictions}",
        f"# HELP {metric}_bytes Bytes of {name}s in the cache, written or being written.",
        f"# TYPE {metric}_bytes gauge",
        f"{metric}_bytes {cache.bytes}",
        f"# HELP {metric}_entries {name.capitalize()}s in the cache.",
        f"# TYPE {metric}_entries gauge",
        f"{metric}_entries {len(cache)}",
    ]
    return "\n".join(lines) + "\n"
