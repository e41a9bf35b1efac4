"""What stands in the way of a merge (GetMergeConflicts, DescribeMergeConflicts,
BatchDescribeMergeConflicts): the conflicted files, each side's version of them, and
their line-level hunks.

git finds the conflicts (`content.mergetree`, ort: what `git merge` would stop on). What
git wrote for the merge stays in the repository, unreferenced: describing the same merge
again (a pull request's page is read many times) or then making it finds those objects
there, where writing them again would cost more than the merge itself. At FILE_LEVEL a
file both sides changed is a conflict even where git merged it line by line (its
"Auto-merging" message names each); AUTOMERGE asks for git's merge, so at either level
only git's conflicts count. ACCEPT_SOURCE and ACCEPT_DESTINATION resolve every
conflict: the conflicts are still described, and the merge is mergeable.

Each side's version is read at the path the user knows, from git's index stages where it
recorded one (they follow renames), else from the side's commit (the folder that stands
where the other side has a file has no stage).
"""

from __future__ import annotations

import asyncio
import stat
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Blob, ObjectID

from gitserver.content.errors import FileNotFound, MaximumFileContentToLoadExceeded
from gitserver.content.hunks import MergeHunk, merge_hunks
from gitserver.content.merges import conflicted_paths, is_ancestor
from gitserver.content.mergetree import MergeTree, Stage, merge_tree
from gitserver.content.paths import join, split_path
from gitserver.content.reader import Reader
from gitserver.content.sizes import object_size
from gitserver.db import Repository
from gitserver.gitcmd import Git
from gitserver.store.repositories import RepositoryStore

__all__ = [
    "ConflictMetadata",
    "ConflictQuery",
    "Conflicts",
    "MergeConflicts",
    "Version",
]

_FILE_MODES = {0o100644: "NORMAL", 0o100755: "EXECUTABLE", 0o120000: "SYMLINK"}
_GITLINK = 0o160000
_BINARY_PROBE = 8000  # git's own: a NUL in the first 8000 bytes makes a file binary


@dataclass(frozen=True, slots=True)
class ConflictQuery:
    option: str  # FAST_FORWARD_MERGE | SQUASH_MERGE | THREE_WAY_MERGE
    level: str = "FILE_LEVEL"  # CodeCommit's default
    strategy: str = "NONE"  # NONE | ACCEPT_SOURCE | ACCEPT_DESTINATION | AUTOMERGE


@dataclass(frozen=True, slots=True)
class Version:
    """One side's object at a conflicted path."""

    object_id: str
    object_type: str  # FILE | DIRECTORY | GIT_LINK | SYMBOLIC_LINK
    mode: str | None  # NORMAL | EXECUTABLE | SYMLINK; None for a folder or a submodule
    size: int | None  # bytes; None for a folder or a submodule
    binary: bool | None


@dataclass(frozen=True, slots=True)
class ConflictMetadata:
    path: str
    base: Version | None
    destination: Version | None
    source: Version | None
    number_of_conflicts: int
    content_conflict: bool
    file_mode_conflict: bool
    object_type_conflict: bool
    destination_operation: str | None  # A | M | D against the base; None: unchanged
    source_operation: str | None


@dataclass(frozen=True, slots=True)
class Conflicts:
    mergeable: bool
    destination: str
    source: str
    base: str  # "" when the histories are unrelated
    paths: tuple[str, ...]  # conflicted paths, sorted
    stages: dict[str, tuple[Stage | None, Stage | None, Stage | None]]  # base, dest, source
    merged: frozenset[str]  # the paths git merged line by line (FILE_LEVEL conflicts only)


