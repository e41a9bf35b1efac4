"""Engine and sessions: SQLite (WAL, foreign keys, immediate write transactions) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
T = TypeVar("T")
# Threads (and pooled connections) of `Database.read` on SQLite: each holds one read at a
# time, and a read is a few statements with no waiting between them.
_READ_THREADS = 4


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})
    _configure_sqlite(engine.sync_engine, immediate=immediate)
    return engine


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later
        # writes fails with SQLITE_BUSY instead of waiting when another writer got there.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def _uninterrupted(unit: asyncio.Future[T]) -> T:
    """`unit`'s result; a cancel that comes meanwhile is raised once `unit` has ended."""
    try:
        return await asyncio.shield(unit)
    except asyncio.CancelledError:
        while not unit.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({unit})
        if not unit.cancelled():
            unit.exception()  # retrieved: the cancel is what the caller hears
        raise


class Database:
    """Owns the engines. `session()` is for units of work that write, `reader()` for reads."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._sync_read_engine: Engine | None = None
        self._sync_write_engine: Engine | None = None
        self._write_thread: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
            if database and database != ":memory:":
                # The same file through the plain sqlite3 driver, for `read`.
                self._sync_read_engine = create_engine(
                    parsed.set(drivername="sqlite+pysqlite"),
                    connect_args={"timeout": 30, "check_same_thread": False},
                    pool_size=_READ_THREADS,
                    max_overflow=0,
                )
                _configure_sqlite(self._sync_read_engine, immediate=False)
                # And for `write`: one connection, used under the process's write lock.
                self._sync_write_engine = create_engine(
                    parsed.set(drivername="sqlite+pysqlite"),
                    connect_args={"timeout": 30, "check_same_thread": False},
                    pool_size=1,
                    max_overflow=0,
                )
                _configure_sqlite(self._sync_write_engine, immediate=True)
        else:
            self.engine = create_async_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.read_engine = self.engine
        # SQLite has one writer at a time. Queueing this process's writers here, in
        # order, spares them SQLite's busy handler, which sleeps in growing steps (up to
        # 100 ms) and made 4 concurrent API writers wait up to a second. Other processes
        # (the CLI, workers) still meet the busy handler.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._read_threads: ThreadPoolExecutor | None = None
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on success, rolled back on error."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            session = await stack.enter_async_context(self._writer())
            await stack.enter_async_context(session.begin())
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never takes SQLite's write lock)."""
        async with self._reader() as session, session.begin():
            yield session

    async def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one read transaction, as one unit: a few Core (or sync
        ORM) statements that a hot path runs on every request.

        Through aiosqlite each statement costs four hops between the loop and the
        connection's thread (cursor, execute, fetch, close; BEGIN three more), and a hop
        costs more CPU than a small query. Here a SQLite read is one hop, to a thread
        that runs the whole transaction on its own sqlite3 connection; on PostgreSQL the
        same `work` runs through `run_sync` (asyncpg's round trips, no thread).
        """
        engine = self._sync_read_engine
        if engine is None:
            async with self.read_engine.connect() as connection, connection.begin():
                return await connection.run_sync(work)
        if self._read_threads is None:
            self._read_threads = ThreadPoolExecutor(_READ_THREADS, thread_name_prefix="db-read")

        def run() -> T:
            with engine.connect() as connection, connection.begin():
                return work(connection)

        return await asyncio.get_running_loop().run_in_executor(self._read_threads, run)

    async def write(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one write transaction, as one unit, committed when it
        returns (rolled back if it raises): `read`'s counterpart for a hot path's writes
        (a push's settle), with a sync ORM session.

        On SQLite the whole transaction is one hop to a thread of its own, under the
        process's write lock: 8 statements cost ~0.8 ms there against ~10 ms through
        aiosqlite at load 13, where every statement is four hops. Session events
        (`after_commit`) then run on that thread. On PostgreSQL `work` runs through
        `run_sync` in an ordinary `session()`.

        Once started, the unit runs to its end: a caller cancelled meanwhile gets its
        `CancelledError` after the commit (or rollback), never in its middle. A commit
        cut short is one whose effects nobody hears of (a delivery worker's claims), and
        on SQLite the lock is held until the writer thread is done with the connection.
        """
        engine = self._sync_write_engine
        if engine is None:
            return await _uninterrupted(asyncio.ensure_future(self._write_in_session(work)))
        assert self._write_lock is not None
        if self._write_thread is None:
            self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="db-write")

        def run() -> T:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)

        async with self._write_lock:
            unit = asyncio.get_running_loop().run_in_executor(self._write_thread, run)
            return await _uninterrupted(unit)

    async def _write_in_session(self, work: Callable[[Session], T]) -> T:
        async with self.session() as session:
            return await session.run_sync(work)

    async def upgrade(self) -> None:
        """Apply Alembic migrations up to head (a cheap check first: the CLI runs this often)."""
        from gitserver.db.revision import HEAD_REVISION

        async with self.read_engine.connect() as connection:
            try:
                current = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
            except Exception:
                current = None
            await connection.rollback()
        if current == HEAD_REVISION:
            return
        from gitserver.db.migrate import upgrade  # Alembic: only when there is work

        async with self.engine.connect() as connection:
            await connection.run_sync(upgrade)
            await connection.commit()

    async def ping(self) -> None:
        async with self.reader() as session:
            await session.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._read_threads is not None:
            self._read_threads.shutdown(wait=False)
            self._read_threads = None
        if self._write_thread is not None:
            self._write_thread.shutdown(wait=True)
            self._write_thread = None
        for sync_engine in (self._sync_read_engine, self._sync_write_engine):
            if sync_engine is not None:
                sync_engine.dispose()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
