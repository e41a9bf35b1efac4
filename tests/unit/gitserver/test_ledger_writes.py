"""The ledger's writes as statements built once (`refs.write_ref_changes`) inside an ORM
caller's transaction (a merge): what the caller recorded first stays first in the
outbox, and the pull requests the session holds see the stale marks the SQL made."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gitserver.db import Database, EventRow, PullRequest, Ref, Repository
from gitserver.store.refs import RefChange, RefKind, apply_ref_changes_in
from triggers.events import Event, EventType, record_event

A, B = "a" * 40, "b" * 40
MAIN, OTHER = "refs/heads/main", "refs/heads/other"


def _pull_request(number: int, destination: str, status: str = "OPEN") -> PullRequest:
    return PullRequest(
        id=number,
        repository_id="r",
        title=f"pr {number}",
        status=status,
        author="alice",
        author_arn="arn:aws:iam::111111111111:user/alice",
        source_ref="refs/heads/feature",
        destination_ref=destination,
        source_commit=A,
        destination_commit=A,
        revision_id=f"rev{number}",
    )


def test_an_orm_caller_keeps_its_order_and_sees_the_stale_marks(tmp_path: Path) -> None:
    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            await db.upgrade()
            async with db.session() as session:
                session.add(Repository(id="r", name="demo"))
            async with db.session() as session:
                session.add(Ref(repository_id="r", name=MAIN, target=A))
                session.add_all(
                    [
                        _pull_request(1, MAIN),
                        _pull_request(2, MAIN, status="CLOSED"),
                        _pull_request(3, OTHER),
                    ]
                )

            def merge(session: Session) -> tuple[object, ...]:
                repo = session.get(Repository, "r")
                held = [session.get(PullRequest, n) for n in (1, 2, 3)]
                assert repo is not None and all(held)
                held[2].title = "renamed"  # type: ignore[union-attr]  # pending, not flushed
                before = Event(EventType.PULL_REQUEST_STATUS_CHANGED, "demo", "bob", {}, "r")
                record_event(session, before)  # added, not flushed: must stay first
                default = apply_ref_changes_in(
                    session,
                    repo,
                    [RefChange(MAIN, A, B, RefKind.FAST_FORWARD)],
                    actor="bob",
                    push_id="p1",
                    transport="http",
                )
                seen = tuple((pr.stale, pr.stale_actor) for pr in held if pr is not None)
                return default, repo.default_branch, seen

            default, branch, seen = await db.write(merge)
            assert (default, branch) == (None, None)  # only a created branch becomes the default
            assert seen == ((True, "bob"), (False, ""), (False, ""))
            async with db.session() as session:
                stored = await session.execute(
                    select(PullRequest.id, PullRequest.stale, PullRequest.title).order_by(
                        PullRequest.id
                    )
                )
                assert [tuple(row) for row in stored] == [
                    (1, True, "pr 1"),
                    (2, False, "pr 2"),
                    (3, False, "renamed"),
                ]
                types = await session.scalars(select(EventRow.type).order_by(EventRow.seq))
                assert list(types) == ["pullRequestStatusChanged", "referenceUpdated"]
                target = await session.scalar(
                    text("SELECT target FROM refs WHERE name = :n"), {"n": MAIN}
                )
                assert target == B
        finally:
            await db.close()

    asyncio.run(run())