class MergeConflicts:
    def __init__(self, git: Git, store: RepositoryStore, content_limit: int) -> None:
        self.git = git
        self.store = store
        self.content_limit = content_limit

    async def find(
        self, repo: Repository, source: str, destination: str, query: ConflictQuery
    ) -> Conflicts:
        """The conflicted paths of merging `source` into `destination` at `query`.

        Raises:
            InvalidCommit, CommitNotFound, GitError.
        """
        path = self.store.path(repo.id)
        source_id, destination_id = await asyncio.to_thread(
            _resolve, path, repo, source, destination
        )
        merged = await merge_tree(self.git, path, destination_id, source_id)
        stages = _stages(merged)
        merged_paths: set[str] = set()
        if query.level == "FILE_LEVEL" and query.strategy != "AUTOMERGE":
            for message in merged.messages:
                both = message.kind == "Auto-merging" and len(message.paths) == 1
                if both and message.paths[0] not in stages:
                    merged_paths.add(message.paths[0])
                    stages[message.paths[0]] = (None, None, None)
        if query.option == "FAST_FORWARD_MERGE":
            mergeable = await is_ancestor(self.git, path, destination_id, source_id)
        else:
            mergeable = not stages or query.strategy in ("ACCEPT_SOURCE", "ACCEPT_DESTINATION")
        return Conflicts(
            mergeable,
            destination_id,
            source_id,
            merged.merge_base,
            tuple(sorted(stages)),
            stages,
            frozenset(merged_paths),
        )

    async def metadata(
        self, repo: Repository, found: Conflicts, paths: tuple[str, ...]
    ) -> list[ConflictMetadata]:
        """Each of `paths` (conflicted paths of `found`) described.

        Raises:
            MaximumFileContentToLoadExceeded: a version is too large to count its conflicts.
        """
        described = await asyncio.to_thread(self._described, repo, found, paths, False)
        return [metadata for metadata, _ in described]

    async def hunks(
        self, repo: Repository, found: Conflicts, paths: tuple[str, ...]
    ) -> list[tuple[ConflictMetadata, list[MergeHunk]]]:
        """Each of `paths` described, with its line-level hunks (none for a binary file,
        a folder, a submodule, or a side that has no file there).

        Raises:
            FileNotFound: a path that is not in conflict.
            MaximumFileContentToLoadExceeded.
        """
        for name in paths:
            if name not in found.stages:
                raise FileNotFound(f"{name} is not a conflicted file in this merge")
        return await asyncio.to_thread(self._described, repo, found, paths, True)

    def _described(
        self, repo: Repository, found: Conflicts, paths: tuple[str, ...], with_hunks: bool
    ) -> list[tuple[ConflictMetadata, list[MergeHunk]]]:
        with Reader(self.store.path(repo.id)) as reader:
            trees = _Trees(reader, (found.base, found.destination, found.source))
            return [
                _describe(reader, trees, found, name, self.content_limit, with_hunks)
                for name in paths
            ]


def _resolve(path: Path, repo: Repository, source: str, destination: str) -> tuple[str, str]:
    with Reader(path) as reader:
        return (
            reader.resolve(source, repo.default_branch).id.decode(),
            reader.resolve(destination, repo.default_branch).id.decode(),
        )


Stages = tuple[Stage | None, Stage | None, Stage | None]


def _stages(merged: MergeTree) -> dict[str, Stages]:
    """git's conflicted entries by the path the user knows (a side git moved aside to
    `path~<commit>` is a side of `path`)."""
    names = conflicted_paths(merged)
    found: dict[str, Stages] = {}
    for entry in merged.conflicts:
        name = join(split_path(names[entry.path]))
        base, destination, source = found.get(name, (None, None, None))
        found[name] = (
            base or entry.base,
            destination or entry.destination,
            source or entry.source,
        )
    return found


class _Trees:
    """Entries at paths in the three commits, each tree read once however many paths
    share it."""

    def __init__(self, reader: Reader, commits: tuple[str, str, str]) -> None:
        self.reader = reader
        self.roots: list[bytes | None] = []
        for commit in commits:
            found = reader.commit(commit) if commit else None
            self.roots.append(bytes(found.tree) if found is not None else None)
        self.trees: dict[bytes, dict[bytes, tuple[int, bytes]]] = {}

    def entry(self, side: int, key: tuple[str, ...]) -> tuple[int, bytes] | None:
        root = self.roots[side]
        if root is None:
            return None
        mode, oid = stat.S_IFDIR, root
        for part in key:
            if not stat.S_ISDIR(mode):
                return None
            found = self._tree(oid).get(part.encode("utf-8", "surrogateescape"))
            if found is None:
                return None
            mode, oid = found
        return mode, oid

    def _tree(self, oid: bytes) -> dict[bytes, tuple[int, bytes]]:
        if oid not in self.trees:
            tree = self.reader.tree(oid)
            self.trees[oid] = {name: (mode, sha) for name, mode, sha in tree.iteritems()}
        return self.trees[oid]


