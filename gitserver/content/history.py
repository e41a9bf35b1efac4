"""Differences between commits and the history of one file, from dulwich's tree diff."""

from __future__ import annotations

import stat
from typing import Any

from dulwich.diff_tree import tree_changes
from dulwich.objects import Commit
from dulwich.walk import Walker

from gitserver.content.errors import PathNotFound
from gitserver.content.paths import join, split_path
from gitserver.content.reader import GITLINK, Reader

CHANGE_TYPES = {"add": "A", "delete": "D", "modify": "M"}


def _blob(path: bytes | None, mode: int | None, sha: bytes | None) -> dict[str, Any] | None:
    if path is None or sha is None or mode is None:
        return None
    return {
        "blobId": sha.decode(),
        "path": path.decode("utf-8", "surrogateescape"),
        "mode": f"{mode:06o}",
    }


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
) -> list[dict[str, Any]]:
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
    changes = tree_changes(
        reader.repo.object_store, before.tree if before else None, after.tree, rename_detector=None
    )
    for change in changes:
        old, new = change.old, change.new
        if change.type not in CHANGE_TYPES:  # "copy"/"rename" never without a detector
            continue
        old_path = old.path.decode("utf-8", "surrogateescape") if old and old.path else None
        new_path = new.path.decode("utf-8", "surrogateescape") if new and new.path else None
        if not _wanted(old_path, new_path, before_path, after_path, filters):
            continue
        entry: dict[str, Any] = {"changeType": CHANGE_TYPES[change.type]}
        if old is not None and (blob := _blob(old.path, old.mode, old.sha)):
            entry["beforeBlob"] = blob
        if new is not None and (blob := _blob(new.path, new.mode, new.sha)):
            entry["afterBlob"] = blob
        result.append(entry)
    result.sort(key=lambda d: (d.get("afterBlob") or d.get("beforeBlob") or {}).get("path", ""))
    return result


def file_history(reader: Reader, start: Commit, path: str, limit: int) -> list[dict[str, Any]]:
    """The commits that changed the file at `path`, newest first, up to `limit`.

    Each is a FileVersion: the commit, the file's blob then, and the later revisions of
    the file that build on it (`revisionChildren`).
    """
    parts = split_path(path)
    target = join(parts).encode()
    walker = Walker(reader.repo.object_store, [start.id], paths=[target], max_entries=limit)
    versions: list[dict[str, Any]] = []
    for entry in walker:
        commit = entry.commit
        found = reader.entry(commit, parts)
        blob_id = None
        if found is not None and not stat.S_ISDIR(found[0]) and found[0] != GITLINK:
            blob_id = found[1].decode()
        version: dict[str, Any] = {
            "commit": reader.commit_shape(commit),
            "path": join(parts),
            "revisionChildren": [versions[-1]["commit"]["commitId"]] if versions else [],
        }
        if blob_id:
            version["blobId"] = blob_id
        versions.append(version)
    return versions
