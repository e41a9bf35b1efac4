"""Merge conflicts through real boto3 (GetMergeConflicts, DescribeMergeConflicts,
BatchDescribeMergeConflicts), each kind checked against what `git merge` says in a clone
of the same commits."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "conflicts-admin", admin=True)


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Exe:
    content: str


Change = str | bytes | Link | Exe | None  # None: delete


@dataclass
class Diverged:
    name: str
    work: Path
    git: Git

    def merge(self) -> tuple[set[str], str]:
        """`git merge feature` into main (diff3 markers): the unmerged paths, git's output."""
        self.git("checkout", "-q", "--detach", "main", cwd=self.work)
        merged = self.git(
            "-c", "merge.conflictStyle=diff3", "merge", "--no-edit", "feature",
            cwd=self.work, check=False,
        )  # fmt: skip
        listed = self.git("ls-files", "-u", "-z", cwd=self.work).stdout.split("\0")
        unmerged = {line.partition("\t")[2] for line in listed if line}
        return unmerged, merged.stdout

    def markers(self, path: str) -> list[tuple[str, str, str]]:
        """The (ours, base, theirs) sections of each conflict git marked in `path`."""
        sections: list[tuple[str, str, str]] = []
        part: list[list[str]] = []
        for line in (self.work / path).read_text().splitlines(keepends=True):
            if line.startswith("<<<<<<< "):
                part = [[]]
            elif line.startswith(("||||||| ", "=======")) and part:
                part.append([])
            elif line.startswith(">>>>>>> ") and part:
                ours, base, theirs = ("".join(p) for p in part)
                sections.append((ours, base, theirs))
                part = []
            elif part:
                part[-1].append(line)
        return sections


def _apply(git: Git, work: Path, changes: dict[str, Change]) -> None:
    for name, change in changes.items():
        target = work / name
        if change is None:
            git("rm", "-q", "-r", name, cwd=work)
            continue
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(change, Link):
            target.symlink_to(change.target)
        elif isinstance(change, Exe):
            target.write_text(change.content)
            target.chmod(0o755)
        elif isinstance(change, bytes):
            target.write_bytes(change)
        else:
            target.write_text(change)
        git("add", "-A", name, cwd=work)


