"""Which failures mean "the database is down" (a 503 and one log line), and which are bugs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import exc as sa

from gitserver.db.outage import MESSAGE, OutageLogFilter, is_unavailable


class _PgError(Exception):
    """Like asyncpg's errors: a SQLSTATE on the exception."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _chained(cause: BaseException) -> Exception:
    try:
        raise cause
    except BaseException as inner:
        try:
            raise RuntimeError("a handler's own error") from inner
        except RuntimeError as outer:
            return outer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "reset by peer"),
        sa.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
        sa.DisconnectionError("closed"),
        sa.TimeoutError("QueuePool limit reached"),
        _PgError("57P01"),  # admin shutdown (pg_ctl stop -m fast)
        _PgError("57P03"),  # cannot connect now: starting up
        _PgError("08006"),  # connection failure
        _chained(ConnectionRefusedError(111, "refused")),
    ],
)
def test_lost_or_refused_connections_are_an_outage(error: BaseException) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(2, "no such file"),
        ValueError("bad input"),
        sa.DBAPIError("SELECT 1", {}, Exception("syntax"), connection_invalidated=False),
        _PgError("23505"),  # unique violation: a bug or a race, not an outage
        _chained(KeyError("x")),
    ],
)
def test_other_failures_are_not(error: BaseException) -> None:
    assert not is_unavailable(error)


def test_the_log_gets_one_warning_line_instead_of_a_traceback() -> None:
    try:
        raise sa.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    except sa.DBAPIError as exc:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "dispatch round failed", None, (type(exc), exc, None)
        )
    assert OutageLogFilter().filter(record)
    assert record.exc_info is None and record.levelname == "WARNING"
    assert record.getMessage().startswith(f"dispatch round failed ({MESSAGE}: DBAPIError")
