"""Whether an exception means "the database cannot be reached now", not a bug.

PostgreSQL stopped or restarting, a connection cut under a transaction, the pool unable
to connect: every front end answers these with its own 503 (retry later) instead of a
500 and a traceback, and background loops wait for the next pass. The pool pre-pings its
connections, so the first request after the database is back gets a fresh one.
"""

from __future__ import annotations

import logging

from sqlalchemy import exc as sa

MESSAGE = "the database is unavailable; try again shortly"

# Raised by asyncpg (or the socket under it) before SQLAlchemy wraps it, e.g. on connect.
_RAW = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
# PostgreSQL's SQLSTATE classes for "not now": 08 connection exception, 57P admin
# shutdown / crash shutdown / cannot connect now.
_SQLSTATE_PREFIXES = ("08", "57P")


def is_unavailable(error: BaseException) -> bool:
    """True for a lost or refused database connection (walks the exception's causes)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa.DisconnectionError, sa.TimeoutError)):
            return True
        if isinstance(current, _RAW):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_SQLSTATE_PREFIXES):
            return True
        if type(current).__module__.startswith("asyncpg") and type(current).__name__ in (
            "ConnectionDoesNotExistError",
            "InterfaceError",
            "ConnectionFailureError",
            "CannotConnectNowError",
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


class OutageLogFilter(logging.Filter):
    """One line instead of a traceback for a failure the database outage explains.

    Request handlers and background loops log what they could not do with
    `log.exception`; while the database is down that is every request and every loop
    pass, and the traceback says nothing the line does not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_unavailable(error):
            record.msg = f"{record.msg} ({MESSAGE}: {type(error).__name__}: {error})"
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
