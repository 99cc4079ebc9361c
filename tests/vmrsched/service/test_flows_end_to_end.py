"""The placeholder and allocate flows end to end: exchangesim, the service, exchangelib organizers.

When the add-in could not reach vmrsched it leaves a placeholder block in the body; without the
add-in there is no token at all (``missing_token = "allocate"`` books anyway). The service books,
then acting as the organizer writes the instructions into the organizer's meeting and sends the
update to every attendee; the update comes back to the resource mailbox and changes nothing.
Each test reads what the organizer and an attendee see with exchangelib.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from exchangelib import Attendee, Body, CalendarItem, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from flows_support import (
    INSTRUCTIONS_HEADING,
    PLACEHOLDER_HEADING,
    calendar_item,
    outcomes,
    placeholder_body,
    requests_for,
    responses_in,
    send_meeting,
    shown,
    signed_tokens,
    structure_faults,
)
from series_support import settle
from test_end_to_end import ALICE, BOB, LiveService

from vmrsched.cli.demo_tenant import RESOURCE
from vmrsched.domain.instructions import placeholder_block
from vmrsched.domain.meetings import MeetingRef

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.slow

ALLOCATE = {"meetings": {"missing_token": "allocate"}}


def _booked_alias(live: LiveService, uid: str) -> str:
    booking = live.store.booking_for_meeting(MeetingRef(ALICE, uid).meeting_key)
    assert booking is not None
    assert booking.is_active
    return booking.alias


def _room_response(item: Any) -> str:
    """What the organizer's tracking shows for the resource (its recorded response)."""
    return next(
        str(a.response_type) for a in item.required_attendees if a.mailbox.email_address == RESOURCE
    )


def _assert_instructions_once(html: str, alias: str, *, where: str) -> None:
    text = shown(html)
    assert text.count(INSTRUCTIONS_HEADING) == 1, (where, text)
    assert text.count(alias) == 1 + text.count(f"/{alias}"), (where, text)  # join link, too
    assert signed_tokens(html) == 1, (where, text)
    assert PLACEHOLDER_HEADING not in text, (where, text)
    assert "VMRP:-" not in html, where


def _booked_and_written(live: LiveService, item: Any) -> tuple[str, str]:
    """Wait until the meeting is accepted and our update came back ignored; the booked alias and
    what the organizer reads, once the instructions stand in it once, well nested."""
    live.wait_for_replies(1)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting", "ignored"]
    alias = _booked_alias(live, item.uid)
    item.refresh()
    html = str(item.body)
    _assert_instructions_once(html, alias, where="organizer")
    assert structure_faults(html) == []
    return alias, shown(html)


def test_a_placeholder_is_replaced_by_the_instructions_for_everyone(live: LiveService) -> None:
    """The placeholder block gives way to the instructions in the organizer's meeting, the update
    reaches the attendee, and coming back to the resource it is recognised: one reply only."""
    body, _ = placeholder_body(live, "Agenda: the budget", "See you there, Alice")
    item = send_meeting(live, ALICE, "Budget review", body, others=(BOB,))
    alias, text = _booked_and_written(live, item)
    assert text.index("Agenda: the budget") < text.index(INSTRUCTIONS_HEADING)
    assert text.index(INSTRUCTIONS_HEADING) < text.index("See you there, Alice")

    update = requests_for(live, BOB, "Budget review")[-1]
    _assert_instructions_once(str(update.body), alias, where="attendee's update")
    bob_item = calendar_item(live, BOB, item.uid)
    assert bob_item is not None
    _assert_instructions_once(str(bob_item.body), alias, where="attendee's calendar")

    assert [r.subject for r in responses_in(live, ALICE, "Budget review")] == [
        "Accepted: Budget review"
    ]
    assert len(requests_for(live, RESOURCE, "Budget review")) == 2  # the request, our update
    # The room answered the request before our update went out, so its answer is not out of date
    # ([MS-OXOCAL] 3.1.5.2) and the organizer's tracking records it.
    assert _room_response(item) == "Accept"


def test_without_a_token_allocate_books_and_writes_the_instructions(
    live_factory: Callable[..., LiveService],
) -> None:
    """missing_token = "allocate": a meeting sent without the add-in gets a VMR and its
    instructions, added after the organizer's text, once for everyone."""
    live = live_factory(**ALLOCATE)
    item = send_meeting(live, ALICE, "No add-in", "<p>Quarterly planning.</p>", others=(BOB,))
    alias, text = _booked_and_written(live, item)
    assert text.index("Quarterly planning.") < text.index(INSTRUCTIONS_HEADING)
    update = requests_for(live, BOB, "No add-in")[-1]
    _assert_instructions_once(str(update.body), alias, where="attendee")
    assert live.responses(ALICE, "No add-in") == ["Accepted"]
    assert _room_response(item) == "Accept"


def test_without_a_token_reject_declines_with_its_template(live: LiveService) -> None:
    """missing_token = "reject" (the default): a clear decline, no booking, nothing written."""
    item = send_meeting(live, ALICE, "Plain invite", "<p>No add-in here.</p>", others=(BOB,))
    live.wait_for_replies(1)
    assert outcomes(live, ALICE, item.uid) == ["reject_invalid_alias_id"]
    assert live.store.booking_for_meeting(MeetingRef(ALICE, item.uid).meeting_key) is None
    (declined,) = responses_in(live, ALICE, "Plain invite")
    assert str(declined.subject) == "Declined: Plain invite"
    assert "does not carry valid video meeting details" in shown(str(declined.body))
    item.refresh()
    assert shown(str(item.body)) == "No add-in here."
    assert len(requests_for(live, BOB, "Plain invite")) == 1


def test_allocate_keeps_a_plain_text_organizer_body_readable(
    live_factory: Callable[..., LiveService],
) -> None:
    """A text-only client's body: its lines survive and the instructions follow them."""
    live = live_factory(**ALLOCATE)
    account = live.account(ALICE)
    start = EWSDateTime.now(live.zone).replace(second=0, microsecond=0) + timedelta(hours=27)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Text only",
        body=Body("Line one & more\nLine two"),
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=e)) for e in (RESOURCE, BOB)],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    live.wait_for_replies(1)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    item.refresh()
    text = shown(str(item.body))
    assert text.startswith("Line one & more\nLine two\n")
    _assert_instructions_once(str(item.body), _booked_alias(live, item.uid), where="organizer")


def test_a_placeholder_whose_class_a_client_dropped_still_goes_entirely(
    live: LiveService,
) -> None:
    """The placeholder's paragraphs without their marked block (an editor rewrote the HTML):
    its token's paragraph and the placeholder's own lines give way; the organizer's text stays."""
    _, token = placeholder_body(live, "", "")
    text = placeholder_block(live.components.rules.templates, token).text
    lines = [line for line in text.splitlines() if line.strip() and token not in line]
    body = (
        "<html><body><p class=MsoNormal>Agenda: hiring</p>"
        + "".join(f"<p class=MsoNormal>{line}</p>" for line in lines)
        + f"<p class=MsoNormal>{token}</p><p class=MsoNormal>Cheers</p></body></html>"
    )
    item = send_meeting(live, ALICE, "Rewritten placeholder", body, others=(BOB,))
    live.wait_for_replies(1)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    item.refresh()
    html = str(item.body)
    _assert_instructions_once(html, _booked_alias(live, item.uid), where="organizer")
    assert structure_faults(html) == []
    shown_text = shown(html)
    assert shown_text.startswith("Agenda: hiring\n")
    assert shown_text.rstrip().endswith("Cheers")
