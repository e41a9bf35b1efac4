"""The one event model and the outbox write.

A service that changes state calls `record_event` inside the same transaction as the
change, so an event exists if and only if the change does. Delivery reads the outbox.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

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
    # Title or description edited: no CodeCommit event has it; GitHub's `edited` does.
    PULL_REQUEST_EDITED = "pullRequestEdited"
    COMMENT_ON_PULL_REQUEST_CREATED = "commentOnPullRequestCreated"
    COMMENT_ON_PULL_REQUEST_UPDATED = "commentOnPullRequestUpdated"
    PULL_REQUEST_APPROVAL_STATE_CHANGED = "pullRequestApprovalStateChanged"
    PULL_REQUEST_APPROVAL_RULE_CREATED = "pullRequestApprovalRuleCreated"
    PULL_REQUEST_APPROVAL_RULE_UPDATED = "pullRequestApprovalRuleUpdated"
    PULL_REQUEST_APPROVAL_RULE_DELETED = "pullRequestApprovalRuleDeleted"
    PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN = "pullRequestApprovalRuleOverridden"
    COMMENT_ON_COMMIT_CREATED = "commentOnCommitCreated"
    COMMENT_ON_COMMIT_UPDATED = "commentOnCommitUpdated"
    COMMENT_REACTION_CREATED = "commentReactionCreated"
    COMMENT_REACTION_UPDATED = "commentReactionUpdated"
    UNREFERENCED_MERGE_COMMIT_CREATED = "unreferencedMergeCommitCreated"
    PIPELINE_EXECUTION_STATE_CHANGED = "pipelineExecutionStateChanged"
    # A commit status (GitHub's `status` event) was set or changed.
    COMMIT_STATUS_CHANGED = "commitStatusChanged"
    # Merge when the required statuses succeed: armed, disarmed (by a push, a person).
    PULL_REQUEST_AUTO_MERGE_ENABLED = "pullRequestAutoMergeEnabled"
    PULL_REQUEST_AUTO_MERGE_DISABLED = "pullRequestAutoMergeDisabled"
    PIPELINE_STAGE_STATE_CHANGED = "pipelineStageStateChanged"
    PIPELINE_ACTION_STATE_CHANGED = "pipelineActionStateChanged"


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


_COMMITTED = "gitserver_events_written"
# In-process wake-up for dispatchers on SQLite (PostgreSQL has LISTEN/NOTIFY): called
# after a transaction that wrote events commits. Other processes are found by polling.
# Each callback with the event loop it was subscribed from: a commit made on another
# thread (`Database.write` on SQLite) hands the call to that loop.
_on_commit: list[tuple[asyncio.AbstractEventLoop | None, Callable[[], None]]] = []


def on_events_committed(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit that stored an event, on the event loop it was
    subscribed from (if any); returns the unsubscriber."""
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    entry = (loop, callback)
    _on_commit.append(entry)
    return lambda: _on_commit.remove(entry)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_COMMITTED, False):
        return
    try:
        current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for loop, callback in list(_on_commit):
        if loop is None or loop is current:
            callback()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(callback)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_COMMITTED, None)


# Built once: building and caching a statement costs more than running it here.
_INSERT_EVENTS = insert(cast(Table, EventRow.__table__))


def record_events(session: Session, events: Sequence[Event]) -> None:
    """`record_event` for a hot path: one INSERT of every row, now (no ORM entities).

    The session flushes what is pending before it runs the INSERT (autoflush), so the
    outbox keeps the order the events were recorded in."""
    if not events:
        return
    session.info[_COMMITTED] = True
    session.execute(
        _INSERT_EVENTS,
        [
            {
                "id": event.id,
                "time": event.time,
                "type": str(event.type),
                "repository_id": event.repository_id,
                "repository_name": event.repository,
                "actor": event.actor,
                "detail": event.detail,
            }
            for event in events
        ],
    )


def record_event(session: AsyncSession | Session, event: Event) -> None:
    """Add `event` to the outbox in the caller's transaction."""
    session.info[_COMMITTED] = True
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
