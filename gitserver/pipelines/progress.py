"""What an execution has done so far, read from its rows: stages, current actions,
output variables by namespace, artifacts by name. Pure reads for the engine and views."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ActionExecutionRow, ExecutionRow, StageExecutionRow
from gitserver.pipelines.definitions import PipelineDefinition
from gitserver.pipelines.states import ActionStatus
from gitserver.pipelines.store import read_definition


@dataclass(slots=True)
class Progress:
    """One execution's rows: its definition, latest stage rows and latest action rows."""

    execution: ExecutionRow
    definition: PipelineDefinition
    stages: dict[str, StageExecutionRow] = field(default_factory=dict)
    actions: dict[tuple[str, str], ActionExecutionRow] = field(default_factory=dict)

    def namespaces(self) -> dict[str, dict[str, str]]:
        """Output variables of the actions that succeeded, by their namespace."""
        found: dict[str, dict[str, str]] = {}
        for _, _, stage, action in self.definition.actions():
            row = self.actions.get((stage.name, action.name))
            if action.namespace and row is not None and row.status == ActionStatus.SUCCEEDED:
                found[action.namespace] = {k: str(v) for k, v in row.output_variables.items()}
        return found

    def artifacts(self) -> dict[str, str]:
        """Output artifacts of the actions that succeeded: name -> stored path."""
        found: dict[str, str] = {}
        for row in self.actions.values():
            if row.status == ActionStatus.SUCCEEDED:
                found.update({k: str(v) for k, v in row.artifacts.items()})
        return found

    def in_flight(self) -> list[ActionExecutionRow]:
        """The action attempts still in progress."""
        return [r for r in self.actions.values() if r.status == ActionStatus.IN_PROGRESS]


def latest(rows: Iterable[Any], key: Any) -> dict[Any, Any]:
    """The row with the highest `attempt` for each key."""
    found: dict[Any, Any] = {}
    for row in rows:
        k = key(row)
        if k not in found or row.attempt >= found[k].attempt:
            found[k] = row
    return found


async def load(session: AsyncSession, execution: ExecutionRow) -> Progress:
    """The progress of `execution` (its rows as they are in this transaction)."""
    definition = read_definition(execution.definition, execution.pipeline_version)
    stages = await session.scalars(
        select(StageExecutionRow).where(StageExecutionRow.execution_id == execution.id)
    )
    actions = await session.scalars(
        select(ActionExecutionRow).where(ActionExecutionRow.execution_id == execution.id)
    )
    return Progress(
        execution,
        definition,
        latest(stages, lambda r: r.stage),
        latest(actions, lambda r: (r.stage, r.action)),
    )
