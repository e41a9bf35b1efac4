"""`/readyz`: whether this process can take work now (`/healthz` only says it is up).

Two checks, each cheap and bounded: the database answers a trivial query within
`DEADLINE`, and the repository storage takes a new file (a full disk or a read-only
mount fails pushes long before anything else notices). A failure names the part and
a short reason: an error's class or the system's words, never its text, which for a
database error can quote the SQL or the address.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitserver.db import Database

DEADLINE = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    failed: str = ""  # "" when ready, else the part: server, database, storage
    reason: str = ""

    @property
    def ready(self) -> bool:
        return not self.failed

    def as_json(self) -> dict[str, str]:
        if self.ready:
            return {"status": "ready"}
        return {"status": "unavailable", "failed": self.failed, "reason": self.reason}


async def check(db: Database, repos: Path) -> Readiness:
    """The first failing part, or ready."""
    try:
        async with asyncio.timeout(DEADLINE):
            await db.ping()
    except TimeoutError:
        return Readiness("database", f"no answer within {DEADLINE:g} s")
    except Exception as exc:
        return Readiness("database", _reason(exc))
    problem = await asyncio.to_thread(_storage_problem, repos)
    return Readiness("storage", problem) if problem else Readiness()


def _storage_problem(repos: Path) -> str:
    """Why a file cannot be created (and written) under `repos`, or ""."""
    try:
        fd, name = tempfile.mkstemp(prefix=".readyz-", dir=repos)
    except OSError as exc:
        return _reason(exc)
    try:
        os.write(fd, b"r")
    except OSError as exc:
        return _reason(exc)
    finally:
        os.close(fd)
        os.unlink(name)
    return ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno).lower()
    original = getattr(exc, "orig", None)  # SQLAlchemy's wrapper around the driver's
    return type(original if isinstance(original, BaseException) else exc).__name__
