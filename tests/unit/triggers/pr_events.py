"""Pull-request events for converter tests, built by the one detail builder
(`gitserver/pulls/details.py`) from rows as the service leaves them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from gitserver.db import PullRequest, Repository
from gitserver.pulls.details import pull_request_event
from triggers.events import Event, EventType
from triggers.formats import CONVERTERS, CommitInfo, Payload, PayloadContext, RepositoryInfo

BASE = "http://git.example.test:8080"
ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
SOURCE = "a" * 40
DESTINATION = "b" * 40
BASE_COMMIT = "c" * 40
MOMENT = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)


def repository() -> Repository:
    return Repository(
        id="0b7c3f0e-1111-4a4a-9d9d-000000000001",
        name="shop",
        description="the shop",
        default_branch="main",
        created_at=MOMENT,
        updated_at=MOMENT,
        pushed_at=MOMENT,
    )


def pull_request(**changes: Any) -> PullRequest:
    values: dict[str, Any] = {
        "id": 7,
        "repository_id": repository().id,
        "title": "Add the cart",
        "description": "Adds a cart.",
        "status": "OPEN",
        "author": "alice",
        "author_arn": ALICE,
        "source_ref": "refs/heads/feature/cart",
        "destination_ref": "refs/heads/main",
        "source_commit": SOURCE,
        "destination_commit": DESTINATION,
        "merge_base": BASE_COMMIT,
        "revision_id": "f" * 64,
        "is_merged": False,
        "merged_by": "",
        "merge_commit_id": "",
        "merge_option": "",
        "created_at": MOMENT,
        "updated_at": MOMENT,
    }
    values.update(changes)
    return PullRequest(**values)


def event(
    kind: EventType, actor: str = "alice", pr: PullRequest | None = None, **extra: Any
) -> Event:
    arn = f"arn:aws:iam::{ACCOUNT}:user/{actor}"
    return pull_request_event(kind, pr or pull_request(), repository(), actor, arn, **extra)


async def _commits(
    repository_id: str, ref: str, old: str, new: str, limit: int
) -> list[CommitInfo]:
    """Two commits on the source since the merge base, touching two files."""
    return [
        CommitInfo(
            SOURCE[:39] + str(n),
            "d" * 40,
            f"cart {n}",
            "2026-12-05T10:00:00+00:00",
            "Alice",
            "alice@example.test",
            "Alice",
            "alice@example.test",
            added=("cart.py",),
            modified=("shop.py",),
        )
        for n in range(2)
    ]


def context() -> PayloadContext:
    repo = repository()
    assert repo.pushed_at is not None
    info = RepositoryInfo(
        id=repo.id,
        name=repo.name,
        description=repo.description,
        default_branch=repo.default_branch,
        created_at=repo.created_at,
        updated_at=repo.updated_at,
        pushed_at=repo.pushed_at,
        clone_url_http=f"{BASE}/v1/repos/{repo.name}",
        clone_url_ssh=f"ssh://git.example.test:2222/v1/repos/{repo.name}",
        arn=f"arn:aws:codecommit:eu-west-1:{ACCOUNT}:{repo.name}",
    )
    return PayloadContext(
        base_url=BASE, region="eu-west-1", account_id=ACCOUNT, repository=info, commits=_commits
    )


def convert(format: str, item: Event) -> Payload | None:
    return asyncio.run(CONVERTERS[format](item, context()))
