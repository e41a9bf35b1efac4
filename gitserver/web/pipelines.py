"""Pipeline pages: the list (all, or those reading one repository), a pipeline (its
stages and actions as a graph with their latest state, its execution history), an
execution, and an action's log (the page, the text download and a server-sent event
stream that tails it) and its build artifacts.

Each read is the API's: ListPipelines, GetPipeline + GetPipelineState,
ListPipelineExecutions, GetPipelineExecution, ListActionExecutions (logs and artifacts
are what that call describes). The forms are `pipeline_forms.py`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from auth.actions import Action
from gitserver import weburls
from gitserver.pipelines.definitions import Category, PipelineDefinition
from gitserver.pipelines.errors import ActionNotFound, PipelineExecutionNotFound
from gitserver.pipelines.service import read_log
from gitserver.pipelines.states import ACTION_DONE
from gitserver.web.context import deps_of, links, readable_repository
from gitserver.web.pages import render
from gitserver.web.pipelineauth import listing, may, may_list, optional, reading

HISTORY_PAGE = 20
# A log page shows at most this much (the end of it); the download has it all.
SHOWN_LOG = 512 * 1024
STREAM_POLL = 0.5

A = Action


def pipeline_url(name: str) -> str:
    return weburls.pipeline_page("", name)


def execution_url(name: str, execution_id: str) -> str:
    return weburls.execution_page("", name, execution_id)


def log_url(name: str, execution_id: str, stage: str, action: str) -> str:
    return weburls.action_log_page("", name, execution_id, stage, action)


@dataclass(slots=True)
class ActionBox:
    """One action of the graph: what it is and its state (`NotStarted` before any run)."""

    name: str
    provider: str
    category: str
    status: str = "NotStarted"
    summary: str = ""
    execution_id: str = ""
    token: bool = False  # an approval waiting for a decision


@dataclass(slots=True)
class StageBox:
    name: str
    status: str = "NotStarted"
    execution_id: str = ""
    runs: list[list[ActionBox]] = field(default_factory=list)


def _graph(
    definition: PipelineDefinition,
) -> tuple[list[StageBox], dict[tuple[str, str], ActionBox]]:
    stages: list[StageBox] = []
    boxes: dict[tuple[str, str], ActionBox] = {}
    for stage in definition.stages:
        box = StageBox(stage.name)
        for _, group in stage.runs():
            run = []
            for action in group:
                a = ActionBox(action.name, action.provider, str(action.category))
                boxes[(stage.name, action.name)] = a
                run.append(a)
            box.runs.append(run)
        stages.append(box)
    return stages, boxes


def _sources(definition: PipelineDefinition) -> list[str]:
    return [
        str(a.configuration.get("RepositoryName", ""))
        for _, _, _, a in definition.actions()
        if a.category is Category.SOURCE
    ]


# -- lists -------------------------------------------------------------------------------


async def pipeline_list(request: web.Request) -> web.StreamResponse:
    await listing(request)
    summaries = await deps_of(request).pipelines.list_pipelines()
    return render(request, "pipelines.html", pipelines=summaries, repo=None)


async def repository_pipelines(request: web.Request) -> web.StreamResponse:
    """The pipelines whose source is this repository (GetRepository, then ListPipelines
    and GetPipeline of each the viewer may read, to see its sources)."""
    repo = await readable_repository(request, request.match_info["name"], A.GET_REPOSITORY)
    service = deps_of(request).pipelines
    shown = []
    if may_list(request):
        await listing(request)
        for summary in await service.list_pipelines():
            if not may(request, A.CODEPIPELINE_GET_PIPELINE, summary.name):
                continue
            stored = await service.get(summary.name)
            if repo.name in _sources(stored.definition):
                shown.append(summary)
    return render(request, "pipelines.html", pipelines=shown, repo=repo, links=links(request, repo))


# -- a pipeline ----------------------------------------------------------------------------


async def pipeline(request: web.Request) -> web.StreamResponse:
    name = await reading(request, A.CODEPIPELINE_GET_PIPELINE, A.CODEPIPELINE_GET_PIPELINE_STATE)
    service = deps_of(request).pipelines
    stored = await service.get(name)
    state = await service.state(name)
    stages, boxes = _graph(stored.definition)
    for entry, box in zip(state["stageStates"], stages, strict=False):
        latest = entry.get("latestExecution") or {}
        box.status = str(latest.get("status", "NotStarted"))
        box.execution_id = str(latest.get("pipelineExecutionId", ""))
        for action_state in entry.get("actionStates", []):
            found = boxes.get((box.name, action_state["actionName"]))
            run = action_state.get("latestExecution")
            if found is None or run is None:
                continue
            found.status = str(run.get("status", "NotStarted"))
            found.summary = str(run.get("summary") or "")
            found.execution_id = box.execution_id
            found.token = "token" in run
    page = _page_number(request)
    history: list[dict[str, Any]] = []
    more = False
    if await optional(request, A.CODEPIPELINE_LIST_PIPELINE_EXECUTIONS, name):
        runs = await service.list_executions(name, limit=page * HISTORY_PAGE + 1)
        history = runs[(page - 1) * HISTORY_PAGE : page * HISTORY_PAGE]
        more = len(runs) > page * HISTORY_PAGE
    return render(
        request,
        "pipeline.html",
        name=name,
        execution=None,
        stored=stored,
        sources=_sources(stored.definition),
        stages=stages,
        live=any(b.status == "InProgress" for b in boxes.values()),
        history=history,
        page=page,
        more=more,
        controls=_controls(request, name),
        # Links into an execution's page from the graph need GetPipelineExecution.
        can_open=may(request, A.CODEPIPELINE_GET_PIPELINE_EXECUTION, name),
        can_log=may(request, A.CODEPIPELINE_LIST_ACTION_EXECUTIONS, name),
        variables=stored.definition.variables,
    )


def _controls(request: web.Request, name: str) -> dict[str, bool]:
    return {
        "approve": may(request, A.CODEPIPELINE_PUT_APPROVAL_RESULT, name),
        "retry": may(request, A.CODEPIPELINE_RETRY_STAGE_EXECUTION, name),
        "stop": may(request, A.CODEPIPELINE_STOP_PIPELINE_EXECUTION, name),
        "start": may(request, A.CODEPIPELINE_START_PIPELINE_EXECUTION, name),
    }


def _page_number(request: web.Request) -> int:
    try:
        return max(1, min(int(request.query.get("page", "1")), 10_000))
    except ValueError:
        return 1


# -- an execution --------------------------------------------------------------------------


async def execution(request: web.Request) -> web.StreamResponse:
    name = await reading(request, A.CODEPIPELINE_GET_PIPELINE_EXECUTION)
    execution_id = request.match_info["execution"]
    service = deps_of(request).pipelines
    found = await service.get_execution(execution_id, pipeline=name)
    stored = await service.get(name)
    definition = stored.definition
    stages: list[StageBox] = []
    details: dict[tuple[str, str], dict[str, Any]] = {}
    artifacts: dict[str, Path] = {}
    if await optional(request, A.CODEPIPELINE_LIST_ACTION_EXECUTIONS, name):
        for d in await service.action_executions(name, execution_id):
            details.setdefault((d["stageName"], d["actionName"]), d)  # newest first
        artifacts = await service.build_artifacts(execution_id)
    for stage in found["stages"]:
        box = StageBox(stage["name"], str(stage["status"]), execution_id)
        declared = next((s for s in definition.stages if s.name == stage["name"]), None)
        kinds = {a.name: a for a in declared.actions} if declared else {}
        for action in stage["actions"]:
            kind = kinds.get(action["name"])
            detail = details.get((stage["name"], action["name"]), {})
            summary = detail.get("output", {}).get("executionResult", {})
            box.runs.append(
                [
                    ActionBox(
                        action["name"],
                        kind.provider if kind else "",
                        str(kind.category) if kind else "",
                        str(action["status"]),
                        str(summary.get("externalExecutionSummary") or ""),
                        execution_id,
                        token=bool(
                            kind
                            and kind.category is Category.APPROVAL
                            and action["status"] == "InProgress"
                        ),
                    )
                ]
            )
        stages.append(box)
    return render(
        request,
        "pipeline_execution.html",
        name=name,
        execution=found,
        stages=stages,
        live=found["status"] in ("InProgress", "Stopping"),
        details=details,
        artifacts=sorted(artifacts),
        controls=_controls(request, name),
        can_open=True,
        can_log=bool(details),
    )


# -- an action's log and artifacts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogAt:
    name: str
    execution_id: str
    stage: str
    action: str
    path: Path
    done: bool
    status: str


async def _log(request: web.Request) -> LogAt:
    name = await reading(request, A.CODEPIPELINE_LIST_ACTION_EXECUTIONS)
    execution_id = request.match_info["execution"]
    stage, action = request.match_info["stage"], request.match_info["action"]
    service = deps_of(request).pipelines
    await service.get_execution(execution_id, pipeline=name)
    for d in await service.action_executions(name, execution_id):
        if d["stageName"] == stage and d["actionName"] == action and d.get("logPath"):
            path = service.engine.layout.absolute(str(d["logPath"]))
            status = str(d["status"])
            return LogAt(name, execution_id, stage, action, path, status in ACTION_DONE, status)
    raise ActionNotFound(f"Action {action} has not run in execution {execution_id}")


async def action_log(request: web.Request) -> web.StreamResponse:
    at = await _log(request)
    data, end = await read_log(at.path, 0)
    cut = len(data) > SHOWN_LOG
    text = data[-SHOWN_LOG:].decode("utf-8", "replace") if cut else data.decode("utf-8", "replace")
    url = log_url(at.name, at.execution_id, at.stage, at.action)
    return render(
        request,
        "pipeline_log.html",
        at=at,
        text=text,
        cut=cut,
        offset=end,
        url=url,
        execution_url=execution_url(at.name, at.execution_id),
    )


async def action_log_text(request: web.Request) -> web.StreamResponse:
    at = await _log(request)
    data, _ = await read_log(at.path, 0)
    filename = f"{at.stage}-{at.action}-{at.execution_id[:8]}.log"
    return web.Response(
        body=data,
        headers={
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        },
    )


async def action_log_events(request: web.Request) -> web.StreamResponse:
    """`text/event-stream`: the log's lines from `offset` (or Last-Event-ID) as they are
    written, each event's id the byte offset after it; `end` when the attempt has ended
    and everything is sent."""
    at = await _log(request)
    offset = _offset(request.headers.get("Last-Event-ID") or request.query.get("offset", "0"))
    service = deps_of(request).pipelines
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    done = at.done
    while True:
        data, _ = await read_log(at.path, offset)
        # Whole lines only while it runs: a line (and a UTF-8 character) is never split.
        if not done and b"\n" in data:
            data = data[: data.rindex(b"\n") + 1]
        elif not done:
            data = b""
        if data:
            offset += len(data)
            text = data.decode("utf-8", "replace").replace("\r", "")
            lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
            body = "".join(f"data: {line}\n" for line in lines)
            await response.write(f"id: {offset}\n{body}\n".encode())
        elif done:
            await response.write(b"event: end\ndata: \n\n")
            break
        else:
            await asyncio.sleep(STREAM_POLL)
            done = await _ended(service, at)
    await response.write_eof()
    return response


async def _ended(service: Any, at: LogAt) -> bool:
    for d in await service.action_executions(at.name, at.execution_id):
        if d["stageName"] == at.stage and d["actionName"] == at.action:
            return str(d["status"]) in ACTION_DONE
    return True


def _offset(value: str) -> int:
    try:
        return max(0, int(value))
    except ValueError:
        return 0


async def artifact(request: web.Request) -> web.StreamResponse:
    name = await reading(request, A.CODEPIPELINE_LIST_ACTION_EXECUTIONS)
    execution_id = request.match_info["execution"]
    artifact_name = request.match_info["artifact"]
    service = deps_of(request).pipelines
    await service.get_execution(execution_id, pipeline=name)
    path = (await service.build_artifacts(execution_id)).get(artifact_name)
    if path is None or not path.is_file():
        raise PipelineExecutionNotFound(f"No artifact {artifact_name}")
    filename = f"{artifact_name}.zip"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
