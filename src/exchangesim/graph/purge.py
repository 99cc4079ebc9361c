"""``permanentDelete`` of events and messages: the item goes to Recoverable Items (Purges) at
once instead of Deleted Items.

- https://learn.microsoft.com/graph/api/event-permanentdelete (``Calendars.ReadWrite``)
- https://learn.microsoft.com/graph/api/message-permanentdelete (``Mail.ReadWrite``)

Both answer 204 with no body. The event page does not say whether permanently deleting an
organizer's meeting cancels it; the DELETE page says deleting it "on the organizer's calendar
sends a cancellation message to the meeting attendees", and exchangesim assumes the same here
(the attendees would otherwise keep a meeting that no longer exists anywhere else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchangesim.graph.context import GraphResult
from exchangesim.graph.events import EVENT_ID, own_event
from exchangesim.graph.messages import _own_message
from exchangesim.graph.routing import CAL, ID, route
from exchangesim.store import meetings
from exchangesim.store.items import CalendarItem

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall


@route("POST", f"{CAL}events/{EVENT_ID}/permanentDelete", "Calendars.ReadWrite")
def purge_event(call: GraphCall, event: str) -> GraphResult:
    """POST /users/{id}/events/{id}/permanentDelete."""
    item = own_event(call, event)
    store = call.sim.store
    cancels = item.is_meeting and item.meeting_request_was_sent and not item.is_cancelled
    if item.is_organizer and cancels:
        # The cancellation leaves the organizer's item in Deleted Items: purge it there.
        meetings.cancel_meeting(store, item.id)
        for trashed in store.items(
            call.mailbox,
            "deleteditems",
            where=lambda i: isinstance(i, CalendarItem) and i.uid == item.uid,
        ):
            store.delete_item(trashed.id, mode="SoftDelete")
        return GraphResult(204)
    store.delete_item(item.id, mode="SoftDelete")
    return GraphResult(204)


@route(
    "POST",
    f"(?:(?:mailFolders|mailfolders)/{ID}/)?messages/(?P<message>{ID})/permanentDelete",
    "Mail.ReadWrite",
)
def purge_message(call: GraphCall, message: str) -> GraphResult:
    """POST /users/{id}/messages/{id}/permanentDelete."""
    item = _own_message(call, message)
    call.sim.store.delete_item(item.id, mode="SoftDelete")
    return GraphResult(204)
