"""Initial schema: reservations, bookings and windows, messages and effects, audit log,
cursors, subscriptions, installation facts.

Revision ID: 0001
Revises: (none)
Created: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "folder", name=op.f("pk_cursors")),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meeting_key", sa.String(length=512), nullable=True),
        sa.Column("message_key", sa.String(length=512), nullable=True),
        sa.Column("effect_id", sa.Integer(), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_correlation_id"), "events", ["correlation_id"], unique=False)
    op.create_index(
        op.f("ix_events_meeting_key_event_id"), "events", ["meeting_key", "event_id"], unique=False
    )
    op.create_table(
        "installation_facts",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_installation_facts")),
    )
    op.create_table(
        "messages",
        sa.Column("message_key", sa.String(length=512), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("meeting_key", sa.String(length=512), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_key", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_meeting_key"), "messages", ["meeting_key"], unique=False)
    op.create_table(
        "reservations",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("numeric_alias", sa.String(length=64), nullable=False),
        sa.Column("organizer", sa.String(length=320), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("meeting_key", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("alias", name=op.f("uq_reservations_alias")),
        sa.UniqueConstraint("numeric_alias", name=op.f("uq_reservations_numeric_alias")),
    )
    op.create_index(op.f("ix_reservations_expires"), "reservations", ["expires"], unique=False)
    op.create_index(
        op.f("ix_reservations_meeting_key"), "reservations", ["meeting_key"], unique=False
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(length=512), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_mailbox"), "subscriptions", ["mailbox"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("meeting_key", sa.String(length=512), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("numeric_alias", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("sequence_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["reservations.token_id"],
            name=op.f("fk_bookings_token_id_reservations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("meeting_key", name=op.f("uq_bookings_meeting_key")),
    )
    op.create_index(op.f("ix_bookings_alias"), "bookings", ["alias"], unique=False)
    op.create_index(op.f("ix_bookings_numeric_alias"), "bookings", ["numeric_alias"], unique=False)
    op.create_index(op.f("ix_bookings_token_id"), "bookings", ["token_id"], unique=False)
    op.create_table(
        "effects",
        sa.Column("effect_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=512), nullable=False),
        sa.Column("message_key", sa.String(length=512), nullable=False),
        sa.Column("meeting_key", sa.String(length=512), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_key"],
            ["messages.message_key"],
            name=op.f("fk_effects_message_key_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("effect_id", name=op.f("pk_effects")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_effects_idempotency_key")),
    )
    op.create_index(op.f("ix_effects_message_key"), "effects", ["message_key"], unique=False)
    op.create_index(
        op.f("ix_effects_state_next_attempt_at"),
        "effects",
        ["state", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "booking_windows",
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("occurrence_key", sa.String(length=255), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_booking_windows_window_not_empty")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.booking_id"],
            name=op.f("fk_booking_windows_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booking_id", "occurrence_key", name=op.f("pk_booking_windows")),
    )
    op.create_index(
        op.f("ix_booking_windows_booking_id_starts_at_ends_at"),
        "booking_windows",
        ["booking_id", "starts_at", "ends_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_booking_windows_booking_id_starts_at_ends_at"), table_name="booking_windows"
    )
    op.drop_table("booking_windows")
    op.drop_index(op.f("ix_effects_state_next_attempt_at"), table_name="effects")
    op.drop_index(op.f("ix_effects_message_key"), table_name="effects")
    op.drop_table("effects")
    op.drop_index(op.f("ix_bookings_token_id"), table_name="bookings")
    op.drop_index(op.f("ix_bookings_numeric_alias"), table_name="bookings")
    op.drop_index(op.f("ix_bookings_alias"), table_name="bookings")
    op.drop_table("bookings")
    op.drop_index(op.f("ix_subscriptions_mailbox"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_reservations_meeting_key"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_expires"), table_name="reservations")
    op.drop_table("reservations")
    op.drop_index(op.f("ix_messages_meeting_key"), table_name="messages")
    op.drop_table("messages")
    op.drop_table("installation_facts")
    op.drop_index(op.f("ix_events_meeting_key_event_id"), table_name="events")
    op.drop_index(op.f("ix_events_correlation_id"), table_name="events")
    op.drop_table("events")
    op.drop_table("cursors")
