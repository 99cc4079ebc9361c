"""Mailbox items: messages, calendar items and meeting messages.

The classes follow the EWS schema (``ItemType``, ``MessageType``, ``CalendarItemType``,
``MeetingMessageType`` and its Request/Response/Cancellation subtypes) with snake_case names, so a
front-end maps fields one to one. Value words are Exchange's (``Busy``, ``Accept``,
``RecurringMaster``, ``FullUpdate`` …). All datetimes are UTC-aware.

Items handed out by the `Store` are copies: change them through the store, which stamps a new
change key, records the change in the folder journal and notifies listeners.

The MAPI named properties Exchange keeps for meetings (PidLidGlobalObjectId and friends) are not
stored apart from the fields they follow from: `exchangesim.store.mapi_properties` derives them,
so they can never disagree with the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datetime import datetime

    from exchangesim.store.recurrence import Recurrence

BodyType = Literal["HTML", "Text"]
Importance = Literal["Low", "Normal", "High"]
Sensitivity = Literal["Normal", "Personal", "Private", "Confidential"]
ResponseType = Literal[
    "Unknown", "Organizer", "Tentative", "Accept", "Decline", "NoResponseReceived"
]
FreeBusyStatus = Literal["Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"]
CalendarItemType = Literal["Single", "Occurrence", "Exception", "RecurringMaster"]
MeetingRequestType = Literal[
    "None",
    "FullUpdate",
    "InformationalUpdate",
    "NewMeetingRequest",
    "Outdated",
    "SilentUpdate",
    "PrincipalWantsCopy",
]

# Item classes ([MS-OXOCAL] 2.2.*, [MS-OXCMSG]).
NOTE = "IPM.Note"
APPOINTMENT = "IPM.Appointment"
MEETING_REQUEST = "IPM.Schedule.Meeting.Request"
MEETING_CANCELLED = "IPM.Schedule.Meeting.Canceled"
RESPONSE_CLASSES: dict[str, str] = {
    "Accept": "IPM.Schedule.Meeting.Resp.Pos",
    "Tentative": "IPM.Schedule.Meeting.Resp.Tent",
    "Decline": "IPM.Schedule.Meeting.Resp.Neg",
}
FORWARD_NOTIFICATION = "IPM.Schedule.Meeting.Notification.Forward"

# PidLidAppointmentStateFlags bits ([MS-OXOCAL] 2.2.1.10), EWS AppointmentState.
ASF_MEETING = 0x1
ASF_RECEIVED = 0x2
ASF_CANCELED = 0x4


@dataclass(frozen=True)
class Address:
    """A mailbox as EWS ``EmailAddressType`` names it; addresses compare case-insensitively."""

    email: str
    name: str = ""
    routing_type: str = "SMTP"

    @property
    def key(self) -> str:
        """The case-folded address, for comparisons and lookups."""
        return self.email.casefold()


@dataclass(frozen=True)
class Body:
    """An item body; ``type`` is ``HTML`` or ``Text``."""

    type: BodyType = "Text"
    content: str = ""


@dataclass(frozen=True)
class PropertyKey:
    """Which MAPI property an EWS ``ExtendedFieldURI`` names.

    Exactly one of ``property_tag``, or a property set (``distinguished_set`` such as
    ``PublicStrings``, or ``property_set`` as a lower-case GUID) with ``property_name`` or
    ``property_id``. ``property_type`` is the EWS ``MapiPropertyTypeType`` word (``String`` …).
    """

    property_type: str
    distinguished_set: str | None = None
    property_set: str | None = None
    property_tag: int | None = None
    property_name: str | None = None
    property_id: int | None = None


ExtendedValue = str | tuple[str, ...]
"""An extended property value as EWS carries it: ``Value`` text or ``Values`` texts."""


@dataclass(frozen=True)
class Attendee:
    """A meeting attendee (``AttendeeType``) with the organizer's view of its response."""

    mailbox: Address
    response_type: ResponseType = "Unknown"
    last_response_time: datetime | None = None
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None


@dataclass(kw_only=True)
class Item:
    """Fields every item has (EWS ``ItemType``)."""

    id: str = ""
    change_key: str = ""
    folder_id: str = ""
    item_class: str = NOTE
    subject: str = ""
    body: Body = field(default_factory=Body)
    sensitivity: Sensitivity = "Normal"
    importance: Importance = "Normal"
    categories: tuple[str, ...] = ()
    is_read: bool = True
    is_draft: bool = False
    is_response_requested: bool | None = None
    has_attachments: bool = False
    size: int = 0
    date_time_created: datetime | None = None
    date_time_received: datetime | None = None
    date_time_sent: datetime | None = None
    last_modified_time: datetime | None = None
    last_modified_name: str | None = None
    internet_message_id: str | None = None
    in_reply_to: str | None = None
    conversation_id: str | None = None
    conversation_topic: str | None = None
    culture: str = "en-US"
    reminder_is_set: bool = False
    reminder_minutes_before_start: int = 15
    extended_properties: dict[PropertyKey, ExtendedValue] = field(default_factory=dict)


