"""The sample people of the store tests and a clock the tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from exchangesim.store import Address

ALICE = Address("alice@contoso.com", "Alice Organizer")
BOB = Address("bob@contoso.com", "Bob Attendee")
CAROL = Address("carol@contoso.com", "Carol Colleague")
VMR = Address("vmr@contoso.com", "Video Rooms")
ROOM = Address("room1@contoso.com", "Room One")


@dataclass
class FakeClock:
    """A clock tests move by hand; no real sleeping anywhere."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)
