"""Background repository maintenance: keeps pushed repositories as fast to serve as clones.

A repository filled by pushes has no reachability bitmap and no commit-graph, and C git
serves it markedly slower and with more memory. After pushes settle, a geometric repack
(rolling small packs and loose objects into bigger ones, with a multi-pack index and
bitmaps), a split commit-graph and pack-refs run, one job per repository at a time,
never holding any lock that pushes or clones wait on. Reflogs (kept for settling pushes)
are expired after a week.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import update

from gitserver.db import Database, Repository, utcnow
from gitserver.gitcmd import Git
from gitserver.store.quarantine import remove_stale_quarantines
from gitserver.store.repositories import RepositoryStore

log = logging.getLogger(__name__)

LOCK_FILE = "gitserver-maintenance.lock"
# A push quarantine unchanged this long is a killed push's leftover: git transport
# processes are stopped after `git_timeout` (an hour by default).
QUARANTINE_STALE_AFTER = 3600.0

STEPS: tuple[tuple[str, ...], ...] = (
    # Reflogs exist to settle pushes whose report never arrived (minutes); a week
    # of history is plenty, and older entries would keep dropped objects alive.
    ("reflog", "expire", "--expire=7.days", "--expire-unreachable=7.days", "--all"),
    ("repack", "-d", "-q", "--geometric=2", "--write-midx", "--write-bitmap-index"),
    ("commit-graph", "write", "--reachable", "--split", "--size-multiple=2"),
    ("pack-refs", "--all"),
)


@contextlib.contextmanager
def _repository_lock(path: Path) -> Iterator[bool]:
    """An advisory lock shared with `gitserver repo maintain` and other servers."""
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


async def maintain(
    git: Git,
    db: Database,
    store: RepositoryStore,
    repository_id: str,
    quarantine_stale_after: float = QUARANTINE_STALE_AFTER,
) -> bool:
    """Run every maintenance step now; False if another job holds the repository."""
    path = store.path(repository_id)
    if not path.exists():
        return False
    with _repository_lock(path) as locked:
        if not locked:
            return False
        await asyncio.to_thread(remove_stale_quarantines, path, quarantine_stale_after)
        for step in STEPS:
            # An empty hooks path: maintenance must not look like a push to the ledger.
            await git.run(*step, repo=path, timeout=3600, config={"core.hooksPath": os.devnull})
    async with db.session() as session:
        await session.execute(
            update(Repository).where(Repository.id == repository_id).values(maintained_at=utcnow())
        )
    return True


class MaintenanceScheduler:
    """Debounces pushes into one maintenance run per repository, `delay` seconds later."""

    def __init__(
        self,
        git: Git,
        db: Database,
        store: RepositoryStore,
        delay: float,
        busy: Callable[[str], bool] = lambda _: False,
        quarantine_stale_after: float = QUARANTINE_STALE_AFTER,
    ) -> None:
        self._git = git
        self._quarantine_stale_after = quarantine_stale_after
        self._busy = busy
        self._db = db
        self._store = store
        self._delay = delay
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._rerun: set[str] = set()

    def schedule(self, repository_id: str) -> None:
        if repository_id in self._pending:
            self._rerun.add(repository_id)
            return
        task = asyncio.get_running_loop().create_task(self._run(repository_id))
        self._pending[repository_id] = task

    async def _run(self, repository_id: str) -> None:
        try:
            while True:
                self._rerun.discard(repository_id)
                await asyncio.sleep(self._delay)
                if self._busy(repository_id):
                    # A push is under way: come back once it is done (it reschedules).
                    self._rerun.add(repository_id)
                    continue
                try:
                    await maintain(
                        self._git,
                        self._db,
                        self._store,
                        repository_id,
                        self._quarantine_stale_after,
                    )
                except Exception:
                    log.exception("maintenance failed", extra={"repository_id": repository_id})
                if repository_id not in self._rerun:
                    return
        finally:
            self._pending.pop(repository_id, None)

    async def close(self) -> None:
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
