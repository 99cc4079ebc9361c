"""Recurring series end to end over real HTTPS: exchangesim, the service, exchangelib organizers.

Organizers send series with every EWS pattern and range, move and cancel occurrences, cancel whole
series and forward them; each test checks the booking's windows (one per occurrence, buffers
added, in the organizer's zone "W. Europe Standard Time") and the replies in the organizer's inbox.
Expected occurrences are written out by hand, never computed with the product's expansion.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import Attendee, CalendarItem, HTMLBody, Mailbox
from exchangelib.items import (
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_CHANGED_AND_SAVE_COPY,
    MeetingRequest,
)
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from series_support import (
    BERLIN,
    booked_windows,
    booking_of,
    decisions,
    ews_local,
    expected_windows,
    local,
    reply_texts,
    send_series,
    settle,
)
from service_support import ManualClock
from test_end_to_end import ALICE, BOB, LiveService

from vmrsched.cli.demo_tenant import RESOURCE

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.slow

HOUR = timedelta(hours=1)
NINE = time(9)
# exchangelib's enumerations count from 1: weekdays Monday=1..Sunday=7, then Day=8, Weekday=9,
# WeekendDay=10; week numbers First=1..Fourth=4, Last=5; months January=1..December=12.
MONDAY, WEDNESDAY, TUESDAY, THURSDAY = 1, 3, 2, 4
WEEKDAY = 9
SECOND, LAST = 2, 5
LONG_HORIZON = {"meetings": {"series_horizon_days": 1500}}


def _accepted_with(
    live: LiveService, item: Any, subject: str, days: list[date], duration: timedelta = HOUR
) -> None:
    live.wait_for_replies(1)
    assert booked_windows(live, ALICE, item) == expected_windows(days, NINE, duration)
    assert live.outcome(ALICE, item) == "accept_new_recurring_series"
    assert live.responses(ALICE, subject) == ["Accepted"]


def test_daily_numbered_series(live: LiveService) -> None:
    """Every other day, three times: three windows at 09:00 Berlin time, buffers added."""
    first = local(date(2027, 3, 1), NINE)
    item = send_series(
        live,
        ALICE,
        "Daily",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=DailyPattern(interval=2),
        boundary=NumberedPattern(start=first.date(), number=3),
    )
    _accepted_with(live, item, "Daily", [date(2027, 3, 1), date(2027, 3, 3), date(2027, 3, 5)])


def test_weekly_numbered_series(live: LiveService) -> None:
    """Mondays and Wednesdays, four times: four windows at 09:00 Berlin time."""
    first = local(date(2027, 3, 1), NINE)
    item = send_series(
        live,
        ALICE,
        "Weekly",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY, WEDNESDAY], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=first.date(), number=4),
    )
    days = [date(2027, 3, 1), date(2027, 3, 3), date(2027, 3, 8), date(2027, 3, 10)]
    _accepted_with(live, item, "Weekly", days)


def test_absolute_monthly_end_date_series_clamps_to_month_end_across_dst(
    live: LiveService,
) -> None:
    """The 31st of each month to 31 May: short months use their last day; 09:00 stays 09:00."""
    first = local(date(2027, 1, 31), NINE)
    item = send_series(
        live,
        ALICE,
        "Month end",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=AbsoluteMonthlyPattern(interval=1, day_of_month=31),
        boundary=EndDatePattern(start=first.date(), end=date(2027, 5, 31)),
    )
    days = [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    _accepted_with(live, item, "Month end", [*days, date(2027, 5, 31)])


def test_relative_monthly_end_date_series(live: LiveService) -> None:
    """The last Thursday of every other month, to the end of 2027."""
    first = local(date(2027, 1, 28), NINE)
    item = send_series(
        live,
        ALICE,
        "Last Thursday",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=RelativeMonthlyPattern(interval=2, weekday=THURSDAY, week_number=LAST),
        boundary=EndDatePattern(start=first.date(), end=date(2027, 8, 1)),
    )
    days = [date(2027, 1, 28), date(2027, 3, 25), date(2027, 5, 27), date(2027, 7, 29)]
    _accepted_with(live, item, "Last Thursday", days)


def test_absolute_yearly_numbered_series_on_a_leap_day(
    live_factory: Callable[..., LiveService],
) -> None:
    """29 February, three years: 2028-02-29, then the 28th in the years without one."""
    live = live_factory(**LONG_HORIZON)
    first = local(date(2028, 2, 29), NINE)
    item = send_series(
        live,
        ALICE,
        "Leap day",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=AbsoluteYearlyPattern(day_of_month=29, month=2),
        boundary=NumberedPattern(start=first.date(), number=3),
    )
    days = [date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28)]
    _accepted_with(live, item, "Leap day", days)


def test_relative_yearly_numbered_series(live_factory: Callable[..., LiveService]) -> None:
    """The second weekday (Mon-Fri) of January, three years."""
    live = live_factory(**LONG_HORIZON)
    first = local(date(2027, 1, 4), NINE)
    item = send_series(
        live,
        ALICE,
        "New year",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=RelativeYearlyPattern(weekday=WEEKDAY, week_number=SECOND, month=1),
        boundary=NumberedPattern(start=first.date(), number=3),
    )
    days = [date(2027, 1, 4), date(2028, 1, 4), date(2029, 1, 2)]
    _accepted_with(live, item, "New year", days)


def test_a_series_without_end_is_booked_up_to_the_horizon(
    live_factory: Callable[..., LiveService],
) -> None:
    """A daily series with no end gets the windows of the next ten days (series_horizon_days)."""
    live = live_factory(meetings={"series_horizon_days": 10})
    anchor = (datetime.now(ZoneInfo(BERLIN)) + timedelta(hours=12)).replace(second=0, microsecond=0)
    item = send_series(
        live,
        ALICE,
        "Every day",
        live.body_with_token(ALICE),
        first=anchor,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NoEndPattern(start=anchor.date()),
    )
    live.wait_for_replies(1)
    days = [anchor.date() + timedelta(days=n) for n in range(10)]
    assert booked_windows(live, ALICE, item) == expected_windows(days, anchor.time(), HOUR)
    assert live.responses(ALICE, "Every day") == ["Accepted"]


def _fridays(live: LiveService, subject: str) -> Any:
    # Fridays from 19 March 2027; Europe changes to summer time on Sunday 28 March.
    first = local(date(2027, 3, 19), NINE)
    return send_series(
        live,
        ALICE,
        subject,
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=1, weekdays=[5], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=first.date(), number=4),
        others=(BOB,),
    )


FRIDAYS = [date(2027, 3, 19), date(2027, 3, 26), date(2027, 4, 2), date(2027, 4, 9)]


def test_an_occurrence_moved_across_daylight_saving_moves_only_its_window(
    live: LiveService,
) -> None:
    """Friday 26 March (CET) moved to Monday 29 March 09:00 (CEST): only its window moves."""
    item = _fridays(live, "Moved")
    live.wait_for_replies(1)
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, NINE, HOUR)

    occurrence = item.occurrence(2)
    occurrence.refresh()
    occurrence.start = ews_local(local(date(2027, 3, 29), NINE))
    occurrence.end = occurrence.start + HOUR
    occurrence.save(
        update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    live.wait_for_replies(2)
    moved = [FRIDAYS[0], date(2027, 3, 29), *FRIDAYS[2:]]
    assert booked_windows(live, ALICE, item) == expected_windows(moved, NINE, HOUR)
    # 09:00 CEST is 07:00 UTC, an hour earlier in UTC than the CET occurrence it replaced.
    assert booked_windows(live, ALICE, item)[1][0] == datetime(2027, 3, 29, 6, 30, tzinfo=UTC)
    assert live.outcome(ALICE, item) == "accept_edited_occurrence"
    assert live.responses(ALICE, "Moved") == ["Accepted", "Accepted"]


@pytest.mark.parametrize("how", ["delete", "cancel"])
def test_a_cancelled_occurrence_releases_only_its_window(live: LiveService, how: str) -> None:
    """Cancelling the third Friday (delete or cancel) removes its window; no reply is sent."""
    item = _fridays(live, "Skip one")
    live.wait_for_replies(1)
    occurrence = item.occurrence(3)
    occurrence.refresh()
    if how == "delete":
        occurrence.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    else:
        occurrence.cancel()
    settle(live, lambda: len(booked_windows(live, ALICE, item)) == 3)
    kept = [day for day in FRIDAYS if day != date(2027, 4, 2)]
    assert booked_windows(live, ALICE, item) == expected_windows(kept, NINE, HOUR)
    assert decisions(live, ALICE, item)[-1] == "cancelled"
    assert live.responses(ALICE, "Skip one") == ["Accepted"]


def test_a_cancelled_series_releases_every_window(live: LiveService) -> None:
    """Cancelling the series releases the booking; the organizer gets no second reply."""
    item = _fridays(live, "Called off")
    live.wait_for_replies(1)
    item.refresh()
    item.cancel()
    settle(live, lambda: (b := booking_of(live, ALICE, item)) is not None and not b.is_active)
    assert decisions(live, ALICE, item)[-1] == "cancelled"
    assert live.responses(ALICE, "Called off") == ["Accepted"]


def test_a_series_entirely_in_the_past_is_declined(live: LiveService) -> None:
    """Three Tuesdays in October 2026 (all over): declined as a past series, nothing booked."""
    first = local(date(2026, 10, 6), NINE)
    item = send_series(
        live,
        ALICE,
        "Last month",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=1, weekdays=[TUESDAY], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=first.date(), number=3),
    )
    live.wait_for_replies(1)
    assert live.outcome(ALICE, item) == "reject_recurring_series_past"
    assert booked_windows(live, ALICE, item) == []
    assert live.responses(ALICE, "Last month") == ["Declined"]
    [text] = reply_texts(live, ALICE, "Last month")
    assert "Every meeting of the series" in text
    assert "already over, so no video meeting room was booked" in text


def test_a_series_partly_in_the_past_is_booked_for_its_future(live: LiveService) -> None:
    """Five daily occurrences of which three are over: accepted, two windows."""
    soon = (datetime.now(ZoneInfo(BERLIN)) + timedelta(hours=3)).replace(second=0, microsecond=0)
    first = soon - timedelta(days=3)
    item = send_series(
        live,
        ALICE,
        "Half over",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NumberedPattern(start=first.date(), number=5),
    )
    live.wait_for_replies(1)
    days = [soon.date(), soon.date() + timedelta(days=1)]
    assert booked_windows(live, ALICE, item) == expected_windows(days, soon.time(), HOUR)
    assert live.outcome(ALICE, item) == "accept_new_recurring_series"
    assert live.responses(ALICE, "Half over") == ["Accepted"]
    [text] = reply_texts(live, ALICE, "Half over")
    assert "every meeting in the series" in text
    assert "now has a video meeting room" in text


def test_a_forwarded_series_keeps_one_booking_and_one_reply(live: LiveService) -> None:
    """Bob forwards Alice's series to the resource: same booking, no second reply to anyone."""
    item = _fridays(live, "Forwarded")
    live.wait_for_replies(1)
    before = booking_of(live, ALICE, item)
    bob = live.account(BOB)
    request = next(
        found
        for found in bob.inbox.all()
        if isinstance(found, MeetingRequest) and str(found.subject).endswith("Forwarded")
    )
    request.forward(subject=f"FW: {request.subject}", body="Join us", to_recipients=[RESOURCE])
    settle(live, lambda: len(decisions(live, ALICE, item)) >= 2)
    after = booking_of(live, ALICE, item)
    assert after is not None
    assert before is not None
    assert after.booking_id == before.booking_id
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, NINE, HOUR)
    assert live.responses(ALICE, "Forwarded") == ["Accepted"]
    assert live.responses(BOB, "Forwarded") == []


