"""The full loop: what the add-in put into the meeting, sent by the organizer, gets the VMR.

The task pane (served by the running vmrsched, in Chromium with the Outlook stand-in) fills the
body, location and attendees; Alice then sends exactly that meeting through exchangesim with
exchangelib, as Outlook would; the running service reads it from the resource mailbox and
accepts. With the service reachable the booked alias is the one the add-in reserved; with the
service stopped the placeholder gets a VMR once the service is back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from addin_live import LiveVmrsched, OutlookPane, organizer
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingResponse

from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.meetings import MeetingRef

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Browser

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.com"
ZONE = EWSTimeZone("Europe/Berlin")


def meeting_times() -> tuple[EWSDateTime, EWSDateTime]:
    start = EWSDateTime.now(ZONE).replace(second=0, microsecond=0) + timedelta(hours=26)
    return start, start + timedelta(hours=1)


def send_what_the_addin_made(server: RunningServer, item: dict[str, Any], times: Any) -> Any:
    """Alice sends the composed meeting: the add-in's body, location and attendees, unchanged."""
    account = organizer(server, ALICE)
    start, end = times
    meeting = CalendarItem(
        account=account,
        folder=account.calendar,
        subject=item["subject"],
        body=HTMLBody(f"<html><body>{item['body']}</body></html>"),
        location=item["location"] or None,
        start=start,
        end=end,
        required_attendees=[
            Attendee(mailbox=Mailbox(email_address=entry["emailAddress"]))
            for entry in item["required"]
        ],
    )
    meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    meeting.refresh()
    return meeting


def responses(server: RunningServer, subject: str) -> list[str]:
    """What Alice got back for ``subject``: 'Accepted' / 'Declined'."""
    inbox = organizer(server, ALICE).inbox
    return [
        str(found.subject).split(":", 1)[0]
        for found in inbox.all().order_by("datetime_received")
        if isinstance(found, MeetingResponse) and str(found.subject).endswith(subject)
    ]


def test_the_meeting_the_addin_filled_in_is_booked_with_the_reserved_alias(
    browser: Browser, server: RunningServer, vmrsched: LiveVmrsched, shots: Path
) -> None:
    """Reserve in the pane, send with exchangelib: accepted, and booked under the same alias."""
    times = meeting_times()
    page = OutlookPane(
        browser,
        server,
        ALICE,
        shots,
        body="<p>Agenda: design review</p>",
        required=["bob@contoso.com"],
        subject="Design review",
        start=times[0].isoformat(),
        end=times[1].isoformat(),
    )
    try:
        page.open(vmrsched)
        page.click_add()
        page.wait_state("success")
        (reservation,) = page.reserved
        item = page.item()
    finally:
        page.close()

    meeting = send_what_the_addin_made(server, item, times)
    vmrsched.wait_for("the service's reply", lambda: vmrsched.replies >= 1)

    booking = vmrsched.store.booking_for_meeting(MeetingRef(ALICE, meeting.uid).meeting_key)
    assert booking is not None
    assert booking.is_active
    assert booking.alias == reservation["alias"]
    assert booking.token_id == reservation["alias_uuid"]
    assert responses(server, "Design review") == ["Accepted"]


def test_a_placeholder_inserted_while_the_service_was_down_gets_a_vmr_when_it_is_back(
    browser: Browser, server: RunningServer, vmrsched: LiveVmrsched, shots: Path, tmp_path: Path
) -> None:
    """Service stopped → placeholder; Alice sends; the service, started again, books a VMR and
    writes its instructions over the placeholder in Alice's meeting."""
    times = meeting_times()
    page = OutlookPane(
        browser,
        server,
        ALICE,
        shots,
        body="<p>Agenda: the budget</p>",
        subject="Budget review",
        start=times[0].isoformat(),
        end=times[1].isoformat(),
    )
    try:
        page.open(vmrsched)
        vmrsched.stop()
        page.click_add()
        page.wait_state("unreachable")
        item = page.item()
    finally:
        page.close()
    (placeholder,) = re.findall(r"VMRP:-[A-Z0-9]{32}#", item["body"])

    meeting = send_what_the_addin_made(server, item, times)
    back = LiveVmrsched(server, tmp_path)  # the same database and installation key
    back.start()
    try:
        back.wait_for("the service's reply", lambda: back.replies >= 1)
        booking = back.store.booking_for_meeting(MeetingRef(ALICE, meeting.uid).meeting_key)
        assert booking is not None
        assert booking.is_active
        assert responses(server, "Budget review") == ["Accepted"]

        meeting.refresh()
        text = html_to_text(str(meeting.body))
        assert placeholder not in str(meeting.body)
        assert booking.alias in text
        assert "Join the video meeting" in text
        assert text.index("Agenda: the budget") < text.index("Join the video meeting")
        assert "Video meeting details will follow" not in text
    finally:
        back.close()
