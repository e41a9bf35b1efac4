"""What the comment services return: frozen views of comments, threads and reactions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gitserver.db import Comment

BEFORE = "BEFORE"
AFTER = "AFTER"


@dataclass(frozen=True, slots=True)
class Location:
    """A file and, for a line comment, its 1-based line in the BEFORE or AFTER version."""

    file_path: str
    file_position: int | None = None
    relative_file_version: str = AFTER


@dataclass(frozen=True, slots=True)
class Place:
    """Where a comment is shown: the commits and blobs it is against, and its location.

    For a comment carried forward this is its current place (the newest revision in
    which its line is unchanged), otherwise the place it was written at.
    """

    repository_name: str
    pull_request_id: str | None
    before_commit: str
    after_commit: str
    before_blob: str
    after_blob: str
    location: Location | None


@dataclass(frozen=True, slots=True)
class CommentView:
    id: str
    content: str  # "" once deleted
    in_reply_to: str | None
    author_arn: str
    created_at: datetime
    updated_at: datetime
    deleted: bool
    client_request_token: str | None
    place: Place
    # The line changed or went away in a later revision: the comment stays where written.
    outdated: bool = False
    caller_reactions: tuple[str, ...] = ()
    reaction_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommentThread:
    """The comments at one place, oldest first (CodeCommit's `commentsFor*Data` item)."""

    place: Place
    comments: tuple[CommentView, ...]


@dataclass(frozen=True, slots=True)
class Reaction:
    """One of CodeCommit's reactions in its three spellings."""

    emoji: str
    short_code: str
    unicode: str


@dataclass(frozen=True, slots=True)
class ReactionUsers:
    reaction: Reaction
    users: tuple[str, ...]
    from_deleted_users: int = 0


def place_of(row: Comment, repository_name: str) -> Place:
    """The place a comment is shown at (see `Place`)."""
    location: Location | None = None
    # Carried: shown in the last revision where its line was as commented (an outdated
    # comment stays there, not in the revision that changed its line).
    carried = bool(row.current_commit)
    if row.file_path is not None:
        path = row.current_path if carried and row.current_path else row.file_path
        position = row.current_position if carried else row.file_position
        location = Location(path, position, row.relative_version or AFTER)
    return Place(
        repository_name,
        str(row.pull_request_id) if row.pull_request_id is not None else None,
        row.before_commit,
        row.current_commit if carried else row.after_commit,
        row.before_blob,
        row.current_blob if carried else row.after_blob,
        location,
    )
