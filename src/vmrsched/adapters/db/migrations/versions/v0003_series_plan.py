"""A booking keeps its series' plan, so that a series without end is extended as time passes.

Revision ID: 0003
Revises: 0002
Created: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("series", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("series_planned_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            op.f("ix_bookings_series_planned_until"), ["series_planned_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_index(op.f("ix_bookings_series_planned_until"))
        batch.drop_column("series_planned_until")
        batch.drop_column("series")
