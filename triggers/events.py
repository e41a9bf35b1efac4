"""The one event model and the outbox write.

A service that changes state calls `record_event` inside the same transaction as the
change, so an event exists if and only if the change does. Delivery reads the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import EventRow


class EventType(StrEnum):
    REFERENCE_CREATED = "referenceCreated"
    REFERENCE_UPDATED = "referenceUpdated"
    REFERENCE_DELETED = "referenceDeleted"
    REPOSITORY_CREATED = "repositoryCreated"
    REPOSITORY_DELETED = "repositoryDeleted"
    PULL_REQUEST_CREATED = "pullRequestCreated"
    PULL_REQUEST_SOURCE_BRANCH_UPDATED = "pullRequestSourceBranchUpdated"
    PULL_REQUEST_STATUS_CHANGED = "pullRequestStatusChanged"
    PULL_REQUEST_MERGE_STATUS_UPDATED = "pullRequestMergeStatusUpdated"
    COMMENT_ON_PULL_REQUEST_CREATED = "commentOnPullRequestCreated"
    PULL_REQUEST_APPROVAL_STATE_CHANGED = "pullRequestApprovalStateChanged"
    PIPELINE_EXECUTION_STATE_CHANGED = "pipelineExecutionStateChanged"


@dataclass(frozen=True, slots=True)
class Event:
    """The contract's envelope: id, time, type, repository, actor, detail."""

    type: EventType
    repository: str | None
    actor: str
    detail: dict[str, Any]
    repository_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "type": str(self.type),
            "repository": self.repository,
            "actor": self.actor,
            "detail": self.detail,
        }

    @classmethod
    def from_row(cls, row: EventRow) -> Event:
        return cls(
            type=EventType(row.type),
            repository=row.repository_name,
            actor=row.actor,
            detail=dict(row.detail),
            repository_id=row.repository_id,
            id=row.id,
            time=row.time,
        )


def record_event(session: AsyncSession, event: Event) -> None:
    """Add `event` to the outbox in the caller's transaction."""
    session.add(
        EventRow(
            id=event.id,
            time=event.time,
            type=str(event.type),
            repository_id=event.repository_id,
            repository_name=event.repository,
            actor=event.actor,
            detail=event.detail,
        )
    )
