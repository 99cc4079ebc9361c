"""Graph JSON ⇄ our words. Pure: no IO, no clock.

Reading: `meeting_message` turns an ``eventMessageRequest`` (a request or update) or an
``eventMessage`` with ``meetingMessageType`` ``meetingCancelled``, read with
``$expand`` = `MESSAGE_EXPAND` (its ``event`` on the resource's calendar and its sequence
number), into a `MeetingMessage`:

- the meeting's UID and organizer come from the linked ``event`` (an event message has neither;
  https://learn.microsoft.com/graph/api/resources/eventmessage). Without an event (the
  resource's calendar processing is not ``AutoUpdate``) a message cannot name its meeting and
  is OTHER.
- Graph has no sequence property: it is read as the MAPI property it is,
  PidLidAppointmentSequence ([MS-OXOCAL] 2.2.1.1), a single-value extended property
  (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
- times come in UTC (the adapter sends ``Prefer: outlook.timezone="UTC"``); the organizer's zone
  is the event's ``originalStartTimeZone`` (a Windows or IANA name).
- an occurrence's original start is its event's ``originalStart``.

Writing: the same marks in bodies as EWS (`vmrsched.adapters.ews.mapping`): the write marker as
an HTML comment in the organizer's event body, which Exchange copies into the update it sends.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vmrsched.adapters.ews.mapping import UNKNOWN_CANCEL_SEQUENCE, iana_zone, marker_of
from vmrsched.adapters.graph.recurrence import time_zone as recurrence_zone
from vmrsched.adapters.graph.recurrence import to_recurrence
from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import ReplyKind

#: PidLidAppointmentSequence as Graph names an extended property.
SEQUENCE_PROPERTY: Final = "Integer {00062002-0000-0000-C000-000000000046} Id 0x8201"
#: What a meeting message is read with: its sequence and the event it links to.
MESSAGE_EXPAND: Final = (
    f"singleValueExtendedProperties($filter=id eq '{SEQUENCE_PROPERTY}'),"
    "microsoft.graph.eventMessage/event"
)
#: The ``Prefer`` header a meeting message is read with: times in UTC, bodies as HTML.
UTC_HTML: Final = {"Prefer": 'outlook.timezone="UTC", outlook.body-content-type="html"'}
#: Message types that may be about a meeting (everything else is OTHER without being read).
MEETING_TYPES: Final = frozenset(
    {"#microsoft.graph.eventMessageRequest", "#microsoft.graph.eventMessage"}
)
#: The response actions on an event (https://learn.microsoft.com/graph/api/event-accept ...).
ACTIONS: Final = {
    ReplyKind.ACCEPT: "accept",
    ReplyKind.TENTATIVE: "tentativelyAccept",
    ReplyKind.DECLINE: "decline",
}
#: ``responseStatus.response`` values that mean the resource has answered.
ANSWERED: Final = frozenset({"accepted", "tentativelyAccepted", "declined"})
_UPDATES: Final = frozenset({"fullUpdate", "informationalUpdate", "silentUpdate"})
#: PidLidGlobalObjectId's Byte Array ID ([MS-OXOCAL] 2.2.1.27) and the ``vCal-Uid`` wrapping of
#: a UID that is not Exchange's own ([MS-OXCICAL] 2.1.3.1.1.20.26).
_GOID_CLASS: Final = "040000008200E00074C5B7101A82E008"
_VCAL: Final = b"vCal-Uid" + (1).to_bytes(4, "little")


def ical_uid(goid_hex: str) -> str:
    """The meeting's UID as EWS names it (``calendar:UID``) for a GlobalObjectId in hex, as
    Graph's ``iCalUId``/``uid`` give it: Exchange's own UIDs are that hex; a UID from another
    system (``vCal-Uid`` data) is the text it wraps. So a meeting keeps its key when an
    installation moves from EWS to Graph."""
    try:
        data = bytes.fromhex(goid_hex)
    except ValueError:
        return goid_hex
    if len(data) > 52 and data[40:52] == _VCAL:
        return data[52:].rstrip(b"\x00").decode("utf-8", "replace")
    return goid_hex


def goid_hex(uid: str) -> str:
    """The inverse of `ical_uid`: the GlobalObjectId hex Graph's ``iCalUId`` has for `uid`."""
    text = uid.strip()
    if len(text) >= 82 and text[:32].upper() == _GOID_CLASS and _is_hex(text):
        return text
    data = _VCAL + text.encode("utf-8") + b"\x00"
    wrapped = bytes.fromhex(_GOID_CLASS) + bytes(20) + len(data).to_bytes(4, "little") + data
    return wrapped.hex().upper()


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def other_message(message_id: str, what: str, received: datetime | None = None) -> MeetingMessage:
    """A message we do not act on (mail, responses, incomplete meeting messages)."""
    return MeetingMessage(
        message_id=message_id,
        kind=MessageKind.OTHER,
        uid="",
        sequence=0,
        organizer_email="",
        subject=what,
        received=received,
    )


