"""The delivery queue's claims and settles against the real database: which deliveries a
claim may take (order per hook and repository), and what a settle may overwrite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gitserver.db import Database, Delivery, DeliveryAttempt, Subscription, utcnow
from triggers.events import Event, EventType
from triggers.queue import Claimed, Settled, claim, new_delivery, settle

# Locking and ordering: SQL semantics decide the outcome.
pytestmark = pytest.mark.database

LEASE = timedelta(seconds=60)


def _run(
    database_factory: Callable[[Path], str],
    tmp_path: Path,
    test: Callable[[Database], Awaitable[None]],
) -> None:
    url = database_factory(tmp_path)  # PostgreSQL: runs a loop of its own

    async def go() -> None:
        db = Database(url)
        try:
            await db.upgrade()
            await test(db)
        finally:
            await db.close()

    asyncio.run(go())


async def _hook(db: Database) -> str:
    hook = str(uuid.uuid4())
    async with db.session() as session:
        session.add(
            Subscription(id=hook, kind="webhook", url="http://127.0.0.1:9/", format="native")
        )
    return hook


async def _queue(db: Database, hook: str, repository: str, **states: dict[str, Any]) -> list[str]:
    """Deliveries to `hook` about `repository`, in this order, with the given columns."""
    ids = []
    async with db.session() as session:
        for values in states.values():
            event = Event(EventType.REFERENCE_UPDATED, "r", "u", {}, repository_id=repository)
            row = new_delivery(hook, event, None)
            for column, value in values.items():
                setattr(row, column, value)
            session.add(row)
            await session.flush()
            ids.append(row.id)
    return ids


async def _claim(db: Database, limit: int = 16) -> list[Claimed]:
    async with db.session() as session:
        return await claim(session, limit=limit, lease=LEASE, is_postgres=not db.is_sqlite)


def test_a_run_stops_at_the_first_delivery_not_yet_due(
    database_factory: Callable[[Path], str], tmp_path: Path
) -> None:
    async def test(db: Database) -> None:
        hook = await _hook(db)
        later = utcnow() + timedelta(hours=1)
        ids = await _queue(db, hook, "repo", a={}, b={}, c={"next_attempt_at": later}, d={})
        assert [c.id for c in await _claim(db)] == ids[:2]
        assert await _claim(db) == []  # c waits, and d waits behind it

    _run(database_factory, tmp_path, test)


def test_a_run_whose_lease_ran_out_is_taken_again_whole_and_in_order(
    database_factory: Callable[[Path], str], tmp_path: Path
) -> None:
    """A worker died after claiming a and b: both come due together, and c must not be
    sent before b."""

    async def test(db: Database) -> None:
        hook = await _hook(db)
        lost = {"state": "in_flight", "lease_until": utcnow() - timedelta(seconds=1)}
        ids = await _queue(db, hook, "repo", a=lost, b=lost, c={})
        assert [c.id for c in await _claim(db)] == ids

    _run(database_factory, tmp_path, test)


def test_hooks_of_one_repository_are_claimed_apart(
    database_factory: Callable[[Path], str], tmp_path: Path, backend: str
) -> None:
    """Order holds per hook and repository, not per repository: while one claim holds a
    repository's first hook (its transaction still open, on PostgreSQL), another claim
    takes the second hook's deliveries."""

    async def test(db: Database) -> None:
        first, second = await _hook(db), await _hook(db)
        one = await _queue(db, first, "repo", a={}, b={})
        two = await _queue(db, second, "repo", a={}, b={})
        if backend == "sqlite":  # one writer: the claims follow each other
            taken = [await _claim(db, limit=1), await _claim(db, limit=1)]
        else:
            async with db.session() as session:
                held = await claim(session, limit=1, lease=LEASE, is_postgres=True)
                taken = [held, await _claim(db, limit=1)]
        assert [[c.id for c in run] for run in taken] == [one, two]

    _run(database_factory, tmp_path, test)


def test_a_settle_after_a_lost_lease_keeps_the_new_claim_and_logs_the_attempt(
    database_factory: Callable[[Path], str], tmp_path: Path
) -> None:
    """A send that outlasted its lease: another worker claimed the delivery again. The
    late settle must not mark it done under the new owner, but its attempt was made."""

    async def test(db: Database) -> None:
        hook = await _hook(db)
        (delivery,) = await _queue(db, hook, "repo", a={})
        (old,) = await _claim(db)
        async with db.session() as session:
            row = await session.scalar(select(Delivery).where(Delivery.id == delivery))
            assert row is not None
            row.lease_until = utcnow() - timedelta(seconds=1)
        (new,) = await _claim(db)
        now = utcnow()
        attempt = {
            "delivery_id": delivery,
            "number": 1,
            "started_at": now,
            "duration_ms": 5,
            "url": "http://127.0.0.1:9/",
            "request_headers": {},
            "request_body": "{}",
            "response_status": 200,
            "response_excerpt": "",
            "error": "",
        }
        done = Settled(old, "succeeded", 1, old.next_attempt_at, now, 200, "")
        async with db.session() as session:
            await settle(session, [done], [attempt], is_postgres=not db.is_sqlite)
        async with db.reader() as session:
            row = await session.scalar(select(Delivery).where(Delivery.id == delivery))
            logged = list(await session.scalars(select(DeliveryAttempt.delivery_id)))
        assert row is not None
        assert (row.state, row.attempts) == ("in_flight", 0)
        assert row.lease_until == new.lease_until
        assert logged == [delivery]

    _run(database_factory, tmp_path, test)