SUNDAY, DAY, WEEKEND_DAY, FIRST = 7, 8, 10, 1


def test_weekly_every_other_week_counts_weeks_from_the_first_day_of_week(
    live: LiveService,
) -> None:
    """Every 2nd week on Sunday and Monday, weeks starting on Sunday: Sunday 14 March follows."""
    first = local(date(2027, 3, 1), NINE)
    item = send_series(
        live,
        ALICE,
        "Fortnightly",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=2, weekdays=[SUNDAY, MONDAY], first_day_of_week=SUNDAY),
        boundary=NumberedPattern(start=first.date(), number=4),
    )
    days = [date(2027, 3, 1), date(2027, 3, 14), date(2027, 3, 15), date(2027, 3, 28)]
    _accepted_with(live, item, "Fortnightly", days)


@pytest.mark.parametrize(
    ("weekday", "week_number", "days"),
    [
        pytest.param(
            WEEKDAY,
            LAST,
            [date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 31)],
            id="last-weekday",
        ),
        pytest.param(
            WEEKEND_DAY,
            FIRST,
            [date(2027, 1, 2), date(2027, 2, 6), date(2027, 3, 6)],
            id="first-weekend-day",
        ),
        pytest.param(
            DAY, LAST, [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)], id="last-day"
        ),
    ],
)
def test_relative_monthly_day_sets(
    live: LiveService, weekday: int, week_number: int, days: list[date]
) -> None:
    """EWS's Weekday, WeekendDay and Day sets: the n-th matching day of each month."""
    first = local(days[0], NINE)
    item = send_series(
        live,
        ALICE,
        "Day sets",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=RelativeMonthlyPattern(interval=1, weekday=weekday, week_number=week_number),
        boundary=NumberedPattern(start=first.date(), number=3),
    )
    _accepted_with(live, item, "Day sets", days)


