"""Commits made by the API (PutFile, DeleteFile, CreateCommit) without a working tree.

Blobs, trees and the commit are built with dulwich and installed as one pack through
`content.packs.install_objects`, which lets git check them exactly as it checks a push's
objects (and fsync them) before the branch moves; the branch then moves by compare-and-swap through
`store.updates.update_ref`, which records the change and its event as a push does, so an
API write never loses a concurrent push and is never lost itself.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dulwich.objects import Blob, Commit, ObjectID, ShaFile
from dulwich.refs import Ref

from gitserver.content.errors import (
    BranchNameIsTagName,
    CommitMessageLengthExceeded,
    FileContentAndSourceFileSpecified,
    FileContentRequired,
    FileContentTooLarge,
    FileEntryRequired,
    FileNotFound,
    FolderContentTooLarge,
    InvalidEmail,
    InvalidFileMode,
    InvalidParentCommitId,
    MaximumFileEntriesExceeded,
    NameLengthExceeded,
    NoChange,
    ParentCommitIdOutdated,
    ParentCommitIdRequired,
    ParentCommitNotFound,
    PutFileEntryConflict,
    RestrictedSourceFile,
    SameFileContent,
    SamePathRequest,
    SourceFileOrContentRequired,
)
from gitserver.content.packs import install_objects
from gitserver.content.paths import check_writable, join, split_path
from gitserver.content.reader import FULL_OID, Reader, file_mode_name
from gitserver.content.trees import KEEP_FILE, TreeEditor
from gitserver.db import Database, Repository
from gitserver.gitcmd import Git
from gitserver.store.branches import branch_ref, validate_new_branch_name
from gitserver.store.errors import BranchNotFound, RefMoved
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import RefKind
from gitserver.store.repositories import RepositoryStore
from gitserver.store.updates import update_ref

MAX_ENTRIES = 100
MAX_MESSAGE = 256 * 1024
MAX_NAME = 1024
MODES = {"NORMAL": 0o100644, "EXECUTABLE": 0o100755, "SYMLINK": 0o120000}
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


@dataclass(frozen=True, slots=True)
class Limits:
    """Content sizes a commit may add: per file, per folder and in all (AWS: 6, 6, 7 MB).

    The folder limit counts the bytes a commit writes into one folder, which is what
    AWS's advice ("split the changes across multiple folders") implies.
    """

    file: int
    folder: int
    commit: int

    @classmethod
    def scaled(cls, file: int) -> Limits:
        """AWS's proportions around a configured per-file limit (7 MB : 6 MB)."""
        return cls(file, file, file + file // 6)


@dataclass(frozen=True, slots=True)
class PutEntry:
    path: str
    content: bytes | None = None
    mode: str | None = None
    source: str | None = None
    is_move: bool = False


@dataclass(frozen=True, slots=True)
class CommitRequest:
    branch: str
    parent: str | None
    author: str
    email: str
    message: str
    puts: tuple[PutEntry, ...] = ()
    deletes: tuple[str, ...] = ()
    modes: tuple[tuple[str, str], ...] = ()
    keep_empty_folders: bool = False


@dataclass(slots=True)
class CommitOutcome:
    commit_id: str
    tree_id: str
    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)


def _meta(path: str, oid: bytes, mode: int) -> dict[str, Any]:
    return {"absolutePath": path, "blobId": oid.decode(), "fileMode": file_mode_name(mode)}


def check_identity(name: str, email: str, message: str) -> None:
    if len(name) > MAX_NAME:
        raise NameLengthExceeded(f"The name is longer than {MAX_NAME} characters")
    if email and not _EMAIL.fullmatch(email):
        raise InvalidEmail(f"{email!r} is not a valid email address")
    if len(message.encode()) > MAX_MESSAGE:
        raise CommitMessageLengthExceeded(f"The commit message is longer than {MAX_MESSAGE} bytes")


