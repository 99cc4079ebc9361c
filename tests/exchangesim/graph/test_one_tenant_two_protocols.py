"""EWS and Graph see one tenant: a meeting sent over Graph arrives over EWS (exchangelib), a
meeting sent over EWS arrives over Graph, and a response given over one reaches the other."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from exchangelib import Attendee, CalendarItem, HTMLBody, Mailbox
from exchangelib.ewsdatetime import EWSDateTime, EWSTimeZone
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from graph_harness import GraphClient, meeting_body, tomorrow_at
from harness import ALICE

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import SimServer

BOB = "bob@contoso.com"


def _ews_id(graph_id: str) -> str:
    return graph_id.replace("-", "/").replace("_", "+")


async def test_a_meeting_sent_over_graph_arrives_over_ews(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """POST /events with Bob: exchangelib finds the MeetingRequest in Bob's inbox and the
    tentative item on his calendar, with the UID Graph reports as iCalUId and the same id."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            f"/users/{ALICE}/events",
            meeting_body("Cross over", tomorrow_at(11), [(BOB, "required")]),
        )
    assert created.status == 201
    bob = exchangelib_accounts(fresh_server, BOB)

    def read() -> tuple[list[MeetingRequest], list[CalendarItem]]:
        return list(bob.inbox.all()), list(bob.calendar.all())

    requests, items = await asyncio.to_thread(read)
    assert [(type(r), r.subject) for r in requests] == [(MeetingRequest, "Cross over")]
    (item,) = items
    assert item.uid == created.body["iCalUId"]
    assert item.legacy_free_busy_status == "Tentative"
    organizer = exchangelib_accounts(fresh_server, ALICE)
    mine = await asyncio.to_thread(lambda: organizer.calendar.get(id=_ews_id(created.body["id"])))
    assert mine.subject == "Cross over"


async def test_a_meeting_sent_over_ews_is_accepted_over_graph(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """exchangelib sends the meeting; Graph shows Bob the eventMessageRequest, Bob accepts the
    linked event over Graph; exchangelib sees Alice's item record Bob's acceptance."""
    alice = exchangelib_accounts(fresh_server, ALICE)
    tz = EWSTimeZone("UTC")
    start = EWSDateTime.from_datetime(tomorrow_at(15)).astimezone(tz)

    def send() -> CalendarItem:
        item = CalendarItem(
            account=alice,
            folder=alice.calendar,
            subject="From EWS",
            body=HTMLBody("<p>hello</p>"),
            start=start,
            end=start + timedelta(hours=1),
            required_attendees=[
                Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")
            ],
        )
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        return item

    sent = await asyncio.to_thread(send)
    async with GraphClient(fresh_server) as graph:
        inbox = await graph.get(
            f"/users/{BOB}/mailFolders/inbox/messages?$expand=microsoft.graph.eventMessage/event"
        )
        (request,) = inbox.body["value"]
        assert request["@odata.type"] == "#microsoft.graph.eventMessageRequest"
        assert request["subject"] == "From EWS"
        accepted = await graph.post(
            f"/users/{BOB}/events/{request['event']['id']}/accept",
            {"comment": "yes", "sendResponse": True},
        )
    assert accepted.status == 202

    def reread() -> CalendarItem:
        return alice.calendar.get(id=sent.id)

    item = await asyncio.to_thread(reread)
    assert [(a.mailbox.email_address, a.response_type) for a in item.required_attendees] == [
        (BOB, "Accept")
    ]
