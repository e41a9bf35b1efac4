"""Differences between commits and the history of one file, from dulwich's tree diff."""

from __future__ import annotations

import stat
from collections.abc import Iterator

from dulwich.object_store import BaseObjectStore
from dulwich.objects import Commit, ObjectID, Tree, parse_tree
from dulwich.walk import Walker

from gitserver.content.errors import PathNotFound
from gitserver.content.paths import join, split_path
from gitserver.content.reader import GITLINK, Reader
from gitserver.content.views import BlobRef, ChangeType, Difference, FileVersion

# git's modes as CodeCommit writes them; looked up, not formatted, per changed file.
_MODES = {mode: f"{mode:06o}" for mode in (0o100644, 0o100755, 0o120000, 0o160000)}


def _blob(path: bytes, mode: int, sha: bytes) -> BlobRef:
    text = _MODES.get(mode) or f"{mode:06o}"
    return BlobRef(sha.decode(), path.decode("utf-8", "surrogateescape"), text)


def _under(path: str | None, prefix: str) -> bool:
    return path is not None and (not prefix or path == prefix or path.startswith(prefix + "/"))


def _wanted(
    old: str | None, new: str | None, before: str | None, after: str | None, prefixes: list[str]
) -> bool:
    """Path filters: with both, the old side under `before` or the new under `after` (a
    renamed folder); with one, either side under it."""
    if before is None and after is None:
        return True
    if before is not None and after is not None:
        return _under(old, prefixes[0]) or _under(new, prefixes[1])
    prefix = prefixes[0] if before is not None else prefixes[1]
    return _under(old, prefix) or _under(new, prefix)


def differences(
    reader: Reader,
    before: Commit | None,
    after: Commit,
    before_path: str | None = None,
    after_path: str | None = None,
) -> list[Difference]:
    """Every changed file from `before` (None: nothing) to `after`, in path order.

    Renames and type changes are a delete plus an add, as CodeCommit's A/M/D say.

    Raises:
        InvalidPath, PathNotFound: a path filter that names nothing in its commit.
    """
    filters = []
    for commit, path in ((before, before_path), (after, after_path)):
        prefix = join(split_path(path, allow_root=True)) if path is not None else ""
        if prefix and (commit is None or reader.entry(commit, split_path(prefix)) is None):
            raise PathNotFound(f"The path {prefix} does not exist")
        filters.append(prefix)
    result = []
    changes = _tree_changes(
        reader.repo.object_store, bytes(before.tree) if before else None, bytes(after.tree), b""
    )
    filtered = before_path is not None or after_path is not None
    for kind, old, new in changes:
        before_blob = _blob(*old) if old is not None else None
        after_blob = _blob(*new) if new is not None else None
        if filtered and not _wanted(
            before_blob.path if before_blob else None,
            after_blob.path if after_blob else None,
            before_path,
            after_path,
            filters,
        ):
            continue
        result.append(Difference(kind, before_blob, after_blob))
    result.sort(key=lambda d: d.path)
    return result


def file_differences(
    reader: Reader, before: Commit | None, after: Commit, path: str
) -> list[Difference]:
    """The changes of the one file at `path` from `before` to `after`, as `differences`
    lists them (a delete and an add when its type changed; nothing for a folder or no
    change), reading only the trees on its path: one file of a 1,000-file comparison
    costs a few tree reads, not a walk of both whole trees.

    Raises:
        PathRequired, InvalidPath.
    """
    parts = split_path(path)
    name = join(parts).encode()
    old = _file(reader, before, parts)
    new = _file(reader, after, parts)
    if old == new:
        return []
    if old and new and stat.S_IFMT(old[0]) == stat.S_IFMT(new[0]):
        return [Difference("M", _blob(name, *old), _blob(name, *new))]
    found = [Difference("D", _blob(name, *old), None)] if old else []
    return found + ([Difference("A", None, _blob(name, *new))] if new else [])


def _file(
    reader: Reader, commit: Commit | None, parts: tuple[str, ...]
) -> tuple[int, bytes] | None:
    """The (mode, hex id) of the file (not folder) at `parts`, if there is one."""
    found = reader.entry(commit, parts) if commit is not None else None
    return found if found is not None and not stat.S_ISDIR(found[0]) else None


