"""Recurring series: our pattern model and its expansion into occurrences.

The model covers every pattern Exchange (EWS) and Graph describe for meetings: daily, weekly,
absolute and relative monthly and yearly; numbered, end-date and no-end ranges; modified and
deleted occurrences. Relative patterns take a *set* of weekdays and an index, which is how EWS's
``Day``/``Weekday``/``WeekendDay`` and Graph's multi-day ``daysOfWeek`` read: "the first weekday of
the month" is the first day of the month whose weekday is in {Mon..Fri} (RRULE ``BYSETPOS``).

An absolute day of month larger than the month's length falls on the month's last day, as EWS
documents for ``DayOfMonth``:
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/dayofmonth

Occurrence times: every occurrence starts at the series' local wall-clock time in the organizer's
time zone (so 09:00 stays 09:00 across daylight-saving changes) and lasts the series' duration.
A wall-clock time that does not exist on a given day (spring forward) is read with ``fold=0``,
which is what ``dateutil.rrule`` does, so the two expansions agree (tested with Hypothesis).
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vmrsched.domain.times import instant_key, require_aware, to_utc

# No real series needs more: it stops a malformed pattern from spinning (about 270 years daily).
MAX_PERIODS = 100_000


class Weekday(IntEnum):
    """Days as ``date.weekday()`` numbers them."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


WEEKDAYS = frozenset(Weekday) - {Weekday.SATURDAY, Weekday.SUNDAY}  # EWS "Weekday"
WEEKEND_DAYS = frozenset({Weekday.SATURDAY, Weekday.SUNDAY})  # EWS "WeekendDay"
EVERY_DAY = frozenset(Weekday)  # EWS "Day"


class WeekIndex(IntEnum):
    """Which matching day of the month: EWS ``DayOfWeekIndex`` / Graph ``index``."""

    FIRST = 1
    SECOND = 2
    THIRD = 3
    FOURTH = 4
    LAST = -1


def _check_interval(interval: int) -> None:
    if not 1 <= interval <= 999:
        raise ValueError(f"interval must be 1..999, got {interval}")


def _check_days(days: frozenset[Weekday]) -> None:
    if not days:
        raise ValueError("a pattern needs at least one weekday")


def _check_day_of_month(day: int) -> None:
    if not 1 <= day <= 31:
        raise ValueError(f"day of month must be 1..31, got {day}")


def _check_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")


@dataclass(frozen=True)
class DailyPattern:
    """Every ``interval`` days."""

    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)


@dataclass(frozen=True)
class WeeklyPattern:
    """On ``days`` of every ``interval``-th week; weeks start on ``first_day_of_week``."""

    days: frozenset[Weekday]
    interval: int = 1
    first_day_of_week: Weekday = Weekday.MONDAY

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_days(self.days)


@dataclass(frozen=True)
class AbsoluteMonthlyPattern:
    """On ``day_of_month`` (or the month's last day) of every ``interval``-th month."""

    day_of_month: int
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_day_of_month(self.day_of_month)


@dataclass(frozen=True)
class RelativeMonthlyPattern:
    """On the ``index``-th day among ``days`` of every ``interval``-th month."""

    days: frozenset[Weekday]
    index: WeekIndex
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_days(self.days)


@dataclass(frozen=True)
class AbsoluteYearlyPattern:
    """On ``day_of_month`` (or the last day) of ``month`` every ``interval`` years."""

    month: int
    day_of_month: int
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_month(self.month)
        _check_day_of_month(self.day_of_month)


@dataclass(frozen=True)
class RelativeYearlyPattern:
    """On the ``index``-th day among ``days`` of ``month`` every ``interval`` years."""

    month: int
    days: frozenset[Weekday]
    index: WeekIndex
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_month(self.month)
        _check_days(self.days)


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
    """From ``start`` (a local date) on, for ever."""

    start: date


@dataclass(frozen=True)
class EndDateRange:
    """From ``start`` to ``end`` (local dates, both included)."""

    start: date
    end: date


@dataclass(frozen=True)
class NumberedRange:
    """``count`` occurrences from ``start`` (deleted occurrences still count, as in Exchange)."""

    start: date
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a numbered range needs at least one occurrence, got {self.count}")


Range = NoEndRange | EndDateRange | NumberedRange


@dataclass(frozen=True)
class ModifiedOccurrence:
    """An exception: the occurrence that would start at ``original_start`` moved or resized."""

    original_start: datetime
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for value, name in ((self.original_start, "original_start"), (self.start, "start")):
            require_aware(value, name)
        if require_aware(self.end, "end") < self.start:
            raise ValueError("an occurrence cannot end before it starts")


@dataclass(frozen=True)
class Recurrence:
    """A series: its pattern, its range, and its exceptions (keyed by original start)."""

    pattern: Pattern
    range: Range
    modified: tuple[ModifiedOccurrence, ...] = ()
    deleted: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        for value in self.deleted:
            require_aware(value, "deleted occurrence")


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: ``key`` names it for life (its original start, see `occurrence_key`)."""

    key: str
    original_start: datetime
    start: datetime
    end: datetime


def occurrence_key(original_start: datetime) -> str:
    """An occurrence's stable name: its original start in UTC, as an iCalendar RECURRENCE-ID."""
    return instant_key(original_start)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when the zone is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _nth_matching_day(year: int, month: int, days: frozenset[Weekday], index: WeekIndex) -> date:
    matching = [
        day
        for number in range(1, _days_in_month(year, month) + 1)
        if (day := date(year, month, number)).weekday() in days
    ]
    # Every month has at least four of each weekday, so FIRST..FOURTH and LAST always exist.
    return matching[-1] if index is WeekIndex.LAST else matching[index - 1]


