"""Answering a meeting request over Graph, as the resource mailbox.

``POST /events/{id}/accept`` (or ``decline``, ``tentativelyAccept``) on the request's event with
the reply as ``comment`` and ``sendResponse: true``. A first attempt (``Reply.maybe_sent``
False) for a request the adapter read is that one request. Otherwise one GET of the request with
its event first (404: `MessageGoneError`): the event's ``responseStatus`` says whether the
resource answered after the request arrived; a declined event leaves the calendar, so a decline
is then looked for in Sent Items. `GraphMailbox.reply` (`client.py`) calls `send_reply`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from vmrsched.adapters.graph import mapping
from vmrsched.adapters.graph.organizer import segment as _segment
from vmrsched.ports.mailbox import MessageGoneError, ReplyKind

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.adapters.graph.transport import GraphTransport
    from vmrsched.ports.mailbox import Reply

log = structlog.get_logger(__name__)


def send_reply(
    http: GraphTransport, *, user: str, address: str, reply: Reply, known_event: str | None
) -> bool:
    """Accept, tentatively accept or decline the request's event on the calendar of ``address``
    (``user``: its ``/users/...`` path) with ``sendResponse: true``, unless the resource already
    answered it since it arrived. ``known_event``: the event id remembered when the request was
    read by this adapter (None: not read here)."""
    if known_event is not None and not reply.maybe_sent:
        return _reply_on_known_event(http, user, address, reply, known_event)
    message = _request_with_event(http, user, reply.message_id)
    received = mapping.parse_instant(message.get("receivedDateTime"))
    event = message.get("event")
    if not isinstance(event, dict) or not event.get("id"):
        if reply.kind is ReplyKind.DECLINE and _declined_since(http, user, received, message):
            return _logged(address, reply, sent=False)
        raise MessageGoneError(
            f"the request {reply.message_id} has no event on {address}'s calendar",
            fix="set the resource's calendar processing to AutoUpdate "
            "(Set-CalendarProcessing -AutomateProcessing AutoUpdate "
            "-AddNewRequestsTentatively $true); see docs/howto/run-on-graph.md",
        )
    if reply.maybe_sent and mapping.answered_since(event, received):
        return _logged(address, reply, sent=False)
    action = mapping.ACTIONS[reply.kind]
    http.request(
        "POST",
        f"{user}/events/{_segment(str(event['id']))}/{action}",
        what="replying to a meeting request",
        body={"comment": mapping.comment(reply.body_html), "sendResponse": True},
    )
    return _logged(address, reply, sent=True)


def _reply_on_known_event(
    http: GraphTransport, user: str, address: str, reply: Reply, event_id: str
) -> bool:
    """No earlier attempt, event known from the read: the answer alone, one request (what
    the Graph budget counts: a read and an answer per meeting, nothing more). The event is
    the meeting in Graph's model: when it is gone (cancelled and removed, or deleted) the
    answer is refused and nothing is sent; a request message deleted while its meeting is
    still on the calendar is answered."""
    action = mapping.ACTIONS[reply.kind]
    http.request(
        "POST",
        f"{user}/events/{_segment(event_id)}/{action}",
        what="replying to a meeting request",
        body={"comment": mapping.comment(reply.body_html), "sendResponse": True},
    )
    return _logged(address, reply, sent=True)


def _logged(address: str, reply: Reply, *, sent: bool) -> bool:
    log.info(
        "reply_sent" if sent else "reply_already_sent",
        mailbox=address,
        message=reply.message_id,
        kind=reply.kind.value,
        key=reply.idempotency_key,
    )
    return sent


def _request_with_event(http: GraphTransport, user: str, message_id: str) -> dict[str, Any]:
    answer = http.request(
        "GET",
        f"{user}/messages/{_segment(message_id)}?$expand=microsoft.graph.eventMessage/event",
        what="reading a meeting request",
        headers=mapping.UTC_HTML,
    )
    return answer.body if isinstance(answer.body, dict) else {}


def _declined_since(
    http: GraphTransport, user: str, received: datetime | None, request: dict[str, Any]
) -> bool:
    """Whether Sent Items holds a decline of this meeting sent after the request arrived
    (a declined event is removed from the resource's calendar, so the event cannot say)."""
    if received is None:
        return False
    since = received.strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = http.request(
        "GET",
        f"{user}/mailFolders/sentitems/messages?$filter=sentDateTime ge {since}&$top=100",
        what="looking for an earlier decline",
    )
    subject = str(request.get("subject") or "")
    return any(
        isinstance(m, dict)
        and m.get("meetingMessageType") == "meetingDeclined"
        and str(m.get("subject") or "").endswith(subject)
        for m in (answer.body or {}).get("value") or ()
    )


__all__ = ["send_reply"]
