"""Regression (issue 10, item 1): API writes get exactly the object checks a push gets.

PutFile and CreateCommit used to write trees with `.git` look-alikes and `.gitmodules`
files that `receive.fsckObjects` refuses in a push (CVE-2014-9390, CVE-2018-11235,
CVE-2018-17456, CVE-2019-1353), leaving branches that fail `git fsck --strict`. Each
payload is refused through boto3 with the modeled exception, leaves the branch, the
events and the object store as they were, and is refused by a git push as well.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server

DOTGIT_PATHS = [
    pytest.param(".GIT/config", id="upper"),
    pytest.param(".Git/hooks/post-checkout", id="mixed-case"),
    pytest.param("GIT~1/config", id="ntfs-short-name"),
    pytest.param("git~1/hooks/x", id="ntfs-short-name-lower"),
    pytest.param(".git./config", id="ntfs-trailing-dot"),
    pytest.param(".git /config", id="ntfs-trailing-space"),
    pytest.param(".git::$INDEX_ALLOCATION/config", id="ntfs-stream"),
    pytest.param(".g\u200cit/config", id="hfs-zwnj"),
    pytest.param("\u200d.git/config", id="hfs-zwj"),
    pytest.param(".git\ufeff/config", id="hfs-bom"),
    pytest.param("deep/.GIT/config", id="nested"),
]
GITMODULES = [
    pytest.param(
        '[submodule "../../modules/evil"]\n\tpath = sub\n\turl = https://example.com/x.git\n',
        "gitmodulesName",
        id="name-dotdot",
    ),
    pytest.param(
        '[submodule "x"]\n\tpath = sub\n\turl = -u./payload\n', "gitmodulesUrl", id="url-option"
    ),
    pytest.param(
        '[submodule "x"]\n\tpath = -sub\n\turl = https://example.com/x.git\n',
        "gitmodulesPath",
        id="path-option",
    ),
]


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "checks-admin", admin=True)


class Repo:
    """A repository with one commit on `main`, and what must not change."""

    def __init__(self, cc: BaseClient, server: Server) -> None:
        self.cc, self.server = cc, server
        self.name = f"checks-{uuid.uuid4().hex[:8]}"
        cc.create_repository(repositoryName=self.name)
        self.tip = cc.put_file(
            repositoryName=self.name, branchName="main", fileContent=b"hi\n", filePath="README"
        )["commitId"]
        self.bare = Path(server.cli("repo", "get", self.name)["path"])
        self.events = len(server.events(self.name))

    def put(self, path: str, content: bytes, **kw: Any) -> dict[str, Any]:
        return dict(
            self.cc.put_file(
                repositoryName=self.name,
                branchName="main",
                parentCommitId=self.tip,
                filePath=path,
                fileContent=content,
                **kw,
            )
        )

    def commit(self, **kw: Any) -> dict[str, Any]:
        return dict(
            self.cc.create_commit(
                repositoryName=self.name, branchName="main", parentCommitId=self.tip, **kw
            )
        )

    def has_object(self, content: bytes) -> bool:
        oid = subprocess.run(
            ["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True
        ).stdout.decode()
        probe = ["git", "--git-dir", str(self.bare), "cat-file", "-e", oid.strip()]
        return subprocess.run(probe, capture_output=True).returncode == 0

    def assert_unchanged(self, refused_content: bytes) -> None:
        branch = self.cc.get_branch(repositoryName=self.name, branchName="main")["branch"]
        assert branch["commitId"] == self.tip
        assert len(self.server.events(self.name)) == self.events
        assert not self.has_object(refused_content), "a refused write left its objects"
        assert not list((self.bare / "objects").glob("tmp_objdir*")), "a quarantine was left"
        fsck = subprocess.run(
            ["git", "--git-dir", str(self.bare), "fsck", "--strict"], capture_output=True
        )
        assert fsck.returncode == 0, fsck.stderr


@pytest.fixture
def target(cc: BaseClient, server: Server) -> Repo:
    return Repo(cc, server)


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return error_code(caught.value)


def _content() -> bytes:
    return f"[core]\n\tfsmonitor = touch pwned-{uuid.uuid4().hex}\n".encode()


@pytest.mark.parametrize("path", DOTGIT_PATHS)
def test_putfile_refuses_dotgit_lookalike_paths(target: Repo, path: str) -> None:
    content = _content()
    assert _refused(lambda: target.put(path, content)) == "InvalidPathException"
    target.assert_unchanged(content)


@pytest.mark.parametrize("path", DOTGIT_PATHS)
def test_createcommit_refuses_dotgit_lookalike_paths(target: Repo, path: str) -> None:
    content = _content()
    puts = [{"filePath": "ok.txt", "fileContent": b"fine\n"}]
    puts.append({"filePath": path, "fileContent": content})
    assert _refused(lambda: target.commit(putFiles=puts)) == "InvalidPathException"
    target.assert_unchanged(content)


@pytest.mark.parametrize(("text", "check"), GITMODULES)
def test_putfile_refuses_a_gitmodules_push_would_refuse(
    target: Repo, text: str, check: str
) -> None:
    content = text.encode()
    with pytest.raises(ClientError) as caught:
        target.put(".gitmodules", content)
    assert error_code(caught.value) == "InvalidPathException"
    assert check in str(caught.value)  # which of git's checks, never git's own text
    target.assert_unchanged(content)


@pytest.mark.parametrize(("text", "check"), GITMODULES)
def test_createcommit_refuses_a_gitmodules_push_would_refuse(
    target: Repo, text: str, check: str
) -> None:
    content = text.encode()
    puts = [{"filePath": "sub/.gitmodules", "fileContent": b"nested: not checked\n"}]
    puts.append({"filePath": ".gitmodules", "fileContent": content})
    assert _refused(lambda: target.commit(putFiles=puts)) == "InvalidPathException"
    target.assert_unchanged(content)


def test_gitmodules_copied_from_a_blob_already_stored_is_checked(target: Repo) -> None:
    """The blob is not in the new pack: git reads it from the repository to check it."""
    content = GITMODULES[0].values[0].encode()  # type: ignore[union-attr]
    stored = target.put("notes.txt", content)
    target.tip = stored["commitId"]
    target.events = len(target.server.events(target.name))
    puts = [{"filePath": ".gitmodules", "sourceFile": {"filePath": "notes.txt"}}]
    assert _refused(lambda: target.commit(putFiles=puts)) == "InvalidPathException"
    branch = target.cc.get_branch(repositoryName=target.name, branchName="main")["branch"]
    assert branch["commitId"] == target.tip
    assert len(target.server.events(target.name)) == target.events


def test_gitmodules_as_a_symlink_is_refused(target: Repo) -> None:
    content = b"notes.txt"
    refused = _refused(lambda: target.put(".gitmodules", content, fileMode="SYMLINK"))
    assert refused == "InvalidPathException"
    target.assert_unchanged(content)


def test_a_valid_gitmodules_is_accepted(target: Repo) -> None:
    content = b'[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n'
    written = target.put(".gitmodules", content)
    branch = target.cc.get_branch(repositoryName=target.name, branchName="main")["branch"]
    assert branch["commitId"] == written["commitId"] != target.tip
    fsck = subprocess.run(
        ["git", "--git-dir", str(target.bare), "fsck", "--strict"], capture_output=True
    )
    assert fsck.returncode == 0, fsck.stderr


@pytest.mark.parametrize(
    ("path", "check"),
    [pytest.param(".GIT/config", "hasDotgit", id="dotgit"), *GITMODULES[:1]],
)
def test_a_push_of_the_same_tree_is_refused_too(
    target: Repo, server: Server, git: Git, tmp_path: Path, path: str, check: str
) -> None:
    """The API's refusals are a push's: the same objects pushed with git are refused."""
    work = git.init(tmp_path / "work")
    git("fetch", "-q", server.url(target.name), "main", cwd=work)
    if check.startswith("gitmodules"):
        path, content = ".gitmodules", path
    else:
        content = _content().decode()
    blob = git("hash-object", "-w", "--stdin", cwd=work, input=content.encode()).stdout.strip()
    *dirs, leaf = path.split("/")
    tree = git("mktree", cwd=work, input=f"100644 blob {blob}\t{leaf}\n".encode()).stdout.strip()
    for name in reversed(dirs):
        tree = git("mktree", cwd=work, input=f"040000 tree {tree}\t{name}\n".encode()).stdout
        tree = tree.strip()
    commit = git("commit-tree", tree, "-p", "FETCH_HEAD", "-m", "x", cwd=work).stdout.strip()
    url = server.url(target.name)
    pushed = git("push", url, f"{commit}:refs/heads/main", cwd=work, check=False)
    assert pushed.returncode != 0 and check in pushed.stderr, pushed.stderr
    target.assert_unchanged(content.encode())
