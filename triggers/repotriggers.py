"""CodeCommit repository triggers (Put/Get/TestRepositoryTriggers) on the delivery queue.

A trigger is a subscription of kind `trigger` in format `codecommit`: its deliveries
carry CodeCommit's `Records` payload. `destinationArn` is an http(s) URL (our extension)
or an SNS/Lambda ARN that `trigger_targets` maps to a local URL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Subscription
from triggers.errors import RepositoryTriggerError, TargetRefused
from triggers.events import EventType
from triggers.ssrf import check_url

MAX_TRIGGERS = 10
MAX_BRANCHES = 10
MAX_CUSTOM_DATA = 1000
_NAME = re.compile(r"[^\s,]{1,100}")
_ARN = re.compile(r"arn:aws[\w-]*:(sns|lambda):([a-z0-9-]+):(\d{12}):(.+)")
EVENTS: dict[str, tuple[EventType, ...]] = {
    "createReference": (EventType.REFERENCE_CREATED,),
    "updateReference": (EventType.REFERENCE_UPDATED,),
    "deleteReference": (EventType.REFERENCE_DELETED,),
}
EVENTS["all"] = tuple(t for types in EVENTS.values() for t in types)


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    destination_arn: str
    url: str
    custom_data: str
    branches: tuple[str, ...]
    events: tuple[str, ...]

    def shape(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "destinationArn": self.destination_arn,
            "customData": self.custom_data,
            "branches": list(self.branches),
            "events": list(self.events),
        }


def _fail(aws_type: str, message: str) -> RepositoryTriggerError:
    return RepositoryTriggerError(message, aws_type)


def resolve_destination(arn: str, region: str, targets: Mapping[str, str]) -> str:
    """The URL a destination ARN (or URL) delivers to, checked by the outbound URL rule."""
    url = arn if arn.startswith(("http://", "https://")) else _mapped(arn, region, targets)
    try:
        check_url(url)
    except TargetRefused as exc:
        raise _fail("InvalidRepositoryTriggerDestinationArnException", str(exc)) from None
    return url


def _mapped(arn: str, region: str, targets: Mapping[str, str]) -> str:
    match = _ARN.fullmatch(arn)
    if match is None:
        raise _fail(
            "InvalidRepositoryTriggerDestinationArnException",
            f"{arn!r} is neither an SNS/Lambda ARN nor an http(s) URL",
        )
    if match[2] != region:
        raise _fail(
            "InvalidRepositoryTriggerRegionException",
            f"the destination is in {match[2]}; this repository is in {region}",
        )
    if arn not in targets:
        raise _fail(
            "InvalidRepositoryTriggerDestinationArnException",
            f"{arn} is not a configured target (trigger_targets)",
        )
    return targets[arn]


def check(
    items: Sequence[Mapping[str, Any]], region: str, targets: Mapping[str, str]
) -> list[Trigger]:
    """CodeCommit's rules for a trigger list.

    Raises:
        RepositoryTriggerError: with the model's exception name.
    """
    if len(items) > MAX_TRIGGERS:
        raise _fail("MaximumRepositoryTriggersExceededException", f"at most {MAX_TRIGGERS}")
    result, names = [], set()
    for item in items:
        name = item.get("name") or ""
        if not _NAME.fullmatch(name) or name in names:
            raise _fail("InvalidRepositoryTriggerNameException", f"trigger name {name!r}")
        names.add(name)
        arn = item.get("destinationArn") or ""
        if not arn:
            raise _fail("RepositoryTriggerDestinationArnRequiredException", "destinationArn")
        url = resolve_destination(arn, region, targets)
        custom = item.get("customData") or ""
        if len(custom) > MAX_CUSTOM_DATA:
            raise _fail("InvalidRepositoryTriggerCustomDataException", "customData too long")
        branches = item.get("branches")
        if branches is None:
            raise _fail("RepositoryTriggerBranchNameListRequiredException", "branches")
        if len(branches) > MAX_BRANCHES:
            raise _fail("MaximumBranchesExceededException", f"at most {MAX_BRANCHES} branches")
        events = item.get("events") or []
        if not events:
            raise _fail("RepositoryTriggerEventsListRequiredException", "events")
        if any(e not in EVENTS for e in events) or ("all" in events and len(events) > 1):
            raise _fail("InvalidRepositoryTriggerEventsException", "'all' goes alone")
        result.append(Trigger(name, arn, url, custom, tuple(branches), tuple(events)))
    return result


async def put_triggers(
    session: AsyncSession, repository_id: str, triggers: Sequence[Trigger]
) -> str:
    """Replace the repository's triggers; returns the new configuration id."""
    configuration = str(uuid.uuid4())
    await session.execute(
        delete(Subscription).where(
            Subscription.kind == "trigger", Subscription.repository_id == repository_id
        )
    )
    for trigger in triggers:
        session.add(
            Subscription(
                id=str(uuid.uuid4()),
                kind="trigger",
                repository_id=repository_id,
                name=trigger.name,
                url=trigger.url,
                secret_ciphertext=b"",
                events=sorted({str(t) for e in trigger.events for t in EVENTS[e]}),
                branches=list(trigger.branches),
                format="codecommit",
                active=True,
                timeout=10.0,
                config={
                    "configurationId": configuration,
                    "customData": trigger.custom_data,
                    "destinationArn": trigger.destination_arn,
                    "triggerEvents": list(trigger.events),
                },
            )
        )
    return configuration


async def get_triggers(
    session: AsyncSession, repository_id: str
) -> tuple[str | None, list[Trigger]]:
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(Subscription.kind == "trigger", Subscription.repository_id == repository_id)
            .order_by(Subscription.name)
        )
    )
    configuration = rows[0].config.get("configurationId") if rows else None
    return configuration, [
        Trigger(
            r.name,
            r.config.get("destinationArn", r.url),
            r.url,
            r.config.get("customData", ""),
            tuple(r.branches),
            tuple(r.config.get("triggerEvents", ["all"])),
        )
        for r in rows
    ]
