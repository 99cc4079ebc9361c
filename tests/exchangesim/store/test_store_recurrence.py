"""Recurrence expansion against dateutil's RRULE engine, and Windows time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from exchangesim.store import InvalidRecurrence, UnknownTimeZone, timezones
from exchangesim.store.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDateRange,
    NoEndRange,
    NumberedRange,
    Pattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
    expand,
    index_of,
    occurrence_at,
    validate,
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
MONTHS = (
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
)
INDEXES = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
# Zones with daylight saving on both hemispheres, a half-hour zone and one without DST.
ZONES = (
    "W. Europe Standard Time",
    "Pacific Standard Time",
    "AUS Eastern Standard Time",
    "Lord Howe Standard Time",
    "India Standard Time",
    "UTC",
)


def _rrule_days(day: str) -> list[rrule.weekday]:
    if day == "Day":
        return list(RRULE_DAYS)
    if day == "Weekday":
        return list(RRULE_DAYS[:5])
    if day == "WeekendDay":
        return list(RRULE_DAYS[5:])
    return [RRULE_DAYS[WEEKDAYS.index(day)]]


def _month_day(day: int) -> dict[str, object]:
    # Exchange puts day 29-31 on the month's last day when the month is shorter.
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": list(range(28, day + 1)), "bysetpos": -1}


def _as_rrule(recurrence: Recurrence, dtstart: datetime) -> rrule.rrule:
    """The RRULE equivalent of an EWS recurrence (the oracle)."""
    pattern, rng = recurrence.pattern, recurrence.range
    kwargs: dict[str, object] = {"dtstart": dtstart}
    if isinstance(rng, NumberedRange):
        kwargs["count"] = rng.number_of_occurrences
    elif isinstance(rng, EndDateRange):
        kwargs["until"] = datetime.combine(rng.end_date, time(23, 59, 59), tzinfo=dtstart.tzinfo)
    if isinstance(pattern, DailyPattern):
        return rrule.rrule(rrule.DAILY, interval=pattern.interval, **kwargs)  # type: ignore[arg-type]
    if isinstance(pattern, WeeklyPattern):
        days = sorted(
            {d for day in pattern.days_of_week for d in _rrule_days(day)}, key=lambda d: d.weekday
        )
        return rrule.rrule(
            rrule.WEEKLY,
            interval=pattern.interval,
            byweekday=days,
            wkst=WEEKDAYS.index(pattern.first_day_of_week),
            **kwargs,  # type: ignore[arg-type]
        )
    if isinstance(pattern, AbsoluteMonthlyPattern):
        return rrule.rrule(
            rrule.MONTHLY, interval=pattern.interval, **_month_day(pattern.day_of_month), **kwargs
        )  # type: ignore[arg-type]
    if isinstance(pattern, RelativeMonthlyPattern):
        return rrule.rrule(
            rrule.MONTHLY,
            interval=pattern.interval,
            byweekday=_rrule_days(pattern.day_of_week),
            bysetpos=INDEXES[pattern.day_of_week_index],
            **kwargs,  # type: ignore[arg-type]
        )
    month = MONTHS.index(pattern.month) + 1
    if isinstance(pattern, AbsoluteYearlyPattern):
        return rrule.rrule(
            rrule.YEARLY, bymonth=month, **_month_day(pattern.day_of_month), **kwargs
        )  # type: ignore[arg-type]
    return rrule.rrule(
        rrule.YEARLY,
        bymonth=month,
        byweekday=_rrule_days(pattern.day_of_week),
        bysetpos=INDEXES[pattern.day_of_week_index],
        **kwargs,  # type: ignore[arg-type]
    )


days_of_week = st.sampled_from((*WEEKDAYS, "Day", "Weekday", "WeekendDay"))
patterns: st.SearchStrategy[Pattern] = st.one_of(
    st.builds(DailyPattern, interval=st.integers(1, 10)),
    st.builds(
        WeeklyPattern,
        days_of_week=st.lists(days_of_week, min_size=1, max_size=3).map(tuple),
        interval=st.integers(1, 4),
        first_day_of_week=st.sampled_from(WEEKDAYS),
    ),
    st.builds(AbsoluteMonthlyPattern, day_of_month=st.integers(1, 31), interval=st.integers(1, 6)),
    st.builds(
        RelativeMonthlyPattern,
        day_of_week=days_of_week,
        day_of_week_index=st.sampled_from(tuple(INDEXES)),
        interval=st.integers(1, 6),
    ),
    st.builds(
        AbsoluteYearlyPattern, day_of_month=st.integers(1, 31), month=st.sampled_from(MONTHS)
    ),
    st.builds(
        RelativeYearlyPattern,
        day_of_week=days_of_week,
        day_of_week_index=st.sampled_from(tuple(INDEXES)),
        month=st.sampled_from(MONTHS),
    ),
)
start_dates = st.dates(date(2020, 1, 1), date(2030, 12, 31))


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    pattern = draw(patterns)
    start = draw(start_dates)
    if isinstance(pattern, AbsoluteYearlyPattern) and pattern.month == "February":
        pattern = AbsoluteYearlyPattern(min(pattern.day_of_month, 29), "February")
    rng = draw(
        st.one_of(
            st.builds(
                NumberedRange, start_date=st.just(start), number_of_occurrences=st.integers(1, 40)
            ),
            st.builds(
                EndDateRange,
                start_date=st.just(start),
                end_date=st.integers(0, 3 * 366).map(lambda d: start + timedelta(days=d)),
            ),
        )
    )
    return Recurrence(pattern, rng)


@settings(max_examples=300, deadline=None)
@given(
    recurrence=recurrences(),
    zone_name=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from((0, 15, 30, 45)),
)
def test_expansion_matches_rrule_in_the_series_time_zone(
    recurrence: Recurrence, zone_name: str, hour: int, minute: int
) -> None:
    """Occurrences equal dateutil's for the equivalent RRULE, wall-clock time kept across DST."""
    zone = timezones.zone(zone_name)
    local_start = datetime.combine(recurrence.range.start_date, time(hour, minute), tzinfo=zone)
    expected = [d.astimezone(UTC) for d in _as_rrule(recurrence, local_start)]
    found = expand(recurrence, local_start, timedelta(minutes=30), zone, limit=10_000)
    assert [o.start for o in found] == expected
    assert [o.index for o in found] == list(range(1, len(found) + 1))
    for occurrence in found:
        assert occurrence.end - occurrence.start == timedelta(minutes=30)
        wall = occurrence.start.astimezone(zone)
        intended = datetime.combine(wall.date(), time(hour, minute), tzinfo=zone)
        exists = intended.astimezone(UTC).astimezone(zone).time() == intended.time()
        if exists:  # a start inside a spring-forward gap moves by the gap, as in Exchange
            assert wall.time() == time(hour, minute)