def test_a_series_edit_moves_every_window(live: LiveService) -> None:
    """The series moved from 09:00 to 10:30: every window moves, answered as an edited series."""
    item = _fridays(live, "Later")
    live.wait_for_replies(1)
    _move_series_to_half_past_ten(item)
    live.wait_for_replies(2)
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, time(10, 30), HOUR)
    assert live.outcome(ALICE, item) == "accept_edited_recurring_series"
    assert live.responses(ALICE, "Later") == ["Accepted", "Accepted"]


def test_a_moved_occurrence_can_then_be_cancelled(live: LiveService) -> None:
    """An occurrence moved across the DST change, then cancelled: its moved window goes."""
    item = _fridays(live, "Moved then cancelled")
    live.wait_for_replies(1)
    occurrence = item.occurrence(2)
    occurrence.refresh()
    occurrence.start = ews_local(local(date(2027, 3, 29), NINE))
    occurrence.end = occurrence.start + HOUR
    occurrence.save(
        update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    live.wait_for_replies(2)
    occurrence = item.occurrence(2)
    occurrence.refresh()
    occurrence.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    settle(live, lambda: len(booked_windows(live, ALICE, item)) == 3)
    kept = [FRIDAYS[0], *FRIDAYS[2:]]
    assert booked_windows(live, ALICE, item) == expected_windows(kept, NINE, HOUR)
    assert live.responses(ALICE, "Moved then cancelled") == ["Accepted", "Accepted"]


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        # US summer time starts on 14 March 2027; 08:00 stays 08:00 local.
        pytest.param(
            "America/New_York",
            [date(2027, 3, 8), date(2027, 3, 15), date(2027, 3, 22)],
            id="eastern-standard-time",
        ),
        # Sydney's summer time ends on 4 April 2027.
        pytest.param(
            "Australia/Sydney",
            [date(2027, 3, 29), date(2027, 4, 5), date(2027, 4, 12)],
            id="aus-eastern-standard-time",
        ),
    ],
)
def test_a_series_follows_its_organizers_zone_across_dst(
    live: LiveService, zone: str, days: list[date]
) -> None:
    """A weekly Monday series at 08:00 in another zone keeps 08:00 local across its DST change."""
    first = local(days[0], time(8), zone)
    item = send_series(
        live,
        ALICE,
        "Abroad",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=first.date(), number=3),
        zone=zone,
    )
    live.wait_for_replies(1)
    assert booked_windows(live, ALICE, item) == expected_windows(days, time(8), HOUR, zone)
    assert live.responses(ALICE, "Abroad") == ["Accepted"]


