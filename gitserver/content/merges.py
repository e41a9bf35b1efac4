"""Merge commits made without a working tree: fast-forward, squash and three-way.

git computes the merge (`content.mergetree`, ort, exactly `git merge`'s result); what is
left to this module is what CodeCommit adds on top: the conflict-resolution strategy
(ACCEPT_SOURCE / ACCEPT_DESTINATION take that side's version of each conflicted path,
deletions and modes included), an explicit `conflictResolution` (replace contents, delete
files, set file modes), FILE_LEVEL (a file both sides changed is a conflict even where
git merged it), and the commit. Nothing here moves a ref: callers do, by
compare-and-swap, from the destination commit they passed in.

A conflicted path is the path the user knows. Where git had to record one side under
another name (a file where the other side has a folder, or a file where the other side
has a symlink: `path~<commit>`), both names are one conflicted path, and a resolution
puts the chosen side's version back at the real name.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dulwich.objects import Blob, Commit, ObjectID, ShaFile

from gitserver.content.errors import (
    FileContentTooLarge,
    InvalidConflictResolution,
    InvalidReplacementContent,
    ManualMergeRequired,
    MaximumConflictResolutionEntriesExceeded,
    MultipleConflictResolutionEntries,
    ReplacementContentRequired,
)
from gitserver.content.mergetree import ConflictedFile, MergeTree, Stage, merge_base, merge_tree
from gitserver.content.packs import install_objects
from gitserver.content.paths import join, split_path
from gitserver.content.reader import Reader
from gitserver.content.trees import TreeEditor
from gitserver.content.writer import MODES, Limits, check_identity
from gitserver.gitcmd import Git, GitError, user_value
from gitserver.store.errors import CommitNotFound
from gitserver.store.refs import MergeDetail

__all__ = [
    "MAX_RESOLUTION_ENTRIES",
    "ConflictResolution",
    "MergeOption",
    "MergeRequest",
    "MergeResult",
    "ReplaceContent",
    "conflicts_at",
    "is_ancestor",
    "merge_commits",
]

MAX_RESOLUTION_ENTRIES = 100  # as CreateCommit's file entries
DEFAULT_LIMITS = Limits.scaled(6 * 1024 * 1024)
_RENAMING_CONFLICTS = ("CONFLICT (file/directory)", "CONFLICT (distinct modes)")


class MergeOption(StrEnum):
    FAST_FORWARD = "FAST_FORWARD_MERGE"
    SQUASH = "SQUASH_MERGE"
    THREE_WAY = "THREE_WAY_MERGE"


@dataclass(frozen=True, slots=True)
class ReplaceContent:
    path: str
    replacement_type: str  # KEEP_BASE | KEEP_SOURCE | KEEP_DESTINATION | USE_NEW_CONTENT
    content: bytes | None = None
    file_mode: str | None = None  # NORMAL | EXECUTABLE | SYMLINK


@dataclass(frozen=True, slots=True)
class ConflictResolution:
    replace_contents: tuple[ReplaceContent, ...] = ()
    delete_files: tuple[str, ...] = ()
    set_file_modes: tuple[tuple[str, str], ...] = ()  # (path, NORMAL | EXECUTABLE | SYMLINK)

    def count(self) -> int:
        return len(self.replace_contents) + len(self.delete_files) + len(self.set_file_modes)


@dataclass(frozen=True, slots=True)
class MergeRequest:
    option: MergeOption
    strategy: str = "NONE"  # NONE | ACCEPT_SOURCE | ACCEPT_DESTINATION | AUTOMERGE
    level: str = "FILE_LEVEL"  # FILE_LEVEL (AWS default) | LINE_LEVEL
    resolution: ConflictResolution | None = None
    message: str | None = None
    author_name: str | None = None
    email: str | None = None
    keep_empty_folders: bool = False


@dataclass(frozen=True, slots=True)
class MergeResult:
    commit_id: str
    tree_id: str
    base_id: str | None = None  # the merge base of the commits merged

    def detail(self, request: MergeRequest, source: str, destination: str) -> MergeDetail:
        """The fields the merge adds to its ref's event (or its unreferenced commit's)."""
        return MergeDetail(
            self.base_id, source, destination, str(request.option), request.level, request.strategy
        )


async def is_ancestor(git: Git, path: Path, ancestor: str, descendant: str) -> bool:
    result = await git.run(
        "merge-base",
        "--is-ancestor",
        user_value(ancestor),
        user_value(descendant),
        repo=path,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise GitError(("merge-base", "--is-ancestor"), result.returncode, result.stderr)
    return result.returncode == 0


async def merge_commits(
    git: Git,
    path: Path,
    *,
    source: str,
    destination: str,
    request: MergeRequest,
    committer: str,
    limits: Limits = DEFAULT_LIMITS,
) -> MergeResult:
    """The commit that merges commit `source` into commit `destination`; no ref moves.

    When `source` is already in `destination` there is nothing to merge and the result is
    the destination itself, as `git merge` says "Already up to date". FAST_FORWARD gives
    `source` itself.

    Raises:
        CommitNotFound: either commit is not in the repository.
        ManualMergeRequired: a fast-forward is not possible, or conflicts remain that
            neither the strategy nor the resolution resolves.
        ContentError: the resolution's and the identity's rules; ObjectsRefused.
    """
    request_check(request)
    await asyncio.to_thread(_existing, path, (destination, source))
    if request.option is MergeOption.FAST_FORWARD:
        # One ancestor has no other merge base than itself: `merge-base` answers both.
        base = await merge_base(git, path, destination, source)
        if base == source:
            return await asyncio.to_thread(_as_result, path, destination, base)
        if base == destination:
            return await asyncio.to_thread(_as_result, path, source, base)
        raise ManualMergeRequired(
            "The destination is not an ancestor of the source: a fast-forward is not possible"
        )
    merged = await merge_tree(git, path, destination, source)  # the base found alongside
    base = merged.merge_base
    if base == source:  # already merged: git writes nothing new for this
        return await asyncio.to_thread(_as_result, path, destination, base)
    objects, tree_id = await asyncio.to_thread(
        _resolved_tree, path, merged, request, (destination, source), limits
    )
    if request.option is MergeOption.SQUASH and tree_id == await asyncio.to_thread(
        _tree_of, path, destination
    ):
        # `git merge --squash` with nothing to commit: the destination already has it all.
        return await asyncio.to_thread(_as_result, path, destination, base)
    commit = _commit(request, committer, tree_id, destination, source)
    await install_objects(git, path, [*objects, commit])
    return MergeResult(commit.id.decode(), tree_id.decode(), base or None)


def request_check(request: MergeRequest) -> None:
    """The rules a request breaks before any merge is computed.

    Raises:
        NameLengthExceeded, InvalidEmail, CommitMessageLengthExceeded,
        MaximumConflictResolutionEntriesExceeded, MultipleConflictResolutionEntries,
        ReplacementContentRequired, InvalidReplacementContent, InvalidPath.
    """
    check_identity(request.author_name or "", request.email or "", request.message or "")
    resolution = request.resolution
    if resolution is None:
        return
    if resolution.count() > MAX_RESOLUTION_ENTRIES:
        raise MaximumConflictResolutionEntriesExceeded(
            f"At most {MAX_RESOLUTION_ENTRIES} conflict resolution entries per merge"
        )
    resolved = [split_path(r.path) for r in resolution.replace_contents]
    resolved += [split_path(p) for p in resolution.delete_files]
    for paths in (resolved, [split_path(p) for p, _ in resolution.set_file_modes]):
        if len(set(paths)) != len(paths):
            raise MultipleConflictResolutionEntries(
                "A file appears in more than one conflict resolution entry"
            )
    for entry in resolution.replace_contents:
        if entry.replacement_type == "USE_NEW_CONTENT" and entry.content is None:
            raise ReplacementContentRequired(f"{entry.path}: USE_NEW_CONTENT needs content")
        if entry.replacement_type != "USE_NEW_CONTENT" and entry.content is not None:
            raise InvalidReplacementContent(
                f"{entry.path}: content is only for USE_NEW_CONTENT, not {entry.replacement_type}"
            )


def _existing(path: Path, commits: tuple[str, ...]) -> None:
    with Reader(path) as reader:
        for oid in commits:
            if reader.commit(oid) is None:
                raise CommitNotFound(f"Commit {oid} does not exist")


def _tree_of(path: Path, commit: str) -> bytes:
    with Reader(path) as reader:
        found = reader.commit(commit)
        assert found is not None
        return bytes(found.tree)


def _as_result(path: Path, commit: str, base: str) -> MergeResult:
    return MergeResult(commit, _tree_of(path, commit).decode(), base or None)


def _commit(
    request: MergeRequest, committer: str, tree_id: bytes, destination: str, source: str
) -> Commit:
    commit = Commit()
    commit.tree = ObjectID(tree_id)
    parents = [destination] if request.option is MergeOption.SQUASH else [destination, source]
    commit.parents = [ObjectID(p.encode()) for p in parents]
    # As the content writer: the author's name (the caller's by default) for both.
    identity = f"{request.author_name or committer} <{request.email or ''}>".encode()
    commit.author = commit.committer = identity
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = (request.message or _default_message(request.option, source)).encode()
    return commit


def _default_message(option: MergeOption, source: str) -> str:
    if option is MergeOption.SQUASH:
        return f"Squashed commit {source}\n"
    return f"Merge commit '{source}'\n"


# --- the merged tree, resolved ---------------------------------------------------------


@dataclass(slots=True)
class _Conflict:
    """One conflicted path as the user sees it, with every index path git used for it."""

    path: tuple[str, ...]
    recorded: set[tuple[str, ...]] = field(default_factory=set)
    base: Stage | None = None
    destination: Stage | None = None
    source: Stage | None = None

    def add(self, found: ConflictedFile) -> None:
        self.recorded.add(split_path(found.path))
        self.base = self.base or found.base
        self.destination = self.destination or found.destination
        self.source = self.source or found.source


def conflicted_paths(merged: MergeTree) -> dict[str, str]:
    """Each conflicted index path mapped to the path the user knows (itself, or the real
    name of a side git recorded as `path~<commit>`)."""
    aliases: dict[str, str] = {}
    for message in merged.messages:
        if message.kind in _RENAMING_CONFLICTS:
            for one in message.paths:
                for other in message.paths:
                    if one.startswith(other + "~"):
                        aliases[one] = other
    return {c.path: aliases.get(c.path, c.path) for c in merged.conflicts}


def conflicts_at(
    path: Path, merged: MergeTree, request: MergeRequest, commits: tuple[str, str]
) -> tuple[str, ...]:
    """The conflicted paths at `request.level` that `request.strategy` leaves to resolve
    (AUTOMERGE: only git's conflicts); `commits` are (destination, source)."""
    with Reader(path) as reader:
        return tuple(join(key) for key in _conflicts(reader, merged, request, commits))


def _conflicts(
    reader: Reader, merged: MergeTree, request: MergeRequest, commits: tuple[str, ...]
) -> dict[tuple[str, ...], _Conflict]:
    names = conflicted_paths(merged)
    found: dict[tuple[str, ...], _Conflict] = {}
    for conflicted in merged.conflicts:
        key = split_path(names[conflicted.path])
        found.setdefault(key, _Conflict(key)).add(conflicted)
    if request.level == "FILE_LEVEL" and request.strategy != "AUTOMERGE":
        # A file both sides changed, which git merged line by line: a conflict at FILE_LEVEL.
        for message in merged.messages:
            if message.kind != "Auto-merging" or len(message.paths) != 1:
                continue
            key = split_path(message.paths[0])
            if key not in found:
                both = _both_changed(reader, key, merged.merge_base, commits)
                # A file renamed on one side has no version under this name on the other:
                # git paired the two through the rename, and so does the conflict.
                if both.destination is not None and both.source is not None:
                    found[key] = both
    return found


def _both_changed(
    reader: Reader, key: tuple[str, ...], base: str, commits: tuple[str, ...]
) -> _Conflict:
    def stage(commit: str) -> Stage | None:
        found = reader.commit(commit) if commit else None
        entry = reader.entry(found, key) if found is not None else None
        return Stage(f"{entry[0]:o}", entry[1].decode()) if entry else None

    destination, source = commits
    return _Conflict(key, {key}, stage(base), stage(destination), stage(source))


def _resolved_tree(
    path: Path,
    merged: MergeTree,
    request: MergeRequest,
    commits: tuple[str, ...],
    limits: Limits,
) -> tuple[list[ShaFile], bytes]:
    with Reader(path) as reader:
        conflicts = _conflicts(reader, merged, request, commits)
        resolution = request.resolution or ConflictResolution()
        if not conflicts and not resolution.count():
            return [], merged.tree_id.encode()
        choices = _choices(conflicts, resolution, request.strategy)
        editor = TreeEditor(reader, merged.tree_id.encode())
        objects: list[ShaFile] = []
        deleted: set[tuple[str, ...]] = set()
        size = 0
        # A side recorded under another name goes back to its real name last, once what
        # stood in its way has its own resolution.
        for key in sorted(choices, key=lambda k: any(r != k for r in conflicts[k].recorded)):
            conflict, choice = conflicts[key], choices[key]
            for recorded in conflict.recorded:
                if editor.get(recorded) is not None:
                    # Folders emptied are kept (if asked) once every path is settled.
                    editor.remove(recorded, False)
            entry = _chosen(conflict, choice)
            if isinstance(choice, ReplaceContent) and choice.content is not None:
                if len(choice.content) > limits.file:
                    raise FileContentTooLarge(f"A file may hold at most {limits.file} bytes")
                size += len(choice.content)
                if size > limits.commit:
                    raise FileContentTooLarge(
                        f"A merge may add at most {limits.commit} bytes of content"
                    )
                blob = Blob.from_string(choice.content)
                objects.append(blob)
                entry = (entry[0] if entry else MODES["NORMAL"], bytes(blob.id))
            if isinstance(choice, ReplaceContent) and choice.file_mode and entry:
                entry = (MODES[choice.file_mode], entry[1])
            if entry is not None:
                editor.remove_folder(key)
                editor.put(key, *entry)
            else:
                deleted.add(key)
        aliases = {r: k for k, c in conflicts.items() for r in c.recorded}
        for name, mode in resolution.set_file_modes:
            key = aliases.get(split_path(name), split_path(name))
            if key not in conflicts:
                raise InvalidConflictResolution(f"{join(key)} is not a conflicted file")
            found = editor.get(key)
            if found is None:
                raise InvalidConflictResolution(f"{join(key)} is not a file after the merge")
            editor.put(key, MODES[mode], found[1])
        if request.keep_empty_folders:
            for key in deleted:
                editor.keep_folder(key[:-1])
        tree_id, trees = editor.write()
        return [*objects, *trees], tree_id


Choice = ReplaceContent | str  # a replacement, or "DELETE" / "SOURCE" / "DESTINATION"


def _choices(
    conflicts: dict[tuple[str, ...], _Conflict], resolution: ConflictResolution, strategy: str
) -> dict[tuple[str, ...], Choice]:
    aliases = {r: k for k, c in conflicts.items() for r in c.recorded}
    choices: dict[tuple[str, ...], Choice] = {}
    entries: list[tuple[str, Choice]] = [(r.path, r) for r in resolution.replace_contents]
    entries += [(p, "DELETE") for p in resolution.delete_files]
    for name, choice in entries:
        key = aliases.get(split_path(name), split_path(name))
        if key not in conflicts:
            raise InvalidConflictResolution(f"{join(split_path(name))} is not a conflicted file")
        if key in choices:
            raise MultipleConflictResolutionEntries(f"{join(key)} is resolved more than once")
        choices[key] = choice
    unresolved = [k for k in conflicts if k not in choices]
    if unresolved and strategy not in ("ACCEPT_SOURCE", "ACCEPT_DESTINATION"):
        raise ManualMergeRequired(
            f"The merge has conflicts to resolve ({len(unresolved)} files, the first "
            f"{join(unresolved[0])}): resolve them or choose a conflict resolution strategy"
        )
    side = "SOURCE" if strategy == "ACCEPT_SOURCE" else "DESTINATION"
    for key in unresolved:
        choices[key] = side
    return choices


def _chosen(conflict: _Conflict, choice: Choice) -> tuple[int, bytes] | None:
    """The (mode, blob) the resolution puts at the conflicted path; None: none."""
    if isinstance(choice, ReplaceContent):
        kind = choice.replacement_type
        if kind == "USE_NEW_CONTENT":
            stage = conflict.destination or conflict.source
            return (int(stage.mode, 8), b"") if stage else None
        stage = {
            "KEEP_BASE": conflict.base,
            "KEEP_SOURCE": conflict.source,
            "KEEP_DESTINATION": conflict.destination,
        }[kind]
    elif choice == "SOURCE":
        stage = conflict.source
    elif choice == "DESTINATION":
        stage = conflict.destination
    else:
        stage = None
    return (int(stage.mode, 8), stage.object_id.encode()) if stage else None