def _check_entries(request: CommitRequest) -> None:
    count = len(request.puts) + len(request.deletes) + len(request.modes)
    if count == 0:
        raise FileEntryRequired("No file to add, update, delete or change the mode of")
    if count > MAX_ENTRIES:
        raise MaximumFileEntriesExceeded(f"At most {MAX_ENTRIES} file entries per commit")
    seen: set[tuple[str, ...]] = set()
    # A moved file's source is deleted by the move: deleting or moving it again is a
    # second action on one path, which AWS refuses the same way.
    moved = [p.source for p in request.puts if p.source is not None and p.is_move]
    paths = [p.path for p in request.puts] + list(request.deletes) + [m[0] for m in request.modes]
    paths += moved
    for path in paths:
        parts = split_path(path)
        if parts in seen:
            raise SamePathRequest(f"{join(parts)} appears more than once in the request")
        seen.add(parts)
    # Only what the commit writes: deleting a legacy `.GIT` entry is how it is cleaned up,
    # and whether the trees left are acceptable is git's check to make.
    for path in [p.path for p in request.puts] + [m[0] for m in request.modes]:
        check_writable(split_path(path))
    put_paths = {split_path(p.path) for p in request.puts}
    for parts in put_paths:
        if any(parts[:n] in put_paths for n in range(1, len(parts))):
            raise PutFileEntryConflict(f"{join(parts)} is both a file and inside another file")
    for mode in [p.mode for p in request.puts if p.mode is not None] + [
        m[1] for m in request.modes
    ]:
        if mode not in MODES:
            raise InvalidFileMode(f"{mode!r} is not a file mode: use NORMAL, EXECUTABLE or SYMLINK")
    for put in request.puts:
        if put.content is not None and put.source is not None:
            raise FileContentAndSourceFileSpecified(f"{put.path}: give content or a source file")
        if put.content is None and put.source is None:
            raise SourceFileOrContentRequired(f"{put.path}: content or a source file is needed")
        if put.source is not None and split_path(put.source)[-1] in {".gitkeep", KEEP_FILE}:
            raise RestrictedSourceFile(f"{put.source}: a .gitkeep file cannot be copied or moved")


class _Build:
    """The blocking part: read the branch, edit its tree, write the objects."""

    def __init__(self, reader: Reader, request: CommitRequest, limits: Limits) -> None:
        self.reader = reader
        self.request = request
        self.limits = limits
        self.objects: list[ShaFile] = []
        self.total = 0
        self.per_folder: dict[tuple[str, ...], int] = {}

    def tip(self) -> Commit | None:
        refs = self.reader.repo.refs
        branch = self.request.branch
        if Ref(f"refs/tags/{branch}".encode()) in refs:
            raise BranchNameIsTagName(f"{branch} is the name of a tag, not a branch")
        try:
            oid = refs[Ref(branch_ref(branch).encode())]
        except KeyError:
            if any(name.startswith(b"refs/heads/") for name in refs.allkeys()):
                raise BranchNotFound(f"Branch {branch} does not exist") from None
            return None  # an empty repository: this commit creates the branch
        found = self.reader.commit(oid.decode())
        assert found is not None
        return found

    def check_parent(self, tip: Commit | None) -> None:
        parent = self.request.parent
        if tip is None:
            if parent:
                raise ParentCommitNotFound(f"Parent commit {parent} does not exist")
            return
        if not parent:
            raise ParentCommitIdRequired("parentCommitId is required: the branch has commits")
        if not FULL_OID.fullmatch(parent):
            raise InvalidParentCommitId(f"{parent!r} is not a full commit ID")
        if self.reader.commit(parent) is None:
            raise ParentCommitNotFound(f"Parent commit {parent} does not exist")
        if parent != tip.id.decode():
            raise ParentCommitIdOutdated(
                f"{parent} is not the tip of {self.request.branch}: read the branch again"
            )

    def blob(self, parts: tuple[str, ...], content: bytes) -> bytes:
        """Raises: FileContentTooLarge, FolderContentTooLarge (AWS's three size rules)."""
        limits, size = self.limits, len(content)
        if size > limits.file:
            raise FileContentTooLarge(f"A file may hold at most {limits.file} bytes")
        folder = self.per_folder[parts[:-1]] = self.per_folder.get(parts[:-1], 0) + size
        if folder > limits.folder:
            raise FolderContentTooLarge(
                f"The changes to folder /{join(parts[:-1])} exceed {limits.folder} bytes"
            )
        self.total += size
        if self.total > limits.commit:
            raise FileContentTooLarge(f"A commit may add at most {limits.commit} bytes of content")
        blob = Blob.from_string(content)
        self.objects.append(blob)
        return bytes(blob.id)

    def apply(self, editor: TreeEditor, outcome: CommitOutcome) -> None:
        for put in self.request.puts:
            parts = split_path(put.path)
            existing = editor.get(parts)
            if put.source is not None:
                source = split_path(put.source)
                found = editor.get(source)
                if found is None:
                    raise FileNotFound(f"The source file {join(source)} does not exist")
                mode, oid = found
                if put.is_move:
                    editor.remove(source, self.request.keep_empty_folders)
                    outcome.deleted.append(_meta(join(source), oid, mode))
            else:
                assert put.content is not None
                oid = self.blob(parts, put.content)
                mode = existing[0] if existing and put.mode is None else MODES["NORMAL"]
            if put.mode is not None:
                mode = MODES[put.mode]
            editor.put(parts, mode, oid)
            if existing is None:
                outcome.added.append(_meta(join(parts), oid, mode))
            elif existing != (mode, oid):
                outcome.updated.append(_meta(join(parts), oid, mode))
        for path in self.request.deletes:
            parts = split_path(path)
            found = editor.get(parts)
            if found is None:
                raise FileNotFound(f"The file {join(parts)} does not exist")
            editor.remove(parts, self.request.keep_empty_folders)
            outcome.deleted.append(_meta(join(parts), found[1], found[0]))
        for path, mode_name in self.request.modes:
            parts = split_path(path)
            found = editor.get(parts)
            if found is None:
                raise FileNotFound(f"The file {join(parts)} does not exist")
            if found[0] != MODES[mode_name]:
                editor.put(parts, MODES[mode_name], found[1])
                outcome.updated.append(_meta(join(parts), found[1], MODES[mode_name]))

    def run(self, when: int) -> tuple[Commit | None, Commit, CommitOutcome, list[ShaFile]]:
        """The branch's tip, the new commit, what it changed, and every new object."""
        tip = self.tip()
        self.check_parent(tip)
        editor = TreeEditor(self.reader, tip.tree if tip else None)
        outcome = CommitOutcome("", "")
        self.apply(editor, outcome)
        tree_id, trees = editor.write()
        if tip is not None and tree_id == tip.tree:
            raise NoChange("The commit would change nothing")
        commit = Commit()
        commit.tree = ObjectID(tree_id)
        commit.parents = [tip.id] if tip else []
        identity = f"{self.request.author} <{self.request.email}>".encode()
        commit.author = commit.committer = identity
        commit.author_time = commit.commit_time = when
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = self.request.message.encode()
        outcome.commit_id, outcome.tree_id = commit.id.decode(), tree_id.decode()
        return tip, commit, outcome, [*self.objects, *trees, commit]


