"""A series booking's plan: kept from its request, updated by occurrence messages, extended."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain_builders import AFTER, BEFORE, NOW, Builders
from hypothesis import given, settings
from hypothesis import strategies as st

from vmrsched.domain.actions import Book, Decision, MoveWindows, Outcome
from vmrsched.domain.bookings import Booking, BookingState
from vmrsched.domain.meetings import MessageKind
from vmrsched.domain.planner import plan
from vmrsched.domain.recurrence import DailyPattern, NoEndRange, NumberedRange, Recurrence
from vmrsched.domain.windows import Buffers, extended_windows, planned_windows

if TYPE_CHECKING:
    from vmrsched.domain.reservations import Reservation
    from vmrsched.domain.scheduling_policy import SchedulingPolicy

FIRST = datetime(2026, 11, 24, 7, tzinfo=UTC)  # an hour before NOW's time of day
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
BUFFERS = Buffers(BEFORE, AFTER)


def _day(n: int, hour: int = 7) -> datetime:
    return FIRST + n * DAY + timedelta(hours=hour - 7)


def _starts(booking: Booking) -> list[datetime]:
    return sorted(w.start + BEFORE for w in booking.windows)


def _after(booking: Booking | None, decision: Decision) -> Booking:
    """The booking once the decision's booking action is applied (as the service does)."""
    action = decision.actions[0]
    if isinstance(action, Book):
        return Booking(
            booking_id="bk-1",
            meeting_key=action.meeting_key,
            alias=action.alias,
            numeric_alias=action.numeric_alias,
            token_id=action.token_id,
            windows=action.windows,
            state=BookingState.ACTIVE,
            sequence_seen=action.sequence,
            created=NOW,
            updated=NOW,
            series=action.series,
        )
    assert isinstance(action, MoveWindows)
    assert booking is not None
    return dataclasses.replace(booking, windows=action.windows, series=action.series)


def _series(
    build: Builders, days: int | None = None, **changes: object
) -> tuple[Booking, Reservation]:
    res = build.used(build.reservation())
    rng = (
        NoEndRange(date(2026, 11, 24)) if days is None else NumberedRange(date(2026, 11, 24), days)
    )
    message = build.message(
        res,
        recurrence=Recurrence(DailyPattern(1), rng),
        start=FIRST,
        end=FIRST + HOUR,
        time_zone="UTC",
        **changes,
    )
    policy = dataclasses.replace(build.policy, series_horizon=10 * DAY)
    decision = plan(message, None, res, NOW, policy)
    return _after(None, decision), res


def _policy(build: Builders) -> SchedulingPolicy:
    return dataclasses.replace(build.policy, series_horizon=10 * DAY)


def test_a_series_booking_keeps_its_plan_up_to_the_horizon(build: Builders) -> None:
    """The plan is the request's series, planned until now plus the horizon."""
    booking, _ = _series(build)
    assert booking.series is not None
    assert booking.series.planned_until == NOW + 10 * DAY
    assert booking.series.first_start == FIRST
    assert booking.series.continues
    assert _starts(booking) == [_day(n) for n in range(10)]


def test_occurrence_messages_are_written_into_the_plan(build: Builders) -> None:
    """A moved occurrence and one cancelled beyond the horizon both go into the plan."""
    booking, res = _series(build)
    policy = _policy(build)
    moved = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        start=_day(2, 15),
        end=_day(2, 16),
        occurrence_original_start=_day(2),
    )
    booking = _after(booking, plan(moved, booking, res, NOW, policy))
    cancel = build.message(
        kind=MessageKind.CANCEL,
        sequence=1,
        start=_day(12),
        end=_day(12) + HOUR,
        occurrence_original_start=_day(12),
    )
    decision = plan(cancel, booking, None, NOW, policy)
    assert decision.outcome is Outcome.CANCELLED
    booking = _after(booking, decision)
    assert booking.series is not None
    assert [m.original_start for m in booking.series.recurrence.modified] == [_day(2)]
    assert booking.series.recurrence.deleted == (_day(12),)
    again = plan(cancel, booking, None, NOW, policy)
    assert again.outcome is Outcome.IGNORED


def test_a_series_update_with_the_same_pattern_keeps_the_known_exceptions(
    build: Builders,
) -> None:
    """A new location only: the moved occurrence stays moved, so nothing changes (no reply)."""
    booking, res = _series(build)
    policy = _policy(build)
    moved = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        start=_day(2, 15),
        end=_day(2, 16),
        occurrence_original_start=_day(2),
    )
    booking = _after(booking, plan(moved, booking, res, NOW, policy))
    update = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=2,
        recurrence=Recurrence(DailyPattern(1), NoEndRange(date(2026, 11, 24))),
        start=FIRST,
        end=FIRST + HOUR,
        time_zone="UTC",
    )
    decision = plan(update, booking, res, NOW, policy)
    assert decision.outcome is Outcome.IGNORED


