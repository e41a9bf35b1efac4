"""Webhooks and the other subscriptions: storage, and which events each one wants.

A webhook names event types (or the shorthands `push` and `pull_request`, or `*`), ref
globs (`main`, `release/*`, or a full `refs/heads/release/*`; a pull request's event
matches by its destination), a format and a secret.
The secret is kept encrypted with the server key: deliveries must sign with it.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.secretbox import SecretBox
from gitserver.db import Subscription
from triggers.errors import InvalidSubscription, SubscriptionNotFound, TargetRefused
from triggers.eventids import hears
from triggers.events import Event, EventType
from triggers.ssrf import check_url

FORMATS = ("native", "github", "codecommit", "eventbridge")
REFERENCE_EVENTS = (
    EventType.REFERENCE_CREATED,
    EventType.REFERENCE_UPDATED,
    EventType.REFERENCE_DELETED,
)
SHORTHANDS: dict[str, tuple[str, ...]] = {
    "push": tuple(REFERENCE_EVENTS),
    # Everything GitHub's pull_request, pull_request_review, issue_comment and
    # pull_request_review_comment say, and the CodeCommit-only rule events.
    "pull_request": (
        *(t for t in EventType if t.startswith("pullRequest")),
        EventType.COMMENT_ON_PULL_REQUEST_CREATED,
        EventType.COMMENT_ON_PULL_REQUEST_UPDATED,
    ),
    "pipeline": tuple(t for t in EventType if t.startswith("pipeline")),
    "*": tuple(EventType),
}
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    url: str
    repository_id: str | None
    secret: str = ""
    events: tuple[str, ...] = ("*",)
    branches: tuple[str, ...] = ()
    format: str = "native"
    timeout: float = DEFAULT_TIMEOUT
    active: bool = True


def expand_events(names: Sequence[str]) -> list[str]:
    """Event types from names and shorthands, validated.

    Raises:
        InvalidSubscription: an unknown name.
    """
    known = {str(t) for t in EventType}
    result: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if name in SHORTHANDS:
            result += [str(t) for t in SHORTHANDS[name]]
        elif name in known:
            result.append(name)
        else:
            raise InvalidSubscription(
                f"unknown event type {name!r}: use push, pull_request, * or one of "
                + ", ".join(sorted(known))
            )
    return sorted(set(result))


def event_names(events: Sequence[str]) -> list[str]:
    """`events` as a person would write them: a shorthand for each whole group it
    covers (`*`, `push`, `pull_request`), then the remaining types (an edit form's
    starting value; `expand_events` turns it back into the same set)."""
    left = set(events)
    names: list[str] = []
    for shorthand in ("*", "push", "pull_request", "pipeline"):
        group = {str(t) for t in SHORTHANDS[shorthand]}
        if group <= left:
            names.append(shorthand)
            left -= group
    return names + sorted(left)


def ref_matches(globs: Sequence[str], ref: str) -> bool:
    """`main` and `release/*` match branch names; `refs/...` globs match the full ref."""
    if not globs:
        return True
    short = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    for glob in globs:
        if glob.startswith("refs/"):
            if fnmatch.fnmatchcase(ref, glob):
                return True
        elif short is not None and fnmatch.fnmatchcase(short, glob):
            return True
    return False


def wants(subscription: Subscription, event: Event) -> bool:
    """Whether `subscription` should hear of `event` (repository, type, ref filters)."""
    if not subscription.active:
        return False
    if subscription.repository_id and subscription.repository_id != event.repository_id:
        return False
    if str(event.type) not in subscription.events:
        return False
    if subscription.kind == "notification":
        pipeline = subscription.config.get("pipeline")
        if pipeline is not None and event.detail.get("pipeline") != pipeline:
            return False
        return hears(subscription.config.get("eventTypeIds", ()), event)
    # A pull request's branch is where it merges to (`--branches main`: PRs into main).
    ref = event.detail.get("referenceFullName") or event.detail.get("destinationReference")
    if isinstance(ref, str) and subscription.branches:
        return ref_matches(subscription.branches, ref)
    return True


def _checked_events(spec: WebhookSpec) -> list[str]:
    """The rules a webhook's settings must meet, on creation and on every change.

    Raises:
        InvalidSubscription: a bad URL, format, event type or timeout.
    """
    try:
        check_url(spec.url)
    except TargetRefused as exc:
        raise InvalidSubscription(str(exc)) from None
    if spec.format not in FORMATS:
        raise InvalidSubscription(f"format must be one of {', '.join(FORMATS)}")
    if not 0 < spec.timeout <= MAX_TIMEOUT:
        raise InvalidSubscription(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds")
    events = expand_events(spec.events)
    if not events:
        raise InvalidSubscription("at least one event type is needed")
    return events


async def create_webhook(session: AsyncSession, box: SecretBox, spec: WebhookSpec) -> Subscription:
    """Store a webhook.

    Raises:
        InvalidSubscription: a bad URL, format, event type or timeout.
    """
    events = _checked_events(spec)
    subscription_id = str(uuid.uuid4())
    row = Subscription(
        id=subscription_id,
        kind="webhook",
        repository_id=spec.repository_id,
        url=spec.url,
        secret_ciphertext=box.encrypt(spec.secret, subscription_id) if spec.secret else b"",
        events=events,
        branches=[b.strip() for b in spec.branches if b.strip()],
        format=spec.format,
        active=spec.active,
        timeout=spec.timeout,
        config={},
    )
    session.add(row)
    await session.flush()
    return row


async def update_webhook(
    session: AsyncSession,
    box: SecretBox,
    row: Subscription,
    spec: WebhookSpec,
    *,
    keep_secret: bool,
) -> Subscription:
    """Change a webhook to `spec`, checked as on creation; nothing changes when it fails.
    The secret becomes `spec.secret` (empty: none) unless `keep_secret`: a form that
    never shows the secret cannot send it back. The repository stays the hook's.

    Raises:
        InvalidSubscription: a bad URL, format, event type or timeout.
    """
    events = _checked_events(spec)
    row.url = spec.url
    row.events = events
    row.branches = [b.strip() for b in spec.branches if b.strip()]
    row.format = spec.format
    row.active = spec.active
    row.timeout = spec.timeout
    if not keep_secret:
        row.secret_ciphertext = box.encrypt(spec.secret, row.id) if spec.secret else b""
    await session.flush()
    return row


def secret_of(box: SecretBox, subscription: Subscription) -> str:
    if not subscription.secret_ciphertext:
        return ""
    return box.decrypt(subscription.secret_ciphertext, subscription.id)


async def get_subscription(
    session: AsyncSession, subscription_id: str, kind: str, repository_id: str | None = None
) -> Subscription:
    """With `repository_id`, only that repository's (a front end that authorized one
    repository must not reach another's hooks through an id)."""
    row = await session.get(Subscription, subscription_id)
    if repository_id is not None and row is not None and row.repository_id != repository_id:
        row = None
    if row is None or row.kind != kind:
        raise SubscriptionNotFound(f"no {kind} with id {subscription_id}")
    return row


async def list_subscriptions(
    session: AsyncSession, kind: str, repository_id: str | None = None
) -> list[Subscription]:
    query = select(Subscription).where(Subscription.kind == kind)
    if repository_id is not None:
        query = query.where(Subscription.repository_id == repository_id)
    return list(await session.scalars(query.order_by(Subscription.created_at)))


def describe(row: Subscription, repository: str | None) -> dict[str, Any]:
    """A webhook as the CLI shows it (never its secret)."""
    return {
        "webhookId": row.id,
        "repository": repository,
        "url": row.url,
        "events": row.events,
        "branches": row.branches,
        "format": row.format,
        "active": row.active,
        "timeout": row.timeout,
        "hasSecret": bool(row.secret_ciphertext),
        "createdAt": row.created_at.isoformat(),
    }
