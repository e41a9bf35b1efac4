"""ref updates remember a merge's fields for their referenceUpdated event

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ref_updates") as batch:
        batch.add_column(sa.Column("merge", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ref_updates") as batch:
        batch.drop_column("merge")