@pytest.fixture
def diverge(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> Callable[..., Diverged]:
    def make(
        base: dict[str, Change], destination: dict[str, Change], source: dict[str, Change]
    ) -> Diverged:
        name = repo("conflicts")
        work = git.init(tmp_path / name)
        for changes, branch in ((base, "main"), (source, "feature"), (destination, "main")):
            if branch == "feature":
                git("checkout", "-q", "-b", "feature", cwd=work)
            elif changes is destination:
                git("checkout", "-q", "main", cwd=work)
            _apply(git, work, changes)
            git("commit", "-q", "--allow-empty", "-m", branch, cwd=work)
        git("push", "-q", server.url(name), "main", "feature", cwd=work)
        return Diverged(name, work, git)

    return make


def _args(found: Diverged, **more: Any) -> dict[str, Any]:
    return {
        "repositoryName": found.name,
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
        "mergeOption": "THREE_WAY_MERGE",
        **more,
    }


def _text(detail: dict[str, Any]) -> str:
    return base64.b64decode(detail["hunkContent"]).decode()


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return error_code(caught.value)


def test_a_content_conflict_has_git_merges_hunks(
    cc: BaseClient, diverge: Callable[..., Diverged]
) -> None:
    lines = "".join(f"{n}\n" for n in range(1, 11))
    found = diverge(
        {"f.txt": lines},
        {"f.txt": lines.replace("2\n", "two\n").replace("9\n", "nine\n")},
        {"f.txt": lines.replace("2\n", "deux\n").replace("5\n", "cinq\n")},
    )
    unmerged, _ = found.merge()
    assert unmerged == {"f.txt"}
    result = cc.get_merge_conflicts(**_args(found, conflictDetailLevel="LINE_LEVEL"))
    assert result["mergeable"] is False
    assert result["baseCommitId"] == found.git.rev_parse(found.work, "main~1")
    [meta] = result["conflictMetadataList"]
    assert meta["filePath"] == "f.txt"
    assert meta["contentConflict"] is True
    assert (meta["fileModeConflict"], meta["objectTypeConflict"]) == (False, False)
    assert meta["mergeOperations"] == {"source": "M", "destination": "M"}
    assert meta["objectTypes"] == {"base": "FILE", "source": "FILE", "destination": "FILE"}
    assert meta["fileModes"] == {"base": "NORMAL", "source": "NORMAL", "destination": "NORMAL"}
    assert meta["isBinaryFile"] == {"base": False, "source": False, "destination": False}
    assert meta["fileSizes"]["base"] == len(lines)
    markers = found.markers("f.txt")
    assert meta["numberOfConflicts"] == len(markers) == 1

    described = cc.describe_merge_conflicts(
        **_args(found, conflictDetailLevel="LINE_LEVEL", filePath="f.txt")
    )
    hunks = described["mergeHunks"]
    conflicts = [h for h in hunks if h["isConflict"]]
    assert [(_text(h["destination"]), _text(h["base"]), _text(h["source"])) for h in conflicts] == (
        markers
    )
    # Line 2 (index 1) on every side; each side's other change is a hunk of its own.
    assert [(h["destination"]["startLine"], h["destination"]["endLine"]) for h in conflicts] == [
        (1, 2)
    ]
    assert len(hunks) == 3 and sum(not h["isConflict"] for h in hunks) == 2
    assert described["conflictMetadata"] == meta

    page = cc.describe_merge_conflicts(
        **_args(found, conflictDetailLevel="LINE_LEVEL", filePath="f.txt", maxMergeHunks=2)
    )
    rest = cc.describe_merge_conflicts(
        **_args(
            found,
            conflictDetailLevel="LINE_LEVEL",
            filePath="f.txt",
            maxMergeHunks=2,
            nextToken=page["nextToken"],
        )
    )
    assert page["mergeHunks"] + rest["mergeHunks"] == hunks and "nextToken" not in rest


@pytest.mark.parametrize(
    ("base", "destination", "source", "path", "expected"),
    [
        pytest.param(
            {"f.txt": "a\nb\n"},
            {"f.txt": None},
            {"f.txt": "a\nB\n"},
            "f.txt",
            {
                "contentConflict": True,
                "mergeOperations": {"destination": "D", "source": "M"},
                "objectTypes": {"base": "FILE", "source": "FILE"},
            },
            id="modify-delete",
        ),
        pytest.param(
            {"keep": "k"},
            {"g.txt": "ours\n"},
            {"g.txt": "theirs\n"},
            "g.txt",
            {
                "contentConflict": True,
                "mergeOperations": {"destination": "A", "source": "A"},
                "objectTypes": {"source": "FILE", "destination": "FILE"},
            },
            id="add-add",
        ),
        pytest.param(
            {"keep": "k"},
            {"run.sh": Exe("echo\n")},
            {"run.sh": "echo\n"},
            "run.sh",
            {
                "contentConflict": False,
                "fileModeConflict": True,
                "fileModes": {"source": "NORMAL", "destination": "EXECUTABLE"},
            },
            id="mode",
        ),
        pytest.param(
            {"keep": "k"},
            {"d": "a file\n"},
            {"d/x.txt": "in a folder\n"},
            "d",
            {
                "objectTypeConflict": True,
                "objectTypes": {"source": "DIRECTORY", "destination": "FILE"},
                "mergeOperations": {"destination": "A", "source": "A"},
            },
            id="file-directory",
        ),
        pytest.param(
            {"keep": "k"},
            {"l": Link("keep")},
            {"l": "keep"},
            "l",
            {
                "objectTypeConflict": True,
                "objectTypes": {"source": "FILE", "destination": "SYMBOLIC_LINK"},
                "fileModes": {"source": "NORMAL", "destination": "SYMLINK"},
            },
            id="symlink",
        ),
        pytest.param(
            {"b.bin": b"\0\1\2"},
            {"b.bin": b"\0\1\3"},
            {"b.bin": b"\0\1\4"},
            "b.bin",
            {
                "contentConflict": True,
                "numberOfConflicts": 1,
                "isBinaryFile": {"base": True, "source": True, "destination": True},
                "fileSizes": {"base": 3, "source": 3, "destination": 3},
            },
            id="binary",
        ),
        pytest.param(
            {"old.txt": "1\n2\n3\n4\n5\n6\n"},
            {"old.txt": "one\n2\n3\n4\n5\n6\n"},
            {"old.txt": None, "new.txt": "uno\n2\n3\n4\n5\n6\n"},
            "new.txt",
            {"contentConflict": True, "mergeOperations": {"destination": "M", "source": "M"}},
            id="rename",
        ),
    ],
)
def test_each_conflict_kind_is_what_git_merge_stops_on(
    cc: BaseClient,
    diverge: Callable[..., Diverged],
    base: dict[str, Change],
    destination: dict[str, Change],
    source: dict[str, Change],
    path: str,
    expected: dict[str, Any],
) -> None:
    found = diverge(base, destination, source)
    unmerged, output = found.merge()
    assert unmerged, output
    result = cc.get_merge_conflicts(**_args(found, conflictDetailLevel="LINE_LEVEL"))
    listed = {m["filePath"]: m for m in result["conflictMetadataList"]}
    # git's index names the side it moved aside `path~<commit>`; the user's path is one.
    assert set(listed) == {p.split("~")[0] for p in unmerged}
    assert result["mergeable"] is False
    meta = listed[path]
    assert {k: meta[k] for k in expected} == expected
    assert meta["numberOfConflicts"] >= 1
    batch = cc.batch_describe_merge_conflicts(**_args(found, conflictDetailLevel="LINE_LEVEL"))
    assert [c["conflictMetadata"] for c in batch["conflicts"]] == result["conflictMetadataList"]
    assert batch["errors"] == []


def test_detail_level_and_strategy(cc: BaseClient, diverge: Callable[..., Diverged]) -> None:
    """Changes to different lines of one file: git merges them; FILE_LEVEL does not."""
    found = diverge({"f.txt": "1\n2\n3\n"}, {"f.txt": "one\n2\n3\n"}, {"f.txt": "1\n2\nthree\n"})
    unmerged, _ = found.merge()
    assert unmerged == set()
    line = cc.get_merge_conflicts(**_args(found, conflictDetailLevel="LINE_LEVEL"))
    assert (line["mergeable"], line["conflictMetadataList"]) == (True, [])
    file = cc.get_merge_conflicts(**_args(found))  # FILE_LEVEL is the default
    assert file["mergeable"] is False
    [meta] = file["conflictMetadataList"]
    assert (meta["filePath"], meta["contentConflict"], meta["numberOfConflicts"]) == (
        "f.txt",
        True,
        1,
    )
    assert meta["fileSizes"] == {"base": 6, "destination": 8, "source": 10}
    assert meta["isBinaryFile"] == {"base": False, "destination": False, "source": False}
    described = cc.describe_merge_conflicts(**_args(found, filePath="f.txt"))
    assert described["conflictMetadata"] == meta
    assert [h["isConflict"] for h in described["mergeHunks"]] == [False, False]
    auto = cc.get_merge_conflicts(**_args(found, conflictResolutionStrategy="AUTOMERGE"))
    assert (auto["mergeable"], auto["conflictMetadataList"]) == (True, [])
    accept = cc.get_merge_conflicts(**_args(found, conflictResolutionStrategy="ACCEPT_SOURCE"))
    assert accept["mergeable"] is True and len(accept["conflictMetadataList"]) == 1
    forward = cc.get_merge_conflicts(**_args(found, mergeOption="FAST_FORWARD_MERGE"))
    assert forward["mergeable"] is False
    base = found.git.rev_parse(found.work, "main~1")
    behind = cc.get_merge_conflicts(
        **_args(found, mergeOption="FAST_FORWARD_MERGE", destinationCommitSpecifier=base)
    )
    assert (behind["mergeable"], behind["conflictMetadataList"]) == (True, [])


def test_paging_and_errors(cc: BaseClient, diverge: Callable[..., Diverged]) -> None:
    names = [f"f{n}.txt" for n in range(5)]
    found = diverge(
        {n: "x\n" for n in names}, {n: "ours\n" for n in names}, {n: "theirs\n" for n in names}
    )
    pages: list[str] = []
    token: dict[str, str] = {}
    while True:
        result = cc.get_merge_conflicts(**_args(found, maxConflictFiles=2, **token))
        assert len(result["conflictMetadataList"]) <= 2
        pages += [m["filePath"] for m in result["conflictMetadataList"]]
        if "nextToken" not in result:
            break
        token = {"nextToken": result["nextToken"]}
    assert pages == names

    batch = cc.batch_describe_merge_conflicts(
        **_args(found, maxConflictFiles=1, filePaths=["f3.txt", "f1.txt", "nope.txt"])
    )
    assert [c["conflictMetadata"]["filePath"] for c in batch["conflicts"]] == ["f1.txt"]
    assert [(e["filePath"], e["exceptionName"]) for e in batch["errors"]] == [
        ("nope.txt", "FileDoesNotExistException")
    ]
    second = cc.batch_describe_merge_conflicts(
        **_args(
            found,
            maxConflictFiles=1,
            filePaths=["f3.txt", "f1.txt", "nope.txt"],
            nextToken=batch["nextToken"],
        )
    )
    assert [c["conflictMetadata"]["filePath"] for c in second["conflicts"]] == ["f3.txt"]
    assert "nextToken" not in second
    hunks = cc.batch_describe_merge_conflicts(**_args(found, maxMergeHunks=1))["conflicts"]
    assert [len(c["mergeHunks"]) for c in hunks] == [1] * 5

    assert _code(lambda: cc.describe_merge_conflicts(**_args(found, filePath="nope.txt"))) == (
        "FileDoesNotExistException"
    )
    assert _code(lambda: cc.get_merge_conflicts(**_args(found, mergeOption="OCTOPUS"))) == (
        "InvalidMergeOptionException"
    )
    assert _code(
        lambda: cc.get_merge_conflicts(**_args(found, conflictDetailLevel="WORD_LEVEL"))
    ) == ("InvalidConflictDetailLevelException")
    assert _code(lambda: cc.get_merge_conflicts(**_args(found, maxConflictFiles=0))) == (
        "InvalidMaxConflictFilesException"
    )
    assert _code(
        lambda: cc.describe_merge_conflicts(**_args(found, filePath="f1.txt", maxMergeHunks=0))
    ) == ("InvalidMaxMergeHunksException")
    assert _code(lambda: cc.get_merge_conflicts(**_args(found, nextToken="bogus"))) == (
        "InvalidContinuationTokenException"
    )
    assert _code(
        lambda: cc.get_merge_conflicts(**_args(found, sourceCommitSpecifier="no-such-branch"))
    ) == ("CommitDoesNotExistException")
