"""A page's comments come with their reactions read once for all of them: the counts and
the caller's own, whatever the number of comments (no query per comment)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from gitserver.db import Comment, CommentReaction
from gitserver.pulls import comment_store
from tests.unit.gitserver.content_support import Env, run_in_repo

ME, YOU = "arn:aws:iam::111111111111:user/me", "arn:aws:iam::111111111111:user/you"


async def _statements(env: Env, comments: int) -> tuple[list[str], dict[str, Any]]:
    """Adds `comments` comments, each with two reactions, then reads their views; the
    statements that read ran, and the first comment's counts and caller reactions."""
    async with env.db.session() as session:
        for n in range(comments):
            row = Comment(
                id=str(uuid.uuid4()),
                repository_id=env.repo.id,
                after_commit="a" * 40,
                author="me",
                author_arn=ME,
                content=f"comment {n}",
            )
            session.add(row)
            await session.flush()
            session.add(CommentReaction(comment_id=row.id, user_arn=ME, emoji="heart"))
            session.add(CommentReaction(comment_id=row.id, user_arn=YOU, emoji="heart"))
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = env.db.read_engine.sync_engine
    async with env.db.reader() as session:
        rows = list((await session.execute(select(Comment))).scalars())
        event.listen(engine, "before_cursor_execute", record)
        try:
            views = await comment_store.views(session, rows, "r", ME)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    first = views[0]
    return seen, {"counts": dict(first.reaction_counts), "mine": first.caller_reactions}


def test_reactions_are_read_once_for_all_of_a_pages_comments(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        few, shown = await _statements(env, 2)
        many, _ = await _statements(env, 40)  # 42 comments now
        assert len(few) == len(many) == 1, many
        assert "comment_reactions" in many[0]
        assert shown == {"counts": {"heart": 2}, "mine": ("heart",)}

    run_in_repo(tmp_path, body)