def _move_series_to_half_past_ten(item: Any) -> None:
    item.refresh()
    item.start = ews_local(local(FRIDAYS[0], time(10, 30)))
    item.end = item.start + HOUR
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def _move_second_friday(item: Any) -> None:
    occurrence = item.occurrence(2)
    occurrence.refresh()
    occurrence.start = ews_local(local(date(2027, 3, 29), NINE))
    occurrence.end = occurrence.start + HOUR
    occurrence.save(
        update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )


def _resend_series_with_new_location(item: Any) -> None:
    item.refresh()
    item.location = "Room 2"
    item.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def test_a_later_series_update_keeps_a_moved_occurrence(live: LiveService) -> None:
    """After an occurrence moved, a series update (new location) keeps that occurrence's window.

    Exchange follows the series' update with the moved occurrence's own update ([MS-OXOCAL]
    3.1.4.7.3.5), and the series' request does not list it: the booking keeps the exception it
    knows, so neither message changes a window or sends a reply.
    """
    item = _fridays(live, "Keep exception")
    live.wait_for_replies(1)
    _move_second_friday(item)
    live.wait_for_replies(2)
    _resend_series_with_new_location(item)
    settle(live, lambda: len(decisions(live, ALICE, item)) >= 4)
    moved = [FRIDAYS[0], date(2027, 3, 29), *FRIDAYS[2:]]
    assert booked_windows(live, ALICE, item) == expected_windows(moved, NINE, HOUR)
    assert decisions(live, ALICE, item) == [
        "accept_new_recurring_series",
        "accept_edited_occurrence",
        "ignored",
        "ignored",
    ]
    assert live.responses(ALICE, "Keep exception") == ["Accepted", "Accepted"]


