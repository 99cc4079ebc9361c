"""Bookings: vmrsched's record tying a meeting (and its occurrences) to a VMR and its windows."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmrsched.domain.times import require_aware, to_utc

# The occurrence key of a single (non-recurring) meeting's one window.
SINGLE = "single"


@dataclass(frozen=True)
class Window:
    """When one occurrence's VMR may be joined: [start - buffer before, end + buffer after)."""

    occurrence_key: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "window start")
        require_aware(self.end, "window end")
        if not self.start < self.end:
            raise ValueError(f"an empty window {self.start} .. {self.end}")

    def contains(self, instant: datetime) -> bool:
        """True when ``instant`` lies inside the window (start included, end excluded)."""
        return self.start <= instant < self.end


def window(
    occurrence_key: str,
    start: datetime,
    end: datetime,
    *,
    before: timedelta,
    after: timedelta,
) -> Window:
    """The window of an occurrence that runs from ``start`` to ``end``, buffers added, in UTC."""
    # A zero-length meeting with zero buffers still needs a non-empty window.
    window_end = to_utc(end) + after
    window_start = to_utc(start) - before
    if window_end <= window_start:
        window_end = window_start + timedelta(minutes=1)
    return Window(occurrence_key, window_start, window_end)


def same_windows(left: Iterable[Window], right: Iterable[Window]) -> bool:
    """True when both hold the same windows, whatever their order or UTC offsets."""

    def normal(windows: Iterable[Window]) -> set[tuple[str, datetime, datetime]]:
        return {(item.occurrence_key, to_utc(item.start), to_utc(item.end)) for item in windows}

    return normal(left) == normal(right)


class BookingState(StrEnum):
    """A booking holds its windows while active; a released booking holds none."""

    ACTIVE = "active"
    RELEASED = "released"


@dataclass(frozen=True, kw_only=True)
class Booking:
    """A meeting's VMR: its alias (from the reservation ``token_id``) and one window per occurrence.

    ``sequence_seen`` is the highest meeting sequence number vmrsched has acted on; an older one is
    stale. There is at most one booking per meeting (``meeting_key``); a released booking may be
    booked again (the store reactivates it).
    """

    booking_id: str
    meeting_key: str
    alias: str
    numeric_alias: str
    token_id: str
    windows: tuple[Window, ...]
    state: BookingState
    sequence_seen: int
    created: datetime
    updated: datetime

    def __post_init__(self) -> None:
        require_aware(self.created, "created")
        require_aware(self.updated, "updated")
        keys = [item.occurrence_key for item in self.windows]
        if len(keys) != len(set(keys)):
            raise ValueError("a booking holds one window per occurrence")

    @property
    def is_active(self) -> bool:
        """True while the booking holds its VMR."""
        return self.state is BookingState.ACTIVE

    def window_at(self, instant: datetime) -> Window | None:
        """The window open at ``instant``, if the booking is active and one is."""
        if not self.is_active:
            return None
        return next((item for item in self.windows if item.contains(instant)), None)
