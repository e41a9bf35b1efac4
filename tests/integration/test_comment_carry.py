"""Line comments follow a pull request's new revisions pushed with real `git push`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.support import Git, Server

# The follower's transactions depend on SQL.
pytestmark = pytest.mark.database


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "carry-user", admin=True)


def _lines(*extra_top: str, change: dict[int, str] | None = None, tail: str = "") -> str:
    lines = [f"line {n}" for n in range(1, 11)]
    for number, text in (change or {}).items():
        lines[number - 1] = text
    return "".join(f"{line}\n" for line in [*extra_top, *lines]) + tail


def _threads(cc: BaseClient, pr_id: str, **filters: str) -> list[dict[str, Any]]:
    found = cc.get_comments_for_pull_request(pullRequestId=pr_id, **filters)
    return list(found["commentsForPullRequestData"])


def _where(threads: list[dict[str, Any]], content: str) -> tuple[str, str, int]:
    """(afterCommitId, filePath, filePosition) of the thread a comment is in."""
    for thread in threads:
        if any(c.get("content") == content for c in thread["comments"]):
            loc = thread["location"]
            return thread["afterCommitId"], loc["filePath"], loc["filePosition"]
    raise AssertionError(f"no thread has {content!r}")


def test_comments_follow_unchanged_lines_through_pushes_and_a_force_push(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("carry")
    url = server.url(name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    first = git.commit(work, "app.py", _lines(), "the app")
    git("push", "-q", url, "feature", cwd=work)
    pr_id = cc.create_pull_request(
        title="carry", targets=[{"repositoryName": name, "sourceReference": "feature"}]
    )["pullRequest"]["pullRequestId"]

    def comment(line: int, content: str) -> str:
        return str(
            cc.post_comment_for_pull_request(
                pullRequestId=pr_id,
                repositoryName=name,
                beforeCommitId=base,
                afterCommitId=first,
                location={
                    "filePath": "app.py",
                    "filePosition": line,
                    "relativeFileVersion": "AFTER",
                },
                content=content,
            )["comment"]["commentId"]
        )

    on_five = comment(5, "about line 5")
    comment(8, "about line 8")
    cc.post_comment_reply(inReplyTo=on_five, content="agreed")

    # 1. Two lines added above: both comments (and the reply) move down by two.
    second = git.commit(work, "app.py", _lines("import os", "import sys"), "imports")
    git("push", "-q", url, "feature", cwd=work)
    threads = _threads(cc, pr_id)
    assert _where(threads, "about line 5") == (second, "app.py", 7)
    assert _where(threads, "agreed") == (second, "app.py", 7)
    assert _where(threads, "about line 8") == (second, "app.py", 10)
    (moved,) = [t for t in threads if t["location"]["filePosition"] == 7]
    assert [c["content"] for c in moved["comments"]] == ["about line 5", "agreed"]
    blob = git("rev-parse", f"{second}:app.py", cwd=work).stdout.strip()
    assert moved["afterBlobId"] == blob

    # 2. The commented line itself changes: that comment is outdated and stays where its
    # line was as commented; the other one moves on.
    third = git.commit(work, "app.py", _lines("import os", "import sys", change={5: "LINE 5"}))
    git("push", "-q", url, "feature", cwd=work)
    threads = _threads(cc, pr_id)
    assert _where(threads, "about line 5") == (second, "app.py", 7)
    assert _where(threads, "about line 8") == (third, "app.py", 10)
    current = _threads(cc, pr_id, afterCommitId=third)
    assert [t["comments"][0]["content"] for t in current] == ["about line 8"]

    # 3. A force-push that rewrites history and renames the file: the unchanged line
    # still carries its comment, to the new name.
    git("checkout", "-q", "-B", "feature", "main", cwd=work)
    content = _lines("import os", "import sys", change={5: "LINE 5"}, tail="line 11\n")
    git("mv", "-f", "README.md", "README.txt", cwd=work)
    git("commit", "-q", "-m", "rename readme", cwd=work)
    rewritten = git.commit(work, "src/app.py", content, "the app, moved")
    git("push", "-q", "--force", url, "feature", cwd=work)
    threads = _threads(cc, pr_id)
    assert _where(threads, "about line 8") == (rewritten, "src/app.py", 10)
    assert _where(threads, "about line 5") == (second, "app.py", 7)

    # Each comment's event once; carrying writes no comment event.
    kinds = [e["type"] for e in server.events(name)]
    assert kinds.count("commentOnPullRequestCreated") == 3
    assert kinds.count("commentOnPullRequestUpdated") == 0
    assert kinds.count("pullRequestSourceBranchUpdated") == 3
    # Every comment is still readable as written.
    assert cc.get_comment(commentId=on_five)["comment"]["content"] == "about line 5"
