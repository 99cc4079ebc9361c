"""Bookings: vmrsched's record tying a meeting (and its occurrences) to a VMR and its windows."""

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmrsched.domain.recurrence import (
    ModifiedOccurrence,
    NoEndRange,
    Recurrence,
    iter_occurrences,
)
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


@dataclass(frozen=True, kw_only=True)
class SeriesPlan:
    """What a series' windows were planned from, kept with its booking.

    The series (pattern, range, first occurrence, organizer's zone) as its newest request
    described it, with every occurrence edit and cancellation read since, and ``planned_until``:
    occurrences starting before it have windows; later ones are added as time passes.
    """

    recurrence: Recurrence
    first_start: datetime
    first_end: datetime
    time_zone: str
    planned_until: datetime

    def __post_init__(self) -> None:
        require_aware(self.first_start, "first_start")
        require_aware(self.first_end, "first_end")
        require_aware(self.planned_until, "planned_until")

    def with_moved(self, original_start: datetime, start: datetime, end: datetime) -> "SeriesPlan":
        """The plan with the occurrence originally at ``original_start`` moved to start..end."""
        original = to_utc(original_start)
        kept = tuple(m for m in self.recurrence.modified if to_utc(m.original_start) != original)
        moved = ModifiedOccurrence(original, to_utc(start), to_utc(end))
        deleted = tuple(d for d in self.recurrence.deleted if to_utc(d) != original)
        modified = tuple(sorted((*kept, moved), key=lambda item: item.original_start))
        recurrence = dataclasses.replace(self.recurrence, modified=modified, deleted=deleted)
        return dataclasses.replace(self, recurrence=recurrence)

    def with_deleted(self, original_start: datetime) -> "SeriesPlan":
        """The plan with the occurrence originally at ``original_start`` cancelled."""
        original = to_utc(original_start)
        kept = tuple(m for m in self.recurrence.modified if to_utc(m.original_start) != original)
        deleted = tuple(sorted({*(to_utc(d) for d in self.recurrence.deleted), original}))
        recurrence = dataclasses.replace(self.recurrence, modified=kept, deleted=deleted)
        return dataclasses.replace(self, recurrence=recurrence)

    def is_deleted(self, original_start: datetime) -> bool:
        """True when the occurrence originally at ``original_start`` was cancelled."""
        return to_utc(original_start) in {to_utc(d) for d in self.recurrence.deleted}

    @property
    def continues(self) -> bool:
        """True when the series has occurrences starting at or after ``planned_until`` (those
        the booking does not hold yet)."""
        if isinstance(self.recurrence.range, NoEndRange):
            return True
        until = to_utc(self.planned_until)
        return any(
            item.start >= until
            for item in iter_occurrences(
                self.recurrence, self.first_start, self.first_end, self.time_zone
            )
        )


class BookingState(StrEnum):
    """A booking holds its windows while active; a released booking holds none."""

    ACTIVE = "active"
    RELEASED = "released"


@dataclass(frozen=True, kw_only=True)
class Booking:
    """A meeting's VMR: its alias (from the reservation ``token_id``) and one window per occurrence.

    ``sequence_seen`` is the highest meeting sequence number vmrsched has acted on; an older one is
    stale. There is at most one booking per meeting (``meeting_key``); a released booking may be
    booked again (the store reactivates it). ``series`` is what a series' windows were planned
    from (None for a single meeting, and for series booked before vmrsched kept it).
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
    series: SeriesPlan | None = None

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
