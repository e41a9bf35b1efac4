"""`eventbridge`: each event in AWS's EventBridge envelope (reference §6.2), so receivers
written for `aws.codecommit` EventBridge rules work unchanged."""

from __future__ import annotations

from typing import Any

from triggers.events import Event, EventType
from triggers.formats.context import Payload, PayloadContext

_REFERENCE_EVENTS = {
    EventType.REFERENCE_CREATED: "referenceCreated",
    EventType.REFERENCE_UPDATED: "referenceUpdated",
    EventType.REFERENCE_DELETED: "referenceDeleted",
}


def _detail_type(event: Event) -> str:
    if event.type in _REFERENCE_EVENTS:
        return "CodeCommit Repository State Change"
    if str(event.type).startswith("pullRequest") or "PullRequest" in str(event.type):
        return "CodeCommit Pull Request State Change"
    return "CodeCommit Repository State Change"


async def eventbridge(event: Event, context: PayloadContext) -> Payload | None:
    detail: dict[str, Any] = {"event": str(event.type), **event.detail}
    detail.setdefault("repositoryName", event.repository)
    if event.repository_id:
        detail.setdefault("repositoryId", event.repository_id)
    detail.setdefault("callerUserArn", f"arn:aws:iam::{context.account_id}:user/{event.actor}")
    arn = context.repository.arn if context.repository else None
    body = {
        "version": "0",
        "id": event.id,
        "detail-type": _detail_type(event),
        "source": "aws.codecommit",
        "account": context.account_id,
        "time": event.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": context.region,
        "resources": [arn] if arn else [],
        "detail": detail,
    }
    return Payload(body, str(event.type))
