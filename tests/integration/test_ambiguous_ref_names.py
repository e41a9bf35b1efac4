"""Regression (issue 10, item 2): ref names other refs' names could be mistaken for.

A branch `refs/heads/main` (stored as refs/heads/refs/heads/main) or `heads/main` made
every later `git push ... HEAD:refs/heads/main` fail with "matches more than one". Such
names are refused through the API and in pushes (over HTTP and SSH, with the reason in
the client's output), while the other refs of a non-atomic push still go through.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Remote, Server

AMBIGUOUS = ["refs/heads/main", "heads/main", "tags/v1", "remotes/origin/main"]


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "naming-admin", admin=True)


def _branches(cc: BaseClient, name: str) -> list[str]:
    return sorted(cc.list_branches(repositoryName=name)["branches"])


@pytest.mark.parametrize("branch", AMBIGUOUS)
def test_createbranch_refuses_ambiguous_names(cc: BaseClient, branch: str) -> None:
    name = f"naming-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    tip = cc.put_file(repositoryName=name, branchName="main", fileContent=b"x\n", filePath="f")[
        "commitId"
    ]
    with pytest.raises(ClientError) as caught:
        cc.create_branch(repositoryName=name, branchName=branch, commitId=tip)
    assert error_code(caught.value) == "InvalidBranchNameException"
    assert "ambiguous" in str(caught.value)
    assert _branches(cc, name) == ["main"]
    # Names that only contain the words are fine.
    cc.create_branch(repositoryName=name, branchName="feature/heads/x", commitId=tip)
    assert _branches(cc, name) == ["feature/heads/x", "main"]


@pytest.mark.parametrize("branch", ["heads/main", "refs/heads/main"])
def test_content_writes_refuse_ambiguous_branch_names(cc: BaseClient, branch: str) -> None:
    name = f"naming-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    tip = cc.put_file(repositoryName=name, branchName="main", fileContent=b"x\n", filePath="f")[
        "commitId"
    ]
    calls: list[Callable[[], object]] = [
        lambda: cc.put_file(
            repositoryName=name, branchName=branch, fileContent=b"y\n", filePath="g"
        ),
        lambda: cc.create_commit(
            repositoryName=name,
            branchName=branch,
            putFiles=[{"filePath": "g", "fileContent": b"y\n"}],
        ),
        lambda: cc.delete_file(
            repositoryName=name, branchName=branch, filePath="f", parentCommitId=tip
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught.value) == "InvalidBranchNameException"
    assert _branches(cc, name) == ["main"]


def _pushed(git: Git, work: Path, url: str, *refspecs: str) -> tuple[int, str]:
    result = git("push", "--porcelain", url, *refspecs, cwd=work, check=False)
    return result.returncode, result.stdout + result.stderr


def _remote_refs(git: Git, work: Path, url: str) -> set[str]:
    out = git("ls-remote", url, cwd=work).stdout
    return {line.split("\t")[1] for line in out.splitlines()}


def test_push_refuses_ambiguous_names_and_keeps_the_rest(
    remote: Remote, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("naming")
    url = remote.url(name)
    work = git.init(tmp_path / "work")
    git.commit(work)
    code, out = _pushed(
        git,
        work,
        url,
        "HEAD:refs/heads/main",
        "HEAD:refs/heads/heads/main",
        "HEAD:refs/tags/refs/x",
    )
    assert code != 0
    assert "refs/heads/heads/main" in out and "refs/tags/refs/x" in out
    assert out.count("ambiguous") >= 2, out
    assert _remote_refs(git, work, url) == {"HEAD", "refs/heads/main"}
    # And the repository still takes pushes to main by its full name.
    git.commit(work)
    git("push", "-q", url, "HEAD:refs/heads/main", cwd=work)


def test_atomic_push_with_an_ambiguous_name_is_refused_whole(
    remote: Remote, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("naming")
    url = remote.url(name)
    work = git.init(tmp_path / "work")
    git.commit(work)
    code, out = _pushed(
        git, work, url, "--atomic", "HEAD:refs/heads/main", "HEAD:refs/heads/refs/heads/main"
    )
    assert code != 0 and "ambiguous" in out, out
    assert _remote_refs(git, work, url) == set()


def test_deleting_an_ambiguous_ref_is_allowed(
    remote: Remote, repo: Callable[..., str], server: Server, git: Git, tmp_path: Path
) -> None:
    """One made before the rule (written here straight into the repository) can go."""
    name = repo("naming")
    url = remote.url(name)
    work = git.init(tmp_path / "work")
    git.commit(work)
    git("push", "-q", url, "HEAD:refs/heads/main", cwd=work)
    bare = Path(server.cli("repo", "get", name)["path"])
    git("--git-dir", str(bare), "update-ref", "refs/heads/heads/main", "refs/heads/main")
    code, out = _pushed(git, work, url, ":refs/heads/heads/main")
    assert code == 0, out
    assert _remote_refs(git, work, url) == {"HEAD", "refs/heads/main"}
