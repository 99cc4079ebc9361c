"""Graph writes through the store's meeting semantics: responses, organizer updates and
cancellations, event creation, deletion, sendMail."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from graph_harness import GraphClient, graph_time, meeting_body, tomorrow_at
from harness import ALICE, VMR, make_sim, start_sim_server

from exchangesim.tenant import demo_tenant

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer

BOB = "bob@contoso.com"


@pytest.fixture
def autoupdate_server(cert_dir: Path) -> Iterator[SimServer]:
    """The demo tenant with the VMR resource at AutomateProcessing AutoUpdate."""
    tenant = demo_tenant()
    resources = []
    for resource in tenant.resources:
        kept = resource
        if resource.email == VMR:
            processing = dataclasses.replace(
                resource.calendar_processing, automate_processing="AutoUpdate"
            )
            kept = dataclasses.replace(resource, calendar_processing=processing)
        resources.append(kept)
    server = start_sim_server(
        make_sim(dataclasses.replace(tenant, resources=tuple(resources))), cert_dir=cert_dir
    )
    yield server
    server.stop()


async def _invite(
    graph: GraphClient, subject: str, attendee: str, kind: str = "resource"
) -> dict[str, Any]:
    reply = await graph.post(
        f"/users/{ALICE}/events", meeting_body(subject, tomorrow_at(14), [(attendee, kind)])
    )
    assert reply.status == 201, reply.body
    return reply.body


async def _inbox(graph: GraphClient, mailbox: str, expand: bool = False) -> list[dict[str, Any]]:
    query = "?$top=100" + ("&$expand=microsoft.graph.eventMessage/event" if expand else "")
    reply = await graph.get(f"/users/{mailbox}/mailFolders/inbox/messages{query}")
    assert reply.status == 200, reply.body
    return list(reply.body["value"])


async def _linked_event(graph: GraphClient, mailbox: str, subject: str) -> dict[str, Any]:
    (request,) = [m for m in await _inbox(graph, mailbox, expand=True) if m["subject"] == subject]
    assert request["event"] is not None
    return dict(request["event"])


async def test_accepting_the_linked_event_answers_the_organizer(
    autoupdate_server: SimServer,
) -> None:
    """AutoUpdate resource: accept on the event the request links to (comment, sendResponse) makes
    it busy and accepted, and the organizer gets meetingAccepted with the comment and sees the
    resource as accepted."""
    async with GraphClient(autoupdate_server) as graph:
        created = await _invite(graph, "Accept me", VMR)
        event = await _linked_event(graph, VMR, "Accept me")
        assert event["responseStatus"]["response"] in ("notResponded", "none")
        reply = await graph.post(
            f"/users/{VMR}/events/{event['id']}/accept",
            {"comment": "See you there", "sendResponse": True},
        )
        mine = await graph.get(f"/users/{VMR}/events/{event['id']}")
        organizer = await graph.get(f"/users/{ALICE}/events/{created['id']}")
        responses = [m for m in await _inbox(graph, ALICE) if m["subject"] == "Accepted: Accept me"]
    assert reply.status == 202
    assert reply.body is None
    assert mine.body["showAs"] == "busy"
    assert mine.body["responseStatus"]["response"] == "accepted"
    assert [
        (a["emailAddress"]["address"], a["status"]["response"]) for a in organizer.body["attendees"]
    ] == [(VMR, "accepted")]
    assert len(responses) == 1
    assert responses[0]["meetingMessageType"] == "meetingAccepted"
    assert responses[0]["@odata.type"] == "#microsoft.graph.eventMessage"
    assert "See you there" in responses[0]["body"]["content"]


async def test_accept_without_send_response_tells_nobody(autoupdate_server: SimServer) -> None:
    """sendResponse false: the event is accepted, no response reaches the organizer and no draft
    is left in the resource's Drafts."""
    async with GraphClient(autoupdate_server) as graph:
        created = await _invite(graph, "Quiet", VMR)
        event = await _linked_event(graph, VMR, "Quiet")
        reply = await graph.post(
            f"/users/{VMR}/events/{event['id']}/accept", {"sendResponse": False}
        )
        mine = await graph.get(f"/users/{VMR}/events/{event['id']}")
        organizer = await graph.get(f"/users/{ALICE}/events/{created['id']}")
        drafts = await graph.get(f"/users/{VMR}/mailFolders/drafts/messages")
        responses = [m for m in await _inbox(graph, ALICE) if "Quiet" in m["subject"]]
    assert reply.status == 202
    assert mine.body["responseStatus"]["response"] == "accepted"
    assert organizer.body["attendees"][0]["status"]["response"] == "none"
    assert drafts.body["value"] == []
    assert responses == []


