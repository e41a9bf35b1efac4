"""Pull-request events delivered: a PR's life through real boto3 and `git push`, heard by
real receivers in the GitHub and EventBridge formats, one delivery per change."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.octokit import validate
from tests.receivers import Received, Receiver
from tests.support import Git, Server

# Events are written in the change's transaction and delivered in order: SQL decides.
pytestmark = pytest.mark.database

SECRET = "pr-hook-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "pr-events", admin=True)


def _hook(server: Server, repo: str, url: str, *extra: str) -> str:
    created = server.cli("webhook", "create", "--repo", repo, "--url", url, *extra)
    return str(created["webhookId"])


def _events(receiver: Receiver, path: str) -> list[Received]:
    """What reached `path` (under the receiver's /hook), without the ping every new hook sends."""
    return [
        r
        for r in receiver.requests
        if r.path == "/hook" + path and r.headers.get("X-GitServer-Event") != "ping"
    ]


def _wait(receiver: Receiver, path: str, count: int) -> list[Received]:
    deadline = time.monotonic() + 30
    while len(_events(receiver, path)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    found = _events(receiver, path)
    assert len(found) >= count, [r.json for r in found]
    return found


def _settled(receiver: Receiver, path: str, count: int) -> list[Received]:
    """Exactly `count` deliveries: wait for them, then a while for any extra one."""
    _wait(receiver, path, count)
    time.sleep(1.5)
    found = _events(receiver, path)
    assert len(found) == count, [r.json.get("action") for r in found]
    return found


def _setup(git: Git, tmp_path: Path, url: str) -> Path:
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    return work


def _signed(received: Received) -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Hub-Signature-256"] == expected
    assert received.headers["X-GitHub-Delivery"] == received.headers["X-GitServer-Delivery"]


def _pr(cc: BaseClient, name: str, title: str = "Add the app") -> dict[str, Any]:
    return dict(
        cc.create_pull_request(
            title=title,
            description="Please review",
            targets=[{"repositoryName": name, "sourceReference": "feature"}],
        )["pullRequest"]
    )


def test_a_pull_requests_life_in_github_payloads(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    receiver: Receiver,
    cc: BaseClient,
) -> None:
    name = repo("prlife")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    gh = receiver.url + "/gh"
    hook = _hook(
        server, name, gh, "--events", "pull_request", "--format", "github", "--secret", SECRET
    )
    _hook(server, name, receiver.url + "/eb", "--events", "pull_request", "--format", "eventbridge")

    pr = _pr(cc, name)
    number = pr["pullRequestId"]
    first = git.rev_parse(work, "feature")
    git.commit(work, "app.py", "print(2)\n", "second")
    git("push", "-q", url, "feature", cwd=work)
    second = git.rev_parse(work, "feature")
    _wait(receiver, "/gh", 2)  # the push is seen before the edits that follow
    cc.update_pull_request_title(pullRequestId=number, title="Add the app, v2")
    cc.update_pull_request_description(pullRequestId=number, description="Now with tests")
    cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="CLOSED")
    with pytest.raises(ClientError) as refused:  # CodeCommit never reopens
        cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="OPEN")
    assert error_code(refused.value) == "InvalidPullRequestStatusUpdateException"

    received = _settled(receiver, "/gh", 5)
    (ping,) = [
        r.json
        for r in receiver.requests
        if r.path == "/hook/gh" and r.headers["X-GitServer-Event"] == "ping"
    ]
    validate("ping$event", ping)
    assert ping["hook"]["events"] == [
        "issue_comment",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
    ]
    bodies = [r.json for r in received]
    assert [
        (r.headers["X-GitHub-Event"], b["action"]) for r, b in zip(received, bodies, strict=True)
    ] == [
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "edited"),
        ("pull_request", "edited"),
        ("pull_request", "closed"),
    ]
    for r, body in zip(received, bodies, strict=True):
        _signed(r)
        validate(f"pull_request${body['action']}", body)
        assert body["number"] == int(number)
        assert body["pull_request"]["html_url"] == (
            f"{server.base_url}/repositories/{name}/pull-requests/{number}"
        )
        assert body["pull_request"]["base"]["ref"] == "main"
        assert body["pull_request"]["user"]["login"] == "pr-events"
    opened, synchronize, retitled, described, closed = bodies
    assert opened["pull_request"]["head"] | {"repo": None, "user": None} == {
        "label": "gitserver:feature",
        "ref": "feature",
        "sha": first,
        "repo": None,
        "user": None,
    }
    assert (synchronize["before"], synchronize["after"]) == (first, second)
    assert synchronize["pull_request"]["head"]["sha"] == second
    assert retitled["changes"] == {"title": {"from": "Add the app"}}
    assert retitled["pull_request"]["title"] == "Add the app, v2"
    assert described["changes"] == {"body": {"from": "Please review"}}
    assert (closed["pull_request"]["merged"], closed["pull_request"]["state"]) == (
        False,
        "closed",
    )

    # `webhook test` sends the hook's latest event again: here the closing.
    server.cli("webhook", "test", hook)
    retest = _wait(receiver, "/gh", 6)[5]
    assert (retest.headers["X-GitHub-Event"], retest.json["action"]) == ("pull_request", "closed")

    # EventBridge: AWS's events for the same life (an edit has none in AWS's set).
    details = [r.json["detail"] for r in _settled(receiver, "/eb", 3)]
    assert [(d["event"], d["pullRequestStatus"], d["sourceCommit"]) for d in details] == [
        ("pullRequestCreated", "Open", first),
        ("pullRequestSourceBranchUpdated", "Open", second),
        ("pullRequestStatusChanged", "Closed", second),
    ]
    assert {d["title"] for d in details[2:]} == {"Add the app, v2"}


