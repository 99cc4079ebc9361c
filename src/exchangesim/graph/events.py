"""Calendar reads: events, one event, calendarView, a series' instances.

https://learn.microsoft.com/graph/api/user-list-events (singles and series masters, no
occurrences), .../event-get, .../user-list-calendarview (singles, occurrences and exceptions in
a window), .../event-list-instances (a series' occurrences and exceptions in a window).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from exchangesim.graph.collection import entity, page
from exchangesim.graph.errors import GraphError, not_found
from exchangesim.graph.ids import store_id
from exchangesim.graph.render_common import parse_instant
from exchangesim.graph.render_event import render_event
from exchangesim.graph.routing import CAL, ID, NOT_DELTA, route
from exchangesim.store import calendar as store_calendar
from exchangesim.store.items import CalendarItem

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from exchangesim.graph.context import GraphCall, GraphResult

#: The event id segment (never the ``delta`` function).
EVENT_ID = f"(?P<event>{NOT_DELTA}{ID})"


def window(params: Mapping[str, str]) -> tuple[datetime, datetime]:
    """``startDateTime`` and ``endDateTime`` (ISO 8601; without an offset: UTC)."""
    lowered = {k.casefold(): v for k, v in params.items()}
    start, end = lowered.get("startdatetime"), lowered.get("enddatetime")
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    return parse_instant(start, "startDateTime"), parse_instant(end, "endDateTime")


def own_event(call: GraphCall, event_id: str) -> CalendarItem:
    """A calendar item (or occurrence) of the call's mailbox; 404 otherwise."""
    found = call.sim.store.find_item(store_id(event_id))
    if found is None or found[0].address.casefold() != call.mailbox.casefold():
        raise not_found()
    item = found[2]
    if not isinstance(item, CalendarItem):
        raise not_found()
    return item


@route("GET", f"{CAL}events", "Calendars.Read")
def list_events(call: GraphCall) -> GraphResult:
    """GET /users/{id}/events: singles and series masters of the default calendar."""
    items = [
        i for i in call.sim.store.items(call.mailbox, "calendar") if isinstance(i, CalendarItem)
    ]
    return page(call, items, lambda i: render_event(i, call), "events")


@route("GET", f"{CAL}events/{EVENT_ID}", "Calendars.Read")
def get_event(call: GraphCall, event: str) -> GraphResult:
    """GET /users/{id}/events/{id} (a series master, single, occurrence or exception)."""
    return entity(call, render_event(own_event(call, event), call), "events/$entity")


@route("GET", f"{CAL}calendarView", "Calendars.Read")
def calendar_view(call: GraphCall) -> GraphResult:
    """GET /users/{id}/calendarView?startDateTime=...&endDateTime=..."""
    start, end = window(call.query.raw)
    items = call.sim.store.calendar_view(call.mailbox, "calendar", start, end)
    return page(call, items, lambda i: render_event(i, call), "calendarView")


@route("GET", f"{CAL}events/{EVENT_ID}/instances", "Calendars.Read")
def instances(call: GraphCall, event: str) -> GraphResult:
    """GET /users/{id}/events/{id}/instances?startDateTime=...&endDateTime=..."""
    start, end = window(call.query.raw)
    master = own_event(call, event)
    if master.recurrence is None:
        raise GraphError(
            400, "ErrorInvalidRequest", "The instances function is only valid on a series master."
        )
    views = store_calendar.expand(master, start, end, 1000)
    return page(call, views, lambda i: render_event(i, call), f"events('{event}')/instances")


@route("GET", "calendar", "Calendars.Read")
def get_calendar(call: GraphCall) -> GraphResult:
    """GET /users/{id}/calendar: the default calendar (https://learn.microsoft.com/graph/api/calendar-get)."""
    from exchangesim.graph.ids import rest_id  # noqa: PLC0415

    folder = call.sim.store.folder(call.mailbox, "calendar")
    mailbox = call.sim.store.mailbox(call.mailbox)
    data = {
        "id": rest_id(folder.id),
        "name": folder.display_name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": folder.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": [],
        "defaultOnlineMeetingProvider": "none",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": mailbox.display_name, "address": mailbox.address},
    }
    return entity(call, data, "calendars/$entity")
