"""Pipeline tables: definitions, executions with their stages and actions, jobs, secrets.

An execution's state lives in three levels of rows (execution, stage execution, action
execution); every change to them happens under the pipeline row's lock (`FOR UPDATE` on
PostgreSQL, SQLite's one writer), so the engine advancing one pipeline never races
itself. A job is one runnable attempt of an action (everything but Manual approvals);
runners claim jobs with a lease.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gitserver.db.models import Base, utcnow


class PipelineRow(Base):
    """A pipeline: its definition in botocore's wire shape, and its version."""

    __tablename__ = "pipelines"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The repositories its source actions read: the trigger consumer's index.
    repositories: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionRow(Base):
    """One run of a pipeline, on the definition of `pipeline_version`."""

    __tablename__ = "pipeline_executions"
    __table_args__ = (Index("ix_pipeline_executions_pipeline", "pipeline", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    pipeline: Mapped[str] = mapped_column(
        ForeignKey("pipelines.name", ondelete="CASCADE", onupdate="CASCADE")
    )
    pipeline_version: Mapped[int] = mapped_column(Integer)
    # The definition it runs (an update does not change a running execution).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_summary: Mapped[str] = mapped_column(Text, default="")
    # {type, detail, actor}: StartPipelineExecution, CodeCommit push, pull request.
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Source action name -> {repository, commitId, branch, ...}: the exact commits.
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The stage it waits to enter (locked by another execution), or None.
    waiting_stage: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageExecutionRow(Base):
    """A stage of an execution, from when the execution enters it; `attempt` counts retries."""

    __tablename__ = "pipeline_stage_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_executions.id", ondelete="CASCADE"), index=True
    )
    pipeline: Mapped[str] = mapped_column(String(100), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    stage_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # How the last retry was asked: FAILED_ACTIONS keeps the actions that succeeded.
    retry_mode: Mapped[str] = mapped_column(String(16), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionExecutionRow(Base):
    """One attempt of one action; the newest attempt of each action is the current one."""

    __tablename__ = "pipeline_action_executions"
    __table_args__ = (
        Index("ix_pipeline_action_executions_stage", "execution_id", "stage", "action"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_executions.id", ondelete="CASCADE")
    )
    pipeline: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    run_order: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    configuration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output_variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Output artifact name -> path of its zip, relative to the pipelines directory.
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log_path: Mapped[str] = mapped_column(Text, default="")
    approval_token: Mapped[str | None] = mapped_column(String(36))
    deadline: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()


class JobRow(Base):
    """A runnable action attempt: queued -> running (leased by a runner) -> done."""

    __tablename__ = "pipeline_jobs"
    __table_args__ = (Index("ix_pipeline_jobs_state", "state", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    action_execution_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_action_executions.id", ondelete="CASCADE"), index=True
    )
    execution_id: Mapped[str] = mapped_column(String(36), index=True)
    pipeline: Mapped[str] = mapped_column(String(100))
    # Everything the runner needs: provider, resolved configuration, inputs, outputs.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    runner_id: Mapped[str] = mapped_column(String(128), default="")
    lease_until: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16), default="")


class SecretRow(Base):
    """A build secret: AES-GCM under the server key, the name as associated data."""

    __tablename__ = "pipeline_secrets"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "ActionExecutionRow",
    "ExecutionRow",
    "JobRow",
    "PipelineRow",
    "SecretRow",
    "StageExecutionRow",
]
