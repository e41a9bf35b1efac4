"""Comments, replies and reactions through real boto3, on commits pushed with real git."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, codecommit, error_code
from tests.support import Git, Server

# Idempotency races and the repository lock depend on SQL.
pytestmark = pytest.mark.database

APP = "".join(f"line {n}\n" for n in range(1, 11))


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "comment-author", admin=True)


@pytest.fixture(scope="session")
def other(server: Server) -> BaseClient:
    return client_for(server, "comment-reviewer", admin=True)


def _setup(git: Git, tmp_path: Path, server: Server, name: str) -> tuple[str, str]:
    """main: README; feature adds app.py (10 lines). Returns (main, feature) commits."""
    work = git.init(tmp_path / "work")
    base = git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", server.url(name), "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    head = git.commit(work, "app.py", APP, "feature work")
    git("push", "-q", server.url(name), "feature", cwd=work)
    return base, head


def _pr(cc: BaseClient, name: str) -> str:
    pr = cc.create_pull_request(
        title="Add the app", targets=[{"repositoryName": name, "sourceReference": "feature"}]
    )["pullRequest"]
    return str(pr["pullRequestId"])


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return error_code(info.value)


def _events(server: Server, name: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in server.events(name) if e["type"] == kind]


def test_general_and_located_comments_and_replies(
    cc: BaseClient,
    other: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    pr_id = _pr(cc, name)
    place = {"pullRequestId": pr_id, "repositoryName": name}
    commits = {"beforeCommitId": base, "afterCommitId": head}

    general = cc.post_comment_for_pull_request(**place, **commits, content="Looks good overall")
    assert "location" not in general
    assert general["comment"]["authorArn"].endswith(":user/comment-author")
    assert general["comment"]["deleted"] is False

    line = {"filePath": "app.py", "filePosition": 3, "relativeFileVersion": "AFTER"}
    located = cc.post_comment_for_pull_request(
        **place, **commits, location=line, content="Why line 3?"
    )
    assert located["location"] == line
    blob = git("rev-parse", f"{head}:app.py", cwd=tmp_path / "work").stdout.strip()
    assert located["afterBlobId"] == blob
    assert "beforeBlobId" not in located  # app.py is new in the pull request

    reply = other.post_comment_reply(
        inReplyTo=located["comment"]["commentId"], content="It was needed"
    )["comment"]
    assert reply["inReplyTo"] == located["comment"]["commentId"]

    threads = cc.get_comments_for_pull_request(pullRequestId=pr_id)["commentsForPullRequestData"]
    assert len(threads) == 2
    assert [c["content"] for c in threads[0]["comments"]] == ["Looks good overall"]
    assert threads[1]["location"] == line
    assert threads[1]["afterCommitId"] == head
    assert [c["content"] for c in threads[1]["comments"]] == ["Why line 3?", "It was needed"]

    got = cc.get_comment(commentId=reply["commentId"])["comment"]
    assert got["content"] == "It was needed"

    created = _events(server, name, "commentOnPullRequestCreated")
    assert len(created) == 3
    by_id = {e["detail"]["commentId"]: e["detail"] for e in created}
    assert by_id[located["comment"]["commentId"]]["filePosition"] == 3
    assert by_id[reply["commentId"]]["inReplyTo"] == located["comment"]["commentId"]
    assert by_id[reply["commentId"]]["pullRequestId"] == pr_id
    # CodeCommit lists no comment event in the pull request's history.
    events = cc.describe_pull_request_events(pullRequestId=pr_id)["pullRequestEvents"]
    assert [e["pullRequestEventType"] for e in events] == ["PULL_REQUEST_CREATED"]


def test_refusals(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    pr_id = _pr(cc, name)
    place = {"pullRequestId": pr_id, "repositoryName": name}
    commits = {"beforeCommitId": base, "afterCommitId": head}

    def post(**extra: Any) -> Callable[[], Any]:
        args = {**place, **commits, "content": "x", **extra}
        return lambda: cc.post_comment_for_pull_request(**args)

    assert _code(post(content="")) == "CommentContentRequiredException"
    assert _code(post(content="x" * 10241)) == "CommentContentSizeLimitExceededException"
    cc.post_comment_for_pull_request(**place, **commits, content="x" * 10240)
    where = {"filePath": "app.py", "relativeFileVersion": "AFTER"}
    assert _code(post(location={**where, "filePosition": 11})) == "InvalidFilePositionException"
    assert _code(post(location={**where, "filePosition": 0})) == "InvalidFilePositionException"
    # app.py is not in the BEFORE version.
    before = {**where, "relativeFileVersion": "BEFORE", "filePosition": 1}
    assert _code(post(location=before)) == "PathDoesNotExistException"
    assert _code(post(location={**where, "filePath": "nope.py"})) == "PathDoesNotExistException"
    assert _code(post(afterCommitId=base)) == "BeforeCommitIdAndAfterCommitIdAreSameException"
    assert _code(post(afterCommitId="f" * 40)) == "CommitDoesNotExistException"
    assert _code(post(afterCommitId="abc")) == "InvalidCommitIdException"
    assert _code(post(repositoryName=repo("cm"))) == (
        "RepositoryNotAssociatedWithPullRequestException"
    )
    assert _code(post(pullRequestId="999999")) == "PullRequestDoesNotExistException"
    assert _code(lambda: cc.get_comment(commentId=str(uuid.uuid4()))) == (
        "CommentDoesNotExistException"
    )
    assert _code(lambda: cc.get_comment(commentId="not/valid")) == "InvalidCommentIdException"
    assert _code(lambda: cc.post_comment_reply(inReplyTo=str(uuid.uuid4()), content="x")) == (
        "CommentDoesNotExistException"
    )


def test_edit_by_author_only_and_delete_content(
    cc: BaseClient,
    other: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    pr_id = _pr(cc, name)
    posted = cc.post_comment_for_pull_request(
        pullRequestId=pr_id,
        repositoryName=name,
        beforeCommitId=base,
        afterCommitId=head,
        content="first words",
    )["comment"]
    comment_id = posted["commentId"]

    assert _code(lambda: other.update_comment(commentId=comment_id, content="mine now")) == (
        "CommentNotCreatedByCallerException"
    )
    edited = cc.update_comment(commentId=comment_id, content="better words")["comment"]
    assert edited["content"] == "better words"
    assert edited["lastModifiedDate"] >= posted["lastModifiedDate"]

    # Anyone allowed to may delete the content; the comment stays, marked deleted.
    deleted = other.delete_comment_content(commentId=comment_id)["comment"]
    assert deleted["deleted"] is True
    assert not deleted.get("content")
    thread = cc.get_comments_for_pull_request(pullRequestId=pr_id)["commentsForPullRequestData"]
    assert thread[0]["comments"][0]["deleted"] is True
    assert not thread[0]["comments"][0].get("content")
    assert _code(lambda: cc.get_comment(commentId=comment_id)) == "CommentDeletedException"
    assert _code(lambda: cc.update_comment(commentId=comment_id, content="again")) == (
        "CommentDeletedException"
    )
    assert _code(lambda: other.delete_comment_content(commentId=comment_id)) == (
        "CommentDeletedException"
    )

    updated = _events(server, name, "commentOnPullRequestUpdated")
    assert [(e["detail"]["previousContent"], e["detail"]["content"]) for e in updated] == [
        ("first words", "better words"),
        ("better words", ""),
    ]
    assert [e["detail"]["deleted"] for e in updated] == [False, True]


def test_reactions(
    cc: BaseClient,
    other: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    comment_id = cc.post_comment_for_compared_commit(
        repositoryName=name, beforeCommitId=base, afterCommitId=head, content="nice"
    )["comment"]["commentId"]

    cc.put_comment_reaction(commentId=comment_id, reactionValue=":thumbsup:")
    other.put_comment_reaction(commentId=comment_id, reactionValue="\U0001f44d")
    reactions = cc.get_comment_reactions(commentId=comment_id)["reactionsForComment"]
    assert len(reactions) == 1
    assert reactions[0]["reaction"] == {
        "emoji": "\U0001f44d",
        "shortCode": "thumbsup",
        "unicode": "U+1F44D",
    }
    assert sorted(u.rsplit("/", 1)[1] for u in reactions[0]["reactionUsers"]) == [
        "comment-author",
        "comment-reviewer",
    ]
    assert reactions[0]["reactionsFromDeletedUsersCount"] == 0

    # One reaction per user: a new one replaces the old.
    other.put_comment_reaction(commentId=comment_id, reactionValue="U+1F44E")
    found = {
        r["reaction"]["shortCode"]: r["reactionUsers"]
        for r in cc.get_comment_reactions(commentId=comment_id)["reactionsForComment"]
    }
    assert {code: len(users) for code, users in found.items()} == {
        "thumbsup": 1,
        "thumbsdown": 1,
    }
    only = other.get_comment_reactions(commentId=comment_id, reactionUserArn=found["thumbsdown"][0])
    assert [r["reaction"]["shortCode"] for r in only["reactionsForComment"]] == ["thumbsdown"]

    comment = other.get_comment(commentId=comment_id)["comment"]
    assert comment["callerReactions"] == ["thumbsdown"]
    assert comment["reactionCounts"] == {"thumbsup": 1, "thumbsdown": 1}

    assert _code(
        lambda: cc.put_comment_reaction(commentId=comment_id, reactionValue=":rocketship:")
    ) == ("InvalidReactionValueException")
    other.put_comment_reaction(commentId=comment_id, reactionValue="none")
    counts = cc.get_comment(commentId=comment_id)["comment"]["reactionCounts"]
    assert counts == {"thumbsup": 1}

    # A user deleted since counts apart, no longer listed by ARN.
    leaver = f"leaver-{uuid.uuid4().hex[:6]}"
    client_for(server, leaver, admin=True).put_comment_reaction(
        commentId=comment_id, reactionValue="thumbsup"
    )
    server.cli("user", "delete", leaver)
    (thumbs,) = cc.get_comment_reactions(commentId=comment_id)["reactionsForComment"]
    assert [u.rsplit("/", 1)[1] for u in thumbs["reactionUsers"]] == ["comment-author"]
    assert thumbs["reactionsFromDeletedUsersCount"] == 1

    kinds = [e["type"] for e in server.events(name) if e["type"].startswith("commentReaction")]
    assert kinds == [
        "commentReactionCreated",
        "commentReactionCreated",
        "commentReactionUpdated",
        "commentReactionUpdated",
        "commentReactionCreated",
    ]


def test_comments_on_compared_commits_and_paging(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    commits = {"repositoryName": name, "beforeCommitId": base, "afterCommitId": head}
    for n in range(1, 6):
        line = {"filePath": "app.py", "filePosition": n, "relativeFileVersion": "AFTER"}
        cc.post_comment_for_compared_commit(**commits, location=line, content=f"on line {n}")
    on_readme = {"filePath": "README.md", "filePosition": 1, "relativeFileVersion": "BEFORE"}
    posted = cc.post_comment_for_compared_commit(**commits, location=on_readme, content="old")
    assert posted["beforeBlobId"] == posted["afterBlobId"]  # README.md did not change

    pages = cc.get_paginator("get_comments_for_compared_commit").paginate(
        repositoryName=name, afterCommitId=head, PaginationConfig={"PageSize": 2}
    )
    threads = [t for p in pages for t in p["commentsForComparedCommitData"]]
    assert [t["comments"][0]["content"] for t in threads] == [
        *(f"on line {n}" for n in range(1, 6)),
        "old",
    ]
    assert all("pullRequestId" not in t for t in threads)
    first = cc.get_comments_for_compared_commit(
        repositoryName=name, afterCommitId=head, maxResults=2
    )
    assert len(first["commentsForComparedCommitData"]) == 2 and first["nextToken"]
    assert (
        cc.get_comments_for_compared_commit(
            repositoryName=name, beforeCommitId=head, afterCommitId=base
        )["commentsForComparedCommitData"]
        == []
    )

    created = _events(server, name, "commentOnCommitCreated")
    assert len(created) == 6
    assert created[0]["detail"]["afterCommitId"] == head
    assert created[0]["detail"]["repositoryName"] == name
    assert not _events(server, name, "commentOnPullRequestCreated")


def test_idempotency_token(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("cm")
    base, head = _setup(git, tmp_path, server, name)
    pr_id = _pr(cc, name)
    token = uuid.uuid4().hex
    args = {
        "pullRequestId": pr_id,
        "repositoryName": name,
        "beforeCommitId": base,
        "afterCommitId": head,
        "content": "once",
        "clientRequestToken": token,
    }
    first = cc.post_comment_for_pull_request(**args)["comment"]
    again = cc.post_comment_for_pull_request(**args)["comment"]
    assert again["commentId"] == first["commentId"]
    assert again["clientRequestToken"] == token
    assert _code(lambda: cc.post_comment_for_pull_request(**{**args, "content": "twice"})) == (
        "IdempotencyParameterMismatchException"
    )
    threads = cc.get_comments_for_pull_request(pullRequestId=pr_id)["commentsForPullRequestData"]
    assert sum(len(t["comments"]) for t in threads) == 1
    assert len(_events(server, name, "commentOnPullRequestCreated")) == 1

    reply_token = uuid.uuid4().hex
    reply = {"inReplyTo": first["commentId"], "content": "r", "clientRequestToken": reply_token}
    r1 = cc.post_comment_reply(**reply)["comment"]
    assert cc.post_comment_reply(**reply)["comment"]["commentId"] == r1["commentId"]
    assert len(_events(server, name, "commentOnPullRequestCreated")) == 2


def test_access_follows_the_comments_repository(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    """A user allowed on one repository reads and reacts to its comments, and reaches
    none of another repository's, whatever the id names."""
    mine, theirs = repo("cm"), repo("cm")
    ids = {}
    for name in (mine, theirs):
        base, head = _setup(git, tmp_path / name, server, name)
        ids[name] = cc.post_comment_for_compared_commit(
            repositoryName=name, beforeCommitId=base, afterCommitId=head, content="hi"
        )["comment"]["commentId"]
    user = f"cm-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user)
    arn = cc.get_repository(repositoryName=mine)["repositoryMetadata"]["Arn"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "codecommit:*", "Resource": arn}],
    }
    document = tmp_path / "allow.json"
    document.write_text(json.dumps(allow))
    server.cli("policy", "put-user-policy", user, "OneRepo", "--document", str(document))
    limited = codecommit(server, server.cli("access-key", "create", user))

    assert limited.get_comment(commentId=ids[mine])["comment"]["content"] == "hi"
    limited.put_comment_reaction(commentId=ids[mine], reactionValue="heart")
    for call in (
        lambda: limited.get_comment(commentId=ids[theirs]),
        lambda: limited.put_comment_reaction(commentId=ids[theirs], reactionValue="heart"),
        lambda: limited.post_comment_reply(inReplyTo=ids[theirs], content="sneaky"),
        lambda: limited.delete_comment_content(commentId=ids[theirs]),
        lambda: limited.get_comment(commentId=str(uuid.uuid4())),
    ):
        assert _code(call) == "AccessDeniedException"
    assert cc.get_comment(commentId=ids[theirs])["comment"]["content"] == "hi"
