"""The trigger consumer's cursor on a server with no pipeline: every event wakes the
consumer, and it passes the new events in one write unit, but never over a young gap
(a lower number still being committed) and never when a pipeline exists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gitserver.db import Database, DispatchCursor, EventRow, PipelineRow, utcnow
from gitserver.pipelines.triggering import CURSOR_ID, GAP_GRACE, pass_without_pipelines

pytestmark = pytest.mark.database


async def _cursor(db: Database) -> int:
    query = select(DispatchCursor.last_seq).where(DispatchCursor.id == CURSOR_ID)
    async with db.session() as session:
        return int((await session.execute(query)).scalar_one())


async def _event(db: Database, seq: int | None = None, age: timedelta = timedelta()) -> None:
    async with db.session() as session:
        session.add(
            EventRow(
                seq=seq,
                id=f"event-{seq}-{utcnow().timestamp()}",
                time=utcnow() - age,
                type="referenceUpdated",
                repository_id="r",
                repository_name="r",
                actor="alice",
                detail={},
            )
        )


def test_the_cursor_passes_events_only_when_no_pipeline_exists(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    url = database_factory(tmp_path)

    async def run() -> None:
        db = Database(url)
        try:
            await db.upgrade()  # makes the cursor, at the newest event
            assert await _cursor(db) == 0
            for _ in range(3):
                await _event(db)
            assert await db.write(pass_without_pipelines) == 3
            assert await _cursor(db) == 3
            assert await db.write(pass_without_pipelines) == 0

            # Number 4 is not committed yet and 5 is young: wait for 4.
            await _event(db, seq=5)
            assert await db.write(pass_without_pipelines) == 0
            assert await _cursor(db) == 3
            await _event(db, seq=4)
            assert await db.write(pass_without_pipelines) == 2
            assert await _cursor(db) == 5
            # Past the grace a gap is taken for a rolled-back transaction.
            await _event(db, seq=7, age=GAP_GRACE * 2)
            assert await db.write(pass_without_pipelines) == 1
            assert await _cursor(db) == 7

            async with db.session() as session:
                session.add(PipelineRow(name="p", definition={}, repositories=["r"]))
            await _event(db, seq=8)
            assert await db.write(pass_without_pipelines) is None, "consume decides"
            assert await _cursor(db) == 7
        finally:
            await db.close()

    asyncio.run(run())
