"""A runner: claims jobs, runs their action providers, heartbeats, reports outcomes.

Embedded in `gitserver serve` (`pipeline_runners` concurrent jobs) and alone in
`gitserver worker --runner`; any number of runners may share one PostgreSQL and data
dir. The heartbeat renews each job's lease every `heartbeat` seconds and brings back
cancellations (a stop with abandon), which set the job's stop event: the build is
killed within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gitserver.pipelines.actions import PROVIDERS, Job, RunnerServices
from gitserver.pipelines.engine import EngineSettings
from gitserver.pipelines.jobs import Claimed, Outcome, claim, complete, heartbeat
from gitserver.pipelines.states import ActionStatus
from gitserver.pipelines.wakeup import subscribe

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """How many jobs at once, the lease, and how often to heartbeat and poll."""

    concurrency: int = 2
    lease: float = 30.0
    heartbeat: float = 2.0
    poll: float = 2.0


class Runner:
    """Runs pipeline jobs until closed."""

    def __init__(
        self, services: RunnerServices, engine: EngineSettings, settings: RunnerSettings
    ) -> None:
        self.services = services
        self.engine = engine
        self.settings = settings
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._running: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], Awaitable[None]] | None = None

    def wake(self) -> None:
        """Look for jobs now (a job was queued)."""
        self._wake.set()

    async def start(self) -> None:
        """Start claiming and heartbeating."""
        self._unsubscribe = await subscribe(self.services.db, self.wake)
        self._tasks = [
            asyncio.create_task(self._claim_loop()),
            asyncio.create_task(self._heartbeat_loop()),
        ]

    async def drain(self, timeout: float) -> None:
        """Shutdown: claim no more jobs, give the running ones `timeout` s, then `close`."""
        if self._tasks:
            self._tasks[0].cancel()  # the claim loop; heartbeats keep the leases meanwhile
            await asyncio.gather(self._tasks[0], return_exceptions=True)
        running = [task for task, _ in self._running.values()]
        if running:
            await asyncio.wait(running, timeout=timeout)
        await self.close()

    async def close(self) -> None:
        """Stop: running jobs are stopped and reported failed (the runner went away)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _, stop in self._running.values():
            stop.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(
                    *(t for t, _ in self._running.values()), return_exceptions=True
                )
        if self._unsubscribe is not None:
            await self._unsubscribe()
        await self.services.sender.close()

    async def _claim_loop(self) -> None:
        while True:
            free = self.settings.concurrency - len(self._running)
            taken: list[Claimed] = []
            if free > 0:
                try:
                    async with self.services.db.session() as session:
                        taken = await claim(session, self.id, limit=free, lease=self.settings.lease)
                except Exception:
                    log.exception("claiming pipeline jobs failed")
            for job in taken:
                stop = asyncio.Event()
                task = asyncio.create_task(self._run(job, stop))
                self._running[job.id] = (task, stop)
            if taken and len(self._running) < self.settings.concurrency:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat)
            ids = list(self._running)
            if not ids:
                continue
            try:
                async with self.services.db.session() as session:
                    cancelled, lost = await heartbeat(
                        session, self.id, ids, lease=self.settings.lease
                    )
            except Exception:
                log.exception("pipeline job heartbeat failed")
                continue
            for job_id in cancelled | lost:
                if job_id in self._running:
                    self._running[job_id][1].set()

    async def _run(self, claimed: Claimed, stop: asyncio.Event) -> None:
        payload = claimed.payload
        log_path = self.services.layout.absolute(str(payload["logPath"]))
        log_path.parent.mkdir(parents=True, exist_ok=True)

        def write(message: str) -> None:
            stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
            with log_path.open("a") as handle:
                handle.write(f"[Container] {stamp} {message}\n")

        job = Job(claimed.id, payload, write, stop)
        kind = payload.get("type") or {}
        provider = PROVIDERS.get((str(kind.get("category")), str(kind.get("provider"))))
        try:
            if provider is None:
                outcome = Outcome(ActionStatus.FAILED, f"No provider {kind} on this runner")
            else:
                outcome = await provider(self.services, job)
            if stop.is_set() and outcome.status is not ActionStatus.SUCCEEDED:
                outcome = Outcome(ActionStatus.ABANDONED, "Stopped")
        except asyncio.CancelledError:
            outcome = Outcome(ActionStatus.FAILED, "The runner stopped during the action")
        except Exception:
            log.exception("pipeline job failed", extra={"job_id": claimed.id})
            outcome = Outcome(ActionStatus.FAILED, "The action failed on the runner (see its log)")
        try:
            await self._report(claimed.id, outcome)
        finally:
            self._running.pop(claimed.id, None)
            self._wake.set()

    async def _report(self, job_id: str, outcome: Outcome) -> None:
        for attempt in range(5):
            try:
                async with self.services.db.session() as session:
                    await complete(session, self.engine, self.id, job_id, outcome)
                return
            except Exception:
                log.exception("reporting a pipeline job failed", extra={"job_id": job_id})
                await asyncio.sleep(0.5 * (attempt + 1))
