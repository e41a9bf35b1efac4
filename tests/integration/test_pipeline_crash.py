"""SIGKILL the server while pipeline executions change state (issue 14 §1.1): after each
restart the executions go on, and in the end every one has ended, no job is left
claimed, and every state change is in the outbox once, in an order that could happen.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline_support import (
    ENDED,
    build_action,
    create_pipeline,
    pipeline_server,
    seeded_repo,
    settle,
    source_stage,
    unique,
)
from tests.support import Git, Server, kill_server, run_sql

SLOW = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 0.6\n      - echo built\n"
FAST = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo done\n"
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED", "ABANDONED"}
KILLS = 4


@pytest.fixture
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory, "--pipeline-lease", "2")


def test_pipeline_state_changes_survive_kills(server: Server, git: Git, tmp_path: Path) -> None:
    repo = seeded_repo(server, git, tmp_path / "work")
    ship = build_action("Ship", configuration={"BuildSpec": FAST})
    deploy = {"name": "Deploy", "actions": [ship]}
    builds = [
        build_action("Slow", configuration={"BuildSpec": SLOW}),
        build_action("Fast", configuration={"BuildSpec": FAST}),
    ]
    pipeline = {
        "name": unique("crash"),
        "stages": [
            source_stage(repo),
            {"name": "Build", "actions": builds},
            deploy,
        ],
    }
    name = create_pipeline(server, tmp_path, pipeline)
    rng = random.Random(1414)
    for _ in range(KILLS):
        server.cli("pipeline", "start", name)
        time.sleep(rng.uniform(0.1, 2.5))  # anywhere from the source stage to the deploy
        kill_server(server)
        server.start()
    settle(server, name, lambda found: len(found) == KILLS and set(found) <= ENDED, 120)

    jobs = run_sql(
        server, "SELECT state FROM pipeline_jobs WHERE pipeline = :p", params={"p": name}
    )
    # Ended: "done", or "lost" (its runner died with the server; its action failed).
    assert jobs and not {state for (state,) in jobs} & {"queued", "running"}, jobs
    executions = dict(
        run_sql(
            server,
            "SELECT id, status FROM pipeline_executions WHERE pipeline = :p",
            params={"p": name},
        )
    )
    events = _events(server, name)
    for execution_id, status in executions.items():
        mine = [e for e in events if e["execution-id"] == execution_id]
        runs = [e["state"] for e in mine if e["type"] == "pipelineExecutionStateChanged"]
        assert runs[0] == "STARTED" and runs[-1] == _state(status), (execution_id, runs)
        _one_ending_each(mine, lambda e: e["type"] == "pipelineStageStateChanged", "stage")
        _one_ending_each(mine, lambda e: e["type"] == "pipelineActionStateChanged", "action")


def _events(server: Server, pipeline: str) -> list[dict[str, Any]]:
    rows = run_sql(
        server,
        "SELECT type, detail FROM events WHERE type LIKE 'pipeline%' ORDER BY seq",
    )
    found = []
    for kind, detail in rows:
        body = json.loads(detail) if isinstance(detail, str) else dict(detail)
        if body.get("pipeline") == pipeline:
            found.append({"type": kind, **body})
    return found


def _state(status: str) -> str:
    return {"Cancelled": "CANCELED"}.get(status, status.upper())


def _one_ending_each(events: list[dict[str, Any]], chosen: Any, key: str) -> None:
    """Per stage (attempt) or action: changes start before they end, and end once."""
    seen: dict[tuple[Any, ...], list[str]] = {}
    for event in filter(chosen, events):
        what = (event.get("stage"), event.get("action"), event.get("attempt"))
        seen.setdefault(what, []).append(str(event["state"]))
    for what, states in seen.items():
        endings = [s for s in states if s in TERMINAL]
        assert len(endings) <= 1 and (not endings or states[-1] in TERMINAL), (key, what, states)
        assert states.count("STARTED") <= 1, (key, what, states)
