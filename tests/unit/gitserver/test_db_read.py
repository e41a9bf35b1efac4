"""`Database.read`: a hot path's read transaction as one unit, on a thread of its own for a
SQLite file (through `run_sync` otherwise), seeing every commit made before it starts."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import Connection, text

from gitserver.db import Database


async def _write(db: Database, value: int) -> None:
    async with db.session() as session:
        await session.execute(text("UPDATE t SET v = :v"), {"v": value})


def _value(connection: Connection) -> tuple[int, int]:
    return connection.execute(text("SELECT v FROM t")).scalar_one(), threading.get_ident()


def test_read_sees_each_commit_before_it(tmp_path: Path) -> None:
    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            async with db.session() as session:
                await session.execute(text("CREATE TABLE t (v INTEGER)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))
            value, thread = await db.read(_value)
            assert value == 1
            assert thread != threading.get_ident(), "a file is read on a thread of its own"
            await _write(db, 2)
            assert (await db.read(_value))[0] == 2, "the next read sees the commit"
            found = await asyncio.gather(*(db.read(_value) for _ in range(10)))
            assert {value for value, _ in found} == {2}
        finally:
            await db.close()

    asyncio.run(run())


def test_an_in_memory_database_is_read_on_its_own_connection() -> None:
    """One in-memory database per connection: no thread's connection could see it."""

    async def run() -> int:
        db = Database("sqlite+aiosqlite://")
        try:
            return await db.read(lambda c: int(c.execute(text("SELECT 41 + 1")).scalar_one()))
        finally:
            await db.close()

    assert asyncio.run(run()) == 42
