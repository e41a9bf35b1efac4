"""Pull-request triggers (V2 `gitConfiguration.pullRequest`): a pull request's creation
and a push to its source run the pipeline on the source commit with CodeBuild's PR
variables (`CODEBUILD_SOURCE_VERSION=pr/N`, CODEBUILD_WEBHOOK_*); closing it runs it only
when CLOSED is listed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.pipeline_support import (
    build_action,
    create_pipeline,
    executions,
    finished,
    logs,
    pipeline_server,
    push_files,
    source_stage,
    statuses,
    unique,
    wait_statuses,
)
from tests.support import Git, Server

PRINT = """version: 0.2
phases:
  build:
    commands:
      - echo "version=$CODEBUILD_SOURCE_VERSION"
      - echo "resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION"
      - echo "event=$CODEBUILD_WEBHOOK_EVENT"
      - echo "head=$CODEBUILD_WEBHOOK_HEAD_REF"
      - echo "base=$CODEBUILD_WEBHOOK_BASE_REF"
      - echo "trigger=$CODEBUILD_WEBHOOK_TRIGGER"
      - echo "merge=$CODEBUILD_WEBHOOK_MERGE_COMMIT"
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


@pytest.fixture(scope="module")
def cc(server: Server) -> BaseClient:
    return client_for(server, "prtrigger", admin=True)


def _pipeline(server: Server, tmp_path: Path, repo: str, events: list[str]) -> str:
    trigger = {
        "providerType": "CodeStarSourceConnection",
        "gitConfiguration": {
            "sourceActionName": "Source",
            "pullRequest": [{"events": events, "branches": {"includes": ["main"]}}],
        },
    }
    return create_pipeline(
        server,
        tmp_path,
        {
            "name": unique("p"),
            "pipelineType": "V2",
            "triggers": [trigger],
            "stages": [source_stage(repo), {"name": "Build", "actions": [build_action()]}],
        },
    )


def _variables(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in text.splitlines()
        if "=" in line and not line.startswith("[Container]")
    )


def _setup(server: Server, git: Git, tmp_path: Path) -> tuple[str, Path, str]:
    repo = unique("pipe")
    server.cli("repo", "create", repo)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": PRINT})
    head = push_files(git, server, repo, work, {"feature.txt": "1"}, branch="feature")
    return repo, work, head


def _open(cc: BaseClient, repo: str) -> str:
    return str(
        cc.create_pull_request(
            title="PR", targets=[{"repositoryName": repo, "sourceReference": "feature"}]
        )["pullRequest"]["pullRequestId"]
    )


def _by_revision(server: Server, name: str) -> dict[str, dict[str, Any]]:
    return {e["sourceRevision"]: e for e in executions(server, name)}


def test_open_and_update_run_with_the_pull_requests_variables(
    server: Server, git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    repo, work, head = _setup(server, git, tmp_path)
    name = _pipeline(server, tmp_path, repo, ["OPEN", "UPDATED"])
    number = _open(cc, repo)
    [opened] = wait_statuses(server, name, finished(1))
    assert opened["status"] == "Succeeded" and opened["sourceRevision"] == head, opened
    seen = _variables(logs(server, opened["pipelineExecutionId"], "Build"))
    assert seen == {
        "version": f"pr/{number}",
        "resolved": head,
        "event": "PULL_REQUEST_CREATED",
        "head": "refs/heads/feature",
        "base": "refs/heads/main",
        "trigger": f"pr/{number}",
        "merge": "",
    }, seen

    update = push_files(git, server, repo, work, {"feature.txt": "2"}, branch="feature")
    wait_statuses(server, name, finished(2))
    updated = _by_revision(server, name)[update]
    assert updated["status"] == "Succeeded", updated
    seen = _variables(logs(server, updated["pipelineExecutionId"], "Build"))
    assert seen["version"] == f"pr/{number}" and seen["resolved"] == update, seen
    assert seen["event"] == "PULL_REQUEST_UPDATED", seen

    # Closing: CLOSED is not listed, so nothing runs; nor does a push to main.
    cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="CLOSED")
    push_files(git, server, repo, work, {"main.txt": "1"}, branch="main")
    time.sleep(3)  # ten of the server's pipeline rounds
    assert len(statuses(server, name)) == 2, executions(server, name)


def test_closed_runs_when_listed_and_a_merge_closes_too(
    server: Server, git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    repo, _, head = _setup(server, git, tmp_path)
    name = _pipeline(server, tmp_path, repo, ["CLOSED"])
    number = _open(cc, repo)
    time.sleep(2)
    assert statuses(server, name) == [], "OPEN is not listed"
    cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="CLOSED")
    [closed] = wait_statuses(server, name, finished(1))
    assert closed["status"] == "Succeeded" and closed["sourceRevision"] == head, closed
    seen = _variables(logs(server, closed["pipelineExecutionId"], "Build"))
    assert seen["event"] == "PULL_REQUEST_CLOSED" and seen["version"] == f"pr/{number}", seen

    other = _open(cc, repo)  # the same source, merged this time
    cc.merge_pull_request_by_fast_forward(pullRequestId=other, repositoryName=repo)
    wait_statuses(server, name, finished(2))
    merged = executions(server, name)[0]
    seen = _variables(logs(server, merged["pipelineExecutionId"], "Build"))
    assert seen["event"] == "PULL_REQUEST_MERGED" and seen["version"] == f"pr/{other}", seen
    assert seen["merge"] == head, seen  # a fast-forward merge commit is the source commit
