"""exchangelib item classes with the fields EWS has and exchangelib leaves out, and the
properties vmrsched reads and writes.

exchangelib's meeting-message classes lack ``UID`` and ``RecurrenceId``, which every meeting
message has ([MS-OXWSMTGS] ``MeetingMessageType``), and the calendar block of
``MeetingCancellationMessageType`` (Start, End, Recurrence). The subclasses below add them, and
`item_from_xml` parses GetItem answers into them. Subclasses with fields of their own get their
own field lists, so exchangelib's classes stay as they are for other users in the process.

A cancellation has no ``AppointmentSequenceNumber`` element in the schema; its sequence is the
MAPI property every meeting object carries, PidLidAppointmentSequence ([MS-OXOCAL] 2.2.1.1,
``PSETID_Appointment`` 0x8201), asked for as an extended property.
"""

from __future__ import annotations

from typing import Any, Final

from exchangelib.extended_properties import ExtendedProperty
from exchangelib.fields import DateTimeField, ExtendedPropertyField, FieldPath, TextField
from exchangelib.folders import BaseFolder
from exchangelib.items import CalendarItem, MeetingCancellation, MeetingRequest

#: vmrsched's named-property set (PS_PUBLIC_STRINGS would share names with other apps).
PROPERTY_SET: Final = "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a"


class AppointmentSequence(ExtendedProperty):  # type: ignore[misc]
    """PidLidAppointmentSequence, the meeting's sequence number on any meeting object."""

    distinguished_property_set_id = "Appointment"
    property_id = 0x8201
    property_type = "Integer"


class WriteMarker(ExtendedProperty):  # type: ignore[misc]
    """The marker vmrsched puts on a meeting it updated as the organizer."""

    property_set_id = PROPERTY_SET
    property_name = "WriteMarker"
    property_type = "String"


class MeetingRequestItem(MeetingRequest):  # type: ignore[misc]
    """A meeting request with the meeting-message fields exchangelib leaves out."""

    uid = TextField(field_uri="calendar:UID", is_read_only=True)
    recurrence_id = DateTimeField(field_uri="calendar:RecurrenceId", is_read_only=True)
    start_timezone_id = TextField(field_uri="calendar:StartTimeZoneId", is_read_only=True)
    appointment_sequence = ExtendedPropertyField(
        "appointment_sequence", value_cls=AppointmentSequence
    )
    write_marker = ExtendedPropertyField("write_marker", value_cls=WriteMarker)


class MeetingCancellationItem(MeetingCancellation):  # type: ignore[misc]
    """A cancellation with its meeting-message and calendar fields."""

    uid = TextField(field_uri="calendar:UID", is_read_only=True)
    recurrence_id = DateTimeField(field_uri="calendar:RecurrenceId", is_read_only=True)
    start = MeetingRequest.FIELDS["start"]
    end = MeetingRequest.FIELDS["end"]
    recurrence = MeetingRequest.FIELDS["recurrence"]
    type = MeetingRequest.FIELDS["type"]
    appointment_sequence = ExtendedPropertyField(
        "appointment_sequence", value_cls=AppointmentSequence
    )
    write_marker = ExtendedPropertyField("write_marker", value_cls=WriteMarker)


class OrganizerMeeting(CalendarItem):  # type: ignore[misc]
    """The organizer's calendar item, with the marker vmrsched writes on it."""

    write_marker = ExtendedPropertyField("write_marker", value_cls=WriteMarker)


#: GetItem parses these response elements into our classes (others: exchangelib's own).
ITEM_MODELS: Final[dict[str, type[Any]]] = {
    MeetingRequestItem.response_tag(): MeetingRequestItem,
    MeetingCancellationItem.response_tag(): MeetingCancellationItem,
    OrganizerMeeting.response_tag(): OrganizerMeeting,
}


def item_from_xml(elem: Any, account: Any = None) -> Any:
    """Parse one item element as GetItem does, into our classes where we have them."""
    model = ITEM_MODELS.get(elem.tag) or BaseFolder.item_model_from_tag(elem.tag)
    return model.from_xml(elem=elem, account=account)


#: What GetItem asks for (IdOnly + these): everything `meeting_message` reads, nothing more.
_FETCHED: Final = (
    "item_class",
    "subject",
    "body",
    "text_body",
    "datetime_received",
    "sender",
    "author",
    "is_out_of_date",
    "uid",
    "recurrence_id",
    "meeting_request_type",
    "start",
    "end",
    "type",
    "organizer",
    "appointment_sequence_number",
    "recurrence",
    "modified_occurrences",
    "deleted_occurrences",
    "start_timezone_id",
    "appointment_sequence",
    "write_marker",
)


def fetched_fields() -> set[FieldPath]:
    """The additional properties of the GetItem that reads new messages."""
    return {FieldPath(field=MeetingRequestItem.get_field_by_fieldname(name)) for name in _FETCHED}