def test_a_later_series_update_keeps_a_cancelled_occurrence_cancelled(live: LiveService) -> None:
    """After an occurrence was cancelled, a series update (new location) does not bring it back."""
    item = _fridays(live, "Keep deletion")
    live.wait_for_replies(1)
    occurrence = item.occurrence(3)
    occurrence.refresh()
    occurrence.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    settle(live, lambda: len(booked_windows(live, ALICE, item)) == 3)
    _resend_series_with_new_location(item)
    settle(live, lambda: len(decisions(live, ALICE, item)) >= 3)
    kept = [day for day in FRIDAYS if day != date(2027, 4, 2)]
    assert booked_windows(live, ALICE, item) == expected_windows(kept, NINE, HOUR)


def test_an_occurrence_moved_into_the_past_is_declined_alone(live: LiveService) -> None:
    """The first of three daily occurrences moved to yesterday: declined; the others keep theirs."""
    soon = (datetime.now(ZoneInfo(BERLIN)) + timedelta(hours=3)).replace(second=0, microsecond=0)
    item = send_series(
        live,
        ALICE,
        "Into the past",
        live.body_with_token(ALICE),
        first=soon,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NumberedPattern(start=soon.date(), number=3),
    )
    live.wait_for_replies(1)
    occurrence = item.occurrence(1)
    occurrence.refresh()
    occurrence.start = ews_local(soon - timedelta(days=1))
    occurrence.end = occurrence.start + HOUR
    occurrence.save(
        update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    live.wait_for_replies(2)
    days = [soon.date() + timedelta(days=n) for n in (1, 2)]
    assert booked_windows(live, ALICE, item) == expected_windows(days, soon.time(), HOUR)
    assert live.outcome(ALICE, item) == "reject_single_meeting_past"
    assert live.responses(ALICE, "Into the past") == ["Accepted", "Declined"]


def test_a_long_series_is_booked_whole(live_factory: Callable[..., LiveService]) -> None:
    """150 daily occurrences (peers stop at 100) get 150 windows."""
    live = live_factory(**LONG_HORIZON)
    first = local(date(2027, 1, 4), NINE)
    item = send_series(
        live,
        ALICE,
        "Long",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NumberedPattern(start=first.date(), number=150),
    )
    days = [first.date() + timedelta(days=n) for n in range(150)]
    _accepted_with(live, item, "Long", days)


def test_a_shortened_series_drops_the_windows_it_no_longer_has(live: LiveService) -> None:
    """Four Fridays cut to two: the last two windows go, answered as an edited series."""
    item = _fridays(live, "Shorter")
    live.wait_for_replies(1)
    item.refresh()
    item.recurrence = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[5], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=FRIDAYS[0], number=2),
    )
    item.save(update_fields=["recurrence"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    live.wait_for_replies(2)
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS[:2], NINE, HOUR)
    assert live.outcome(ALICE, item) == "accept_edited_recurring_series"
    assert live.responses(ALICE, "Shorter") == ["Accepted", "Accepted"]


def test_an_occurrence_in_progress_keeps_its_window(live: LiveService) -> None:
    """Four daily occurrences, the last one started half an hour ago: only its window is booked."""
    started = (datetime.now(ZoneInfo(BERLIN)) - timedelta(minutes=30)).replace(
        second=0, microsecond=0
    )
    first = started - timedelta(days=3)
    item = send_series(
        live,
        ALICE,
        "In progress",
        live.body_with_token(ALICE),
        first=first,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NumberedPattern(start=first.date(), number=4),
    )
    live.wait_for_replies(1)
    assert booked_windows(live, ALICE, item) == expected_windows(
        [started.date()], started.time(), HOUR
    )
    assert live.outcome(ALICE, item) == "accept_new_recurring_series"
    assert live.responses(ALICE, "In progress") == ["Accepted"]


def test_a_forward_waiting_with_the_original_makes_one_booking_and_one_reply(
    live_factory: Callable[..., LiveService], api: str
) -> None:
    """The original and Bob's forward both wait when the service starts: one booking, one reply.

    Under Graph the resource's Calendar Attendant (AutoUpdate) marks the original out of date
    when the forward arrives (``isOutOfDate``), so only the forward is a current request to
    decide; under EWS (AutomateProcessing None) both are, and the second is ignored."""
    live = live_factory(start=False)
    item = _fridays(live, "Both waiting")
    request = next(
        found
        for found in live.account(BOB).inbox.all()
        if isinstance(found, MeetingRequest) and str(found.subject).endswith("Both waiting")
    )
    request.forward(subject=f"FW: {request.subject}", body="Join us", to_recipients=[RESOURCE])
    live.start()
    live.wait_for_replies(1)
    expected = ["accept_new_recurring_series"] + (["ignored"] if api == "ews" else [])
    settle(live, lambda: len(decisions(live, ALICE, item)) >= len(expected))
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, NINE, HOUR)
    assert sorted(decisions(live, ALICE, item)) == expected
    assert live.responses(ALICE, "Both waiting") == ["Accepted"]
    assert live.responses(BOB, "Both waiting") == []


