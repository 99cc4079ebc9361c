"""EWS recurrence patterns and ranges, and their expansion into occurrences.

The pattern and range classes mirror the EWS schema (``RecurrenceType`` = one of
``*RecurrencePattern`` + one of ``*RecurrenceRange``) with the same value words (``Monday``,
``Weekday``, ``First`` … ``Last``, ``January`` …). Expansion happens in the series' own time zone:
every occurrence starts at the first occurrence's local wall-clock time, so a 09:00 meeting stays at
09:00 across daylight-saving changes, as Exchange does.

Rules as Outlook and Exchange apply them (the stored pattern: [MS-OXOCAL] 2.2.1.44): a day of month
past the month's end falls on the month's last day (31 → 30 April, 29 February → 28 in common
years); weeks start on ``first_day_of_week`` and the interval counts weeks from the week holding
the start date; month intervals count from the start date's month; the range's start date is the
earliest possible occurrence and an end date is inclusive.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal, get_args

from exchangesim.store.errors import InvalidRecurrence

if TYPE_CHECKING:
    from collections.abc import Iterator

DayName = Literal["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
DayOfWeek = Literal[
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Day",
    "Weekday",
    "WeekendDay",
]
WeekIndex = Literal["First", "Second", "Third", "Fourth", "Last"]
MonthName = Literal[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

DEFAULT_LIMIT = 1000
"""Most occurrences one expansion returns (Exchange's CalendarView caps at 1000 items too)."""
MAX_SCAN = 100_000
"""Most pattern dates one expansion walks through before giving up (about 270 years daily)."""

_WEEKDAYS: tuple[DayName, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_MONTHS: tuple[MonthName, ...] = get_args(MonthName)
_INDEXES: tuple[WeekIndex, ...] = get_args(WeekIndex)


@dataclass(frozen=True)
class DailyPattern:
    """Every ``interval`` days."""

    interval: int = 1


@dataclass(frozen=True)
class WeeklyPattern:
    """On ``days_of_week`` of every ``interval``-th week; weeks start on ``first_day_of_week``."""

    days_of_week: tuple[DayOfWeek, ...]
    interval: int = 1
    first_day_of_week: DayName = "Sunday"


@dataclass(frozen=True)
class AbsoluteMonthlyPattern:
    """On day ``day_of_month`` of every ``interval``-th month."""

    day_of_month: int
    interval: int = 1


@dataclass(frozen=True)
class RelativeMonthlyPattern:
    """On the ``day_of_week_index`` ``day_of_week`` (e.g. Last Weekday) of every n-th month."""

    day_of_week: DayOfWeek
    day_of_week_index: WeekIndex
    interval: int = 1


@dataclass(frozen=True)
class AbsoluteYearlyPattern:
    """On ``day_of_month`` of ``month`` every year."""

    day_of_month: int
    month: MonthName


@dataclass(frozen=True)
class RelativeYearlyPattern:
    """On the ``day_of_week_index`` ``day_of_week`` of ``month`` every year."""

    day_of_week: DayOfWeek
    day_of_week_index: WeekIndex
    month: MonthName


Pattern = (
    DailyPattern
    | WeeklyPattern
    | AbsoluteMonthlyPattern
    | RelativeMonthlyPattern
    | AbsoluteYearlyPattern
    | RelativeYearlyPattern
)


@dataclass(frozen=True)
class NoEndRange:
    """From ``start_date`` on, forever."""

    start_date: date


@dataclass(frozen=True)
class EndDateRange:
    """From ``start_date`` up to and including ``end_date``."""

    start_date: date
    end_date: date


@dataclass(frozen=True)
class NumberedRange:
    """The first ``number_of_occurrences`` occurrences from ``start_date``."""

    start_date: date
    number_of_occurrences: int


Range = NoEndRange | EndDateRange | NumberedRange


@dataclass(frozen=True)
class Recurrence:
    """A recurrence: a pattern and a range (EWS ``RecurrenceType``)."""

    pattern: Pattern
    range: Range


@dataclass(frozen=True)
class Occurrence:
    """One instance of a series before exceptions: 1-based index and UTC start/end."""

    index: int
    start: datetime
    end: datetime


def validate(recurrence: Recurrence) -> None:
    """Raise `InvalidRecurrence` for what Exchange refuses (bad interval, day, count, dates)."""
    pattern, rng = recurrence.pattern, recurrence.range
    interval = getattr(pattern, "interval", 1)
    if not 1 <= interval <= 999:
        raise InvalidRecurrence(f"interval {interval} is not in 1..999")
    if isinstance(pattern, WeeklyPattern) and not pattern.days_of_week:
        raise InvalidRecurrence("a weekly pattern needs at least one day")
    if isinstance(pattern, AbsoluteMonthlyPattern | AbsoluteYearlyPattern) and not (
        1 <= pattern.day_of_month <= 31
    ):
        raise InvalidRecurrence(f"day of month {pattern.day_of_month} is not in 1..31")
    if isinstance(rng, NumberedRange) and rng.number_of_occurrences < 1:
        raise InvalidRecurrence("a numbered range needs at least one occurrence")
    if isinstance(rng, EndDateRange) and rng.end_date < rng.start_date:
        raise InvalidRecurrence("the end date is before the start date")
    if next(iter(dates(recurrence)), None) is None:
        raise InvalidRecurrence("the recurrence has no occurrence")


def _days(day: DayOfWeek) -> frozenset[int]:
    if day == "Day":
        return frozenset(range(7))
    if day == "Weekday":
        return frozenset(range(5))
    if day == "WeekendDay":
        return frozenset((5, 6))
    return frozenset((_WEEKDAYS.index(day),))


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _nth(year: int, month: int, day: DayOfWeek, index: WeekIndex) -> date:
    wanted = _days(day)
    last = calendar.monthrange(year, month)[1]
    matches = [date(year, month, d) for d in range(1, last + 1)]
    matches = [d for d in matches if d.weekday() in wanted]
    return matches[-1] if index == "Last" else matches[_INDEXES.index(index)]


def _months(start: date, interval: int) -> Iterator[tuple[int, int]]:
    month0 = start.year * 12 + start.month - 1
    while True:
        year, month = divmod(month0, 12)
        yield year, month + 1
        month0 += interval


def _pattern_dates(pattern: Pattern, start: date) -> Iterator[date]:
    """Every date the pattern selects on or after ``start``, in order, without end."""
    if isinstance(pattern, DailyPattern):
        day = start
        while True:
            yield day
            day += timedelta(days=pattern.interval)
    elif isinstance(pattern, WeeklyPattern):
        first = _WEEKDAYS.index(pattern.first_day_of_week)
        offsets = sorted({(d - first) % 7 for day in pattern.days_of_week for d in _days(day)})
        week = start - timedelta(days=(start.weekday() - first) % 7)
        while True:
            for offset in offsets:
                day = week + timedelta(days=offset)
                if day >= start:
                    yield day
            week += timedelta(weeks=pattern.interval)
    elif isinstance(pattern, AbsoluteMonthlyPattern | RelativeMonthlyPattern):
        for year, month in _months(start, pattern.interval):
            if isinstance(pattern, AbsoluteMonthlyPattern):
                day = _clamped(year, month, pattern.day_of_month)
            else:
                day = _nth(year, month, pattern.day_of_week, pattern.day_of_week_index)
            if day >= start:
                yield day
    else:
        month = _MONTHS.index(pattern.month) + 1
        for year in range(start.year, 10000):
            if isinstance(pattern, AbsoluteYearlyPattern):
                day = _clamped(year, month, pattern.day_of_month)
            else:
                day = _nth(year, month, pattern.day_of_week, pattern.day_of_week_index)
            if day >= start:
                yield day


def dates(recurrence: Recurrence) -> Iterator[date]:
    """The local dates of the series, in order, within its range (endless for `NoEndRange`)."""
    rng = recurrence.range
    generated = _pattern_dates(recurrence.pattern, rng.start_date)
    for count in range(1, MAX_SCAN + 1):
        try:
            day = next(generated)
        except (OverflowError, ValueError):  # walked past year 9999
            return
        if isinstance(rng, EndDateRange) and day > rng.end_date:
            return
        if isinstance(rng, NumberedRange) and count > rng.number_of_occurrences:
            return
        yield day


def _overlaps(start: datetime, end: datetime, lo: datetime | None, hi: datetime | None) -> bool:
    if hi is not None and start >= hi:
        return False
    # A zero-length item at the window's start still belongs to the window.
    return lo is None or end > lo or start >= lo


def occurrences(
    recurrence: Recurrence,
    first_start: datetime,
    duration: timedelta,
    zone: tzinfo,
) -> Iterator[Occurrence]:
    """Every occurrence in order (endless for `NoEndRange`), at the local time of ``first_start``.

    ``first_start`` is any aware datetime of the series' first occurrence; only its wall-clock
    time in ``zone`` matters. Starts and ends are UTC.
    """
    local_time: time = first_start.astimezone(zone).time().replace(tzinfo=None, fold=0)
    for index, day in enumerate(dates(recurrence), start=1):
        start = datetime.combine(day, local_time, tzinfo=zone).astimezone(UTC)
        yield Occurrence(index=index, start=start, end=start + duration)


def expand(
    recurrence: Recurrence,
    first_start: datetime,
    duration: timedelta,
    zone: tzinfo,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Occurrence]:
    """The occurrences overlapping ``[window_start, window_end)``, at most ``limit`` of them."""
    found: list[Occurrence] = []
    for occurrence in occurrences(recurrence, first_start, duration, zone):
        if window_end is not None and occurrence.start >= window_end:
            break
        if _overlaps(occurrence.start, occurrence.end, window_start, window_end):
            found.append(occurrence)
            if len(found) >= limit:
                break
    return found


def occurrence_at(
    recurrence: Recurrence, first_start: datetime, duration: timedelta, zone: tzinfo, index: int
) -> Occurrence | None:
    """Occurrence number ``index`` (1-based), or None when the range has fewer."""
    if index < 1:
        return None
    for occurrence in occurrences(recurrence, first_start, duration, zone):
        if occurrence.index == index:
            return occurrence
    return None


def index_of(
    recurrence: Recurrence, first_start: datetime, zone: tzinfo, original_start: datetime
) -> int | None:
    """The index of the occurrence that (before any change) starts at ``original_start``."""
    for occurrence in occurrences(recurrence, first_start, timedelta(0), zone):
        if occurrence.start == original_start:
            return occurrence.index
        if occurrence.start > original_start:
            return None
    return None


def last_occurrence(
    recurrence: Recurrence, first_start: datetime, duration: timedelta, zone: tzinfo
) -> Occurrence | None:
    """The series' last occurrence; None for an endless series."""
    if isinstance(recurrence.range, NoEndRange):
        return None
    last = None
    for last in occurrences(recurrence, first_start, duration, zone):  # noqa: B007
        pass
    return last
