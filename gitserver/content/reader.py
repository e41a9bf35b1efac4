"""Reading a bare repository with dulwich: commits, trees and blobs as `content.views`.

Everything here is blocking; callers run it in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitserver.content.errors import (
    BlobNotFound,
    FileNotFound,
    FileTooLarge,
    FolderNotFound,
    InvalidBlobId,
    InvalidCommit,
)
from gitserver.content.paths import join, split_path
from gitserver.content.sizes import object_size
from gitserver.content.views import CommitInfo, FileContent, Folder, FolderEntry, UserInfo
from gitserver.store.errors import CommitNotFound

FULL_OID = re.compile(r"[0-9a-f]{40}")
_MODES = {0o100755: "EXECUTABLE", 0o100644: "NORMAL", 0o120000: "SYMLINK"}
GITLINK = 0o160000


def file_mode_name(mode: int) -> str:
    return _MODES.get(mode, "NORMAL")


def user_info(identity: bytes, when: int, offset: int) -> UserInfo:
    """Git's `Name <email>`, time and UTC offset (seconds)."""
    text = identity.decode("utf-8", "replace")
    name, _, rest = text.partition(" <")
    return UserInfo(name.strip(), rest.rstrip(">").strip(), when, offset // 60)


class Reader:
    """One bare repository, opened for reading."""

    def __init__(self, path: Path) -> None:
        self.repo = Repo(str(path))

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def obj(self, oid: bytes) -> ShaFile:
        """The object `oid` (hex).

        Raises:
            KeyError: not in the repository.
        """
        return self.repo.object_store[ObjectID(oid)]

    # --- commits ----------------------------------------------------------------------

    def commit(self, oid: str) -> Commit | None:
        try:
            obj = self.obj(oid.encode())
        except KeyError:
            return None
        return obj if isinstance(obj, Commit) else None

    def resolve(self, specifier: str | None, default_branch: str | None) -> Commit:
        """A commit id, branch, tag, `HEAD` or full ref; the default branch when omitted.

        Raises:
            InvalidCommit, CommitNotFound.
        """
        if specifier is None or specifier == "":
            if not default_branch:
                raise CommitNotFound("The repository has no default branch yet")
            specifier = f"refs/heads/{default_branch}"
        if any(c in specifier for c in " ~^:?*[\\\x00") or ".." in specifier:
            raise InvalidCommit(f"The commit specifier {specifier!r} is not valid")
        if FULL_OID.fullmatch(specifier) and (found := self.commit(specifier)):
            return found
        refs = self.repo.refs
        for name in (specifier, f"refs/heads/{specifier}", f"refs/tags/{specifier}"):
            if name != "HEAD" and not name.startswith("refs/"):
                continue
            try:
                oid = refs[Ref(name.encode())]
            except KeyError:
                continue
            peeled = self._peel(oid)
            if peeled is not None:
                return peeled
        raise CommitNotFound(f"Commit {specifier} does not exist")

    def refs(self) -> dict[str, str]:
        """Every branch, tag and other ref under `refs/` with the object it points at, as
        `git for-each-ref` lists them (symbolic refs left out): the packed ones overridden
        by loose files. In-process, it costs a tenth of spawning git for a page.

        The loose files are read before packed-refs, as git reads them: `pack-refs` writes
        packed-refs before deleting the loose files, so a ref is found in one or the
        other; the opposite order loses the refs packed between the two reads."""
        container = self.repo.refs
        loose: dict[str, str] = {}
        base = Path(self.repo.controldir())
        for folder, _, files in os.walk(base / "refs"):
            for file in files:
                if file.endswith(".lock"):  # git's update in flight: the old value stands
                    continue
                name = os.path.relpath(os.path.join(folder, file), base)
                value = container.read_loose_ref(Ref(os.fsencode(name)))
                if value is not None and FULL_OID.fullmatch(value.decode("ascii", "replace")):
                    loose[name] = value.decode()
        found = {
            name.decode("utf-8", "surrogateescape"): oid.decode()
            for name, oid in container.get_packed_refs().items()
        }
        return found | loose

    def _peel(self, oid: bytes) -> Commit | None:
        obj = self.obj(oid)
        while isinstance(obj, Tag):
            obj = self.obj(obj.object[1])
        return obj if isinstance(obj, Commit) else None

    def commit_info(self, commit: Commit) -> CommitInfo:
        return CommitInfo(
            commit_id=commit.id.decode(),
            tree_id=commit.tree.decode(),
            parents=tuple(p.decode() for p in commit.parents),
            message=commit.message.decode("utf-8", "replace"),
            author=user_info(commit.author, commit.author_time, commit.author_timezone),
            committer=user_info(commit.committer, commit.commit_time, commit.commit_timezone),
        )

    # --- trees and blobs --------------------------------------------------------------

    def tree(self, oid: bytes) -> Tree:
        obj = self.obj(oid)
        assert isinstance(obj, Tree)
        return obj

    def entry(self, commit: Commit, parts: tuple[str, ...]) -> tuple[int, bytes] | None:
        """The (mode, id) at `parts` in `commit`'s tree; None if nothing is there."""
        mode, oid = stat.S_IFDIR, commit.tree
        for part in parts:
            if not stat.S_ISDIR(mode):
                return None
            try:
                mode, oid = self.tree(oid)[part.encode()]
            except KeyError:
                return None
        return mode, oid

    def blob(self, oid: bytes, limit: int) -> bytes:
        """The content of blob `oid`, refused before it is inflated when over `limit`.

        Raises:
            FileTooLarge.
        """
        size = object_size(self.repo.object_store, oid)
        if size is not None and size > limit:
            raise FileTooLarge(f"The file is larger than {limit} bytes; use git to read it")
        obj = self.obj(oid)
        assert isinstance(obj, Blob)
        if obj.raw_length() > limit:
            raise FileTooLarge(f"The file is larger than {limit} bytes; use git to read it")
        return bytes(obj.as_raw_string())

    def get_file(self, commit: Commit, path: str, limit: int) -> FileContent:
        parts = split_path(path)
        found = self.entry(commit, parts)
        if found is None or stat.S_ISDIR(found[0]) or found[0] == GITLINK:
            raise FileNotFound(
                f"The file {join(parts)} does not exist at commit {commit.id.decode()}"
            )
        mode, oid = found
        return FileContent(
            commit.id.decode(),
            oid.decode(),
            join(parts),
            file_mode_name(mode),
            self.blob(oid, limit),
        )

    def get_folder(self, commit: Commit, path: str) -> Folder:
        parts = split_path(path, allow_root=True)
        found = self.entry(commit, parts)
        if found is None or not stat.S_ISDIR(found[0]):
            raise FolderNotFound(f"The folder {join(parts) or '/'} does not exist")
        folder = join(parts)
        entries = []
        for item in self.tree(found[1]).iteritems():
            name = item.path.decode("utf-8", "surrogateescape")
            where = f"{folder}/{name}" if folder else name
            oid = item.sha.decode()
            if stat.S_ISDIR(item.mode):
                entries.append(FolderEntry("folder", name, where, oid, ""))
            elif item.mode == GITLINK:
                entries.append(FolderEntry("submodule", name, where, oid, ""))
            elif item.mode == 0o120000:
                entries.append(FolderEntry("symlink", name, where, oid, "SYMLINK"))
            else:
                entries.append(FolderEntry("file", name, where, oid, file_mode_name(item.mode)))
        return Folder(commit.id.decode(), folder, found[1].decode(), tuple(entries))

    def get_blob(self, blob_id: str, limit: int) -> bytes:
        if not FULL_OID.fullmatch(blob_id):
            raise InvalidBlobId(f"The blob ID {blob_id!r} is not valid")
        try:
            obj = self.obj(blob_id.encode())
        except KeyError:
            raise BlobNotFound(f"Blob {blob_id} does not exist") from None
        if not isinstance(obj, Blob):
            raise BlobNotFound(f"Blob {blob_id} does not exist")
        return self.blob(obj.id, limit)

    def walk_files(self, tree: bytes, prefix: str = "") -> Iterator[tuple[str, int, bytes]]:
        """Every non-tree entry below `tree`: (path, mode, id)."""
        for item in self.tree(tree).iteritems():
            path = prefix + item.path.decode("utf-8", "surrogateescape")
            if stat.S_ISDIR(item.mode):
                yield from self.walk_files(item.sha, path + "/")
            else:
                yield path, item.mode, item.sha