def test_a_series_without_end_is_extended_as_time_passes(
    live_factory: Callable[..., LiveService],
) -> None:
    """Twenty days on, the next pass books the no-end series' occurrences of the next ten days
    (recorded once, no reply); the days in between are over and get no window."""
    live = live_factory(start=False, meetings={"series_horizon_days": 10})
    clock = ManualClock(datetime.now(UTC))
    live.components = dataclasses.replace(live.components, clock=clock)
    live.start()
    anchor = (datetime.now(ZoneInfo(BERLIN)) + timedelta(hours=12)).replace(second=0, microsecond=0)
    item = send_series(
        live,
        ALICE,
        "For ever",
        live.body_with_token(ALICE, clock=clock),
        first=anchor,
        duration=HOUR,
        pattern=DailyPattern(interval=1),
        boundary=NoEndPattern(start=anchor.date()),
    )
    live.wait_for_replies(1)
    clock.advance(timedelta(days=20))
    live.send(BOB, "Wake up", live.body_with_token(BOB, clock=clock), hours_from_now=24 * 21)
    live.wait_for_replies(2)
    days = [anchor.date() + timedelta(days=n) for n in (*range(10), *range(20, 30))]
    expected = expected_windows(days, anchor.time(), HOUR)
    # The pass extends series at its end; its answers may go out before (they are pipelined).
    settle(live, lambda: booked_windows(live, ALICE, item) == expected)
    assert booked_windows(live, ALICE, item) == expected
    live.send(BOB, "Again", live.body_with_token(BOB, clock=clock), hours_from_now=24 * 22)
    live.wait_for_replies(3)
    assert decisions(live, ALICE, item) == ["accept_new_recurring_series", "series_extended"]
    assert live.responses(ALICE, "For ever") == ["Accepted"]