def test_a_merge_by_push_is_closed_and_merged(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    receiver: Receiver,
    cc: BaseClient,
) -> None:
    name = repo("prmerged")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    _hook(server, name, receiver.url + "/gh", "--events", "pull_request", "--format", "github")
    number = _pr(cc, name)["pullRequestId"]
    git("checkout", "-q", "main", cwd=work)
    git("merge", "-q", "--ff-only", "feature", cwd=work)
    git("push", "-q", url, "main", cwd=work)

    opened, closed = (r.json for r in _settled(receiver, "/gh", 2))
    validate("pull_request$opened", opened)
    validate("pull_request$closed", closed)
    assert (closed["action"], closed["number"]) == ("closed", int(number))
    assert closed["pull_request"]["merged"] is True
    # Merged by whoever pushed the destination (git's user here, not the PR's author).
    assert closed["pull_request"]["merged_by"]["login"] == closed["sender"]["login"] != "pr-events"


def test_branch_filters_match_a_pull_requests_destination(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    receiver: Receiver,
    cc: BaseClient,
) -> None:
    name = repo("prfilter")
    work = _setup(git, tmp_path, server.url(name))
    git("push", "-q", server.url(name), "main:release", cwd=work)
    _hook(server, name, receiver.url + "/main", "--events", "pull_request", "--branches", "main")
    _hook(server, name, receiver.url + "/rel", "--events", "pull_request", "--branches", "release")
    cc.create_pull_request(
        title="Into release",
        targets=[
            {
                "repositoryName": name,
                "sourceReference": "feature",
                "destinationReference": "release",
            }
        ],
    )
    (into_release,) = _settled(receiver, "/rel", 1)
    assert into_release.json["detail"]["destinationReference"] == "refs/heads/release"
    assert _events(receiver, "/main") == []


def test_comments_and_approvals_in_github_payloads(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    receiver: Receiver,
    cc: BaseClient,
) -> None:
    name = repo("prreview")
    _setup(git, tmp_path, server.url(name))
    _hook(server, name, receiver.url + "/gh", "--events", "pull_request", "--format", "github")
    pr = _pr(cc, name)
    number, revision = pr["pullRequestId"], pr["revisionId"]
    target = pr["pullRequestTargets"][0]
    commits = {
        "pullRequestId": number,
        "repositoryName": name,
        "beforeCommitId": target["destinationCommit"],
        "afterCommitId": target["sourceCommit"],
    }
    general = cc.post_comment_for_pull_request(**commits, content="Nice")["comment"]
    cc.post_comment_for_pull_request(
        **commits,
        content="Why print?",
        location={"filePath": "app.py", "filePosition": 1, "relativeFileVersion": "AFTER"},
    )
    cc.update_comment(commentId=general["commentId"], content="Nice work")
    reviewer = client_for(server, "pr-events-reviewer", admin=True)
    reviewer.update_pull_request_approval_state(
        pullRequestId=number, revisionId=revision, approvalState="APPROVE"
    )
    reviewer.update_pull_request_approval_state(
        pullRequestId=number, revisionId=revision, approvalState="REVOKE"
    )

    received = _settled(receiver, "/gh", 6)
    said = [(r.headers["X-GitHub-Event"], r.json["action"]) for r in received]
    assert said == [
        ("pull_request", "opened"),
        ("issue_comment", "created"),
        ("pull_request_review_comment", "created"),
        ("issue_comment", "edited"),
        ("pull_request_review", "submitted"),
        ("pull_request_review", "dismissed"),
    ]
    for (event, action), r in zip(said, received, strict=True):
        validate(f"{event}${action}", r.json)
    _, commented, located, edited, approved, revoked = (r.json for r in received)
    assert commented["issue"]["number"] == int(number)
    assert commented["comment"]["body"] == "Nice"
    assert (located["comment"]["path"], located["comment"]["line"]) == ("app.py", 1)
    assert located["comment"]["commit_id"] == target["sourceCommit"]
    assert edited["changes"] == {"body": {"from": "Nice"}}
    assert edited["comment"]["body"] == "Nice work"
    assert approved["review"]["state"] == "approved"
    assert approved["review"]["user"]["login"] == "pr-events-reviewer"
    assert revoked["review"]["state"] == "dismissed"
