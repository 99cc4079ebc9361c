"""The placeholder flow and self-healing for recurring series, end to end against exchangesim.

A series sent with the add-in's placeholder gets its instructions written into the organizer's
series (every occurrence shows them); an occurrence whose body lost the instructions gets them
back in that occurrence only, and the series keeps its windows.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import TYPE_CHECKING

import pytest
from exchangelib import HTMLBody
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.recurrence import NumberedPattern, WeeklyPattern
from flows_support import (
    INSTRUCTIONS_HEADING,
    PLACEHOLDER_HEADING,
    outcomes,
    placeholder_body,
    requests_for,
    shown,
    signed_tokens,
    structure_faults,
)
from series_support import booked_windows, expected_windows, local, send_series, settle
from test_end_to_end import ALICE, BOB, LiveService

if TYPE_CHECKING:
    from typing import Any

pytestmark = pytest.mark.slow

HOUR = timedelta(hours=1)
NINE = time(9)
FRIDAY, MONDAY = 5, 1
FRIDAYS = [date(2027, 3, 19), date(2027, 3, 26), date(2027, 4, 2), date(2027, 4, 9)]


def _fridays(live: LiveService, subject: str, body: str) -> Any:
    first = local(FRIDAYS[0], NINE)
    return send_series(
        live,
        ALICE,
        subject,
        body,
        first=first,
        duration=HOUR,
        pattern=WeeklyPattern(interval=1, weekdays=[FRIDAY], first_day_of_week=MONDAY),
        boundary=NumberedPattern(start=first.date(), number=len(FRIDAYS)),
        others=(BOB,),
    )


def _once(html: str, where: str) -> None:
    text = shown(html)
    assert text.count(INSTRUCTIONS_HEADING) == 1, (where, text)
    assert signed_tokens(html) == 1, (where, text)
    assert PLACEHOLDER_HEADING not in text, (where, text)
    assert structure_faults(html) == [], where


def test_a_placeholder_series_gets_its_instructions_in_every_occurrence(live: LiveService) -> None:
    """The series is booked (one window per Friday) and the instructions replace the
    placeholder in the organizer's series; the attendee's update has them once."""
    body, _ = placeholder_body(live, "Weekly sync", "Thanks")
    item = _fridays(live, "Placeholder series", body)
    live.wait_for_replies(1)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_recurring_series", "ignored"]
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, NINE, HOUR)
    item.refresh()
    _once(str(item.body), "organizer's series")
    occurrence = item.occurrence(3)
    occurrence.refresh()
    _once(str(occurrence.body), "third occurrence")
    _once(str(requests_for(live, BOB, "Placeholder series")[-1].body), "attendee's update")
    assert live.responses(ALICE, "Placeholder series") == ["Accepted"]


def test_an_occurrence_that_lost_its_instructions_gets_them_back(live: LiveService) -> None:
    """Alice edits the second Friday's body away: that occurrence is healed (no reply), the
    series keeps its four windows, and the update coming back changes nothing."""
    item = _fridays(live, "Occurrence healed", live.body_with_token(ALICE))
    live.wait_for_replies(1)
    occurrence = item.occurrence(2)
    occurrence.refresh()
    occurrence.body = HTMLBody("<p>This week in room 4.</p>")
    occurrence.save(update_fields=["body"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 3)
    assert outcomes(live, ALICE, item.uid) == [
        "accept_new_recurring_series",
        "instructions_restored",
        "ignored",
    ]
    assert booked_windows(live, ALICE, item) == expected_windows(FRIDAYS, NINE, HOUR)
    occurrence = item.occurrence(2)
    occurrence.refresh()
    _once(str(occurrence.body), "healed occurrence")
    assert "This week in room 4." in shown(str(occurrence.body))
    _once(str(requests_for(live, BOB, "Occurrence healed")[-1].body), "attendee's update")
    assert live.responses(ALICE, "Occurrence healed") == ["Accepted"]
