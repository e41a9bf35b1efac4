"""Helpers for pipeline tests: a server that runs pipelines, files, pushes, waits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config

from tests.api_support import REGION
from tests.support import Git, Server, run_sql, wait_until

# Short housekeeping rounds and approval timeouts: the tests wait for them.
SERVER_ARGS = [
    "--no-ssh",
    "--maintenance-delay",
    "5",
    "--pipeline-runners",
    "4",
    "--pipeline-interval",
    "0.3",
    "--pipeline-lease",
    "3",
    "--pipeline-approval-timeout",
    "3",
    "--webhook-allowed-hosts",
    "127.0.0.1",
    "--webhook-retry-schedule",
    "0.3,0.6",
]


def pipeline_server(
    tmp_path_factory: pytest.TempPathFactory,
    database_factory: Callable[[Path], str],
    *extra: str,
) -> Iterator[Server]:
    """A server that runs pipeline jobs itself (the body of a module fixture)."""
    data = tmp_path_factory.mktemp("pipelines") / "data"
    data.mkdir()
    server = Server(
        data=data, database_url=database_factory(data), extra_args=[*SERVER_ARGS, *extra]
    )
    server.start()
    yield server
    server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def source_stage(repo: str, branch: str = "main") -> dict[str, Any]:
    return {
        "name": "Source",
        "actions": [
            {
                "name": "Source",
                "actionTypeId": {
                    "category": "Source",
                    "owner": "AWS",
                    "provider": "CodeCommit",
                    "version": "1",
                },
                "configuration": {"RepositoryName": repo, "BranchName": branch},
                "outputArtifacts": [{"name": "SourceOut"}],
                "namespace": "SourceVariables",
            }
        ],
    }


def _action(name: str, category: str, owner: str, provider: str, **fields: Any) -> dict[str, Any]:
    type_id = {"category": category, "owner": owner, "provider": provider, "version": "1"}
    return {"name": name, "actionTypeId": type_id, **fields}


def build_action(name: str = "Build", **fields: Any) -> dict[str, Any]:
    given = {"inputArtifacts": [{"name": "SourceOut"}], "configuration": {}, **fields}
    return _action(name, "Build", "AWS", "CodeBuild", **given)


def approval_action(name: str = "Approve", **fields: Any) -> dict[str, Any]:
    return _action(name, "Approval", "AWS", "Manual", **fields)


def deploy_action(name: str = "Deploy", **configuration: str) -> dict[str, Any]:
    """A Deploy `Script` action on the source."""
    inputs = [{"name": "SourceOut"}]
    return _action(
        name, "Deploy", "Custom", "Script", inputArtifacts=inputs, configuration=configuration
    )


def invoke_action(name: str, url: str, **configuration: str) -> dict[str, Any]:
    """An Invoke `Webhook` action POSTing to `url`."""
    return _action(name, "Invoke", "Custom", "Webhook", configuration={"Url": url, **configuration})


def create_pipeline(server: Server, tmp: Path, pipeline: dict[str, Any]) -> str:
    path = tmp / f"{pipeline['name']}.json"
    path.write_text(json.dumps(pipeline))
    server.cli("pipeline", "create", "--file", str(path))
    return str(pipeline["name"])


def seeded_repo(server: Server, git: Git, work: Path) -> str:
    """A new repository with one commit on main, pushed from `work`."""
    name = unique("pipe")
    server.cli("repo", "create", name)
    push_files(git, server, name, work, {"README": "x"})
    return name


def push_files(
    git: Git, server: Server, repo: str, work: Path, files: dict[str, str], branch: str = "main"
) -> str:
    if not (work / ".git").exists():
        git.init(work, branch)
    git("checkout", "-q", "-B", branch, cwd=work)
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git("add", name, cwd=work)
    git("commit", "-q", "-m", f"change {', '.join(files)}", cwd=work)
    git("push", "-q", server.url(repo), f"HEAD:refs/heads/{branch}", cwd=work)
    return git.rev_parse(work, "HEAD")


def executions(server: Server, pipeline: str) -> list[dict[str, Any]]:
    return list(server.cli("pipeline", "executions", pipeline)["executions"])


def statuses(server: Server, pipeline: str) -> list[str]:
    """The pipeline's execution statuses, newest first (straight from SQL: fast)."""
    rows = run_sql(
        server,
        "SELECT status FROM pipeline_executions WHERE pipeline = :p ORDER BY seq DESC",
        params={"p": pipeline},
    )
    return [str(r[0]) for r in rows]


ENDED = {"Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"}


def settle(
    server: Server, pipeline: str, check: Callable[[list[str]], bool], timeout: float = 30.0
) -> list[str]:
    """Wait until the statuses (newest first) pass `check`, and return them: SQL only, no
    CLI process (each costs a second or two on a busy machine)."""
    found = wait_until(lambda: check(statuses(server, pipeline)), timeout, 0.1)
    assert found, f"timed out: {statuses(server, pipeline)}"
    return statuses(server, pipeline)


