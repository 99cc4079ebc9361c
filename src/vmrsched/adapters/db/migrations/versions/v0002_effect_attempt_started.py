"""Effects remember when an attempt to perform them was first begun (``attempt_started``).

Revision ID: 0002
Revises: 0001
Created: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("effects") as batch:
        batch.add_column(sa.Column("attempt_started", sa.DateTime(timezone=True), nullable=True))
    # Effects recorded before this revision may have been attempted: a NULL would let their
    # next attempt skip the look for an earlier result, so mark every unfinished one as begun.
    op.execute(sa.text("UPDATE effects SET attempt_started = updated WHERE state = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table("effects") as batch:
        batch.drop_column("attempt_started")
