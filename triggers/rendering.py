"""What a claimed delivery sends: its body, rendered once per event and shape for a
whole claim, and its headers, signed. The dispatcher claims and sends; this module only
turns rows into requests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.secretbox import SecretBox
from gitserver.db import EventRow, Repository, Subscription
from triggers.events import Event
from triggers.formats import CONVERTERS, Converter, PayloadContext, RepositoryInfo
from triggers.formats.context import CommitsFn
from triggers.notifications import email, slack
from triggers.queue import EVENT_COLUMNS, Claimed, event_of
from triggers.signing import signature_headers
from triggers.subscriptions import secret_of

# Webhook formats, and the notification targets' (chat and email bodies).
ALL_CONVERTERS: dict[str, Converter] = {**CONVERTERS, "slack": slack, "email": email}


@dataclass(slots=True)
class Prepared:
    """One claimed delivery, ready to send (or to skip: `body` None)."""

    delivery: Claimed
    subscription: Subscription
    url: str
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


# A rendered payload: body, event name, the X-GitServer-Event value; None: skip.
Rendered = tuple[bytes, str, str] | None


@dataclass(slots=True)
class Round:
    """What one claim's deliveries are rendered from, read once for the whole claim; a
    run renders each delivery just before sending it (the first send does not wait for
    the whole claim to be rendered), sharing the bodies through `rendered`."""

    subscriptions: dict[str, Subscription]
    events: dict[int, Event]
    repositories: dict[str, Repository]
    contexts: dict[tuple[str, str], PayloadContext] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    rendered: dict[tuple[Any, ...], Rendered] = field(default_factory=dict)


class Renderer:
    """Prepares claimed deliveries for the links and names of this server."""

    def __init__(
        self,
        box: SecretBox,
        *,
        base_url: str,
        region: str,
        account_id: str,
        repository_info: Callable[[Repository], RepositoryInfo],
        commits: CommitsFn,
    ) -> None:
        self.box = box
        self.base_url = base_url
        self.region = region
        self.account_id = account_id
        self.repository_info = repository_info
        self.commits = commits

    async def prepare(self, delivery: Claimed, round_: Round) -> Prepared:
        """One delivery's body and headers, signed, ready to send."""
        sub = round_.subscriptions[delivery.subscription_id]
        context = round_.contexts.get(delivery.key)
        if context is None:
            repo = round_.repositories.get(delivery.repository_id)
            context = round_.contexts[delivery.key] = PayloadContext(
                base_url=self.base_url,
                region=self.region,
                account_id=self.account_id,
                repository=self.repository_info(repo) if repo else None,
                commits=self.commits,
                subscription={"name": sub.name, **sub.config},
            )
        if sub.id not in round_.secrets:
            round_.secrets[sub.id] = secret_of(self.box, sub)
        event = round_.events.get(delivery.event_seq or -1)
        payload = await self._render(delivery, sub, event, context, round_.rendered)
        return self._sign(delivery, sub, payload, round_.secrets[sub.id])

    async def _render(
        self,
        delivery: Claimed,
        sub: Subscription,
        event: Event | None,
        context: PayloadContext,
        cache: dict[tuple[Any, ...], Rendered],
    ) -> Rendered:
        """The body once per event and what shapes it (format, the subscription's name
        and settings, the repository): an event that goes to many hooks is converted and
        serialized once per round, not once per delivery."""
        if delivery.payload:  # a ping or a test: the body was made when it was queued
            event_name = str(delivery.payload["event"])
            return (
                _json(delivery.payload["body"]),
                event_name,
                str(delivery.payload.get("type", event_name)),
            )
        if event is None or sub.format not in ALL_CONVERTERS:
            return None
        key = (
            delivery.event_seq,
            sub.format,
            delivery.repository_id,
            json.dumps(context.subscription, sort_keys=True, default=str),
        )
        if key not in cache:
            payload = await ALL_CONVERTERS[sub.format](event, context)
            cache[key] = (
                None
                if payload is None
                else (_json(payload.body), payload.event_name, str(event.type))
            )
        return cache[key]

    def _sign(
        self, delivery: Claimed, sub: Subscription, rendered: Rendered, secret: str
    ) -> Prepared:
        if rendered is None:
            return Prepared(delivery, sub, sub.url, None)
        body, event_name, type_header = rendered
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
        if secret:
            headers.update(
                signature_headers(secret, delivery.id, stamp, body, github=sub.format == "github")
            )
        return Prepared(delivery, sub, sub.url, body, headers)


def load_round(session: Session, claimed: list[Claimed]) -> Round:
    """The subscriptions, events and repositories of a claim, read with it."""
    if not claimed:
        return Round({}, {}, {})
    subs = {
        s.id: s
        for s in session.scalars(
            select(Subscription).where(Subscription.id.in_({d.subscription_id for d in claimed}))
        )
    }
    seqs = {d.event_seq for d in claimed if d.event_seq is not None}
    events = {
        row.seq: event_of(row)
        for row in session.execute(select(*EVENT_COLUMNS).where(EventRow.seq.in_(seqs)))
    }
    repos = {
        r.id: r
        for r in session.scalars(
            select(Repository).where(Repository.id.in_({d.repository_id for d in claimed}))
        )
    }
    return Round(subs, events, repos)


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
