"""Rows ⇄ domain values, pure. Column names are the tables'; field names are the domain's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from vmrsched.adapters.db import codec
from vmrsched.domain.actions import Decision
from vmrsched.domain.bookings import Booking, BookingState, SeriesPlan, Window
from vmrsched.domain.reservations import Reservation, ReservationState
from vmrsched.ports.store import JSON, Effect, EffectState, Event, MeetingSummary, Subscription

Row = Mapping[Any, Any]  # SQLAlchemy RowMapping, or a dict of column values

RESERVATION_USED = ReservationState.USED.value
# Reservations that no meeting used and that can no longer be used: their aliases may go.
RESERVATION_DEAD_STATES = (ReservationState.EXPIRED.value, ReservationState.DELETED.value)
BOOKING_LIVE_STATES = (BookingState.ACTIVE.value,)


def reservation_row(reservation: Reservation) -> dict[str, Any]:
    """The ``reservations`` row of a reservation."""
    return {
        "token_id": reservation.token_id,
        "alias": reservation.alias,
        "numeric_alias": reservation.numeric_alias,
        "organizer": reservation.organizer,
        "created": reservation.created,
        "expires": reservation.expires,
        "state": reservation.state.value,
        "meeting_key": reservation.meeting_key,
        "organizer_claimed": reservation.organizer_claimed,
    }


def reservation_from_row(row: Row) -> Reservation:
    """The reservation a ``reservations`` row holds."""
    return Reservation(
        token_id=row["token_id"],
        alias=row["alias"],
        numeric_alias=row["numeric_alias"],
        organizer=row["organizer"],
        created=row["created"],
        expires=row["expires"],
        state=ReservationState(row["state"]),
        meeting_key=row["meeting_key"],
        organizer_claimed=bool(row["organizer_claimed"]),
    )


def booking_row(booking: Booking) -> dict[str, Any]:
    """The ``bookings`` row of a booking (its windows go to ``window_rows``)."""
    return {
        "booking_id": booking.booking_id,
        "meeting_key": booking.meeting_key,
        "alias": booking.alias,
        "numeric_alias": booking.numeric_alias,
        "token_id": booking.token_id,
        "state": booking.state.value,
        "sequence_seen": booking.sequence_seen,
        "created": booking.created,
        "updated": booking.updated,
        "series": None if booking.series is None else codec.encode(booking.series),
        "series_planned_until": _extend_from(booking),
    }


def _extend_from(booking: Booking) -> datetime | None:
    # Only what the periodic extension must look at gets a value: an active series with
    # occurrences beyond what the booking holds.
    plan = booking.series
    if plan is None or not booking.is_active or not plan.continues:
        return None
    return plan.planned_until


def window_rows(booking: Booking) -> list[dict[str, Any]]:
    """The ``booking_windows`` rows of a booking, one per occurrence."""
    return [
        {
            "booking_id": booking.booking_id,
            "occurrence_key": w.occurrence_key,
            "starts_at": w.start,
            "ends_at": w.end,
        }
        for w in booking.windows
    ]


def booking_from_rows(row: Row, windows: Sequence[Row]) -> Booking:
    """The booking a ``bookings`` row and its ``booking_windows`` rows hold."""
    return Booking(
        booking_id=row["booking_id"],
        meeting_key=row["meeting_key"],
        alias=row["alias"],
        numeric_alias=row["numeric_alias"],
        token_id=row["token_id"],
        windows=tuple(Window(w["occurrence_key"], w["starts_at"], w["ends_at"]) for w in windows),
        state=BookingState(row["state"]),
        sequence_seen=row["sequence_seen"],
        created=row["created"],
        updated=row["updated"],
        series=None if row.get("series") is None else _CODEC.decode(SeriesPlan, row["series"]),
    )


# Names the domain's modules import for annotations only (under TYPE_CHECKING).
_CODEC = codec.Codec(
    {"Window": Window, "SeriesPlan": SeriesPlan, "datetime": datetime, "timedelta": timedelta}
)


def decision_to_json(decision: Decision) -> JSON:
    """A decision as stored (tagged JSON, see ``codec``)."""
    return codec.encode(decision)


def decision_from_json(data: JSON) -> Decision:
    """The decision stored as ``data``."""
    decision: Decision = _CODEC.decode(Decision, data)
    return decision


def meeting_summary(
    meeting_key: str, history: Sequence[Row], booking: Booking | None
) -> MeetingSummary:
    """A meeting from its ``messages`` rows (oldest first, at least one) and its booking."""
    return MeetingSummary(
        meeting_key=meeting_key,
        decisions=tuple(decision_from_json(row["decision"]) for row in history),
        correlation_ids=tuple(row["correlation_id"] for row in history),
        last_at=history[-1]["decided_at"],
        booking=booking,
    )


def effect_from_row(row: Row) -> Effect:
    """The effect an ``effects`` row holds."""
    return Effect(
        effect_id=row["effect_id"],
        idempotency_key=row["idempotency_key"],
        message_key=row["message_key"],
        meeting_key=row["meeting_key"],
        correlation_id=row["correlation_id"],
        kind=row["kind"],
        payload=row["payload"],
        state=EffectState(row["state"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        result=row["result"],
        created=row["created"],
        updated=row["updated"],
        attempt_started=row["attempt_started"],
    )


def event_from_row(row: Row) -> Event:
    """The audit event an ``events`` row holds."""
    return Event(
        event_id=row["event_id"],
        at=row["at"],
        kind=row["kind"],
        meeting_key=row["meeting_key"],
        message_key=row["message_key"],
        effect_id=row["effect_id"],
        correlation_id=row["correlation_id"],
        detail=row["detail"],
    )


def subscription_from_row(row: Row) -> Subscription:
    """The subscription a ``subscriptions`` row holds."""
    return Subscription(
        subscription_id=row["subscription_id"],
        mailbox=row["mailbox"],
        folder=row["folder"],
        kind=row["kind"],
        expires=row["expires"],
        detail=row["detail"],
    )
