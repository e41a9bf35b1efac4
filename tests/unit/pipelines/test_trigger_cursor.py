"""The trigger consumer on a server with no pipeline: every event wakes it, and it reads
nothing (no transaction a push). The first pipeline's creation moves the consumer's
cursor to the newest event, so a push from before a pipeline existed never starts it;
a later pipeline leaves the cursor where the consumer has it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from gitserver.db import Database, DispatchCursor, EventRow, Repository, utcnow
from gitserver.pipelines import definitions
from gitserver.pipelines.store import TRIGGER_CURSOR, any_pipeline, create_pipeline
from tests.unit.pipelines.definition_examples import base

pytestmark = pytest.mark.database


async def _cursor(db: Database) -> int:
    query = select(DispatchCursor.last_seq).where(DispatchCursor.id == TRIGGER_CURSOR)
    async with db.session() as session:
        return int((await session.execute(query)).scalar_one())


async def _events(db: Database, count: int) -> None:
    async with db.session() as session:
        for n in range(count):
            session.add(
                EventRow(
                    id=f"event-{n}-{utcnow().timestamp()}",
                    type="referenceUpdated",
                    repository_id="r",
                    repository_name="demo",
                    actor="alice",
                    detail={},
                )
            )


async def _create(db: Database, name: str) -> None:
    wire = base()
    wire["name"] = name
    async with db.session() as session:
        await create_pipeline(session, definitions.from_wire(wire))


def test_the_first_pipeline_reads_from_the_newest_event(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    url = database_factory(tmp_path)

    async def run() -> None:
        db = Database(url)
        try:
            await db.upgrade()  # makes the cursor, at the newest event
            async with db.session() as session:
                session.add(Repository(id="r", name="demo"))
            await _events(db, 3)
            assert not await db.read(any_pipeline)
            assert await _cursor(db) == 0, "nothing to start: the events are not read"

            await _create(db, "first")
            assert await db.read(any_pipeline)
            assert await _cursor(db) == 3, "the pushes before the pipeline start nothing"

            await _events(db, 2)
            await _create(db, "second")
            assert await _cursor(db) == 3, "the consumer reads events 4 and 5 for both"
        finally:
            await db.close()

    asyncio.run(run())