def wait_statuses(
    server: Server, pipeline: str, check: Callable[[list[str]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Wait until the statuses pass `check`; then the CLI's `pipeline executions`."""
    settle(server, pipeline, check, timeout)
    return executions(server, pipeline)


def finished(count: int = 1) -> Callable[[list[str]], bool]:
    return lambda found: len(found) >= count and all(s in ENDED for s in found)


def wait_action(
    server: Server, pipeline: str, action: str, status: str, timeout: float = 30.0
) -> str:
    """Wait until the newest attempt of `action` in the newest execution has `status`;
    returns that execution's id."""

    def check() -> str | None:
        rows = run_sql(
            server,
            "SELECT a.execution_id, a.status FROM pipeline_action_executions a "
            "JOIN pipeline_executions e ON e.id = a.execution_id "
            "WHERE e.pipeline = :p AND a.action = :a ORDER BY e.seq DESC, a.attempt DESC",
            params={"p": pipeline, "a": action},
        )
        return str(rows[0][0]) if rows and rows[0][1] == status else None

    found = wait_until(check, timeout, 0.1)
    assert found, f"{action} never became {status}"
    return str(found)


class ActionRun(NamedTuple):
    """One attempt of an action, as stored."""

    execution_id: str
    stage: str
    action: str
    attempt: int
    status: str
    summary: str
    log_path: str


def action_runs(server: Server, pipeline: str) -> list[ActionRun]:
    """Every attempt of every action of the pipeline, in the order they started."""
    rows = run_sql(
        server,
        "SELECT a.execution_id, a.stage, a.action, a.attempt, a.status, a.summary, a.log_path "
        "FROM pipeline_action_executions a JOIN pipeline_executions e ON e.id = a.execution_id "
        "WHERE e.pipeline = :p ORDER BY a.started_at, a.action",
        params={"p": pipeline},
    )
    return [ActionRun(*row) for row in rows]


def stage_runs(server: Server, execution_id: str) -> list[tuple[str, int, str]]:
    """(stage, attempt, status) of every stage an execution entered, in order."""
    rows = run_sql(
        server,
        "SELECT stage, attempt, status FROM pipeline_stage_executions "
        "WHERE execution_id = :e ORDER BY id",
        params={"e": execution_id},
    )
    return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]


def log_text(server: Server, run: ActionRun) -> str:
    """An attempt's log, read from the data dir (no CLI process)."""
    return (server.data / "pipelines" / run.log_path).read_text()


def wait_job_running(server: Server, pipeline: str, action: str, timeout: float = 30.0) -> None:
    """Wait until a runner has claimed the job of `action` (its build has started)."""
    found = wait_until(
        lambda: run_sql(
            server,
            "SELECT j.id FROM pipeline_jobs j "
            "JOIN pipeline_action_executions a ON a.id = j.action_execution_id "
            "WHERE j.pipeline = :p AND a.action = :a AND j.state = 'running'",
            params={"p": pipeline, "a": action},
        ),
        timeout,
        0.05,
    )
    assert found, f"no runner took the job of {action}"


def access_key(server: Server, user: str, *flags: str) -> dict[str, str]:
    """A new user of the server (`flags`: e.g. --admin) and an access key of theirs."""
    server.cli("user", "create", user, *flags)
    return dict(server.cli("access-key", "create", user))


def codepipeline(server: Server, key: dict[str, str]) -> BaseClient:
    """boto3's own `codepipeline` client, pointed at the server."""
    return boto3.client(
        "codepipeline",
        endpoint_url=server.base_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def approve(client: BaseClient, pipeline: str, stage: str, action: str = "Approve") -> str:
    """PutApprovalResult for the approval waiting in `stage` (its token from
    GetPipelineState); returns the execution it was waiting in."""
    state = client.get_pipeline_state(name=pipeline)
    [found] = [s for s in state["stageStates"] if s["stageName"] == stage]
    [waiting] = [a for a in found["actionStates"] if a["actionName"] == action]
    client.put_approval_result(
        pipelineName=pipeline,
        stageName=stage,
        actionName=action,
        result={"summary": "ok", "status": "Approved"},
        token=waiting["latestExecution"]["token"],
    )
    return str(found["latestExecution"]["pipelineExecutionId"])


def status_of(execution: dict[str, Any], stage: str, action: str | None = None) -> str:
    for s in execution["stages"]:
        if s["name"] == stage:
            if action is None:
                return str(s["status"])
            return next(str(a["status"]) for a in s["actions"] if a["name"] == action)
    raise KeyError(stage)


def logs(server: Server, execution_id: str, action: str) -> str:
    result = server.cli("pipeline", "logs", execution_id, action, "--follow", check=False)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)
