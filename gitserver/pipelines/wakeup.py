"""Being woken when events are committed: in-process after commit, and on PostgreSQL by
LISTEN on the events table's NOTIFY (any process's commits); polling covers the rest."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gitserver.db import Database
from triggers.events import on_events_committed

log = logging.getLogger(__name__)

CHANNEL = "gitserver_events"
"""The channel migration 0005's trigger notifies on every insert into events."""


async def subscribe(db: Database, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """Call `wake` after commits that stored events; returns the unsubscriber."""
    unsubscribe = on_events_committed(wake)
    listener: Any = None
    if not db.is_sqlite:
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(db.url).set(drivername="postgresql")
        try:
            listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await listener.add_listener(CHANNEL, lambda *_: wake())
        except Exception:
            log.warning("LISTEN failed; pipelines fall back to polling", exc_info=True)
            listener = None

    async def close() -> None:
        unsubscribe()
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()

    return close
