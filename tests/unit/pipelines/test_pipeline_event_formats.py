"""Pipeline state-change events pass through every delivery format without breaking it:
`native` carries them, the formats that have no such event skip them (None)."""

from __future__ import annotations

import asyncio

import pytest

from triggers.dispatcher import ALL_CONVERTERS
from triggers.events import Event, EventType
from triggers.formats import PayloadContext

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
