"""Runner processes (`gitserver worker --runner`) sharing one database: every job runs
exactly once, and a runner killed mid-job is found out by its lease."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pipeline_support import (
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
from tests.support import GITSERVER, Git, Server, run_sql, wait_until

# Claims and leases: SQL semantics (SKIP LOCKED on PostgreSQL) decide the outcome.
pytestmark = pytest.mark.database

ECHO = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n"
SLEEP = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory, "--pipeline-runners", "0")


@pytest.fixture
def runners(server: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    for _ in range(2):
        argv = [
            GITSERVER, "worker", "--runner", "--jobs", "3",
            "--data", str(server.data), "--database-url", server.database_url,
            "--pipeline-lease", "3", "--pipeline-interval", "0.3",
        ]  # fmt: skip
        started.append(
            subprocess.Popen(
                argv, env=server.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)


def test_two_runners_run_every_job_once_and_a_killed_one_is_noticed(
    server: Server, git: Git, tmp_path: Path, runners: list[subprocess.Popen[bytes]]
) -> None:
    repo = unique("pipe")
    server.cli("repo", "create", repo)
    push_files(git, server, repo, tmp_path / "work", {"README": "x"})
    builds = [build_action(f"B{i}", configuration={"BuildSpec": ECHO}) for i in range(10)]
    name = create_pipeline(
        server,
        tmp_path,
        {"name": unique("p"), "stages": [source_stage(repo), {"name": "Build", "actions": builds}]},
    )
    server.cli("pipeline", "start", name)
    [execution] = wait_statuses(server, name, finished(), timeout=60)
    assert execution["status"] == "Succeeded", execution
    rows = run_sql(
        server,
        "SELECT j.action_execution_id, j.state, j.runner_id, a.log_path FROM pipeline_jobs j "
        "JOIN pipeline_action_executions a ON a.id = j.action_execution_id "
        "WHERE j.pipeline = :p",
        params={"p": name},
    )
    assert len(rows) == 11 and len({r[0] for r in rows}) == 11
    assert {r[1] for r in rows} == {"done"}
    root = server.data / "pipelines"
    texts = [(root / log_path).read_text() for _, _, _, log_path in rows]
    assert sum(t.count("Running build") for t in texts) == 10  # no build ran twice
    assert sum(t.count("\nran\n") for t in texts) == 10

    sleeper = create_pipeline(
        server,
        tmp_path,
        {
            "name": unique("p"),
            "stages": [
                source_stage(repo),
                {"name": "Build", "actions": [build_action(configuration={"BuildSpec": SLEEP})]},
            ],
        },
    )
    server.cli("pipeline", "start", sleeper)
    wait_action(server, sleeper, "Build", "InProgress")
    holder = wait_until(
        lambda: run_sql(
            server,
            "SELECT runner_id FROM pipeline_jobs WHERE pipeline = :p AND state = 'running'",
            params={"p": sleeper},
        ),
        30,
    )
    pid = int(holder[0][0].split(":")[1])
    assert pid in {p.pid for p in runners}
    os.kill(pid, signal.SIGKILL)
    [failed] = wait_statuses(server, sleeper, finished(), timeout=30)
    assert failed["status"] == "Failed"
    [(summary,)] = run_sql(
        server,
        "SELECT summary FROM pipeline_action_executions WHERE pipeline = :p AND action = 'Build'",
        params={"p": sleeper},
    )
    assert "lease expired" in summary
