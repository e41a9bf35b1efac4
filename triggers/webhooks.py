"""Webhook operations beyond storage: ping on creation, test, delivery log, redelivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Delivery, DeliveryAttempt, EventRow, Subscription
from triggers.errors import SubscriptionNotFound
from triggers.events import Event, EventType
from triggers.formats import CONVERTERS, PayloadContext
from triggers.formats.github import ping
from triggers.queue import deliveries_of, new_delivery, redeliver

PING = "ping"


def queue_ping(session: AsyncSession, hook: Subscription, context: PayloadContext) -> Delivery:
    """GitHub sends `ping` when a hook is made; every format gets one, in its own words."""
    body = ping(hook.id, hook.events, hook.url, context)
    if hook.format != "github":
        body = {"zen": body["zen"], "hookId": hook.id, "events": hook.events}
    event = Event(EventType.REPOSITORY_CREATED, None, "gitserver", {})
    delivery = new_delivery(hook.id, event, None, {"body": body, "event": PING, "type": PING})
    delivery.event_type = PING
    return _unordered(session, delivery)


def _unordered(session: AsyncSession, delivery: Delivery) -> Delivery:
    """Pings and tests get an ordering key of their own: a receiver that is down for
    them must not hold back the real events (order is per subscription and repository)."""
    delivery.repository_id = f"~{delivery.id[:35]}"
    session.add(delivery)
    return delivery


async def queue_test(
    session: AsyncSession, hook: Subscription, context: PayloadContext
) -> Delivery:
    """Send the repository's latest event of the hook's types again (a ping if none): a
    pull-request hook is tested with a pull-request event, a push hook with a push."""
    query = select(EventRow).where(EventRow.type.in_(hook.events)).order_by(EventRow.seq.desc())
    if hook.repository_id:
        query = query.where(EventRow.repository_id == hook.repository_id)
    row = await session.scalar(query.limit(1))
    if row is None:
        return queue_ping(session, hook, context)
    event = Event.from_row(row)
    payload = await CONVERTERS[hook.format](event, context)
    body = payload.body if payload else event.envelope()
    name = payload.event_name if payload else str(event.type)
    delivery = new_delivery(
        hook.id, event, row.seq, {"body": body, "event": name, "type": str(event.type)}
    )
    session.add(delivery)
    return delivery


async def delivery_log(
    session: AsyncSession, hook_id: str, limit: int = 50
) -> list[dict[str, Any]]:
    result = []
    for delivery in await deliveries_of(session, hook_id, limit):
        attempts = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery.id)
            .order_by(DeliveryAttempt.number)
        )
        result.append(
            {
                "deliveryId": delivery.id,
                "event": delivery.event_type,
                "eventSeq": delivery.event_seq,
                "state": delivery.state,
                "attempts": [
                    {
                        "number": a.number,
                        "startedAt": a.started_at.isoformat(),
                        "durationMs": a.duration_ms,
                        "url": a.url,
                        "requestHeaders": a.request_headers,
                        "requestBody": a.request_body,
                        "responseStatus": a.response_status,
                        "responseExcerpt": a.response_excerpt,
                        "error": a.error,
                    }
                    for a in attempts
                ],
                "lastStatus": delivery.last_status,
                "lastError": delivery.last_error,
                "createdAt": delivery.created_at.isoformat(),
                "nextAttemptAt": delivery.next_attempt_at.isoformat(),
                "completedAt": delivery.completed_at.isoformat() if delivery.completed_at else None,
            }
        )
    return result


async def redeliver_one(
    session: AsyncSession, delivery_id: str, subscription_id: str | None = None
) -> Delivery:
    """With `subscription_id`, only that hook's delivery (the web page's scope).

    Raises: SubscriptionNotFound (no such delivery)."""
    if subscription_id is not None:
        owner = await session.scalar(
            select(Delivery.subscription_id).where(Delivery.id == delivery_id)
        )
        if owner != subscription_id:
            raise SubscriptionNotFound(f"no delivery with id {delivery_id}")
    row = await redeliver(session, delivery_id)
    if row is None:
        raise SubscriptionNotFound(f"no delivery with id {delivery_id}")
    return row
