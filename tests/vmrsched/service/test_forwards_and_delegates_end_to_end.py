"""Forwards and delegates end to end: one booking per meeting, and the organizer gets the replies.

An attendee forwards the organizer's meeting to the resource (it is not a new meeting: Exchange
keeps the organizer as ``From`` and the forwarder as ``Sender``); a delegate sends a meeting from
the organizer's calendar on the organizer's behalf (``From`` the organizer, ``Sender`` the
delegate). exchangelib plays every person; the delegate opens the organizer's calendar with
explicit access, as Microsoft's "Access a calendar as a delegate by using EWS" describes.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, HTMLBody, Mailbox
from exchangelib.errors import ErrorSendAsDenied
from exchangelib.folders import Calendar
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest
from exchangelib.properties import DistinguishedFolderId
from flows_support import (
    INSTRUCTIONS_HEADING,
    outcomes,
    placeholder_body,
    requests_for,
    responses_in,
    send_meeting,
    served,
    shown,
    signed_tokens,
)
from series_support import settle
from test_end_to_end import ALICE, BOB, LiveService

from exchangesim.sim import Simulator
from exchangesim.store.folders import CalendarPermission
from vmrsched.cli.demo_tenant import RESOURCE, tenant_for
from vmrsched.domain.meetings import MeetingRef

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

#: Alice's delegate: Editor on her calendar and Send on Behalf (Add-MailboxFolderPermission
#: alice:\Calendar -User carol -AccessRights Editor; Set-Mailbox alice -GrantSendOnBehalfTo carol).
#: Bob is Editor on her calendar too, without Send on Behalf.
CAROL = "carol@contoso.com"


@pytest.fixture
def server(api: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """The demo tenant (as `api` needs it), with Carol as Alice's delegate (and Bob an editor
    of her calendar)."""
    tenant = tenant_for(api)
    users = tuple(
        dataclasses.replace(user, grant_send_on_behalf_to=(CAROL,)) if user.email == ALICE else user
        for user in tenant.users
    )
    simulator = Simulator.from_tenant(dataclasses.replace(tenant, users=users))
    with served(simulator, monkeypatch) as running:
        store = running.sim.store
        granted = (CalendarPermission.of(CAROL, "Editor"), CalendarPermission.of(BOB, "Editor"))
        calendar = store.folder(ALICE, "calendar")
        store.set_calendar_permissions(ALICE, calendar.permissions + granted)
        yield running


def _as_delegate(live: LiveService, delegate: str, principal: str) -> tuple[Any, Any]:
    """``delegate``'s own client and ``principal``'s calendar opened with explicit access."""
    account = live.account(delegate)
    folder = Calendar(
        _distinguished_id=DistinguishedFolderId(
            id=Calendar.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=principal)
        ),
        root=account.root,
    )
    folder.test_access()  # FindItem there: refused unless the calendar's permissions let her in
    return account, folder


def _delegate_sends(live: LiveService, access: tuple[Any, Any], subject: str, body: str) -> Any:
    account, calendar = access
    start = EWSDateTime.now(live.zone).replace(second=0, microsecond=0) + timedelta(hours=30)
    item = CalendarItem(
        account=account,
        folder=calendar,
        subject=subject,
        body=HTMLBody(body),
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[
            Attendee(mailbox=Mailbox(email_address=email)) for email in (RESOURCE, BOB)
        ],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    return item


def _forward(live: LiveService, person: str, subject: str) -> None:
    request = next(
        found
        for found in live.account(person).inbox.all()
        if isinstance(found, MeetingRequest) and str(found.subject).endswith(subject)
    )
    request.forward(subject=f"FW: {request.subject}", body="Join us", to_recipients=[RESOURCE])


def test_an_attendees_forward_of_a_booked_meeting_changes_nothing(live: LiveService) -> None:
    """Bob forwards Alice's booked meeting to the resource: one booking, no second reply."""
    item = send_meeting(live, ALICE, "Forwarded once", live.body_with_token(ALICE), others=(BOB,))
    live.wait_for_replies(1)
    booking = live.store.booking_for_meeting(MeetingRef(ALICE, item.uid).meeting_key)
    _forward(live, BOB, "Forwarded once")
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting", "ignored"]
    assert live.store.booking_for_meeting(MeetingRef(ALICE, item.uid).meeting_key) == booking
    assert live.responses(ALICE, "Forwarded once") == ["Accepted"]
    assert responses_in(live, BOB, "Forwarded once") == []


