"""Reactions to comments: one per user per comment (a new one replaces it), from
CodeCommit's fixed set, named by emoji, short code or Unicode code point."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import CommentReaction, Database, User, utcnow
from gitserver.pulls import comment_store, errors
from gitserver.pulls.comment_model import Reaction, ReactionUsers
from gitserver.pulls.details import reaction_event
from gitserver.store.refs import lock_repository
from triggers.events import EventType, record_event

REACTIONS = (
    Reaction("\U0001f44d", "thumbsup", "U+1F44D"),
    Reaction("\U0001f44e", "thumbsdown", "U+1F44E"),
    Reaction("\U0001f604", "smile", "U+1F604"),
    Reaction("\u2764\ufe0f", "heart", "U+2764"),
    Reaction("\U0001f620", "angry", "U+1F620"),
    Reaction("\U0001f615", "confused", "U+1F615"),
    Reaction("\U0001f606", "laughing", "U+1F606"),
    Reaction("\U0001f389", "hooray", "U+1F389"),
)
BY_SHORT_CODE = {r.short_code: r for r in REACTIONS}
# Any spelling -> the reaction; `:thumbsup:` and `u+1f44d` too.
_SPELLINGS = {
    **{r.emoji: r for r in REACTIONS},
    **{"\u2764": BY_SHORT_CODE["heart"]},
    **{f":{r.short_code}:": r for r in REACTIONS},
    **{r.short_code: r for r in REACTIONS},
    **{r.unicode.lower(): r for r in REACTIONS},
}
# "To remove a reaction, provide a value of blank or null ... or none" (PutCommentReaction).
_REMOVE = {"", "none"}
MAX_RESULTS = 1000


def parse(value: str | None) -> Reaction | None:
    """The reaction a value names; None to remove the caller's.

    Raises:
        ReactionValueRequired, InvalidReactionValue.
    """
    if value is None:
        raise errors.ReactionValueRequired("A reaction value is required")
    text = value.strip()
    if text.lower() in _REMOVE:
        return None
    found = _SPELLINGS.get(text) or _SPELLINGS.get(text.lower())
    if found is None:
        raise errors.InvalidReactionValue(f"{value!r} is not one of the supported reactions")
    return found


class Reactions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, actor: Principal, comment_id: str, value: str | None) -> None:
        """PutCommentReaction: set, replace or (blank/none) remove the caller's reaction."""
        reaction = parse(value)
        async with self.db.session() as session:
            row = await comment_store.find(session, comment_id, live=True)
            repo = await lock_repository(session, row.repository_id)
            assert repo is not None
            mine = await session.get(CommentReaction, (row.id, actor.arn))
            if reaction is None:
                if mine is None:
                    return
                await session.delete(mine)
                kind = EventType.COMMENT_REACTION_UPDATED
            elif mine is None:
                session.add(
                    CommentReaction(
                        comment_id=row.id, user_arn=actor.arn, emoji=reaction.short_code
                    )
                )
                kind = EventType.COMMENT_REACTION_CREATED
            else:
                if mine.emoji == reaction.short_code:
                    return
                mine.emoji, mine.time = reaction.short_code, utcnow()
                kind = EventType.COMMENT_REACTION_UPDATED
            chosen = [reaction] if reaction is not None else []
            record_event(
                session,
                reaction_event(
                    kind,
                    repo,
                    actor.name,
                    actor.arn,
                    commentId=row.id,
                    pullRequestId=str(row.pull_request_id or ""),
                    reactionEmojis=[r.emoji for r in chosen],
                    reactionShortcodes=[r.short_code for r in chosen],
                    reactionUnicodes=[r.unicode for r in chosen],
                ),
            )

    async def get(self, comment_id: str, *, user_arn: str | None = None) -> list[ReactionUsers]:
        """GetCommentReactions: each reaction given, in CodeCommit's order, with who gave it."""
        if user_arn is not None and not user_arn.startswith("arn:"):
            raise errors.InvalidReactionUserArn(f"{user_arn!r} is not an ARN")
        async with self.db.reader() as session:
            row = await comment_store.find(session, comment_id, live=True)
            query = select(CommentReaction).where(CommentReaction.comment_id == row.id)
            if user_arn is not None:
                query = query.where(CommentReaction.user_arn == user_arn)
            given = list((await session.execute(query.order_by(CommentReaction.time))).scalars())
            gone = await _deleted_users({reaction.user_arn for reaction in given}, session)
        users: dict[str, list[str]] = defaultdict(list)
        deleted: Counter[str] = Counter()
        for reaction in given:
            if reaction.user_arn in gone:
                deleted[reaction.emoji] += 1
            else:
                users[reaction.emoji].append(reaction.user_arn)
        return [
            ReactionUsers(r, tuple(users[r.short_code]), deleted[r.short_code])
            for r in REACTIONS
            if users[r.short_code] or deleted[r.short_code]
        ]


async def _deleted_users(arns: set[str], session: AsyncSession) -> set[str]:
    """The user ARNs among `arns` whose user no longer exists (other ARNs count as live:
    a role's session leaves no user to look up)."""
    names = {arn: arn.rpartition(":user/")[2] for arn in arns if ":user/" in arn}
    if not names:
        return set()
    rows = await session.execute(select(User.name).where(User.name.in_(set(names.values()))))
    live = {name for (name,) in rows}
    return {arn for arn, name in names.items() if name not in live}
