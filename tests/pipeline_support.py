"""Helpers for pipeline tests: a server that runs pipelines, files, pushes, waits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

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


def build_action(name: str = "Build", **fields: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": "Build",
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
        },
        "inputArtifacts": [{"name": "SourceOut"}],
        "configuration": {},
    }
    action.update(fields)
    return action


def approval_action(name: str = "Approve", **fields: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": "Approval",
            "owner": "AWS",
            "provider": "Manual",
            "version": "1",
        },
    }
    action.update(fields)
    return action


def create_pipeline(server: Server, tmp: Path, pipeline: dict[str, Any]) -> str:
    path = tmp / f"{pipeline['name']}.json"
    path.write_text(json.dumps(pipeline))
    server.cli("pipeline", "create", "--file", str(path))
    return str(pipeline["name"])


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


def wait_statuses(
    server: Server, pipeline: str, check: Callable[[list[str]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Wait until the statuses pass `check`; then the CLI's `pipeline executions`."""
    found = wait_until(lambda: check(statuses(server, pipeline)), timeout, 0.1)
    assert found, f"timed out: {statuses(server, pipeline)}"
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
