"""Pipelines driven through boto3's `codepipeline` client, the CLI and real pushes:
execution modes (QUEUED, PARALLEL), `pipeline update` and `delete`, CODEBUILD_BUILD_NUMBER,
retry with ALL_ACTIONS and FAILED_ACTIONS, stop without abandon, the Deploy `Script`
provider (hooks, rollback) and the Invoke `Webhook` provider (2xx, 5xx, SSRF refusal).

Few tests, each with several checks: pytest-xdist spreads a module's tests over its
workers, and every worker starts the module's server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.api_support import codecommit
from tests.pipeline_support import (
    ActionRun,
    action_runs,
    approval_action,
    approve,
    build_action,
    codepipeline,
    deploy_action,
    finished,
    invoke_action,
    log_text,
    pipeline_server,
    push_files,
    settle,
    source_stage,
    stage_runs,
    unique,
    wait_job_running,
)
from tests.receivers import Receiver
from tests.support import Git, Server, run_sql, wait_until

ROLE = "arn:aws:iam::000000000000:role/PipelineRole"
WAIT = {"TimeoutInMinutes": "10"}  # decided by the test
NUMBER = """version: 0.2
phases:
  build:
    commands:
      - echo "number $CODEBUILD_BUILD_NUMBER"
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


@pytest.fixture(scope="module")
def key(server: Server) -> dict[str, str]:
    """An access key of the server's first user (an administrator)."""
    return dict(server.cli("access-key", "create", "admin"))


@pytest.fixture(scope="module")
def cp(server: Server, key: dict[str, str]) -> BaseClient:
    return codepipeline(server, key)