def _describe(
    reader: Reader, trees: _Trees, found: Conflicts, name: str, limit: int, with_hunks: bool
) -> tuple[ConflictMetadata, list[MergeHunk]]:
    key = split_path(name)
    stages = found.stages.get(name, (None, None, None))
    entries = [
        (int(stage.mode, 8), stage.object_id.encode())
        if stage is not None
        else trees.entry(side, key)
        for side, stage in enumerate(stages)
    ]
    if name in found.merged and not with_hunks:
        # git merged the three versions line by line, so it found none of them binary
        # (a binary file both sides changed is always git's conflict): the sizes, from the
        # objects' headers, are all that is left to know, and no content is loaded.
        contents: list[bytes | None] = [None, None, None]
        versions = [_sized(reader, entry) if entry else None for entry in entries]
    else:
        contents = [_content(reader, entry, limit) for entry in entries]
        versions = [
            _version(entry, content) if entry else None
            for entry, content in zip(entries, contents, strict=True)
        ]
    base, destination, source = versions
    both = destination is not None and source is not None
    type_conflict = both and _kind(destination) != _kind(source)
    content_conflict = not type_conflict and _content_conflict(base, destination, source)
    mode_conflict = (
        not type_conflict
        and destination is not None
        and source is not None
        and destination.mode != source.mode
        and _mode(base) not in (destination.mode, source.mode)
    )
    hunks: list[MergeHunk] = []
    ours, theirs = contents[1], contents[2]
    textual = not type_conflict and not any(v and v.binary for v in (base, destination, source))
    # A file git merged has no line conflicts: at FILE_LEVEL it is one conflict, whole.
    wanted = with_hunks or (content_conflict and name not in found.merged)
    if ours is not None and theirs is not None and textual and wanted:
        hunks = merge_hunks(contents[0] or b"", ours, theirs)
    content_count = sum(h.is_conflict for h in hunks) or int(content_conflict)
    number = max(1, content_count + int(mode_conflict) + int(type_conflict))
    metadata = ConflictMetadata(
        name,
        base,
        destination,
        source,
        number,
        content_conflict,
        mode_conflict,
        type_conflict,
        _operation(base, destination),
        _operation(base, source),
    )
    return metadata, hunks


def _mode(version: Version | None) -> str | None:
    return version.mode if version else None


def _kind(version: Version | None) -> str | None:
    return version.object_type if version else None


def _content(reader: Reader, entry: tuple[int, bytes] | None, limit: int) -> bytes | None:
    """A blob's content (a file's or a symlink's target); None for anything else."""
    if entry is None or stat.S_ISDIR(entry[0]) or entry[0] == _GITLINK:
        return None
    blob = reader.obj(ObjectID(entry[1]))
    assert isinstance(blob, Blob)
    if blob.raw_length() > limit:
        raise MaximumFileContentToLoadExceeded(
            f"A conflicted file is larger than {limit} bytes; merge it with git"
        )
    return bytes(blob.as_raw_string())


def _version(entry: tuple[int, bytes], content: bytes | None) -> Version:
    mode, oid = entry
    if stat.S_ISDIR(mode):
        return Version(oid.decode(), "DIRECTORY", None, None, None)
    if mode == _GITLINK:
        return Version(oid.decode(), "GIT_LINK", None, None, None)
    assert content is not None
    kind = "SYMBOLIC_LINK" if mode == 0o120000 else "FILE"
    binary = b"\0" in content[:_BINARY_PROBE]
    return Version(oid.decode(), kind, _FILE_MODES.get(mode, "NORMAL"), len(content), binary)


def _sized(reader: Reader, entry: tuple[int, bytes]) -> Version:
    mode, oid = entry
    if stat.S_ISDIR(mode) or mode == _GITLINK:
        return _version(entry, None)
    size = object_size(reader.repo.object_store, ObjectID(oid))
    if size is None:  # no header says (an alternate): load it
        return _version(entry, reader.blob(oid, 1 << 62))
    kind = "SYMBOLIC_LINK" if mode == 0o120000 else "FILE"
    return Version(oid.decode(), kind, _FILE_MODES.get(mode, "NORMAL"), size, False)


def _content_conflict(
    base: Version | None, destination: Version | None, source: Version | None
) -> bool:
    if destination is None or source is None:
        # One side deleted what the other kept (modified, or renamed: rename/delete).
        return base is not None and (destination or source) is not None
    if destination.object_type == "DIRECTORY":
        return False
    ours, theirs = destination.object_id, source.object_id
    original = base.object_id if base else None
    return ours != theirs and original not in (ours, theirs)


def _operation(base: Version | None, side: Version | None) -> str | None:
    if base is None:
        return "A" if side else None
    if side is None:
        return "D"
    if (side.object_id, side.mode) != (base.object_id, base.mode):
        return "M"
    return None
