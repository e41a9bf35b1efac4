"""Pipelines end to end: real pushes start executions that run buildspecs in bwrap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pipeline_support import (
    build_action,
    create_pipeline,
    executions,
    finished,
    logs,
    pipeline_server,
    push_files,
    source_stage,
    status_of,
    unique,
    wait_statuses,
)
from tests.support import Git, Server

BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - echo first line
      - cd sub && echo "in $(basename $PWD)"
      - echo "source $CODEBUILD_RESOLVED_SOURCE_VERSION"
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


def _repo(server: Server) -> str:
    name = unique("pipe")
    server.cli("repo", "create", name)
    return name


def test_a_push_to_the_watched_branch_runs_the_buildspec(
    server: Server, git: Git, tmp_path: Path
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    push_files(git, server, repo, work, {"buildspec.yml": BUILDSPEC, "sub/x": "x"})
    name = create_pipeline(
        server,
        tmp_path,
        {
            "name": unique("p"),
            "stages": [source_stage(repo), {"name": "Build", "actions": [build_action()]}],
        },
    )
    commit = push_files(git, server, repo, work, {"sub/y": "y"})
    [execution] = wait_statuses(server, name, finished())
    assert execution["status"] == "Succeeded", execution
    assert execution["sourceRevision"] == commit
    assert status_of(execution, "Build", "Build") == "Succeeded"
    text = logs(server, execution["pipelineExecutionId"], "Build")
    lines = [line for line in text.splitlines() if not line.startswith("[Container]")]
    assert lines == ["first line", "in sub", f"source {commit}"], text


def test_pushes_elsewhere_start_nothing_and_a_failing_build_fails(
    server: Server, git: Git, tmp_path: Path
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    failing = (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo before\n      - exit 3\n"
    )
    push_files(git, server, repo, work, {"buildspec.yml": failing})
    name = create_pipeline(
        server,
        tmp_path,
        {
            "name": unique("p"),
            "stages": [source_stage(repo), {"name": "Build", "actions": [build_action()]}],
        },
    )
    push_files(git, server, repo, work, {"other": "1"}, branch="feature")
    push_files(git, server, repo, work, {"again": "1"}, branch="main")
    [execution] = wait_statuses(server, name, finished())
    assert execution["status"] == "Failed"
    assert status_of(execution, "Build", "Build") == "Failed"
    assert len(executions(server, name)) == 1


def test_trigger_file_path_filters_decide_which_pushes_start_it(
    server: Server, git: Git, tmp_path: Path
) -> None:
    repo = _repo(server)
    work = tmp_path / "work"
    echo = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n"
    push_files(git, server, repo, work, {"buildspec.yml": echo})
    git_configuration = {
        "sourceActionName": "Source",
        "push": [{"branches": {"includes": ["main"]}, "filePaths": {"excludes": ["docs/**"]}}],
    }
    name = create_pipeline(
        server,
        tmp_path,
        {
            "name": unique("p"),
            "pipelineType": "V2",
            "triggers": [
                {"providerType": "CodeStarSourceConnection", "gitConfiguration": git_configuration}
            ],
            "stages": [source_stage(repo), {"name": "Build", "actions": [build_action()]}],
        },
    )
    push_files(git, server, repo, work, {"docs/guide.md": "words"})
    commit = push_files(git, server, repo, work, {"src/app.py": "code"})
    [execution] = wait_statuses(server, name, finished())
    assert execution["status"] == "Succeeded" and execution["sourceRevision"] == commit
