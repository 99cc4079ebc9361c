"""Builders for domain tests: a meeting, a reservation, a booking, all at a fixed `NOW`.

A plain module (not conftest.py) so tests can import its names without relying on how pytest
imports conftest files; `conftest.py` only turns `Builders` into the `build` fixture.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from vmrsched.domain.bookings import SINGLE, Booking, BookingState, Window, window
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.domain.reservations import Reservation, ReservationState
from vmrsched.domain.scheduling_policy import SchedulingPolicy
from vmrsched.domain.tokens import TokenKey, issue_token

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = TokenKey(b"\x01" * 32)
ORGANIZER = "alice@contoso.com"
UID = "040000008200E00074C5B7101A82E00800000000AAAABBBBCCCC"
BEFORE = timedelta(minutes=30)
AFTER = timedelta(minutes=60)


class Builders:
    """Small builders with sensible defaults; keyword arguments override any field."""

    now = NOW
    key = KEY
    policy = SchedulingPolicy(token_key=KEY)

    def reservation(self, number: int = 1, **changes: Any) -> Reservation:
        base = Reservation(
            token_id=f"00000000-0000-4000-8000-{number:012d}",
            alias=f"8100000{number}@vmr.contoso.com",
            numeric_alias=f"8100000{number}",
            organizer=ORGANIZER,
            created=NOW - timedelta(days=1),
            expires=NOW + timedelta(days=29),
            state=ReservationState.LIVE,
        )
        return dataclasses.replace(base, **changes)

    def token(self, reservation: Reservation) -> str:
        return issue_token(KEY, reservation.token_id, reservation.alias, reservation.created)

    def body(self, reservation: Reservation) -> str:
        return f"<p>Agenda</p><p>Join: {reservation.alias}</p><p>{self.token(reservation)}</p>"

    def message(self, reservation: Reservation | None = None, **changes: Any) -> MeetingMessage:
        base = MeetingMessage(
            message_id="msg-1",
            kind=MessageKind.NEW,
            uid=UID,
            sequence=0,
            organizer_email=ORGANIZER,
            organizer_name="Alice",
            sender_email=ORGANIZER,
            subject="Quarterly review",
            body_html=self.body(reservation) if reservation is not None else "<p>Agenda</p>",
            start=NOW + timedelta(hours=2),
            end=NOW + timedelta(hours=3),
            time_zone="Europe/Berlin",
            received=NOW,
        )
        return dataclasses.replace(base, **changes)

    def single_window(self, start: datetime, end: datetime) -> Window:
        return window(SINGLE, start, end, before=BEFORE, after=AFTER)

    def booking(
        self, reservation: Reservation, windows: tuple[Window, ...] | None = None, **changes: Any
    ) -> Booking:
        message = self.message()
        assert message.start is not None
        assert message.end is not None
        base = Booking(
            booking_id="bk-1",
            meeting_key=message.meeting_key,
            alias=reservation.alias,
            numeric_alias=reservation.numeric_alias,
            token_id=reservation.token_id,
            windows=windows or (self.single_window(message.start, message.end),),
            state=BookingState.ACTIVE,
            sequence_seen=0,
            created=NOW - timedelta(hours=1),
            updated=NOW - timedelta(hours=1),
        )
        return dataclasses.replace(base, **changes)

    def used(self, reservation: Reservation) -> Reservation:
        """The reservation as the store holds it once this meeting booked it."""
        return dataclasses.replace(
            reservation, state=ReservationState.USED, meeting_key=self.message().meeting_key
        )
