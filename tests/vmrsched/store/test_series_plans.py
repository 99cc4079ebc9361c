"""A series booking keeps what it was planned from, and the store finds those due for extension."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from store_factories import NOW, booking, reservation, window

from vmrsched.domain.bookings import BookingState, SeriesPlan
from vmrsched.domain.recurrence import (
    AbsoluteMonthlyPattern,
    NoEndRange,
    NumberedRange,
    Recurrence,
    RelativeMonthlyPattern,
    Weekday,
    WeekIndex,
    WeeklyPattern,
)

FIRST = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _plan(recurrence: Recurrence, days: int = 10) -> SeriesPlan:
    return SeriesPlan(
        recurrence=recurrence,
        first_start=FIRST,
        first_end=FIRST + timedelta(hours=1),
        time_zone="Europe/Berlin",
        planned_until=NOW + timedelta(days=days),
    )


WEEKLY_FOR_EVER = Recurrence(
    WeeklyPattern(frozenset({Weekday.TUESDAY, Weekday.FRIDAY}), 2, Weekday.SUNDAY),
    NoEndRange(date(2026, 11, 24)),
    deleted=(FIRST + timedelta(weeks=2),),
)


def test_a_series_plan_reads_back_with_its_booking(store):
    """Pattern, range, edits and cancellations come back equal, on every database."""
    res = store.add_reservation(reservation)
    moved = _plan(WEEKLY_FOR_EVER).with_moved(
        FIRST + timedelta(weeks=4),
        FIRST + timedelta(weeks=4, hours=3),
        FIRST + timedelta(weeks=4, hours=4),
    )
    made = replace(booking(res, "m1", window("a", 10)), series=moved)
    store.save_booking(made)
    assert store.booking_for_meeting("m1") == made


def test_only_active_series_with_occurrences_left_are_due(store):
    """Due: active, planned only up to before the given time, with occurrences beyond; the
    earliest planned first. A finished series, a released booking and a single meeting are not."""
    plans = {
        "late": _plan(WEEKLY_FOR_EVER, days=20),
        "early": _plan(Recurrence(AbsoluteMonthlyPattern(31), NoEndRange(date(2026, 11, 24))), 5),
        "ended": _plan(
            Recurrence(
                RelativeMonthlyPattern(frozenset({Weekday.MONDAY}), WeekIndex.LAST),
                NumberedRange(date(2026, 11, 24), 1),
            )
        ),
        "released": _plan(WEEKLY_FOR_EVER),
        "single": None,
    }
    for key, plan in plans.items():
        res = store.add_reservation(reservation)
        made = replace(booking(res, key, window(key, 10)), series=plan)
        if key == "released":
            made = replace(made, state=BookingState.RELEASED, windows=())
        store.save_booking(made)
    due = store.bookings_to_extend(NOW + timedelta(days=30))
    assert [b.meeting_key for b in due] == ["early", "late"]
    assert [b.meeting_key for b in store.bookings_to_extend(NOW + timedelta(days=10))] == ["early"]
    assert [b.meeting_key for b in store.bookings_to_extend(NOW + timedelta(days=30), limit=1)] == [
        "early"
    ]
