"""The dispatcher: fan out, claim, send, record, retry. Runs in `gitserver serve` and in
`gitserver worker`; any number of them may share one PostgreSQL.

Schedule: the n-th retry waits a time drawn uniformly between 0 and the n-th value of
`retry_schedule` (full jitter; default 10 s, 30 s, 2 min, 10 min, 1 h, then every 3 h),
at least what a 429's `Retry-After` asks; a delivery still failing `retry_window` (24 h)
after its first attempt is marked failed. Network errors, timeouts, 408, 429 and 5xx
are retried; other answers are final.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from auth.secretbox import SecretBox
from gitserver.db import (
    Database,
    Delivery,
    DeliveryAttempt,
    EventRow,
    Repository,
    Subscription,
    utcnow,
)
from triggers.events import Event
from triggers.formats import CONVERTERS, Converter, PayloadContext, RepositoryInfo
from triggers.formats.context import CommitsFn
from triggers.metrics import DeliveryMetrics
from triggers.notifications import email, slack
from triggers.outcome import Outcome
from triggers.queue import OPEN, claim, fan_out, next_due, release
from triggers.sender import Sender
from triggers.signing import masked, signature_headers
from triggers.subscriptions import secret_of

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE = (10.0, 30.0, 120.0, 600.0, 3600.0, 10800.0)
NOTIFY_CHANNEL = "gitserver_events"
NOT_SENT = "not-sent"
# Webhook formats, and the notification targets' (chat and email bodies).
ALL_CONVERTERS: dict[str, Converter] = {**CONVERTERS, "slack": slack, "email": email}


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    base_url: str
    region: str
    account_id: str
    retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    retry_window: float = 86400.0
    # Keys (subscription, repository) one claim takes, and claims in flight at once: a
    # worker serves lanes x batch streams concurrently and leaves the rest to others.
    batch: int = 16
    lanes: int = 1
    per_target: int = 8
    poll: float = 1.0
    lease: float = 120.0


@dataclass(slots=True)
class Prepared:
    """One claimed delivery, ready to send (or to skip: `body` None)."""

    delivery: Delivery
    subscription: Subscription
    url: str
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


Send = Callable[[Prepared], Awaitable[Outcome]]


def retry_delay(schedule: Sequence[float], attempts: int, retry_after: float | None) -> float:
    base = schedule[min(attempts, len(schedule)) - 1]
    return max(random.uniform(0, base), retry_after or 0.0)


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
        self.box = box
        self.settings = settings
        self.repository_info = repository_info
        self.commits = commits
        self.sender = sender
        self.metrics = metrics
        self.extra_senders = extra_senders or {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: Any = None
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._claimed: set[str] = set()  # claimed and not yet settled, by delivery id

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self._listen()
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self.settings.lanes)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
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
        """PostgreSQL: LISTEN for the events table's NOTIFY (any process's commits)."""
        if self.db.is_sqlite:
            return
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.db.url).set(drivername="postgresql")
        try:
            self._listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake())
        except Exception:
            log.warning("LISTEN failed; falling back to polling", exc_info=True)

    async def _loop(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch round failed")
                done = 0
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(await self._idle_wait()):
                    await self._wake.wait()
            self._wake.clear()

    async def _idle_wait(self) -> float:
        async with self.db.reader() as session:
            due = await next_due(session)
        if due is None:
            return self.settings.poll
        return min(self.settings.poll, max(0.0, (due - utcnow()).total_seconds()))

    async def run_once(self) -> int:
        """One round: fan out new events, then send one batch. Returns the work done."""
        pg = not self.db.is_sqlite
        async with self.db.session() as session:
            fanned = await fan_out(session, pg)
        async with self.db.session() as session:
            claimed = await claim(
                session,
                limit=self.settings.batch,
                lease=timedelta(seconds=self.settings.lease),
                is_postgres=pg,
            )
        if not claimed:
            return fanned
        self._claimed.update(row.id for row in claimed)
        prepared = await self._prepare(claimed)
        runs: dict[tuple[str, str], list[Prepared]] = {}
        for item in prepared:
            key = (item.delivery.subscription_id, item.delivery.repository_id)
            runs.setdefault(key, []).append(item)
        results = await asyncio.gather(*(self._send_run(run) for run in runs.values()))
        await self._settle([pair for run in results for pair in run])
        self._claimed.difference_update(row.id for row in claimed)
        await self._gauge()
        return fanned + len(claimed)

    async def _send_run(self, run: list[Prepared]) -> list[tuple[Prepared, Outcome | str | None]]:
        """One key's deliveries in order; after a failure the rest wait their turn again."""
        results: list[tuple[Prepared, Outcome | str | None]] = []
        stopped = False
        for item in run:
            if stopped:
                results.append((item, NOT_SENT))
                continue
            outcome = await self._send(item)
            results.append((item, outcome))
            stopped = outcome is not None and not outcome.ok
        return results

    async def _prepare(self, claimed: list[Delivery]) -> list[Prepared]:
        async with self.db.reader() as session:
            subs = {
                s.id: s
                for s in await session.scalars(
                    select(Subscription).where(
                        Subscription.id.in_({d.subscription_id for d in claimed})
                    )
                )
            }
            seqs = {d.event_seq for d in claimed if d.event_seq is not None}
            events = {
                row.seq: Event.from_row(row)
                for row in await session.scalars(select(EventRow).where(EventRow.seq.in_(seqs)))
            }
            repos = {
                r.id: r
                for r in await session.scalars(
                    select(Repository).where(Repository.id.in_({d.repository_id for d in claimed}))
                )
            }
        result = []
        for delivery in claimed:
            sub = subs[delivery.subscription_id]
            repo = repos.get(delivery.repository_id)
            context = PayloadContext(
                base_url=self.settings.base_url,
                region=self.settings.region,
                account_id=self.settings.account_id,
                repository=self.repository_info(repo) if repo else None,
                commits=self.commits,
                subscription={"name": sub.name, **sub.config},
            )
            result.append(
                await self._build(delivery, sub, events.get(delivery.event_seq or -1), context)
            )
        return result

    async def _build(
        self, delivery: Delivery, sub: Subscription, event: Event | None, context: PayloadContext
    ) -> Prepared:
        if delivery.payload:  # a ping or a test: the body was made when it was queued
            body_dict, event_name = delivery.payload["body"], str(delivery.payload["event"])
            type_header = str(delivery.payload.get("type", event_name))
        elif event is not None and sub.format in ALL_CONVERTERS:
            payload = await ALL_CONVERTERS[sub.format](event, context)
            if payload is None:
                return Prepared(delivery, sub, sub.url, None)
            body_dict, event_name, type_header = payload.body, payload.event_name, str(event.type)
        else:
            return Prepared(delivery, sub, sub.url, None)
        body = json.dumps(body_dict, separators=(",", ":")).encode()
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-GitServer-Event": type_header,
            "X-GitServer-Delivery": delivery.id,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(stamp),
        }
        if sub.format == "github":
            headers["X-GitHub-Event"] = event_name
            headers["X-GitHub-Delivery"] = delivery.id
            headers["X-GitHub-Hook-ID"] = sub.id
        secret = secret_of(self.box, sub)
        if secret:
            headers.update(
                signature_headers(secret, delivery.id, stamp, body, github=sub.format == "github")
            )
        return Prepared(delivery, sub, sub.url, body, headers)

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

    async def _settle(self, results: list[tuple[Prepared, Outcome | str | None]]) -> None:
        now = utcnow()
        async with self.db.session() as session:
            seqs = [prepared.delivery.seq for prepared, _ in results]
            rows = {
                r.seq: r
                for r in await session.scalars(select(Delivery).where(Delivery.seq.in_(seqs)))
            }
            for prepared, outcome in results:
                row = rows.get(prepared.delivery.seq)
                if row is None:
                    continue
                row.lease_until = None
                if isinstance(outcome, str):  # not attempted: an earlier one failed
                    row.state = "pending"
                    continue
                if outcome is None:
                    row.state, row.completed_at, row.last_error = "skipped", now, ""
                    continue
                row.attempts += 1
                session.add(_attempt(prepared, outcome, row.attempts, now))
                row.last_status, row.last_error = outcome.status, outcome.error
                self._record(row, prepared.subscription, outcome, now)

    def _record(self, row: Delivery, sub: Subscription, outcome: Outcome, now: Any) -> None:
        result = "success" if outcome.ok else ("retry" if outcome.retryable else "error")
        self.metrics.attempts.labels(result).inc()
        if outcome.ok:
            row.state, row.completed_at = "succeeded", now
            self.metrics.deliveries.labels("succeeded", sub.format).inc()
            self.metrics.latency.observe(max(0.0, (now - row.event_time).total_seconds()))
            return
        first = row.created_at
        delay = retry_delay(self.settings.retry_schedule, row.attempts, outcome.retry_after)
        if (
            outcome.retryable
            and (now - first).total_seconds() + delay <= self.settings.retry_window
        ):
            row.state = "pending"
            row.next_attempt_at = now + timedelta(seconds=delay)
            return
        row.state, row.completed_at = "failed", now
        self.metrics.deliveries.labels("failed", sub.format).inc()
        log.warning("delivery failed", extra={"delivery_id": row.id, "error": outcome.error})

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


def _attempt(prepared: Prepared, outcome: Outcome, number: int, now: Any) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=prepared.delivery.id,
        number=number,
        started_at=now - timedelta(milliseconds=outcome.duration_ms),
        duration_ms=outcome.duration_ms,
        url=prepared.url,
        request_headers=masked(prepared.headers),
        request_body=(prepared.body or b"").decode("utf-8", "replace"),
        response_status=outcome.status,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
    )
