"""`Pipelines`: the one service the CLI, the codepipeline API and the web UI call.

Each method is one unit of work (its own transaction). It takes typed values and does
no authorization: front ends ask the authorizer first (`codepipeline:<Operation>` on
`pipeline_arn(name)`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select

from auth.secretbox import SecretBox
from gitserver.db import ActionExecutionRow, Database, ExecutionRow
from gitserver.pipelines import definitions, executions, secrets, store, views
from gitserver.pipelines.definitions import Category, PipelineDefinition
from gitserver.pipelines.engine import EngineSettings
from gitserver.pipelines.errors import ActionNotFound, PipelineExecutionNotFound
from gitserver.pipelines.executions import SourceRevision, Trigger
from gitserver.pipelines.progress import load
from gitserver.pipelines.states import ACTION_DONE, ActionStatus
from gitserver.pipelines.store import PipelineSummary, StoredPipeline


def pipeline_arn(region: str, account_id: str, name: str) -> str:
    """A pipeline's ARN, the resource of every codepipeline action on it."""
    return f"arn:aws:codepipeline:{region}:{account_id}:{name}"


class Pipelines:
    """Pipelines, executions, approvals and build secrets."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        engine: EngineSettings,
        clone_url: Callable[[str], str],
    ) -> None:
        self.db = db
        self.box = box
        self.engine = engine
        self.clone_url = clone_url

    # -- definitions -------------------------------------------------------------------

    async def create(self, definition: PipelineDefinition) -> StoredPipeline:
        """CreatePipeline.

        Raises:
            DefinitionError: the definition breaks a rule (or names a missing repository).
            PipelineNameInUse: the name is taken.
        """
        async with self.db.session() as session:
            return await store.create_pipeline(session, definition)

    async def update(self, definition: PipelineDefinition) -> StoredPipeline:
        """UpdatePipeline: a new version; running executions keep theirs.

        Raises:
            DefinitionError: the definition breaks a rule.
            PipelineNotFound: no such pipeline.
        """
        async with self.db.session() as session:
            return await store.update_pipeline(session, definition)

    async def get(self, name: str) -> StoredPipeline:
        """GetPipeline.

        Raises:
            PipelineNotFound: no such pipeline.
        """
        async with self.db.reader() as session:
            return await store.get_pipeline(session, name)

    async def list_pipelines(self) -> list[PipelineSummary]:
        """ListPipelines."""
        async with self.db.reader() as session:
            return await store.list_pipelines(session)

    async def reading(self, repository: str) -> list[str]:
        """The names of the pipelines a source action of which reads `repository`."""
        async with self.db.reader() as session:
            return [row.name for row in await store.pipelines_reading(session, repository)]

    async def delete(self, name: str) -> bool:
        """DeletePipeline (with its executions); False when there was none."""
        async with self.db.session() as session:
            return await store.delete_pipeline(session, name)

    # -- executions --------------------------------------------------------------------

    async def start_execution(
        self,
        name: str,
        *,
        variables: Mapping[str, str] | None = None,
        trigger: Trigger | None = None,
        revisions: Mapping[str, SourceRevision] | None = None,
    ) -> str:
        """StartPipelineExecution; returns the execution id.

        Raises:
            PipelineNotFound: no such pipeline.
            PipelineValidation: bad variable overrides.
        """
        async with self.db.session() as session:
            return await executions.start(
                session,
                self.engine,
                name,
                trigger=trigger or Trigger(),
                variables=variables,
                revisions=revisions,
                clone_url=self.clone_url,
            )

    async def get_execution(self, execution_id: str, pipeline: str | None = None) -> dict[str, Any]:
        """GetPipelineExecution (with stage and action statuses).

        Raises:
            PipelineExecutionNotFound: no such execution (of that pipeline).
        """
        async with self.db.reader() as session:
            row = await session.scalar(select(ExecutionRow).where(ExecutionRow.id == execution_id))
            if row is None or (pipeline is not None and row.pipeline != pipeline):
                raise PipelineExecutionNotFound(f"Pipeline execution {execution_id} does not exist")
            return views.execution(await load(session, row))

    async def list_executions(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """ListPipelineExecutions, newest first.

        Raises:
            PipelineNotFound: no such pipeline.
        """
        async with self.db.reader() as session:
            await store.get_pipeline(session, name)
            return await views.executions(session, name, limit)

    async def state(self, name: str) -> dict[str, Any]:
        """GetPipelineState.

        Raises:
            PipelineNotFound: no such pipeline.
        """
        async with self.db.reader() as session:
            stored = await store.get_pipeline(session, name)
            names = [s.name for s in stored.definition.stages]
            return await views.pipeline_state(session, None, names, name, stored.version)

    async def action_executions(
        self, name: str, execution_id: str | None = None
    ) -> list[dict[str, Any]]:
        """ListActionExecutions.

        Raises:
            PipelineNotFound: no such pipeline.
        """
        async with self.db.reader() as session:
            await store.get_pipeline(session, name)
            return await views.action_executions(session, name, execution_id)

    async def decide_approval(
        self,
        execution_id: str,
        stage: str,
        action: str | None,
        *,
        approved: bool,
        summary: str,
        actor: str,
        token: str | None = None,
    ) -> str:
        """PutApprovalResult (`token` None: the local operator); returns the action name.

        Raises:
            PipelineExecutionNotFound, StageNotFound, ActionNotFound, InvalidApprovalToken,
            ApprovalAlreadyCompleted.
        """
        async with self.db.session() as session:
            return await executions.decide_approval(
                session,
                self.engine,
                execution_id,
                stage,
                action,
                approved=approved,
                summary=summary,
                actor=actor,
                token=token,
            )

    async def retry_stage(self, execution_id: str, stage: str, mode: str) -> None:
        """RetryStageExecution (FAILED_ACTIONS or ALL_ACTIONS).

        Raises:
            PipelineExecutionNotFound, StageNotFound, StageNotRetryable, PipelineConflict.
        """
        async with self.db.session() as session:
            await executions.retry_stage(session, self.engine, execution_id, stage, mode)

    async def stop(self, execution_id: str, *, abandon: bool, reason: str, actor: str) -> None:
        """StopPipelineExecution.

        Raises:
            PipelineExecutionNotFound, PipelineExecutionNotStoppable, DuplicatedStopRequest.
        """
        async with self.db.session() as session:
            await executions.stop(
                session, self.engine, execution_id, abandon=abandon, reason=reason, actor=actor
            )

    async def action_log(self, execution_id: str, action: str) -> tuple[Path, bool]:
        """The log file of the latest attempt of `action` (a name, or `Stage.Action`) and
        whether that attempt has ended.

        Raises:
            PipelineExecutionNotFound, ActionNotFound.
        """
        stage, _, name = action.rpartition(".") if "." in action else ("", "", action)
        async with self.db.reader() as session:
            row = await session.scalar(select(ExecutionRow).where(ExecutionRow.id == execution_id))
            if row is None:
                raise PipelineExecutionNotFound(f"Pipeline execution {execution_id} does not exist")
            query = select(ActionExecutionRow).where(
                ActionExecutionRow.execution_id == execution_id, ActionExecutionRow.action == name
            )
            if stage:
                query = query.where(ActionExecutionRow.stage == stage)
            found = list(await session.scalars(query.order_by(ActionExecutionRow.attempt.desc())))
        if not found:
            raise ActionNotFound(f"Action {action} has not run in execution {execution_id}")
        latest = found[0]
        return self.engine.layout.absolute(latest.log_path), latest.status in ACTION_DONE

    async def build_artifacts(self, execution_id: str) -> dict[str, Path]:
        """The zips of the output artifacts built by the execution's Build actions that
        succeeded: artifact name -> file (for the web UI's downloads; read only).

        Raises:
            PipelineExecutionNotFound: no such execution.
        """
        async with self.db.reader() as session:
            row = await session.scalar(select(ExecutionRow).where(ExecutionRow.id == execution_id))
            if row is None:
                raise PipelineExecutionNotFound(f"Pipeline execution {execution_id} does not exist")
            p = await load(session, row)
        found: dict[str, Path] = {}
        for (stage, name), action in p.actions.items():
            d = p.definition.action(stage, name)
            if d is None or d.category is not Category.BUILD:
                continue
            if action.status == ActionStatus.SUCCEEDED:
                found.update(
                    {k: self.engine.layout.absolute(str(v)) for k, v in action.artifacts.items()}
                )
        return found

    # -- secrets -----------------------------------------------------------------------

    async def put_secret(self, name: str, value: str) -> bool:
        """Store or replace a build secret; True when new.

        Raises:
            PipelineValidation: a malformed name or value.
        """
        async with self.db.session() as session:
            return await secrets.put_secret(session, self.box, name, value)

    async def list_secrets(self) -> list[str]:
        """The build secrets' names."""
        async with self.db.reader() as session:
            return await secrets.list_secrets(session)

    async def delete_secret(self, name: str) -> None:
        """Delete a build secret.

        Raises:
            SecretNotFound: no such secret.
        """
        async with self.db.session() as session:
            await secrets.delete_secret(session, name)


def parse_file(text: str, filename: str) -> PipelineDefinition:
    """A pipeline file (JSON or YAML) as a validated definition.

    Raises:
        DefinitionError: it breaks a rule.
    """
    return definitions.parse_pipeline(text, filename=filename)


async def read_log(path: Path, offset: int) -> tuple[bytes, int]:
    """The log's bytes from `offset` (empty if the file does not exist yet)."""

    def read() -> bytes:
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                return handle.read()
        except FileNotFoundError:
            return b""

    data = await asyncio.to_thread(read)
    return data, offset + len(data)
