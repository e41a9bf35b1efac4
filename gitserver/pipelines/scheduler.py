"""The scheduler: starts executions from new events, and every `interval` seconds fails
lost jobs and timed-out approvals and advances every active pipeline (what a crash
between two steps left is picked up there). Runs in `gitserver serve` and
`gitserver worker`; several may share one database (the cursor and pipeline locks
serialize them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from gitserver.db import Database
from gitserver.pipelines.engine import EngineSettings, advance
from gitserver.pipelines.errors import PipelineNotFound
from gitserver.pipelines.jobs import active_pipelines, sweep
from gitserver.pipelines.store import any_pipeline
from gitserver.pipelines.triggering import BATCH, ChangedPaths, CloneUrl, consume
from gitserver.pipelines.wakeup import subscribe

log = logging.getLogger(__name__)


class Scheduler:
    """Triggering and housekeeping for pipelines."""

    def __init__(
        self,
        db: Database,
        engine: EngineSettings,
        changed_paths: ChangedPaths,
        clone_url: CloneUrl,
        *,
        interval: float = 2.0,
    ) -> None:
        self.db = db
        self.engine = engine
        self.changed_paths = changed_paths
        self.clone_url = clone_url
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], Awaitable[None]] | None = None

    def wake(self) -> None:
        """Read new events now."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop."""
        self._unsubscribe = await subscribe(self.db, self.wake)
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._unsubscribe is not None:
            await self._unsubscribe()

    async def _loop(self) -> None:
        last_sweep = 0.0
        while True:
            try:
                # A short batch read every event there was (or stopped at a gap that
                # its commit will wake us for): one transaction a push, not two.
                while await self.trigger_once() >= BATCH:
                    pass
                if time.monotonic() - last_sweep >= self.interval:
                    last_sweep = time.monotonic()
                    await self.housekeep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pipeline scheduling round failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def trigger_once(self) -> int:
        """One batch of new events; returns how many were read."""
        if not await self.db.read(any_pipeline):
            return 0
        async with self.db.session() as session:
            return await consume(session, self.engine, self.changed_paths, self.clone_url)

    async def housekeep(self) -> None:
        """Fail lost jobs and expired approvals; advance every active pipeline."""
        async with self.db.session() as session:
            await sweep(session, self.engine)
        async with self.db.reader() as session:
            names = await active_pipelines(session)
        for name in names:
            with contextlib.suppress(PipelineNotFound):
                async with self.db.session() as session:
                    await advance(session, self.engine, name)