def test_weekly_series_keeps_local_time_across_european_dst() -> None:
    """A 09:00 Berlin meeting is 08:00 UTC in winter and 07:00 UTC in summer."""
    zone = timezones.zone("W. Europe Standard Time")
    series = Recurrence(WeeklyPattern(("Monday",)), NumberedRange(date(2026, 3, 16), 3))
    first = datetime(2026, 3, 16, 9, tzinfo=zone)
    starts = [o.start for o in expand(series, first, timedelta(hours=1), zone)]
    assert starts == [
        datetime(2026, 3, 16, 8, tzinfo=UTC),
        datetime(2026, 3, 23, 8, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
    ]


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    """AbsoluteMonthly day 31 occurs on 30 April and 28 February, as in Outlook."""
    series = Recurrence(AbsoluteMonthlyPattern(31), NumberedRange(date(2027, 1, 1), 4))
    first = datetime(2027, 1, 31, 10, tzinfo=UTC)
    days = [o.start.date() for o in expand(series, first, timedelta(hours=1), UTC)]
    assert days == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_window_limit_index_lookup_and_endless_series() -> None:
    """Expansion honours the window and limit; indexes resolve both ways; NoEnd never ends."""
    series = Recurrence(DailyPattern(2), NoEndRange(date(2026, 1, 1)))
    first = datetime(2026, 1, 1, 12, tzinfo=UTC)
    window = expand(
        series,
        first,
        timedelta(hours=1),
        UTC,
        window_start=datetime(2026, 1, 10, tzinfo=UTC),
        window_end=datetime(2026, 1, 20, tzinfo=UTC),
    )
    assert [o.index for o in window] == [6, 7, 8, 9, 10]  # 9 Jan 12:00-13:00 is before
    assert len(expand(series, first, timedelta(hours=1), UTC, limit=7)) == 7
    found = occurrence_at(series, first, timedelta(hours=1), UTC, 500)
    assert found is not None
    assert index_of(series, first, UTC, found.start) == 500
    assert index_of(series, first, UTC, found.start + timedelta(minutes=1)) is None


@pytest.mark.parametrize(
    "recurrence",
    [
        Recurrence(DailyPattern(0), NoEndRange(date(2026, 1, 1))),
        Recurrence(WeeklyPattern(()), NoEndRange(date(2026, 1, 1))),
        Recurrence(AbsoluteMonthlyPattern(32), NoEndRange(date(2026, 1, 1))),
        Recurrence(DailyPattern(), NumberedRange(date(2026, 1, 1), 0)),
        Recurrence(DailyPattern(), EndDateRange(date(2026, 1, 2), date(2026, 1, 1))),
    ],
)
def test_invalid_recurrences_are_refused(recurrence: Recurrence) -> None:
    """Patterns and ranges Exchange refuses raise InvalidRecurrence."""
    with pytest.raises(InvalidRecurrence):
        validate(recurrence)


@pytest.mark.parametrize("windows_id", [*ZONES, "Eastern Standard Time", "Tokyo Standard Time"])
def test_timezone_definition_matches_zoneinfo_offsets_and_transitions(windows_id: str) -> None:
    """The EWS definition's biases and yearly transitions agree with zoneinfo for 2024-2030."""
    definition = timezones.timezone_definition(windows_id)
    zone = timezones.zone(windows_id)
    periods = {p.id: p for p in definition.periods}
    [group] = definition.groups
    assert definition.transitions[0].to_group == group.id
    for year in range(2024, 2031):
        jan, jul = (datetime(year, m, 15, 12, tzinfo=zone) for m in (1, 7))
        biases = {-jan.utcoffset(), -jul.utcoffset()}  # type: ignore[operator]
        assert biases == {p.bias for p in periods.values()}
        for transition in group.transitions:
            if not hasattr(transition, "month"):
                continue
            day = _nth_weekday(
                year, transition.month, transition.day_of_week, transition.occurrence
            )
            moment = datetime.combine(day, time()) + transition.time_offset
            before = periods["dlt" if transition.to == "std" else "std"]
            switch = (moment + before.bias).replace(tzinfo=UTC)
            after = -(switch + timedelta(minutes=1)).astimezone(zone).utcoffset()  # type: ignore[operator]
            prior = -(switch - timedelta(minutes=1)).astimezone(zone).utcoffset()  # type: ignore[operator]
            assert (prior, after) == (before.bias, periods[transition.to].bias)


def _nth_weekday(year: int, month: int, weekday: str, occurrence: int) -> date:
    days = [date(year, month, d) for d in range(1, 32) if _valid(year, month, d)]
    matching = [d for d in days if d.strftime("%A") == weekday]
    return matching[-1] if occurrence == -1 else matching[occurrence - 1]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def test_windows_ids_map_to_iana_and_back() -> None:
    """The CLDR table maps Windows ids to IANA zones and IANA aliases back."""
    assert timezones.iana_name("W. Europe Standard Time") == "Europe/Berlin"
    assert timezones.windows_id("Europe/Amsterdam") == "W. Europe Standard Time"
    assert timezones.zone("Pacific Standard Time") == ZoneInfo("America/Los_Angeles")
    assert len(timezones.known_windows_ids()) > 130
    with pytest.raises(UnknownTimeZone):
        timezones.zone("Mars Standard Time")
