"""audit log: authorization decisions on mutating actions and every denial

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", gitserver.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("principal_arn", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("resource", sa.String(length=1024), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_time", "audit_log", ["time"])
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])
    op.create_index("ix_audit_log_principal_time", "audit_log", ["principal", "time"])
    op.create_index("ix_audit_log_action_time", "audit_log", ["action", "time"])


def downgrade() -> None:
    op.drop_table("audit_log")
