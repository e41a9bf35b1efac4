"""Pull requests follow their refs, whoever moves them.

Every ledger write (`store/refs.apply_ref_changes`: a push over HTTP or SSH, an API
write, a merge, the reconciler) marks the open pull requests whose source or destination
it moved `stale`, in its own transaction and with SQL alone, so a push pays for one
UPDATE and no git process under the repository lock. `follow()` then brings them up to
date under the repository lock, from the ledger's refs: new commits and merge base, a new
`revisionId` (so approvals of the old revision stop counting), the source-updated event,
comments carried to the new revision, and the close as merged when the source is now
contained in the destination (a merge made outside, as CodeCommit does).

It runs after a push is settled, after the server commits any event, periodically
(for changes made by other processes), and before the service reads or merges a stale
pull request, so no reader ever sees a stale revision as current.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Database, PullRequest, Repository
from gitserver.gitcmd import Git, GitError
from gitserver.pulls import armed, history
from gitserver.pulls.model import CLOSED, OPEN, user_arn
from gitserver.store.refs import known_refs, lock_repository
from gitserver.store.repositories import RepositoryStore
from triggers.events import EventType

log = logging.getLogger(__name__)

# carry(session, git, path, pull_request_id, old_source, new_source)
CommentCarrier = Callable[[AsyncSession, Git, Path, int, str, str], Awaitable[None]]


def new_revision_id() -> str:
    return secrets.token_hex(32)


async def merge_base(git: Git, path: Path, a: str, b: str) -> str:
    """The best common ancestor of `a` and `b`, or "" when they share no history."""
    result = await git.run("merge-base", a, b, repo=path, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else ""


async def is_ancestor(git: Git, path: Path, ancestor: str, descendant: str) -> bool:
    try:
        result = await git.run(
            "merge-base", "--is-ancestor", ancestor, descendant, repo=path, check=False
        )
    except GitError:
        return False
    return result.returncode == 0


_STALE_REPOSITORIES = (
    select(PullRequest.repository_id)
    .where(PullRequest.stale.is_(True), PullRequest.status == OPEN)
    .distinct()
)


class Follower:
    """Brings stale pull requests up to date (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        git: Git,
        store: RepositoryStore,
        carry: CommentCarrier | None = None,
    ) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.carry = carry

    async def follow_all(self) -> int:
        """Every repository with a stale open pull request; returns how many were updated."""
        # Every event wakes this (most find nothing stale): one read unit, built once.
        repositories = await self.db.read(
            lambda connection: list(connection.execute(_STALE_REPOSITORIES).scalars())
        )
        return sum([await self.follow(repository_id) for repository_id in repositories])

    async def follow(self, repository_id: str) -> int:
        """The repository's stale open pull requests; returns how many were updated."""
        async with self.db.reader() as session:
            if not await _stale(session, repository_id, limit=1):
                return 0
        async with self.db.session() as session:
            return await self.follow_in(session, repository_id)

    async def follow_in(self, session: AsyncSession, repository_id: str) -> int:
        """`follow` in the caller's transaction (a merge deciding on current approvals)."""
        repo = await lock_repository(session, repository_id)
        if repo is None:
            return 0
        stale = await _stale(session, repository_id)
        if not stale:
            return 0
        refs = await known_refs(session, repository_id)
        path = self.store.path(repository_id)
        for pr in stale:
            await self.refresh(session, path, repo, pr, refs)
        return len(stale)

    async def refresh(
        self,
        session: AsyncSession,
        path: Path,
        repo: Repository,
        pr: PullRequest,
        refs: dict[str, str],
    ) -> None:
        """Bring `pr` to the ledger's `refs` (the caller holds the repository lock)."""
        pr.stale = False
        source, destination = refs.get(pr.source_ref), refs.get(pr.destination_ref)
        if source is None or destination is None:
            # A deleted branch: the pull request keeps its last commits and stays readable.
            return
        if source == pr.source_commit and destination == pr.destination_commit:
            return
        actor = pr.stale_actor or pr.author
        actor_arn = user_arn(self.store.endpoints.account_id, actor)
        old_source = pr.source_commit
        pr.source_commit, pr.destination_commit = source, destination
        if await is_ancestor(self.git, path, source, destination):
            self._merged_outside(session, repo, pr, actor, actor_arn)
            return
        pr.merge_base = await merge_base(self.git, path, source, destination)
        pr.revision_id = new_revision_id()
        if source == old_source:
            # Only the destination moved: a new revision (approvals start again), no event.
            return
        history.record(
            session,
            pr,
            repo,
            actor=actor,
            actor_arn=actor_arn,
            history=history.SOURCE_UPDATED,
            metadata={
                "repositoryName": repo.name,
                "beforeCommitId": old_source,
                "afterCommitId": source,
                "mergeBase": pr.merge_base,
            },
            outbox=EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED,
            beforeCommitId=old_source,
            afterCommitId=source,
        )
        # Merge when green was armed on the commit the reviewer saw; this one they did not.
        await armed.disarm_in(
            session, repo, pr, actor=actor, actor_arn=actor_arn, reason=armed.PUSH
        )
        if self.carry is not None:
            await self.carry(session, self.git, path, pr.id, old_source, source)

    def _merged_outside(
        self,
        session: AsyncSession,
        repo: Repository,
        pr: PullRequest,
        actor: str,
        actor_arn: str,
    ) -> None:
        # The source's commits are all in the destination: merged by whoever moved it.
        pr.merge_base = pr.source_commit
        pr.status = CLOSED
        pr.is_merged = True
        pr.merged_by = actor_arn
        history.record(
            session,
            pr,
            repo,
            actor=actor,
            actor_arn=actor_arn,
            history=history.MERGE_STATE_CHANGED,
            metadata={
                "repositoryName": repo.name,
                "destinationReference": pr.destination_ref,
                "mergeMetadata": {"isMerged": True, "mergedBy": actor_arn},
            },
            outbox=EventType.PULL_REQUEST_MERGE_STATUS_UPDATED,
        )


async def _stale(
    session: AsyncSession, repository_id: str, limit: int | None = None
) -> list[PullRequest]:
    query = (
        select(PullRequest)
        .where(
            PullRequest.repository_id == repository_id,
            PullRequest.status == OPEN,
            PullRequest.stale.is_(True),
        )
        .order_by(PullRequest.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


class FollowLoop:
    """Runs `follow_all` soon after the server commits an event, and every `interval`
    seconds for changes other processes made (the CLI, a second server)."""

    def __init__(self, follower: Follower, interval: float = 5.0) -> None:
        self.follower = follower
        self.interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.follower.follow_all()
            except Exception:
                log.exception("bringing pull requests up to date failed; retrying")
