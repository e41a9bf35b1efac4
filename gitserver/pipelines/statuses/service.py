"""Commit statuses: set, list, combine (GitHub's statuses API, as a service).

A status is reported by a pipeline execution or an external CI on one commit of one
repository under a `context` (the pipeline's name, the CI's name). The latest report per
(repository, commit, context) is kept, as GitHub's combined status reads only that;
every change is a `commitStatusChanged` outbox event in the same transaction, which is
where the history lives (webhooks, `gitserver event list`).

Front ends authorize first (`gitserver:PutCommitStatus`, `gitserver:GetCommitStatuses`
on the repository's ARN) and pass the acting name; the pipeline engine calls
`set_status` (or `set_status_in`, inside its own transaction) as the pipeline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.content.service import Contents
from gitserver.content.views import CommitInfo, UserInfo
from gitserver.db import CommitStatus, Database, Repository, utcnow
from gitserver.pipelines.statuses import errors
from gitserver.pipelines.statuses.model import STATES, CombinedStatus, CommitStatusView, combine
from gitserver.store.refs import known_refs, lock_repository
from gitserver.store.repositories import get_repository
from triggers.events import Event, EventType, record_event

MAX_CONTEXT = 255  # GitHub's limits
MAX_DESCRIPTION = 140
MAX_TARGET_URL = 2048
MAX_BRANCHES = 10  # GitHub's `status` payload lists at most 10 branches
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_context(context: str) -> str:
    """The context as stored.

    Raises:
        InvalidStatusContext: empty, longer than 255 characters, or control characters.
    """
    if not context or not context.strip():
        raise errors.InvalidStatusContext("A status context is required")
    if len(context) > MAX_CONTEXT or _CONTROL.search(context):
        raise errors.InvalidStatusContext(
            f"A status context is at most {MAX_CONTEXT} characters, without control characters"
        )
    return context


def _check(state: str, target_url: str, description: str) -> None:
    if state not in STATES:
        raise errors.InvalidStatusState(f"The state must be one of {', '.join(STATES)}")
    if len(description) > MAX_DESCRIPTION:
        raise errors.InvalidStatusDescription(
            f"The description must be at most {MAX_DESCRIPTION} characters"
        )
    if target_url and (
        len(target_url) > MAX_TARGET_URL
        or not re.match(r"https?://[^\s/]+", target_url)
        or _CONTROL.search(target_url)
    ):
        raise errors.InvalidStatusTargetUrl("The target URL must be an http or https URL")


async def set_status_in(
    session: AsyncSession,
    contents: Contents,
    actor: str,
    repository: str,
    commit_id: str,
    context: str,
    state: str,
    target_url: str = "",
    description: str = "",
) -> CommitStatusView:
    """Set `context`'s status on `commit_id` in the caller's transaction, with its event.

    Raises:
        InvalidStatusState, InvalidStatusContext, InvalidStatusDescription,
        InvalidStatusTargetUrl, RepositoryNotFound, InvalidCommitId, CommitNotFound.
    """
    check_context(context)
    _check(state, target_url, description)
    found = await get_repository(session, repository)
    commit = await contents.commit(found, commit_id)
    # The repository lock orders this repository's outbox writers (as refs do).
    repo = await lock_repository(session, found.id)
    assert repo is not None
    row = await session.scalar(
        select(CommitStatus).where(
            CommitStatus.repository_id == repo.id,
            CommitStatus.commit_id == commit_id,
            CommitStatus.context == context,
        )
    )
    previous = row.state if row is not None else ""
    now = utcnow()
    if row is None:
        row = CommitStatus(
            repository_id=repo.id, commit_id=commit_id, context=context, created_at=now
        )
        session.add(row)
    row.state, row.target_url, row.description = state, target_url, description
    row.creator, row.updated_at = actor, now
    await session.flush()
    branches = await _branches(session, repo.id, commit_id)
    record_event(session, _event(repo, row, previous, commit, branches))
    return CommitStatusView.of(row, repo.name)


class CommitStatuses:
    """Commit statuses over the database.

    A change is an outbox event, so whoever acts on it (merge when green in
    `gitserver serve`) hears of it as of any event: at once in this process
    (`triggers.events.on_events_committed`), by polling from others.
    """

    def __init__(self, db: Database, contents: Contents) -> None:
        self.db = db
        self.contents = contents

    async def set_status(
        self,
        actor: str,
        repository: str,
        commit_id: str,
        context: str,
        state: str,
        target_url: str = "",
        description: str = "",
    ) -> CommitStatusView:
        """Set `context`'s status on the commit (see `set_status_in`).

        Raises:
            InvalidStatusState, InvalidStatusContext, InvalidStatusDescription,
            InvalidStatusTargetUrl, RepositoryNotFound, InvalidCommitId, CommitNotFound.
        """
        async with self.db.session() as session:
            return await set_status_in(
                session,
                self.contents,
                actor,
                repository,
                commit_id,
                context,
                state,
                target_url,
                description,
            )

    async def list_statuses(self, repository: str, commit_id: str) -> list[CommitStatusView]:
        """The latest status of each context on the commit, by context.

        Raises:
            RepositoryNotFound.
        """
        async with self.db.reader() as session:
            repo = await get_repository(session, repository)
            return await statuses_in(session, repo, commit_id)

    async def combined_for(self, repo: Repository, commit_id: str) -> CombinedStatus:
        """`combined_state` of a repository whose row the caller has read (a page)."""
        async with self.db.reader() as session:
            statuses = await statuses_in(session, repo, commit_id)
        return CombinedStatus(commit_id, combine(s.state for s in statuses), tuple(statuses))

    async def combined_state(self, repository: str, commit_id: str) -> CombinedStatus:
        """GitHub's combined status of the commit (`model.combine`).

        Raises:
            RepositoryNotFound.
        """
        statuses = await self.list_statuses(repository, commit_id)
        return CombinedStatus(commit_id, combine(s.state for s in statuses), tuple(statuses))


async def statuses_in(
    session: AsyncSession, repo: Repository, commit_id: str
) -> list[CommitStatusView]:
    """The latest status of each context on `commit_id`, by context."""
    rows = await session.scalars(
        select(CommitStatus)
        .where(CommitStatus.repository_id == repo.id, CommitStatus.commit_id == commit_id)
        .order_by(CommitStatus.context)
    )
    return [CommitStatusView.of(row, repo.name) for row in rows]


async def _branches(session: AsyncSession, repository_id: str, commit_id: str) -> list[str]:
    """The branches whose tip is the commit (GitHub lists branches containing it; the
    tips are what the ledger knows without walking history)."""
    refs = await known_refs(session, repository_id)
    names = sorted(
        ref.removeprefix("refs/heads/")
        for ref, target in refs.items()
        if target == commit_id and ref.startswith("refs/heads/")
    )
    return names[:MAX_BRANCHES]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(who: UserInfo) -> dict[str, str]:
    zone = timezone(timedelta(minutes=who.offset_minutes))
    date = datetime.fromtimestamp(who.timestamp, zone).isoformat()
    return {"name": who.name, "email": who.email, "date": date}


def _event(
    repo: Repository,
    row: CommitStatus,
    previous: str,
    commit: CommitInfo,
    branches: list[str],
) -> Event:
    """`commitStatusChanged`: the status as it is now, the commit, its branches, so a
    converter (GitHub's `status`) never reads the database or git."""
    detail: dict[str, Any] = {
        "repositoryName": repo.name,
        "repositoryId": repo.id,
        "statusId": row.id,
        "commitId": row.commit_id,
        "context": row.context,
        "state": row.state,
        "previousState": previous,
        "targetUrl": row.target_url,
        "description": row.description,
        "creator": row.creator,
        "creationDate": _iso(row.created_at),
        "lastModifiedDate": _iso(row.updated_at),
        "commit": {
            "treeId": commit.tree_id,
            "parents": list(commit.parents),
            "message": commit.message,
            "author": _person(commit.author),
            "committer": _person(commit.committer),
        },
        "branches": branches,
    }
    return Event(
        EventType.COMMIT_STATUS_CHANGED, repo.name, row.creator, detail, repository_id=repo.id
    )
