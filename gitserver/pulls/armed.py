"""Merge-when-green state of a pull request: the row and its events, in the caller's
transaction (the follower disarms on a push inside its own; `automerge.py` arms).

A pull request is armed on one source commit with one strategy by one user. The armed
row is its only state: a push to the source removes it (`pullRequestAutoMergeDisabled`,
reason `push`), so a commit the reviewer did not see is never merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import AutoMerge, PullRequest, Repository
from gitserver.pulls import history
from triggers.events import EventType

# Why a pull request was disarmed (the event's `reason`).
PUSH = "push"  # a new source commit
CANCELLED = "cancelled"  # a person disarmed it
REFUSED = "refused"  # the merge was refused for good (conflicts, access)
MERGED = "merged"  # done


@dataclass(frozen=True, slots=True)
class ArmedView:
    """An armed pull request: what will be merged, how, as whom."""

    pull_request_id: str
    strategy: str
    armed_by: str
    armed_by_arn: str
    source_commit: str
    armed_at: datetime
    last_error: str

    @classmethod
    def of(cls, row: AutoMerge) -> ArmedView:
        return cls(
            str(row.pull_request_id),
            row.strategy,
            row.armed_by,
            row.armed_by_arn,
            row.source_commit,
            row.armed_at,
            row.last_error,
        )


async def armed_in(session: AsyncSession, pull_request_id: int) -> AutoMerge | None:
    return await session.get(AutoMerge, pull_request_id, populate_existing=True)


async def arm_in(
    session: AsyncSession,
    repo: Repository,
    pr: PullRequest,
    *,
    strategy: str,
    actor: str,
    actor_arn: str,
) -> AutoMerge:
    """Arm (or re-arm) `pr` on its current source commit, with its event."""
    row = await armed_in(session, pr.id)
    if row is None:
        row = AutoMerge(pull_request_id=pr.id)
        session.add(row)
    row.strategy, row.armed_by, row.armed_by_arn = strategy, actor, actor_arn
    row.source_commit, row.last_error = pr.source_commit, ""
    await session.flush()
    history.record(
        session,
        pr,
        repo,
        actor=actor,
        actor_arn=actor_arn,
        history=None,  # CodeCommit's history has no such event type
        outbox=EventType.PULL_REQUEST_AUTO_MERGE_ENABLED,
        autoMergeStrategy=strategy,
        autoMergeCommitId=pr.source_commit,
    )
    return row


async def disarm_in(
    session: AsyncSession,
    repo: Repository,
    pr: PullRequest,
    *,
    actor: str,
    actor_arn: str,
    reason: str,
    message: str = "",
) -> bool:
    """Disarm `pr` if it is armed, with its event; whether it was."""
    row = await armed_in(session, pr.id)
    if row is None:
        return False
    strategy, commit = row.strategy, row.source_commit
    await session.delete(row)
    await session.flush()
    if reason == MERGED:
        return True  # the merge's own event says it
    history.record(
        session,
        pr,
        repo,
        actor=actor,
        actor_arn=actor_arn,
        history=None,
        outbox=EventType.PULL_REQUEST_AUTO_MERGE_DISABLED,
        autoMergeStrategy=strategy,
        autoMergeCommitId=commit,
        reason=reason,
        message=message,
    )
    return True