def test_a_forward_whose_client_dropped_the_body_rewrites_nothing(live: LiveService) -> None:
    """Bob's client forwards with a body of its own (no instructions): the booked meeting is
    not "healed" on an attendee's behalf, no update goes out, nobody gets a reply."""
    item = send_meeting(live, ALICE, "Bare forward", live.body_with_token(ALICE), others=(BOB,))
    live.wait_for_replies(1)
    request = next(
        found
        for found in live.account(BOB).inbox.all()
        if isinstance(found, MeetingRequest) and str(found.subject).endswith("Bare forward")
    )
    forward = request.create_forward(
        subject="FW: Bare forward", body=None, to_recipients=[Mailbox(email_address=RESOURCE)]
    )
    forward.body = HTMLBody("<p>Can the room come too?</p>")  # the whole body, not added text
    forward.send()
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting", "ignored"]
    assert len(requests_for(live, BOB, "Bare forward")) == 1  # no update was sent
    assert live.responses(ALICE, "Bare forward") == ["Accepted"]
    assert responses_in(live, BOB, "Bare forward") == []


def test_a_forward_carrying_another_token_neither_moves_nor_releases_the_vmr(
    live: LiveService,
) -> None:
    """Bob forwards Alice's booked meeting with a token of his own in the text: Alice keeps her
    alias, the room answers nobody, and Bob's reservation stays unused."""
    item = send_meeting(live, ALICE, "Hijack", live.body_with_token(ALICE), others=(BOB,))
    live.wait_for_replies(1)
    key = MeetingRef(ALICE, item.uid).meeting_key
    booking = live.store.booking_for_meeting(key)
    request = next(
        found
        for found in live.account(BOB).inbox.all()
        if isinstance(found, MeetingRequest) and str(found.subject).endswith("Hijack")
    )
    forward = request.create_forward(
        subject="FW: Hijack", body=None, to_recipients=[Mailbox(email_address=RESOURCE)]
    )
    forward.body = HTMLBody(live.body_with_token(BOB))
    forward.send()
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting", "ignored"]
    assert live.store.booking_for_meeting(key) == booking
    assert live.responses(ALICE, "Hijack") == ["Accepted"]
    assert responses_in(live, BOB, "Hijack") == []


def test_a_meeting_reaching_the_resource_by_forward_is_booked_for_its_organizer(
    live: LiveService,
) -> None:
    """Alice invited only Bob; Bob forwards it to the resource: Alice's meeting is booked and
    the acceptance goes to Alice, not to Bob."""
    account = live.account(ALICE)
    start = EWSDateTime.now(live.zone).replace(second=0, microsecond=0) + timedelta(hours=28)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Bob brings the room",
        body=HTMLBody(live.body_with_token(ALICE)),
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB))],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    _forward(live, BOB, "Bob brings the room")
    live.wait_for_replies(1)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting"]
    assert live.responses(ALICE, "Bob brings the room") == ["Accepted"]
    assert responses_in(live, BOB, "Bob brings the room") == []


def test_a_delegate_sends_for_the_organizer_and_the_organizer_gets_the_reply(
    live: LiveService,
) -> None:
    """Carol sends from Alice's calendar: the resource sees From Alice, Sender Carol; the meeting
    is Alice's (one booking), the acceptance reaches Alice, and nothing reaches Carol."""
    delegate = _as_delegate(live, CAROL, ALICE)
    item = _delegate_sends(live, delegate, "Sent by Carol", live.body_with_token(ALICE))
    assert item.organizer.email_address == ALICE
    live.wait_for_replies(1)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting"]
    (request,) = requests_for(live, RESOURCE, "Sent by Carol")
    assert request.author.email_address == ALICE
    assert request.sender.email_address == CAROL
    assert live.responses(ALICE, "Sent by Carol") == ["Accepted"]
    assert responses_in(live, CAROL, "Sent by Carol") == []


def test_a_delegates_placeholder_gets_instructions_written_as_the_organizer(
    live: LiveService,
) -> None:
    """The placeholder flow for a delegate's meeting: the instructions go into Alice's meeting
    (she is its organizer) and reach the attendees once; one reply, to Alice."""
    body, _ = placeholder_body(live, "Board prep", "Carol, for Alice")
    delegate = _as_delegate(live, CAROL, ALICE)
    item = _delegate_sends(live, delegate, "Carol's placeholder", body)
    live.wait_for_replies(1)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting", "ignored"]
    mine = live.account(ALICE).calendar.get(id=item.id)
    assert shown(str(mine.body)).count(INSTRUCTIONS_HEADING) == 1
    update = requests_for(live, BOB, "Carol's placeholder")[-1]
    assert signed_tokens(str(update.body)) == 1
    assert live.responses(ALICE, "Carol's placeholder") == ["Accepted"]


def test_sending_for_someone_without_their_grant_is_refused(live: LiveService) -> None:
    """Bob may edit Alice's calendar but not send for her: Exchange's ErrorSendAsDenied."""
    intruder = _as_delegate(live, BOB, ALICE)
    with pytest.raises(ErrorSendAsDenied):
        _delegate_sends(live, intruder, "Not allowed", "<p>Hi</p>")
