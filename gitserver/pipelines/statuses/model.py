"""What commit-status reads return: frozen values every front end shapes its own way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gitserver.db import CommitStatus

PENDING, SUCCESS, FAILURE, ERROR = "pending", "success", "failure", "error"
STATES = (PENDING, SUCCESS, FAILURE, ERROR)
# A required context nothing has reported on yet (GitHub shows "Expected").
EXPECTED = "expected"


@dataclass(frozen=True, slots=True)
class CommitStatusView:
    """The latest status of one context on one commit."""

    id: int
    repository_name: str
    commit_id: str
    context: str
    state: str
    target_url: str
    description: str
    creator: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: CommitStatus, repository_name: str) -> CommitStatusView:
        return cls(
            id=row.id,
            repository_name=repository_name,
            commit_id=row.commit_id,
            context=row.context,
            state=row.state,
            target_url=row.target_url,
            description=row.description,
            creator=row.creator,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "context": self.context,
            "state": self.state,
            "targetUrl": self.target_url,
            "description": self.description,
            "creator": self.creator,
            "commitId": self.commit_id,
            "creationDate": self.created_at.isoformat(),
            "lastModifiedDate": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CombinedStatus:
    """GitHub's combined status: one state for a commit and the statuses it comes from."""

    commit_id: str
    state: str
    statuses: tuple[CommitStatusView, ...]


@dataclass(frozen=True, slots=True)
class Unmet:
    """A required context that is not `success` on a commit: its state, or `expected`."""

    context: str
    state: str

    def __str__(self) -> str:
        return f"{self.context} ({self.state})"


def combine(states: Iterable[str]) -> str:
    """GitHub's rule: `failure` if any context is `failure` or `error`, else `pending`
    if any is `pending` or there is none, else `success`."""
    seen = set(states)
    if seen & {FAILURE, ERROR}:
        return FAILURE
    if not seen or PENDING in seen:
        return PENDING
    return SUCCESS
