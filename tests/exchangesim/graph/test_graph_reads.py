"""Graph reads over the shared store: messages, event messages and their events, events,
calendarView, instances, query options and preferences."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from graph_harness import (
    GraphClient,
    assert_shape_like,
    meeting_body,
    sample_body,
    tomorrow_at,
)
from harness import ALICE, VMR

from exchangesim.store import Address, Body, Message, send_message

if TYPE_CHECKING:
    from harness import SimServer

BOB = "bob@contoso.com"  # a user: Calendar Attendant on (AutoUpdate)
CAROL = "carol@contoso.com"


async def _invite(graph: GraphClient, subject: str, *attendees: tuple[str, str]) -> dict:
    reply = await graph.post(
        f"/users/{ALICE}/events", meeting_body(subject, tomorrow_at(9), list(attendees))
    )
    assert reply.status == 201, reply.body
    return reply.body


async def _request_in(graph: GraphClient, mailbox: str, subject: str, expand: bool = False) -> dict:
    query = "?$top=50" + ("&$expand=microsoft.graph.eventMessage/event" if expand else "")
    reply = await graph.get(f"/users/{mailbox}/mailFolders/inbox/messages{query}")
    assert reply.status == 200, reply.body
    found = [m for m in reply.body["value"] if m["subject"] == subject]
    assert len(found) == 1, [m["subject"] for m in reply.body["value"]]
    return found[0]


async def test_a_meeting_request_is_an_event_message_request(fresh_server: SimServer) -> None:
    """The request in an attendee's inbox is #microsoft.graph.eventMessageRequest with
    meetingMessageType meetingRequest, the meeting's times, type and no recurrence."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Planning", (BOB, "required"))
        request = await _request_in(graph, BOB, "Planning")
    assert request["@odata.type"] == "#microsoft.graph.eventMessageRequest"
    assert request["meetingMessageType"] == "meetingRequest"
    assert request["meetingRequestType"] == "newMeetingRequest"
    assert request["type"] == "singleInstance"
    assert request["recurrence"] is None
    assert request["startDateTime"] == created["start"]
    assert request["endDateTime"] == created["end"]
    assert request["from"]["emailAddress"]["address"] == ALICE
    assert_shape_like(
        request, sample_body("eventMessage-meetingRequest.json"), ignore={"@odata.context"}
    )


async def test_with_the_calendar_attendant_the_request_links_to_a_tentative_event(
    fresh_server: SimServer,
) -> None:
    """AutoUpdate (every user): $expand=microsoft.graph.eventMessage/event gives the tentative
    event the Calendar Attendant put on the attendee's calendar; it is the event /events lists."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Linked", (BOB, "required"))
        request = await _request_in(graph, BOB, "Linked", expand=True)
        events = await graph.get(f"/users/{BOB}/events")
        navigated = await graph.get(
            f"/users/{BOB}/messages/{request['id']}/microsoft.graph.eventMessage/event"
        )
    event = request["event"]
    assert event is not None
    assert event["showAs"] == "tentative"
    assert event["isOrganizer"] is False
    assert event["iCalUId"] == created["iCalUId"]
    assert [e["id"] for e in events.body["value"]] == [event["id"]]
    assert navigated.status == 200
    assert navigated.body["id"] == event["id"]
    expanded_sample = sample_body("eventMessage-meetingRequest-expandEvent.json")
    assert_shape_like(request, expanded_sample, ignore={"@odata.context", "event"})
    assert_shape_like(event, expanded_sample["event"])


async def test_with_automate_processing_none_the_request_has_no_event(
    fresh_server: SimServer,
) -> None:
    """AutomateProcessing None (the VMR resource): the request waits in the inbox, no event is on
    the calendar, $expand gives event null and the event navigation answers 404."""
    async with GraphClient(fresh_server) as graph:
        await _invite(graph, "Unprocessed", (VMR, "resource"))
        request = await _request_in(graph, VMR, "Unprocessed", expand=True)
        events = await graph.get(f"/users/{VMR}/events")
        navigated = await graph.get(
            f"/users/{VMR}/messages/{request['id']}/microsoft.graph.eventMessage/event"
        )
    assert request["event"] is None
    assert events.body["value"] == []
    assert navigated.status == 404
    assert navigated.error_code == "ErrorItemNotFound"


async def test_an_event_has_every_property_graph_sends(fresh_server: SimServer) -> None:
    """GET /events/{id} for the organizer: keys and JSON types as in Graph's captured event."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Shape", (BOB, "required"), (CAROL, "optional"))
        reply = await graph.get(f"/users/{ALICE}/events/{created['id']}")
    event = reply.body
    assert_shape_like(
        event, sample_body("event-get-attendeeResponses.json"), ignore={"@odata.context"}
    )
    assert event["type"] == "singleInstance"
    assert event["isOrganizer"] is True
    assert event["responseStatus"]["response"] == "organizer"
    assert [(a["type"], a["status"]["response"]) for a in event["attendees"]] == [
        ("required", "none"),
        ("optional", "none"),
    ]
    assert event["organizer"]["emailAddress"]["address"] == ALICE


