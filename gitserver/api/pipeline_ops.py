"""The CodePipeline API (`CodePipeline_20150709.<Operation>`, signed for `codepipeline`).

Each operation is authorized by the dispatcher, before any lookup, with its
`codepipeline:<Operation>` action on the pipeline's ARN
(`arn:aws:codepipeline:REGION:ACCOUNT:NAME`), or on `*` for ListPipelines, as AWS
decides them, so an unknown pipeline and a forbidden one look alike. Handlers call
`services.pipelines` (gitserver/pipelines/service.py) and return its values in
botocore's output shapes; its errors carry CodePipeline's exception names.

What AWS has and this server does not: tags (CreatePipeline's `tags` are accepted and not
kept), `clientRequestToken` idempotency, source revisions other than `COMMIT_ID`, and
older pipeline versions (GetPipeline's `version` must be the current one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gitserver.access import Target
from gitserver.api.errors import ApiError
from gitserver.api.model import GENERIC_VALIDATION
from gitserver.api.ops.paging import offset_of, page
from gitserver.api.registry import (
    Call,
    Operation,
    Params,
    Result,
    Targets,
    build_table,
    configured,
    on_any,
)
from gitserver.pipelines import definitions
from gitserver.pipelines.executions import SourceRevision, Trigger
from gitserver.pipelines.service import Pipelines, pipeline_arn
from gitserver.pipelines.store import StoredPipeline
from gitserver.store.repositories import Endpoints

TARGET_PREFIX = "CodePipeline_20150709"
SIGNING_NAME = "codepipeline"
MODEL_NAME = "codepipeline"
INVALID_TOKEN = "InvalidNextTokenException"
PLACEHOLDER_ROLE = "GitServerPipelineRole"
"""GetPipeline's `roleArn` for a definition that has none (a pipeline made with the
CLI): `arn:aws:iam::ACCOUNT:role/GitServerPipelineRole`. botocore's model requires the
member; this server runs actions as itself and reads no role."""
DEFAULT_PAGE = 100
"""AWS's default `maxResults` for ListPipelines and ListPipelineExecutions."""


def _pipelines(call: Call) -> Pipelines:
    return configured(call.services.pipelines, "Pipelines")


def on_pipeline(member: str) -> Targets:
    """The pipeline named by `member`."""

    def targets(endpoints: Endpoints, params: Params) -> Sequence[Target]:
        name = params.get(member)
        if not name:
            raise ApiError(GENERIC_VALIDATION, f"{member} is required")
        return [Target(pipeline_arn(endpoints.region, endpoints.account_id, name))]

    return targets


def _op(name: str, handler: Any, targets: Targets) -> Operation:
    return Operation(name, handler, targets, service="codepipeline")


def _wire(call: Call, stored: StoredPipeline) -> dict[str, Any]:
    wire = stored.wire()
    if not wire.get("roleArn"):
        account = call.services.endpoints.account_id
        wire["roleArn"] = f"arn:aws:iam::{account}:role/{PLACEHOLDER_ROLE}"
    return wire


def _size(params: Params, default: int = DEFAULT_PAGE) -> int:
    return int(params.get("maxResults") or default)


# -- definitions -----------------------------------------------------------------------


async def create_pipeline(call: Call, params: Params) -> Result:
    stored = await _pipelines(call).create(definitions.from_wire(params["pipeline"]))
    return {"pipeline": _wire(call, stored)}


async def get_pipeline(call: Call, params: Params) -> Result:
    name = params["name"]
    stored = await _pipelines(call).get(name)
    version = params.get("version")
    if version is not None and version != stored.version:
        raise ApiError(
            "PipelineVersionNotFoundException",
            f"Pipeline {name} has no version {version} (its version is {stored.version})",
        )
    endpoints = call.services.endpoints
    return {
        "pipeline": _wire(call, stored),
        "metadata": {
            "pipelineArn": pipeline_arn(endpoints.region, endpoints.account_id, name),
            "created": stored.created,
            "updated": stored.updated,
        },
    }


async def update_pipeline(call: Call, params: Params) -> Result:
    stored = await _pipelines(call).update(definitions.from_wire(params["pipeline"]))
    return {"pipeline": _wire(call, stored)}


async def delete_pipeline(call: Call, params: Params) -> Result:
    # AWS answers an unknown name with success too (the model has no not-found error).
    await _pipelines(call).delete(params["name"])
    return {}


async def list_pipelines(call: Call, params: Params) -> Result:
    summaries = await _pipelines(call).list_pipelines()
    chunk, token = page(
        summaries, params.get("nextToken"), _size(params), "ListPipelines", INVALID_TOKEN
    )
    return {
        "pipelines": [
            {
                "name": s.name,
                "version": s.version,
                "pipelineType": s.pipeline_type,
                "executionMode": s.execution_mode,
                "created": s.created,
                "updated": s.updated,
            }
            for s in chunk
        ],
        "nextToken": token,
    }


# -- executions ------------------------------------------------------------------------


def _revisions(params: Params) -> dict[str, SourceRevision] | None:
    given = params.get("sourceRevisions")
    if not given:
        return None
    found: dict[str, SourceRevision] = {}
    for item in given:
        if item["revisionType"] != "COMMIT_ID":
            raise ApiError(
                GENERIC_VALIDATION,
                f"sourceRevisions: revisionType {item['revisionType']} is not supported "
                "by this server (only COMMIT_ID)",
            )
        found[item["actionName"]] = SourceRevision(commit_id=item["revisionValue"])
    return found


