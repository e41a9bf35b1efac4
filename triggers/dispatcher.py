"""The dispatcher: fan out, claim, send, record, retry. Runs in `gitserver serve` and in
`gitserver worker`; any number of them may share one PostgreSQL.

A worker keeps up to `keys` ordering keys (subscription, repository) in flight. Each
claimed key's run is sent in order by a task of its own, and a finished run is settled
at once, batched with whatever else finished meanwhile: a slow receiver holds back its
own key and nothing else, so one busy repository's hooks are served side by side.

Schedule: the n-th retry waits a time drawn uniformly between 0 and the n-th value of
`retry_schedule` (full jitter; default 10 s, 30 s, 2 min, 10 min, 1 h, then every 3 h),
at least what a 429's `Retry-After` asks; a delivery still failing `retry_window` (24 h)
after its first attempt is marked failed. Network errors, timeouts, 408, 429 and 5xx
are retried; other answers are final.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auth.secretbox import SecretBox
from gitserver.db import Database, Delivery, Repository, utcnow
from gitserver.db.outage import is_unavailable
from triggers.formats import RepositoryInfo
from triggers.formats.context import CommitsFn
from triggers.metrics import DeliveryMetrics
from triggers.outcome import Outcome
from triggers.queue import (
    FAN_OUT_BATCH,
    OPEN,
    QUEUED_CHANNEL,
    Claimed,
    Settled,
    claim,
    claim_in,
    fan_out,
    fan_out_in,
    next_due,
    release,
    settle_in,
)
from triggers.rendering import Prepared, Renderer, Round, load_round
from triggers.sender import Sender
from triggers.signing import masked

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE = (10.0, 30.0, 120.0, 600.0, 3600.0, 10800.0)
NOTIFY_CHANNEL = "gitserver_events"
NOT_SENT = "not-sent"


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    base_url: str
    region: str
    account_id: str
    retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    retry_window: float = 86400.0
    # Keys (subscription, repository) one claim takes, and keys a worker has in flight at
    # once; each key takes up to `run` deliveries per claim. A claim smaller than what a
    # worker can hold leaves other workers their share of a burst. A key's run is sent
    # one delivery after the other, so between two claims of a key (the settle, the
    # wake-up, the claim) it sends nothing: long runs keep those gaps rare, and what a
    # run has sent is settled every `settle_every` deliveries, not at its end.
    batch: int = 8
    keys: int = 64
    run: int = 500
    settle_every: int = 100
    per_target: int = 8
    poll: float = 1.0
    lease: float = 120.0


Send = Callable[[Prepared], Awaitable[Outcome]]


def retry_delay(schedule: Sequence[float], attempts: int, retry_after: float | None) -> float:
    base = schedule[min(attempts, len(schedule)) - 1]
    return max(random.uniform(0, base), retry_after or 0.0)


Result = tuple[Prepared, Outcome | str | None]


# What one write unit took on: events fanned out, the claims, and their round.
Taken = tuple[int, list[Claimed], Round]


class Dispatcher:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: DispatchSettings,
        *,
        repository_info: Callable[[Repository], RepositoryInfo],
        commits: CommitsFn,
        sender: Sender,
        metrics: DeliveryMetrics,
        extra_senders: dict[str, Send] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = Renderer(
            box,
            base_url=settings.base_url,
            region=settings.region,
            account_id=settings.account_id,
            repository_info=repository_info,
            commits=commits,
        )
        self.sender = sender
        self.metrics = metrics
        self.extra_senders = extra_senders or {}
        self._wake = asyncio.Event()  # new events, or a settle that freed keys
        self._fan_out_due = True  # new events were announced, or the last read was full
        self._next_fan_out = 0.0  # and at least every `poll` seconds (other processes)
        self._runs: set[asyncio.Task[None]] = set()  # one per key being sent
        self._finished: list[Result] = []  # sent, waiting for the settler
        self._to_settle = asyncio.Event()
        self._settling: asyncio.Future[None] | None = None  # the settler's write
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: Any = None
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._claimed: set[str] = set()  # claimed and not yet settled, by delivery id
        self._claiming: asyncio.Future[list[Claimed]] | None = None  # PostgreSQL's last
        self._draining = False  # runs send nothing more: the rest are given back
        self._gauged = 0.0

    def wake(self) -> None:
        """New events were committed: fan out and claim now."""
        self._fan_out_due = True
        self._wake.set()

    async def start(self) -> None:
        await self._listen()
        self._tasks = [asyncio.create_task(self._loop()), asyncio.create_task(self._settler())]

    async def drain(self, timeout: float) -> None:
        """Shutdown: claim nothing more, let the sends under way finish (within
        `timeout`) and settle them, then `close` (which releases what was not sent)."""
        loop, settler = self._tasks or (None, None)
        self._draining = True
        if loop is not None:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=timeout)
        if settler is not None:
            settler.cancel()
            await asyncio.gather(settler, return_exceptions=True)
        if self._settling is not None:
            await asyncio.gather(self._settling, return_exceptions=True)
        self._tasks = []
        batch, self._finished = self._finished, []
        if batch:
            try:
                await self._settle(batch)
                self._claimed.difference_update(prepared.delivery.id for prepared, _ in batch)
            except Exception:
                log.exception("settling deliveries at shutdown failed")
        await self.close()

    async def close(self) -> None:
        for task in [*self._tasks, *self._runs]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._runs, return_exceptions=True)
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
        if self._claimed:
            try:
                async with self.db.session() as session:
                    await release(session, sorted(self._claimed))
            except Exception:
                log.warning("could not release claimed deliveries at stop", exc_info=True)
            self._claimed.clear()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        await self.sender.close()

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN for the events table's NOTIFY (any process's commits) and
        for deliveries another worker queued."""
        if self.db.is_sqlite:
            return
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.db.url).set(drivername="postgresql")
        try:
            self._listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake())
            await self._listener.add_listener(QUEUED_CHANNEL, lambda *_: self._wake.set())
        except Exception:
            log.warning("LISTEN failed; falling back to polling", exc_info=True)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            wait = self.settings.poll
            try:
                if await self.run_once():
                    continue
                wait = await self._idle_wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch round failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _idle_wait(self) -> float:
        """Until a retry comes due, at most `poll`. Due deliveries that the claim passed
        over are another worker's (locked, or behind its open ones): its settle moves
        them on, so waiting for them here would only spin."""
        if self._runs:
            return self.settings.poll  # a settle wakes us
        async with self.db.reader() as session:
            due = await next_due(session, utcnow())
        if due is None:
            return self.settings.poll
        return min(self.settings.poll, max(0.0, (due - utcnow()).total_seconds()))

    async def run_once(self) -> int:
        """Fan out new events if any may be waiting, then claim keys for the free slots
        and start sending them. Returns the work taken on.

        On SQLite the fan-out, the claim and the claim's rows are one write unit: one
        commit (an fsync, ~3 ms here) and one hop to the writer thread between a push's
        commit and its first send, where three transactions through aiosqlite took ~20
        ms. PostgreSQL keeps three (`_take_pg`).
        """
        pg = not self.db.is_sqlite
        fanned = 0
        fan = self._fan_out_due or time.monotonic() >= self._next_fan_out
        if fan:
            self._fan_out_due = False
            self._next_fan_out = time.monotonic() + self.settings.poll
            if pg:
                async with self.db.session() as session:
                    fanned = await fan_out(session, pg)
                fan = False
        free = self.settings.keys - len(self._runs)
        if free <= 0 and not fan:
            self._fan_out_due |= fanned >= FAN_OUT_BATCH
            return fanned
        limit = max(0, min(free, self.settings.batch))
        take = self._take_pg(limit) if pg else self._take(fan, limit)
        taken, claimed, round_ = await take
        fanned += taken
        # Or'ed, never overwritten: a wake that came while the unit ran announced events
        # it may not have seen, and they must not wait for the next poll.
        self._fan_out_due |= fanned >= FAN_OUT_BATCH
        if not claimed:
            return fanned
        runs: dict[tuple[str, str], list[Claimed]] = {}
        for delivery in claimed:
            runs.setdefault(delivery.key, []).append(delivery)
        for run in runs.values():
            task = asyncio.create_task(self._send_run(run, round_))
            self._runs.add(task)
            task.add_done_callback(self._runs.discard)
        return fanned + len(claimed)

    async def _take(self, fan: bool, limit: int) -> Taken:
        """SQLite: fan out (if `fan`), claim up to `limit` keys' deliveries and read what
        they are rendered from, in one write unit. Returns the events fanned out, the
        claims and their round.

        Awaited in the loop's own task, not a task of its own: on SQLite the pipeline
        loops, woken by the same commit, would otherwise take the writer first (~10 ms
        a push). A stop that cancels the loop meanwhile is raised after the unit
        (`Database.write`), and the claims are noted at its commit, so `close` releases
        them whether or not this coroutine saw the result.
        """
        lease = timedelta(seconds=self.settings.lease)

        def work(session: Session) -> Taken:
            fanned = fan_out_in(session, False) if fan else 0
            claimed = (
                claim_in(
                    session, limit=limit, lease=lease, is_postgres=False, run=self.settings.run
                )
                if limit
                else []
            )
            ids = [c.id for c in claimed]
            # This runs on the writer thread: one `set.update` of strings is atomic
            # under the GIL, as is each of the loop's own changes to the set.
            sa_event.listen(session, "after_commit", lambda _: self._claimed.update(ids))
            return fanned, claimed, load_round(session, claimed)

        return await self.db.write(work)

    async def _take_pg(self, limit: int) -> Taken:
        """PostgreSQL: the claim in a transaction of its own, then its rows in a read.

        No writer lock to queue for here. The claim runs shielded in a task of its own:
        a stop that cancelled it mid-commit would leave claims made but never noted,
        held until their lease ran out; `drain` and `close` wait for it. (One unit as on
        SQLite was behind in alternated 20,000-delivery runs with 2 workers at load
        4-15 and level at load ~1.3; this path is the one measured for issue 15.)
        """
        if not limit:
            return 0, [], Round({}, {}, {})
        self._claiming = asyncio.ensure_future(self._claim(limit))
        claimed = await asyncio.shield(self._claiming)
        if not claimed:
            return 0, [], Round({}, {}, {})
        try:
            async with self.db.reader() as session:
                return 0, claimed, await session.run_sync(load_round, claimed)
        except Exception:
            await self._release([c.id for c in claimed])
            raise

    async def _claim(self, limit: int) -> list[Claimed]:
        """Claim up to `limit` deliveries and note them (released at stop if unsent)."""
        async with self.db.session() as session:
            claimed = await claim(
                session,
                limit=limit,
                lease=timedelta(seconds=self.settings.lease),
                is_postgres=True,
                run=self.settings.run,
            )
        self._claimed.update(c.id for c in claimed)
        return claimed

    async def _release(self, ids: list[str]) -> None:
        with contextlib.suppress(Exception):
            async with self.db.session() as session:
                await release(session, ids)
        self._claimed.difference_update(ids)

    async def _send_run(self, run: list[Claimed], round_: Round) -> None:
        """One key's deliveries in order; after a failure the rest wait their turn again.

        A send that could outlast the claim's lease is not started (the rest are given
        back, due at once): past the lease another worker may claim the key again and
        send the same deliveries side by side. Within half a short lease it starts all
        the same, or a lease shorter than a timeout would send nothing at all. A drain
        gives the rest back too: a stop waits for the sends under way, not for whole runs.
        """
        results: list[Result] = []
        stopped = False
        try:
            for delivery in run:
                if stopped or self._draining:
                    sub = round_.subscriptions[delivery.subscription_id]
                    results.append((Prepared(delivery, sub, sub.url, None), NOT_SENT))
                    continue
                item = await self.renderer.prepare(delivery, round_)
                if item.body is not None:
                    left = (delivery.lease_until - utcnow()).total_seconds()
                    stopped = left <= min(item.subscription.timeout, self.settings.lease / 2)
                if stopped:
                    results.append((item, NOT_SENT))
                    continue
                outcome = await self._send(item)
                results.append((item, outcome))
                stopped = outcome is not None and not outcome.ok
                if len(results) >= self.settings.settle_every:
                    self._finish(results)
                    results = []
        except Exception:
            # What is left of the run stays leased, in order: due again with its lease.
            log.exception("sending deliveries failed")
        finally:
            self._finish(results)

    def _finish(self, results: list[Result]) -> None:
        """Hand sent deliveries to the settler: a long run is settled as it goes."""
        self._finished.extend(results)
        self._to_settle.set()

    async def _settler(self) -> None:
        """Settles what has been sent, in one transaction per batch: the runs that finish
        while a settle is being written go together in the next."""
        while True:
            await self._to_settle.wait()
            self._to_settle.clear()
            batch, self._finished = self._finished, []
            self._settling = asyncio.ensure_future(self._settle(batch))
            try:
                # A stop cancels the settler, not the write under way (its attempts
                # would go unlogged): `drain` waits for it.
                await asyncio.shield(self._settling)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("settling deliveries failed")
                if is_unavailable(exc):
                    # The database is down: what was sent is settled once it is back,
                    # not sent again when the leases run out (minutes later).
                    self._finished[:0] = batch
                    await asyncio.sleep(self.settings.poll)
                    self._to_settle.set()
                # Otherwise left in flight: due again when their leases run out (sent
                # again, at least once), or released if this worker stops first.
                continue
            self._claimed.difference_update(prepared.delivery.id for prepared, _ in batch)
            self._wake.set()  # their keys are free to claim again
            if time.monotonic() - self._gauged >= self.settings.poll:
                self._gauged = time.monotonic()
                try:
                    await self._gauge()
                except Exception:
                    log.warning("could not read the queue's gauges", exc_info=True)

    async def _send(self, prepared: Prepared) -> Outcome | None:
        if prepared.body is None:
            return None
        limit = self._limits.setdefault(
            prepared.subscription.id, asyncio.Semaphore(self.settings.per_target)
        )
        async with limit:
            extra = self.extra_senders.get(prepared.subscription.format)
            if extra is not None:
                return await extra(prepared)
            return await self.sender.post(
                prepared.url, prepared.body, prepared.headers, prepared.subscription.timeout
            )

    async def _settle(self, results: list[Result]) -> None:
        """Every delivery's new state and every attempt, in one transaction."""
        now = utcnow()
        settled: list[Settled] = []
        attempts: list[dict[str, Any]] = []
        for prepared, outcome in results:
            claimed = prepared.delivery
            if isinstance(outcome, str):  # not attempted: an earlier one failed
                settled.append(_unchanged(claimed, "pending", None, claimed.last_error))
            elif outcome is None:
                settled.append(_unchanged(claimed, "skipped", now, ""))
            else:
                number = claimed.attempts + 1
                attempts.append(_attempt(prepared, outcome, number, now))
                state, next_at, completed = self._record(claimed, prepared, outcome, number, now)
                settled.append(
                    Settled(
                        claimed, state, number, next_at, completed, outcome.status, outcome.error
                    )
                )
        pg = not self.db.is_sqlite
        await self.db.write(lambda s: settle_in(s, settled, attempts, is_postgres=pg))

    def _record(
        self, claimed: Claimed, prepared: Prepared, outcome: Outcome, number: int, now: datetime
    ) -> tuple[str, datetime, datetime | None]:
        """The delivery's state after this attempt: (state, next attempt, completed)."""
        fmt = prepared.subscription.format
        result = "success" if outcome.ok else ("retry" if outcome.retryable else "error")
        self.metrics.attempts.labels(result).inc()
        if outcome.ok:
            self.metrics.deliveries.labels("succeeded", fmt).inc()
            self.metrics.latency.observe(max(0.0, (now - claimed.event_time).total_seconds()))
            return "succeeded", claimed.next_attempt_at, now
        delay = retry_delay(self.settings.retry_schedule, number, outcome.retry_after)
        if (
            outcome.retryable
            and (now - claimed.created_at).total_seconds() + delay <= self.settings.retry_window
        ):
            return "pending", now + timedelta(seconds=delay), None
        self.metrics.deliveries.labels("failed", fmt).inc()
        log.warning("delivery failed", extra={"delivery_id": claimed.id, "error": outcome.error})
        return "failed", claimed.next_attempt_at, now

    async def _gauge(self) -> None:
        async with self.db.reader() as session:
            depth = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state.in_(OPEN))
            )
            oldest = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(Delivery.state == "pending")
            )
        self.metrics.queue_depth.set(depth or 0)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        self.metrics.oldest_due_age.set(max(0.0, age))


def _unchanged(claimed: Claimed, state: str, completed: datetime | None, error: str) -> Settled:
    """A delivery not attempted this time: a new state, its attempts as they were."""
    return Settled(
        claimed,
        state,
        claimed.attempts,
        claimed.next_attempt_at,
        completed,
        claimed.last_status,
        error,
    )


def _attempt(prepared: Prepared, outcome: Outcome, number: int, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": prepared.delivery.id,
        "number": number,
        "started_at": now - timedelta(milliseconds=outcome.duration_ms),
        "duration_ms": outcome.duration_ms,
        "url": prepared.url,
        "request_headers": masked(prepared.headers),
        "request_body": (prepared.body or b"").decode("utf-8", "replace"),
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "error": outcome.error,
    }
