"""Recording a change to a pull request: its DescribePullRequestEvents row and its outbox
event, in the caller's transaction, so both exist if and only if the change does."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import PullRequest, PullRequestEvent, Repository, utcnow
from gitserver.pulls.details import pull_request_event
from triggers.events import EventType, record_event

# The API's event type, and the `*EventMetadata` member that carries its particulars.
CREATED = ("PULL_REQUEST_CREATED", "pullRequestCreatedEventMetadata")
STATUS_CHANGED = ("PULL_REQUEST_STATUS_CHANGED", "pullRequestStatusChangedEventMetadata")
SOURCE_UPDATED = (
    "PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
    "pullRequestSourceReferenceUpdatedEventMetadata",
)
MERGE_STATE_CHANGED = (
    "PULL_REQUEST_MERGE_STATE_CHANGED",
    "pullRequestMergedStateChangedEventMetadata",
)
RULE_CREATED = ("PULL_REQUEST_APPROVAL_RULE_CREATED", "approvalRuleEventMetadata")
RULE_UPDATED = ("PULL_REQUEST_APPROVAL_RULE_UPDATED", "approvalRuleEventMetadata")
RULE_DELETED = ("PULL_REQUEST_APPROVAL_RULE_DELETED", "approvalRuleEventMetadata")
RULE_OVERRIDDEN = ("PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN", "approvalRuleOverriddenEventMetadata")
APPROVAL_STATE_CHANGED = (
    "PULL_REQUEST_APPROVAL_STATE_CHANGED",
    "approvalStateChangedEventMetadata",
)
API_EVENT_TYPES = frozenset(
    kind
    for kind, _ in (
        CREATED,
        STATUS_CHANGED,
        SOURCE_UPDATED,
        MERGE_STATE_CHANGED,
        RULE_CREATED,
        RULE_UPDATED,
        RULE_DELETED,
        RULE_OVERRIDDEN,
        APPROVAL_STATE_CHANGED,
    )
)


def record(
    session: AsyncSession,
    pr: PullRequest,
    repo: Repository,
    *,
    actor: str,
    actor_arn: str,
    history: tuple[str, str] | None,
    metadata: dict[str, Any] | None = None,
    outbox: EventType | None = None,
    **extra: Any,
) -> None:
    """Write the history row (`history`: type and metadata member) and the outbox event.

    `pr` is as it is after the change, and its last activity is now.
    """
    pr.updated_at = utcnow()
    if history is not None:
        kind, key = history
        session.add(
            PullRequestEvent(
                pull_request_id=pr.id,
                type=kind,
                actor_arn=actor_arn,
                time=pr.updated_at,
                metadata_key=key,
                detail=metadata or {},
            )
        )
    if outbox is not None:
        record_event(session, pull_request_event(outbox, pr, repo, actor, actor_arn, **extra))
