"""The store's tables (SQLAlchemy Core), the one definition that Alembic migrations must match.

A test migrates an empty database to head and compares it with this metadata (no differences
allowed, on SQLite and PostgreSQL). Change a table here, then add a migration:
see docs/reference/database.md.

Portability rules: every timestamp is a ``UTCDateTime`` (timezone-aware UTC in Python on both
databases); JSON columns use SQLAlchemy's generic ``JSON`` (SQLite JSON text, PostgreSQL ``json``);
names follow ``NAMING`` so constraints are named alike on both databases and Alembic can alter
them on SQLite (batch mode).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time: aware datetimes in, aware UTC datetimes out; naive ones are refused.

    PostgreSQL stores ``timestamp with time zone``. SQLite has no such type: SQLAlchemy stores
    ISO text of fixed width, which we always write in UTC so text order is time order.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Lengths: e-mail addresses ≤ 320 (RFC 3696 errata), Exchange item ids are ~150-200 base64
# characters, so keys that embed them get 512.
EMAIL = sa.String(320)
KEY = sa.String(512)
SHORT = sa.String(64)
STATE = sa.String(32)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    ]


installation_facts = sa.Table(
    "installation_facts",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated", UTCDateTime(), nullable=False),
)

# A reservation is also the claim on its alias: `alias` and `numeric_alias` are unique here, and
# every booking keeps its reservation (foreign key, no cascade), so an alias is unique among live
# reservations and bookings together. Deleting an expired reservation frees its alias.
reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("token_id", SHORT, primary_key=True),
    sa.Column("alias", sa.String(255), nullable=False, unique=True),
    sa.Column("numeric_alias", SHORT, nullable=False, unique=True),
    sa.Column("organizer", EMAIL, nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("expires", UTCDateTime(), nullable=False, index=True),
    sa.Column("state", STATE, nullable=False),
    sa.Column("meeting_key", KEY, nullable=True, index=True),
    # The organizer was named by the client, not proven by its sign-in (schema revision 0004).
    sa.Column("organizer_claimed", sa.Boolean(), nullable=False, server_default=sa.false()),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("booking_id", SHORT, primary_key=True),
    sa.Column("meeting_key", KEY, nullable=False, unique=True),
    sa.Column("alias", sa.String(255), nullable=False, index=True),
    sa.Column("numeric_alias", SHORT, nullable=False, index=True),
    sa.Column(
        "token_id",
        SHORT,
        sa.ForeignKey(reservations.c.token_id, ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("state", STATE, nullable=False),
    sa.Column("sequence_seen", sa.Integer(), nullable=False),
    *_timestamps(),
    # A series' plan (domain SeriesPlan as tagged JSON), and while the booking is active and the
    # series has occurrences it does not hold yet, the time they start from (what the periodic
    # extension looks for; NULL: nothing to extend).
    sa.Column("series", sa.JSON(), nullable=True),
    sa.Column("series_planned_until", UTCDateTime(), nullable=True, index=True),
)

# One row per occurrence window; re-planning a booking replaces all of its rows in one transaction.
booking_windows = sa.Table(
    "booking_windows",
    metadata,
    sa.Column(
        "booking_id",
        SHORT,
        sa.ForeignKey(bookings.c.booking_id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("occurrence_key", sa.String(255), primary_key=True),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("starts_at < ends_at", name="window_not_empty"),
)
# "Is a booking live for this alias now?": bookings by alias (index above), then its windows by
# (booking_id, starts_at), which this index answers without touching the table.
sa.Index(
    "ix_booking_windows_booking_id_starts_at_ends_at",
    booking_windows.c.booking_id,
    booking_windows.c.starts_at,
    booking_windows.c.ends_at,
)

# One row per incoming message that was decided: its key (mailbox + message id + change marker)
# is what recognises a duplicate delivery.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("message_key", KEY, primary_key=True),
    sa.Column("mailbox", EMAIL, nullable=False),
    sa.Column("meeting_key", KEY, nullable=True, index=True),
    sa.Column("correlation_id", SHORT, nullable=False),
    sa.Column("decision", sa.JSON(), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
)

effects = sa.Table(
    "effects",
    metadata,
    sa.Column("effect_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", KEY, nullable=False, unique=True),
    sa.Column(
        "message_key",
        KEY,
        sa.ForeignKey(messages.c.message_key, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("meeting_key", KEY, nullable=True),
    sa.Column("correlation_id", SHORT, nullable=False),
    sa.Column("kind", SHORT, nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("state", STATE, nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=True),
    *_timestamps(),
    # When an attempt was first begun (None: never). Recorded before acting, so an effect never
    # begun is known not to have acted, and its first attempt needs no look for an earlier one.
    sa.Column("attempt_started", UTCDateTime(), nullable=True),
)
sa.Index("ix_effects_state_next_attempt_at", effects.c.state, effects.c.next_attempt_at)

# The audit log: every message, decision and effect of a meeting, for `vmrsched meetings show`.
events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("meeting_key", KEY, nullable=True),
    sa.Column("message_key", KEY, nullable=True),
    sa.Column("effect_id", sa.Integer(), nullable=True),
    sa.Column("correlation_id", SHORT, nullable=True),
    sa.Column("kind", SHORT, nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
)
sa.Index("ix_events_meeting_key_event_id", events.c.meeting_key, events.c.event_id)
sa.Index("ix_events_correlation_id", events.c.correlation_id)

# Where to resume reading a mailbox folder: EWS sync state or Graph delta link.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("mailbox", EMAIL, primary_key=True),
    sa.Column("folder", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated", UTCDateTime(), nullable=False),
)

# Push subscriptions (EWS streaming, Graph change notifications) the service holds.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", KEY, primary_key=True),
    sa.Column("mailbox", EMAIL, nullable=False, index=True),
    sa.Column("folder", sa.String(255), nullable=False),
    sa.Column("kind", SHORT, nullable=False),
    sa.Column("expires", UTCDateTime(), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
    *_timestamps(),
)