def test_a_new_series_time_drops_the_exceptions(build: Builders) -> None:
    """The series moved to 06:00: every window follows, the moved occurrence too (as Exchange)."""
    booking, res = _series(build)
    policy = _policy(build)
    moved = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        start=_day(2, 15),
        end=_day(2, 16),
        occurrence_original_start=_day(2),
    )
    booking = _after(booking, plan(moved, booking, res, NOW, policy))
    later = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=2,
        recurrence=Recurrence(DailyPattern(1), NoEndRange(date(2026, 11, 24))),
        start=_day(0, 6),
        end=_day(0, 7),
        time_zone="UTC",
    )
    decision = plan(later, booking, res, NOW, policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_RECURRING_SERIES
    booking = _after(booking, decision)
    assert _starts(booking) == [_day(n, 6) for n in range(10)]
    assert booking.series is not None
    assert booking.series.recurrence.modified == ()


def test_extension_adds_only_what_came_within_the_horizon(build: Builders) -> None:
    """Six days on: days 10 to 15 are added; nothing when the horizon has not moved."""
    booking, _ = _series(build)
    assert extended_windows(booking, NOW, buffers=BUFFERS, horizon=10 * DAY) is None
    found = extended_windows(booking, NOW + 6 * DAY, buffers=BUFFERS, horizon=10 * DAY)
    assert found is not None
    windows, extended = found
    assert sorted(w.start + BEFORE for w in windows) == [_day(n) for n in range(16)]
    assert extended.planned_until == NOW + 16 * DAY


def test_a_finished_series_is_not_extended(build: Builders) -> None:
    """Five occurrences, all booked: the plan does not continue and nothing is added."""
    booking, _ = _series(build, days=5)
    assert booking.series is not None
    assert not booking.series.continues
    assert extended_windows(booking, NOW + 30 * DAY, buffers=BUFFERS, horizon=10 * DAY) is None


def test_a_released_booking_is_not_extended(build: Builders) -> None:
    """A cancelled series keeps its plan but gets no windows back."""
    booking, _ = _series(build)
    released = dataclasses.replace(booking, state=BookingState.RELEASED, windows=())
    assert extended_windows(released, NOW + 6 * DAY, buffers=BUFFERS, horizon=10 * DAY) is None


def test_a_booking_without_a_plan_gets_one_from_an_unchanged_series_update(
    build: Builders,
) -> None:
    """A booking made before plans were kept: the next series update that changes no window
    records the plan (no reply); a second one changes nothing at all."""
    booking, res = _series(build)
    legacy = dataclasses.replace(booking, series=None)
    update = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        recurrence=Recurrence(DailyPattern(1), NoEndRange(date(2026, 11, 24))),
        start=FIRST,
        end=FIRST + HOUR,
        time_zone="UTC",
    )
    policy = _policy(build)
    decision = plan(update, legacy, res, NOW, policy)
    assert decision.outcome is Outcome.IGNORED
    assert decision.reply is None
    [keep] = decision.actions
    assert isinstance(keep, MoveWindows)
    assert keep.windows == legacy.windows
    assert keep.series is not None
    again = plan(
        dataclasses.replace(update, sequence=2), _after(legacy, decision), res, NOW, policy
    )
    assert again.outcome is Outcome.IGNORED
    assert not any(isinstance(action, MoveWindows) for action in again.actions)


@settings(max_examples=120, deadline=None)
@given(
    interval=st.integers(1, 4),
    horizon_days=st.integers(3, 40),
    hour=st.integers(0, 23),
    zone_name=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
    steps=st.lists(st.integers(1, 60 * 24), min_size=1, max_size=8),
)
def test_extending_step_by_step_books_what_planning_afresh_would(
    interval: int, horizon_days: int, hour: int, zone_name: str, steps: list[int]
) -> None:
    """However time passes (steps in hours), the windows still to come after extensions are
    exactly those a fresh plan of the series at that moment books, up to the plan's horizon."""
    zone = ZoneInfo(zone_name)
    first = datetime.combine(date(2026, 11, 24), time(hour), tzinfo=zone).astimezone(UTC)
    message = Builders().message(
        recurrence=Recurrence(DailyPattern(interval), NoEndRange(date(2026, 11, 24))),
        start=first,
        end=first + HOUR,
        time_zone=zone_name,
    )
    horizon = timedelta(days=horizon_days)
    wanted = planned_windows(message, None, NOW, buffers=BUFFERS, horizon=horizon)
    booking = Booking(
        booking_id="bk-1",
        meeting_key=message.meeting_key,
        alias="a",
        numeric_alias="1",
        token_id="t",
        windows=wanted.windows,
        state=BookingState.ACTIVE,
        sequence_seen=0,
        created=NOW,
        updated=NOW,
        series=wanted.series,
    )
    now = NOW
    for hours in steps:
        now += timedelta(hours=hours)
        found = extended_windows(booking, now, buffers=BUFFERS, horizon=horizon)
        if found is not None:
            booking = dataclasses.replace(booking, windows=found[0], series=found[1])
    assert booking.series is not None
    until = booking.series.planned_until
    fresh = planned_windows(message, None, now, buffers=BUFFERS, horizon=until - now)
    to_come = [w for w in booking.windows if w.end - AFTER > now]
    assert to_come == [w for w in fresh.windows if w.start + BEFORE < until]