def test_each_series_change_is_answered_with_its_own_template(live: LiveService) -> None:
    """New series, edited occurrence, edited series: three replies, each from its template."""
    item = _fridays(live, "Templates")
    live.wait_for_replies(1)
    _move_second_friday(item)
    live.wait_for_replies(2)
    _move_series_to_half_past_ten(item)
    live.wait_for_replies(3)
    new, occurrence, series = reply_texts(live, ALICE, "Templates")
    # The reply's text comes from each template's HTML variant (quotes become markup).
    assert "every meeting in the series" in new
    assert "Your change to one meeting of the series" in occurrence
    assert "The other meetings of the series are unchanged" in occurrence
    assert "Your changes to the series" in series
    assert "now follows the new schedule" in series
    assert decisions(live, ALICE, item) == [
        "accept_new_recurring_series",
        "accept_edited_occurrence",
        "accept_edited_recurring_series",
    ]
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, time(10, 30), HOUR)


def test_the_resource_added_to_a_series_with_a_moved_occurrence_books_the_moved_time(
    live: LiveService,
) -> None:
    """Alice moved a Friday before inviting the resource: Exchange sends the series, then that
    exception's own update ([MS-OXOCAL] 3.1.4.7.3.5); the booking ends with the moved time."""
    account = live.account(ALICE)
    first = ews_local(local(FRIDAYS[0], NINE))
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Added later",
        body=HTMLBody(live.body_with_token(ALICE)),
        start=first,
        end=first + HOUR,
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[5], first_day_of_week=MONDAY),
            boundary=NumberedPattern(start=FRIDAYS[0], number=4),
        ),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB))],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    _move_second_friday(item)
    item.refresh()
    item.resources = [Attendee(mailbox=Mailbox(email_address=RESOURCE))]
    item.save(update_fields=["resources"], send_meeting_invitations=SEND_TO_CHANGED_AND_SAVE_COPY)
    live.wait_for_replies(2)
    moved = [FRIDAYS[0], date(2027, 3, 29), *FRIDAYS[2:]]
    assert booked_windows(live, ALICE, item) == expected_windows(moved, NINE, HOUR)
    assert decisions(live, ALICE, item) == [
        "accept_new_recurring_series",
        "accept_edited_occurrence",
    ]
