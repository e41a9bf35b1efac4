"""What content reads return: frozen values any front end can shape (the API's JSON lives
in `gitserver/api/shapes.py`; the web UI renders the same values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChangeType = Literal["A", "M", "D"]
EntryKind = Literal["folder", "file", "symlink", "submodule"]


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A commit's author or committer as git recorded them."""

    name: str
    email: str
    timestamp: int  # seconds since the epoch
    offset_minutes: int  # the writer's UTC offset

    @property
    def date(self) -> str:
        """CodeCommit's `"<epoch> <+hhmm>"`."""
        sign = "-" if self.offset_minutes < 0 else "+"
        minutes = abs(self.offset_minutes)
        return f"{self.timestamp} {sign}{minutes // 60:02d}{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class CommitInfo:
    commit_id: str
    tree_id: str
    parents: tuple[str, ...]
    message: str
    author: UserInfo
    committer: UserInfo


@dataclass(frozen=True, slots=True)
class FileContent:
    commit_id: str
    blob_id: str
    path: str
    mode: str  # NORMAL | EXECUTABLE | SYMLINK
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True, slots=True)
class FolderEntry:
    kind: EntryKind
    name: str  # relative to the folder
    path: str  # from the repository's root
    object_id: str  # tree, blob or (submodule) commit id
    mode: str  # NORMAL | EXECUTABLE | SYMLINK for files; "" otherwise


@dataclass(frozen=True, slots=True)
class Folder:
    commit_id: str
    path: str  # "" for the root
    tree_id: str
    entries: tuple[FolderEntry, ...]

    def of_kind(self, kind: EntryKind) -> list[FolderEntry]:
        return [e for e in self.entries if e.kind == kind]


@dataclass(frozen=True, slots=True)
class BlobRef:
    blob_id: str
    path: str
    mode: str  # git's octal mode, "100644"


@dataclass(frozen=True, slots=True)
class Difference:
    """One changed path; a rename or type change is a delete plus an add (CodeCommit)."""

    change_type: ChangeType
    before: BlobRef | None
    after: BlobRef | None

    @property
    def path(self) -> str:
        side = self.after or self.before
        return side.path if side else ""


@dataclass(frozen=True, slots=True)
class FileVersion:
    """A commit that changed a file, and the versions built directly on it."""

    commit: CommitInfo
    path: str
    blob_id: str | None  # None where the commit removed the file
    revision_children: tuple[str, ...]
