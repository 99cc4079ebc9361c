"""EWS GetItem payloads for mapping tests, written in the shape Exchange 2016 returns.

Each builder emits one item element with its children in schema order (MS-OXWS* ``ItemType``,
``MessageType``, ``MeetingMessageType``, ``MeetingRequestMessageType``/``MeetingCancellation…``),
so `get_item_response` can be validated against ../shared/conformance/ews-schema when present,
which keeps these hand-written payloads honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from vmrsched.adapters.ews.models import PROPERTY_SET, item_from_xml

T = "http://schemas.microsoft.com/exchange/services/2006/types"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
S = "http://schemas.xmlsoap.org/soap/envelope/"
CONFORMANCE = Path(__file__).resolve().parents[4] / "shared" / "conformance"
SCHEMA = CONFORMANCE / "ews-schema" / "messages.xsd"


def _mailbox(tag: str, email: str, name: str) -> str:
    return (
        f"<t:{tag}><t:Mailbox><t:Name>{name}</t:Name><t:EmailAddress>{email}</t:EmailAddress>"
        f"<t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:{tag}>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Meeting:
    """One meeting message, request or cancellation, with Exchange's usual fields."""

    element: str = "MeetingRequest"  # or MeetingCancellation, MeetingResponse, Message
    item_id: str = "AAMkAGI1AAA="
    item_class: str = "IPM.Schedule.Meeting.Request"
    subject: str = "Quarterly review"
    body_html: str | None = "<html><body><p>Agenda</p></body></html>"
    body_text: str | None = None
    received: str = "2026-11-20T08:00:00Z"
    sender: tuple[str, str] | None = ("alice@contoso.com", "Alice Wilber")
    author: tuple[str, str] | None = ("alice@contoso.com", "Alice Wilber")
    is_out_of_date: bool = False
    uid: str | None = "040000008200E00074C5B7101A82E00800000000A1B2C3D4"
    recurrence_id: str | None = None
    request_type: str | None = "NewMeetingRequest"
    start: str | None = "2026-11-23T09:00:00Z"
    end: str | None = "2026-11-23T10:00:00Z"
    calendar_item_type: str | None = "Single"
    organizer: tuple[str, str] | None = ("alice@contoso.com", "Alice Wilber")
    sequence: int | None = 0
    recurrence: str | None = None
    modified: list[tuple[str, str, str]] = field(default_factory=list)  # (original, start, end)
    deleted: list[str] = field(default_factory=list)
    time_zone_id: str | None = "W. Europe Standard Time"
    extended: dict[str, str] = field(default_factory=dict)  # "sequence"/"marker" → value

    def xml(self) -> str:
        parts = [f'<t:ItemId Id="{self.item_id}" ChangeKey="CwAAABYA"/>']
        parts.append(f"<t:ItemClass>{self.item_class}</t:ItemClass>")
        parts.append(f"<t:Subject>{_escape(self.subject)}</t:Subject>")
        if self.body_html is not None:
            parts.append(f'<t:Body BodyType="HTML">{_escape(self.body_html)}</t:Body>')
        elif self.body_text is not None:
            parts.append(f'<t:Body BodyType="Text">{_escape(self.body_text)}</t:Body>')
        parts.append(f"<t:DateTimeReceived>{self.received}</t:DateTimeReceived>")
        if "sequence" in self.extended:
            parts.append(
                '<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" '
                'PropertyId="33281" PropertyType="Integer"/>'
                f"<t:Value>{self.extended['sequence']}</t:Value></t:ExtendedProperty>"
            )
        if "marker" in self.extended:
            parts.append(
                f'<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="{PROPERTY_SET}" '
                'PropertyName="WriteMarker" PropertyType="String"/>'
                f"<t:Value>{self.extended['marker']}</t:Value></t:ExtendedProperty>"
            )
        if self.body_text is not None and self.body_html is not None:
            parts.append(f'<t:TextBody BodyType="Text">{_escape(self.body_text)}</t:TextBody>')
        if self.sender is not None:
            parts.append(_mailbox("Sender", *self.sender))
        if self.author is not None:
            parts.append(_mailbox("From", *self.author))
        if self.element == "Message":
            return f"<t:Message>{''.join(parts)}</t:Message>"
        parts.append(f"<t:IsOutOfDate>{str(self.is_out_of_date).lower()}</t:IsOutOfDate>")
        if self.uid is not None:
            parts.append(f"<t:UID>{self.uid}</t:UID>")
        if self.recurrence_id is not None:
            parts.append(f"<t:RecurrenceId>{self.recurrence_id}</t:RecurrenceId>")
        if self.element == "MeetingRequest":
            parts += self._request_tail()
        elif self.element in ("MeetingCancellation", "MeetingResponse"):
            parts += self._cancellation_tail()
        return f"<t:{self.element}>{''.join(parts)}</t:{self.element}>"

    def _request_tail(self) -> list[str]:
        parts = []
        if self.request_type is not None:
            parts.append(f"<t:MeetingRequestType>{self.request_type}</t:MeetingRequestType>")
        parts.append("<t:IntendedFreeBusyStatus>Busy</t:IntendedFreeBusyStatus>")
        if self.start is not None:
            parts.append(f"<t:Start>{self.start}</t:Start>")
        if self.end is not None:
            parts.append(f"<t:End>{self.end}</t:End>")
        if self.calendar_item_type is not None:
            parts.append(f"<t:CalendarItemType>{self.calendar_item_type}</t:CalendarItemType>")
        if self.organizer is not None:
            parts.append(_mailbox("Organizer", *self.organizer))
        if self.sequence is not None:
            parts.append(
                f"<t:AppointmentSequenceNumber>{self.sequence}</t:AppointmentSequenceNumber>"
            )
        if self.recurrence is not None:
            parts.append(f"<t:Recurrence>{self.recurrence}</t:Recurrence>")
        if self.modified:
            parts.append("<t:ModifiedOccurrences>")
            for index, (original, start, end) in enumerate(self.modified):
                parts.append(
                    f'<t:Occurrence><t:ItemId Id="OCC{index}" ChangeKey="x"/>'
                    f"<t:Start>{start}</t:Start><t:End>{end}</t:End>"
                    f"<t:OriginalStart>{original}</t:OriginalStart></t:Occurrence>"
                )
            parts.append("</t:ModifiedOccurrences>")
        if self.deleted:
            parts.append("<t:DeletedOccurrences>")
            parts += [
                f"<t:DeletedOccurrence><t:Start>{start}</t:Start></t:DeletedOccurrence>"
                for start in self.deleted
            ]
            parts.append("</t:DeletedOccurrences>")
        if self.time_zone_id is not None:
            parts.append(f"<t:StartTimeZoneId>{self.time_zone_id}</t:StartTimeZoneId>")
        return parts

    def _cancellation_tail(self) -> list[str]:
        parts = []
        if self.start is not None:
            parts.append(f"<t:Start>{self.start}</t:Start>")
        if self.end is not None:
            parts.append(f"<t:End>{self.end}</t:End>")
        if self.recurrence is not None:
            parts.append(f"<t:Recurrence>{self.recurrence}</t:Recurrence>")
        if self.calendar_item_type is not None:
            parts.append(f"<t:CalendarItemType>{self.calendar_item_type}</t:CalendarItemType>")
        return parts


