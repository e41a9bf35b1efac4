"""pipelines: definitions, executions (stages, actions), jobs for runners, build secrets

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = gitserver.db.models.UTCDateTime(timezone=True)
# Row 2 of dispatch_cursor is the pipeline trigger consumer's (1 is event delivery's).


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "pipeline_executions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("pipeline_version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_summary", sa.Text(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("waiting_stage", sa.String(length=100), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline"], ["pipelines.name"], ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_pipeline_executions_pipeline", "pipeline_executions", ["pipeline", "seq"])
    op.create_index("ix_pipeline_executions_status", "pipeline_executions", ["status"])
    op.create_table(
        "pipeline_stage_executions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("retry_mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["pipeline_executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pipeline_stage_executions_execution_id", "pipeline_stage_executions", ["execution_id"]
    )
    op.create_index(
        "ix_pipeline_stage_executions_pipeline", "pipeline_stage_executions", ["pipeline"]
    )
    op.create_table(
        "pipeline_action_executions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("run_order", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("output_variables", sa.JSON(), nullable=False),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("log_path", sa.Text(), nullable=False),
        sa.Column("approval_token", sa.String(length=36), nullable=True),
        sa.Column("deadline", UTC, nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["execution_id"], ["pipeline_executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pipeline_action_executions_stage",
        "pipeline_action_executions",
        ["execution_id", "stage", "action"],
    )
    op.create_table(
        "pipeline_jobs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("action_execution_id", sa.String(length=36), nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("runner_id", sa.String(length=128), nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("heartbeat_at", UTC, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_execution_id"], ["pipeline_action_executions.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_pipeline_jobs_state", "pipeline_jobs", ["state", "seq"])
    op.create_index(
        "ix_pipeline_jobs_action_execution_id", "pipeline_jobs", ["action_execution_id"]
    )
    op.create_index("ix_pipeline_jobs_execution_id", "pipeline_jobs", ["execution_id"])
    op.create_table(
        "pipeline_secrets",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # Triggering starts after the events already stored: old pushes start nothing.
    op.execute(
        "INSERT INTO dispatch_cursor (id, last_seq) SELECT 2, COALESCE(MAX(seq), 0) FROM events"
    )


def downgrade() -> None:
    op.execute("DELETE FROM dispatch_cursor WHERE id = 2")
    op.drop_table("pipeline_secrets")
    op.drop_table("pipeline_jobs")
    op.drop_table("pipeline_action_executions")
    op.drop_table("pipeline_stage_executions")
    op.drop_table("pipeline_executions")
    op.drop_table("pipelines")
