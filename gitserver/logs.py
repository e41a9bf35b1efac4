"""Logging: the text or JSON line format, and the request id every record carries.

A request id is bound (a `contextvars` variable) by each front end when a request or
SSH session starts; tasks started while handling it inherit it. A filter copies it onto
every record, so a JSON line names the request it was written for, and an operator can
find all of a request's lines from the `X-Request-Id` the client saw.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import sys
import uuid
from typing import Any

from gitserver.db.outage import OutageLogFilter

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "gitserver_request_id", default=None
)
# What an incoming X-Request-Id may be: short, printable, nothing a log reader or a
# header could misread (no spaces, quotes, control characters).
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)


def new_request_id() -> str:
    return str(uuid.uuid4())


def sane_request_id(value: str | None) -> str | None:
    """`value` when it may be used as a request id as it is, else None."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


def bind_request_id(value: str) -> contextvars.Token[str | None]:
    """Make `value` this context's request id; `reset_request_id(token)` undoes it."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the context's request id on each record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        line: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str, log_format: str) -> None:
    """Set up the root logger on stderr in `log_format` (`text` or `json`).

    Raises:
        ValueError: `log_format` is neither.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log_format must be text or json, got {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(OutageLogFilter())  # an outage is one warning, not a traceback
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