def cancellation(**changes: Any) -> Meeting:
    """A MeetingCancellation (no Organizer, no AppointmentSequenceNumber in its schema)."""
    values: dict[str, Any] = {
        "element": "MeetingCancellation",
        "item_class": "IPM.Schedule.Meeting.Canceled",
        "subject": "Canceled: Quarterly review",
        "request_type": None,
        "organizer": None,
        "sequence": None,
        "time_zone_id": None,
    }
    values.update(changes)
    return Meeting(**values)


def get_item_response(*items: Meeting) -> bytes:
    """A whole GetItem response envelope holding `items`, one response message each."""
    messages = "".join(
        '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError'
        f"</m:ResponseCode><m:Items>{item.xml()}</m:Items></m:GetItemResponseMessage>"
        for item in items
    )
    return (
        f'<s:Envelope xmlns:s="{S}"><s:Body>'
        f'<m:GetItemResponse xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>{messages}'
        "</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"
    ).encode()


def item_elements(envelope: bytes) -> list[etree._Element]:
    """The item elements of a GetItem response (one per response message)."""
    root = etree.fromstring(envelope)
    return [items[0] for items in root.iter(f"{{{M}}}Items") if len(items)]


def parse(envelope: bytes) -> list[Any]:
    """The items of a GetItem response, as the EWS adapter's GetItem parses them."""
    return [item_from_xml(elem) for elem in item_elements(envelope)]


def schema_problems(envelope: bytes) -> list[str]:
    """Schema errors of the response's body element ([] when the schemas are absent)."""
    if not SCHEMA.is_file():
        return []
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA), parser))
    body = etree.fromstring(envelope).find(f"{{{S}}}Body")
    assert body is not None
    if schema.validate(body[0]):
        return []
    return [str(error) for error in schema.error_log][:5]
