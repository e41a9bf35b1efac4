"""The git facts a located comment needs: commits, a file's blob, its lines, and how a
diff between two versions of a file moves them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gitserver.content.errors import PathNotFound
from gitserver.content.paths import join, split_path
from gitserver.gitcmd import Git
from gitserver.pulls import errors
from gitserver.store.errors import CommitNotFound, InvalidCommitId

_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


async def commit(git: Git, path: Path, oid: str | None) -> str:
    """`oid`, checked to be a full commit id of the repository.

    Raises:
        CommitIdRequired, InvalidCommitId, CommitNotFound.
    """
    if not oid:
        raise errors.CommitIdRequired("A commit id is required")
    if not _OID.fullmatch(oid):
        raise InvalidCommitId(f"{oid!r} is not a full commit id")
    result = await git.run("cat-file", "-t", oid, repo=path, check=False)
    if result.returncode != 0 or result.stdout.strip() != b"commit":
        raise CommitNotFound(f"Commit {oid} does not exist")
    return oid


def clean_path(file_path: str) -> str:
    """The path as stored: checked, without a leading slash.

    Raises:
        PathRequired, InvalidPath.
    """
    return join(split_path(file_path))


async def blob(git: Git, path: Path, commit_id: str, file_path: str) -> str | None:
    """The blob id of `file_path` in `commit_id`; None if no file is there."""
    result = await git.run("ls-tree", "-z", commit_id, "--", file_path, repo=path, check=False)
    if result.returncode != 0 or not result.stdout:
        return None
    meta, _, name = result.stdout.rstrip(b"\0").partition(b"\t")
    kind, oid = meta.split()[1:3]
    if kind != b"blob" or name.decode("utf-8", "surrogateescape") != file_path:
        return None
    return oid.decode()


async def line_count(git: Git, path: Path, blob_id: str) -> int:
    data = (await git.run("cat-file", "blob", blob_id, repo=path)).stdout
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


async def located_blob(
    git: Git, path: Path, commit_id: str, file_path: str, position: int | None
) -> str:
    """The blob a location points into, its line checked.

    Raises:
        PathNotFound, InvalidFilePosition.
    """
    found = await blob(git, path, commit_id, file_path)
    if found is None:
        raise PathNotFound(f"The path {file_path} does not exist in commit {commit_id}")
    if position is not None and not 1 <= position <= await line_count(git, path, found):
        raise errors.InvalidFilePosition(
            f"Line {position} does not exist in {file_path} at commit {commit_id}"
        )
    return found


# -- carrying lines across a diff ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hunk:
    """A change: `old_count` lines from `old_start` became `new_count` lines."""

    old_start: int
    old_count: int
    new_count: int


async def hunks(git: Git, path: Path, old_blob: str, new_blob: str) -> list[Hunk] | None:
    """The changes between two blobs, or None when git sees them as binary."""
    if old_blob == new_blob:
        return []
    result = await git.run(
        "diff", "--no-color", "--no-ext-diff", "--unified=0", old_blob, new_blob, repo=path
    )
    if b"\nBinary files " in result.stdout or result.stdout.startswith(b"Binary files "):
        return None
    found = []
    for match in _HUNK.finditer(result.stdout):
        old_start, old_count, _, new_count = match.groups()
        found.append(
            Hunk(
                int(old_start),
                1 if old_count is None else int(old_count),
                1 if new_count is None else int(new_count),
            )
        )
    return found


def moved_line(line: int, changes: list[Hunk]) -> int | None:
    """Where old `line` is after `changes`; None if the change touched it."""
    shift = 0
    for hunk in changes:
        if hunk.old_count == 0:
            # An insertion after old line `old_start`: lines below it move down.
            if line > hunk.old_start:
                shift += hunk.new_count
            continue
        end = hunk.old_start + hunk.old_count - 1
        if hunk.old_start <= line <= end:
            return None
        if line > end:
            shift += hunk.new_count - hunk.old_count
    return line + shift


async def renames(git: Git, path: Path, old: str, new: str) -> dict[str, str | None]:
    """Every path of `old` the diff to `new` changed, mapped to its path in `new` (None:
    deleted). Unlisted paths are unchanged."""
    result = await git.run(
        "diff", "--no-color", "--name-status", "-z", "--find-renames", old, new, repo=path
    )
    fields = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    moved: dict[str, str | None] = {}
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        if status[0] in "RC":
            source, target = fields[index + 1], fields[index + 2]
            if status[0] == "R":
                moved[source] = target
            index += 3
            continue
        name = fields[index + 1]
        moved[name] = None if status[0] == "D" else name
        index += 2
    return moved
