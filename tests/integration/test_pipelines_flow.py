"""Pipelines: variables, artifacts, secrets, parallel actions, approvals, supersession,
retry and stop, and the events every change records (a webhook hears them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.pipeline_support import (
    approval_action,
    build_action,
    create_pipeline,
    finished,
    logs,
    pipeline_server,
    push_files,
    seeded_repo,
    source_stage,
    statuses,
    unique,
    wait_action,
    wait_statuses,
)
from tests.receivers import Receiver
from tests.support import Git, Server, run_sql, wait_until

MAKE = """version: 0.2
env:
  secrets-manager:
    TOKEN: deploy-token
  exported-variables:
    - VERSION
phases:
  build:
    commands:
      - echo "token=$TOKEN"
      - export VERSION=1.2.3
      - mkdir -p out && echo built > out/a.txt
      - sleep 1.5
artifacts:
  files:
    - out/**/*
"""
CHECK = """version: 0.2
phases:
  build:
    commands:
      - test "$V" = 1.2.3
      - cat out/a.txt
"""
SLOW = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1.5\n"
WAIT = {"TimeoutInMinutes": "10"}  # decided by the test; without it: 3 s (SERVER_ARGS)
ECHO = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


def _times(server: Server, execution_id: str, action: str) -> tuple[datetime, datetime]:
    [(start, end)] = run_sql(
        server,
        "SELECT started_at, ended_at FROM pipeline_action_executions "
        "WHERE execution_id = :e AND action = :a",
        params={"e": execution_id, "a": action},
    )
    return datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))


def test_variables_artifacts_secrets_and_parallel_actions(
    server: Server, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    repo = seeded_repo(server, git, work)
    server.cli("secret", "put", "deploy-token", "--value", "hunter2-secret")
    assert "deploy-token" in server.cli("secret", "list")["secrets"]
    env = json.dumps([{"name": "V", "value": "#{BuildVars.VERSION}"}])
    pipeline = {
        "name": unique("p"),
        "stages": [
            source_stage(repo),
            {
                "name": "Build",
                "actions": [
                    build_action(
                        "Make",
                        configuration={"BuildSpec": MAKE},
                        outputArtifacts=[{"name": "BuildOut"}],
                        namespace="BuildVars",
                    ),
                    build_action("Slow", configuration={"BuildSpec": SLOW}),
                ],
            },
            {
                "name": "Use",
                "actions": [
                    build_action(
                        "Check",
                        inputArtifacts=[{"name": "BuildOut"}],
                        configuration={"BuildSpec": CHECK, "EnvironmentVariables": env},
                    )
                ],
            },
        ],
    }
    name = create_pipeline(server, tmp_path, pipeline)
    started = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    [execution] = wait_statuses(server, name, finished())
    assert execution["pipelineExecutionId"] == started
    assert execution["status"] == "Succeeded", execution
    make_log = logs(server, started, "Make")
    assert "token=***" in make_log and "hunter2-secret" not in make_log
    assert "built" in logs(server, started, "Check")
    make, slow = _times(server, started, "Make"), _times(server, started, "Slow")
    assert make[0] < slow[1] and slow[0] < make[1], "equal runOrder runs in parallel"


def test_approvals_approve_reject_and_time_out(server: Server, git: Git, tmp_path: Path) -> None:
    work = tmp_path / "work"
    repo = seeded_repo(server, git, work)
    pipeline = {
        "name": unique("p"),
        "stages": [
            source_stage(repo),
            {"name": "Gate", "actions": [approval_action(configuration=WAIT)]},
            {"name": "Build", "actions": [build_action(configuration={"BuildSpec": ECHO})]},
        ],
    }
    name = create_pipeline(server, tmp_path, pipeline)
    first = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    assert wait_action(server, name, "Approve", "InProgress") == first
    decided = server.cli("pipeline", "approve", first, "Gate", "--comment", "ship it")
    assert decided["actionName"] == "Approve" and decided["status"] == "Approved"
    wait_statuses(server, name, finished(1))
    second = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    wait_action(server, name, "Approve", "InProgress")
    server.cli("pipeline", "approve", second, "Gate", "--reject", "--comment", "no")
    again = server.cli("pipeline", "approve", second, "Gate", check=False)
    assert again.returncode != 0 and "already completed" in again.stderr
    found = wait_statuses(server, name, finished(2))
    assert [e["status"] for e in found] == ["Failed", "Succeeded"]
    assert [e["stages"][1]["status"] for e in found] == ["Failed", "Succeeded"]
    pipeline["name"] = unique("p")
    pipeline["stages"][1]["actions"][0].pop("configuration")  # the server's 3 s timeout
    name = create_pipeline(server, tmp_path, pipeline)
    server.cli("pipeline", "start", name)
    [timed_out] = wait_statuses(server, name, finished(), timeout=20)
    assert timed_out["status"] == "Failed"
    assert timed_out["stages"][1]["actions"] == [{"name": "Approve", "status": "Failed"}]


def test_a_newer_execution_supersedes_one_waiting_at_a_stage(
    server: Server, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    repo = seeded_repo(server, git, work)
    pipeline = {
        "name": unique("p"),
        "stages": [
            source_stage(repo),
            {"name": "Gate", "actions": [approval_action(configuration=WAIT)]},
            {"name": "Build", "actions": [build_action(configuration={"BuildSpec": ECHO})]},
        ],
    }
    name = create_pipeline(server, tmp_path, pipeline)
    first = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    wait_action(server, name, "Approve", "InProgress")
    push_files(git, server, repo, work, {"a": "1"})
    wait_until(lambda: len(statuses(server, name)) == 2, 20)
    wait_action(server, name, "Source", "Succeeded")  # the second waits in front of Gate
    push_files(git, server, repo, work, {"b": "2"})
    wait_statuses(server, name, lambda s: len(s) == 3 and s[1] == "Superseded")
    wait_action(server, name, "Source", "Succeeded")
    server.cli("pipeline", "approve", first, "Gate")
    wait_action(server, name, "Approve", "InProgress")  # the newest entered the stage
    found = wait_statuses(server, name, lambda s: s[2] == "Succeeded")
    assert [e["status"] for e in found] == ["InProgress", "Superseded", "Succeeded"]


def test_retry_failed_actions_and_stop_with_abandon(
    server: Server, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    repo = seeded_repo(server, git, work)
    flag = unique("flag")
    server.cli("secret", "put", flag, "--value", "no")
    check = (
        "version: 0.2\nenv:\n  secrets-manager:\n    FLAG: " + flag + "\n"
        'phases:\n  build:\n    commands:\n      - test "$FLAG" = ok\n'
    )
    pipeline = {
        "name": unique("p"),
        "stages": [
            source_stage(repo),
            {"name": "Build", "actions": [build_action(configuration={"BuildSpec": check})]},
        ],
    }
    name = create_pipeline(server, tmp_path, pipeline)
    execution = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    assert wait_statuses(server, name, finished())[0]["status"] == "Failed"
    server.cli("secret", "put", flag, "--value", "ok")
    server.cli("pipeline", "retry", execution, "Build")
    [done] = wait_statuses(server, name, lambda s: s == ["Succeeded"])
    assert done["pipelineExecutionId"] == execution

    slow = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"
    pipeline["name"] = unique("p")
    pipeline["stages"][1]["actions"][0]["configuration"] = {"BuildSpec": slow}
    name = create_pipeline(server, tmp_path, pipeline)
    execution = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    wait_action(server, name, "Build", "InProgress")
    server.cli("pipeline", "stop", execution, "--abandon", "--reason", "enough")
    [stopped] = wait_statuses(server, name, finished(), timeout=15)
    assert stopped["status"] == "Stopped"
    assert stopped["stages"][1] == {
        "name": "Build",
        "status": "Stopped",
        "actions": [{"name": "Build", "status": "Abandoned"}],
    }


def test_state_changes_are_events_a_webhook_hears(server: Server, git: Git, tmp_path: Path) -> None:
    work = tmp_path / "work"
    repo = seeded_repo(server, git, work)
    receiver = Receiver().start()
    try:
        server.cli(
            "webhook", "create", "--repo", repo, "--url", receiver.url, "--events", "pipeline"
        )
        pipeline = {
            "name": unique("p"),
            "stages": [
                source_stage(repo),
                {"name": "Build", "actions": [build_action(configuration={"BuildSpec": ECHO})]},
            ],
        }
        name = create_pipeline(server, tmp_path, pipeline)
        push_files(git, server, repo, work, {"c": "3"})
        wait_statuses(server, name, finished())
        events = server.events(repo)
        kinds = [e["type"] for e in events if e["type"].startswith("pipeline")]
        assert kinds.count("pipelineExecutionStateChanged") == 2
        assert kinds.count("pipelineStageStateChanged") == 4
        assert kinds.count("pipelineActionStateChanged") == 4
        got = wait_until(
            lambda: [
                r.json
                for r in receiver.of("pipelineExecutionStateChanged")
                if r.json["detail"]["state"] == "SUCCEEDED"
            ],
            20,
        )
        assert got and got[0]["detail"]["pipeline"] == name
    finally:
        receiver.stop()
