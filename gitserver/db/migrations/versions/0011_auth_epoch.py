"""auth epoch: a counter every change to who may do what moves (database triggers)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Every table a Principal is read from (the user, its groups, its policies and what
# they are attached to). A change through any code path or process, the CLI's included,
# moves the epoch in the same transaction, so a cached principal is never stale.
TABLES = (
    "users",
    "groups",
    "group_members",
    "user_policies",
    "group_policies",
    "managed_policies",
    "managed_policy_versions",
    "user_policy_attachments",
    "group_policy_attachments",
)
_BUMP = "UPDATE auth_epoch SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "auth_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO auth_epoch (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_auth_epoch AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch()"
            )
        return
    for table in TABLES:
        for verb in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_auth_epoch_{verb.lower()} AFTER {verb} ON {table} "
                f"BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_auth_epoch ON {table}")
        op.execute("DROP FUNCTION bump_auth_epoch()")
    else:
        for table in TABLES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_auth_epoch_{verb}")
    op.drop_table("auth_epoch")
