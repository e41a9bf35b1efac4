"""Pull requests through real boto3, following refs moved by real `git push` (HTTP, SSH)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Remote, Server

# Locking, idempotency races and the follower's transactions depend on SQL.
pytestmark = pytest.mark.database


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "pr-admin", admin=True)


@pytest.fixture(scope="session")
def reviewer(server: Server) -> BaseClient:
    return client_for(server, "pr-reviewer", admin=True)


def _setup(git: Git, tmp_path: Path, url: str) -> Path:
    """main with one commit, feature one commit ahead; both pushed."""
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    return work


def _create(cc: BaseClient, name: str, **extra: Any) -> dict[str, Any]:
    pr = cc.create_pull_request(
        title="Add the app",
        description="Please review",
        targets=[{"repositoryName": name, "sourceReference": "feature"}],
        **extra,
    )["pullRequest"]
    return dict(pr)


def test_create_get_list(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("pr")
    work = _setup(git, tmp_path, server.url(name))
    pr = _create(cc, name)
    target = pr["pullRequestTargets"][0]
    assert pr["pullRequestId"].isdigit()
    assert pr["pullRequestStatus"] == "OPEN"
    assert pr["authorArn"].endswith(":user/pr-admin")
    assert target["sourceReference"] == "refs/heads/feature"
    assert target["destinationReference"] == "refs/heads/main"
    assert target["sourceCommit"] == git.rev_parse(work, "feature")
    assert target["destinationCommit"] == git.rev_parse(work, "main")
    assert target["mergeBase"] == git.rev_parse(work, "main")
    assert target["mergeMetadata"] == {"isMerged": False}
    assert len(pr["revisionId"]) == 64

    got = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert got["revisionId"] == pr["revisionId"] and got["title"] == "Add the app"
    listed = cc.list_pull_requests(repositoryName=name, pullRequestStatus="OPEN")
    assert listed["pullRequestIds"] == [pr["pullRequestId"]]
    assert (
        cc.list_pull_requests(repositoryName=name, pullRequestStatus="CLOSED")["pullRequestIds"]
        == []
    )
    mine = cc.list_pull_requests(repositoryName=name, authorArn=pr["authorArn"])
    assert mine["pullRequestIds"] == [pr["pullRequestId"]]

    events = cc.describe_pull_request_events(pullRequestId=pr["pullRequestId"])
    (created,) = events["pullRequestEvents"]
    assert created["pullRequestEventType"] == "PULL_REQUEST_CREATED"
    meta = created["pullRequestCreatedEventMetadata"]
    assert meta["sourceCommitId"] == target["sourceCommit"]
    assert meta["repositoryName"] == name

    outbox = [e for e in server.events(name) if e["type"] == "pullRequestCreated"]
    assert len(outbox) == 1
    assert outbox[0]["detail"]["pullRequestId"] == pr["pullRequestId"]
    assert outbox[0]["detail"]["sourceCommit"] == target["sourceCommit"]


def test_refusals(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("pr")
    _setup(git, tmp_path, server.url(name))

    def refused(expected: str, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as info:
            cc.create_pull_request(**{"title": "t", **kwargs})
        assert error_code(info.value) == expected, info.value

    refused(
        "ReferenceDoesNotExistException",
        targets=[{"repositoryName": name, "sourceReference": "nope"}],
    )
    refused(
        "SourceAndDestinationAreSameException",
        targets=[{"repositoryName": name, "sourceReference": "main"}],
    )
    refused(
        "ReferenceTypeNotSupportedException",
        targets=[{"repositoryName": name, "sourceReference": "refs/tags/v1"}],
    )
    refused(
        "RepositoryDoesNotExistException",
        targets=[{"repositoryName": "no-such-repo", "sourceReference": "feature"}],
    )
    refused(
        "MultipleRepositoriesInPullRequestException",
        targets=[
            {"repositoryName": name, "sourceReference": "feature"},
            {"repositoryName": "other", "sourceReference": "feature"},
        ],
    )
    with pytest.raises(ClientError) as info:
        cc.create_pull_request(
            title="x" * 151, targets=[{"repositoryName": name, "sourceReference": "feature"}]
        )
    assert error_code(info.value) == "InvalidTitleException"
    for bad in ("abc", "999999999"):
        with pytest.raises(ClientError) as info:
            cc.get_pull_request(pullRequestId=bad)
        assert error_code(info.value) in {
            "InvalidPullRequestIdException",
            "PullRequestDoesNotExistException",
        }


def test_idempotency_token(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("pr")
    _setup(git, tmp_path, server.url(name))
    token = uuid.uuid4().hex
    first = _create(cc, name, clientRequestToken=token)
    again = _create(cc, name, clientRequestToken=token)
    assert again["pullRequestId"] == first["pullRequestId"]
    assert again["clientRequestToken"] == token
    with pytest.raises(ClientError) as info:
        cc.create_pull_request(
            title="Something else",
            targets=[{"repositoryName": name, "sourceReference": "feature"}],
            clientRequestToken=token,
        )
    assert error_code(info.value) == "IdempotencyParameterMismatchException"
    assert cc.list_pull_requests(repositoryName=name)["pullRequestIds"] == [first["pullRequestId"]]
    created = [e for e in server.events(name) if e["type"] == "pullRequestCreated"]
    assert len(created) == 1


def test_a_push_to_the_source_makes_a_new_revision(
    cc: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    remote: Remote,
) -> None:
    name = repo("pr")
    work = _setup(git, tmp_path, server.url(name))
    pr = _create(cc, name)
    before = pr["pullRequestTargets"][0]["sourceCommit"]
    git.commit(work, "app.py", "print(2)\n", "second")
    git("push", "-q", remote.url(name), "feature", cwd=work, env=remote.env)
    after = git.rev_parse(work, "feature")

    got = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert got["pullRequestTargets"][0]["sourceCommit"] == after
    assert got["revisionId"] != pr["revisionId"]
    events = cc.describe_pull_request_events(
        pullRequestId=pr["pullRequestId"],
        pullRequestEventType="PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
    )["pullRequestEvents"]
    assert len(events) == 1
    meta = events[0]["pullRequestSourceReferenceUpdatedEventMetadata"]
    assert (meta["beforeCommitId"], meta["afterCommitId"]) == (before, after)
    outbox = [e for e in server.events(name) if e["type"] == "pullRequestSourceBranchUpdated"]
    assert outbox[0]["detail"]["afterCommitId"] == after

    # The destination moving changes the revision too, with no source event.
    git("checkout", "-q", "main", cwd=work)
    git.commit(work, "other.txt", "x\n", "main moves")
    git("push", "-q", remote.url(name), "main", cwd=work, env=remote.env)
    moved = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert moved["pullRequestTargets"][0]["destinationCommit"] == git.rev_parse(work, "main")
    assert moved["revisionId"] != got["revisionId"]
    assert (
        len([e for e in server.events(name) if e["type"] == "pullRequestSourceBranchUpdated"]) == 1
    )

    # A write through the API moves the source like a push does.
    put = cc.put_file(
        repositoryName=name,
        branchName="feature",
        filePath="api.txt",
        fileContent=b"from the API\n",
        parentCommitId=after,
    )
    by_api = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert by_api["pullRequestTargets"][0]["sourceCommit"] == put["commitId"]
    assert by_api["revisionId"] != moved["revisionId"]
    updates = [e for e in server.events(name) if e["type"] == "pullRequestSourceBranchUpdated"]
    assert [e["detail"]["afterCommitId"] for e in updates] == [after, put["commitId"]]


def test_merged_outside_closes_the_pull_request(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("pr")
    work = _setup(git, tmp_path, server.url(name))
    pr = _create(cc, name)
    git("checkout", "-q", "main", cwd=work)
    git("merge", "-q", "--ff-only", "feature", cwd=work)
    git("push", "-q", server.url(name), "main", cwd=work)

    got = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert got["pullRequestStatus"] == "CLOSED"
    merge = got["pullRequestTargets"][0]["mergeMetadata"]
    assert merge["isMerged"] is True and merge["mergedBy"].endswith(":user/admin")  # who pushed
    assert [e["type"] for e in server.events(name)].count("pullRequestMergeStatusUpdated") == 1
    types = [
        e["pullRequestEventType"]
        for e in cc.describe_pull_request_events(pullRequestId=pr["pullRequestId"])[
            "pullRequestEvents"
        ]
    ]
    assert types == ["PULL_REQUEST_CREATED", "PULL_REQUEST_MERGE_STATE_CHANGED"]


def test_status_title_description_and_a_deleted_source(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("pr")
    work = _setup(git, tmp_path, server.url(name))
    pr = _create(cc, name)
    pid = pr["pullRequestId"]
    assert (
        cc.update_pull_request_title(pullRequestId=pid, title="New title")["pullRequest"]["title"]
        == "New title"
    )
    assert (
        cc.update_pull_request_description(pullRequestId=pid, description="More")["pullRequest"][
            "description"
        ]
        == "More"
    )
    # The source branch goes; the pull request stays readable with its last commits.
    git("push", "-q", server.url(name), "--delete", "feature", cwd=work)
    kept = cc.get_pull_request(pullRequestId=pid)["pullRequest"]
    assert (
        kept["pullRequestTargets"][0]["sourceCommit"] == pr["pullRequestTargets"][0]["sourceCommit"]
    )
    closed = cc.update_pull_request_status(pullRequestId=pid, pullRequestStatus="CLOSED")
    assert closed["pullRequest"]["pullRequestStatus"] == "CLOSED"
    assert closed["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is False
    # Closing again is allowed; reopening and editing a closed one are not.
    cc.update_pull_request_status(pullRequestId=pid, pullRequestStatus="CLOSED")
    for call, expected in (
        (
            lambda: cc.update_pull_request_status(pullRequestId=pid, pullRequestStatus="OPEN"),
            "InvalidPullRequestStatusUpdateException",
        ),
        (
            lambda: cc.update_pull_request_title(pullRequestId=pid, title="x"),
            "PullRequestAlreadyClosedException",
        ),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_code(info.value) == expected
    statuses = [e for e in server.events(name) if e["type"] == "pullRequestStatusChanged"]
    assert len(statuses) == 1 and statuses[0]["detail"]["pullRequestStatus"] == "CLOSED"