@pytest.fixture(scope="module")
def repo(
    server: Server, key: dict[str, str], git: Git, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The module's source: executions start through the API, so no push starts another."""
    name = unique("pipe")
    codecommit(server, key).create_repository(repositoryName=name)
    push_files(git, server, name, tmp_path_factory.mktemp("control") / "work", {"README": "x"})
    return name


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> Git:
    return Git(tmp_path_factory.mktemp("control-git") / "home")


def _create(
    cp: BaseClient, repo: str, *stages: dict[str, Any], branch: str = "main", **fields: Any
) -> str:
    name = unique("p")
    source = source_stage(repo, branch)
    pipeline = {"name": name, "roleArn": ROLE, "stages": [source, *stages], **fields}
    cp.create_pipeline(pipeline=pipeline)
    return name


def _start(cp: BaseClient, name: str) -> str:
    return str(cp.start_pipeline_execution(name=name)["pipelineExecutionId"])


def _executions(server: Server, name: str) -> list[tuple[str, str, str | None, int]]:
    """(id, status, waiting stage, pipeline version) of each execution, oldest first."""
    rows = run_sql(
        server,
        "SELECT id, status, waiting_stage, pipeline_version FROM pipeline_executions "
        "WHERE pipeline = :p ORDER BY seq",
        params={"p": name},
    )
    return [(str(r[0]), str(r[1]), r[2], int(r[3])) for r in rows]


def _in_gate(server: Server, name: str) -> list[str]:
    """The executions whose approval waits in the Gate stage, oldest first."""
    return [
        r.execution_id
        for r in action_runs(server, name)
        if r.action == "Approve" and r.status == "InProgress"
    ]


def _output(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("[Container]")]


def test_queued_runs_in_order_parallel_does_not_wait_and_the_cli_updates_and_deletes(
    server: Server, cp: BaseClient, repo: str, tmp_path: Path
) -> None:
    gate = {"name": "Gate", "actions": [approval_action(configuration=WAIT)]}
    build = {"name": "Build", "actions": [build_action(configuration={"BuildSpec": NUMBER})]}
    name = _create(cp, repo, gate, build, pipelineType="V2", executionMode="QUEUED")
    first, second, third = (_start(cp, name) for _ in range(3))
    # The first holds the Gate; the others queue in front of it, in order, none superseded.
    queued = [(first, "InProgress", None), (second, "InProgress", "Gate")]
    queued.append((third, "InProgress", "Gate"))
    assert wait_until(lambda: [e[:3] for e in _executions(server, name)] == queued, 20), (
        _executions(server, name)
    )
    assert _in_gate(server, name) == [first]
    assert approve(cp, name, "Gate") == first
    assert wait_until(lambda: _in_gate(server, name) == [second], 20)
    assert [e[2] for e in _executions(server, name)] == [None, None, "Gate"]
    assert approve(cp, name, "Gate") == second
    assert wait_until(lambda: _in_gate(server, name) == [third], 20)
    assert approve(cp, name, "Gate") == third
    settle(server, name, lambda s: s == ["Succeeded"] * 3)
    # CODEBUILD_BUILD_NUMBER counts the action's builds, in the order the queue let them in.
    builds = [r for r in action_runs(server, name) if r.action == "Build"]
    assert [r.execution_id for r in builds] == [first, second, third]
    assert [_output(log_text(server, r)) for r in builds] == [
        ["number 1"],
        ["number 2"],
        ["number 3"],
    ]

    pipeline = {**cp.get_pipeline(name=name)["pipeline"], "executionMode": "PARALLEL"}
    path = tmp_path / "update.yaml"
    path.write_text(json.dumps(pipeline))  # YAML is a superset of JSON
    updated = server.cli("pipeline", "update", "--file", str(path))
    assert updated["pipeline"]["version"] == 2
    got = cp.get_pipeline(name=name)["pipeline"]
    assert (got["version"], got["executionMode"]) == (2, "PARALLEL")
    fourth, fifth = _start(cp, name), _start(cp, name)
    # No stage lock: both are in the Gate at once (in either order: their sources race).
    both = {fourth, fifth}
    assert wait_until(lambda: set(_in_gate(server, name)) == both, 20), action_runs(server, name)
    assert [(e[2], e[3]) for e in _executions(server, name)[3:]] == [(None, 2), (None, 2)]

    deleted = server.cli("pipeline", "delete", name)
    assert deleted == {"name": name, "deleted": True}
    with pytest.raises(cp.exceptions.PipelineNotFoundException):
        cp.get_pipeline(name=name)
    assert _executions(server, name) == [] and action_runs(server, name) == []
    left = run_sql(
        server, "SELECT count(*) FROM pipeline_jobs WHERE pipeline = :p", params={"p": name}
    )
    assert left[0][0] == 0


FLAKY = """version: 0.2
phases:
  build:
    commands:
      - echo "number $CODEBUILD_BUILD_NUMBER"
      - test "$CODEBUILD_BUILD_NUMBER" -ge 3
"""


SLOW = """version: 0.2
phases:
  build:
    commands:
      - sleep 2.5
      - echo finished
"""


def test_retry_all_or_failed_actions_and_stop_without_abandon(
    server: Server, cp: BaseClient, repo: str
) -> None:
    # Flaky fails until its third build (CODEBUILD_BUILD_NUMBER counts its builds).
    steady = build_action("Steady", configuration={"BuildSpec": NUMBER})
    flaky = build_action("Flaky", configuration={"BuildSpec": FLAKY})
    name = _create(cp, repo, {"name": "Build", "actions": [steady, flaky]})
    execution = _start(cp, name)
    settle(server, name, lambda s: s == ["Failed"])

    def retry(mode: str) -> None:
        cp.retry_stage_execution(
            pipelineName=name, pipelineExecutionId=execution, stageName="Build", retryMode=mode
        )

    retry("FAILED_ACTIONS")
    settle(server, name, lambda s: s == ["Failed"])
    retry("ALL_ACTIONS")
    settle(server, name, lambda s: s == ["Succeeded"])
    runs = [r for r in action_runs(server, name) if r.stage == "Build"]

    def of(action: str) -> list[tuple[int, str, list[str]]]:
        return [
            (r.attempt, r.status, _output(log_text(server, r))) for r in runs if r.action == action
        ]

    assert of("Steady") == [(1, "Succeeded", ["number 1"]), (3, "Succeeded", ["number 2"])]
    assert of("Flaky") == [
        (1, "Failed", ["number 1"]),
        (2, "Failed", ["number 2"]),
        (3, "Succeeded", ["number 3"]),
    ]
    with pytest.raises(cp.exceptions.StageNotRetryableException):
        retry("ALL_ACTIONS")

    # Stop without abandon: the running action finishes, nothing after it starts.
    slow = build_action("Slow", configuration={"BuildSpec": SLOW})
    after = build_action("Next", runOrder=2, configuration={"BuildSpec": NUMBER})
    later = {"name": "Later", "actions": [build_action(configuration={"BuildSpec": NUMBER})]}
    halted = _create(cp, repo, {"name": "Build", "actions": [slow, after]}, later)
    stopping = _start(cp, halted)
    wait_job_running(server, halted, "Slow")
    cp.stop_pipeline_execution(
        pipelineName=halted, pipelineExecutionId=stopping, abandon=False, reason="enough"
    )
    got = cp.get_pipeline_execution(pipelineName=halted, pipelineExecutionId=stopping)
    assert got["pipelineExecution"]["status"] == "Stopping"
    with pytest.raises(cp.exceptions.DuplicatedStopRequestException):
        cp.stop_pipeline_execution(pipelineName=halted, pipelineExecutionId=stopping)
    assert settle(server, halted, finished()) == ["Stopped"]
    assert stage_runs(server, stopping) == [("Source", 1, "Succeeded"), ("Build", 1, "Stopped")]
    [_, slow_run] = action_runs(server, halted)
    assert (slow_run.action, slow_run.status) == ("Slow", "Succeeded")
    assert _output(log_text(server, slow_run)) == ["finished"]
    got = cp.get_pipeline_execution(pipelineName=halted, pipelineExecutionId=stopping)
    assert got["pipelineExecution"]["statusSummary"] == "enough"


HOOKS = """version: 0.0
hooks:
  ValidateService:
    - echo "ValidateService $(cat version)"
  AfterInstall:
    - echo "AfterInstall $(cat version)"
    - test "$(cat state)" = healthy
  Install:
    - echo "Install $(cat version) #{SourceVariables.CommitId} $CODEBUILD_RESOLVED_SOURCE_VERSION"
  BeforeInstall:
    - echo "BeforeInstall $(cat version)"
"""


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    """Two webhook receivers: one answers 200, the other 503."""
    ok, failing = Receiver().start(), Receiver(default=503).start()
    yield ok, failing
    ok.stop()
    failing.stop()


def test_script_deploy_hooks_and_rollback_then_webhook_actions(
    server: Server,
    cp: BaseClient,
    git: Git,
    repo: str,
    tmp_path: Path,
    receivers: tuple[Receiver, Receiver],
) -> None:
    """Deploy (hooks, RollbackOnFailure), then Notify: three webhooks, one answering 2xx,
    one 5xx, one the SSRF guard refuses (only 127.0.0.1 is allowed: SERVER_ARGS)."""
    ok, failing = receivers
    branch = unique("deploy")  # the module's other pipelines watch main
    deploy = deploy_action(BuildSpec=HOOKS, RollbackOnFailure="True")  # any case, as validated
    notify = [
        invoke_action("Tell", ok.url, Secret="s3cret"),
        invoke_action("Broken", failing.url),
        invoke_action("Metadata", "http://169.254.169.254/latest/meta-data/"),
    ]
    stages = [{"name": "Deploy", "actions": [deploy]}, {"name": "Notify", "actions": notify}]
    name = _create(cp, repo, *stages, branch=branch)
    work = tmp_path / "work"  # a history of its own, on a branch of its own

    def push(version: str, state: str, count: int) -> tuple[dict[str, ActionRun], str]:
        commit = push_files(git, server, repo, work, {"version": version, "state": state}, branch)
        settle(server, name, finished(count))
        newest = _executions(server, name)[-1][0]
        runs = {r.action: r for r in action_runs(server, name) if r.execution_id == newest}
        return runs, commit

    first, _ = push("v1", "broken", 1)
    assert first["Deploy"].status == "Failed" and "Notify" not in first
    assert "Rollback: no earlier successful deploy" in log_text(server, first["Deploy"])

    good, good_commit = push("v2", "healthy", 2)
    assert good["Deploy"].status == "Succeeded", good
    v2 = [
        "BeforeInstall v2",
        f"Install v2 {good_commit} {good_commit}",
        "AfterInstall v2",
        "ValidateService v2",
    ]
    assert _output(log_text(server, good["Deploy"])) == v2
    assert (good["Tell"].status, good["Tell"].summary) == ("Succeeded", "The webhook answered 200")
    broken = (good["Broken"].status, good["Broken"].summary)
    assert broken == ("Failed", "Webhook failed: the webhook answered 503")
    refused = good["Metadata"]
    assert (refused.status, refused.summary) == (
        "Failed",
        "Webhook not sent: 169.254.169.254 is a private or local address (cloud metadata); "
        "if it is meant, add it to webhook_allowed_hosts (--webhook-allowed-hosts) of the "
        "runners, restart them, then retry the stage",
    )
    [told] = ok.requests
    body = told.json
    assert (body["pipeline"], body["executionId"], body["action"]) == (
        name,
        good["Tell"].execution_id,
        "Tell",
    )
    assert told.headers["X-GitServer-Event"] == "pipelineActionInvoke"
    expected = hmac.new(b"s3cret", told.body, hashlib.sha256).hexdigest()
    assert told.headers["X-GitServer-Signature-256"] == f"sha256={expected}"
    assert len(failing.requests) == 1  # one attempt; a retry is RetryStageExecution's

    # The execution failed in Notify, but its deploy succeeded: v2 is the last good revision.
    bad, bad_commit = push("v3", "broken", 3)
    deployed = bad["Deploy"]
    assert deployed.status == "Failed" and deployed.summary.endswith("; rollback succeeded")
    text = log_text(server, deployed)
    # v3 stops at its failed hook; then v2's deploy runs again, as it ran (its commit).
    assert _output(text) == [
        "BeforeInstall v3",
        f"Install v3 {bad_commit} {bad_commit}",
        "AfterInstall v3",
        *v2,
    ]
    assert f"Rollback: deploying the revision of execution {good['Deploy'].execution_id}" in text
