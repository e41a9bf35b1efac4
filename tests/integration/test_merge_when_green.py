"""Merge when green against a real server: armed through the CLI as a user, merged by the
server as that user once the required context succeeds on exactly the armed commit, and
disarmed by a push to the source (a commit nobody reviewed is never merged)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.support import Git, Server


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "green", admin=True)


def _setup(git: Git, tmp_path: Path, url: str) -> Path:
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    return work


def _status(server: Server, name: str, commit: str, state: str) -> None:
    server.cli(
        "status", "set", "--repo", name, "--commit", commit, "--context", "ci", "--state", state
    )


def _pull(cc: BaseClient, number: str) -> dict[str, Any]:
    return dict(cc.get_pull_request(pullRequestId=number)["pullRequest"])


def _merged(cc: BaseClient, number: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pull = _pull(cc, number)
        if pull["pullRequestTargets"][0]["mergeMetadata"]["isMerged"]:
            return pull
        time.sleep(0.1)
    raise AssertionError(f"pull request {number} was not merged")


def _open(server: Server, cc: BaseClient, name: str) -> str:
    server.cli("repo", "require-status", name, "--context", "ci")
    return str(
        cc.create_pull_request(
            title="Green", targets=[{"repositoryName": name, "sourceReference": "feature"}]
        )["pullRequest"]["pullRequestId"]
    )


def test_merges_on_success_of_the_armed_commit(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    name = repo("green")
    work = _setup(git, tmp_path, server.url(name))
    head = git.rev_parse(work, "feature")
    number = _open(server, cc, name)
    _status(server, name, head, "pending")
    armed = server.cli(
        "pr", "merge-when-green", "--repo", name, number, "--strategy", "squash", "--user", "admin"
    )
    assert armed["armed"] is True and armed["sourceCommitId"] == head
    time.sleep(0.5)
    assert _pull(cc, number)["pullRequestStatus"] == "OPEN"  # pending is not green

    _status(server, name, head, "success")
    pull = _merged(cc, number)
    meta = pull["pullRequestTargets"][0]["mergeMetadata"]
    assert meta["mergeOption"] == "SQUASH_MERGE"
    assert meta["mergedBy"].endswith(":user/admin")
    types = [e["type"] for e in server.events(name)]
    assert "pullRequestAutoMergeEnabled" in types and "pullRequestMergeStatusUpdated" in types


def test_a_push_disarms_and_the_new_commit_is_not_merged(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    name = repo("disarm")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    first = git.rev_parse(work, "feature")
    number = _open(server, cc, name)
    server.cli("pr", "merge-when-green", "--repo", name, number, "--user", "admin")
    second = git.commit(work, "app.py", "print(2)\n", "unreviewed")
    git("push", "-q", url, "feature", cwd=work)

    deadline = time.monotonic() + 20
    disarmed: list[dict[str, Any]] = []
    while not disarmed and time.monotonic() < deadline:
        disarmed = [e for e in server.events(name) if e["type"] == "pullRequestAutoMergeDisabled"]
        time.sleep(0.1)
    assert disarmed, [e["type"] for e in server.events(name)]
    assert disarmed[0]["detail"]["reason"] == "push"
    assert disarmed[0]["detail"]["autoMergeCommitId"] == first

    _status(server, name, second, "success")
    _status(server, name, first, "success")
    time.sleep(3)  # longer than the server's merge-when-green pass
    pull = _pull(cc, number)
    assert pull["pullRequestStatus"] == "OPEN"
    assert not pull["pullRequestTargets"][0]["mergeMetadata"]["isMerged"]
