"""push protection: protected-branch rules and per-repository push rules

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = gitserver.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "protected_branches",
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("pattern", sa.String(length=256), nullable=False),
        sa.Column("no_force_push", sa.Boolean(), nullable=False),
        sa.Column("no_deletion", sa.Boolean(), nullable=False),
        sa.Column("require_pull_request", sa.Boolean(), nullable=False),
        sa.Column("require_status_checks", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repository_id", "pattern"),
    )
    op.create_table(
        "push_rules",
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("secret_scanning", sa.Boolean(), nullable=True),
        sa.Column("max_file_size", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repository_id"),
    )


def downgrade() -> None:
    op.drop_table("push_rules")
    op.drop_table("protected_branches")
