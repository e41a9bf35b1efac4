"""A comment as asked for: its checks, and what an idempotent retry must repeat."""

from __future__ import annotations

from dataclasses import dataclass

from gitserver.db import Comment
from gitserver.pulls import errors, locate
from gitserver.pulls.comment_model import AFTER, BEFORE, Location

MAX_CONTENT = 10240


@dataclass(frozen=True, slots=True)
class Spec:
    """A comment as requested: what an idempotent retry must repeat exactly."""

    repository_id: str
    pull_request_id: int | None
    before_commit: str
    after_commit: str
    location: Location | None
    in_reply_to: str | None
    author_arn: str
    content: str

    @classmethod
    def of(cls, row: Comment) -> Spec:
        location = None
        if row.file_path is not None:
            location = Location(row.file_path, row.file_position, row.relative_version or AFTER)
        return cls(
            row.repository_id,
            row.pull_request_id,
            row.before_commit,
            row.after_commit,
            location,
            row.in_reply_to,
            row.author_arn,
            row.content,
        )


def check_content(content: str) -> None:
    if not content:
        raise errors.CommentContentRequired("The comment content is required")
    if len(content) > MAX_CONTENT:
        raise errors.CommentContentTooLarge(f"A comment is limited to {MAX_CONTENT} characters")


def check_location(location: Location | None) -> Location | None:
    if location is None:
        return None
    if location.relative_file_version not in (BEFORE, AFTER):
        raise errors.InvalidRelativeFileVersion(
            f"relativeFileVersion must be BEFORE or AFTER, not {location.relative_file_version!r}"
        )
    if location.file_position is not None and location.file_position < 1:
        raise errors.InvalidFilePosition("filePosition is a line number, from 1")
    path = locate.clean_path(location.file_path)
    return Location(path, location.file_position, location.relative_file_version)
