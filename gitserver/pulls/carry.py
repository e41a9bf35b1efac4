"""Carrying line comments to a pull request's new revision (the Follower's `carry`).

When a push moves the source, each AFTER-side comment on the old source commit is mapped
through the diff between the old and the new version of its file (followed across a
rename): a line the diff did not touch moves to where it is now, even after a rebase or
a force-push; only a comment whose line changed or went away (or whose file did) is
marked outdated and stays in the last revision where its line was as commented. GitHub
and Gitea mark every comment outdated after a force-push (go-gitea/gitea#12956).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Comment
from gitserver.gitcmd import Git
from gitserver.pulls import locate
from gitserver.pulls.comment_model import AFTER


async def carry_comments(
    session: AsyncSession, git: Git, path: Path, pull_request_id: int, old: str, new: str
) -> None:
    """Move the pull request's AFTER-side comments on `old` to `new` (see the module)."""
    rows = await session.execute(
        select(Comment).where(
            Comment.pull_request_id == pull_request_id,
            Comment.file_path.is_not(None),
            Comment.relative_version == AFTER,
            Comment.outdated.is_(False),
            or_(
                Comment.current_commit == old,
                (Comment.current_commit == "") & (Comment.after_commit == old),
            ),
        )
    )
    comments = list(rows.scalars())
    if not comments:
        return
    carrier = _Carrier(git, path, old, new, await locate.renames(git, path, old, new))
    for row in comments:
        await carrier.carry(row)


class _Carrier:
    """One old -> new revision; remembers blobs and diffs across the comments on a file."""

    def __init__(
        self, git: Git, path: Path, old: str, new: str, moved: dict[str, str | None]
    ) -> None:
        self.git, self.path, self.new, self.moved = git, path, new, moved
        self.blobs: dict[str, str | None] = {}
        self.diffs: dict[tuple[str, str], list[locate.Hunk] | None] = {}

    async def carry(self, row: Comment) -> None:
        assert row.file_path is not None
        carried = bool(row.current_commit)
        old_path = row.current_path if carried and row.current_path else row.file_path
        old_blob = row.current_blob if carried else row.after_blob
        line = row.current_position if carried else row.file_position
        new_path = self.moved.get(old_path, old_path)
        new_blob = await self._blob(new_path) if new_path is not None else None
        if new_path is None or new_blob is None:
            row.outdated = True
            return
        if line is not None:
            changes = await self._diff(old_blob, new_blob)
            line = locate.moved_line(line, changes) if changes is not None else None
            if line is None:
                row.outdated = True
                return
        row.current_commit, row.current_path = self.new, new_path
        row.current_blob, row.current_position = new_blob, line

    async def _blob(self, file_path: str) -> str | None:
        if file_path not in self.blobs:
            self.blobs[file_path] = await locate.blob(self.git, self.path, self.new, file_path)
        return self.blobs[file_path]

    async def _diff(self, old_blob: str, new_blob: str) -> list[locate.Hunk] | None:
        key = (old_blob, new_blob)
        if key not in self.diffs:
            self.diffs[key] = await locate.hunks(self.git, self.path, old_blob, new_blob)
        return self.diffs[key]
