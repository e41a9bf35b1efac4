"""Reading comments: the row by id, its view with the caller's reactions, and threads.

Shared by the comment and the reaction services; a reaction is stored by its short code
(`thumbsup`), which is also the key of `reactionCounts` and `callerReactions`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Comment, CommentReaction, Repository
from gitserver.pulls import errors
from gitserver.pulls.comment_model import CommentThread, CommentView, Place, place_of

MAX_ID = 36
_ID = re.compile(r"[0-9A-Za-z-]{1,36}")


def check_id(comment_id: str | None) -> str:
    """Raises: CommentIdRequired, InvalidCommentId."""
    if not comment_id:
        raise errors.CommentIdRequired("A comment id is required")
    if not _ID.fullmatch(comment_id):
        raise errors.InvalidCommentId(f"The comment id {comment_id!r} is not valid")
    return comment_id


async def find(session: AsyncSession, comment_id: str | None, *, live: bool = False) -> Comment:
    """The comment; with `live`, refused once its content is deleted.

    Raises:
        CommentIdRequired, InvalidCommentId, CommentNotFound, CommentDeleted.
    """
    row = await session.get(Comment, check_id(comment_id), populate_existing=True)
    if row is None:
        raise errors.CommentNotFound(f"Comment {comment_id} does not exist")
    if live and row.deleted:
        raise errors.CommentDeleted(f"Comment {comment_id} has been deleted")
    return row


async def repository_name(session: AsyncSession, row: Comment) -> str:
    repo = await session.get(Repository, row.repository_id)
    return repo.name if repo is not None else ""


async def views(
    session: AsyncSession, rows: Sequence[Comment], repository: str, caller_arn: str
) -> list[CommentView]:
    """Views of `rows` (one repository's), with their reactions as `caller_arn` sees them."""
    ids = [row.id for row in rows]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    mine: dict[str, list[str]] = defaultdict(list)
    if ids:
        reactions = await session.execute(
            select(CommentReaction).where(CommentReaction.comment_id.in_(ids))
        )
        for reaction in reactions.scalars():
            counts[reaction.comment_id][reaction.emoji] += 1
            if reaction.user_arn == caller_arn:
                mine[reaction.comment_id].append(reaction.emoji)
    return [
        CommentView(
            row.id,
            "" if row.deleted else row.content,
            row.in_reply_to,
            row.author_arn,
            row.created_at,
            row.updated_at,
            row.deleted,
            row.client_request_token,
            place_of(row, repository),
            row.outdated,
            tuple(mine[row.id]),
            dict(counts[row.id]),
        )
        for row in rows
    ]


async def view(session: AsyncSession, row: Comment, caller_arn: str) -> CommentView:
    name = await repository_name(session, row)
    return (await views(session, [row], name, caller_arn))[0]


def threads(comments: Sequence[CommentView]) -> list[CommentThread]:
    """`comments` (oldest first) grouped by place; threads in order of their first comment.

    A reply is shown where its thread's first comment is, even if the reply was written
    before a carry moved the thread (it is carried with it).
    """
    by_id = {c.id: c for c in comments}
    grouped: dict[Place, list[CommentView]] = {}
    for comment in comments:
        root = comment
        seen = {root.id}
        while root.in_reply_to and root.in_reply_to in by_id and root.in_reply_to not in seen:
            root = by_id[root.in_reply_to]
            seen.add(root.id)
        grouped.setdefault(root.place, []).append(comment)
    return [CommentThread(place, tuple(items)) for place, items in grouped.items()]