async def test_declining_removes_the_event_and_tells_the_organizer(
    autoupdate_server: SimServer,
) -> None:
    """decline: the event leaves the resource's calendar; the organizer sees the decline."""
    async with GraphClient(autoupdate_server) as graph:
        created = await _invite(graph, "No thanks", VMR)
        event = await _linked_event(graph, VMR, "No thanks")
        reply = await graph.post(f"/users/{VMR}/events/{event['id']}/decline", {"comment": "Busy"})
        gone = await graph.get(f"/users/{VMR}/events/{event['id']}")
        organizer = await graph.get(f"/users/{ALICE}/events/{created['id']}")
    assert reply.status == 202
    assert gone.status == 404
    assert organizer.body["attendees"][0]["status"]["response"] == "declined"


async def test_tentative_with_a_proposed_time_reaches_the_organizer(
    autoupdate_server: SimServer,
) -> None:
    """tentativelyAccept with proposedNewTime: the organizer's attendee entry carries it."""
    later = tomorrow_at(16)
    async with GraphClient(autoupdate_server) as graph:
        created = await _invite(graph, "Maybe", BOB, "required")
        event = await _linked_event(graph, BOB, "Maybe")
        reply = await graph.post(
            f"/users/{BOB}/events/{event['id']}/tentativelyAccept",
            {
                "proposedNewTime": {
                    "start": graph_time(later),
                    "end": graph_time(later + timedelta(hours=1)),
                }
            },
        )
        organizer = await graph.get(f"/users/{ALICE}/events/{created['id']}")
    assert reply.status == 202, reply.body
    attendee = organizer.body["attendees"][0]
    assert attendee["status"]["response"] == "tentativelyAccepted"
    assert attendee["proposedNewTime"]["start"]["dateTime"].startswith(
        later.strftime("%Y-%m-%dT%H:%M:%S")
    )


async def test_the_organizer_cannot_respond_to_its_own_meeting(sim_server: SimServer) -> None:
    """accept on the organizer's own event is refused with 400."""
    async with GraphClient(sim_server) as graph:
        created = await _invite(graph, "Own", BOB, "required")
        reply = await graph.post(f"/users/{ALICE}/events/{created['id']}/accept", {})
    assert reply.status == 400


async def test_a_message_id_is_not_an_event_to_accept(sim_server: SimServer) -> None:
    """With AutomateProcessing None there is no event: accept on the request message's id is 404
    (Graph v1.0 has no accept action for messages)."""
    async with GraphClient(sim_server) as graph:
        await _invite(graph, "Unprocessed accept", VMR)
        (request,) = [m for m in await _inbox(graph, VMR) if m["subject"] == "Unprocessed accept"]
        reply = await graph.post(f"/users/{VMR}/events/{request['id']}/accept", {})
    assert reply.status == 404
    assert reply.error_code == "ErrorItemNotFound"


