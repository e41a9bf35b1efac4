"""`Database.write`: a hot path's write transaction as one unit (a push's settle): committed
when the work returns, rolled back when it raises, and an event's wake-up delivered on the
subscriber's event loop even though a SQLite file's commit happens on another thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gitserver.db import Database
from triggers import events


async def _value(db: Database) -> int:
    return await db.read(lambda c: int(c.execute(text("SELECT v FROM t")).scalar_one()))


def test_write_commits_or_rolls_back_as_a_unit(tmp_path: Path) -> None:
    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            async with db.session() as session:
                await session.execute(text("CREATE TABLE t (v INTEGER)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))

            def bump(session: Session) -> int:
                session.execute(text("UPDATE t SET v = v + 1"))
                return threading.get_ident()

            thread = await db.write(bump)
            assert thread != threading.get_ident(), "a file is written on a thread of its own"
            assert await _value(db) == 2

            def half(session: Session) -> None:
                session.execute(text("UPDATE t SET v = 100"))
                raise ValueError("stop")

            with pytest.raises(ValueError):
                await db.write(half)
            assert await _value(db) == 2, "a unit that raised changed nothing"
            # Writers of both kinds take turns: none waits on SQLite's busy handler.
            await asyncio.gather(*(db.write(bump) for _ in range(5)), _bump_async(db))
            assert await _value(db) == 8
        finally:
            await db.close()

    asyncio.run(run())


async def _bump_async(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("UPDATE t SET v = v + 1"))


def test_a_commit_on_the_write_thread_wakes_subscribers_on_their_loop(tmp_path: Path) -> None:
    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        woken: list[int] = []
        woke = asyncio.Event()

        def wake() -> None:
            woken.append(threading.get_ident())
            woke.set()

        unsubscribe = events.on_events_committed(wake)
        try:
            async with db.session() as session:
                await session.execute(text("CREATE TABLE t (v INTEGER)"))

            def written(session: Session) -> None:
                session.info[events._COMMITTED] = True  # what record_event marks
                session.execute(text("INSERT INTO t VALUES (1)"))

            await db.write(written)
            await asyncio.wait_for(woke.wait(), 5)
            assert woken == [threading.get_ident()], "called on the subscriber's loop thread"
        finally:
            unsubscribe()
            await db.close()

    asyncio.run(run())


def test_a_cancelled_caller_hears_of_it_once_the_unit_has_committed(tmp_path: Path) -> None:
    """A delivery worker stopped mid-claim must not lose claims it committed: the cancel
    reaches the caller after the unit, which commits whole (and holds the lock till then)."""

    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        started, finish = threading.Event(), threading.Event()
        try:
            async with db.session() as session:
                await session.execute(text("CREATE TABLE t (v INTEGER)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))

            def held(session: Session) -> None:
                session.execute(text("UPDATE t SET v = v + 1"))
                started.set()
                finish.wait(30)

            task = asyncio.create_task(db.write(held))
            assert await asyncio.to_thread(started.wait, 30)
            task.cancel()
            queued = asyncio.create_task(_bump_async(db))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not task.done(), "the caller waits for its unit"
            assert not queued.done(), "the next writer waits for the unit too"
            finish.set()
            with pytest.raises(asyncio.CancelledError):
                await task
            await queued
            assert await _value(db) == 3, "the unit committed, then the next writer ran"
        finally:
            finish.set()
            await db.close()

    asyncio.run(run())
