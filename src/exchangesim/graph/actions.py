"""Calendar writes: create, update, delete and cancel events; accept, tentatively accept and
decline them. Each acts through the store's meeting semantics, so attendees and organizers get
the same meeting messages an EWS or Outlook client would cause.

- ``POST /events`` (https://learn.microsoft.com/graph/api/user-post-events): saved in the
  calendar; with attendees it is a meeting and the invitations go out at once.
- ``PATCH /events/{id}`` (.../event-update): the organizer's change of a meeting sends the update
  to all attendees ("SendToAllAndSaveCopy"); an attendee's change stays in its own calendar.
- ``DELETE /events/{id}`` (.../event-delete): the organizer's meeting is cancelled for the
  attendees, then removed; an attendee's copy is removed without a response.
- ``POST /events/{id}/cancel`` (.../event-cancel): organizer only; ``Comment`` in the
  cancellation.
- ``POST /events/{id}/accept|tentativelyAccept|decline`` (.../event-accept ...): ``comment`` goes
  into the response's body; ``sendResponse`` false answers nobody (no response, no draft).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.collection import entity
from exchangesim.graph.context import GraphResult
from exchangesim.graph.errors import GraphError, bad_request
from exchangesim.graph.events import EVENT_ID, own_event
from exchangesim.graph.ids import rest_id
from exchangesim.graph.parse_event import event_changes
from exchangesim.graph.render_common import parse_local
from exchangesim.graph.render_event import render_event
from exchangesim.graph.routing import CAL, route
from exchangesim.store import meetings
from exchangesim.store.items import Body, CalendarItem

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall
    from exchangesim.store.responding import ResponseKind

_RESPONSES: Final[dict[str, ResponseKind]] = {
    "accept": "Accept",
    "tentativelyaccept": "Tentative",
    "decline": "Decline",
}


def _comment(call: GraphCall, key: str = "comment") -> Body | None:
    body = call.body if isinstance(call.body, dict) else {}
    lowered = {k.casefold(): v for k, v in body.items()}
    text = lowered.get(key)
    return None if text in (None, "") else Body("Text", str(text))


@route("POST", f"{CAL}events", "Calendars.ReadWrite")
def create_event(call: GraphCall) -> GraphResult:
    """POST /users/{id}/events."""
    changes = event_changes(call.body)
    if "start" not in changes or "end" not in changes:
        raise GraphError(400, "ErrorInvalidRequest", "An event needs a start and an end.")
    item = CalendarItem()
    for name, value in changes.items():
        setattr(item, name, value)
    if item.body.type == "Text" and item.body.content == "":
        item.body = Body("HTML", "")
    created = meetings.send_meeting(call.sim.store, call.mailbox, item, send="SendToAllAndSaveCopy")
    result = entity(call, render_event(created, call), "events/$entity")
    result.status = 201
    result.headers["Location"] = call.link(
        f"/users/{call.user_segment}/events('{rest_id(created.id)}')", {}
    )
    return result


@route("PATCH", f"{CAL}events/{EVENT_ID}", "Calendars.ReadWrite")
def update_event(call: GraphCall, event: str) -> GraphResult:
    """PATCH /users/{id}/events/{id}."""
    item = own_event(call, event)
    changes = event_changes(call.body)
    store = call.sim.store
    if item.is_organizer and item.is_meeting:
        updated = meetings.update_meeting(store, item.id, changes, send="SendToAllAndSaveCopy")
    elif item.is_organizer and (
        {"required_attendees", "optional_attendees", "resources"} & set(changes)
    ):
        # Adding attendees to an appointment makes it a meeting and invites them.
        updated = meetings.update_meeting(store, item.id, changes, send="SendToAllAndSaveCopy")
    else:
        result = store.update_item(item.id, changes)
        assert isinstance(result, CalendarItem)
        updated = result
    return entity(call, render_event(updated, call), "events/$entity")


@route("DELETE", f"{CAL}events/{EVENT_ID}", "Calendars.ReadWrite")
def delete_event(call: GraphCall, event: str) -> GraphResult:
    """DELETE /users/{id}/events/{id}."""
    item = own_event(call, event)
    store = call.sim.store
    if (
        item.is_organizer
        and item.is_meeting
        and item.meeting_request_was_sent
        and not item.is_cancelled
    ):
        meetings.cancel_meeting(store, item.id)
    else:
        store.delete_item(item.id)
    return GraphResult(204)


@route("POST", f"{CAL}events/{EVENT_ID}/cancel", "Calendars.ReadWrite")
def cancel_event(call: GraphCall, event: str) -> GraphResult:
    """POST /users/{id}/events/{id}/cancel (organizer only)."""
    item = own_event(call, event)
    if not item.is_organizer:
        raise GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    meetings.cancel_meeting(call.sim.store, item.id, body=_comment(call, "comment"))
    return GraphResult(202)


@route(
    "POST",
    f"{CAL}events/{EVENT_ID}/(?P<action>accept|tentativelyAccept|decline)",
    "Calendars.ReadWrite",
)
def respond_to_event(call: GraphCall, event: str, action: str) -> GraphResult:
    """POST /users/{id}/events/{id}/accept (or tentativelyAccept, decline)."""
    item = own_event(call, event)
    body: dict[str, Any] = call.body if isinstance(call.body, dict) else {}
    send = body.get("sendResponse", True)
    if not isinstance(send, bool):
        raise bad_request("sendResponse must be true or false.")
    proposed = body.get("proposedNewTime")
    start = end = None
    if proposed is not None:
        if action.casefold() == "accept" or not isinstance(proposed, dict):
            raise bad_request("proposedNewTime is only valid for tentativelyAccept and decline.")
        start, _ = parse_local(proposed.get("start"), "proposedNewTime.start")
        end, _ = parse_local(proposed.get("end"), "proposedNewTime.end")
    meetings.respond(
        call.sim.store,
        item.id,
        _RESPONSES[action.casefold()],
        body=_comment(call),
        disposition="SendAndSaveCopy" if send else "NoResponse",
        proposed_start=start,
        proposed_end=end,
    )
    return GraphResult(202)
