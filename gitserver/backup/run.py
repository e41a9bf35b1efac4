"""The two operations: `backup(settings, dest)` and `restore(settings, src)`."""

from __future__ import annotations

import asyncio
import datetime
import logging
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Table, inspect

import gitserver
from gitserver import datadir
from gitserver.backup import manifest, rows
from gitserver.backup.errors import BackupError
from gitserver.backup.repos import copy_repository, refs_by_repository
from gitserver.config import Settings
from gitserver.db import Base, Database, Ref, Repository
from gitserver.db.revision import HEAD_REVISION
from gitserver.gitcmd import Git

log = logging.getLogger(__name__)

DATABASE = "database"
REPOS = "repos"
FILES = "files"
# What of the data directory besides the database and the repositories a server needs:
# the key that encrypts access-key and build secrets, the SSH host keys (clients pin
# them), the settings file, and pipeline logs and artifacts that rows point to.
# Not: run/ (sockets, locks), hooks/ and home/ (rewritten at start), caches, trash.
DATA_FILES = ("server.key", "gitserver.toml")
DATA_DIRS = ("ssh", "pipelines/logs", "pipelines/artifacts")


def _empty_or_absent(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


async def backup(settings: Settings, dest: Path) -> dict[str, Any]:
    """Write a backup of the data directory and database of `settings` to `dest`.

    Raises:
        BackupError: `dest` is not empty, or the copy failed (`dest` then has no manifest).
    """
    url = settings.effective_database_url
    datadir.require_existing(settings.data, url)
    dest = await asyncio.to_thread(_make_dest, dest)
    data = settings.data.resolve()
    db = Database(url)
    try:
        await db.upgrade()
        revision, counts, repositories, refs = await _dump_database(db, dest / DATABASE)
    finally:
        await db.close()
    # After the snapshot: the objects copied now include all its refs need.
    git = Git(data / "home")
    by_repository = refs_by_repository(refs)
    for repository_id in repositories:
        await asyncio.to_thread(
            copy_repository,
            git,
            data / REPOS / f"{repository_id}.git",
            dest / REPOS / f"{repository_id}.git",
            by_repository.get(repository_id, []),
        )
    await asyncio.to_thread(_copy_data_files, data, dest / FILES)
    facts = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "gitserverVersion": gitserver.__version__,
        "schemaRevision": revision,
        "sourceDatabase": db.engine.dialect.name,
        "repositoryCount": len(repositories),
        "rows": counts,
    }
    written = await asyncio.to_thread(manifest.write, dest, facts)
    return {key: value for key, value in written.items() if key != "files"} | {
        "fileCount": len(written["files"])
    }


async def _dump_database(
    db: Database, target: Path
) -> tuple[str, dict[str, int], list[str], list[dict[str, Any]]]:
    counts: dict[str, int] = {}
    async with rows.snapshot(db.read_engine) as connection:
        revision = await rows.schema_revision(connection)
        for table in rows.tables():
            counts[table.name] = await rows.dump_table(
                connection, table, target / f"{table.name}.jsonl"
            )
        repositories = [
            str(row["id"]) for row in await rows.read_rows(connection, _table(Repository))
        ]
        refs = await rows.read_rows(connection, _table(Ref))
    return revision, counts, repositories, refs


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _make_dest(dest: Path) -> Path:
    """`dest`, absolute (git runs elsewhere), made 0700 with its parts."""
    dest = dest.absolute()
    if not _empty_or_absent(dest):
        raise BackupError(f"{dest} is not empty; a backup goes into a new or empty directory")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)
    for part in (DATABASE, REPOS):
        (dest / part).mkdir(mode=0o700)
    return dest


def _copy_data_files(data: Path, target: Path) -> None:
    target.mkdir(mode=0o700)
    for name in DATA_FILES:
        if (data / name).is_file():
            shutil.copyfile(data / name, target / name)
    for name in DATA_DIRS:
        if (data / name).is_dir():
            shutil.copytree(data / name, target / name, copy_function=shutil.copyfile)


async def restore(settings: Settings, src: Path) -> dict[str, Any]:
    """Restore the backup in `src` into the (empty) data directory and database.

    Raises:
        BackupError: the backup fails its checks, or the data directory or database
            is not empty, or the backup's schema is newer than this version knows.
    """
    found = await asyncio.to_thread(manifest.read_verified, src)
    revision = str(found.get("schemaRevision", ""))
    if not revision or revision > HEAD_REVISION:
        raise BackupError(
            f"the backup's schema revision {revision!r} is newer than this gitserver "
            f"knows ({HEAD_REVISION}); restore it with a newer version"
        )
    data = settings.data.resolve()
    if not _empty_or_absent(data):
        raise BackupError(
            f"the data directory {data} is not empty; restore goes into an empty one "
            "(use --data to name a new directory)"
        )
    db = Database(settings.effective_database_url)
    try:
        await _refuse_non_empty(db)
        datadir.make_private(data)
        try:
            await asyncio.to_thread(_copy_back, src, data)
            counts = await _load_database(db, src / DATABASE, revision)
        except Exception as exc:
            log.exception("restore failed")
            raise BackupError(_failed(db, data, exc)) from None
    finally:
        await db.close()
    return {
        "restored": str(src),
        "data": str(data),
        "schemaRevision": HEAD_REVISION,
        "backupSchemaRevision": revision,
        "repositoryCount": found.get("repositoryCount", 0),
        "rows": counts,
    }


def _failed(db: Database, data: Path, exc: Exception) -> str:
    """What a failed restore left: the operator empties it before trying again."""
    where = f"the data directory {data}"
    if not db.is_sqlite:
        where += " and the database " + db.engine.url.render_as_string(hide_password=True)
    return f"restore failed ({type(exc).__name__}: {exc}); empty {where} before trying again"


async def _refuse_non_empty(db: Database) -> None:
    async with db.read_engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    if names:
        shown = db.engine.url.render_as_string(hide_password=True)
        raise BackupError(
            f"the database {shown} already has tables ({len(names)}); "
            "restore goes into an empty database"
        )


def _copy_back(src: Path, data: Path) -> None:
    shutil.copytree(src / REPOS, data / REPOS, copy_function=shutil.copyfile, dirs_exist_ok=True)
    if (src / FILES).is_dir():
        shutil.copytree(src / FILES, data, copy_function=shutil.copyfile, dirs_exist_ok=True)


async def _load_database(db: Database, dumped: Path, revision: str) -> dict[str, int]:
    """Build the schema at the backup's revision, insert the rows, then upgrade."""
    from alembic import command

    from gitserver.db.migrate import alembic_config

    names = await asyncio.to_thread(lambda: sorted(p.stem for p in dumped.glob("*.jsonl")))
    async with db.engine.connect() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
        await connection.commit()
    async with db.engine.connect() as connection, connection.begin():
        counts = await rows.load(connection, dumped, names)
    await db.upgrade()
    return counts
