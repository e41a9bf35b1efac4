"""The data directory: found (never invented) by the CLI, kept private, locked by `serve`.

It holds password hashes, the audit log, the key that encrypts access-key secrets and
every repository, so nobody but the server's own user may read any of it: processes run
with a umask of 077, and `serve` strips group and other bits left by older versions.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077
LOCK_FILE = Path("run") / "serve.lock"
# Small directories whose every file is tightened at start; `repos/` can be huge, and
# the 0700 data directory and `repos/` already close everything below it.
_WALKED = ("hooks", "run", "ssh", "home")


class DataDirError(Exception):
    """The data directory cannot be used as asked; the message says what to do."""


def use_private_umask() -> None:
    """Files and directories this process (and every git it starts) creates are private."""
    os.umask(PRIVATE_UMASK)


def where(data: Path, database_url: str) -> str:
    """Where lookups happen, and how to point at another place (for "not found" errors)."""
    url = make_url(database_url) if database_url else None
    if url is None or url.get_backend_name() == "sqlite":
        return (
            f"in {data.resolve()} (use --data or GITSERVER_DATA to choose another data directory)"
        )
    shown = url.render_as_string(hide_password=True)
    return (
        f"in the database {shown} (use --database-url or GITSERVER_DATABASE_URL to choose another)"
    )


def require_existing(data: Path, database_url: str) -> None:
    """Refuse to work on a data directory (or SQLite database) that is not there yet.

    Only `serve` and `db upgrade` create them: anything else run from the wrong
    directory would otherwise make an empty one and answer "(none)".

    Raises:
        DataDirError: the directory or its SQLite database does not exist.
    """
    absolute = data.resolve()
    hint = "use --data DIR or GITSERVER_DATA to name the server's data directory"
    if not absolute.is_dir():
        raise DataDirError(
            f"no data directory at {absolute} ({hint}; `gitserver serve` creates a new one)"
        )
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        if not database.exists():
            raise DataDirError(
                f"no gitserver database at {database.resolve()} ({hint}, or --database-url; "
                "`gitserver serve` or `gitserver db upgrade` creates a new one)"
            )


def make_private(data: Path) -> None:
    """Create the data directory 0700 and take group and other bits off what is in it."""
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(data)
    for entry in data.iterdir():
        _tighten(entry)
        if entry.name in _WALKED and entry.is_dir() and not entry.is_symlink():
            for path in entry.rglob("*"):
                _tighten(path)


def _tighten(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # a socket or temp file may just have gone
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & 0o077:
            return
        path.chmod(stat.S_IMODE(mode) & ~0o077)


@contextlib.contextmanager
def serving_lock(data: Path, database_url: str) -> Iterator[None]:
    """Hold `DATA/run/serve.lock` while serving on SQLite: one server per data directory.

    SQLite has one writer and the hook socket, reconciler and maintenance assume they
    are alone with the repositories; on PostgreSQL several servers share one directory
    (a shared filesystem) by design, so nothing is locked then.

    Raises:
        DataDirError: another live process holds the lock.
    """
    if make_url(database_url).get_backend_name() != "sqlite":
        yield
        return
    path = data.resolve() / LOCK_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise DataDirError(
                f"another gitserver serve (pid {holder}) is using {data.resolve()}; "
                "on SQLite one server serves a data directory (several servers need "
                "PostgreSQL: --database-url)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        # Closing releases the lock; the file stays, so a later start never races an unlink.
        os.close(fd)
