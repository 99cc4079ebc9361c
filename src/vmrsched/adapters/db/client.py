"""``SqlStore``: the store port on SQLAlchemy Core, for SQLite (default) and PostgreSQL.

Every public method is one transaction (``_tx``), or a savepoint in the caller's ``batch``. On
SQLite a writing transaction begins with ``BEGIN IMMEDIATE`` (see ``engine.py``), so writers
queue instead of failing; on PostgreSQL the default READ COMMITTED level is enough because every
rule that matters is a unique key or a conditional ``UPDATE`` that re-checks its condition on the
row it locks.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Self

import sqlalchemy as sa

from vmrsched.adapters.db import claims, decisions, listing, mapping, state
from vmrsched.adapters.db.engine import SQLITE_BEGIN, create_engine, is_memory, normalize_url
from vmrsched.adapters.db.errors import translated
from vmrsched.adapters.db.migrate import current_revision, head_revision, upgrade_connection
from vmrsched.adapters.db.tables import (
    bookings,
    events,
    reservations,
)
from vmrsched.adapters.db.tables import effects as effects_table
from vmrsched.ports.store import (
    JSON,
    AliasSpaceExhaustedError,
    Effect,
    EffectState,
    Event,
    IncomingMessage,
    MeetingSummary,
    NewEffect,
    RecordedDecision,
    SchemaMismatchError,
    Store,
    Subscription,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.engine import URL, Connection, Engine

    from vmrsched.domain.actions import Decision
    from vmrsched.domain.bookings import Booking
    from vmrsched.domain.reservations import Reservation


class SqlStore:
    """The store on a SQL database. Build it with ``open(url)`` or ``in_memory()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # One in-memory SQLite connection is shared by all threads: take turns per transaction.
        self._lock: threading.Lock | None = threading.Lock() if is_memory(engine.url) else None
        # The connection of the batch (`batch`) this thread is in, if any.
        self._batch = threading.local()

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | URL, *, migrate: bool = True) -> Self:
        """Open the database at ``url``, migrating it to this version's schema first (or, with
        ``migrate=False``, refusing with ``SchemaMismatchError`` if it is not there)."""
        parsed = normalize_url(url)
        store = cls(create_engine(parsed))
        with translated(), store.engine.connect() as conn:
            if migrate:
                upgrade_connection(conn)
                conn.commit()
            found = current_revision(conn)
            conn.rollback()
        expected = head_revision()
        if found != expected:
            store.close()
            raise SchemaMismatchError(
                f"database is at schema revision {found}, this vmrsched needs {expected}: "
                "start vmrsched with database migrations enabled (the default)",
                found=found,
                expected=expected,
            )
        return store

    @classmethod
    def in_memory(cls) -> Self:
        """A private in-memory SQLite store: the fake for tests and the demo, same code path.

        Migrated with the shipped migrations, so it is exactly the real schema.
        """
        return cls.open("sqlite://")

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """This thread's store calls inside the block share one writing transaction, committed
        when the block ends (rolled back if it raises); each call is a savepoint, so one that
        fails undoes only its own changes. A batch inside a batch joins it."""
        if getattr(self._batch, "conn", None) is not None:
            yield
            return
        with self._tx() as conn:
            self._batch.conn = conn
            try:
                yield
            finally:
                self._batch.conn = None

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        shared: Connection | None = getattr(self._batch, "conn", None)
        if shared is not None:
            with translated(), shared.begin_nested():
                yield shared
            return
        lock = self._lock if self._lock is not None else nullcontext()
        with translated(), lock, self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE" if write else "DEFERRED"})
            with conn.begin():
                yield conn

    # -- reservations ------------------------------------------------------------------------

    def add_reservation(
        self, make: Callable[[], Reservation], *, attempts: int = 20
    ) -> Reservation:
        for _ in range(attempts):
            reservation = make()
            with self._tx() as conn:
                if claims.claim(conn, reservation):
                    return reservation
        raise AliasSpaceExhaustedError(attempts)

    def get_reservation(self, token_id: str) -> Reservation | None:
        with self._tx(write=False) as conn:
            row = (
                conn.execute(sa.select(reservations).where(reservations.c.token_id == token_id))
                .mappings()
                .one_or_none()
            )
        return None if row is None else mapping.reservation_from_row(row)

    def use_reservation(self, token_id: str, meeting_key: str) -> Reservation:
        with self._tx() as conn:
            return claims.use_reservation(conn, token_id, meeting_key)

    def delete_expired_reservations(self, now: datetime) -> int:
        with self._tx() as conn:
            result = conn.execute(
                sa.delete(reservations)
                .where(reservations.c.meeting_key.is_(None))
                .where(
                    sa.or_(
                        reservations.c.expires <= now,
                        reservations.c.state.in_(mapping.RESERVATION_DEAD_STATES),
                    )
                )
                .returning(reservations.c.token_id)
            ).all()
        return len(result)

    # -- bookings ----------------------------------------------------------------------------

    def get_booking(self, booking_id: str) -> Booking | None:
        with self._tx(write=False) as conn:
            return claims.booking_where(conn, bookings.c.booking_id == booking_id)

    def booking_for_meeting(self, meeting_key: str) -> Booking | None:
        with self._tx(write=False) as conn:
            return claims.booking_where(conn, bookings.c.meeting_key == meeting_key)

    def save_booking(self, booking: Booking) -> None:
        with self._tx() as conn:
            claims.save_booking(conn, booking)

    def live_booking_for_alias(self, alias: str, at: datetime) -> Booking | None:
        with self._tx(write=False) as conn:
            return claims.live_booking(conn, alias, at)

    def bookings_to_extend(self, before: datetime, *, limit: int = 100) -> list[Booking]:
        with self._tx(write=False) as conn:
            return claims.bookings_to_extend(conn, before, limit)

    def booking_for_alias(self, alias: str) -> Booking | None:
        with self._tx(write=False) as conn:
            return listing.booking_for_alias(conn, alias)

    # -- decisions and effects ---------------------------------------------------------------

    def record_decision(
        self,
        message: IncomingMessage,
        decision: Decision,
        effects: Sequence[NewEffect],
        *,
        now: datetime,
        booking: Booking | None = None,
        reservation: Reservation | None = None,
    ) -> RecordedDecision:
        with self._tx() as conn:
            return decisions.record(
                conn, message, decision, effects, now=now, booking=booking, reservation=reservation
            )

    def get_decision(self, message_key: str) -> RecordedDecision | None:
        with self._tx(write=False) as conn:
            return decisions.decision(conn, message_key)

    def recent_meetings(self, *, limit: int = 50) -> list[MeetingSummary]:
        with self._tx(write=False) as conn:
            return listing.recent_meetings(conn, limit)

    def find_meetings(
        self, *, key_prefix: str | None = None, correlation_id: str | None = None, limit: int = 10
    ) -> list[str]:
        with self._tx(write=False) as conn:
            return listing.find_meetings(
                conn, key_prefix=key_prefix, correlation_id=correlation_id, limit=limit
            )

    def pending_effects(self, now: datetime, *, limit: int = 100) -> list[Effect]:
        pending = EffectState.PENDING.value
        earlier = effects_table.alias("earlier")
        waits_behind = (
            sa.exists()
            .where(earlier.c.state == pending)
            .where(earlier.c.meeting_key == effects_table.c.meeting_key)
            .where(earlier.c.effect_id < effects_table.c.effect_id)
        )
        with self._tx(write=False) as conn:
            rows = (
                conn.execute(
                    sa.select(effects_table)
                    .where(effects_table.c.state == pending)
                    .where(effects_table.c.next_attempt_at <= now)
                    .where(~waits_behind)
                    .order_by(effects_table.c.next_attempt_at, effects_table.c.effect_id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [mapping.effect_from_row(r) for r in rows]

    def start_effects(self, effect_ids: Sequence[int], *, now: datetime) -> None:
        if not effect_ids:
            return
        with self._tx() as conn:
            decisions.mark_started(conn, effect_ids, now=now)

    def mark_effect_done(self, effect_id: int, result: JSON, *, now: datetime) -> Effect:
        with self._tx() as conn:
            return decisions.mark_done(conn, effect_id, result, now=now)

    def mark_effects_done(
        self, results: Sequence[tuple[int, JSON]], *, now: datetime
    ) -> list[Effect]:
        if not results:
            return []
        with self._tx() as conn:
            return [decisions.mark_done(conn, i, result, now=now) for i, result in results]

    def mark_effect_failed(
        self, effect_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> Effect:
        with self._tx() as conn:
            return decisions.mark_failed(conn, effect_id, error, now=now, retry_at=retry_at)

    # -- audit log ---------------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        *,
        at: datetime,
        meeting_key: str | None,
        message_key: str | None = None,
        effect_id: int | None = None,
        correlation_id: str | None = None,
        detail: Mapping[str, JSON] | None = None,
    ) -> Event:
        with self._tx() as conn:
            return decisions.add_event(
                conn,
                kind,
                at=at,
                meeting_key=meeting_key,
                message_key=message_key,
                effect_id=effect_id,
                correlation_id=correlation_id,
                detail=detail,
            )

    def events_for_meeting(self, meeting_key: str) -> list[Event]:
        with self._tx(write=False) as conn:
            rows = (
                conn.execute(
                    sa.select(events)
                    .where(events.c.meeting_key == meeting_key)
                    .order_by(events.c.event_id)
                )
                .mappings()
                .all()
            )
        return [mapping.event_from_row(r) for r in rows]

    # -- cursors, subscriptions, installation facts (`state`) ---------------------------------

    def get_cursor(self, mailbox: str, folder: str) -> str | None:
        with self._tx(write=False) as conn:
            return state.get_cursor(conn, mailbox, folder)

    def set_cursor(self, mailbox: str, folder: str, value: str | None, *, now: datetime) -> None:
        with self._tx() as conn:
            state.set_cursor(conn, mailbox, folder, value, now=now)

    def save_subscription(self, subscription: Subscription, *, now: datetime) -> None:
        with self._tx() as conn:
            state.save_subscription(conn, subscription, now=now)

    def subscriptions(self, mailbox: str | None = None) -> list[Subscription]:
        with self._tx(write=False) as conn:
            return state.subscriptions(conn, mailbox)

    def delete_subscription(self, subscription_id: str) -> None:
        with self._tx() as conn:
            state.delete_subscription(conn, subscription_id)

    def get_fact(self, key: str) -> str | None:
        with self._tx(write=False) as conn:
            return state.get_fact(conn, key)

    def set_fact(self, key: str, value: str, *, now: datetime) -> None:
        with self._tx() as conn:
            state.set_fact(conn, key, value, now=now)

    def ensure_fact(self, key: str, value: str, *, now: datetime) -> str:
        with self._tx() as conn:
            return state.ensure_fact(conn, key, value, now=now)


__all__ = ["SqlStore"]


if TYPE_CHECKING:
    # mypy proves here that SqlStore implements the port, signature for signature.
    _conforms: Store = SqlStore.in_memory()
