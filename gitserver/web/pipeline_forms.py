"""A pipeline's forms, each the API's operation and decided with its action on the
pipeline's ARN: approve or reject (PutApprovalResult), retry a stage's failed actions
(RetryStageExecution), stop an execution (StopPipelineExecution) and start one
(StartPipelineExecution). Domain errors (already decided, not retryable) are pages.
"""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver.pipelines.executions import Trigger
from gitserver.web.context import deps_of, viewer_of
from gitserver.web.pipelineauth import changing
from gitserver.web.pipelines import execution_url
from gitserver.web.security import redirect

MAX_COMMENT = 512  # PutApprovalResult's summary


async def _checked_execution(request: web.Request, name: str) -> str:
    execution_id = request.match_info["execution"]
    await deps_of(request).pipelines.get_execution(execution_id, pipeline=name)
    return execution_id


async def approve(request: web.Request) -> web.StreamResponse:
    name = await changing(request, Action.CODEPIPELINE_PUT_APPROVAL_RESULT)
    execution_id = await _checked_execution(request, name)
    form = await request.post()
    stage = str(form.get("stage", ""))
    action = str(form.get("action", "")) or None
    approved = str(form.get("decision", "")) == "approve"
    summary = str(form.get("comment", ""))[:MAX_COMMENT]
    await deps_of(request).pipelines.decide_approval(
        execution_id,
        stage,
        action,
        approved=approved,
        summary=summary,
        actor=viewer_of(request).principal.arn,
    )
    return redirect(execution_url(name, execution_id))


async def retry(request: web.Request) -> web.StreamResponse:
    name = await changing(request, Action.CODEPIPELINE_RETRY_STAGE_EXECUTION)
    execution_id = await _checked_execution(request, name)
    stage = str((await request.post()).get("stage", ""))
    await deps_of(request).pipelines.retry_stage(execution_id, stage, "FAILED_ACTIONS")
    return redirect(execution_url(name, execution_id))


async def stop(request: web.Request) -> web.StreamResponse:
    name = await changing(request, Action.CODEPIPELINE_STOP_PIPELINE_EXECUTION)
    execution_id = await _checked_execution(request, name)
    form = await request.post()
    await deps_of(request).pipelines.stop(
        execution_id,
        abandon=form.get("abandon") == "1",
        reason=str(form.get("reason", ""))[:200],
        actor=viewer_of(request).principal.arn,
    )
    return redirect(execution_url(name, execution_id))


async def start(request: web.Request) -> web.StreamResponse:
    name = await changing(request, Action.CODEPIPELINE_START_PIPELINE_EXECUTION)
    service = deps_of(request).pipelines
    await service.get(name)
    who = viewer_of(request).principal.arn
    execution_id = await service.start_execution(
        name, trigger=Trigger("StartPipelineExecution", who, who)
    )
    return redirect(execution_url(name, execution_id))
