"""`codecommit`: CodeCommit's repository-trigger `Records` payload (reference §6.1)."""

from __future__ import annotations

from typing import Any

from triggers.events import Event, EventType
from triggers.formats.context import Payload, PayloadContext


def records(event: Event, context: PayloadContext, *, test: bool = False) -> dict[str, Any]:
    detail = event.detail
    reference: dict[str, Any] = {"ref": detail.get("referenceFullName", "")}
    if event.type is EventType.REFERENCE_CREATED:
        reference["created"] = True
    if event.type is EventType.REFERENCE_DELETED:
        reference["deleted"] = True
    else:
        reference["commit"] = detail.get("commitId", "")
    sub = context.subscription
    arn = context.repository.arn if context.repository else ""
    record = {
        "awsRegion": context.region,
        "codecommit": {"references": [reference]},
        "customData": sub.get("customData", ""),
        "eventId": event.id,
        "eventName": "TriggerEventTest" if test else "ReferenceChanges",
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": arn,
        "eventTime": event.time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "eventTotalParts": 1,
        "eventTriggerConfigId": sub.get("configurationId", ""),
        "eventTriggerName": sub.get("name", ""),
        "eventVersion": "1.0",
        "userIdentityARN": f"arn:aws:iam::{context.account_id}:user/{event.actor}",
    }
    return {"Records": [record]}


async def codecommit(event: Event, context: PayloadContext) -> Payload | None:
    if "referenceFullName" not in event.detail:
        return None  # triggers are about references only
    return Payload(records(event, context), str(event.type))
