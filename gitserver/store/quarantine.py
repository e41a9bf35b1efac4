"""Quarantine directories that a killed `receive-pack` left behind.

git receives a push into `objects/tmp_objdir-incoming-*` and only migrates the objects
into the repository once pre-receive accepts them; it removes the directory itself when
a push fails or its client vanishes. Only a SIGKILL of git (an OOM kill, a kill of the
whole service) leaves one behind, possibly hundreds of megabytes, that nothing reads.
The server's own writes (`content/packs.install_objects`) quarantine their objects the
same way in `objects/tmp_objdir-gitserver-*`, which a killed server leaves behind too.

Which ones are stale: when this server owns the data directory (SQLite: one server per
data directory, held by a lock), every quarantine found at start belongs to a dead
process. Otherwise (servers sharing a data directory over PostgreSQL, and maintenance
while pushes run) a directory is stale once nothing in it changed for longer than a git
transport process may live (`git_timeout`), since such a process is killed by then.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "tmp_objdir-incoming-"
SERVER_PREFIX = "tmp_objdir-gitserver-"


def _newest_change(directory: Path) -> float:
    """The newest mtime of the directory and everything in it (git writes into pack/)."""
    newest = directory.lstat().st_mtime
    for root, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest


def _quarantines(repository: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(repository / "objects"))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith((PREFIX, SERVER_PREFIX)) and entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def remove_stale_quarantines(repository: Path, older_than: float | None) -> int:
    """Remove leftover quarantines of one bare repository; returns how many went.

    `older_than` None removes every one (the caller knows no push can be running);
    otherwise only those unchanged for `older_than` seconds.
    """
    removed = 0
    now = time.time()
    for directory in _quarantines(repository):
        try:
            if older_than is not None and now - _newest_change(directory) < older_than:
                continue
        except FileNotFoundError:
            continue  # its push finished (or failed) while we looked
        shutil.rmtree(directory, ignore_errors=True)
        removed += 1
        log.warning(
            "removed a stale push quarantine",
            extra={"repository": repository.name, "quarantine": directory.name},
        )
    return removed


def sweep(root: Path, older_than: float | None) -> int:
    """`remove_stale_quarantines` for every repository under `root` (`DATA/repos`)."""
    try:
        repositories = [Path(e.path) for e in os.scandir(root) if e.name.endswith(".git")]
    except FileNotFoundError:
        return 0
    return sum(remove_stale_quarantines(path, older_than) for path in repositories)
