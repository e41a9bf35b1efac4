"""Files and commits through the CodeCommit API with real boto3, cross-checked with git."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server

# SQL decides the outcome here (ordering, locking, concurrent writes).
pytestmark = pytest.mark.database


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "content-admin", admin=True)


def _repo(cc: BaseClient) -> str:
    name = f"content-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    return name


def _bare(server: Server, name: str) -> Path:
    return Path(server.cli("repo", "get", name)["path"])


def test_putfile_on_an_empty_repository_then_git_clone(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path
) -> None:
    name = _repo(cc)
    put = cc.put_file(
        repositoryName=name,
        branchName="main",
        fileContent=b"hello from the API\n",
        filePath="/docs/readme.md",
        commitMessage="first",
        name="Ann",
        email="ann@example.com",
    )
    assert cc.get_repository(repositoryName=name)["repositoryMetadata"]["defaultBranch"] == "main"
    clone = tmp_path / "clone"
    git("clone", "-q", server.url(name), str(clone), cwd=tmp_path)
    assert (clone / "docs" / "readme.md").read_text() == "hello from the API\n"
    assert git.rev_parse(clone, "HEAD") == put["commitId"]
    log = git("log", "-1", "--format=%an <%ae>|%s", cwd=clone).stdout.strip()
    assert log == "Ann <ann@example.com>|first"
    assert git("rev-parse", "HEAD:docs/readme.md", cwd=clone).stdout.strip() == put["blobId"]
    assert git("rev-parse", "HEAD^{tree}", cwd=clone).stdout.strip() == put["treeId"]
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=_bare(server, name), capture_output=True)
    assert fsck.returncode == 0, fsck.stderr

    event = server.events(name)[-1]
    assert event["type"] == "referenceCreated"
    assert event["detail"]["commitId"] == put["commitId"]
    assert event["detail"]["transport"] == "api" and event["actor"] == "content-admin"


def test_read_what_git_pushed(cc: BaseClient, server: Server, git: Git, tmp_path: Path) -> None:
    name = _repo(cc)
    work = git.init(tmp_path / "work")
    git.commit(work, "src/app.py", "print('one')\n", "one")
    first = git.rev_parse(work, "HEAD")
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("src/app.py")
    git("add", ".", cwd=work)
    git.commit(work, "src/app.py", "print('two')\n", "two")
    second = git.rev_parse(work, "HEAD")
    git("tag", "-a", "v1", "-m", "release", cwd=work)
    git("push", server.url(name), "main", "v1", cwd=work)

    got = cc.get_file(repositoryName=name, filePath="src/app.py")
    assert got["fileContent"] == b"print('two')\n" and got["commitId"] == second
    assert got["fileMode"] == "NORMAL" and got["fileSize"] == 13
    for spec in (first, "refs/heads/main", "main", "v1", "HEAD"):
        expected = b"print('one')\n" if spec == first else b"print('two')\n"
        assert (
            cc.get_file(repositoryName=name, commitSpecifier=spec, filePath="/src/app.py")[
                "fileContent"
            ]
            == expected
        ), spec
    assert cc.get_file(repositoryName=name, filePath="run.sh")["fileMode"] == "EXECUTABLE"

    root = cc.get_folder(repositoryName=name, folderPath="/")
    assert [f["absolutePath"] for f in root["files"]] == ["run.sh"]
    assert [f["absolutePath"] for f in root["subFolders"]] == ["src"]
    assert [f["absolutePath"] for f in root["symbolicLinks"]] == ["link"]
    sub = cc.get_folder(repositoryName=name, folderPath="src")
    assert sub["files"] == [
        {
            "blobId": got["blobId"],
            "absolutePath": "src/app.py",
            "relativePath": "app.py",
            "fileMode": "NORMAL",
        }
    ]
    assert cc.get_blob(repositoryName=name, blobId=got["blobId"])["content"] == b"print('two')\n"

    commit = cc.get_commit(repositoryName=name, commitId=second)["commit"]
    assert commit["parents"] == [first] and commit["message"] == "two\n"
    assert commit["author"]["name"] == "Test Author"
    assert commit["author"]["email"] == "author@example.com"
    when, tz = git(
        "log", "-1", "--format=%at %ad", "--date=format:%z", second, cwd=work
    ).stdout.split()
    assert commit["author"]["date"] == f"{when} {tz}"  # git's "<epoch> <tz>" form
    batch = cc.batch_get_commits(repositoryName=name, commitIds=[first, "f" * 40, "nope"])
    assert [c["commitId"] for c in batch["commits"]] == [first]
    assert {e["commitId"]: e["errorCode"] for e in batch["errors"]} == {
        "f" * 40: "CommitIdDoesNotExistException",
        "nope": "InvalidCommitIdException",
    }

    diff = cc.get_differences(
        repositoryName=name, beforeCommitSpecifier=first, afterCommitSpecifier=second
    )["differences"]
    summary = {(d["changeType"], (d.get("afterBlob") or d["beforeBlob"])["path"]) for d in diff}
    assert summary == {("M", "src/app.py"), ("A", "run.sh"), ("A", "link")}
    run_sh = next(d for d in diff if d["afterBlob"]["path"] == "run.sh")
    assert run_sh["afterBlob"]["mode"] == "100755" and "beforeBlob" not in run_sh
    only_src = cc.get_differences(
        repositoryName=name,
        beforeCommitSpecifier=first,
        afterCommitSpecifier=second,
        afterPath="src",
    )["differences"]
    assert [d["afterBlob"]["path"] for d in only_src] == ["src/app.py"]

    history = cc.list_file_commit_history(repositoryName=name, filePath="src/app.py")
    assert [v["commit"]["commitId"] for v in history["revisionDag"]] == [second, first]
    assert history["revisionDag"][1]["revisionChildren"] == [second]


def test_read_errors(cc: BaseClient, server: Server, git: Git, tmp_path: Path) -> None:
    name = _repo(cc)
    with pytest.raises(cc.exceptions.CommitDoesNotExistException):
        cc.get_file(repositoryName=name, filePath="a")  # no branch yet
    work = git.init(tmp_path / "work")
    git.commit(work, "dir/a.txt", "a\n", "one")
    git("push", server.url(name), "main", cwd=work)
    with pytest.raises(cc.exceptions.FileDoesNotExistException):
        cc.get_file(repositoryName=name, filePath="missing.txt")
    with pytest.raises(cc.exceptions.FileDoesNotExistException):
        cc.get_file(repositoryName=name, filePath="dir")
    with pytest.raises(cc.exceptions.FolderDoesNotExistException):
        cc.get_folder(repositoryName=name, folderPath="dir/a.txt")
    with pytest.raises(cc.exceptions.CommitDoesNotExistException):
        cc.get_file(repositoryName=name, commitSpecifier="no-such-branch", filePath="dir/a.txt")
    with pytest.raises(cc.exceptions.InvalidPathException):
        cc.get_file(repositoryName=name, filePath="dir/../a.txt")
    with pytest.raises(cc.exceptions.InvalidBlobIdException):
        cc.get_blob(repositoryName=name, blobId="xyz")
    with pytest.raises(cc.exceptions.BlobIdDoesNotExistException):
        cc.get_blob(repositoryName=name, blobId="0" * 40)
    with pytest.raises(cc.exceptions.CommitIdDoesNotExistException):
        cc.get_commit(repositoryName=name, commitId="0" * 40)
    with pytest.raises(cc.exceptions.InvalidCommitIdException):
        cc.get_commit(repositoryName=name, commitId="abc")
    with pytest.raises(cc.exceptions.CommitIdsLimitExceededException):
        cc.batch_get_commits(repositoryName=name, commitIds=["0" * 40] * 101)
    with pytest.raises(cc.exceptions.PathDoesNotExistException):
        cc.get_differences(repositoryName=name, afterCommitSpecifier="main", afterPath="nope")


def test_write_rules_and_errors(cc: BaseClient, server: Server) -> None:
    name = _repo(cc)
    first = cc.put_file(repositoryName=name, branchName="main", fileContent=b"1", filePath="a/f")
    parent = first["commitId"]
    with pytest.raises(cc.exceptions.ParentCommitIdRequiredException):
        cc.put_file(repositoryName=name, branchName="main", fileContent=b"2", filePath="a/f")
    with pytest.raises(cc.exceptions.InvalidParentCommitIdException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"2",
            filePath="a/f",
            parentCommitId="abc",
        )
    with pytest.raises(cc.exceptions.ParentCommitDoesNotExistException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"2",
            filePath="a/f",
            parentCommitId="0" * 40,
        )
    with pytest.raises(cc.exceptions.SameFileContentException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"1",
            filePath="a/f",
            parentCommitId=parent,
        )
    with pytest.raises(cc.exceptions.FileNameConflictsWithDirectoryNameException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"x",
            filePath="a",
            parentCommitId=parent,
        )
    with pytest.raises(cc.exceptions.DirectoryNameConflictsWithFileNameException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"x",
            filePath="a/f/g",
            parentCommitId=parent,
        )
    with pytest.raises(cc.exceptions.BranchDoesNotExistException):
        cc.put_file(
            repositoryName=name,
            branchName="other",
            fileContent=b"x",
            filePath="x",
            parentCommitId=parent,
        )
    with pytest.raises(cc.exceptions.InvalidEmailException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"x",
            filePath="x",
            parentCommitId=parent,
            email="not-an-email",
        )
    with pytest.raises(cc.exceptions.InvalidFileModeException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"x",
            filePath="x",
            parentCommitId=parent,
            fileMode="WEIRD",
        )
    second = cc.put_file(
        repositoryName=name,
        branchName="main",
        fileContent=b"2",
        filePath="a/f",
        parentCommitId=parent,
        fileMode="EXECUTABLE",
    )
    with pytest.raises(cc.exceptions.ParentCommitIdOutdatedException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"3",
            filePath="a/f",
            parentCommitId=parent,
        )
    got = cc.get_file(repositoryName=name, filePath="a/f")
    assert (got["fileContent"], got["fileMode"]) == (b"2", "EXECUTABLE")

    deleted = cc.delete_file(
        repositoryName=name,
        branchName="main",
        filePath="a/f",
        parentCommitId=second["commitId"],
        keepEmptyFolders=True,
    )
    assert deleted["filePath"] == "a/f" and deleted["blobId"] == got["blobId"]
    kept = cc.get_folder(repositoryName=name, folderPath="a")["files"]
    assert [f["relativePath"] for f in kept] == ["..gitkeep"]
    with pytest.raises(cc.exceptions.FileDoesNotExistException):
        cc.delete_file(
            repositoryName=name,
            branchName="main",
            filePath="a/f",
            parentCommitId=deleted["commitId"],
        )
    # Nothing was written by the refused requests: main moved exactly three times.
    types = [e["type"] for e in server.events(name) if e["type"].startswith("reference")]
    assert types == ["referenceCreated", "referenceUpdated", "referenceUpdated"]


def test_create_commit(cc: BaseClient, server: Server, git: Git, tmp_path: Path) -> None:
    name = _repo(cc)
    base = cc.create_commit(
        repositoryName=name,
        branchName="main",
        authorName="Bo",
        email="bo@example.com",
        commitMessage="base",
        putFiles=[
            {"filePath": "keep.txt", "fileContent": b"keep"},
            {"filePath": "old/name.txt", "fileContent": b"moving"},
            {"filePath": "gone.txt", "fileContent": b"bye"},
            {"filePath": "tool", "fileContent": b"#!/bin/sh\n"},
        ],
    )
    assert sorted(f["absolutePath"] for f in base["filesAdded"]) == [
        "gone.txt",
        "keep.txt",
        "old/name.txt",
        "tool",
    ]
    change = cc.create_commit(
        repositoryName=name,
        branchName="main",
        parentCommitId=base["commitId"],
        commitMessage="change",
        putFiles=[
            {
                "filePath": "new/name.txt",
                "sourceFile": {"filePath": "old/name.txt", "isMove": True},
            },
            {"filePath": "copy.txt", "sourceFile": {"filePath": "keep.txt"}},
            {"filePath": "keep.txt", "fileContent": b"kept, edited"},
        ],
        deleteFiles=[{"filePath": "gone.txt"}],
        setFileModes=[{"filePath": "tool", "fileMode": "EXECUTABLE"}],
    )
    assert sorted(f["absolutePath"] for f in change["filesAdded"]) == ["copy.txt", "new/name.txt"]
    assert sorted(f["absolutePath"] for f in change["filesUpdated"]) == ["keep.txt", "tool"]
    assert sorted(f["absolutePath"] for f in change["filesDeleted"]) == ["gone.txt", "old/name.txt"]

    clone = tmp_path / "clone"
    git("clone", "-q", server.url(name), str(clone), cwd=tmp_path)
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == [
        "copy.txt",
        "keep.txt",
        "new",
        "tool",
    ]
    assert (clone / "copy.txt").read_text() == "keep"
    assert (clone / "keep.txt").read_text() == "kept, edited"
    assert (clone / "tool").stat().st_mode & 0o111
    assert git("log", "--format=%an|%s", cwd=clone).stdout.split("\n")[1] == "Bo|base"

    parent = change["commitId"]
    errors = {
        "NoChangeException": {
            "putFiles": [{"filePath": "keep.txt", "fileContent": b"kept, edited"}]
        },
        "FileEntryRequiredException": {},
        "SamePathRequestException": {
            "putFiles": [{"filePath": "x", "fileContent": b"1"}],
            "deleteFiles": [{"filePath": "x"}],
        },
        "FileContentAndSourceFileSpecifiedException": {
            "putFiles": [
                {"filePath": "x", "fileContent": b"1", "sourceFile": {"filePath": "keep.txt"}}
            ]
        },
        "SourceFileOrContentRequiredException": {"putFiles": [{"filePath": "x"}]},
        "PutFileEntryConflictException": {
            "putFiles": [
                {"filePath": "x", "fileContent": b"1"},
                {"filePath": "x/y", "fileContent": b"2"},
            ]
        },
        "MaximumFileEntriesExceededException": {
            "putFiles": [{"filePath": f"f{n}", "fileContent": b"x"} for n in range(101)]
        },
        "FileDoesNotExistException": {"deleteFiles": [{"filePath": "never-there"}]},
    }
    for expected, entries in errors.items():
        with pytest.raises(ClientError) as raised:
            cc.create_commit(
                repositoryName=name, branchName="main", parentCommitId=parent, **entries
            )
        assert error_code(raised.value) == expected


def test_differences_paginate(cc: BaseClient) -> None:
    name = _repo(cc)
    result = cc.create_commit(
        repositoryName=name,
        branchName="main",
        putFiles=[{"filePath": f"f{n:02d}", "fileContent": b"x"} for n in range(7)],
    )
    pages = cc.get_paginator("get_differences").paginate(
        repositoryName=name,
        afterCommitSpecifier=result["commitId"],
        PaginationConfig={"PageSize": 3},
    )
    sizes, paths = [], []
    for page in pages:
        sizes.append(len(page["differences"]))
        paths += [d["afterBlob"]["path"] for d in page["differences"]]
    assert sizes == [3, 3, 1]
    assert paths == [f"f{n:02d}" for n in range(7)]
    with pytest.raises(cc.exceptions.InvalidContinuationTokenException):
        cc.get_differences(repositoryName=name, afterCommitSpecifier="main", NextToken="bogus")


def test_concurrent_writers_and_a_push_never_lose_a_commit(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path
) -> None:
    """Compare-and-swap: of writers racing from one parent exactly one wins; a push that
    lands between a read and a write is kept, and the write is refused."""
    name = _repo(cc)
    base = cc.put_file(repositoryName=name, branchName="main", fileContent=b"0", filePath="n")

    def write(n: int) -> str:
        try:
            cc.put_file(
                repositoryName=name,
                branchName="main",
                fileContent=str(n).encode(),
                filePath="n",
                parentCommitId=base["commitId"],
            )
            return "ok"
        except ClientError as exc:
            return error_code(exc)

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(write, range(1, 5)))
    assert outcomes == ["ParentCommitIdOutdatedException"] * 3 + ["ok"]

    tip = cc.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"]
    work = tmp_path / "work"
    git("clone", "-q", server.url(name), str(work), cwd=tmp_path)
    git.commit(work, "pushed.txt", "from git\n", "pushed")
    git("push", "-q", "origin", "main", cwd=work)
    pushed = git.rev_parse(work, "HEAD")
    with pytest.raises(cc.exceptions.ParentCommitIdOutdatedException):
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"late",
            filePath="n",
            parentCommitId=tip,
        )
    assert cc.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"] == pushed


def test_size_limits(make_server: Callable[..., Server], git: Git, tmp_path: Path) -> None:
    private = make_server("--no-ssh", "--max-file-size", "1000")
    client = client_for(private, "sizes", admin=True)
    name = _repo(client)
    with pytest.raises(client.exceptions.FileContentSizeLimitExceededException):
        client.put_file(
            repositoryName=name, branchName="main", fileContent=b"x" * 1001, filePath="big"
        )
    work = git.init(tmp_path / "work")
    git.commit(work, "big", "y" * 5000, "big file by git")
    git("push", private.url(name), "main", cwd=work)
    with pytest.raises(client.exceptions.FileTooLargeException):
        client.get_file(repositoryName=name, filePath="big")
    blob = git("rev-parse", "HEAD:big", cwd=work).stdout.strip()
    with pytest.raises(client.exceptions.FileTooLargeException):
        client.get_blob(repositoryName=name, blobId=blob)
