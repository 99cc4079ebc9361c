"""The windows a meeting message asks for: one per occurrence, buffers added, past ones dropped.

Every window that still matters is kept: an occurrence whose meeting has not ended yet (a meeting
in progress still gets its window). A series is expanded up to a horizon (``series_horizon``) and
its booking keeps what it was planned from (`SeriesPlan`), occurrence edits and cancellations
included; `extended_windows` adds the occurrences that came within the horizon as time passed.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmrsched.domain.bookings import SINGLE, Booking, SeriesPlan, Window, window
from vmrsched.domain.meetings import MeetingMessage
from vmrsched.domain.recurrence import Recurrence, ends_after, expand, occurrence_key, zone
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
    unchanged) and ``past`` says whether that one occurrence is over. ``series`` is the booking's
    plan afterwards (None for a single meeting, or a booking without one).
    """

    scope: Scope
    windows: tuple[Window, ...]
    past: bool
    series: SeriesPlan | None = None


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
        active = booking if booking is not None and booking.is_active else None
        others = () if active is None else active.windows
        kept = tuple(item for item in others if item.occurrence_key != key)
        plan = None
        if active is not None and active.series is not None:
            plan = active.series.with_moved(message.occurrence_original_start, start, end)
        if to_utc(end) <= now:
            return PlannedWindows(scope, kept, past=True, series=plan)
        moved = window(key, start, end, before=buffers.before, after=buffers.after)
        return PlannedWindows(scope, _sorted((*kept, moved)), past=False, series=plan)
    assert message.recurrence is not None
    zone(message.time_zone)  # an unknown zone is an error, not an empty series
    plan = SeriesPlan(
        recurrence=message.recurrence,
        first_start=to_utc(start),
        first_end=to_utc(end),
        time_zone=message.time_zone,
        planned_until=now + horizon,
    )
    known = booking.series if booking is not None and booking.is_active else None
    if known is not None and _same_pattern(known, plan):
        plan = dataclasses.replace(plan, recurrence=_with_exceptions_of(known, plan.recurrence))
    recurrence = plan.recurrence
    if not ends_after(recurrence, start, end, message.time_zone, now):
        return PlannedWindows(scope, (), past=True, series=plan)
    occurrences = expand(recurrence, start, end, message.time_zone, until=plan.planned_until)
    windows = tuple(
        window(item.key, item.start, item.end, before=buffers.before, after=buffers.after)
        for item in occurrences
        if item.end > now
    )
    return PlannedWindows(scope, windows, past=False, series=plan)


def _same_pattern(known: SeriesPlan, new: SeriesPlan) -> bool:
    return (
        known.recurrence.pattern == new.recurrence.pattern
        and known.recurrence.range == new.recurrence.range
        and to_utc(known.first_start) == new.first_start
        and to_utc(known.first_end) == new.first_end
        and known.time_zone == new.time_zone
    )


def _with_exceptions_of(known: SeriesPlan, recurrence: Recurrence) -> Recurrence:
    """``recurrence`` with the edits and cancellations the booking knows and it does not list.

    A series update that keeps the pattern keeps its exceptions ([MS-OXOCAL] 3.1.4.7.3.5: only
    a changed pattern removes them), but Exchange's request for the series lists only its
    deleted occurrences; the exceptions' own updates follow it. Keeping what the booking knows
    spares the organizer a window moved back and forth, and a reply for each move.
    """
    listed = {to_utc(item.original_start) for item in recurrence.modified}
    deleted = {to_utc(value) for value in recurrence.deleted}
    kept = tuple(
        item
        for item in known.recurrence.modified
        if to_utc(item.original_start) not in listed | deleted
    )
    more = {to_utc(value) for value in known.recurrence.deleted} - listed
    return dataclasses.replace(
        recurrence,
        modified=tuple(
            sorted((*recurrence.modified, *kept), key=lambda item: to_utc(item.original_start))
        ),
        deleted=tuple(sorted(deleted | more)),
    )


def extended_windows(
    booking: Booking, now: datetime, *, buffers: Buffers, horizon: timedelta
) -> tuple[tuple[Window, ...], SeriesPlan] | None:
    """A series booking's windows with the occurrences that came within ``horizon`` of ``now``.

    The windows it holds stay as they are (edits and cancellations read since were applied to
    them); occurrences starting from its ``planned_until`` up to ``now + horizon`` are added,
    their edits and cancellations applied from the plan. None when there is nothing to add: not
    an active series booking, the horizon has not moved, or the series has no later occurrence.
    """
    plan = booking.series
    until = to_utc(now) + horizon
    if not booking.is_active or plan is None or until <= to_utc(plan.planned_until):
        return None
    if not plan.continues:
        return None
    have = {item.occurrence_key for item in booking.windows}
    occurrences = expand(
        plan.recurrence, plan.first_start, plan.first_end, plan.time_zone, until=until
    )
    added = tuple(
        window(item.key, item.start, item.end, before=buffers.before, after=buffers.after)
        for item in occurrences
        if item.key not in have and item.start >= plan.planned_until and item.end > now
    )
    extended = dataclasses.replace(plan, planned_until=until)
    return _sorted((*booking.windows, *added)), extended


def _sorted(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    return tuple(sorted(windows, key=lambda item: (item.start, item.occurrence_key)))