class Writer:
    """Makes commits on branches of this server's repositories."""

    def __init__(self, db: Database, git: Git, store: RepositoryStore, limit: int | Limits) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.limits = limit if isinstance(limit, Limits) else Limits.scaled(limit)

    async def commit(
        self, repo: Repository, request: CommitRequest, actor: str, *, single_put: bool = False
    ) -> CommitOutcome:
        """Build and record one commit on `request.branch`.

        With `single_put` (PutFile), writing what is already there is
        `SameFileContentException` rather than `NoChangeException`.

        Raises:
            ContentError subclasses (ObjectsRefused: git's push checks refuse the
            result), InvalidBranchName, RefMoved never (it becomes ParentCommitIdOutdated).
        """
        validate_new_branch_name(request.branch)
        if single_put and not (request.puts and request.puts[0].content):
            raise FileContentRequired("The file is empty: the API cannot add empty files")
        check_identity(request.author, request.email, request.message)
        _check_entries(request)
        path = self.store.path(repo.id)
        try:
            tip, commit, outcome, objects = await asyncio.to_thread(self._build, path, request)
        except NoChange:
            if single_put:
                raise SameFileContent("The file already has this content and mode") from None
            raise
        # Refused here, nothing was added and the branch has not moved.
        await install_objects(self.git, path, objects)
        old = tip.id.decode() if tip else ZERO_OID
        try:
            await update_ref(
                self.db,
                self.git,
                path,
                repo.id,
                ref=branch_ref(request.branch),
                old=old,
                new=commit.id.decode(),
                actor=actor,
                kind=RefKind.FAST_FORWARD if tip else RefKind.CREATED,
                guard=self.store.guard,
            )
        except RefMoved:
            raise ParentCommitIdOutdated(
                f"{request.branch} moved while the commit was made: read it again and retry"
            ) from None
        return outcome

    def _build(
        self, path: Path, request: CommitRequest
    ) -> tuple[Commit | None, Commit, CommitOutcome, list[ShaFile]]:
        with Reader(path) as reader:
            return _Build(reader, request, self.limits).run(int(time.time()))
