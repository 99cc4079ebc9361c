"""A reservation remembers whether its organizer was only claimed by the client (not proven).

Revision ID: 0004
Revises: 0003
Created: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every reservation made before this revision had a proven organizer (an Entra sign-in or
    # `vmrsched reserve`): the server default keeps them unclaimed, honoured as before.
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(
            sa.Column("organizer_claimed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("organizer_claimed")
