"""Domain values for the store tests, with fixed times (tests never read the clock)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from vmrsched.domain.actions import Decision, Decline, Outcome
from vmrsched.domain.bookings import Booking, BookingState, Window
from vmrsched.domain.reservations import Reservation, ReservationState
from vmrsched.domain.templates import TemplateName
from vmrsched.ports.store import IncomingMessage, NewEffect

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def token_id() -> str:
    return str(uuid.UUID(int=next(_ids)))


def reservation(
    alias: str | None = None,
    numeric_alias: str | None = None,
    *,
    organizer: str = "alice@contoso.com",
    expires: datetime | None = None,
    state: ReservationState = ReservationState.LIVE,
    meeting_key: str | None = None,
    organizer_claimed: bool = False,
) -> Reservation:
    n = next(_ids)
    return Reservation(
        token_id=token_id(),
        alias=alias or f"81{n:06d}@vmr.contoso.com",
        numeric_alias=numeric_alias or f"81{n:06d}",
        organizer=organizer,
        created=NOW,
        expires=expires or NOW + timedelta(days=30),
        state=state,
        meeting_key=meeting_key,
        organizer_claimed=organizer_claimed,
    )


def window(key: str, start_hour: int, hours: int = 1, day: int = 0) -> Window:
    start = NOW.replace(hour=start_hour) + timedelta(days=day)
    return Window(key, start, start + timedelta(hours=hours))


def booking(
    of: Reservation,
    meeting_key: str,
    *windows: Window,
    booking_id: str | None = None,
    state: BookingState = BookingState.ACTIVE,
    sequence: int = 0,
    updated: datetime = NOW,
) -> Booking:
    return Booking(
        booking_id=booking_id or f"b-{meeting_key}",
        meeting_key=meeting_key,
        alias=of.alias,
        numeric_alias=of.numeric_alias,
        token_id=of.token_id,
        windows=windows or (window("single", 10),),
        state=state,
        sequence_seen=sequence,
        created=NOW,
        updated=updated,
    )


def message(key: str, meeting_key: str | None = "m1") -> IncomingMessage:
    return IncomingMessage(
        key=key, mailbox="vmr@contoso.com", meeting_key=meeting_key, correlation_id=f"c-{key}"
    )


def effect(key: str, kind: str = "reply", **payload: object) -> NewEffect:
    return NewEffect(idempotency_key=key, kind=kind, payload=payload or {"to": "alice"})


def decline(message_id: str = "msg-1") -> Decision:
    return Decision(
        message_id=message_id,
        meeting_key="m1",
        outcome=Outcome.REJECT_INVALID_ALIAS_ID,
        actions=(Decline(TemplateName.REJECT_INVALID_ALIAS_ID, (), "no token"),),
        correlation_id="abcd-efgh-ijkl",
        reason="no token",
    )
