"""event delivery: subscriptions (webhooks, triggers, notifications), deliveries, attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = gitserver.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("branches", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_kind", "subscriptions", ["kind"])
    op.create_index("ix_subscriptions_repository_id", "subscriptions", ["repository_id"])
    op.create_table(
        "deliveries",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("event_time", UTC, nullable=False),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index(
        "ix_deliveries_order", "deliveries", ["subscription_id", "repository_id", "seq"]
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("request_headers", sa.JSON(), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])
    op.create_table(
        "dispatch_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Fan-out starts after the events already stored: history is not replayed to hooks
    # that did not exist when it happened.
    op.execute(
        "INSERT INTO dispatch_cursor (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events"
    )
    if op.get_bind().dialect.name == "postgresql":
        # Wake every dispatcher (any process) the moment an event is committed.
        op.execute(
            "CREATE FUNCTION gitserver_notify_event() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_notify('gitserver_events', ''); RETURN NULL; END $$ "
            "LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER gitserver_events_notify AFTER INSERT ON events "
            "FOR EACH STATEMENT EXECUTE FUNCTION gitserver_notify_event()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS gitserver_events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS gitserver_notify_event()")
    op.drop_table("dispatch_cursor")
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
