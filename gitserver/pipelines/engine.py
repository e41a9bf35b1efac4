"""The engine: moves executions forward, one pipeline at a time, under its row lock.

`advance(session, pipeline)` reads every active execution of the pipeline and takes each
as far as it can go now: into the next stage (if its lock allows), through the stage's
run-order groups (equal `runOrder` runs in parallel), and to its end. It changes rows
and records events in the caller's transaction and is idempotent: called again after a
crash (or twice) it finds the state as committed and does only what is still missing.

Stage locks (execution-modes.html): SUPERSEDED (the default) lets one execution into a
stage at a time, and an execution that reaches a locked stage waits in front of it; a
newer execution arriving at the same boundary supersedes the waiting one. QUEUED lets
them in first come, first served. PARALLEL has no locks. A failed or stopped stage
releases its lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.content.service import Contents
from gitserver.db import (
    ActionExecutionRow,
    ExecutionRow,
    JobRow,
    StageExecutionRow,
    utcnow,
)
from gitserver.pipelines import definitions
from gitserver.pipelines.definitions import Action, Category, ExecutionMode, Stage
from gitserver.pipelines.paths import Layout
from gitserver.pipelines.progress import Progress, load
from gitserver.pipelines.reporting import report
from gitserver.pipelines.states import (
    ACTION_DONE,
    ActionStatus,
    ExecutionStatus,
    StageStatus,
    action_changed,
    execution_changed,
    stage_changed,
)
from gitserver.pipelines.store import lock_pipeline

ENGINE_ACTOR = "codepipeline"
DEFAULT_APPROVAL_TIMEOUT = 7 * 24 * 3600.0
LOCKING = (StageStatus.IN_PROGRESS, StageStatus.STOPPING)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """What the engine needs from the server's configuration."""

    layout: Layout
    approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT
    """Seconds a Manual approval waits when its configuration sets no TimeoutInMinutes."""
    contents: Contents | None = None
    """Commits read for commit statuses; None: executions set no commit status."""
    base_url: Callable[[], str] = field(default=lambda: "")
    """The public base URL now (read late: the server binds its ports after building)."""


Ended = list[tuple[ExecutionRow, str]]
"""Executions that ended during one `advance`, with the stage they failed in."""


def type_of(action: Action) -> dict[str, str]:
    """An action's ActionTypeId as a plain mapping (events, job payloads)."""
    t = action.action_type_id
    return {"category": t.category, "owner": t.owner, "provider": t.provider, "version": t.version}


async def advance(session: AsyncSession, settings: EngineSettings, pipeline: str) -> None:
    """Take every active execution of `pipeline` as far as it can go now.

    The executions that ended report their commit status last (reporting flushes, and
    the loop below tells from unflushed changes whether to go round again).
    """
    await lock_pipeline(session, pipeline)
    ended: Ended = []
    await _advance(session, settings, pipeline, ended)
    for execution, stage in ended:
        await report_status(session, settings, execution, stage=stage)


async def report_status(
    session: AsyncSession, settings: EngineSettings, e: ExecutionRow, *, stage: str = ""
) -> None:
    """Set the execution's commit status as of its state now (`reporting.report`)."""
    await report(session, settings.contents, settings.base_url, e, ENGINE_ACTOR, stage=stage)


async def _advance(
    session: AsyncSession, settings: EngineSettings, pipeline: str, ended: Ended
) -> None:
    for _ in range(5):  # a stage one execution leaves may let another in
        await session.flush()
        rows = await session.scalars(
            select(ExecutionRow)
            .where(
                ExecutionRow.pipeline == pipeline,
                ExecutionRow.status.in_([ExecutionStatus.IN_PROGRESS, ExecutionStatus.STOPPING]),
            )
            .order_by(ExecutionRow.seq)
        )
        for execution in list(rows):
            await _step(session, settings, await load(session, execution), ended)
        if not session.new and not any(session.is_modified(o) for o in session.dirty):
            return


async def _step(session: AsyncSession, settings: EngineSettings, p: Progress, ended: Ended) -> None:
    e = p.execution
    if e.status == ExecutionStatus.STOPPING:
        _settle_stop(session, p, ended)
        return
    while e.status == ExecutionStatus.IN_PROGRESS:
        index, row = _current_stage(p)
        if index is None:
            _finish(session, e, ExecutionStatus.SUCCEEDED, "", ended)
            return
        stage = p.definition.stages[index]
        if row is None:
            if not await _may_enter(session, p, stage, ended):
                return
            row = _enter(session, p, index)
        outcome = await _run_stage(session, settings, p, stage, row)
        if outcome is None:
            return
        row.status, row.updated_at = outcome, utcnow()
        stage_changed(session, e, row, ENGINE_ACTOR)
        if outcome == StageStatus.FAILED:
            failed = [
                f"{a.action}: {a.summary}"
                for a in p.actions.values()
                if a.stage == stage.name and a.status == ActionStatus.FAILED
            ]
            summary = "; ".join(failed)[:2000]
            _finish(session, e, ExecutionStatus.FAILED, summary, ended, stage.name)


