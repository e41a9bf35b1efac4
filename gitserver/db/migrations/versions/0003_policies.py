"""identity policies: inline, customer-managed with versions, attachments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", gitserver.db.models.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "user_policies",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "name"),
    )
    op.create_table(
        "group_policies",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "name"),
    )
    op.create_table(
        "managed_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("default_version", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "managed_policy_versions",
        sa.Column("policy_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["policy_id"], ["managed_policies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("policy_id", "version"),
    )
    op.create_table(
        "user_policy_attachments",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "policy_name"),
    )
    op.create_table(
        "group_policy_attachments",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "policy_name"),
    )


def downgrade() -> None:
    for table in (
        "group_policy_attachments",
        "user_policy_attachments",
        "managed_policy_versions",
        "managed_policies",
        "group_policies",
        "user_policies",
    ):
        op.drop_table(table)