async def test_the_organizers_patch_sends_an_update_to_attendees(
    autoupdate_server: SimServer,
) -> None:
    """PATCH of the start by the organizer: the attendee gets a fullUpdate request and its
    event moves; a subject-only change is an informationalUpdate."""
    later = tomorrow_at(17)
    async with GraphClient(autoupdate_server) as graph:
        created = await _invite(graph, "Moving", BOB, "required")
        moved = await graph.patch(
            f"/users/{ALICE}/events/{created['id']}",
            {"start": graph_time(later), "end": graph_time(later + timedelta(hours=1))},
        )
        renamed = await graph.patch(
            f"/users/{ALICE}/events/{created['id']}", {"subject": "Moving on"}
        )
        inbox = await _inbox(graph, BOB)
        events = await graph.get(f"/users/{BOB}/events")
    assert moved.status == 200, moved.body
    assert moved.body["start"]["dateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    assert renamed.body["subject"] == "Moving on"
    kinds = sorted(
        m["meetingRequestType"] for m in inbox if m.get("meetingMessageType") == "meetingRequest"
    )
    assert "fullUpdate" in kinds
    assert "informationalUpdate" in kinds
    (event,) = events.body["value"]
    assert event["start"]["dateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    assert event["subject"] == "Moving on"


async def test_deleting_the_organizers_meeting_cancels_it_for_attendees(
    sim_server: SimServer,
) -> None:
    """DELETE by the organizer: 204, attendees get meetingCancelled; cancel with a comment puts the
    comment in the cancellation."""
    async with GraphClient(sim_server) as graph:
        first = await _invite(graph, "Drop one", BOB, "required")
        second = await _invite(graph, "Drop two", BOB, "required")
        deleted = await graph.delete(f"/users/{ALICE}/events/{first['id']}")
        cancelled = await graph.post(
            f"/users/{ALICE}/events/{second['id']}/cancel", {"comment": "All hands"}
        )
        gone = await graph.get(f"/users/{ALICE}/events/{first['id']}")
        inbox = await _inbox(graph, BOB)
    assert deleted.status == 204
    assert cancelled.status == 202
    assert gone.status == 404
    cancellations = {
        m["subject"]: m for m in inbox if m.get("meetingMessageType") == "meetingCancelled"
    }
    assert set(cancellations) == {"Canceled: Drop one", "Canceled: Drop two"}
    assert "All hands" in cancellations["Canceled: Drop two"]["body"]["content"]


async def test_only_the_organizer_can_cancel(autoupdate_server: SimServer) -> None:
    """cancel on an attendee's event is refused (400) and nothing is sent."""
    async with GraphClient(autoupdate_server) as graph:
        await _invite(graph, "Not yours", BOB, "required")
        event = await _linked_event(graph, BOB, "Not yours")
        reply = await graph.post(f"/users/{BOB}/events/{event['id']}/cancel", {})
    assert reply.status == 400


async def test_an_unknown_event_property_is_a_400(sim_server: SimServer) -> None:
    """POST /events with a property events do not have is refused, nothing is created."""
    body = meeting_body("Odd", tomorrow_at(8), [])
    body["color"] = "blue"
    async with GraphClient(sim_server) as graph:
        reply = await graph.post(f"/users/{ALICE}/events", body)
    assert reply.status == 400
    assert reply.error_code == "RequestBodyRead"


async def test_send_mail_delivers_and_keeps_a_sent_copy(fresh_server: SimServer) -> None:
    """sendMail: 202; the recipient's inbox has the message, the sender's Sent Items a copy."""
    message = {
        "message": {
            "subject": "Hello over Graph",
            "body": {"contentType": "text", "content": "Hi Bob"},
            "toRecipients": [{"emailAddress": {"address": BOB}}],
        }
    }
    async with GraphClient(fresh_server) as graph:
        reply = await graph.post(f"/users/{ALICE}/sendMail", message)
        inbox = await _inbox(graph, BOB)
        sent = await graph.get(f"/users/{ALICE}/mailFolders/sentitems/messages")
    assert reply.status == 202
    assert [m["subject"] for m in inbox] == ["Hello over Graph"]
    assert inbox[0]["body"] == {"contentType": "text", "content": "Hi Bob"}
    assert [m["subject"] for m in sent.body["value"]] == ["Hello over Graph"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reminderMinutesBeforeStart", "soon"),
        ("attendees", [{"emailAddress": "bob"}]),
        ("start", {"dateTime": "tomorrow", "timeZone": "UTC"}),
        ("start", {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars/Olympus"}),
        (
            "recurrence",
            {"pattern": {"type": "hourly"}, "range": {"type": "noEnd", "startDate": "2030-01-01"}},
        ),
        (
            "recurrence",
            {
                "pattern": {"type": "weekly", "interval": 1},
                "range": {"type": "noEnd", "startDate": "2030-01-01"},
            },
        ),
    ],
)
async def test_bad_event_values_are_400_and_create_nothing(
    sim_server: SimServer, field: str, value: Any
) -> None:
    """A malformed property value is a 400 with Graph's error shape; the calendar is unchanged."""
    body = meeting_body("Malformed", tomorrow_at(7), [])
    body[field] = value
    async with GraphClient(sim_server) as graph:
        before = await graph.get(f"/users/{ALICE}/events?$top=1000&$select=subject")
        reply = await graph.post(f"/users/{ALICE}/events", body)
        after = await graph.get(f"/users/{ALICE}/events?$top=1000&$select=subject")
    assert reply.status == 400, reply.body
    assert set(reply.body["error"]) == {"code", "message", "innerError"}
    assert after.body["value"] == before.body["value"]
