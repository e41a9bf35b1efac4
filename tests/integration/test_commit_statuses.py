"""Commit statuses through the CLI against a real server and real pushes: set and list,
the latest per context, GitHub's `status` webhook (validated by octokit's schema), the
native envelope, and required contexts gating the API's merge until they succeed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.octokit import validate
from tests.receivers import Received, Receiver
from tests.support import Git, Server
from tests.web_support import signed_in


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "statuses", admin=True)


def _setup(git: Git, tmp_path: Path, url: str) -> Path:
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    return work


def _set(server: Server, name: str, commit: str, context: str, state: str, *extra: str) -> dict:
    return dict(
        server.cli(
            "status", "set", "--repo", name, "--commit", commit, "--context", context,
            "--state", state, *extra,
        )
    )  # fmt: skip


def _wait(receiver: Receiver, path: str, event: str, count: int = 1) -> list[Received]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [
            r
            for r in receiver.requests
            if r.path == "/hook" + path and r.headers.get("X-GitServer-Event") == event
        ]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {event} at {path}: {[r.headers for r in receiver.requests]}")


# The latest status per context is an upsert: its SQL differs between the backends.
@pytest.mark.database
def test_statuses_are_set_listed_and_combined(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("statuses")
    work = _setup(git, tmp_path, server.url(name))
    head = git.rev_parse(work, "feature")

    set_ = _set(server, name, head, "build", "pending", "--url", "https://ci.example/1")
    assert set_["state"] == "pending" and set_["creator"] == "cli"
    _set(server, name, head, "lint", "success", "--description", "clean")
    listed = server.cli("status", "list", "--repo", name, "--commit", head)
    assert listed["state"] == "pending"
    assert [(s["context"], s["state"]) for s in listed["statuses"]] == [
        ("build", "pending"),
        ("lint", "success"),
    ]
    _set(server, name, head, "build", "success")  # the latest per context is what counts
    listed = server.cli("status", "list", "--repo", name, "--commit", head)
    assert listed["state"] == "success"
    assert len(listed["statuses"]) == 2
    _set(server, name, head, "lint", "error")
    assert server.cli("status", "list", "--repo", name, "--commit", head)["state"] == "failure"

    refusals = [
        (["--state", "done"], "invalid choice"),
        (["--state", "success", "--description", "x" * 141], "140"),
        (["--state", "success", "--url", "javascript:alert(1)"], "http"),
    ]
    for extra, message in refusals:
        args = ["status", "set", "--repo", name, "--commit", head, "--context", "c", *extra]
        result = server.cli(*args, check=False)
        assert result.returncode != 0 and message in result.stderr, result.stderr
    missing = "0123456789" * 4
    result = server.cli(
        "status", "set", "--repo", name, "--commit", missing, "--context", "c",
        "--state", "success", check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_github_status_webhook_matches_octokit(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("status-hook")
    work = _setup(git, tmp_path, server.url(name))
    head = git.rev_parse(work, "feature")
    for path, fmt in (("/gh", "github"), ("/native", "native"), ("/eb", "eventbridge")):
        server.cli(
            "webhook", "create", "--repo", name, "--url", receiver.url + path,
            "--events", "commitStatusChanged", "--format", fmt,
        )  # fmt: skip

    _set(server, name, head, "pipeline/ci", "failure", "--url", "https://ci.example/7",
         "--description", "2 tests failed")  # fmt: skip

    (gh,) = _wait(receiver, "/gh", "commitStatusChanged")
    assert gh.headers["X-GitHub-Event"] == "status"
    body = gh.json
    validate("status$event", body)
    assert body["sha"] == head and body["state"] == "failure"
    assert body["context"] == "pipeline/ci" and body["target_url"] == "https://ci.example/7"
    assert body["description"] == "2 tests failed"
    assert [b["name"] for b in body["branches"]] == ["feature"]
    assert body["commit"]["commit"]["message"] == "feature work\n"
    assert [p["sha"] for p in body["commit"]["parents"]] == [git.rev_parse(work, "main")]
    (native,) = _wait(receiver, "/native", "commitStatusChanged")
    detail = native.json["detail"]
    assert native.json["type"] == "commitStatusChanged"
    assert (detail["context"], detail["state"], detail["commitId"]) == (
        "pipeline/ci",
        "failure",
        head,
    )
    time.sleep(1.0)  # EventBridge has no such event: the format skips it
    assert not [r for r in receiver.requests if r.path == "/hook/eb" and r.headers.get(
        "X-GitServer-Event") == "commitStatusChanged"]  # fmt: skip


def test_required_context_blocks_the_api_merge_until_success(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, cc: BaseClient
) -> None:
    name = repo("gated")
    work = _setup(git, tmp_path, server.url(name))
    head = git.rev_parse(work, "feature")
    required = server.cli("repo", "require-status", name, "--context", "ci")
    assert required["requiredContexts"] == ["ci"]
    server.cli("repo", "require-status", name, "--context", "lint")
    assert server.cli("repo", "require-status", name, "--context", "lint", "--remove")[
        "requiredContexts"
    ] == ["ci"]
    pr = cc.create_pull_request(
        title="Gated", targets=[{"repositoryName": name, "sourceReference": "feature"}]
    )["pullRequest"]
    number = pr["pullRequestId"]

    def merge() -> dict:
        return dict(
            cc.merge_pull_request_by_fast_forward(
                pullRequestId=number, repositoryName=name, sourceCommitId=head
            )
        )

    for state, shown in (
        (None, "ci (expected)"),
        ("pending", "ci (pending)"),
        ("failure", "ci (failure)"),
    ):
        if state:
            _set(server, name, head, "ci", state)
        with pytest.raises(ClientError) as refused:
            merge()
        assert error_code(refused.value) == "PullRequestApprovalRulesNotSatisfiedException"
        assert shown in str(refused.value), str(refused.value)
    page = signed_in(server, "admin", server.admin_password).get(
        f"/repositories/{name}/pull-requests/{number}"
    )
    assert page.status == 200
    assert "The required status ci (failure) is not success." in page.body  # the merge box
    assert "Merge when the statuses succeed" in page.body  # arming is offered
    assert "<strong>ci</strong>" in page.body  # the statuses list
    _set(server, name, head, "other", "success")  # not the required one
    with pytest.raises(ClientError):
        merge()
    _set(server, name, head, "ci", "success")
    merged = merge()["pullRequest"]
    assert merged["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is True
