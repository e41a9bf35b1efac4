"""Statuses of executions, stages and actions, and the event each change records.

Every state change is recorded in the caller's transaction (`record_event`), so the
event exists if and only if the change does. The detail follows CodePipeline's
EventBridge events (`CodePipeline Pipeline Execution State Change` and its stage and
action siblings): `pipeline`, `execution-id`, `state` (STARTED, SUCCEEDED, FAILED, ...),
`version`, plus `stage`, `action` and `type` where they apply; `status` is the API's
spelling of the same state (`InProgress`, `Succeeded`, ...).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ActionExecutionRow, ExecutionRow, StageExecutionRow
from triggers.events import Event, EventType, record_event


class ExecutionStatus(StrEnum):
    """PipelineExecutionStatus."""

    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"
    CANCELLED = "Cancelled"


class StageStatus(StrEnum):
    """StageExecutionStatus (the ones this engine uses)."""

    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class ActionStatus(StrEnum):
    """ActionExecutionStatus."""

    IN_PROGRESS = "InProgress"
    ABANDONED = "Abandoned"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


ACTIVE = (ExecutionStatus.IN_PROGRESS, ExecutionStatus.STOPPING)
ACTION_DONE = (ActionStatus.SUCCEEDED, ActionStatus.FAILED, ActionStatus.ABANDONED)

# The EventBridge `state` of each status.
_STATE = {
    "InProgress": "STARTED",
    "Stopping": "STOPPING",
    "Stopped": "STOPPED",
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "Superseded": "SUPERSEDED",
    "Cancelled": "CANCELED",
    "Abandoned": "ABANDONED",
}


def source_repository(execution: ExecutionRow) -> tuple[str | None, str | None]:
    """The (name, id) of the repository of the execution's first source, for events."""
    for source in execution.sources.values():
        return source.get("repository"), source.get("repositoryId")
    return None, None


def _stamp(moment: datetime) -> str:
    """CodePipeline's `start-time`: `2026-12-06T10:00:00.123Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _event(kind: EventType, execution: ExecutionRow, actor: str, **detail: Any) -> Event:
    name, repository_id = source_repository(execution)
    body: dict[str, Any] = {
        "pipeline": execution.pipeline,
        "execution-id": execution.id,
        "version": execution.pipeline_version,
        "start-time": _stamp(execution.started_at),
        "sourceRevisions": [
            {"actionName": action, "revisionId": s.get("commitId", "")}
            for action, s in execution.sources.items()
        ],
        **detail,
    }
    return Event(kind, name, actor, body, repository_id=repository_id)


def execution_changed(
    session: AsyncSession, execution: ExecutionRow, actor: str, *, resumed: bool = False
) -> None:
    """Record the execution's current status as a pipelineExecutionStateChanged event;
    `resumed`: a retry took a failed or stopped execution back in progress (RESUMED)."""
    state = "RESUMED" if resumed else _STATE[execution.status]
    record_event(
        session,
        _event(
            EventType.PIPELINE_EXECUTION_STATE_CHANGED,
            execution,
            actor,
            state=state,
            status=execution.status,
            summary=execution.status_summary,
            trigger=execution.trigger,
        ),
    )


def stage_changed(
    session: AsyncSession, execution: ExecutionRow, stage: StageExecutionRow, actor: str
) -> None:
    """Record a stage's current status as a pipelineStageStateChanged event (a retried
    stage's new attempt starting is RESUMED, as CodePipeline says)."""
    state = _STATE[stage.status]
    if stage.status == StageStatus.IN_PROGRESS and stage.attempt > 1:
        state = "RESUMED"
    record_event(
        session,
        _event(
            EventType.PIPELINE_STAGE_STATE_CHANGED,
            execution,
            actor,
            stage=stage.stage,
            state=state,
            status=stage.status,
            attempt=stage.attempt,
        ),
    )


def action_changed(
    session: AsyncSession,
    execution: ExecutionRow,
    action: ActionExecutionRow,
    type_id: dict[str, str],
    actor: str,
    **extra: Any,
) -> None:
    """Record an action's current status as a pipelineActionStateChanged event."""
    record_event(
        session,
        _event(
            EventType.PIPELINE_ACTION_STATE_CHANGED,
            execution,
            actor,
            stage=action.stage,
            action=action.action,
            state=_STATE[action.status],
            status=action.status,
            type=type_id,
            summary=action.summary,
            **extra,
        ),
    )
