"""Reading the outbox (delivery and the CLI); writing is `record_event`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import EventRow
from triggers.events import Event


async def list_events(
    session: AsyncSession, *, repository: str | None = None, after: int = 0, limit: int = 1000
) -> list[tuple[int, Event]]:
    """Events in the order they were stored, with their sequence numbers."""
    query = select(EventRow).where(EventRow.seq > after).order_by(EventRow.seq).limit(limit)
    if repository is not None:
        query = query.where(EventRow.repository_name == repository)
    return [(row.seq, Event.from_row(row)) for row in await session.scalars(query)]