async def test_graph_ids_are_url_safe_forms_of_the_ews_ids(fresh_server: SimServer) -> None:
    """A Graph id is the store's (EWS) id with / and + replaced by - and _."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Ids", (BOB, "required"))
    store_id = created["id"].replace("-", "/").replace("_", "+")
    assert fresh_server.sim.store.get_item(store_id).subject == "Ids"
    assert "/" not in created["id"]
    assert "+" not in created["id"]


async def test_select_top_and_next_link_page_through_messages(fresh_server: SimServer) -> None:
    """$top=2 with $select: pages of two with only the selected keys, linked by @odata.nextLink
    until every message was seen once, newest first."""
    store = fresh_server.sim.store
    for n in range(5):
        send_message(
            store,
            ALICE,
            Message(subject=f"note {n}", body=Body("Text", "x"), to_recipients=(Address(BOB),)),
        )
    seen: list[str] = []
    async with GraphClient(fresh_server) as graph:
        reply = await graph.get(
            f"/users/{BOB}/mailFolders/inbox/messages?$top=2&$select=subject,isRead"
        )
        while True:
            assert reply.status == 200, reply.body
            for message in reply.body["value"]:
                assert set(message) <= {"@odata.etag", "id", "subject", "isRead"}
                seen.append(message["subject"])
            link = reply.body.get("@odata.nextLink")
            if link is None:
                break
            reply = await graph.get(link)
    assert sorted(seen) == [f"note {n}" for n in range(5)]
    assert len(set(seen)) == 5


async def test_filter_selects_messages_by_property(fresh_server: SimServer) -> None:
    """$filter with eq, and, startswith and an event-message cast picks the matching messages."""
    store = fresh_server.sim.store
    send_message(store, ALICE, Message(subject="alpha", to_recipients=(Address(BOB),)))
    send_message(store, ALICE, Message(subject="beta", to_recipients=(Address(BOB),)))
    async with GraphClient(fresh_server) as graph:
        await _invite(graph, "gamma", (BOB, "required"))
        by_subject = await graph.get(f"/users/{BOB}/messages?$filter=subject eq 'alpha'")
        unread = await graph.get(
            f"/users/{BOB}/messages?$filter=isRead eq false and startswith(subject,'b')"
        )
        meeting = await graph.get(
            f"/users/{BOB}/messages?$filter=microsoft.graph.eventMessage/meetingMessageType eq 'meetingRequest'"
        )
        bad = await graph.get(f"/users/{BOB}/messages?$filter=subject eq")
    assert [m["subject"] for m in by_subject.body["value"]] == ["alpha"]
    assert [m["subject"] for m in unread.body["value"]] == ["beta"]
    assert [m["subject"] for m in meeting.body["value"]] == ["gamma"]
    assert bad.status == 400


async def test_prefer_outlook_timezone_and_body_type_shape_the_event(
    fresh_server: SimServer,
) -> None:
    """Prefer outlook.timezone gives start/end in that zone's wall time; body-content-type text
    gives a text body; Preference-Applied says both were applied."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Zoned", (BOB, "required"))
        reply = await graph.get(
            f"/users/{ALICE}/events/{created['id']}",
            headers={
                "Prefer": 'outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"'
            },
        )
    start = reply.body["start"]
    assert start["timeZone"] == "Pacific Standard Time"
    utc_hour = int(created["start"]["dateTime"][11:13])
    assert int(start["dateTime"][11:13]) in ((utc_hour - 8) % 24, (utc_hour - 7) % 24)
    assert reply.body["body"] == {"contentType": "text", "content": "Zoned"}
    applied = reply.headers["Preference-Applied"]
    assert 'outlook.timezone="Pacific Standard Time"' in applied
    assert 'outlook.body-content-type="text"' in applied


async def test_a_series_lists_as_a_master_and_expands_into_instances(
    fresh_server: SimServer,
) -> None:
    """A weekly series: /events shows the seriesMaster with its recurrence; /instances and
    calendarView give occurrences with seriesMasterId and distinct iCalUIds."""
    start = tomorrow_at(10)
    body = meeting_body("Weekly", start, [(BOB, "required")])
    body["recurrence"] = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [start.strftime("%A").lower()]},
        "range": {
            "type": "numbered",
            "startDate": start.date().isoformat(),
            "numberOfOccurrences": 4,
        },
    }
    window = (
        f"startDateTime={(start - timedelta(days=1)).isoformat()}"
        f"&endDateTime={(start + timedelta(days=40)).isoformat()}"
    ).replace("+00:00", "Z")
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(f"/users/{ALICE}/events", body)
        master = created.body
        listed = await graph.get(f"/users/{ALICE}/events")
        instances = await graph.get(f"/users/{ALICE}/events/{master['id']}/instances?{window}")
        view = await graph.get(f"/users/{ALICE}/calendarView?{window}")
    assert created.status == 201, created.body
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["type"] == "weekly"
    assert master["recurrence"]["range"] == {
        "type": "numbered",
        "startDate": start.date().isoformat(),
        "endDate": "0001-01-01",
        "recurrenceTimeZone": "UTC",
        "numberOfOccurrences": 4,
    }
    assert [e["type"] for e in listed.body["value"]] == ["seriesMaster"]
    graph_master = sample_body("events-list-seriesMaster-group.json")["value"][0]
    assert_shape_like(listed.body["value"][0], graph_master)
    assert set(master["recurrence"]["pattern"]) == set(graph_master["recurrence"]["pattern"])
    occurrences = instances.body["value"]
    assert [e["type"] for e in occurrences] == ["occurrence"] * 4
    assert {e["seriesMasterId"] for e in occurrences} == {master["id"]}
    assert len({e["iCalUId"] for e in occurrences}) == 4
    assert {e["uid"] for e in occurrences} == {master["uid"]}
    assert [e["id"] for e in view.body["value"]] == [e["id"] for e in occurrences]
    assert_shape_like(
        occurrences[0], sample_body("event-instances-occurrences-exception.json")["value"][0]
    )


