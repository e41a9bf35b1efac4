"""Pipeline definitions in SQL: create, update (version + 1), get, list, delete.

A definition is validated with `definitions.validate` on every write, and each
CodeCommit source must name a repository of this server. The row keeps the wire shape
(`to_wire`) and the repositories its sources read, which the trigger consumer looks up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import DispatchCursor, EventRow, PipelineRow, Repository, utcnow
from gitserver.pipelines import definitions
from gitserver.pipelines.definitions import PipelineDefinition
from gitserver.pipelines.errors import PipelineNameInUse, PipelineNotFound


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """ListPipelines' PipelineSummary."""

    name: str
    version: int
    pipeline_type: str
    execution_mode: str
    created: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class StoredPipeline:
    """A pipeline as stored: the definition (version written in) and its metadata."""

    definition: PipelineDefinition
    created: datetime
    updated: datetime

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self.definition.name

    @property
    def version(self) -> int:
        """The pipeline's version (1, incremented by every update)."""
        return self.definition.version or 1

    def wire(self) -> dict[str, Any]:
        """GetPipeline's `pipeline`, with CodePipeline's defaults written in."""
        return definitions.to_wire(definitions.with_defaults(self.definition))


TRIGGER_CURSOR = 2
"""The trigger consumer's row of `dispatch_cursor` (row 1 is event delivery's)."""


def read_definition(wire: dict[str, Any], version: int) -> PipelineDefinition:
    """A stored wire shape back as a definition, with its version."""
    return replace(definitions.from_wire(wire), version=version)


async def _check_sources(session: AsyncSession, definition: PipelineDefinition) -> list[str]:
    names = sorted(
        {
            str(a.configuration.get("RepositoryName", ""))
            for a in definition.source_actions()
            if a.provider == "CodeCommit"
        }
    )
    found = set(await session.scalars(select(Repository.name).where(Repository.name.in_(names))))
    missing = [n for n in names if n not in found]
    if missing:
        raise definitions.InvalidActionDeclaration(
            f"stages[0]: the source repository {missing[0]} does not exist on this server"
        )
    return names


async def create_pipeline(session: AsyncSession, definition: PipelineDefinition) -> StoredPipeline:
    """Store a new pipeline at version 1.

    Raises:
        DefinitionError: the definition breaks a rule.
        PipelineNameInUse: a pipeline of that name exists.
    """
    definitions.validate(definition)
    repositories = await _check_sources(session, definition)
    if await session.get(PipelineRow, definition.name) is not None:
        raise PipelineNameInUse(f"A pipeline with the name {definition.name} already exists")
    if await session.scalar(_ANY_PIPELINE) is None:
        await _read_from_newest(session)
    stored = replace(definition, version=1)
    now = utcnow()
    session.add(
        PipelineRow(
            name=definition.name,
            definition=definitions.to_wire(replace(stored, version=None)),
            version=1,
            repositories=repositories,
            created_at=now,
            updated_at=now,
        )
    )
    return StoredPipeline(stored, now, now)


def any_pipeline(connection: Connection) -> bool:
    """Whether there is a pipeline to start (`Database.read`). Without one the trigger
    consumer reads nothing: every event wakes it, and most servers have none. The first
    pipeline's creation moves its cursor to the newest event (`_read_from_newest`), so
    what came before it starts nothing either way."""
    return connection.execute(_ANY_PIPELINE).first() is not None


_ANY_PIPELINE = select(PipelineRow.name).limit(1)


async def _read_from_newest(session: AsyncSession) -> None:
    """The first pipeline: the trigger consumer, idle while there was none
    (`any_pipeline`), goes on from the newest event, in this transaction."""
    newest = select(func.coalesce(func.max(EventRow.seq), 0)).scalar_subquery()
    await session.execute(
        update(DispatchCursor).where(DispatchCursor.id == TRIGGER_CURSOR).values(last_seq=newest)
    )


async def update_pipeline(session: AsyncSession, definition: PipelineDefinition) -> StoredPipeline:
    """Replace a pipeline's definition; its version goes up by one.

    Raises:
        DefinitionError: the definition breaks a rule.
        PipelineNotFound: no pipeline of that name.
    """
    definitions.validate(definition)
    repositories = await _check_sources(session, definition)
    row = await _row(session, definition.name, lock=True)
    row.version += 1
    row.definition = definitions.to_wire(replace(definition, version=None))
    row.repositories = repositories
    row.updated_at = utcnow()
    return StoredPipeline(replace(definition, version=row.version), row.created_at, row.updated_at)


async def get_pipeline(session: AsyncSession, name: str) -> StoredPipeline:
    """The pipeline called `name`.

    Raises:
        PipelineNotFound: no pipeline of that name.
    """
    row = await _row(session, name)
    return StoredPipeline(
        read_definition(row.definition, row.version), row.created_at, row.updated_at
    )


async def list_pipelines(session: AsyncSession) -> list[PipelineSummary]:
    """Every pipeline, by name."""
    rows = await session.scalars(select(PipelineRow).order_by(PipelineRow.name))
    result = []
    for row in rows:
        d = definitions.from_wire(row.definition)
        result.append(
            PipelineSummary(
                name=row.name,
                version=row.version,
                pipeline_type=str(d.effective_pipeline_type),
                execution_mode=str(d.effective_execution_mode),
                created=row.created_at,
                updated=row.updated_at,
            )
        )
    return result


async def delete_pipeline(session: AsyncSession, name: str) -> bool:
    """Delete a pipeline and its executions (DeletePipeline succeeds for unknown names)."""
    row = await session.get(PipelineRow, name)
    if row is None:
        return False
    # The database cascades to executions, their stages, actions and jobs.
    await session.delete(row)
    return True


async def pipelines_reading(session: AsyncSession, repository: str) -> list[PipelineRow]:
    """The pipelines with a source reading `repository`."""
    rows = await session.scalars(select(PipelineRow).order_by(PipelineRow.name))
    return [r for r in rows if repository in (r.repositories or [])]


async def lock_pipeline(session: AsyncSession, name: str) -> PipelineRow:
    """The pipeline row, locked for the rest of the transaction (every state change of its
    executions happens under this lock; SQLite has one writer anyway).

    Raises:
        PipelineNotFound: no pipeline of that name.
    """
    return await _row(session, name, lock=True)


def is_postgres(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL (row locks; SQLite has one writer)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def _row(session: AsyncSession, name: str, *, lock: bool = False) -> PipelineRow:
    query = select(PipelineRow).where(PipelineRow.name == name)
    if lock and is_postgres(session):
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise PipelineNotFound(f"Pipeline {name} does not exist")
    return row


async def count_pipelines(session: AsyncSession) -> int:
    """How many pipelines exist."""
    return int(await session.scalar(select(func.count()).select_from(PipelineRow)) or 0)