async def start_pipeline_execution(call: Call, params: Params) -> Result:
    variables = {v["name"]: v["value"] for v in params.get("variables", [])}
    execution_id = await _pipelines(call).start_execution(
        params["name"],
        variables=variables or None,
        trigger=Trigger("StartPipelineExecution", call.principal.arn, call.actor),
        revisions=_revisions(params),
    )
    return {"pipelineExecutionId": execution_id}


async def _execution(call: Call, pipeline: str, execution_id: str) -> dict[str, Any]:
    """The execution, of that pipeline (PipelineNotFound first, as AWS answers)."""
    pipelines = _pipelines(call)
    await pipelines.get(pipeline)
    return await pipelines.get_execution(execution_id, pipeline)


async def get_pipeline_execution(call: Call, params: Params) -> Result:
    found = await _execution(call, params["pipelineName"], params["pipelineExecutionId"])
    return {"pipelineExecution": found}


def _succeeded_in(execution: dict[str, Any], stage: str) -> bool:
    return any(s["name"] == stage and s["status"] == "Succeeded" for s in execution["stages"])


async def list_pipeline_executions(call: Call, params: Params) -> Result:
    scope = "ListPipelineExecutions"
    token, size = params.get("nextToken"), _size(params)
    stage = params.get("filter", {}).get("succeededInStage", {}).get("stageName")
    # Read only as far as this page (and one more, to know whether there is a next).
    limit = 1_000_000 if stage else offset_of(token, scope, INVALID_TOKEN) + size + 1
    found = await _pipelines(call).list_executions(params["pipelineName"], limit)
    if stage:
        found = [e for e in found if _succeeded_in(e, stage)]
    chunk, next_token = page(found, token, size, scope, INVALID_TOKEN)
    return {"pipelineExecutionSummaries": list(chunk), "nextToken": next_token}


async def get_pipeline_state(call: Call, params: Params) -> Result:
    pipelines = _pipelines(call)
    stored = await pipelines.get(params["name"])
    state = await pipelines.state(params["name"])
    return {**state, "created": stored.created, "updated": stored.updated}


async def list_action_executions(call: Call, params: Params) -> Result:
    name = params["pipelineName"]
    execution_id = params.get("filter", {}).get("pipelineExecutionId")
    if execution_id is not None:
        await _execution(call, name, execution_id)
    found = await _pipelines(call).action_executions(name, execution_id)
    chunk, token = page(
        found, params.get("nextToken"), _size(params), "ListActionExecutions", INVALID_TOKEN
    )
    return {"actionExecutionDetails": list(chunk), "nextToken": token}


async def put_approval_result(call: Call, params: Params) -> Result:
    """The approval waiting in the stage's latest execution, if `token` is its token."""
    name, stage = params["pipelineName"], params["stageName"]
    pipelines = _pipelines(call)
    state = await pipelines.state(name)
    entry = next((s for s in state["stageStates"] if s["stageName"] == stage), None)
    if entry is None:
        raise ApiError("StageNotFoundException", f"Stage {stage} does not exist in {name}")
    latest = entry.get("latestExecution")
    if latest is None:
        raise ApiError("InvalidApprovalTokenException", "The approval token is not valid")
    result = params["result"]
    await pipelines.decide_approval(
        latest["pipelineExecutionId"],
        stage,
        params["actionName"],
        approved=result["status"] == "Approved",
        summary=result["summary"],
        actor=call.actor,
        token=params["token"],
    )
    return {"approvedAt": datetime.now(UTC)}


async def retry_stage_execution(call: Call, params: Params) -> Result:
    execution_id = params["pipelineExecutionId"]
    await _execution(call, params["pipelineName"], execution_id)
    await _pipelines(call).retry_stage(execution_id, params["stageName"], params["retryMode"])
    return {"pipelineExecutionId": execution_id}


async def stop_pipeline_execution(call: Call, params: Params) -> Result:
    execution_id = params["pipelineExecutionId"]
    await _execution(call, params["pipelineName"], execution_id)
    await _pipelines(call).stop(
        execution_id,
        abandon=bool(params.get("abandon", False)),
        reason=params.get("reason", ""),
        actor=call.actor,
    )
    return {"pipelineExecutionId": execution_id}


def _declared(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    """The pipeline a Create/UpdatePipeline declares (`pipeline.name`)."""
    return on_pipeline("name")(endpoints, params.get("pipeline") or {})


OPERATIONS = [
    _op("CreatePipeline", create_pipeline, _declared),
    _op("GetPipeline", get_pipeline, on_pipeline("name")),
    _op("UpdatePipeline", update_pipeline, _declared),
    _op("DeletePipeline", delete_pipeline, on_pipeline("name")),
    _op("ListPipelines", list_pipelines, on_any),
    _op("StartPipelineExecution", start_pipeline_execution, on_pipeline("name")),
    _op("GetPipelineExecution", get_pipeline_execution, on_pipeline("pipelineName")),
    _op("ListPipelineExecutions", list_pipeline_executions, on_pipeline("pipelineName")),
    _op("GetPipelineState", get_pipeline_state, on_pipeline("name")),
    _op("PutApprovalResult", put_approval_result, on_pipeline("pipelineName")),
    _op("RetryStageExecution", retry_stage_execution, on_pipeline("pipelineName")),
    _op("StopPipelineExecution", stop_pipeline_execution, on_pipeline("pipelineName")),
    _op("ListActionExecutions", list_action_executions, on_pipeline("pipelineName")),
]


def pipeline_operation_table() -> dict[str, Operation]:
    """The CodePipeline operations by name."""
    return build_table(OPERATIONS)
