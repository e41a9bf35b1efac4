"""Executions: start, approve or reject, retry a stage, stop; each under the pipeline's
lock, each followed by `advance` in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ExecutionRow, Ref, Repository, StageExecutionRow, utcnow
from gitserver.pipelines import definitions
from gitserver.pipelines.definitions import Category
from gitserver.pipelines.engine import (
    ENGINE_ACTOR,
    EngineSettings,
    advance,
    report_status,
    settle_action,
)
from gitserver.pipelines.errors import (
    ActionNotFound,
    ApprovalAlreadyCompleted,
    DuplicatedStopRequest,
    InvalidApprovalToken,
    PipelineConflict,
    PipelineExecutionNotFound,
    PipelineExecutionNotStoppable,
    StageNotFound,
    StageNotRetryable,
)
from gitserver.pipelines.jobs import cancel_jobs
from gitserver.pipelines.progress import Progress, load
from gitserver.pipelines.states import (
    ActionStatus,
    ExecutionStatus,
    StageStatus,
    execution_changed,
    stage_changed,
)
from gitserver.pipelines.store import lock_pipeline, read_definition


@dataclass(frozen=True, slots=True)
class Trigger:
    """Who or what started an execution (PipelineExecution's `trigger`)."""

    type: str = "StartPipelineExecution"
    detail: str = ""
    actor: str = ENGINE_ACTOR


@dataclass(frozen=True, slots=True)
class SourceRevision:
    """The exact commit a source action provides, and the event that chose it."""

    commit_id: str
    branch: str = ""
    source_version: str = ""
    """`refs/heads/x`, `refs/tags/v1` or `pr/N` (CODEBUILD_SOURCE_VERSION)."""
    webhook: Mapping[str, str] = field(default_factory=dict, hash=False)
    """CODEBUILD_WEBHOOK_* values (`event`, `headRef`, `baseRef`, `trigger`, ...)."""


async def start(
    session: AsyncSession,
    settings: EngineSettings,
    name: str,
    *,
    trigger: Trigger,
    variables: Mapping[str, str] | None = None,
    revisions: Mapping[str, SourceRevision] | None = None,
    clone_url: Any = None,
) -> str:
    """Start an execution of `name`; sources not in `revisions` take their branch's tip.

    Raises:
        PipelineNotFound: no such pipeline.
        PipelineValidation: `variables` names an undeclared variable or misses one.
    """
    row = await lock_pipeline(session, name)
    definition = read_definition(row.definition, row.version)
    resolved = definitions.resolve_start_variables(definition, variables)
    given = dict(revisions or {})
    sources: dict[str, Any] = {}
    for action in definition.source_actions():
        repo_name = action.configuration.get("RepositoryName", "")
        branch = action.configuration.get("BranchName", "")
        repo = await session.scalar(select(Repository).where(Repository.name == repo_name))
        revision = given.get(action.name)
        if revision is None:
            tip = None
            if repo is not None:
                ref = await session.get(Ref, (repo.id, f"refs/heads/{branch}"))
                tip = ref.target if ref is not None else None
            revision = SourceRevision(tip or "", branch, f"refs/heads/{branch}")
        sources[action.name] = {
            "repository": repo_name,
            "repositoryId": repo.id if repo is not None else "",
            "commitId": revision.commit_id,
            "branch": revision.branch or branch,
            "sourceVersion": revision.source_version,
            "cloneUrl": clone_url(repo_name) if clone_url is not None else "",
            "webhook": dict(revision.webhook),
        }
    now = utcnow()
    execution = ExecutionRow(
        id=str(uuid.uuid4()),
        pipeline=name,
        pipeline_version=row.version,
        definition=row.definition,
        status=ExecutionStatus.IN_PROGRESS,
        status_summary="",
        trigger={
            "triggerType": trigger.type,
            "triggerDetail": trigger.detail,
            "actor": trigger.actor,
        },
        sources=sources,
        variables=resolved,
        started_at=now,
        updated_at=now,
    )
    session.add(execution)
    execution_changed(session, execution, trigger.actor)
    await report_status(session, settings, execution)
    await advance(session, settings, name)
    return execution.id


async def _execution(session: AsyncSession, execution_id: str) -> ExecutionRow:
    row = await session.scalar(select(ExecutionRow).where(ExecutionRow.id == execution_id))
    if row is None:
        raise PipelineExecutionNotFound(f"Pipeline execution {execution_id} does not exist")
    return row


async def locked_progress(session: AsyncSession, execution_id: str) -> Progress:
    """The execution's progress, read under its pipeline's lock.

    Raises:
        PipelineExecutionNotFound: no such execution.
    """
    execution = await _execution(session, execution_id)
    await lock_pipeline(session, execution.pipeline)
    await session.refresh(execution)
    return await load(session, execution)


async def decide_approval(
    session: AsyncSession,
    settings: EngineSettings,
    execution_id: str,
    stage: str,
    action: str | None,
    *,
    approved: bool,
    summary: str,
    actor: str,
    token: str | None = None,
) -> str:
    """Approve or reject a waiting Manual action; returns the action's name.

    `action` None picks the stage's one waiting approval; `token` None skips the token
    check (the CLI, a local operator).

    Raises:
        PipelineExecutionNotFound, StageNotFound, ActionNotFound: nothing to decide.
        InvalidApprovalToken: the token is not the waiting approval's.
        ApprovalAlreadyCompleted: the approval was already decided or timed out.
    """
    p = await locked_progress(session, execution_id)
    if not any(s.name == stage for s in p.definition.stages):
        raise StageNotFound(f"Stage {stage} does not exist in pipeline {p.execution.pipeline}")
    approvals = [
        row
        for (s, _), row in p.actions.items()
        if s == stage
        and (d := p.definition.action(s, row.action)) is not None
        and d.category is Category.APPROVAL
        and (action is None or row.action == action)
    ]
    waiting = [r for r in approvals if r.status == ActionStatus.IN_PROGRESS]
    if not approvals and action is not None and p.definition.action(stage, action) is None:
        raise ActionNotFound(f"Action {action} does not exist in stage {stage}")
    if not waiting:
        if approvals:
            raise ApprovalAlreadyCompleted("The approval request was already completed")
        raise ActionNotFound(f"No approval is waiting in stage {stage}")
    if len(waiting) > 1:
        names = ", ".join(sorted(r.action for r in waiting))
        raise ActionNotFound(f"Several approvals wait in stage {stage} ({names}): name one")
    row = waiting[0]
    if token is not None and token != row.approval_token:
        raise InvalidApprovalToken("The approval token is not valid for this approval")
    status = ActionStatus.SUCCEEDED if approved else ActionStatus.FAILED
    word = "Approved" if approved else "Rejected"
    text = f"{word} by {actor}" + (f": {summary}" if summary else "")
    settle_action(session, p, row, status, text, actor, decided_by=actor)
    await advance(session, settings, p.execution.pipeline)
    return row.action


async def retry_stage(
    session: AsyncSession, settings: EngineSettings, execution_id: str, stage: str, mode: str
) -> None:
    """Run a failed or stopped stage again: FAILED_ACTIONS or ALL_ACTIONS.

    Raises:
        StageNotFound: no such stage in the execution.
        StageNotRetryable: the execution did not fail or stop in that stage.
        PipelineConflict: another execution holds the stage now.
    """
    if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
        raise definitions.PipelineValidation("retryMode must be FAILED_ACTIONS or ALL_ACTIONS")
    p = await locked_progress(session, execution_id)
    e = p.execution
    index = next((i for i, s in enumerate(p.definition.stages) if s.name == stage), None)
    if index is None:
        raise StageNotFound(f"Stage {stage} does not exist in pipeline {e.pipeline}")
    row = p.stages.get(stage)
    retryable = (ExecutionStatus.FAILED, ExecutionStatus.STOPPED)
    if (
        e.status not in retryable
        or row is None
        or row.status
        not in (
            StageStatus.FAILED,
            StageStatus.STOPPED,
        )
    ):
        raise StageNotRetryable(f"Stage {stage} of execution {e.id} cannot be retried now")
    held = await session.scalar(
        select(StageExecutionRow.id).where(
            StageExecutionRow.pipeline == e.pipeline,
            StageExecutionRow.stage == stage,
            StageExecutionRow.status.in_([StageStatus.IN_PROGRESS, StageStatus.STOPPING]),
        )
    )
    if held is not None and p.definition.effective_execution_mode.value != "PARALLEL":
        raise PipelineConflict(f"Another execution is in stage {stage}")
    e.status, e.status_summary, e.updated_at = ExecutionStatus.IN_PROGRESS, "", utcnow()
    execution_changed(session, e, ENGINE_ACTOR, resumed=True)
    await report_status(session, settings, e, stage=stage)
    again = StageExecutionRow(
        execution_id=e.id,
        pipeline=e.pipeline,
        stage=stage,
        stage_index=index,
        status=StageStatus.IN_PROGRESS,
        attempt=row.attempt + 1,
        retry_mode=mode,
    )
    session.add(again)
    stage_changed(session, e, again, ENGINE_ACTOR)
    await advance(session, settings, e.pipeline)


async def stop(
    session: AsyncSession,
    settings: EngineSettings,
    execution_id: str,
    *,
    abandon: bool,
    reason: str,
    actor: str,
) -> None:
    """Stop an execution: wait for in-flight actions, or abandon them.

    Raises:
        PipelineExecutionNotStoppable: it is not in progress.
        DuplicatedStopRequest: it is already stopping (and this does not abandon).
    """
    p = await locked_progress(session, execution_id)
    e = p.execution
    if e.status == ExecutionStatus.STOPPING and not abandon:
        raise DuplicatedStopRequest(f"Execution {e.id} is already stopping")
    if e.status not in (ExecutionStatus.IN_PROGRESS, ExecutionStatus.STOPPING):
        raise PipelineExecutionNotStoppable(f"Execution {e.id} is {e.status}: not stoppable")
    if e.status != ExecutionStatus.STOPPING:
        e.status, e.status_summary, e.updated_at = ExecutionStatus.STOPPING, reason, utcnow()
        execution_changed(session, e, actor)
    for row in p.in_flight():
        d = p.definition.action(row.stage, row.action)
        if abandon or (d is not None and d.category is Category.APPROVAL):
            settle_action(session, p, row, ActionStatus.ABANDONED, "Stopped: " + reason, actor)
            await cancel_jobs(session, [row.id], running=True)
    # Waiting for in-flight actions: the ones whose job has not started yet never will.
    for action_id in await cancel_jobs(session, [r.id for r in p.in_flight()], running=False):
        row = next(r for r in p.in_flight() if r.id == action_id)
        settle_action(session, p, row, ActionStatus.ABANDONED, "Stopped before it started")
    await advance(session, settings, e.pipeline)