async def test_calendar_view_needs_a_window(sim_server: SimServer) -> None:
    """calendarView without startDateTime/endDateTime is a 400."""
    async with GraphClient(sim_server) as graph:
        reply = await graph.get(f"/users/{ALICE}/calendarView")
    assert reply.status == 400
    assert reply.error_code == "ErrorInvalidParameter"


async def test_an_unknown_or_foreign_id_is_not_found(fresh_server: SimServer) -> None:
    """Another mailbox's event id is 404 ErrorItemNotFound; a malformed id 400."""
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Mine", (BOB, "required"))
        foreign = await graph.get(f"/users/{BOB}/events/{created['id']}")
        junk = await graph.get(f"/users/{BOB}/events/not-an-id")
    assert foreign.status == 404
    assert foreign.error_code == "ErrorItemNotFound"
    assert junk.status == 400
    assert junk.error_code == "ErrorInvalidIdMalformed"


async def test_a_well_known_folder_resolves_to_its_id(fresh_server: SimServer) -> None:
    """GET /mailFolders/inbox gives the inbox's id and counts; the id names the same folder."""
    send_message(
        fresh_server.sim.store, ALICE, Message(subject="count me", to_recipients=(Address(BOB),))
    )
    async with GraphClient(fresh_server) as graph:
        inbox = await graph.get(f"/users/{BOB}/mailFolders/inbox")
        by_id = await graph.get(f"/users/{BOB}/mailFolders/{inbox.body['id']}/messages")
    assert inbox.status == 200
    assert inbox.body["displayName"] == "Inbox"
    assert (inbox.body["totalItemCount"], inbox.body["unreadItemCount"]) == (1, 1)
    assert [m["subject"] for m in by_id.body["value"]] == ["count me"]


async def test_the_default_calendar_has_an_id_and_owner(sim_server: SimServer) -> None:
    """GET /calendar names the default calendar and its owner."""
    async with GraphClient(sim_server) as graph:
        reply = await graph.get(f"/users/{VMR}/calendar")
    assert reply.status == 200
    assert reply.body["isDefaultCalendar"] is True
    assert reply.body["owner"]["address"] == VMR


async def test_a_requests_sequence_number_reads_as_an_extended_property(
    fresh_server: SimServer,
) -> None:
    """$expand=singleValueExtendedProperties($filter=id eq '<PidLidAppointmentSequence>')
    gives the request's sequence as a string, alongside the expanded event; the update after a
    new time carries a higher one; an unknown property is simply absent."""
    sequence_id = "Integer {00062002-0000-0000-C000-000000000046} Id 0x8201"
    unknown = "String {00020329-0000-0000-C000-000000000046} Name nothing-here"
    expand = (
        f"singleValueExtendedProperties($filter=id eq '{sequence_id}' or id eq '{unknown}'),"
        "microsoft.graph.eventMessage/event"
    )
    async with GraphClient(fresh_server) as graph:
        created = await _invite(graph, "Numbered", (BOB, "required"))
        moved = meeting_body("Numbered", tomorrow_at(11), [(BOB, "required")])
        patched = await graph.patch(
            f"/users/{ALICE}/events/{created['id']}", {"start": moved["start"], "end": moved["end"]}
        )
        assert patched.status == 200, patched.body
        reply = await graph.get(f"/users/{BOB}/mailFolders/inbox/messages?$expand={expand}")
    assert reply.status == 200, reply.body
    requests = sorted(reply.body["value"], key=lambda m: m["receivedDateTime"])
    values = [m["singleValueExtendedProperties"] for m in requests]
    assert [[p["id"] for p in v] for v in values] == [[sequence_id], [sequence_id]]
    first, second = (int(v[0]["value"]) for v in values)
    assert second > first
    assert all(m["event"] is not None for m in requests)


async def test_a_malformed_extended_property_id_is_refused(fresh_server: SimServer) -> None:
    """An id that names no MAPI property is a 400, as Graph answers."""
    async with GraphClient(fresh_server) as graph:
        reply = await graph.get(
            f"/users/{BOB}/messages?$expand=singleValueExtendedProperties($filter=id eq 'x')"
        )
    assert reply.status == 400