@dataclass(kw_only=True)
class Message(Item):
    """An e-mail message (EWS ``MessageType``, ``IPM.Note``). ``author`` is EWS ``From``."""

    sender: Address | None = None
    author: Address | None = None
    to_recipients: tuple[Address, ...] = ()
    cc_recipients: tuple[Address, ...] = ()
    bcc_recipients: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    received_by: Address | None = None
    received_representing: Address | None = None
    is_read_receipt_requested: bool = False
    is_delivery_receipt_requested: bool = False
    references: str | None = None


@dataclass(kw_only=True)
class CalendarFields:
    """Calendar fields shared by calendar items and the meeting messages that carry them."""

    uid: str = ""
    recurrence_id: datetime | None = None
    date_time_stamp: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    original_start: datetime | None = None
    is_all_day: bool = False
    legacy_free_busy_status: FreeBusyStatus = "Busy"
    intended_free_busy_status: FreeBusyStatus | None = None
    location: str = ""
    is_meeting: bool = False
    is_cancelled: bool = False
    is_organizer: bool = False
    meeting_request_was_sent: bool = False
    calendar_item_type: CalendarItemType = "Single"
    my_response_type: ResponseType = "Unknown"
    organizer: Address | None = None
    required_attendees: tuple[Attendee, ...] = ()
    optional_attendees: tuple[Attendee, ...] = ()
    resources: tuple[Attendee, ...] = ()
    appointment_reply_time: datetime | None = None
    appointment_sequence_number: int = 0
    appointment_state: int = 0
    recurrence: Recurrence | None = None
    deleted_occurrences: list[datetime] = field(default_factory=list)
    start_time_zone: str = "UTC"
    end_time_zone: str = "UTC"
    allow_new_time_proposal: bool = True
    is_online_meeting: bool = False
    #: PidLidOwnerCriticalChange ([MS-OXOCAL] 2.2.1.34): when the organizer sent the request this
    #: copy comes from (stamped on sending; an attendee's item and response carry it on).
    owner_critical_change: datetime | None = None

    def attendees(self) -> tuple[Attendee, ...]:
        """Required, optional and resource attendees, in that order."""
        return self.required_attendees + self.optional_attendees + self.resources


@dataclass(kw_only=True)
class CalendarItem(Item, CalendarFields):
    """An appointment or meeting (``IPM.Appointment``).

    A recurring master keeps its exceptions (full items, ``calendar_item_type="Exception"``,
    each with ``original_start``) and, in ``deleted_occurrences``, the original starts of
    deleted occurrences. Occurrence
    views made by the store carry ``master_id`` and an occurrence id. ``appointment_last_sequence``
    is the organizer's PidLidAppointmentLastSequence ([MS-OXOCAL] 2.2.4.2).
    """

    item_class: str = APPOINTMENT
    exceptions: list[CalendarItem] = field(default_factory=list)
    master_id: str | None = None
    appointment_last_sequence: int = 0


@dataclass(kw_only=True)
class MeetingMessage(Message, CalendarFields):
    """A meeting message (EWS ``MeetingMessageType``), e.g. a Meeting Forward Notification.

    ``response_type`` is the recipient's response (on a response: the response it carries).
    """

    item_class: str = FORWARD_NOTIFICATION
    associated_calendar_item_id: str | None = None
    is_delegated: bool = False
    is_out_of_date: bool = False
    has_been_processed: bool = False
    response_type: ResponseType = "Unknown"


@dataclass(kw_only=True)
class MeetingRequest(MeetingMessage):
    """A meeting request or update (``IPM.Schedule.Meeting.Request``)."""

    item_class: str = MEETING_REQUEST
    meeting_request_type: MeetingRequestType = "NewMeetingRequest"


@dataclass(kw_only=True)
class MeetingResponse(MeetingMessage):
    """An attendee's response (``IPM.Schedule.Meeting.Resp.Pos/Tent/Neg``)."""

    item_class: str = RESPONSE_CLASSES["Accept"]
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None


@dataclass(kw_only=True)
class MeetingCancellation(MeetingMessage):
    """A cancellation (``IPM.Schedule.Meeting.Canceled``)."""

    item_class: str = MEETING_CANCELLED
    importance: Importance = "High"


def estimated_size(item: Item) -> int:
    """A plausible EWS ``Size`` in bytes (Exchange counts all properties; we approximate)."""
    size = 1024 + len(item.subject.encode()) + len(item.body.content.encode())
    size += sum(len(str(v)) + 32 for v in item.extended_properties.values())
    if isinstance(item, Message):
        recipients = item.to_recipients + item.cc_recipients + item.bcc_recipients
        size += sum(len(a.email) + len(a.name) + 64 for a in recipients)
    if isinstance(item, CalendarItem | MeetingMessage):
        size += sum(len(a.mailbox.email) + len(a.mailbox.name) + 96 for a in item.attendees())
        size += len(item.location.encode())
    return size
