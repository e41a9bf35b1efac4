"""Editing a tree without a working tree: only the directories on changed paths are read
and rewritten; everything else keeps its object id."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field

from dulwich.objects import Blob, ObjectID, ShaFile, Tree

from gitserver.content.errors import (
    DirectoryNameConflictsWithFileName,
    FileNameConflictsWithDirectoryName,
    FilePathConflictsWithSubmodulePath,
)
from gitserver.content.reader import GITLINK, Reader

KEEP_FILE = "..gitkeep"  # what CodeCommit writes into a folder kept empty (sic)


@dataclass(slots=True)
class _Node:
    """One directory: its entries as read, plus loaded subdirectories being edited."""

    entries: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    children: dict[str, _Node] = field(default_factory=dict)


class TreeEditor:
    def __init__(self, reader: Reader, root: bytes | None) -> None:
        self.reader = reader
        self.root = self._load(root)
        self.extra: list[ShaFile] = []

    def _load(self, oid: bytes | None) -> _Node:
        node = _Node()
        if oid is not None:
            for item in self.reader.tree(oid).iteritems():
                node.entries[item.path.decode("utf-8", "surrogateescape")] = (item.mode, item.sha)
        return node

    def _dir(self, parts: tuple[str, ...], create: bool) -> _Node | None:
        """The node for directory `parts`, loaded on the way; None if it is not there."""
        node = self.root
        for depth, part in enumerate(parts):
            child = node.children.get(part)
            if child is None:
                entry = node.entries.get(part)
                if entry is None:
                    if not create:
                        return None
                    child = _Node()
                elif entry[0] == GITLINK:
                    raise FilePathConflictsWithSubmodulePath(
                        f"{'/'.join(parts[: depth + 1])} is a submodule"
                    )
                elif not stat.S_ISDIR(entry[0]):
                    if not create:
                        return None
                    raise DirectoryNameConflictsWithFileName(
                        f"{'/'.join(parts[: depth + 1])} is a file, not a folder"
                    )
                else:
                    child = self._load(entry[1])
                node.children[part] = child
                node.entries.pop(part, None)
            node = child
        return node

    def get(self, parts: tuple[str, ...]) -> tuple[int, bytes] | None:
        """The file entry at `parts`, or None (a folder there counts as None)."""
        node = self._dir(parts[:-1], create=False)
        if node is None or parts[-1] in node.children:
            return None
        entry = node.entries.get(parts[-1])
        return entry if entry is not None and not stat.S_ISDIR(entry[0]) else None

    def is_dir(self, parts: tuple[str, ...]) -> bool:
        node = self._dir(parts[:-1], create=False)
        if node is None:
            return False
        entry = node.entries.get(parts[-1])
        return parts[-1] in node.children or (entry is not None and stat.S_ISDIR(entry[0]))

    def put(self, parts: tuple[str, ...], mode: int, oid: bytes) -> None:
        node = self._dir(parts[:-1], create=True)
        assert node is not None
        name = parts[-1]
        existing = node.entries.get(name)
        if name in node.children or (existing is not None and stat.S_ISDIR(existing[0])):
            raise FileNameConflictsWithDirectoryName(f"{'/'.join(parts)} is a folder")
        if existing is not None and existing[0] == GITLINK:
            raise FilePathConflictsWithSubmodulePath(f"{'/'.join(parts)} is a submodule")
        node.entries[name] = (mode, oid)

    def remove(self, parts: tuple[str, ...], keep_empty_folders: bool) -> None:
        node = self._dir(parts[:-1], create=False)
        assert node is not None
        del node.entries[parts[-1]]
        if keep_empty_folders and parts[:-1] and not node.entries and not node.children:
            blob = Blob.from_string(b"")
            self.extra.append(blob)
            node.entries[KEEP_FILE] = (0o100644, blob.id)

    def remove_folder(self, parts: tuple[str, ...]) -> None:
        """Drop the folder at `parts` with everything in it, if there is one."""
        node = self._dir(parts[:-1], create=False)
        if node is None:
            return
        node.children.pop(parts[-1], None)
        entry = node.entries.get(parts[-1])
        if entry is not None and stat.S_ISDIR(entry[0]):
            del node.entries[parts[-1]]

    def keep_folder(self, parts: tuple[str, ...]) -> None:
        """Keep the folder at `parts` (not the root) as CodeCommit does, if it is empty."""
        if not parts:
            return
        node = self._dir(parts, create=True)
        assert node is not None
        if not node.entries and not node.children:
            blob = Blob.from_string(b"")
            self.extra.append(blob)
            node.entries[KEEP_FILE] = (0o100644, blob.id)

    def write(self) -> tuple[bytes, list[ShaFile]]:
        """The new root tree's id and every new tree object (empty folders dropped)."""
        objects: list[ShaFile] = list(self.extra)
        root = self._write(self.root, objects)
        if root is None:
            empty = Tree()
            objects.append(empty)
            return empty.id, objects
        return root, objects

    def _write(self, node: _Node, objects: list[ShaFile]) -> bytes | None:
        tree = Tree()
        for name, (mode, oid) in node.entries.items():
            tree.add(name.encode("utf-8", "surrogateescape"), mode, ObjectID(oid))
        for name, child in node.children.items():
            sub = self._write(child, objects)
            if sub is not None:
                tree.add(name.encode("utf-8", "surrogateescape"), stat.S_IFDIR, ObjectID(sub))
        if not tree.items():
            return None
        objects.append(tree)
        return tree.id
