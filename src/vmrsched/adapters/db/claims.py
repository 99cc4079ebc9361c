"""Reservations and bookings, as statements on a connection (one transaction).

A reservation is the claim on its alias (unique keys do the claiming); a booking rests on its
reservation, which `save_booking` ties to the booking's meeting in the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from vmrsched.adapters.db import mapping
from vmrsched.adapters.db.dialects import insert
from vmrsched.adapters.db.tables import booking_windows, bookings, reservations
from vmrsched.ports.store import (
    AliasTakenError,
    BookingExistsError,
    ConflictError,
    ReservationNotFoundError,
    TokenInUseError,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from vmrsched.domain.bookings import Booking
    from vmrsched.domain.reservations import Reservation


def claim(conn: Connection, reservation: Reservation) -> bool:
    """Insert the reservation unless its alias, numeric alias or token id is held."""
    # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
    inserted = conn.execute(
        insert(conn, reservations)
        .values(mapping.reservation_row(reservation))
        .on_conflict_do_nothing()
        .returning(reservations.c.token_id)
    ).first()
    return inserted is not None


def insert_reservation(conn: Connection, reservation: Reservation) -> None:
    if claim(conn, reservation):
        return
    held = conn.execute(
        sa.select(reservations.c.alias, reservations.c.numeric_alias).where(
            reservations.c.token_id == reservation.token_id
        )
    ).one_or_none()
    if held is not None and tuple(held) == (reservation.alias, reservation.numeric_alias):
        return  # stored before (add_reservation, or an earlier attempt): keep that row
    raise AliasTakenError(reservation.alias)


def use_reservation(conn: Connection, token_id: str, meeting_key: str) -> Reservation:
    # One conditional UPDATE: on PostgreSQL it waits for a concurrent claim of the same row
    # and then re-checks `meeting_key`, so two meetings can never both win.
    conn.execute(
        sa.update(reservations)
        .where(reservations.c.token_id == token_id)
        .where(
            sa.or_(
                reservations.c.meeting_key.is_(None),
                reservations.c.meeting_key == meeting_key,
            )
        )
        .values(meeting_key=meeting_key, state=mapping.RESERVATION_USED)
    )
    row = (
        conn.execute(sa.select(reservations).where(reservations.c.token_id == token_id))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise ReservationNotFoundError(token_id)
    if row["meeting_key"] != meeting_key:
        raise TokenInUseError(token_id, row["meeting_key"])
    return mapping.reservation_from_row(row)


def booking_where(conn: Connection, condition: sa.ColumnElement[bool]) -> Booking | None:
    row = conn.execute(sa.select(bookings).where(condition)).mappings().one_or_none()
    if row is None:
        return None
    windows = (
        conn.execute(
            sa.select(booking_windows)
            .where(booking_windows.c.booking_id == row["booking_id"])
            .order_by(booking_windows.c.starts_at, booking_windows.c.occurrence_key)
        )
        .mappings()
        .all()
    )
    return mapping.booking_from_rows(row, list(windows))


def save_booking(conn: Connection, booking: Booking) -> None:
    reservation = use_reservation(conn, booking.token_id, booking.meeting_key)
    if (reservation.alias, reservation.numeric_alias) != (booking.alias, booking.numeric_alias):
        raise ConflictError(
            f"booking {booking.booking_id!r} names alias {booking.alias!r} but its "
            f"reservation holds {reservation.alias!r}"
        )
    row = mapping.booking_row(booking)
    holder = conn.execute(
        sa.select(bookings.c.booking_id, bookings.c.meeting_key).where(
            sa.or_(
                bookings.c.booking_id == booking.booking_id,
                bookings.c.meeting_key == booking.meeting_key,
            )
        )
    ).all()
    if any(
        (h.booking_id, h.meeting_key) != (booking.booking_id, booking.meeting_key) for h in holder
    ):
        other = next(
            h
            for h in holder
            if (h.booking_id, h.meeting_key) != (booking.booking_id, booking.meeting_key)
        )
        raise BookingExistsError(other.booking_id, other.meeting_key)
    if holder:
        conn.execute(
            sa.update(bookings).where(bookings.c.booking_id == booking.booking_id).values(row)
        )
        conn.execute(
            sa.delete(booking_windows).where(booking_windows.c.booking_id == booking.booking_id)
        )
    else:
        # A concurrent insert of the same meeting surfaces as an IntegrityError → ConflictError.
        conn.execute(sa.insert(bookings).values(row))
    window_rows = mapping.window_rows(booking)
    if window_rows:
        conn.execute(sa.insert(booking_windows), window_rows)


def live_booking(conn: Connection, alias: str, at: datetime) -> Booking | None:
    found = conn.execute(
        sa.select(bookings.c.booking_id)
        .join(booking_windows, booking_windows.c.booking_id == bookings.c.booking_id)
        .where(sa.or_(bookings.c.alias == alias, bookings.c.numeric_alias == alias))
        .where(bookings.c.state.in_(mapping.BOOKING_LIVE_STATES))
        .where(booking_windows.c.starts_at <= at)
        .where(booking_windows.c.ends_at > at)
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        return None
    return booking_where(conn, bookings.c.booking_id == found)


def bookings_to_extend(conn: Connection, before: datetime, limit: int) -> list[Booking]:
    """Active series bookings planned only up to a time before ``before``, oldest plan first."""
    ids = conn.execute(
        sa.select(bookings.c.booking_id)
        .where(bookings.c.series_planned_until.is_not(None))
        .where(bookings.c.series_planned_until < before)
        .where(bookings.c.state.in_(mapping.BOOKING_LIVE_STATES))
        .order_by(bookings.c.series_planned_until, bookings.c.booking_id)
        .limit(max(0, limit))
    ).scalars()
    found = [booking_where(conn, bookings.c.booking_id == booking_id) for booking_id in ids]
    return [booking for booking in found if booking is not None]