def _clamped_day(year: int, month: int, day_of_month: int) -> date:
    return date(year, month, min(day_of_month, _days_in_month(year, month)))


def _pattern_dates(pattern: Pattern, start: date) -> Iterator[date]:
    """Every date the pattern yields on or after ``start``, in order (unbounded)."""
    for period in range(MAX_PERIODS):
        try:
            days = _period_dates(pattern, start, period)
        except (ValueError, OverflowError):
            return  # past year 9999: the calendar ends here
        for day in days:
            if day >= start:
                yield day


def _period_dates(pattern: Pattern, start: date, period: int) -> list[date]:
    match pattern:
        case DailyPattern(interval=interval):
            return [start + timedelta(days=period * interval)]
        case WeeklyPattern(days=days, interval=interval, first_day_of_week=first):
            week_start = start - timedelta(days=(start.weekday() - first) % 7)
            week_start += timedelta(weeks=period * interval)
            week = (week_start + timedelta(days=offset) for offset in range(7))
            return [day for day in week if day.weekday() in days]
        case AbsoluteMonthlyPattern(day_of_month=day_of_month, interval=interval):
            year, month = _add_months(start.year, start.month, period * interval)
            return [_clamped_day(year, month, day_of_month)]
        case RelativeMonthlyPattern(days=days, index=index, interval=interval):
            year, month = _add_months(start.year, start.month, period * interval)
            return [_nth_matching_day(year, month, days, index)]
        case AbsoluteYearlyPattern(month=month, day_of_month=day_of_month, interval=interval):
            return [_clamped_day(start.year + period * interval, month, day_of_month)]
        case RelativeYearlyPattern(month=month, days=days, index=index, interval=interval):
            return [_nth_matching_day(start.year + period * interval, month, days, index)]


def occurrence_dates(recurrence: Recurrence) -> Iterator[date]:
    """The local dates of the series' original occurrences, in order, honouring the range."""
    dates = _pattern_dates(recurrence.pattern, recurrence.range.start)
    match recurrence.range:
        case NoEndRange():
            yield from dates
        case EndDateRange(end=end):
            for day in dates:
                if day > end:
                    return
                yield day
        case NumberedRange(count=count):
            for number, day in enumerate(dates, start=1):
                yield day
                if number >= count:
                    return


def _original_starts(
    recurrence: Recurrence, first_start: datetime, time_zone: str
) -> Iterator[datetime]:
    tz = zone(time_zone)
    wall_clock = require_aware(first_start, "first_start").astimezone(tz).time().replace(fold=0)
    for day in occurrence_dates(recurrence):
        yield datetime.combine(day, wall_clock, tzinfo=tz).astimezone(UTC)


def iter_occurrences(
    recurrence: Recurrence, first_start: datetime, first_end: datetime, time_zone: str
) -> Iterator[Occurrence]:
    """Every occurrence in order of original start, exceptions applied (may be unbounded).

    A modified occurrence whose original start the pattern never yields is ignored: Exchange only
    lists real instances, so such an entry is stale data.
    """
    duration = require_aware(first_end, "first_end") - first_start
    deleted = {to_utc(value) for value in recurrence.deleted}
    modified = {to_utc(item.original_start): item for item in recurrence.modified}
    for original in _original_starts(recurrence, first_start, time_zone):
        if original in deleted:
            continue
        key = occurrence_key(original)
        change = modified.get(original)
        if change is None:
            yield Occurrence(key, original, original, original + duration)
        else:
            yield Occurrence(key, original, to_utc(change.start), to_utc(change.end))


def expand(
    recurrence: Recurrence,
    first_start: datetime,
    first_end: datetime,
    time_zone: str,
    *,
    until: datetime,
) -> tuple[Occurrence, ...]:
    """The occurrences that start before ``until``, sorted by start.

    A modified occurrence whose original start lies beyond ``until`` but that was moved before it
    is included, so originals are scanned up to the latest such original start.
    """
    limit = to_utc(until)
    scan_to = max(
        [limit]
        + [
            to_utc(item.original_start)
            for item in recurrence.modified
            if to_utc(item.start) < limit
        ]
    )
    found: list[Occurrence] = []
    for item in iter_occurrences(recurrence, first_start, first_end, time_zone):
        if item.original_start > scan_to:
            break
        if item.start < limit:
            found.append(item)
    return tuple(sorted(found, key=lambda item: (item.start, item.key)))


def ends_after(
    recurrence: Recurrence,
    first_start: datetime,
    first_end: datetime,
    time_zone: str,
    instant: datetime,
) -> bool:
    """True when some occurrence of the series ends after ``instant`` (a no-end series always)."""
    if isinstance(recurrence.range, NoEndRange):
        return True
    limit = to_utc(instant)
    return any(
        item.end > limit for item in iter_occurrences(recurrence, first_start, first_end, time_zone)
    )
