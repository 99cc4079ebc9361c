"""Series expansion: our pattern model against dateutil.rrule on the equivalent RRULE."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from vmrsched.domain.recurrence import (
    EVERY_DAY,
    WEEKDAYS,
    WEEKEND_DAYS,
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDateRange,
    ModifiedOccurrence,
    NoEndRange,
    NumberedRange,
    Pattern,
    Range,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    Weekday,
    WeekIndex,
    WeeklyPattern,
    ends_after,
    expand,
    iter_occurrences,
    occurrence_key,
)

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "America/Santiago",
]
RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
SAMPLE = 40  # occurrences compared per example

day_sets = st.one_of(
    st.sets(st.sampled_from(list(Weekday)), min_size=1).map(frozenset),
    st.sampled_from([WEEKDAYS, WEEKEND_DAYS, EVERY_DAY]),
)
patterns: st.SearchStrategy[Pattern] = st.one_of(
    st.builds(DailyPattern, interval=st.integers(1, 10)),
    st.builds(
        WeeklyPattern,
        days=day_sets,
        interval=st.integers(1, 4),
        first_day_of_week=st.sampled_from(list(Weekday)),
    ),
    st.builds(AbsoluteMonthlyPattern, day_of_month=st.integers(1, 31), interval=st.integers(1, 6)),
    st.builds(
        RelativeMonthlyPattern,
        days=day_sets,
        index=st.sampled_from(list(WeekIndex)),
        interval=st.integers(1, 6),
    ),
    st.builds(
        AbsoluteYearlyPattern,
        month=st.integers(1, 12),
        day_of_month=st.integers(1, 31),
        interval=st.integers(1, 3),
    ),
    st.builds(
        RelativeYearlyPattern,
        month=st.integers(1, 12),
        days=day_sets,
        index=st.sampled_from(list(WeekIndex)),
        interval=st.integers(1, 3),
    ),
)
starts = st.dates(date(2020, 1, 1), date(2030, 12, 31))
ranges: st.SearchStrategy[Range] = st.one_of(
    st.builds(NoEndRange, start=starts),
    st.builds(NumberedRange, start=starts, count=st.integers(1, SAMPLE)),
    starts.flatmap(
        lambda start: st.builds(
            EndDateRange,
            start=st.just(start),
            end=st.integers(0, 900).map(lambda days: start + timedelta(days=days)),
        )
    ),
)
# Early-morning hours hit the daylight-saving transitions of most zones.
wall_clocks = st.builds(
    time, hour=st.sampled_from([0, 1, 2, 3, 9, 12, 23]), minute=st.sampled_from([0, 30])
)


def _days(days: frozenset[Weekday]) -> str:
    return ",".join(RRULE_DAYS[day] for day in sorted(days))


def _month_day(day_of_month: int) -> str:
    # EWS: a day past the month's end falls on the last day. RRULE says that with BYSETPOS=-1.
    if day_of_month <= 28:
        return f"BYMONTHDAY={day_of_month}"
    return f"BYMONTHDAY={','.join(str(d) for d in range(28, day_of_month + 1))};BYSETPOS=-1"


def to_rrule(recurrence: Recurrence, zone: ZoneInfo, wall_clock: time) -> str:
    """The RFC 5545 rule for a recurrence, written independently of the code under test."""
    pattern = recurrence.pattern
    match pattern:
        case DailyPattern():
            rule = f"FREQ=DAILY;INTERVAL={pattern.interval}"
        case WeeklyPattern():
            wkst = RRULE_DAYS[pattern.first_day_of_week]
            rule = (
                f"FREQ=WEEKLY;INTERVAL={pattern.interval};BYDAY={_days(pattern.days)};WKST={wkst}"
            )
        case AbsoluteMonthlyPattern():
            rule = f"FREQ=MONTHLY;INTERVAL={pattern.interval};{_month_day(pattern.day_of_month)}"
        case RelativeMonthlyPattern():
            rule = (
                f"FREQ=MONTHLY;INTERVAL={pattern.interval};BYDAY={_days(pattern.days)};"
                f"BYSETPOS={int(pattern.index)}"
            )
        case AbsoluteYearlyPattern():
            rule = (
                f"FREQ=YEARLY;INTERVAL={pattern.interval};BYMONTH={pattern.month};"
                f"{_month_day(pattern.day_of_month)}"
            )
        case RelativeYearlyPattern():
            rule = (
                f"FREQ=YEARLY;INTERVAL={pattern.interval};BYMONTH={pattern.month};"
                f"BYDAY={_days(pattern.days)};BYSETPOS={int(pattern.index)}"
            )
    match recurrence.range:
        case NumberedRange(count=count):
            rule += f";COUNT={count}"
        case EndDateRange(end=end):
            last = datetime.combine(end, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
            rule += f";UNTIL={last:%Y%m%dT%H%M%SZ}"
        case NoEndRange():
            pass
    return rule


def oracle(recurrence: Recurrence, zone: ZoneInfo, wall_clock: time) -> list[datetime]:
    dtstart = datetime.combine(recurrence.range.start, wall_clock, tzinfo=zone)
    rule = rrulestr(to_rrule(recurrence, zone, wall_clock), dtstart=dtstart)
    excluded = {value.astimezone(UTC) for value in recurrence.deleted}
    found = (value.astimezone(UTC) for value in rule)
    return list(islice((value for value in found if value not in excluded), SAMPLE))


def ours(recurrence: Recurrence, zone: ZoneInfo, wall_clock: time) -> list[datetime]:
    first = datetime.combine(recurrence.range.start, wall_clock, tzinfo=zone)
    found = iter_occurrences(recurrence, first, first + timedelta(hours=1), zone.key)
    return [item.original_start for item in islice(found, SAMPLE)]


@settings(max_examples=400, deadline=None)
@given(
    pattern=patterns,
    recurrence_range=ranges,
    zone_name=st.sampled_from(ZONES),
    wall_clock=wall_clocks,
)
def test_expansion_matches_dateutil_rrule(
    pattern: Pattern, recurrence_range: Range, zone_name: str, wall_clock: time
) -> None:
    """Every pattern and range expands to the same instants as dateutil on the equivalent RRULE."""
    zone = ZoneInfo(zone_name)
    recurrence = Recurrence(pattern, recurrence_range)
    assert ours(recurrence, zone, wall_clock) == oracle(recurrence, zone, wall_clock)


@settings(max_examples=150, deadline=None)
@given(
    pattern=patterns,
    start=starts,
    zone_name=st.sampled_from(ZONES),
    wall_clock=wall_clocks,
    deleted_positions=st.sets(st.integers(0, SAMPLE - 1), max_size=5),
)
def test_deleted_occurrences_match_dateutil_exdate(
    pattern: Pattern, start: date, zone_name: str, wall_clock: time, deleted_positions: set[int]
) -> None:
    """Deleted occurrences disappear exactly as EXDATE removes them, and still count in a range."""
    zone = ZoneInfo(zone_name)
    plain = Recurrence(pattern, NumberedRange(start, SAMPLE))
    originals = ours(plain, zone, wall_clock)
    deleted = tuple(originals[i] for i in sorted(deleted_positions) if i < len(originals))
    recurrence = Recurrence(pattern, NumberedRange(start, SAMPLE), deleted=deleted)
    expected = oracle(recurrence, zone, wall_clock)
    assert ours(recurrence, zone, wall_clock) == expected
    assert len(expected) == len(originals) - len(deleted)


BERLIN = ZoneInfo("Europe/Berlin")


def test_weekly_meeting_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    """09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer."""
    recurrence = Recurrence(
        WeeklyPattern(frozenset({Weekday.MONDAY})), NumberedRange(date(2026, 3, 23), 2)
    )
    first = datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    found = list(iter_occurrences(recurrence, first, first + timedelta(hours=1), "Europe/Berlin"))
    assert [item.start for item in found] == [
        datetime(2026, 3, 23, 8, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
    ]
    assert all(item.end - item.start == timedelta(hours=1) for item in found)


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    """An absolute day past the month's end is the month's last day, as EWS documents."""
    recurrence = Recurrence(AbsoluteMonthlyPattern(31), NumberedRange(date(2027, 1, 31), 3))
    first = datetime(2027, 1, 31, 10, tzinfo=UTC)
    found = iter_occurrences(recurrence, first, first + timedelta(hours=1), "UTC")
    assert [item.start.date() for item in found] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]


def test_a_modified_occurrence_keeps_its_key_and_moves_across_daylight_saving() -> None:
    """An exception moved into summer time keeps its original key and gets its new times."""
    recurrence_range = NumberedRange(date(2026, 3, 20), 3)
    first = datetime(2026, 3, 20, 9, tzinfo=BERLIN)
    plain = Recurrence(DailyPattern(7), recurrence_range)
    second = list(iter_occurrences(plain, first, first + timedelta(hours=1), "Europe/Berlin"))[1]
    moved = ModifiedOccurrence(
        original_start=second.original_start,
        start=datetime(2026, 3, 30, 14, tzinfo=BERLIN),
        end=datetime(2026, 3, 30, 15, tzinfo=BERLIN),
    )
    recurrence = Recurrence(DailyPattern(7), recurrence_range, modified=(moved,))
    found = list(iter_occurrences(recurrence, first, first + timedelta(hours=1), "Europe/Berlin"))
    assert found[1].key == occurrence_key(second.original_start) == "20260327T080000Z"
    assert found[1].start == datetime(2026, 3, 30, 12, tzinfo=UTC)
    assert found[1].end == datetime(2026, 3, 30, 13, tzinfo=UTC)


def test_expand_stops_at_the_horizon_but_keeps_an_exception_moved_before_it() -> None:
    """Expansion yields occurrences starting before `until`, including one moved in from beyond."""
    first = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plain = Recurrence(DailyPattern(), NoEndRange(date(2026, 1, 5)))
    late = datetime(2026, 1, 20, 9, tzinfo=UTC)
    moved = ModifiedOccurrence(
        late, datetime(2026, 1, 6, 15, tzinfo=UTC), datetime(2026, 1, 6, 16, tzinfo=UTC)
    )
    recurrence = Recurrence(plain.pattern, plain.range, modified=(moved,))
    found = expand(
        recurrence, first, first + timedelta(hours=1), "UTC", until=datetime(2026, 1, 8, tzinfo=UTC)
    )
    assert [item.key for item in found] == [
        "20260105T090000Z",
        "20260106T090000Z",
        "20260120T090000Z",
        "20260107T090000Z",
    ]


def test_ends_after_tells_a_finished_series_from_a_running_one() -> None:
    """A numbered series that is over does not end after now; a no-end series always does."""
    first = datetime(2020, 1, 6, 9, tzinfo=UTC)
    done = Recurrence(
        WeeklyPattern(frozenset({Weekday.MONDAY})), NumberedRange(date(2020, 1, 6), 5)
    )
    endless = Recurrence(done.pattern, NoEndRange(date(2020, 1, 6)))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert not ends_after(done, first, first + timedelta(hours=1), "UTC", now)
    assert ends_after(endless, first, first + timedelta(hours=1), "UTC", now)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DailyPattern(0),
        lambda: WeeklyPattern(frozenset()),
        lambda: AbsoluteMonthlyPattern(32),
        lambda: AbsoluteYearlyPattern(13, 1),
        lambda: NumberedRange(date(2026, 1, 1), 0),
    ],
)
def test_impossible_patterns_are_refused(make: object) -> None:
    """A pattern that could never occur is a ValueError when built."""
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]
