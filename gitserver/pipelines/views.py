"""Executions, stages and actions in CodePipeline's API shapes (dates as datetimes):
GetPipelineExecution, ListPipelineExecutions, GetPipelineState, ListActionExecutions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ActionExecutionRow, ExecutionRow
from gitserver.pipelines.definitions import Category
from gitserver.pipelines.engine import type_of
from gitserver.pipelines.progress import Progress, load
from gitserver.pipelines.states import ActionStatus


def source_revision(execution: ExecutionRow) -> str:
    """The commit of the execution's first source (the CLI's `sourceRevision`)."""
    return next((str(s.get("commitId", "")) for s in execution.sources.values()), "")


def execution(p: Progress) -> dict[str, Any]:
    """PipelineExecution (plus each stage's and action's status: the CLI's `stages`)."""
    e = p.execution
    stages = []
    for stage in p.definition.stages:
        row = p.stages.get(stage.name)
        actions = []
        for action in stage.actions:
            a = p.actions.get((stage.name, action.name))
            actions.append({"name": action.name, "status": a.status if a else "NotStarted"})
        status = (
            row.status if row else ("Waiting" if e.waiting_stage == stage.name else "NotStarted")
        )
        stages.append({"name": stage.name, "status": status, "actions": actions})
    return {
        "pipelineExecutionId": e.id,
        "pipelineName": e.pipeline,
        "pipelineVersion": e.pipeline_version,
        "status": e.status,
        "statusSummary": e.status_summary,
        "sourceRevision": source_revision(e),
        "artifactRevisions": [
            {
                "name": name,
                "revisionId": s.get("commitId", ""),
                "revisionSummary": s.get("branch", ""),
            }
            for name, s in e.sources.items()
        ],
        "sourceRevisions": [
            {
                "actionName": name,
                "revisionId": s.get("commitId", ""),
                "revisionSummary": s.get("sourceVersion", ""),
            }
            for name, s in e.sources.items()
        ],
        "trigger": dict(e.trigger),
        "variables": [{"name": k, "resolvedValue": v} for k, v in e.variables.items()],
        "executionMode": str(p.definition.effective_execution_mode),
        "startTime": e.started_at,
        "lastUpdateTime": e.updated_at,
        "stages": stages,
    }


async def executions(
    session: AsyncSession, pipeline: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The pipeline's executions, newest first."""
    rows = await session.scalars(
        select(ExecutionRow)
        .where(ExecutionRow.pipeline == pipeline)
        .order_by(ExecutionRow.seq.desc())
        .limit(limit)
    )
    return [execution(await load(session, row)) for row in list(rows)]


def _action_state(p: Progress, stage: str, name: str) -> dict[str, Any]:
    state: dict[str, Any] = {"actionName": name}
    row = p.actions.get((stage, name))
    if row is None:
        return state
    latest: dict[str, Any] = {
        "actionExecutionId": row.id,
        "status": row.status,
        "summary": row.summary,
        "lastStatusChange": row.updated_at,
    }
    definition = p.definition.action(stage, name)
    if (
        definition is not None
        and definition.category is Category.APPROVAL
        and row.status == ActionStatus.IN_PROGRESS
    ):
        latest["token"] = row.approval_token
    if row.decided_by:
        latest["lastUpdatedBy"] = row.decided_by
    state["latestExecution"] = latest
    return state


async def pipeline_state(
    session: AsyncSession, p: Progress | None, stage_names: list[str], name: str, version: int
) -> dict[str, Any]:
    """GetPipelineState: each stage's latest execution and its actions' states."""
    stages = []
    for stage_name in stage_names:
        entry: dict[str, Any] = {"stageName": stage_name, "actionStates": []}
        row = await session.scalar(
            select(ExecutionRow)
            .join(ActionExecutionRow, ActionExecutionRow.execution_id == ExecutionRow.id)
            .where(ExecutionRow.pipeline == name, ActionExecutionRow.stage == stage_name)
            .order_by(ExecutionRow.seq.desc())
            .limit(1)
        )
        if row is not None:
            progress = await load(session, row)
            stage_row = progress.stages.get(stage_name)
            entry["latestExecution"] = {
                "pipelineExecutionId": row.id,
                "status": stage_row.status if stage_row else "InProgress",
            }
            stage = next((s for s in progress.definition.stages if s.name == stage_name), None)
            if stage is not None:
                entry["actionStates"] = [
                    _action_state(progress, stage_name, a.name) for a in stage.actions
                ]
        stages.append(entry)
    return {"pipelineName": name, "pipelineVersion": version, "stageStates": stages}


async def action_executions(
    session: AsyncSession, pipeline: str, execution_id: str | None = None
) -> list[dict[str, Any]]:
    """ListActionExecutions' actionExecutionDetails, newest first."""
    query = select(ActionExecutionRow).where(ActionExecutionRow.pipeline == pipeline)
    if execution_id is not None:
        query = query.where(ActionExecutionRow.execution_id == execution_id)
    rows = list(await session.scalars(query.order_by(ActionExecutionRow.started_at.desc())))
    found = []
    cache: dict[str, Progress] = {}
    for row in rows:
        if row.execution_id not in cache:
            e = await session.scalar(
                select(ExecutionRow).where(ExecutionRow.id == row.execution_id)
            )
            if e is None:
                continue
            cache[row.execution_id] = await load(session, e)
        p = cache[row.execution_id]
        d = p.definition.action(row.stage, row.action)
        found.append(
            {
                "pipelineExecutionId": row.execution_id,
                "actionExecutionId": row.id,
                "pipelineVersion": p.execution.pipeline_version,
                "stageName": row.stage,
                "actionName": row.action,
                "startTime": row.started_at,
                "lastUpdateTime": row.updated_at,
                "updatedBy": row.decided_by or None,
                "status": row.status,
                "input": {
                    "actionTypeId": type_of(d) if d else {},
                    "configuration": dict(d.configuration) if d else {},
                    "resolvedConfiguration": dict(row.configuration),
                    "inputArtifacts": [{"name": n} for n in (d.input_artifacts if d else ())],
                    "namespace": d.namespace if d else None,
                },
                "output": {
                    "outputArtifacts": [{"name": n} for n in row.artifacts],
                    "executionResult": {"externalExecutionSummary": row.summary},
                    "outputVariables": dict(row.output_variables),
                },
                "logPath": row.log_path,
            }
        )
    return found
