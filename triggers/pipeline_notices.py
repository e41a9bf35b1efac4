"""What an email or chat notification says about a pipeline event: one sentence, the
facts, and the execution's page (where a waiting approval is approved or rejected)."""

from __future__ import annotations

from typing import Any

from gitserver.weburls import execution_page
from triggers.events import Event, EventType

# How each EventBridge `state` reads after a subject.
_WORDS = {
    "STARTED": "started",
    "RESUMED": "resumed",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "STOPPING": "is stopping",
    "STOPPED": "was stopped",
    "SUPERSEDED": "was superseded",
    "CANCELED": "was canceled",
    "ABANDONED": "was abandoned",
}


def is_pipeline_event(event: Event) -> bool:
    return str(event.type).startswith("pipeline")


def _is_approval(detail: dict[str, Any]) -> bool:
    kind = detail.get("type") or {}
    return isinstance(kind, dict) and kind.get("category") == "Approval"


def summary(event: Event) -> str:
    """`Pipeline deploy execution 1a2b3c4d failed`, `Approval needed: ...`."""
    d = event.detail
    pipeline, state = d.get("pipeline", ""), str(d.get("state", ""))
    word = _WORDS.get(state, state.lower())
    if event.type == EventType.PIPELINE_EXECUTION_STATE_CHANGED:
        return f"Pipeline {pipeline} execution {str(d.get('execution-id', ''))[:8]} {word}"
    where = f"stage {d.get('stage', '')} of pipeline {pipeline}"
    if event.type == EventType.PIPELINE_STAGE_STATE_CHANGED:
        return f"The {where} {word}"
    action = d.get("action", "")
    if _is_approval(d):
        if state == "STARTED":
            return f"Approval needed: {action} in {where}"
        if state == "SUCCEEDED":
            return f"{event.actor} approved {action} in {where}"
        if state == "FAILED":
            return f"Approval {action} in {where} was not given: {d.get('summary') or 'failed'}"
    return f"Action {action} in {where} {word}"


def facts(event: Event, full: bool) -> list[tuple[str, str]]:
    """What the notification lists: where, what, who, when; an approval's request; with
    FULL detail the summary and the source commits too."""
    d = event.detail
    rows = [("Pipeline", str(d.get("pipeline", ""))), ("Execution", str(d.get("execution-id")))]
    for key, label in (("stage", "Stage"), ("action", "Action"), ("state", "State")):
        if d.get(key):
            rows.append((label, str(d[key])))
    rows += [("By", event.actor), ("When", event.envelope()["time"])]
    request = d.get("approval") or {}
    for key, label in (
        ("customData", "Request"),
        ("externalEntityLink", "Review"),
        ("expires", "Expires"),
    ):
        if request.get(key):
            rows.append((label, str(request[key])))
    if full:
        if d.get("summary"):
            rows.append(("Summary", str(d["summary"])))
        if event.repository:
            rows.append(("Repository", event.repository))
        for revision in d.get("sourceRevisions") or ():
            rows.append(
                (f"Source {revision.get('actionName', '')}", revision.get("revisionId", ""))
            )
    return rows


def link(event: Event, base_url: str) -> str:
    """The execution's page."""
    d = event.detail
    return execution_page(base_url, str(d.get("pipeline", "")), str(d.get("execution-id", "")))
