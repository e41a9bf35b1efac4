"""Pipeline state-change events pass through every delivery format without breaking it:
`native` carries them, `eventbridge` as CodePipeline's own events, email and chat as a
sentence; GitHub's and CodeCommit's formats have no such event and skip them (None).
Which notification rules hear which of them (CodeStar's pipeline event type ids)."""

from __future__ import annotations

import asyncio

import pytest

from triggers import eventids
from triggers.events import Event, EventType
from triggers.formats import PayloadContext
from triggers.rendering import ALL_CONVERTERS

PIPELINE_EVENTS = [t for t in EventType if t.startswith("pipeline")]


async def _no_commits(*_: object) -> list[object]:
    return []


@pytest.mark.parametrize("kind", PIPELINE_EVENTS, ids=str)
@pytest.mark.parametrize("fmt", sorted(ALL_CONVERTERS))
def test_every_format_takes_pipeline_events(kind: EventType, fmt: str) -> None:
    event = Event(
        kind,
        "repo",
        "codepipeline",
        {"pipeline": "p", "execution-id": "e", "state": "STARTED", "status": "InProgress"},
        repository_id="r",
    )
    context = PayloadContext("http://x", "us-east-1", "000000000000", None, _no_commits)
    payload = asyncio.run(ALL_CONVERTERS[fmt](event, context))
    if fmt == "native":
        assert payload is not None and payload.body["detail"]["pipeline"] == "p"
    elif fmt == "eventbridge":
        assert payload is not None and payload.body["source"] == "aws.codepipeline"
        assert payload.body["detail-type"].startswith("CodePipeline ")
        assert payload.body["resources"] == ["arn:aws:codepipeline:us-east-1:000000000000:p"]
    elif fmt in ("email", "slack"):
        assert payload is not None
    else:
        assert payload is None


def _action(state: str, category: str) -> Event:
    detail = {"pipeline": "p", "execution-id": "e", "state": state, "type": {"category": category}}
    return Event(EventType.PIPELINE_ACTION_STATE_CHANGED, "repo", "ann", detail)


@pytest.mark.parametrize(
    ("type_id", "event", "heard"),
    [
        ("codepipeline-pipeline-manual-approval-needed", _action("STARTED", "Approval"), True),
        ("codepipeline-pipeline-manual-approval-needed", _action("STARTED", "Build"), False),
        ("codepipeline-pipeline-manual-approval-needed", _action("SUCCEEDED", "Approval"), False),
        ("codepipeline-pipeline-manual-approval-succeeded", _action("SUCCEEDED", "Approval"), True),
        ("codepipeline-pipeline-action-execution-started", _action("STARTED", "Build"), True),
        ("codepipeline-pipeline-action-execution-canceled", _action("ABANDONED", "Build"), True),
        ("codepipeline-pipeline-action-execution-failed", _action("SUCCEEDED", "Build"), False),
        ("codepipeline-pipeline-pipeline-execution-failed", _action("FAILED", "Build"), False),
    ],
)
def test_pipeline_event_type_ids(type_id: str, event: Event, heard: bool) -> None:
    assert eventids.hears([type_id], event) is heard


def test_a_pipeline_rule_hears_states_not_whole_types() -> None:
    def execution(state: str) -> Event:
        detail = {"pipeline": "p", "execution-id": "e", "state": state}
        return Event(EventType.PIPELINE_EXECUTION_STATE_CHANGED, "repo", "ann", detail)

    ids = ["codepipeline-pipeline-pipeline-execution-canceled"]
    assert [eventids.hears(ids, execution(s)) for s in ("STOPPED", "CANCELED", "STARTED")] == [
        True,
        True,
        False,
    ]
    assert eventids.event_types(ids) == ["pipelineExecutionStateChanged"]