def parse_instant(value: object) -> datetime | None:
    """A DateTimeOffset (``2027-03-01T09:00:00Z``, up to 7 fraction digits) in UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def zone_name(name: object) -> str | None:
    """An IANA zone for a Windows or IANA zone name, or None."""
    if not isinstance(name, str) or not name.strip():
        return None
    mapped = iana_zone(name)
    if mapped:
        return mapped
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name.strip()


def parse_local(value: object) -> datetime | None:
    """A ``dateTimeTimeZone`` (``{"dateTime", "timeZone"}``) as an aware UTC datetime."""
    if not isinstance(value, dict):
        return None
    local = parse_instant(str(value.get("dateTime") or "") + "+00:00")
    zone = zone_name(value.get("timeZone")) or "UTC"
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def sequence_of(data: dict[str, Any]) -> int | None:
    """PidLidAppointmentSequence from the message's expanded extended properties."""
    for prop in data.get("singleValueExtendedProperties") or ():
        if (
            isinstance(prop, dict)
            and str(prop.get("id", "")).casefold() == SEQUENCE_PROPERTY.casefold()
        ):
            text = str(prop.get("value", "")).strip()
            return int(text) if text.isdigit() else None
    return None


def message_kind(data: dict[str, Any], sequence: int | None) -> MessageKind:
    """NEW, UPDATE, CANCEL or OTHER from the message type and its meetingRequestType.

    An out-of-date request (a newer one about the same meeting has arrived) is OTHER, as in the
    EWS adapter: the newer request is read and answered on its own.
    """
    kind = data.get("@odata.type")
    meeting_type = data.get("meetingMessageType")
    if kind == "#microsoft.graph.eventMessage" and meeting_type == "meetingCancelled":
        return MessageKind.CANCEL
    if kind != "#microsoft.graph.eventMessageRequest" or meeting_type != "meetingRequest":
        return MessageKind.OTHER
    request_type = data.get("meetingRequestType") or "none"
    if data.get("isOutOfDate") or request_type in ("outdated", "principalWantsCopy"):
        return MessageKind.OTHER
    if request_type == "newMeetingRequest":
        return MessageKind.NEW
    if request_type in _UPDATES:
        return MessageKind.UPDATE
    return MessageKind.NEW if sequence in (None, 0) else MessageKind.UPDATE


def _address(value: object) -> tuple[str, str]:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(email, dict):
        return "", ""
    return str(email.get("name") or "").strip(), str(email.get("address") or "").strip()


def _bodies(data: dict[str, Any]) -> tuple[str, str]:
    body = data.get("body")
    if not isinstance(body, dict):
        return "", ""
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "").casefold() == "html":
        return content, html_to_text(content)
    return "", content


def meeting_message(data: dict[str, Any]) -> MeetingMessage:
    """Our view of one message read with `MESSAGE_EXPAND`. Messages that cannot name their
    meeting (no linked event, no times) are OTHER, never a crash."""
    message_id = str(data.get("id") or "")
    received = parse_instant(data.get("receivedDateTime"))
    what = str(data.get("@odata.type") or "#microsoft.graph.message")
    sequence = sequence_of(data)
    kind = message_kind(data, sequence)
    if kind is MessageKind.OTHER:
        return other_message(message_id, what, received)
    linked = data.get("event")
    event: dict[str, Any] = linked if isinstance(linked, dict) else {}
    uid = ical_uid(str(event.get("uid") or event.get("iCalUId") or "").strip())
    organizer_name, organizer_email = _address(event.get("organizer"))
    if not organizer_email:
        organizer_name, organizer_email = _address(data.get("from"))
    # Older event messages carry no startDateTime/endDateTime: the event's times then.
    start = parse_local(data.get("startDateTime")) or parse_local(event.get("start"))
    end = parse_local(data.get("endDateTime")) or parse_local(event.get("end"))
    instance = data.get("type") in ("occurrence", "exception")
    original = parse_instant(event.get("originalStart")) if instance else None
    if (
        not uid
        or not organizer_email
        or start is None
        or end is None
        or (instance and not original)
    ):
        return other_message(message_id, f"{what} (no event on the calendar)", received)
    if sequence is None:
        whole = kind is MessageKind.CANCEL and original is None
        sequence = UNKNOWN_CANCEL_SEQUENCE if whole else 0
    series = None
    if not instance and data.get("type") == "seriesMaster":
        series = to_recurrence(data.get("recurrence") or event.get("recurrence"))
    zone = (
        zone_name(event.get("originalStartTimeZone"))
        or zone_name(recurrence_zone(data.get("recurrence")))
        or "UTC"
    )
    html, text = _bodies(data)
    return MeetingMessage(
        message_id=message_id,
        kind=kind,
        uid=uid,
        sequence=sequence,
        organizer_email=organizer_email,
        organizer_name=organizer_name,
        sender_email=_address(data.get("sender"))[1],
        subject=str(data.get("subject") or ""),
        body_text=text,
        body_html=html,
        start=start,
        end=max(end, start),
        time_zone=zone,
        recurrence=series,
        occurrence_original_start=original,
        received=received,
        marker=marker_of(None, html, text),
    )


def text_as_html(text: str) -> str:
    """A plain-text body (a text-only client wrote it) as HTML, its lines kept as lines, so
    writing HTML instructions into it keeps the organizer's text (as the EWS adapter does)."""
    lines = html.escape(text).splitlines()
    return "<html><body>" + "<br>".join(lines) + "</body></html>" if lines else ""


def comment(body_html: str) -> str:
    """A reply's text for the ``comment`` of accept/decline (Graph takes text, not HTML)."""
    return html_to_text(body_html).strip()


def answered_since(event: dict[str, Any], since: datetime | None) -> bool:
    """Whether the resource answered this event at or after `since` (the request's arrival)."""
    status = event.get("responseStatus")
    if not isinstance(status, dict) or status.get("response") not in ANSWERED:
        return False
    when = parse_instant(status.get("time"))
    if when is None or when.year <= 1601:  # Graph's "never": 0001-01-01
        return False
    return since is None or when >= since.replace(microsecond=0)
