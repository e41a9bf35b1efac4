"""Required status checks: the contexts that must be `success` on a pull request's
current source commit before it may be merged (per repository; `pulls/merging.py` asks).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import CommitStatus, Database, RequiredStatusCheck
from gitserver.pipelines.statuses import errors
from gitserver.pipelines.statuses.model import EXPECTED, SUCCESS, Unmet
from gitserver.pipelines.statuses.service import check_context
from gitserver.store.refs import lock_repository
from gitserver.store.repositories import get_repository

MAX_REQUIRED = 50


async def required_in(session: AsyncSession, repository_id: str) -> list[str]:
    """The repository's required contexts, by name."""
    rows = await session.scalars(
        select(RequiredStatusCheck.context)
        .where(RequiredStatusCheck.repository_id == repository_id)
        .order_by(RequiredStatusCheck.context)
    )
    return list(rows)


async def unmet_in(session: AsyncSession, repository_id: str, commit_id: str) -> list[Unmet]:
    """Each required context that is not `success` on `commit_id` (none: mergeable)."""
    required = await required_in(session, repository_id)
    if not required:
        return []
    rows = await session.execute(
        select(CommitStatus.context, CommitStatus.state).where(
            CommitStatus.repository_id == repository_id,
            CommitStatus.commit_id == commit_id,
            CommitStatus.context.in_(required),
        )
    )
    states = {context: state for context, state in rows}
    return [
        Unmet(context, states.get(context, EXPECTED))
        for context in required
        if states.get(context) != SUCCESS
    ]


class RequiredChecks:
    """Reads and changes a repository's required contexts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def contexts(self, repository: str) -> list[str]:
        """Raises RepositoryNotFound."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository)
            return await required_in(session, repo.id)

    async def unmet(self, repository: str, commit_id: str) -> list[Unmet]:
        """Each required context not `success` on the commit (`unmet_in`).

        Raises:
            RepositoryNotFound.
        """
        async with self.db.reader() as session:
            repo = await get_repository(session, repository)
            return await unmet_in(session, repo.id, commit_id)

    async def require(self, repository: str, context: str) -> list[str]:
        """Add `context` (already there: no change); returns the required contexts.

        Raises:
            InvalidStatusContext, TooManyRequiredStatusChecks, RepositoryNotFound.
        """
        check_context(context)
        async with self.db.session() as session:
            repo = await lock_repository(session, (await get_repository(session, repository)).id)
            assert repo is not None
            existing = await required_in(session, repo.id)
            if context not in existing:
                count = await session.scalar(
                    select(func.count())
                    .select_from(RequiredStatusCheck)
                    .where(RequiredStatusCheck.repository_id == repo.id)
                )
                if (count or 0) >= MAX_REQUIRED:
                    raise errors.TooManyRequiredStatusChecks(
                        f"A repository can require at most {MAX_REQUIRED} status contexts"
                    )
                session.add(RequiredStatusCheck(repository_id=repo.id, context=context))
                await session.flush()
            return await required_in(session, repo.id)

    async def remove(self, repository: str, context: str) -> list[str]:
        """Stop requiring `context` (not required: no change); returns the rest.

        Raises:
            RepositoryNotFound.
        """
        async with self.db.session() as session:
            repo = await get_repository(session, repository)
            await session.execute(
                delete(RequiredStatusCheck).where(
                    RequiredStatusCheck.repository_id == repo.id,
                    RequiredStatusCheck.context == context,
                )
            )
            return await required_in(session, repo.id)