Side = tuple[bytes, int, bytes]  # path, mode, hex id


def _tree_changes(
    store: BaseObjectStore, old: bytes | None, new: bytes | None, prefix: bytes
) -> Iterator[tuple[ChangeType, Side | None, Side | None]]:
    """(A|M|D, old, new) for each file that differs between two trees, as dulwich's
    `tree_changes` without rename detection gives them (a type change, a file for a
    folder included, is a delete and an add), read with `parse_tree` into plain tuples:
    dulwich's walk builds a named tuple per entry of both trees and was most of the time
    of a large GetDifferences."""
    before, after = _entries(store, old), _entries(store, new)
    for name in sorted(before.keys() | after.keys()):
        one, other = before.get(name), after.get(name)
        if one == other:
            continue
        path = prefix + name
        one_file = one if one is not None and not stat.S_ISDIR(one[0]) else None
        other_file = other if other is not None and not stat.S_ISDIR(other[0]) else None
        if one_file and other_file and stat.S_IFMT(one_file[0]) == stat.S_IFMT(other_file[0]):
            yield "M", (path, *one_file), (path, *other_file)
            continue
        if one_file:
            yield "D", (path, *one_file), None
        if one_file is not one or other_file is not other:
            yield from _tree_changes(
                store,
                one[1] if one is not None and one_file is None else None,
                other[1] if other is not None and other_file is None else None,
                path + b"/",
            )
        if other_file:
            yield "A", None, (path, *other_file)


def _entries(store: BaseObjectStore, tree: bytes | None) -> dict[bytes, tuple[int, bytes]]:
    if tree is None:
        return {}
    kind, raw = store.get_raw(ObjectID(tree))
    assert kind == Tree.type_num
    return {name: (mode, sha) for name, mode, sha in parse_tree(raw, len(tree) // 2)}


def file_history(reader: Reader, start: Commit, path: str, limit: int) -> list[FileVersion]:
    """The commits that changed the file at `path`, newest first, up to `limit`.

    Each is a FileVersion: the commit, the file's blob then, and `revisionChildren`, the
    versions built directly on it. Across branches and merges that is a DAG, not the
    next entry of the list: a version's children are the versions whose nearest file
    versions along their parent lines include it.
    """
    parts = split_path(path)
    target = join(parts).encode()
    walker = Walker(reader.repo.object_store, [start.id], paths=[target], max_entries=limit)
    commits = [entry.commit for entry in walker]
    children = _revision_children(reader, commits)
    versions = []
    for commit in commits:
        found = reader.entry(commit, parts)
        blob_id = None
        if found is not None and not stat.S_ISDIR(found[0]) and found[0] != GITLINK:
            blob_id = found[1].decode()
        versions.append(
            FileVersion(
                reader.commit_info(commit),
                join(parts),
                blob_id,
                tuple(children.get(commit.id, [])),
            )
        )
    return versions


def _revision_children(reader: Reader, versions: list[Commit]) -> dict[bytes, list[str]]:
    """For each version, the later versions whose nearest earlier versions include it.

    `nearest(c)` is {c} for a version, else the union over c's parents; computed once per
    commit with an explicit stack (histories are deeper than Python's recursion limit).
    The walk stops at commits older than the oldest version returned (by committer
    time), so a `limit`ed history does not walk the rest of the repository.
    """
    wanted = {c.id for c in versions}
    if not versions:
        return {}
    floor = min(c.commit_time for c in versions)
    nearest: dict[bytes, frozenset[bytes]] = {}

    def parents_of(oid: bytes) -> list[bytes]:
        commit = reader.commit(oid.decode())
        if commit is None or commit.commit_time < floor:
            return []
        return list(commit.parents)

    def resolve(oid: bytes) -> frozenset[bytes]:
        stack = [oid]
        while stack:
            top = stack[-1]
            if top in wanted:
                nearest[top] = frozenset({top})
            if top in nearest:
                stack.pop()
                continue
            pending = [p for p in parents_of(top) if p not in nearest]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            nearest[top] = frozenset().union(*(nearest[p] for p in parents_of(top)))
        return nearest[oid]

    children: dict[bytes, list[str]] = {}
    for version in versions:
        for parent in frozenset().union(*(resolve(p) for p in version.parents)):
            children.setdefault(parent, []).append(version.id.decode())
    return children
