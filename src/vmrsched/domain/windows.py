"""The windows a meeting message asks for: one per occurrence, buffers added, past ones dropped.

Every window that still matters is kept: an occurrence whose meeting has not ended yet (a meeting
in progress still gets its window). A series is expanded up to a horizon (``series_horizon``); a
no-end series is extended as time passes by planning again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmrsched.domain.bookings import SINGLE, Booking, Window, window
from vmrsched.domain.meetings import MeetingMessage
from vmrsched.domain.recurrence import ends_after, expand, occurrence_key, zone
from vmrsched.domain.times import to_utc


class Scope(StrEnum):
    """What a message describes."""

    SINGLE = "single"  # a single meeting
    SERIES = "series"  # a whole series
    OCCURRENCE = "occurrence"  # one occurrence of a series


@dataclass(frozen=True)
class Buffers:
    """How long a VMR opens before and stays open after each occurrence."""

    before: timedelta
    after: timedelta


@dataclass(frozen=True)
class PlannedWindows:
    """The windows a message asks for; ``past`` when the meeting (every occurrence) is over.

    For an occurrence message ``windows`` is the booking's whole new set (the other occurrences
    unchanged) and ``past`` says whether that one occurrence is over.
    """

    scope: Scope
    windows: tuple[Window, ...]
    past: bool


def _scope(message: MeetingMessage) -> Scope:
    if message.is_series:
        return Scope.SERIES
    if message.is_occurrence:
        return Scope.OCCURRENCE
    return Scope.SINGLE


def planned_windows(
    message: MeetingMessage,
    booking: Booking | None,
    now: datetime,
    *,
    buffers: Buffers,
    horizon: timedelta,
) -> PlannedWindows:
    """The windows ``message`` asks for at ``now``; ValueError when its times cannot be read."""
    start, end = message.times()
    now = to_utc(now)
    scope = _scope(message)
    if scope is Scope.SINGLE:
        if to_utc(end) <= now:
            return PlannedWindows(scope, (), past=True)
        only = window(SINGLE, start, end, before=buffers.before, after=buffers.after)
        return PlannedWindows(scope, (only,), past=False)
    if scope is Scope.OCCURRENCE:
        assert message.occurrence_original_start is not None
        key = occurrence_key(message.occurrence_original_start)
        others = () if booking is None or not booking.is_active else booking.windows
        kept = tuple(item for item in others if item.occurrence_key != key)
        if to_utc(end) <= now:
            return PlannedWindows(scope, kept, past=True)
        moved = window(key, start, end, before=buffers.before, after=buffers.after)
        return PlannedWindows(scope, _sorted((*kept, moved)), past=False)
    recurrence = message.recurrence
    assert recurrence is not None
    zone(message.time_zone)  # an unknown zone is an error, not an empty series
    if not ends_after(recurrence, start, end, message.time_zone, now):
        return PlannedWindows(scope, (), past=True)
    occurrences = expand(recurrence, start, end, message.time_zone, until=now + horizon)
    windows = tuple(
        window(item.key, item.start, item.end, before=buffers.before, after=buffers.after)
        for item in occurrences
        if item.end > now
    )
    return PlannedWindows(scope, windows, past=False)


def _sorted(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    return tuple(sorted(windows, key=lambda item: (item.start, item.occurrence_key)))
