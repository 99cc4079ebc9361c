"""Writing instructions into the organizer's meeting over Graph, as the organizer.

The organizer's event is found by ``$filter=iCalUId eq`` (Graph's GlobalObjectId hex of the
meeting's UID), or for one occurrence in the calendar view around its original start; its body
gets the instructions (`vmrsched.domain.instructions`, shared with EWS) and vmrsched's marker as
an HTML comment, in one ``PATCH``: Graph sends the update to all attendees
(https://learn.microsoft.com/graph/api/event-update), and the update reaches the resource
mailbox carrying the marker, so the service recognises its own write. A plain-text body keeps
its lines. Nothing is written when the marker for this update is already there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog

from vmrsched.adapters.ews.mapping import marker_of, with_instructions
from vmrsched.adapters.graph import mapping
from vmrsched.domain.bodies import html_to_text
from vmrsched.ports.mailbox import MessageGoneError

if TYPE_CHECKING:
    from vmrsched.adapters.graph.transport import GraphTransport
    from vmrsched.ports.mailbox import InstructionsUpdate

log = structlog.get_logger(__name__)


def segment(value: str) -> str:
    """A path segment (an address or a Graph id), escaped."""
    return quote(value.strip(), safe="@=-_.")


def write_instructions(http: GraphTransport, update: InstructionsUpdate) -> bool:
    """PATCH the organizer's event body with the instructions and our marker (Graph sends
    the update to the attendees), unless our marker for this update is there already."""
    user = f"/users/{segment(update.organizer_email)}"
    event = _organizer_event(http, user, update)
    found = event.get("body")
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    content = str(body.get("content") or "")
    html = (
        content
        if str(body.get("contentType") or "").casefold() == "html"
        else mapping.text_as_html(content)
    )
    if marker_of(None, html, html_to_text(html)) == update.marker:
        log.info("instructions_already_written", organizer=update.organizer_email, uid=update.uid)
        return False
    updated = with_instructions(
        html,
        update.body_html,
        update.marker,
        replace_placeholder=update.replace_placeholder,
        placeholder_text=update.placeholder_text,
    )
    http.request(
        "PATCH",
        f"{user}/events/{segment(str(event['id']))}",
        what="writing instructions",
        body={"body": {"contentType": "html", "content": updated}},
    )
    log.info(
        "instructions_written",
        organizer=update.organizer_email,
        uid=update.uid,
        key=update.idempotency_key,
    )
    return True


def _organizer_event(http: GraphTransport, user: str, update: InstructionsUpdate) -> dict[str, Any]:
    headers = {"Prefer": 'outlook.timezone="UTC"'}  # the body as stored: text stays text
    if update.occurrence_original_start:
        original = mapping.parse_instant(update.occurrence_original_start)
        if original is None:
            raise MessageGoneError(
                f"unreadable occurrence start {update.occurrence_original_start!r}"
            )
        start = (original - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (original + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = f"{user}/calendarView?startDateTime={start}&endDateTime={end}&$top=1000"
    else:
        goid = mapping.goid_hex(update.uid)
        path = f"{user}/events?$filter=iCalUId eq '{goid}'&$top=2"
    answer = http.request("GET", path, what="finding the organizer's meeting", headers=headers)
    for event in (answer.body or {}).get("value") or ():
        if not isinstance(event, dict):
            continue
        if not update.occurrence_original_start:
            return event
        uid = mapping.ical_uid(str(event.get("uid") or event.get("iCalUId") or ""))
        when = mapping.parse_instant(event.get("originalStart")) or mapping.parse_local(
            event.get("start")
        )
        if uid == update.uid and when == original:
            return event
    raise MessageGoneError(
        f"no meeting with UID {update.uid} in {update.organizer_email}'s calendar"
    )
