"""Executions report commit statuses: pending when they start, success or failure when
they end, under the pipeline's name with a link to the execution's page; a repository
that requires the pipeline's context merges a pull request only once it is green there,
and merge when green merges when it goes green."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.pipeline_support import (
    approval_action,
    build_action,
    create_pipeline,
    finished,
    pipeline_server,
    push_files,
    source_stage,
    unique,
    wait_action,
    wait_statuses,
)
from tests.support import Git, Server, wait_until

GOOD = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1\n      - echo ok\n"
BAD = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo broken\n      - exit 3\n"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


@pytest.fixture(scope="module")
def cc(server: Server) -> BaseClient:
    return client_for(server, "statuses", admin=True)


def _repo(server: Server) -> str:
    name = unique("pipe")
    server.cli("repo", "create", name)
    return name


def _listed(server: Server, repo: str, commit: str) -> dict[str, Any]:
    return dict(server.cli("status", "list", "--repo", repo, "--commit", commit))


def _status(server: Server, repo: str, commit: str, context: str) -> dict[str, Any] | None:
    found = [s for s in _listed(server, repo, commit)["statuses"] if s["context"] == context]
    return found[0] if found else None


def _wait_state(
    server: Server, repo: str, commit: str, context: str, state: str, timeout: float = 30
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = _status(server, repo, commit, context)
        return found if found is not None and found["state"] == state else None

    found = wait_until(check, timeout, 0.2)
    assert found, (
        f"{context} on {commit} never became {state}: {_status(server, repo, commit, context)}"
    )
    return dict(found)


def _history(server: Server, repo: str, commit: str) -> list[tuple[str, str]]:
    """(state, description) of every status change on the commit, oldest first."""
    return [
        (e["detail"]["state"], e["detail"]["description"])
        for e in server.events(repo)
        if e["type"] == "commitStatusChanged" and e["detail"]["commitId"] == commit
    ]


GATE = {"name": "Gate", "actions": [approval_action(configuration={"TimeoutInMinutes": "10"})]}
BUILD = {"name": "Build", "actions": [build_action()]}


def _pipeline(
    server: Server,
    tmp_path: Path,
    repo: str,
    *stages: dict[str, Any],
    **extra: Any,
) -> str:
    return create_pipeline(
        server,
        tmp_path,
        {"name": unique("p"), "stages": [source_stage(repo), *(stages or [BUILD])], **extra},
    )


def _execution_of(status: dict[str, Any]) -> str:
    return str(status["targetUrl"]).rsplit("/", 1)[1]


PR_TRIGGER = {
    "pipelineType": "V2",
    "triggers": [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "pullRequest": [{"events": ["OPEN", "UPDATED"]}],
            },
        }
    ],
}


def test_a_push_sets_pending_then_success_and_a_failing_build_failure(
    server: Server, git: Git, tmp_path: Path
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": GOOD})
    name = _pipeline(server, tmp_path, repo)
    commit = push_files(git, server, repo, work, {"a": "1"})
    [execution] = wait_statuses(server, name, finished())
    assert execution["status"] == "Succeeded", execution
    done = _wait_state(server, repo, commit, name, "success", timeout=5)
    page = f"{server.base_url}/pipelines/{name}/executions/{execution['pipelineExecutionId']}"
    assert done["targetUrl"] == page, done
    assert done["description"].startswith("Succeeded in "), done
    assert done["creator"] == "codepipeline"
    history = _history(server, repo, commit)
    assert history[0] == ("pending", "Running") and len(history) == 2, history
    assert _listed(server, repo, commit)["state"] == "success"

    broken = push_files(git, server, repo, work, {"buildspec.yml": BAD})
    failed = _wait_state(server, repo, broken, name, "failure")
    assert failed["description"] == "Failed in stage Build", failed
    assert [s for s, _ in _history(server, repo, broken)] == ["pending", "failure"]
    assert _status(server, repo, commit, name)["state"] == "success"  # type: ignore[index]


@pytest.mark.database  # the status is written under the pipeline's and repository's locks
def test_stopped_fails_and_superseded_is_an_error_on_its_commit(
    server: Server, git: Git, tmp_path: Path
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": GOOD})
    name = _pipeline(server, tmp_path, repo, GATE, BUILD)
    # The first waits for its approval in Gate, the second in front of Gate; the third
    # arrives there and supersedes the second.
    first = push_files(git, server, repo, work, {"a": "1"})
    running = _wait_state(server, repo, first, name, "pending")
    second = push_files(git, server, repo, work, {"a": "2"})
    _wait_state(server, repo, second, name, "pending")
    third = push_files(git, server, repo, work, {"a": "3"})
    superseded = _wait_state(server, repo, second, name, "error")
    assert superseded["description"] == "Superseded by a newer execution"
    assert _status(server, repo, third, name)["state"] == "pending"  # type: ignore[index]
    stop = ("pipeline", "stop", _execution_of(running), "--abandon", "--reason", "no more")
    server.cli(*stop)
    stopped = _wait_state(server, repo, first, name, "failure")
    assert stopped["description"] == "Stopped: no more", stopped


@pytest.mark.database  # the status is written under the pipeline's and repository's locks
def test_a_red_required_pipeline_blocks_the_merge_until_a_fix_makes_it_green(
    server: Server, git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": GOOD})
    bad = push_files(git, server, repo, work, {"buildspec.yml": BAD}, branch="feature")
    name = _pipeline(server, tmp_path, repo, BUILD, GATE, **PR_TRIGGER)
    server.cli("repo", "require-status", repo, "--context", name)
    number = cc.create_pull_request(
        title="Red", targets=[{"repositoryName": repo, "sourceReference": "feature"}]
    )["pullRequest"]["pullRequestId"]
    _wait_state(server, repo, bad, name, "failure")
    with pytest.raises(ClientError) as refused:
        cc.merge_pull_request_by_fast_forward(
            pullRequestId=number, repositoryName=repo, sourceCommitId=bad
        )
    assert error_code(refused.value) == "PullRequestApprovalRulesNotSatisfiedException"
    assert f"{name} (failure)" in str(refused.value), str(refused.value)

    fixed = push_files(git, server, repo, work, {"buildspec.yml": GOOD}, branch="feature")
    execution = _execution_of(_wait_state(server, repo, fixed, name, "pending"))
    wait_action(server, name, "Approve", "InProgress")  # built: waits in Gate
    with pytest.raises(ClientError) as refused:
        cc.merge_pull_request_by_fast_forward(
            pullRequestId=number, repositoryName=repo, sourceCommitId=fixed
        )
    assert f"{name} (pending)" in str(refused.value), str(refused.value)
    server.cli("pipeline", "approve", execution, "Gate")
    _wait_state(server, repo, fixed, name, "success")
    merged = cc.merge_pull_request_by_fast_forward(
        pullRequestId=number, repositoryName=repo, sourceCommitId=fixed
    )["pullRequest"]
    assert merged["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is True


def test_merge_when_green_merges_when_the_pipeline_succeeds(
    server: Server, git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": GOOD})
    head = push_files(git, server, repo, work, {"feature.txt": "x"}, branch="feature")
    name = _pipeline(server, tmp_path, repo, BUILD, GATE, **PR_TRIGGER)
    server.cli("repo", "require-status", repo, "--context", name)
    number = cc.create_pull_request(
        title="Green", targets=[{"repositoryName": repo, "sourceReference": "feature"}]
    )["pullRequest"]["pullRequestId"]
    armed = server.cli(
        "pr", "merge-when-green", "--repo", repo, number, "--strategy", "squash", "--user", "admin"
    )
    assert armed["armed"] is True and armed["sourceCommitId"] == head
    execution = _execution_of(_wait_state(server, repo, head, name, "pending"))
    wait_action(server, name, "Approve", "InProgress")  # built, waits in Gate: still pending
    pull = cc.get_pull_request(pullRequestId=number)["pullRequest"]
    assert pull["pullRequestStatus"] == "OPEN"
    server.cli("pipeline", "approve", execution, "Gate")

    def merged() -> bool:
        pull = cc.get_pull_request(pullRequestId=number)["pullRequest"]
        return bool(pull["pullRequestTargets"][0]["mergeMetadata"]["isMerged"])

    assert wait_until(merged, 30, 0.2), _status(server, repo, head, name)
    assert _status(server, repo, head, name)["state"] == "success"  # type: ignore[index]
    meta = cc.get_pull_request(pullRequestId=number)["pullRequest"]["pullRequestTargets"][0]
    assert meta["mergeMetadata"]["mergeOption"] == "SQUASH_MERGE"
