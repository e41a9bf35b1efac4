"""The database as JSON lines: dumped from one snapshot, loaded into an empty schema.

Values are tagged where JSON has no type of its own, so loading needs no knowledge of
the column types and works across backends: `{"$t": iso}` for datetimes, `{"$b":
base64}` for bytes, `{"$j": value}` for JSON documents (whose own dicts could look like
tags). Plain strings, numbers, booleans and null are themselves.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, MetaData, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gitserver.backup.errors import BackupError
from gitserver.db import Base

_BATCH = 500


def encode(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return {"$t": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict | list):
        return {"$j": value}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$t" in value:
            return datetime.datetime.fromisoformat(value["$t"])
        if "$b" in value:
            return base64.b64decode(value["$b"])
        if "$j" in value:
            return value["$j"]
    return value


def tables() -> list[Table]:
    """This version's tables, parents before children."""
    import gitserver.db.pipelines  # noqa: F401  (registers the pipeline tables)

    return list(Base.metadata.sorted_tables)


@contextlib.asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read transaction that sees a single moment of the whole database.

    SQLite in WAL mode: a deferred transaction's first read fixes what it sees until it
    ends, while writers go on. PostgreSQL: REPEATABLE READ does the same.
    """
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            yield connection


async def schema_revision(connection: AsyncConnection) -> str:
    found = await connection.execute(text("SELECT version_num FROM alembic_version"))
    return str(found.scalar_one())


async def dump_table(connection: AsyncConnection, table: Table, path: Path) -> int:
    """Write `table`'s rows to `path` (JSON lines, 0600); returns how many."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = await connection.stream(select(table).order_by(*order))
    count = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        async for partition in result.partitions(_BATCH):
            for row in partition:
                line = {key: encode(value) for key, value in row._mapping.items()}
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        out.flush()
        os.fsync(out.fileno())
    return count


async def read_rows(connection: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    """A table's rows as the snapshot has them (for the refs of the repositories)."""
    result = await connection.execute(select(table))
    return [dict(row._mapping) for row in result]


async def load(connection: AsyncConnection, directory: Path, names: list[str]) -> dict[str, int]:
    """Insert the dumped tables `names` into the (empty) schema behind `connection`.

    The tables are reflected, not taken from this version's models: the schema is the
    backup's revision here, and is upgraded after the rows are in.

    Raises:
        BackupError: a dumped table is not in the schema.
    """
    metadata = MetaData()
    await connection.run_sync(lambda sync: metadata.reflect(sync))
    unknown = sorted(set(names) - set(metadata.tables))
    if unknown:
        raise BackupError(f"the backup has tables this schema lacks: {', '.join(unknown)}")
    # Migrations seed some tables (the auth epoch, dispatch cursors): the backup's rows
    # replace those.
    for table in reversed(metadata.sorted_tables):
        if table.name in names:
            await connection.execute(table.delete())
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name in names:
            counts[table.name] = await _load_table(connection, table, directory)
    if connection.dialect.name == "postgresql":
        await _advance_sequences(connection, metadata)
    return counts


async def _load_table(connection: AsyncConnection, table: Table, directory: Path) -> int:
    count = 0
    batch: list[dict[str, Any]] = []
    with (directory / f"{table.name}.jsonl").open(encoding="utf-8") as rows:
        for line in rows:
            batch.append({key: decode(value) for key, value in json.loads(line).items()})
            if len(batch) >= _BATCH:
                await connection.execute(table.insert(), batch)
                count, batch = count + len(batch), []
    if batch:
        await connection.execute(table.insert(), batch)
        count += len(batch)
    return count


async def _advance_sequences(connection: AsyncConnection, metadata: MetaData) -> None:
    """PostgreSQL: serial columns got explicit values; their sequences must move past
    them, or the next insert collides with a restored row."""
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        column = keys[0]
        sequence = func.pg_get_serial_sequence(f'"{table.name}"', column.name)
        highest = func.max(column)
        await connection.execute(
            select(func.setval(sequence, func.coalesce(highest, 1), highest.is_not(None)))
        )
