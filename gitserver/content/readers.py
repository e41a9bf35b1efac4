"""Open repositories kept for the next read: a `GetFile` reuses one instead of opening it.

Opening a `Reader` (dulwich's `Repo`: config, refs container, object store) and its first
lookups (the pack index, the pack, the multi-pack index) cost three times what reading a
small file costs afterwards. A reader kept open stays correct: dulwich reads loose refs
from their files at every lookup, drops its packed-refs cache when the file is replaced,
rescans the pack directory when an object is missing and evicts a pack that a repack
deleted. What it holds is an open file of a pack that maintenance removed, so readers
are closed after `max_age` seconds, and at most `per_repository` idle ones are kept per
repository (`capacity` in all).

A reader is lent to one thread at a time (dulwich's pack files are not safe to share
between threads) and given back when the work returns or raises a domain error (a file
that is not there); on any other error it is closed, in case dulwich was cut mid-read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitserver.content.reader import Reader
from gitserver.errors import DomainError

__all__ = ["Readers"]


class Readers:
    """Idle open readers by repository path; every method is blocking and thread-safe."""

    def __init__(self, max_age: float = 30.0, per_repository: int = 4, capacity: int = 64) -> None:
        self.max_age = max_age
        self.per_repository = per_repository
        self.capacity = capacity
        self._lock = threading.Lock()
        # Most recently given back last; each reader with the time it was opened.
        self._idle: OrderedDict[Path, list[tuple[Reader, float]]] = OrderedDict()
        self._count = 0

    @contextmanager
    def lend(self, path: Path) -> Iterator[Reader]:
        """A reader of the repository at `path`, kept for reuse after the work."""
        reader, opened = self._take(path)
        try:
            yield reader
        except DomainError:
            self._give_back(path, reader, opened)
            raise
        except BaseException:
            reader.close()
            raise
        self._give_back(path, reader, opened)

    def close(self) -> None:
        """Close every idle reader (the server is stopping)."""
        with self._lock:
            idle = [reader for readers in self._idle.values() for reader, _ in readers]
            self._idle.clear()
            self._count = 0
        for reader in idle:
            reader.close()

    def _take(self, path: Path) -> tuple[Reader, float]:
        now = time.monotonic()
        stale: list[Reader] = []
        found: tuple[Reader, float] | None = None
        with self._lock:
            readers = self._idle.get(path)
            while readers and found is None:
                reader, opened = readers.pop()
                self._count -= 1
                if now - opened < self.max_age:
                    found = (reader, opened)
                else:
                    stale.append(reader)
            if readers is not None and not readers:
                del self._idle[path]
        for reader in stale:
            reader.close()
        return found if found is not None else (Reader(path), now)

    def _give_back(self, path: Path, reader: Reader, opened: float) -> None:
        if time.monotonic() - opened >= self.max_age:
            reader.close()
            return
        dropped: list[Reader] = []
        with self._lock:
            readers = self._idle.setdefault(path, [])
            self._idle.move_to_end(path)
            if len(readers) >= self.per_repository:
                dropped.append(reader)
            else:
                readers.append((reader, opened))
                self._count += 1
            while self._count > self.capacity:
                oldest_path, oldest = next(iter(self._idle.items()))
                dropped.append(oldest.pop(0)[0])
                self._count -= 1
                if not oldest:
                    del self._idle[oldest_path]
        for each in dropped:
            each.close()
