"""The delivery queue in SQL: fan events out into deliveries, claim due ones, settle them.

Fan-out reads the outbox after a cursor row, under that row's lock (`FOR UPDATE` on
PostgreSQL; SQLite has one writer anyway), so every event becomes its deliveries exactly
once. Claims take due deliveries whose (subscription, repository) has nothing earlier
still open — a receiver sees one branch's pushes in order — with `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so two workers never claim the same delivery. A claim is a lease: a
worker that dies mid-send leaves an `in_flight` row that is due again when it expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gitserver.db import Delivery, DispatchCursor, EventRow, Subscription, utcnow
from triggers.events import Event
from triggers.subscriptions import wants

FAN_OUT_BATCH = 500
# A sequence number may be taken by a transaction that commits later than a higher one
# (PostgreSQL): fan-out waits this long for a gap to fill before it passes over it.
GAP_GRACE = timedelta(seconds=10)
OPEN = ("pending", "in_flight")


async def fan_out(session: AsyncSession, is_postgres: bool) -> int:
    """Turn new outbox events into deliveries; returns how many events were consumed."""
    query = select(DispatchCursor).where(DispatchCursor.id == 1)
    cursor = await session.scalar(query.with_for_update() if is_postgres else query)
    if cursor is None:
        cursor = DispatchCursor(id=1, last_seq=0)
        session.add(cursor)
    rows = list(
        await session.scalars(
            select(EventRow)
            .where(EventRow.seq > cursor.last_seq)
            .order_by(EventRow.seq)
            .limit(FAN_OUT_BATCH)
        )
    )
    rows = _contiguous(rows, cursor.last_seq, utcnow())
    if not rows:
        return 0
    subscriptions = list(
        await session.scalars(select(Subscription).where(Subscription.active.is_(True)))
    )
    for row in rows:
        event = Event.from_row(row)
        for subscription in subscriptions:
            if wants(subscription, event):
                session.add(new_delivery(subscription.id, event, row.seq))
    cursor.last_seq = rows[-1].seq
    return len(rows)


def _contiguous(rows: list[EventRow], last: int, now: datetime) -> list[EventRow]:
    """The events up to the first gap in sequence numbers that may still fill."""
    result = []
    expected = last + 1
    for row in rows:
        if row.seq != expected and now - row.time < GAP_GRACE:
            break
        result.append(row)
        expected = row.seq + 1
    return result


def new_delivery(
    subscription_id: str,
    event: Event,
    event_seq: int | None,
    payload: dict[str, object] | None = None,
) -> Delivery:
    now = utcnow()
    return Delivery(
        id=str(uuid.uuid4()),
        subscription_id=subscription_id,
        event_seq=event_seq,
        event_type=str(event.type),
        repository_id=event.repository_id or "",
        payload=payload or {},
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        event_time=event.time,
        last_error="",
    )


async def claim(
    session: AsyncSession, *, limit: int, lease: timedelta, is_postgres: bool, run: int = 100
) -> list[Delivery]:
    """Take due deliveries for this worker: up to `limit` keys (subscription, repository)
    whose first open delivery is due, each with up to `run` due deliveries that follow it
    (a burst of pushes to one hook goes in one round, still in order)."""
    now = utcnow()
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.subscription_id == Delivery.subscription_id,
        earlier.repository_id == Delivery.repository_id,
        earlier.seq < Delivery.seq,
        earlier.state.in_(OPEN),
    )
    due = or_(
        and_(Delivery.state == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.state == "in_flight", Delivery.lease_until < now),
    )
    query = select(Delivery).where(due, ~blocked).order_by(Delivery.seq).limit(limit)
    if is_postgres:
        query = query.with_for_update(skip_locked=True, of=Delivery)
    heads = list(await session.scalars(query))
    rows = list(heads)
    for head in heads:
        # The head is ours (locked, or SQLite's one writer); no one else can take its
        # followers while it is open, since they are blocked by it.
        followers = (
            select(Delivery)
            .where(
                Delivery.subscription_id == head.subscription_id,
                Delivery.repository_id == head.repository_id,
                Delivery.seq > head.seq,
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
            )
            .order_by(Delivery.seq)
            .limit(run - 1)
        )
        rows += list(await session.scalars(followers))
    for row in rows:
        row.state = "in_flight"
        row.lease_until = now + lease
    return rows


async def release(session: AsyncSession, delivery_ids: Sequence[str]) -> int:
    """Give back claims a stopping worker will not settle: due again now, not when the
    lease runs out (a restart would otherwise hold them back for the whole lease).

    A send that reached its receiver before the stop is sent again, with the same
    delivery id: at least once, as after any crash.
    """
    if not delivery_ids:
        return 0
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.state == "in_flight")
        .values(state="pending", lease_until=None, next_attempt_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery comes due (for the dispatcher's sleep)."""
    return await session.scalar(
        select(Delivery.next_attempt_at)
        .where(Delivery.state == "pending")
        .order_by(Delivery.next_attempt_at)
        .limit(1)
    )


async def redeliver(session: AsyncSession, delivery_id: str) -> Delivery | None:
    """Queue a delivery again now, with the same delivery id."""
    row = await session.scalar(select(Delivery).where(Delivery.id == delivery_id))
    if row is None:
        return None
    row.state = "pending"
    row.next_attempt_at = utcnow()
    row.lease_until = None
    row.completed_at = None
    return row


async def deliveries_of(
    session: AsyncSession, subscription_id: str, limit: int = 100
) -> Sequence[Delivery]:
    return list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.subscription_id == subscription_id)
            .order_by(Delivery.seq.desc())
            .limit(limit)
        )
    )
