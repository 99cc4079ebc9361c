"""The MAPI named properties Exchange keeps for meetings, derived from the items' fields.

PidLidGlobalObjectId and friends ([MS-OXOCAL] 2.2.1, [MS-OXPROPS]) are not stored apart from the
fields they follow from: `MAPI_PROPERTIES` derives each from an item, so they can never disagree
with it. The EWS front-end reads them as ``ExtendedFieldURI`` values (`exchangesim.ews.fields`),
Graph as ``singleValueExtendedProperties`` and the event's ``iCalUId``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from exchangesim.store.items import (
    ASF_MEETING,
    CalendarFields,
    CalendarItem,
    Item,
    MeetingMessage,
    MeetingResponse,
    PropertyKey,
    ResponseType,
)

if TYPE_CHECKING:
    from collections.abc import Callable

PSETID_MEETING = "6ed8da90-450b-101b-98da-00aa003f1305"
PSETID_APPOINTMENT = "00062002-0000-0000-c000-000000000046"
#: The Byte Array ID every Global Object ID starts with ([MS-OXOCAL] 2.2.1.27).
GOID_CLASS_ID = bytes.fromhex("040000008200E00074C5B7101A82E008")
_VCAL_UID = b"vCal-Uid" + (1).to_bytes(4, "little")

MapiValue = bytes | int | bool | str | datetime
"""A MAPI property value: PtypBinary, PtypInteger32, PtypBoolean, PtypString, PtypTime."""


def _encoded_global_id(uid: str) -> bytes | None:
    """The id an "EncodedGlobalId" UID spells in hex, else None ([MS-OXCICAL] 2.1.3.1.1.20.26:
    all HEXDIG, 82 characters or more, an even count, starting with the Byte Array ID)."""
    if len(uid) < 82 or len(uid) % 2 or not all(c in string.hexdigits for c in uid):
        return None
    return bytes.fromhex(uid) if uid[:32].upper() == GOID_CLASS_ID.hex().upper() else None


def global_object_id(uid: str, instance: date | None = None) -> bytes:
    """PidLidGlobalObjectId of the meeting whose iCalendar UID is ``uid`` ([MS-OXOCAL] 2.2.1.27).

    ``instance`` is the original date of the one occurrence or exception the object stands
    for; it fills the YH YL M D bytes (year big-endian, month, day). Without it they are zero,
    which makes PidLidCleanGlobalObjectId (2.2.1.28), shared by a series and all its instances.
    An Outlook/Exchange UID is the id in hex; any other UID is wrapped as ``vCal-Uid`` data with
    no creation time ([MS-ASEMAIL] 2.2.2.37 and its 4.3 examples).
    """
    goid = _encoded_global_id(uid)
    if goid is None:
        data = _VCAL_UID + uid.encode() + b"\x00"
        goid = GOID_CLASS_ID + bytes(20) + len(data).to_bytes(4, "little") + data
    day = (
        bytes(4)
        if instance is None
        else instance.year.to_bytes(2, "big") + bytes((instance.month, instance.day))
    )
    return goid[:16] + day + goid[20:]


def instance_date(item: CalendarFields) -> date | None:
    """The original date of the one instance an item or message is about (None for a series or
    a single meeting), in UTC like PidLidExceptionReplaceTime ([MS-OXOCAL] 2.2.10.2.5)."""
    when = item.recurrence_id
    if when is None and item.calendar_item_type in ("Occurrence", "Exception"):
        when = item.original_start
    return None if when is None else when.astimezone(UTC).date()


@dataclass(frozen=True)
class MapiProperty:
    """A MAPI property derived from item fields: canonical name, key (set and id, or tag, with
    its EWS ``MapiPropertyTypeType``) and the value it has on an item (None: not set)."""

    name: str
    key: PropertyKey
    value: Callable[[Item], MapiValue | None]


# PidLidResponseStatus values ([MS-OXOCAL] 2.2.1.11): respNone … respNotResponded.
_RESPONSE: dict[ResponseType, int] = {
    "Unknown": 0,
    "Organizer": 1,
    "Tentative": 2,
    "Accept": 3,
    "Decline": 4,
    "NoResponseReceived": 5,
}


def _meeting(
    get: Callable[[CalendarItem | MeetingMessage], MapiValue | None],
) -> Callable[[Item], MapiValue | None]:
    return lambda item: get(item) if isinstance(item, CalendarItem | MeetingMessage) else None


def _state_flags(item: CalendarItem | MeetingMessage) -> int:
    meeting = isinstance(item, CalendarItem) and item.is_meeting
    return item.appointment_state | (ASF_MEETING if meeting else 0)


def _is_recurring(item: CalendarItem | MeetingMessage) -> bool:
    return (
        item.recurrence is not None
        or item.recurrence_id is not None
        or item.calendar_item_type != "Single"
    )


def _is_exception(item: CalendarItem | MeetingMessage) -> bool:
    # A meeting message about one instance stands for an exception; so does an attendee's
    # orphan instance (a single item with a RecurrenceId) ([MS-OXOCAL] 2.2.1.35).
    if isinstance(item, MeetingMessage):
        return item.recurrence_id is not None
    kind = item.calendar_item_type
    return kind == "Exception" or (kind == "Single" and item.recurrence_id is not None)


def _named(
    name: str,
    property_set: str,
    lid: int,
    kind: str,
    get: Callable[[CalendarItem | MeetingMessage], MapiValue | None],
) -> MapiProperty:
    key = PropertyKey(property_type=kind, property_set=property_set, property_id=lid)
    return MapiProperty(name, key, _meeting(get))


def _goid(item: CalendarItem | MeetingMessage) -> bytes | None:
    return global_object_id(item.uid, instance_date(item)) if item.uid else None


def _clean_goid(item: CalendarItem | MeetingMessage) -> bytes | None:
    return global_object_id(item.uid) if item.uid else None


def _attendee_change(item: CalendarItem | MeetingMessage) -> datetime | None:
    # On a response: when the attendee sent it ([MS-OXOCAL] 2.2.5.2).
    return item.date_time_sent if isinstance(item, MeetingResponse) else None


_MTG, _APPT = PSETID_MEETING, PSETID_APPOINTMENT

#: The derived properties, each with its [MS-OXOCAL] section.
MAPI_PROPERTIES: tuple[MapiProperty, ...] = (
    _named("PidLidGlobalObjectId", _MTG, 0x0003, "Binary", _goid),  # 2.2.1.27
    _named("PidLidCleanGlobalObjectId", _MTG, 0x0023, "Binary", _clean_goid),  # 2.2.1.28
    _named("PidLidIsRecurring", _MTG, 0x0005, "Boolean", _is_recurring),  # 2.2.1.13
    _named("PidLidIsException", _MTG, 0x000A, "Boolean", _is_exception),  # 2.2.1.35
    _named("PidLidAttendeeCriticalChange", _MTG, 0x0001, "SystemTime", _attendee_change),
    _named(  # 2.2.1.34
        "PidLidOwnerCriticalChange", _MTG, 0x001A, "SystemTime", lambda i: i.owner_critical_change
    ),
    _named(  # 2.2.1.1
        "PidLidAppointmentSequence",
        _APPT,
        0x8201,
        "Integer",
        lambda i: i.appointment_sequence_number,
    ),
    _named("PidLidAppointmentStartWhole", _APPT, 0x820D, "SystemTime", lambda i: i.start),
    _named("PidLidAppointmentEndWhole", _APPT, 0x820E, "SystemTime", lambda i: i.end),
    _named("PidLidAppointmentStateFlags", _APPT, 0x8217, "Integer", _state_flags),  # 2.2.1.10
    _named(  # 2.2.1.11
        "PidLidResponseStatus", _APPT, 0x8218, "Integer", lambda i: _RESPONSE[i.my_response_type]
    ),
    _named(  # 2.2.1.12: the object is a recurring series
        "PidLidRecurring", _APPT, 0x8223, "Boolean", lambda i: i.recurrence is not None
    ),
    MapiProperty(  # [MS-OXCMSG] 2.2.1.3
        "PidTagMessageClass", PropertyKey("String", property_tag=0x001A), lambda i: i.item_class
    ),
)