def _current_stage(p: Progress) -> tuple[int | None, StageExecutionRow | None]:
    """The stage in progress, else the first stage not yet succeeded (None: all done)."""
    for index, stage in enumerate(p.definition.stages):
        row = p.stages.get(stage.name)
        if row is None or row.status != StageStatus.SUCCEEDED:
            return index, row if row is not None and row.status in LOCKING else None
    return None, None


async def _may_enter(session: AsyncSession, p: Progress, stage: Stage, ended: Ended) -> bool:
    """Whether the stage's lock lets this execution in; if not it waits (or supersedes)."""
    e = p.execution
    mode = p.definition.effective_execution_mode
    if mode is ExecutionMode.PARALLEL:
        return _admit(e)
    held = await session.scalar(
        select(StageExecutionRow.id).where(
            StageExecutionRow.pipeline == e.pipeline,
            StageExecutionRow.stage == stage.name,
            StageExecutionRow.status.in_(LOCKING),
            StageExecutionRow.execution_id != e.id,
        )
    )
    waiting = list(
        await session.scalars(
            select(ExecutionRow)
            .where(
                ExecutionRow.pipeline == e.pipeline,
                ExecutionRow.status == ExecutionStatus.IN_PROGRESS,
                ExecutionRow.waiting_stage == stage.name,
                ExecutionRow.id != e.id,
            )
            .order_by(ExecutionRow.seq)
        )
    )
    if mode is ExecutionMode.SUPERSEDED:
        for other in waiting:  # a newer execution replaces the one waiting here
            if other.seq < e.seq:
                other.waiting_stage = None
                summary = f"Superseded by {e.id}"
                _finish(session, other, ExecutionStatus.SUPERSEDED, summary, ended)
        if held is None:
            return _admit(e)
    elif held is None and not any(o.seq < e.seq for o in waiting):
        return _admit(e)
    if e.waiting_stage != stage.name:
        e.waiting_stage = stage.name
    return False


def _admit(e: ExecutionRow) -> bool:
    if e.waiting_stage is not None:
        e.waiting_stage = None
    return True


def _enter(session: AsyncSession, p: Progress, index: int) -> StageExecutionRow:
    e = p.execution
    stage = p.definition.stages[index]
    previous = p.stages.get(stage.name)
    row = StageExecutionRow(
        execution_id=e.id,
        pipeline=e.pipeline,
        stage=stage.name,
        stage_index=index,
        status=StageStatus.IN_PROGRESS,
        attempt=(previous.attempt + 1) if previous is not None else 1,
        retry_mode="",
    )
    session.add(row)
    p.stages[stage.name] = row
    stage_changed(session, e, row, ENGINE_ACTOR)
    return row


async def _run_stage(
    session: AsyncSession,
    settings: EngineSettings,
    p: Progress,
    stage: Stage,
    row: StageExecutionRow,
) -> StageStatus | None:
    """Start what is due in the stage; its outcome, or None while it still runs."""
    for _, group in stage.runs():
        due = [a for a in group if _needs_start(p, stage, a, row)]
        for action in due:
            await _start_action(session, settings, p, stage, action, row)
        current = [p.actions[(stage.name, a.name)] for a in group]
        if any(a.status == ActionStatus.IN_PROGRESS for a in current):
            return None
        if any(a.status != ActionStatus.SUCCEEDED for a in current):
            return StageStatus.FAILED
    return StageStatus.SUCCEEDED


def _needs_start(p: Progress, stage: Stage, action: Action, row: StageExecutionRow) -> bool:
    current = p.actions.get((stage.name, action.name))
    if current is None:
        return True
    if current.attempt >= row.attempt:
        return False
    # A retry: ALL_ACTIONS runs every action again, FAILED_ACTIONS only the ones that
    # did not succeed.
    return row.retry_mode == "ALL_ACTIONS" or current.status != ActionStatus.SUCCEEDED


