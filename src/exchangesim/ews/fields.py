"""EWS property paths and response shapes: which element each FieldURI names in which item type.

An EWS request names properties three ways (`NonEmptyArrayOfPathsToElementType`): a `FieldURI`
(``item:Subject``), an `IndexedFieldURI` (``item:InternetMessageHeader`` + index) or an
`ExtendedFieldURI` (a MAPI property). This module turns those into `FieldPath`, `IndexedPath` and
`ExtendedPath`, reads `ItemShape`/`FolderShape` into `ItemShape`/`FolderShape`, and holds, per
item kind, the elements of the schema's ``xs:sequence`` in schema order with the FieldURI that
asks for each (`ITEM_ELEMENTS`), so serializers emit children in the order the schema demands.

Shapes ([MS-OXWS*] BaseShape; "Property sets and response shapes in EWS in Exchange",
https://learn.microsoft.com/exchange/client-developer/exchange-web-services/property-sets-and-response-shapes-in-ews-in-exchange):

- ``IdOnly``: the ItemId only;
- ``Default``: the per-type set of `DEFAULT_ELEMENTS` (the documented GetItem examples for a
  message and a calendar item; meeting messages as messages plus their meeting fields, as the
  SyncFolderItems MeetingRequest sample shows);
- ``AllProperties``: the "first-class properties" (`ALL_PROPERTIES_EXCLUDED` lists what
  Exchange leaves out of it).

FindItem never returns bodies, attachments, response objects or recipient and attendee lists
(`FIND_EXCLUDED`, "FindItem operation": "It does not return any of the message body formats or
the recipient lists"); asking for them there is not an error, they are just absent.

The second half maps the same FieldURIs to store values (`ITEM_VALUES`, `FOLDER_VALUES`) for
restrictions (`parse_restriction`, `matches`) and sort orders (`parse_sort`, `sort_items`).
An `ExtendedFieldURI` reads the item's stored extended properties or one of the meeting
properties the store derives (`mapi_properties.MAPI_PROPERTIES`: PidLidGlobalObjectId …), as
text for responses (`extended_text`) and typed for restrictions (`extended_value`: binary as
bytes). The module is longer than the usual 400 lines because the two halves are one FieldURI
vocabulary; they would split cleanly into ``fields.py`` and ``restrictions.py``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal

from exchangesim.ews.faults import EwsError
from exchangesim.ews.xml import (
    T_NS,
    Element,
    child,
    child_text,
    format_datetime,
    local_name,
    parse_datetime,
)
from exchangesim.store.items import (
    Address,
    CalendarItem,
    ExtendedValue,
    Item,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
    Message,
    PropertyKey,
)
from exchangesim.store.mapi_properties import MAPI_PROPERTIES, MapiProperty, MapiValue

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.store.folders import Folder

BaseShape = Literal["IdOnly", "Default", "AllProperties"]
BodyTypeWanted = Literal["Best", "HTML", "Text"]
ItemKind = Literal[
    "Message",
    "CalendarItem",
    "MeetingMessage",
    "MeetingRequest",
    "MeetingResponse",
    "MeetingCancellation",
]
Purpose = Literal["get", "find", "sync"]

# --- property paths -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldPath:
    """A `t:FieldURI` (``item:Subject``)."""

    uri: str


@dataclass(frozen=True)
class IndexedPath:
    """A `t:IndexedFieldURI` (``item:InternetMessageHeader`` with ``FieldIndex``)."""

    uri: str
    index: str


@dataclass(frozen=True)
class ExtendedPath:
    """A `t:ExtendedFieldURI`: the MAPI property it names."""

    key: PropertyKey


PropertyPath = FieldPath | IndexedPath | ExtendedPath


_INVALID_EXTENDED: Final = "The extended property is invalid."


def parse_tag(text: str) -> int:
    """A `PropertyTagType` value: hexadecimal with ``0x`` or decimal (``0x10f4``, ``4340``)."""
    text = text.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise EwsError(
            "ErrorInvalidExtendedProperty", "The extended property is invalid."
        ) from None


def extended_key(el: Element) -> PropertyKey:
    """The `PropertyKey` of an `ExtendedFieldURI`; ``ErrorInvalidExtendedProperty`` when the
    attributes do not name exactly one property the way [MS-OXWSXPROP] 2.2.4.7 allows."""
    tag = el.get("PropertyTag")
    dset = el.get("DistinguishedPropertySetId")
    pset = el.get("PropertySetId")
    name = el.get("PropertyName")
    pid = el.get("PropertyId")
    invalid = EwsError("ErrorInvalidExtendedProperty", _INVALID_EXTENDED)
    if tag is not None:
        if dset or pset or name is not None or pid is not None:
            raise invalid
        return PropertyKey(property_type=el.get("PropertyType", ""), property_tag=parse_tag(tag))
    if bool(dset) == bool(pset) or (name is None) == (pid is None):
        raise invalid
    return PropertyKey(
        property_type=el.get("PropertyType", ""),
        distinguished_set=dset,
        property_set=pset.lower() if pset else None,
        property_name=name,
        property_id=int(pid) if pid is not None else None,
    )


def extended_attributes(key: PropertyKey) -> dict[str, str]:
    """The `ExtendedFieldURI` attributes for a key, as Exchange writes them back (a tag in
    lower-case hexadecimal, e.g. ``PropertyTag="0x10f4"`` for a request's ``4340``)."""
    attrs: dict[str, str] = {}
    if key.distinguished_set:
        attrs["DistinguishedPropertySetId"] = key.distinguished_set
    if key.property_set:
        attrs["PropertySetId"] = key.property_set
    if key.property_tag is not None:
        attrs["PropertyTag"] = hex(key.property_tag)
    if key.property_name is not None:
        attrs["PropertyName"] = key.property_name
    if key.property_id is not None:
        attrs["PropertyId"] = str(key.property_id)
    attrs["PropertyType"] = key.property_type
    return attrs


#: The GUIDs of the `DistinguishedPropertySetId` names ([MS-OXPROPS] 1.3.2), so that a property
#: asked for by name and by GUID is the same property.
PROPERTY_SETS: Final[dict[str, str]] = {
    "Meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "Appointment": "00062002-0000-0000-c000-000000000046",
    "Common": "00062008-0000-0000-c000-000000000046",
    "PublicStrings": "00020329-0000-0000-c000-000000000046",
    "Address": "00062004-0000-0000-c000-000000000046",
    "InternetHeaders": "00020386-0000-0000-c000-000000000046",
    "CalendarAssistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
    "UnifiedMessaging": "4442858e-a9e3-4e80-b900-317a210cc15b",
    "Task": "00062003-0000-0000-c000-000000000046",
    "Sharing": "00062040-0000-0000-c000-000000000046",
}


def property_identity(key: PropertyKey) -> tuple[object, ...]:
    """What makes two keys the same MAPI property: the tag, or the set's GUID with the name
    or id (property types and the spelling of the set do not matter)."""
    if key.property_tag is not None:
        return ("tag", key.property_tag)
    guid = PROPERTY_SETS.get(key.distinguished_set or "", (key.property_set or "").lower())
    if key.property_name is not None:
        return ("name", guid, key.property_name)
    return ("id", guid, key.property_id)


#: The MAPI properties the store derives from item fields (PidLidGlobalObjectId …), by identity.
_DERIVED: Final[dict[tuple[object, ...], MapiProperty]] = {
    property_identity(p.key): p for p in MAPI_PROPERTIES
}


def _derived(item: Item, key: PropertyKey) -> tuple[str, MapiValue] | None:
    """(type, value) of a derived MAPI property of the item; None when it is not one or unset."""
    prop = _DERIVED.get(property_identity(key))
    if prop is None:
        return None
    value = prop.value(item)
    return None if value is None else (prop.key.property_type, value)


def mapi_text(value: MapiValue) -> str:
    """A MAPI value as EWS writes it in `t:Value` (Binary in base64, Boolean ``true``/``false``,
    SystemTime as ``xs:dateTime`` in UTC)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)


def extended_text(item: Item, key: PropertyKey) -> ExtendedValue | None:
    """The `t:Value`(s) of the extended property ``key`` names on the item, or None.

    The derived meeting properties come from the item's fields and win over a stored value of
    the same property (the store keeps the fields they follow from as the truth).
    """
    derived = _derived(item, key)
    if derived is not None:
        return mapi_text(derived[1])
    wanted = property_identity(key)
    for stored, value in item.extended_properties.items():
        if property_identity(stored) == wanted:
            return value
    return None


_INTEGER_TYPES: Final = frozenset({"Integer", "Long", "Short"})


def _typed(property_type: str, text: str) -> Value:
    """A stored text value as the MAPI type it has, for comparisons (text when it is not one)."""
    try:
        if property_type == "Binary":
            return base64.b64decode(text, validate=True)
        if property_type in _INTEGER_TYPES:
            return int(text)
        if property_type == "Boolean":
            return text.strip().lower() in {"true", "1"}
        if property_type == "SystemTime":
            return parse_datetime(text)
    except (ValueError, binascii.Error):
        return text
    return text


def extended_value(item: Item, key: PropertyKey) -> Value:
    """The typed value of an extended property of the item, for restrictions and sorting:
    binary properties compare as bytes, not as base64 text."""
    derived = _derived(item, key)
    if derived is not None:
        return derived[1]
    wanted = property_identity(key)
    for stored, value in item.extended_properties.items():
        if property_identity(stored) == wanted:
            return value if isinstance(value, tuple) else _typed(stored.property_type, value)
    return None


def parse_path(el: Element) -> PropertyPath:
    """A property path element (`FieldURI`, `IndexedFieldURI`, `ExtendedFieldURI`)."""
    name = local_name(el)
    if name == "FieldURI":
        return FieldPath(el.get("FieldURI", ""))
    if name == "IndexedFieldURI":
        return IndexedPath(el.get("FieldURI", ""), el.get("FieldIndex", ""))
    if name == "ExtendedFieldURI":
        return ExtendedPath(extended_key(el))
    raise EwsError("ErrorInvalidPropertyRequest", "Property is not valid for this object type.")


def parse_paths(parent: Element | None) -> tuple[PropertyPath, ...]:
    """The paths under an `AdditionalProperties` element (none when absent)."""
    if parent is None:
        return ()
    return tuple(parse_path(el) for el in parent if isinstance(el.tag, str))


# --- shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemShape:
    """An `ItemResponseShapeType`: base shape, body format and additional properties."""

    base: BaseShape = "IdOnly"
    body_type: BodyTypeWanted = "Best"
    unique_body_type: BodyTypeWanted = "Best"
    normalized_body_type: BodyTypeWanted = "Best"
    additional: tuple[PropertyPath, ...] = ()
    field_uris: frozenset[str] = field(default=frozenset())

    @property
    def extended(self) -> tuple[PropertyKey, ...]:
        """The extended properties asked for, in request order."""
        return tuple(p.key for p in self.additional if isinstance(p, ExtendedPath))

    @property
    def headers(self) -> tuple[str, ...]:
        """The `item:InternetMessageHeader` indexes asked for."""
        return tuple(
            p.index
            for p in self.additional
            if isinstance(p, IndexedPath) and p.uri == "item:InternetMessageHeader"
        )


def _shape_text(el: Element, tag: str, default: str) -> str:
    return child_text(el, T_NS, tag) or default


def parse_item_shape(el: Element | None) -> ItemShape:
    """Read an `ItemShape` element (the schema has already checked its values)."""
    if el is None:
        return ItemShape()
    additional = parse_paths(child(el, T_NS, "AdditionalProperties"))
    return ItemShape(
        base=_base(_shape_text(el, "BaseShape", "IdOnly")),
        body_type=_body(_shape_text(el, "BodyType", "Best")),
        unique_body_type=_body(_shape_text(el, "UniqueBodyType", "Best")),
        normalized_body_type=_body(_shape_text(el, "NormalizedBodyType", "Best")),
        additional=additional,
        field_uris=frozenset(p.uri for p in additional if isinstance(p, FieldPath)),
    )


@dataclass(frozen=True)
class FolderShape:
    """A `FolderResponseShapeType`."""

    base: BaseShape = "IdOnly"
    additional: tuple[PropertyPath, ...] = ()

    @property
    def field_uris(self) -> frozenset[str]:
        """The `FieldURI`s asked for."""
        return frozenset(p.uri for p in self.additional if isinstance(p, FieldPath))

    @property
    def extended(self) -> tuple[PropertyKey, ...]:
        """The extended properties asked for."""
        return tuple(p.key for p in self.additional if isinstance(p, ExtendedPath))


def parse_folder_shape(el: Element | None) -> FolderShape:
    """Read a `FolderShape` element."""
    if el is None:
        return FolderShape()
    return FolderShape(
        base=_base(_shape_text(el, "BaseShape", "IdOnly")),
        additional=parse_paths(child(el, T_NS, "AdditionalProperties")),
    )


def _base(text: str) -> BaseShape:
    if text == "Default":
        return "Default"
    if text == "AllProperties":
        return "AllProperties"
    return "IdOnly"


def _body(text: str) -> BodyTypeWanted:
    if text == "HTML":
        return "HTML"
    if text == "Text":
        return "Text"
    return "Best"


# --- items: the schema's element order and the FieldURIs that ask for each element ----------

_ITEM: tuple[tuple[str, str], ...] = (
    # ItemType ([MS-OXWSCORE] 2.2.4.24), in sequence order.
    ("MimeContent", "item:MimeContent"),
    ("ItemId", "item:ItemId"),
    ("ParentFolderId", "item:ParentFolderId"),
    ("ItemClass", "item:ItemClass"),
    ("Subject", "item:Subject"),
    ("Sensitivity", "item:Sensitivity"),
    ("Body", "item:Body"),
    ("Attachments", "item:Attachments"),
    ("DateTimeReceived", "item:DateTimeReceived"),
    ("Size", "item:Size"),
    ("Categories", "item:Categories"),
    ("Importance", "item:Importance"),
    ("InReplyTo", "item:InReplyTo"),
    ("IsSubmitted", "item:IsSubmitted"),
    ("IsDraft", "item:IsDraft"),
    ("IsFromMe", "item:IsFromMe"),
    ("IsResend", "item:IsResend"),
    ("IsUnmodified", "item:IsUnmodified"),
    ("InternetMessageHeaders", "item:InternetMessageHeaders"),
    ("DateTimeSent", "item:DateTimeSent"),
    ("DateTimeCreated", "item:DateTimeCreated"),
    ("ResponseObjects", "item:ResponseObjects"),
    ("ReminderDueBy", "item:ReminderDueBy"),
    ("ReminderIsSet", "item:ReminderIsSet"),
    ("ReminderNextTime", "item:ReminderNextTime"),
    ("ReminderMinutesBeforeStart", "item:ReminderMinutesBeforeStart"),
    ("DisplayCc", "item:DisplayCc"),
    ("DisplayTo", "item:DisplayTo"),
    ("HasAttachments", "item:HasAttachments"),
    ("ExtendedProperty", ""),
    ("Culture", "item:Culture"),
    ("EffectiveRights", "item:EffectiveRights"),
    ("LastModifiedName", "item:LastModifiedName"),
    ("LastModifiedTime", "item:LastModifiedTime"),
    ("IsAssociated", "item:IsAssociated"),
    ("WebClientReadFormQueryString", "item:WebClientReadFormQueryString"),
    ("WebClientEditFormQueryString", "item:WebClientEditFormQueryString"),
    ("ConversationId", "item:ConversationId"),
    ("UniqueBody", "item:UniqueBody"),
    ("Flag", "item:Flag"),
    ("NormalizedBody", "item:NormalizedBody"),
    ("Preview", "item:Preview"),
    ("TextBody", "item:TextBody"),
)
_MESSAGE: tuple[tuple[str, str], ...] = (
    # MessageType ([MS-OXWSMSG] 2.2.4.1).
    ("Sender", "message:Sender"),
    ("ToRecipients", "message:ToRecipients"),
    ("CcRecipients", "message:CcRecipients"),
    ("BccRecipients", "message:BccRecipients"),
    ("IsReadReceiptRequested", "message:IsReadReceiptRequested"),
    ("IsDeliveryReceiptRequested", "message:IsDeliveryReceiptRequested"),
    ("ConversationIndex", "message:ConversationIndex"),
    ("ConversationTopic", "message:ConversationTopic"),
    ("From", "message:From"),
    ("InternetMessageId", "message:InternetMessageId"),
    ("IsRead", "message:IsRead"),
    ("IsResponseRequested", "message:IsResponseRequested"),
    ("References", "message:References"),
    ("ReplyTo", "message:ReplyTo"),
    ("ReceivedBy", "message:ReceivedBy"),
    ("ReceivedRepresenting", "message:ReceivedRepresenting"),
)
_MEETING_MESSAGE: tuple[tuple[str, str], ...] = (
    # MeetingMessageType ([MS-OXWSMTGS] 2.2.4.21).
    ("AssociatedCalendarItemId", "meeting:AssociatedCalendarItemId"),
    ("IsDelegated", "meeting:IsDelegated"),
    ("IsOutOfDate", "meeting:IsOutOfDate"),
    ("HasBeenProcessed", "meeting:HasBeenProcessed"),
    ("ResponseType", "meeting:ResponseType"),
    ("UID", "calendar:UID"),
    ("RecurrenceId", "calendar:RecurrenceId"),
    ("DateTimeStamp", "calendar:DateTimeStamp"),
    ("IsOrganizer", "calendar:IsOrganizer"),
)
# The calendar block CalendarItemType and MeetingRequestMessageType share, from Start on.
_CALENDAR_BODY: tuple[tuple[str, str], ...] = (
    ("Start", "calendar:Start"),
    ("End", "calendar:End"),
    ("OriginalStart", "calendar:OriginalStart"),
    ("IsAllDayEvent", "calendar:IsAllDayEvent"),
    ("LegacyFreeBusyStatus", "calendar:LegacyFreeBusyStatus"),
    ("Location", "calendar:Location"),
    ("When", "calendar:When"),
    ("IsMeeting", "calendar:IsMeeting"),
    ("IsCancelled", "calendar:IsCancelled"),
    ("IsRecurring", "calendar:IsRecurring"),
    ("MeetingRequestWasSent", "calendar:MeetingRequestWasSent"),
)
_CALENDAR_PEOPLE: tuple[tuple[str, str], ...] = (
    ("CalendarItemType", "calendar:CalendarItemType"),
    ("MyResponseType", "calendar:MyResponseType"),
    ("Organizer", "calendar:Organizer"),
    ("RequiredAttendees", "calendar:RequiredAttendees"),
    ("OptionalAttendees", "calendar:OptionalAttendees"),
    ("Resources", "calendar:Resources"),
    ("ConflictingMeetingCount", "calendar:ConflictingMeetingCount"),
    ("AdjacentMeetingCount", "calendar:AdjacentMeetingCount"),
    ("ConflictingMeetings", "calendar:ConflictingMeetings"),
    ("AdjacentMeetings", "calendar:AdjacentMeetings"),
    ("Duration", "calendar:Duration"),
    ("TimeZone", "calendar:TimeZone"),
    ("AppointmentReplyTime", "calendar:AppointmentReplyTime"),
    ("AppointmentSequenceNumber", "calendar:AppointmentSequenceNumber"),
    ("AppointmentState", "calendar:AppointmentState"),
    ("Recurrence", "calendar:Recurrence"),
    ("FirstOccurrence", "calendar:FirstOccurrence"),
    ("LastOccurrence", "calendar:LastOccurrence"),
    ("ModifiedOccurrences", "calendar:ModifiedOccurrences"),
    ("DeletedOccurrences", "calendar:DeletedOccurrences"),
    ("MeetingTimeZone", "calendar:MeetingTimeZone"),
    ("StartTimeZone", "calendar:StartTimeZone"),
    ("EndTimeZone", "calendar:EndTimeZone"),
    ("ConferenceType", "calendar:ConferenceType"),
    ("AllowNewTimeProposal", "calendar:AllowNewTimeProposal"),
    ("IsOnlineMeeting", "calendar:IsOnlineMeeting"),
    ("MeetingWorkspaceUrl", "calendar:MeetingWorkspaceUrl"),
    ("NetShowUrl", "calendar:NetShowUrl"),
    ("EnhancedLocation", "calendar:EnhancedLocation"),
)
_WALL_CLOCK: tuple[tuple[str, str], ...] = (
    ("StartWallClock", "calendar:StartWallClock"),
    ("EndWallClock", "calendar:EndWallClock"),
    ("StartTimeZoneId", "calendar:StartTimeZoneId"),
    ("EndTimeZoneId", "calendar:EndTimeZoneId"),
)

#: Every item kind's elements in schema order, with the FieldURI that asks for each (`""`: no
#: FieldURI names it; it comes with AllProperties only, or, for ExtendedProperty, by path).
ITEM_ELEMENTS: Final[dict[ItemKind, tuple[tuple[str, str], ...]]] = {
    "Message": (*_ITEM, *_MESSAGE),
    "CalendarItem": (
        *_ITEM,
        ("UID", "calendar:UID"),
        ("RecurrenceId", "calendar:RecurrenceId"),
        ("DateTimeStamp", "calendar:DateTimeStamp"),
        *_CALENDAR_BODY,
        ("IsResponseRequested", "calendar:IsResponseRequested"),
        *_CALENDAR_PEOPLE,
        *_WALL_CLOCK,
        ("IntendedFreeBusyStatus", ""),
        ("JoinOnlineMeetingUrl", "calendar:JoinOnlineMeetingUrl"),
        ("IsOrganizer", "calendar:IsOrganizer"),
    ),
    "MeetingMessage": (*_ITEM, *_MESSAGE, *_MEETING_MESSAGE),
    "MeetingRequest": (
        *_ITEM,
        *_MESSAGE,
        *_MEETING_MESSAGE,
        ("MeetingRequestType", "meetingRequest:MeetingRequestType"),
        ("IntendedFreeBusyStatus", "meetingRequest:IntendedFreeBusyStatus"),
        *_CALENDAR_BODY,
        *_CALENDAR_PEOPLE,
        ("ChangeHighlights", "meetingRequest:ChangeHighlights"),
        *_WALL_CLOCK,
    ),
    "MeetingResponse": (
        *_ITEM,
        *_MESSAGE,
        *_MEETING_MESSAGE,
        ("Start", "calendar:Start"),
        ("End", "calendar:End"),
        ("Location", "calendar:Location"),
        ("Recurrence", "calendar:Recurrence"),
        ("CalendarItemType", "calendar:CalendarItemType"),
        ("ProposedStart", "meeting:ProposedStart"),
        ("ProposedEnd", "meeting:ProposedEnd"),
        ("EnhancedLocation", "calendar:EnhancedLocation"),
    ),
    "MeetingCancellation": (
        *_ITEM,
        *_MESSAGE,
        *_MEETING_MESSAGE,
        ("Start", "calendar:Start"),
        ("End", "calendar:End"),
        ("Location", "calendar:Location"),
        ("Recurrence", "calendar:Recurrence"),
        ("CalendarItemType", "calendar:CalendarItemType"),
        ("EnhancedLocation", "calendar:EnhancedLocation"),
    ),
}

#: Every FieldURI some item kind answers.
ITEM_FIELD_URIS: Final[frozenset[str]] = frozenset(
    uri for elements in ITEM_ELEMENTS.values() for _, uri in elements if uri
)

_MESSAGE_DEFAULT = frozenset(
    {
        # GetItem (email message), Default shape: the documented response example.
        "ItemId",
        "Subject",
        "Sensitivity",
        "Body",
        "Attachments",
        "Size",
        "DateTimeSent",
        "DateTimeCreated",
        "ResponseObjects",
        "HasAttachments",
        "ToRecipients",
        "IsReadReceiptRequested",
        "IsDeliveryReceiptRequested",
        "From",
        "IsRead",
    }
)
_MEETING_DEFAULT = _MESSAGE_DEFAULT | {"IsOutOfDate", "HasBeenProcessed", "ResponseType"}

#: Elements of the Default shape per kind.
DEFAULT_ELEMENTS: Final[dict[ItemKind, frozenset[str]]] = {
    "Message": _MESSAGE_DEFAULT,
    # GetItem (calendar item), Default shape: the documented response example, plus Subject,
    # Location and HasAttachments from the Default item properties table.
    "CalendarItem": frozenset(
        {
            "ItemId",
            "Subject",
            "Attachments",
            "ResponseObjects",
            "HasAttachments",
            "Start",
            "End",
            "LegacyFreeBusyStatus",
            "Location",
            "CalendarItemType",
            "Organizer",
        }
    ),
    "MeetingMessage": _MEETING_DEFAULT,
    # SyncFolderItems-MeetingRequest-Create.response.xml (Default shape).
    "MeetingRequest": _MEETING_DEFAULT
    | {"IntendedFreeBusyStatus", "Start", "End", "Location", "Organizer"},
    "MeetingResponse": _MEETING_DEFAULT | {"Start", "End", "Location"},
    "MeetingCancellation": _MEETING_DEFAULT | {"Start", "End", "Location"},
}

#: Elements AllProperties leaves out (MIME needs IncludeMimeContent; the rest are not
#: first-class properties).
ALL_PROPERTIES_EXCLUDED: Final = frozenset(
    {
        "MimeContent",
        "UniqueBody",
        "NormalizedBody",
        "TextBody",
        "Preview",
        "InternetMessageHeaders",
        "MeetingTimeZone",
        "ConflictingMeetings",
        "AdjacentMeetings",
        "ExtendedProperty",
    }
)

#: Elements FindItem never returns.
FIND_EXCLUDED: Final = frozenset(
    {
        "MimeContent",
        "Body",
        "UniqueBody",
        "NormalizedBody",
        "TextBody",
        "Attachments",
        "ResponseObjects",
        "ToRecipients",
        "CcRecipients",
        "BccRecipients",
        "ReplyTo",
        "RequiredAttendees",
        "OptionalAttendees",
        "Resources",
        "ConflictingMeetings",
        "AdjacentMeetings",
        "ConflictingMeetingCount",
        "AdjacentMeetingCount",
        "ModifiedOccurrences",
        "DeletedOccurrences",
        "StartTimeZone",
        "EndTimeZone",
        "MeetingTimeZone",
        "Recurrence",
        "FirstOccurrence",
        "LastOccurrence",
        "InternetMessageHeaders",
    }
)


def item_kind(item: Item) -> ItemKind:
    """Which EWS element an item is written as."""
    if isinstance(item, CalendarItem):
        return "CalendarItem"
    if isinstance(item, MeetingRequest):
        return "MeetingRequest"
    if isinstance(item, MeetingResponse):
        return "MeetingResponse"
    if isinstance(item, MeetingCancellation):
        return "MeetingCancellation"
    if isinstance(item, MeetingMessage):
        return "MeetingMessage"
    if isinstance(item, Message):
        return "Message"
    return "Message"  # "Exchange does not return the base Item element in responses"


def wanted_elements(kind: ItemKind, shape: ItemShape, purpose: Purpose) -> list[str]:
    """The elements to write for an item of ``kind``, in schema order."""
    base: frozenset[str]
    if shape.base == "IdOnly":
        base = frozenset({"ItemId"})
    elif shape.base == "Default":
        base = DEFAULT_ELEMENTS[kind]
    else:
        base = frozenset(name for name, _ in ITEM_ELEMENTS[kind]) - ALL_PROPERTIES_EXCLUDED
    wanted: list[str] = []
    for name, uri in ITEM_ELEMENTS[kind]:
        if name == "ExtendedProperty":
            if shape.extended:
                wanted.append(name)
            continue
        if name in base or (uri and uri in shape.field_uris):
            wanted.append(name)
    if purpose in {"find", "sync"}:
        # SyncFolderItems answers like FindItem (SyncFolderItems-Message-AllChangeTypes sample).
        wanted = [name for name in wanted if name not in FIND_EXCLUDED]
    return wanted


# --- folders ---------------------------------------------------------------------------------

#: BaseFolderType then FolderType/CalendarFolderType elements, in schema order, with FieldURIs.
FOLDER_ELEMENTS: Final[tuple[tuple[str, str], ...]] = (
    ("FolderId", "folder:FolderId"),
    ("ParentFolderId", "folder:ParentFolderId"),
    ("FolderClass", "folder:FolderClass"),
    ("DisplayName", "folder:DisplayName"),
    ("TotalCount", "folder:TotalCount"),
    ("ChildFolderCount", "folder:ChildFolderCount"),
    ("ExtendedProperty", ""),
    ("EffectiveRights", "folder:EffectiveRights"),
    ("DistinguishedFolderId", "folder:DistinguishedFolderId"),
    ("SharingEffectiveRights", "folder:SharingEffectiveRights"),
    ("PermissionSet", "folder:PermissionSet"),
    ("UnreadCount", "folder:UnreadCount"),
)
FOLDER_FIELD_URIS: Final = frozenset(uri for _, uri in FOLDER_ELEMENTS if uri)

#: Default shape: DisplayName, FolderId and ChildFolderCount everywhere; TotalCount except in the
#: calendar; UnreadCount in mail folders ("Default folder properties" table).
FOLDER_DEFAULT: Final = frozenset(
    {"FolderId", "DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"}
)
#: AllProperties: what the GetFolder AllProperties sample shows (no permission set: that one is
#: asked for by name).
FOLDER_ALL: Final = frozenset(
    {
        "FolderId",
        "ParentFolderId",
        "FolderClass",
        "DisplayName",
        "TotalCount",
        "ChildFolderCount",
        "EffectiveRights",
        "UnreadCount",
    }
)


# --- values of properties: restrictions and sort orders --------------------------------------

Value = str | int | bool | datetime | bytes | tuple[str, ...] | None
"""A property value as restrictions compare it (multi-valued properties are tuples)."""


def _addresses(people: tuple[Address, ...]) -> tuple[str, ...]:
    return tuple(a.email for a in people)


def _address(person: Address | None) -> str | None:
    return None if person is None else person.email


def _message(get: Callable[[Message], Value]) -> Callable[[Item], Value]:
    return lambda item: get(item) if isinstance(item, Message) else None


def _calendar(get: Callable[[CalendarItem | MeetingMessage], Value]) -> Callable[[Item], Value]:
    return lambda item: get(item) if isinstance(item, CalendarItem | MeetingMessage) else None


def _meeting(get: Callable[[MeetingMessage], Value]) -> Callable[[Item], Value]:
    return lambda item: get(item) if isinstance(item, MeetingMessage) else None


def _is_recurring(item: CalendarItem | MeetingMessage) -> bool:
    return item.recurrence is not None or item.calendar_item_type != "Single"


#: Item properties a restriction or a sort order can name, as values of a stored item.
ITEM_VALUES: Final[dict[str, Callable[[Item], Value]]] = {
    "item:ItemId": lambda i: i.id,
    "item:ParentFolderId": lambda i: i.folder_id,
    "item:ItemClass": lambda i: i.item_class,
    "item:Subject": lambda i: i.subject,
    "item:Sensitivity": lambda i: i.sensitivity,
    "item:Body": lambda i: i.body.content,
    "item:DateTimeReceived": lambda i: i.date_time_received,
    "item:Size": lambda i: i.size,
    "item:Categories": lambda i: i.categories or None,
    "item:Importance": lambda i: i.importance,
    "item:InReplyTo": lambda i: i.in_reply_to,
    "item:IsDraft": lambda i: i.is_draft,
    "item:IsSubmitted": lambda _: False,
    "item:IsAssociated": lambda _: False,
    "item:DateTimeSent": lambda i: i.date_time_sent or i.date_time_created,
    "item:DateTimeCreated": lambda i: i.date_time_created,
    "item:ReminderIsSet": lambda i: i.reminder_is_set,
    "item:ReminderMinutesBeforeStart": lambda i: i.reminder_minutes_before_start,
    "item:HasAttachments": lambda i: i.has_attachments,
    "item:Culture": lambda i: i.culture,
    "item:LastModifiedName": lambda i: i.last_modified_name,
    "item:LastModifiedTime": lambda i: i.last_modified_time,
    "item:ConversationId": lambda i: i.conversation_id,
    "message:Sender": _message(lambda i: _address(i.sender)),
    "message:From": _message(lambda i: _address(i.author)),
    "message:ToRecipients": _message(lambda i: _addresses(i.to_recipients) or None),
    "message:CcRecipients": _message(lambda i: _addresses(i.cc_recipients) or None),
    "message:BccRecipients": _message(lambda i: _addresses(i.bcc_recipients) or None),
    "message:IsRead": _message(lambda i: i.is_read),
    "message:IsReadReceiptRequested": _message(lambda i: i.is_read_receipt_requested),
    "message:IsDeliveryReceiptRequested": _message(lambda i: i.is_delivery_receipt_requested),
    "message:IsResponseRequested": _message(lambda i: i.is_response_requested),
    "message:InternetMessageId": _message(lambda i: i.internet_message_id),
    "message:ConversationTopic": _message(lambda i: i.conversation_topic or i.subject),
    "message:References": _message(lambda i: i.references),
    "meeting:AssociatedCalendarItemId": _meeting(lambda i: i.associated_calendar_item_id),
    "meeting:IsDelegated": _meeting(lambda i: i.is_delegated),
    "meeting:IsOutOfDate": _meeting(lambda i: i.is_out_of_date),
    "meeting:HasBeenProcessed": _meeting(lambda i: i.has_been_processed),
    "meeting:ResponseType": _meeting(lambda i: i.response_type),
    "meetingRequest:MeetingRequestType": lambda i: (
        i.meeting_request_type if isinstance(i, MeetingRequest) else None
    ),
    "meetingRequest:IntendedFreeBusyStatus": lambda i: (
        i.intended_free_busy_status if isinstance(i, MeetingRequest) else None
    ),
    "calendar:UID": _calendar(lambda i: i.uid or None),
    "calendar:RecurrenceId": _calendar(lambda i: i.recurrence_id),
    "calendar:DateTimeStamp": _calendar(lambda i: i.date_time_stamp),
    "calendar:Start": _calendar(lambda i: i.start),
    "calendar:End": _calendar(lambda i: i.end),
    "calendar:OriginalStart": _calendar(lambda i: i.original_start),
    "calendar:IsAllDayEvent": _calendar(lambda i: i.is_all_day),
    "calendar:LegacyFreeBusyStatus": _calendar(lambda i: i.legacy_free_busy_status),
    "calendar:Location": _calendar(lambda i: i.location),
    "calendar:IsMeeting": _calendar(lambda i: i.is_meeting),
    "calendar:IsCancelled": _calendar(lambda i: i.is_cancelled),
    "calendar:IsRecurring": _calendar(_is_recurring),
    "calendar:MeetingRequestWasSent": _calendar(lambda i: i.meeting_request_was_sent),
    "calendar:IsResponseRequested": lambda i: (
        i.is_response_requested if isinstance(i, CalendarItem) else None
    ),
    "calendar:CalendarItemType": _calendar(lambda i: i.calendar_item_type),
    "calendar:MyResponseType": _calendar(lambda i: i.my_response_type),
    "calendar:Organizer": _calendar(lambda i: _address(i.organizer)),
    "calendar:RequiredAttendees": _calendar(
        lambda i: tuple(a.mailbox.email for a in i.required_attendees) or None
    ),
    "calendar:OptionalAttendees": _calendar(
        lambda i: tuple(a.mailbox.email for a in i.optional_attendees) or None
    ),
    "calendar:Resources": _calendar(lambda i: tuple(a.mailbox.email for a in i.resources) or None),
    "calendar:AppointmentReplyTime": _calendar(lambda i: i.appointment_reply_time),
    "calendar:AppointmentSequenceNumber": _calendar(lambda i: i.appointment_sequence_number),
    "calendar:AppointmentState": _calendar(lambda i: i.appointment_state),
    "calendar:AllowNewTimeProposal": _calendar(lambda i: i.allow_new_time_proposal),
    "calendar:IsOnlineMeeting": _calendar(lambda i: i.is_online_meeting),
    "calendar:IsOrganizer": _calendar(lambda i: i.is_organizer),
    "calendar:StartTimeZoneId": _calendar(lambda i: i.start_time_zone),
    "calendar:EndTimeZoneId": _calendar(lambda i: i.end_time_zone),
}

#: Folder properties a FindFolder restriction can name.
FOLDER_VALUES: Final[dict[str, Callable[[Folder], Value]]] = {
    "folder:FolderId": lambda f: f.id,
    "folder:ParentFolderId": lambda f: f.parent_id,
    "folder:DisplayName": lambda f: f.display_name,
    "folder:FolderClass": lambda f: f.folder_class,
    "folder:TotalCount": lambda f: f.total_count,
    "folder:ChildFolderCount": lambda f: f.child_folder_count,
    "folder:UnreadCount": lambda f: f.unread_count,
}

# Exchange's text for ErrorUnsupportedPathForQuery (the EWS Managed API's ServiceError
# documentation quotes it; reported live for item:TextBody and calendar:CalendarItemType).
UNSUPPORTED_PATH: Final = "The property can not be used with this type of restriction."

#: FieldURIs Exchange answers but refuses in a restriction. calendar:UID is computed from
#: PidLidGlobalObjectId, and "the Exchange WebServices do not accept a restriction that is based
#: on the UID property" (H. Krause, "Searching a meeting with a specific UID using Exchange Web
#: Services 2007"; exchangelib marks ``uid`` unsearchable, issues #492/#914); the
#: ResponseCode reference gives ErrorUnsupportedPathForQuery for "a property that is invalid for
#: a query. This can occur when calculated properties are used." Clients search
#: PidLidGlobalObjectId or PidLidCleanGlobalObjectId instead (`MAPI_PROPERTIES`).
NOT_QUERYABLE: Final = frozenset({"calendar:UID"})


def item_value(item: Item, path: PropertyPath) -> Value:
    """The value of a property of an item, for restrictions and sorting."""
    if isinstance(path, ExtendedPath):
        return extended_value(item, path.key)
    if isinstance(path, IndexedPath):
        return None
    getter = ITEM_VALUES.get(path.uri)
    if getter is None:
        raise EwsError("ErrorUnsupportedPathForQuery", UNSUPPORTED_PATH)
    return getter(item)


def folder_value(folder: Folder, path: PropertyPath) -> Value:
    """The value of a property of a folder, for FindFolder restrictions."""
    getter = FOLDER_VALUES.get(path.uri) if isinstance(path, FieldPath) else None
    if getter is None:
        raise EwsError("ErrorUnsupportedPathForQuery", UNSUPPORTED_PATH)
    return getter(folder)


__all__ = [
    "ALL_PROPERTIES_EXCLUDED",
    "DEFAULT_ELEMENTS",
    "FIND_EXCLUDED",
    "FOLDER_ALL",
    "FOLDER_DEFAULT",
    "FOLDER_ELEMENTS",
    "FOLDER_FIELD_URIS",
    "FOLDER_VALUES",
    "ITEM_ELEMENTS",
    "ITEM_FIELD_URIS",
    "ITEM_VALUES",
    "NOT_QUERYABLE",
    "PROPERTY_SETS",
    "BaseShape",
    "ExtendedPath",
    "FieldPath",
    "FolderShape",
    "IndexedPath",
    "ItemKind",
    "ItemShape",
    "PropertyPath",
    "Purpose",
    "Value",
    "extended_attributes",
    "extended_key",
    "extended_text",
    "extended_value",
    "folder_value",
    "item_kind",
    "item_value",
    "mapi_text",
    "parse_folder_shape",
    "parse_item_shape",
    "parse_path",
    "parse_paths",
    "parse_tag",
    "property_identity",
    "wanted_elements",
]
