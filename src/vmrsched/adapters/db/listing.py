"""Meetings for people to look at (``vmrsched meetings``), as read-only statements on a
connection: the recent ones with their decisions and bookings, and the ways to name one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from vmrsched.adapters.db import claims, mapping
from vmrsched.adapters.db.tables import bookings, messages

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from vmrsched.domain.bookings import Booking
    from vmrsched.ports.store import MeetingSummary


def recent_meetings(conn: Connection, limit: int) -> list[MeetingSummary]:
    """The ``limit`` meetings with the newest decided messages, newest first."""
    last_at = sa.func.max(messages.c.decided_at).label("last_at")
    keys = [
        row.meeting_key
        for row in conn.execute(
            sa.select(messages.c.meeting_key, last_at)
            .where(messages.c.meeting_key.is_not(None))
            .group_by(messages.c.meeting_key)
            .order_by(last_at.desc(), messages.c.meeting_key)
            .limit(max(0, limit))
        )
    ]
    if not keys:
        return []
    history: dict[str, list[sa.RowMapping]] = {key: [] for key in keys}
    for row in conn.execute(
        sa.select(messages)
        .where(messages.c.meeting_key.in_(keys))
        .order_by(messages.c.decided_at, messages.c.message_key)
    ).mappings():
        history[row["meeting_key"]].append(row)
    held = {
        key: claims.booking_where(conn, bookings.c.meeting_key == key)
        for key in conn.execute(
            sa.select(bookings.c.meeting_key).where(bookings.c.meeting_key.in_(keys))
        ).scalars()
    }
    return [mapping.meeting_summary(key, history[key], held.get(key)) for key in keys]


def booking_for_alias(conn: Connection, alias: str) -> Booking | None:
    """The booking, in any state, whose alias or numeric alias is ``alias`` (newest first, should
    a database hold two: a used reservation, and so its alias, is never deleted)."""
    wanted = alias.strip()
    found = conn.execute(
        sa.select(bookings.c.booking_id)
        .where(sa.or_(bookings.c.alias == wanted.casefold(), bookings.c.numeric_alias == wanted))
        .order_by(bookings.c.updated.desc(), bookings.c.booking_id)
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        return None
    return claims.booking_where(conn, bookings.c.booking_id == found)


def find_meetings(
    conn: Connection, *, key_prefix: str | None, correlation_id: str | None, limit: int
) -> list[str]:
    """Keys, sorted, of meetings with a message matching the prefix and correlation id."""
    query = sa.select(messages.c.meeting_key).distinct().where(messages.c.meeting_key.is_not(None))
    if key_prefix:
        query = query.where(messages.c.meeting_key.startswith(key_prefix, autoescape=True))
    if correlation_id is not None:
        query = query.where(messages.c.correlation_id == correlation_id)
    found = conn.execute(query.order_by(messages.c.meeting_key).limit(max(0, limit)))
    return [str(key) for key in found.scalars()]