async def _start_action(
    session: AsyncSession,
    settings: EngineSettings,
    p: Progress,
    stage: Stage,
    action: Action,
    stage_row: StageExecutionRow,
) -> None:
    e = p.execution
    now = utcnow()
    row = ActionExecutionRow(
        id=str(uuid.uuid4()),
        execution_id=e.id,
        pipeline=e.pipeline,
        stage=stage.name,
        action=action.name,
        run_order=action.effective_run_order,
        attempt=stage_row.attempt,
        status=ActionStatus.IN_PROGRESS,
        summary="",
        configuration={},
        output_variables={},
        artifacts={},
        log_path="",
        decided_by="",
        started_at=now,
        updated_at=now,
    )
    row.log_path = settings.layout.relative(settings.layout.log(e.id, row.id))
    p.actions[(stage.name, action.name)] = row
    session.add(row)
    scope = definitions.scope(execution_id=e.id, variables=e.variables, namespaces=p.namespaces())
    try:
        row.configuration = definitions.resolve_configuration(action, scope)
    except definitions.UnresolvedVariable as exc:
        row.status, row.summary, row.ended_at = ActionStatus.FAILED, str(exc), now
        action_changed(session, e, row, type_of(action), ENGINE_ACTOR)
        return
    extra: dict[str, Any] = {}
    if action.category is Category.APPROVAL:
        minutes = row.configuration.get("TimeoutInMinutes")
        seconds = float(minutes) * 60 if minutes else settings.approval_timeout
        row.approval_token = str(uuid.uuid4())
        row.deadline = now + timedelta(seconds=seconds)
        extra["approval"] = {
            "customData": row.configuration.get("CustomData", ""),
            "externalEntityLink": row.configuration.get("ExternalEntityLink", ""),
            "expires": row.deadline.isoformat(),
        }
    else:
        number = await _build_number(session, e.pipeline, stage.name, action.name)
        session.add(_job(p, stage, action, row, number))
    action_changed(session, e, row, type_of(action), ENGINE_ACTOR, **extra)


async def _build_number(session: AsyncSession, pipeline: str, stage: str, action: str) -> int:
    """CODEBUILD_BUILD_NUMBER: how many times this action of this pipeline has run, this
    attempt included (CodeBuild counts the builds of a project; an action is a project
    here). Counted under the pipeline's lock, so two attempts never share a number; the
    attempt's own row is pending in the session and autoflush counts it."""
    count = await session.scalar(
        select(func.count())
        .select_from(ActionExecutionRow)
        .join(ExecutionRow, ExecutionRow.id == ActionExecutionRow.execution_id)
        .where(
            ExecutionRow.pipeline == pipeline,
            ActionExecutionRow.stage == stage,
            ActionExecutionRow.action == action,
        )
    )
    return int(count or 1)


def _job(
    p: Progress, stage: Stage, action: Action, row: ActionExecutionRow, build_number: int
) -> JobRow:
    e = p.execution
    sources: dict[str, Any] = e.sources or {}
    source: dict[str, Any] = sources.get(action.name) or next(iter(sources.values()), {})
    payload = {
        "pipeline": e.pipeline,
        "executionId": e.id,
        "stage": stage.name,
        "action": action.name,
        "actionExecutionId": row.id,
        "type": type_of(action),
        "configuration": row.configuration,
        "inputs": {name: p.artifacts().get(name, "") for name in action.input_artifacts},
        "outputs": list(action.output_artifacts),
        "logPath": row.log_path,
        "source": source,
        "trigger": e.trigger,
        "variables": e.variables,
        "buildNumber": build_number,
    }
    return JobRow(
        id=str(uuid.uuid4()),
        action_execution_id=row.id,
        execution_id=e.id,
        pipeline=e.pipeline,
        payload=payload,
        state="queued",
        runner_id="",
        cancel_requested=False,
        outcome="",
    )


def _settle_stop(session: AsyncSession, p: Progress, ended: Ended) -> None:
    """A stopping execution becomes Stopped once no action of it is in flight."""
    if p.in_flight():
        return
    for row in p.stages.values():
        if row.status in LOCKING:
            row.status, row.updated_at = StageStatus.STOPPED, utcnow()
            stage_changed(session, p.execution, row, ENGINE_ACTOR)
    _finish(session, p.execution, ExecutionStatus.STOPPED, p.execution.status_summary, ended)


def _finish(
    session: AsyncSession,
    e: ExecutionRow,
    status: ExecutionStatus,
    summary: str,
    ended: Ended,
    stage: str = "",
) -> None:
    """The execution ended (`stage`: the one it failed in); `advance` reports its status."""
    e.status, e.status_summary, e.updated_at = status, summary, utcnow()
    _admit(e)
    execution_changed(session, e, ENGINE_ACTOR)
    ended.append((e, stage))


def settle_action(
    session: AsyncSession,
    p: Progress,
    row: ActionExecutionRow,
    status: ActionStatus,
    summary: str,
    actor: str = ENGINE_ACTOR,
    **changes: Any,
) -> None:
    """An action attempt ended (a job's result, an approval, a timeout); its event."""
    if row.status in ACTION_DONE:
        return
    row.status, row.summary = status, summary[:2000]
    row.updated_at = row.ended_at = utcnow()
    for key, value in changes.items():
        setattr(row, key, value)
    action = p.definition.action(row.stage, row.action)
    type_id = type_of(action) if action is not None else {}
    action_changed(session, p.execution, row, type_id, actor)
