"""Pipeline state changes as CodePipeline writes them to EventBridge (`source:
aws.codepipeline`), so rules and receivers written for AWS's pipeline events work here.

The three detail types are `CodePipeline Pipeline Execution State Change`, `... Stage
Execution State Change` and `... Action Execution State Change`; the detail is converted
from the event that `gitserver/pipelines/states.py` records (hyphenated keys, the
EventBridge `state` words, the pipeline's ARN as the resource).
"""

from __future__ import annotations

from typing import Any

from triggers.events import Event, EventType
from triggers.formats.context import PayloadContext

SOURCE = "aws.codepipeline"
DETAIL_TYPES = {
    EventType.PIPELINE_EXECUTION_STATE_CHANGED: "CodePipeline Pipeline Execution State Change",
    EventType.PIPELINE_STAGE_STATE_CHANGED: "CodePipeline Stage Execution State Change",
    EventType.PIPELINE_ACTION_STATE_CHANGED: "CodePipeline Action Execution State Change",
}
# Action states whose detail carries an `execution-result`.
_ENDED = {"SUCCEEDED", "FAILED", "ABANDONED", "CANCELED"}


def pipeline_arn(context: PayloadContext, pipeline: str) -> str:
    return f"arn:aws:codepipeline:{context.region}:{context.account_id}:{pipeline}"


def _common(d: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "pipeline": d.get("pipeline", ""),
        "execution-id": d.get("execution-id", ""),
        "state": d.get("state", ""),
        "version": float(d.get("version") or 1),
    }
    if d.get("start-time"):
        detail["start-time"] = d["start-time"]
    return detail


def _execution(d: dict[str, Any]) -> dict[str, Any]:
    detail = _common(d)
    trigger = d.get("trigger") or {}
    if trigger:
        detail["execution-trigger"] = {
            "trigger-type": trigger.get("triggerType", ""),
            "trigger-detail": trigger.get("triggerDetail", ""),
        }
    return detail


def _stage(d: dict[str, Any]) -> dict[str, Any]:
    detail = _common(d)
    detail["stage"] = d.get("stage", "")
    if d.get("attempt"):
        detail["pipeline-execution-attempt"] = float(d["attempt"])
    return detail


def _action(d: dict[str, Any], context: PayloadContext) -> dict[str, Any]:
    detail = _common(d)
    kind = d.get("type") or {}
    detail |= {
        "stage": d.get("stage", ""),
        "action": d.get("action", ""),
        "region": context.region,
        "type": {
            "owner": kind.get("owner", ""),
            "provider": kind.get("provider", ""),
            "category": kind.get("category", ""),
            "version": str(kind.get("version", "")),
        },
    }
    if detail["state"] in _ENDED:
        result: dict[str, Any] = {"external-execution-summary": d.get("summary") or ""}
        if detail["state"] == "FAILED":
            result["error-code"] = "JobFailed"
        detail["execution-result"] = result
    return detail


def pipeline_event(event: Event, context: PayloadContext) -> tuple[str, dict[str, Any]] | None:
    """(detail-type, detail) of a pipeline event, or None: not a pipeline event."""
    detail_type = DETAIL_TYPES.get(event.type)
    if detail_type is None:
        return None
    d = event.detail
    if event.type == EventType.PIPELINE_EXECUTION_STATE_CHANGED:
        return detail_type, _execution(d)
    if event.type == EventType.PIPELINE_STAGE_STATE_CHANGED:
        return detail_type, _stage(d)
    return detail_type, _action(d, context)
