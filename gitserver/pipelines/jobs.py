"""Jobs for runners: claim with a lease, heartbeat, complete; the sweep of lost ones.

A claim takes the oldest queued jobs with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two
runners never take the same job; SQLite has one writer) and leases them to the runner.
The runner renews the lease with each heartbeat and learns there whether the job was
cancelled (a stop with abandon). A runner that dies stops renewing: when the lease runs
out, `sweep` fails the action ("the runner stopped answering"). The job is not run
again: a build may have had effects (a deploy, a webhook) that a second run repeats; a
retry of the stage (RetryStageExecution) is the operator's decision.

Completing is conditional on still holding the lease, so a runner that was presumed
dead cannot overwrite the failure the sweep recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ActionExecutionRow, ExecutionRow, JobRow, utcnow
from gitserver.pipelines.engine import EngineSettings, advance, settle_action
from gitserver.pipelines.errors import PipelineNotFound
from gitserver.pipelines.progress import load
from gitserver.pipelines.states import ACTIVE, ActionStatus
from gitserver.pipelines.store import is_postgres, lock_pipeline


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a runner holds: its id and what to run."""

    id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a job produced: the action's status and results."""

    status: ActionStatus
    summary: str = ""
    output_variables: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


async def claim(
    session: AsyncSession, runner_id: str, *, limit: int, lease: float
) -> list[Claimed]:
    """Take up to `limit` queued jobs, oldest first, leased to `runner_id`."""
    if limit <= 0:
        return []
    query = select(JobRow).where(JobRow.state == "queued").order_by(JobRow.seq).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    now = utcnow()
    taken = []
    for job in await session.scalars(query):
        job.state, job.runner_id = "running", runner_id
        job.started_at = job.heartbeat_at = now
        job.lease_until = now + timedelta(seconds=lease)
        taken.append(Claimed(job.id, dict(job.payload)))
    return taken


async def heartbeat(
    session: AsyncSession, runner_id: str, job_ids: list[str], *, lease: float
) -> tuple[set[str], set[str]]:
    """Renew the leases of the runner's jobs: (cancelled ones, lost ones)."""
    if not job_ids:
        return set(), set()
    rows = {j.id: j for j in await session.scalars(select(JobRow).where(JobRow.id.in_(job_ids)))}
    now = utcnow()
    cancelled, lost = set(), set()
    for job_id in job_ids:
        job = rows.get(job_id)
        if job is None or job.state != "running" or job.runner_id != runner_id:
            lost.add(job_id)
            continue
        job.heartbeat_at = now
        job.lease_until = now + timedelta(seconds=lease)
        if job.cancel_requested:
            cancelled.add(job_id)
    return cancelled, lost


async def complete(
    session: AsyncSession,
    settings: EngineSettings,
    runner_id: str,
    job_id: str,
    outcome: Outcome,
) -> bool:
    """Record a job's outcome on its action and advance the pipeline; False if the
    runner no longer held the job (its lease ran out, or the pipeline was deleted)."""
    job = await session.scalar(select(JobRow).where(JobRow.id == job_id))
    if job is None:
        return False
    # The pipeline's lock first, then the job: the order every writer takes them in.
    try:
        await lock_pipeline(session, job.pipeline)
    except PipelineNotFound:
        return False
    await session.refresh(job)
    if job.state != "running" or job.runner_id != runner_id:
        return False
    await _settle(session, settings, job, outcome, "done")
    return True


async def _settle(
    session: AsyncSession, settings: EngineSettings, job: JobRow, outcome: Outcome, state: str
) -> None:
    job.state, job.finished_at, job.outcome = state, utcnow(), str(outcome.status)
    job.lease_until = None
    execution = await session.scalar(
        select(ExecutionRow).where(ExecutionRow.id == job.execution_id)
    )
    action = await session.get(ActionExecutionRow, job.action_execution_id)
    if execution is None or action is None:
        return
    progress = await load(session, execution)
    settle_action(
        session,
        progress,
        action,
        outcome.status,
        outcome.summary,
        output_variables=outcome.output_variables,
        artifacts=outcome.artifacts,
    )
    if execution.status in ACTIVE:
        await advance(session, settings, job.pipeline)


async def sweep(session: AsyncSession, settings: EngineSettings) -> int:
    """Fail the actions of jobs whose lease ran out and approvals past their deadline;
    returns how many it ended."""
    now = utcnow()
    lost_query = select(JobRow).where(JobRow.state == "running", JobRow.lease_until < now)
    expired_query = select(ActionExecutionRow).where(
        ActionExecutionRow.status == ActionStatus.IN_PROGRESS,
        ActionExecutionRow.deadline < now,
    )
    pipelines = {j.pipeline for j in await session.scalars(lost_query)}
    pipelines |= {a.pipeline for a in await session.scalars(expired_query)}
    locked = set()
    for name in sorted(pipelines):  # one order for every sweeper: no deadlock
        try:
            await lock_pipeline(session, name)
            locked.add(name)
        except PipelineNotFound:
            continue
    ended = 0
    for job in list(await session.scalars(lost_query)):  # again, now under the locks
        if job.pipeline in locked:
            summary = f"The runner {job.runner_id} stopped answering (its lease expired)"
            await _settle(session, settings, job, Outcome(ActionStatus.FAILED, summary), "lost")
            ended += 1
    for row in list(await session.scalars(expired_query)):
        execution = await session.scalar(
            select(ExecutionRow).where(ExecutionRow.id == row.execution_id)
        )
        if execution is None or row.pipeline not in locked:
            continue
        progress = await load(session, execution)
        settle_action(session, progress, row, ActionStatus.FAILED, "The approval timed out")
        await advance(session, settings, row.pipeline)
        ended += 1
    return ended


async def cancel_jobs(session: AsyncSession, action_ids: list[str], *, running: bool) -> set[str]:
    """Cancel these actions' queued jobs (they never start) and, with `running`, ask the
    runners of their running ones to stop; returns the actions whose job never started."""
    if not action_ids:
        return set()
    jobs = await session.scalars(
        select(JobRow).where(
            JobRow.action_execution_id.in_(action_ids), JobRow.state.in_(["queued", "running"])
        )
    )
    unstarted = set()
    for job in jobs:
        if job.state == "queued":
            job.state, job.finished_at, job.outcome = "done", utcnow(), "Cancelled"
            job.cancel_requested = True
            unstarted.add(job.action_execution_id)
        elif running:
            job.cancel_requested = True
    return unstarted


async def active_pipelines(session: AsyncSession) -> list[str]:
    """Pipelines with an execution in progress (the periodic advance)."""
    rows = await session.scalars(
        select(ExecutionRow.pipeline).where(ExecutionRow.status.in_(list(ACTIVE))).distinct()
    )
    return list(rows)
