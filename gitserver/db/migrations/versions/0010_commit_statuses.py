"""commit statuses, required status checks, merge when green

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = gitserver.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "commit_statuses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("commit_id", sa.String(length=64), nullable=False),
        sa.Column("context", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("creator", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_commit_statuses_commit_context",
        "commit_statuses",
        ["repository_id", "commit_id", "context"],
        unique=True,
    )
    op.create_table(
        "required_status_checks",
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("context", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repository_id", "context"),
    )
    op.create_table(
        "pull_request_auto_merges",
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("armed_by", sa.String(length=64), nullable=False),
        sa.Column("armed_by_arn", sa.String(length=256), nullable=False),
        sa.Column("source_commit", sa.String(length=64), nullable=False),
        sa.Column("armed_at", UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pull_request_id"),
    )


def downgrade() -> None:
    op.drop_table("pull_request_auto_merges")
    op.drop_table("required_status_checks")
    op.drop_index("ux_commit_statuses_commit_context", table_name="commit_statuses")
    op.drop_table("commit_statuses")
