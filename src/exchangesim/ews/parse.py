"""Request XML → store values: items, recurrences, time zones and the paths of item changes.

One reader serves CreateItem (a whole ``t:Message``/``t:CalendarItem``) and UpdateItem (the
one-property item inside each ``t:SetItemField``): it turns an item element into store field
values by the schema's element names (`ELEMENTS`); `FIELD_URIS` maps each ``FieldURI`` to the
element and store fields it names.

Times: a ``dateTime`` with ``Z`` or an offset is taken as given. One without a zone is read in the
item's own zone when the same request names it (``StartTimeZone``/``EndTimeZone``, or the legacy
``MeetingTimeZone`` for both), else in the ``TimeZoneContext`` header's zone, else in the zone
the item already has (updates), else UTC. "The time zone used to specify the start and end times
is saved as the creation time zone ... also used to interpret date and time values that do not
have an explicit time zone specified" —
https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-create-appointments-in-a-specific-time-zone-by-using-ews-in-exchange
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Literal, cast, get_args

from exchangesim.ews.faults import EwsError
from exchangesim.ews.fields import extended_key
from exchangesim.ews.xml import (
    T_NS,
    Element,
    child,
    child_text,
    children,
    local_name,
    parse_bool,
    parse_datetime,
)
from exchangesim.store import recurrence as rec
from exchangesim.store import timezones
from exchangesim.store.errors import UnknownTimeZone
from exchangesim.store.items import (
    Address,
    Attendee,
    Body,
    CalendarItem,
    ExtendedValue,
    Message,
    PropertyKey,
)

Values = dict[str, Any]
NameResolver = Callable[[str], str | None]

# --- simple values ---------------------------------------------------------------------------


def _text(el: Element) -> str:
    return el.text or ""


def _bool(el: Element) -> bool:
    try:
        return parse_bool(_text(el))
    except ValueError as exc:
        raise EwsError("ErrorInvalidValueForProperty", str(exc)) from exc


def _int(el: Element) -> int:
    try:
        return int(_text(el).strip())
    except ValueError as exc:
        raise EwsError("ErrorInvalidValueForProperty", f"not an integer: {el.text!r}") from exc


_DATE_RE: Final = re.compile(r"^\s*(-?\d{4,}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?\s*$")


def parse_date(text: str) -> date:
    """An ``xs:date``; a zone suffix (``2014-03-08-08:00``, as .NET writes them) is dropped."""
    match = _DATE_RE.match(text)
    if match is None:
        raise EwsError("ErrorInvalidValueForProperty", f"not an xs:date: {text!r}")
    return date.fromisoformat(match[1])


def body(el: Element) -> Body:
    """``t:Body`` / ``t:NewBodyContent``: ``BodyType`` HTML or Text."""
    kind = el.get("BodyType", "Text")
    return Body("HTML" if kind == "HTML" else "Text", el.text or "")


def address(el: Element, resolve: NameResolver | None = None) -> Address:
    """An ``EmailAddressType`` (``t:Mailbox``); a missing name is looked up in the directory."""
    email = child_text(el, T_NS, "EmailAddress") or ""
    name = child_text(el, T_NS, "Name") or ""
    if not email and "@" in name:
        email = name
    if not email:
        raise EwsError("ErrorInvalidRecipients", "A recipient has no e-mail address.")
    if not name and resolve is not None:
        name = resolve(email) or ""
    routing = child_text(el, T_NS, "RoutingType") or "SMTP"
    return Address(email, name, routing)


def recipients(el: Element, resolve: NameResolver | None = None) -> tuple[Address, ...]:
    """``ArrayOfRecipientsType``: the ``t:Mailbox`` children."""
    return tuple(address(m, resolve) for m in children(el, T_NS, "Mailbox"))


def single_recipient(el: Element, resolve: NameResolver | None = None) -> Address:
    """``SingleRecipientType`` (``From``, ``Sender``): one ``t:Mailbox``."""
    mailbox = child(el, T_NS, "Mailbox")
    if mailbox is None:
        raise EwsError("ErrorInvalidRecipients", f"{local_name(el)} has no Mailbox.")
    return address(mailbox, resolve)


def attendees(el: Element, resolve: NameResolver | None = None) -> tuple[Attendee, ...]:
    """``NonEmptyArrayOfAttendeesType``; a client's ResponseType is read-only and ignored."""
    found = []
    for attendee in children(el, T_NS, "Attendee"):
        mailbox = child(attendee, T_NS, "Mailbox")
        if mailbox is None:
            raise EwsError("ErrorInvalidRecipients", "An attendee has no Mailbox.")
        found.append(Attendee(address(mailbox, resolve)))
    return tuple(found)


def strings(el: Element) -> tuple[str, ...]:
    """``ArrayOfStringsType`` (``Categories``)."""
    return tuple(_text(s) for s in children(el, T_NS, "String"))


# --- recurrence --------------------------------------------------------------------------------

_DAYS: Final = frozenset(get_args(rec.DayName))
_DAY_WORDS: Final = frozenset(get_args(rec.DayOfWeek))
_INDEXES: Final = frozenset(get_args(rec.WeekIndex))
_MONTHS: Final = frozenset(get_args(rec.MonthName))


def _word(el: Element, allowed: frozenset[str], what: str) -> str:
    value = _text(el).strip()
    if value not in allowed:
        raise EwsError("ErrorCalendarInvalidRecurrence", f"invalid {what}: {value!r}")
    return value


def _need(parent: Element, tag: str) -> Element:
    found = child(parent, T_NS, tag)
    if found is None:
        raise EwsError("ErrorCalendarInvalidRecurrence", f"{local_name(parent)} needs {tag}.")
    return found


def _pattern(el: Element) -> rec.Pattern:
    name = local_name(el)
    interval_el = child(el, T_NS, "Interval")
    interval = 1 if interval_el is None else _int(interval_el)
    if name == "DailyRecurrence":
        return rec.DailyPattern(interval)
    if name == "WeeklyRecurrence":
        days = _text(_need(el, "DaysOfWeek")).split()
        if not days or any(day not in _DAY_WORDS for day in days):
            raise EwsError("ErrorCalendarInvalidRecurrence", f"invalid days of week: {days!r}")
        first = child(el, T_NS, "FirstDayOfWeek")
        return rec.WeeklyPattern(
            cast("tuple[rec.DayOfWeek, ...]", tuple(days)),
            interval,
            cast("rec.DayName", "Sunday" if first is None else _word(first, _DAYS, "day")),
        )
    if name == "AbsoluteMonthlyRecurrence":
        return rec.AbsoluteMonthlyPattern(_int(_need(el, "DayOfMonth")), interval)
    if name == "RelativeMonthlyRecurrence":
        return rec.RelativeMonthlyPattern(
            cast("rec.DayOfWeek", _word(_need(el, "DaysOfWeek"), _DAY_WORDS, "day")),
            cast("rec.WeekIndex", _word(_need(el, "DayOfWeekIndex"), _INDEXES, "week index")),
            interval,
        )
    if name == "AbsoluteYearlyRecurrence":
        return rec.AbsoluteYearlyPattern(
            _int(_need(el, "DayOfMonth")),
            cast("rec.MonthName", _word(_need(el, "Month"), _MONTHS, "month")),
        )
    if name == "RelativeYearlyRecurrence":
        return rec.RelativeYearlyPattern(
            cast("rec.DayOfWeek", _word(_need(el, "DaysOfWeek"), _DAY_WORDS, "day")),
            cast("rec.WeekIndex", _word(_need(el, "DayOfWeekIndex"), _INDEXES, "week index")),
            cast("rec.MonthName", _word(_need(el, "Month"), _MONTHS, "month")),
        )
    # DailyRegeneration and its kin are task patterns (the schema allows them only there).
    raise EwsError("ErrorUnsupportedRecurrence", f"{name} is not a calendar recurrence.")


def _range(el: Element) -> rec.Range:
    name = local_name(el)
    start = parse_date(_text(_need(el, "StartDate")))
    if name == "NoEndRecurrence":
        return rec.NoEndRange(start)
    if name == "EndDateRecurrence":
        return rec.EndDateRange(start, parse_date(_text(_need(el, "EndDate"))))
    if name == "NumberedRecurrence":
        return rec.NumberedRange(start, _int(_need(el, "NumberOfOccurrences")))
    raise EwsError("ErrorCalendarInvalidRecurrence", f"{name} is not a recurrence range.")


def recurrence(el: Element) -> rec.Recurrence:
    """``t:Recurrence``: one pattern element, then one range element."""
    parts = list(el)  # comments are parsed away
    if len(parts) != 2:
        raise EwsError(
            "ErrorCalendarInvalidRecurrence", "A recurrence needs a pattern and a range."
        )
    return rec.Recurrence(_pattern(parts[0]), _range(parts[1]))


# --- time zones --------------------------------------------------------------------------------


def zone_id(el: Element) -> str:
    """The Windows id of ``StartTimeZone``/``EndTimeZone`` (``Id``) or legacy ``MeetingTimeZone``
    (``TimeZoneName``); raises ``ErrorTimeZone`` when the id is not a known Windows zone."""
    value = el.get("Id") or el.get("TimeZoneName") or el.get("Name") or ""
    try:
        timezones.zone(value)
    except UnknownTimeZone as exc:
        raise EwsError("ErrorTimeZone", f"The time zone {value!r} is not valid.") from exc
    return value


def tz(windows_id: str) -> tzinfo:
    """The `tzinfo` of a Windows id; ``ErrorTimeZone`` when unknown."""
    try:
        return timezones.zone(windows_id)
    except UnknownTimeZone as exc:
        raise EwsError("ErrorTimeZone", f"The time zone {windows_id!r} is not valid.") from exc


# --- extended properties (keys read as `fields.extended_key` reads them for GetItem) ------------


def extended_property(el: Element) -> tuple[PropertyKey, ExtendedValue]:
    """``t:ExtendedProperty``: its key and ``Value`` (text) or ``Values`` (texts)."""
    uri = child(el, T_NS, "ExtendedFieldURI")
    if uri is None:
        raise EwsError("ErrorInvalidExtendedProperty", "ExtendedProperty has no ExtendedFieldURI.")
    key = extended_key(uri)
    many = child(el, T_NS, "Values")
    if many is not None:
        return key, tuple(_text(v) for v in children(many, T_NS, "Value"))
    return key, child_text(el, T_NS, "Value") or ""


# --- items -------------------------------------------------------------------------------------

ElementKind = Literal["set", "ignored", "read-only"]


@dataclass(frozen=True)
class ElementSpec:
    """How one element of an item is read: the store fields it sets, or why it sets none.

    ``ignored``: a writable EWS property the store does not model (accepted, dropped);
    ``read-only``: a property Exchange computes (``ErrorInvalidPropertySet`` when set).
    """

    fields: tuple[str, ...] = ()
    kind: ElementKind = "set"


_IGNORED: Final = ElementSpec(kind="ignored")
_READ_ONLY: Final = ElementSpec(kind="read-only")

#: Item child elements (message and calendar item types) and the store fields they set.
_SETTABLE: Final[dict[str, tuple[str, ...]]] = {
    "ItemClass": ("item_class",),
    "Subject": ("subject",),
    "Sensitivity": ("sensitivity",),
    "Body": ("body",),
    "Categories": ("categories",),
    "Importance": ("importance",),
    "InReplyTo": ("in_reply_to",),
    "ReminderIsSet": ("reminder_is_set",),
    "ReminderMinutesBeforeStart": ("reminder_minutes_before_start",),
    "Culture": ("culture",),
    "ExtendedProperty": ("extended_properties",),
    "Sender": ("sender",),
    "ToRecipients": ("to_recipients",),
    "CcRecipients": ("cc_recipients",),
    "BccRecipients": ("bcc_recipients",),
    "IsReadReceiptRequested": ("is_read_receipt_requested",),
    "IsDeliveryReceiptRequested": ("is_delivery_receipt_requested",),
    "From": ("author",),
    "InternetMessageId": ("internet_message_id",),
    "IsRead": ("is_read",),
    "IsResponseRequested": ("is_response_requested",),
    "References": ("references",),
    "ReplyTo": ("reply_to",),
    "UID": ("uid",),
    "Start": ("start",),
    "End": ("end",),
    "IsAllDayEvent": ("is_all_day",),
    "LegacyFreeBusyStatus": ("legacy_free_busy_status",),
    "Location": ("location",),
    "RequiredAttendees": ("required_attendees",),
    "OptionalAttendees": ("optional_attendees",),
    "Resources": ("resources",),
    "Recurrence": ("recurrence",),
    "StartTimeZone": ("start_time_zone",),
    "EndTimeZone": ("end_time_zone",),
    "MeetingTimeZone": (
        "start_time_zone",
        "end_time_zone",
    ),
    "AllowNewTimeProposal": ("allow_new_time_proposal",),
}
#: Writable EWS properties the store does not model: accepted and dropped.
_UNMODELED: Final = frozenset(
    {
        "ReminderDueBy", "Flag", "Attachments", "MimeContent", "InternetMessageHeaders",
        "ConversationIndex", "When", "ConferenceType", "MeetingWorkspaceUrl", "NetShowUrl",
        "EnhancedLocation", "OnlineMeetingSettings", "InboxReminders", "StartTimeZoneId",
        "EndTimeZoneId",
    }
)  # fmt: skip
#: Properties Exchange computes: setting one is ``ErrorInvalidPropertySet``.
_COMPUTED: Final = frozenset(
    {
        "ConversationTopic", "ReceivedBy", "ReceivedRepresenting", "ItemId",
        "ParentFolderId", "DateTimeReceived", "Size", "IsSubmitted", "IsDraft", "IsFromMe",
        "IsResend", "IsUnmodified", "DateTimeSent", "DateTimeCreated", "ResponseObjects",
        "ReminderNextTime", "DisplayCc", "DisplayTo", "HasAttachments", "EffectiveRights",
        "LastModifiedName", "LastModifiedTime", "IsAssociated", "ConversationId",
        "UniqueBody", "RecurrenceId", "DateTimeStamp", "OriginalStart", "IsMeeting",
        "IsCancelled", "IsRecurring", "MeetingRequestWasSent", "CalendarItemType",
        "MyResponseType", "Organizer", "ConflictingMeetingCount", "AdjacentMeetingCount",
        "ConflictingMeetings", "AdjacentMeetings", "Duration", "TimeZone",
        "AppointmentReplyTime", "AppointmentSequenceNumber", "AppointmentState",
        "FirstOccurrence", "LastOccurrence", "ModifiedOccurrences", "DeletedOccurrences",
        "IsOnlineMeeting", "IntendedFreeBusyStatus", "JoinOnlineMeetingUrl", "IsOrganizer",
    }
)  # fmt: skip
ELEMENTS: Final[dict[str, ElementSpec]] = {
    **{name: ElementSpec(fields) for name, fields in _SETTABLE.items()},
    **dict.fromkeys(_UNMODELED, _IGNORED),
    **dict.fromkeys(_COMPUTED, _READ_ONLY),
}

#: ``FieldURI`` values of item properties → the item element that carries the new value.
FIELD_URIS: Final[dict[str, str]] = {
    **{f"item:{n}": n for n in (
        "ItemId", "ParentFolderId", "ItemClass", "MimeContent", "Attachments", "Subject",
        "DateTimeReceived", "Size", "Categories", "HasAttachments", "Importance", "InReplyTo",
        "InternetMessageHeaders", "IsAssociated", "IsDraft", "IsFromMe", "IsResend",
        "IsSubmitted", "IsUnmodified", "DateTimeSent", "DateTimeCreated", "Body",
        "ResponseObjects", "Sensitivity", "ReminderDueBy", "ReminderIsSet", "ReminderNextTime",
        "ReminderMinutesBeforeStart", "DisplayTo", "DisplayCc", "Culture", "EffectiveRights",
        "LastModifiedName", "LastModifiedTime", "ConversationId", "UniqueBody", "Flag",
    )},
    **{f"message:{n}": n for n in (
        "ConversationIndex", "ConversationTopic", "InternetMessageId", "IsRead",
        "IsResponseRequested", "IsReadReceiptRequested", "IsDeliveryReceiptRequested",
        "ReceivedBy", "ReceivedRepresenting", "References", "ReplyTo", "From", "Sender",
        "ToRecipients", "CcRecipients", "BccRecipients",
    )},
    **{f"calendar:{n}": n for n in (
        "Start", "End", "OriginalStart", "IsAllDayEvent", "LegacyFreeBusyStatus", "Location",
        "When", "IsMeeting", "IsCancelled", "IsRecurring", "MeetingRequestWasSent",
        "IsResponseRequested", "CalendarItemType", "MyResponseType", "Organizer",
        "RequiredAttendees", "OptionalAttendees", "Resources", "ConflictingMeetingCount",
        "AdjacentMeetingCount", "ConflictingMeetings", "AdjacentMeetings", "Duration",
        "TimeZone", "AppointmentReplyTime", "AppointmentSequenceNumber", "AppointmentState",
        "Recurrence", "FirstOccurrence", "LastOccurrence", "ModifiedOccurrences",
        "DeletedOccurrences", "MeetingTimeZone", "ConferenceType", "AllowNewTimeProposal",
        "IsOnlineMeeting", "MeetingWorkspaceUrl", "NetShowUrl", "UID", "RecurrenceId",
        "DateTimeStamp", "StartTimeZone", "EndTimeZone", "EnhancedLocation", "IsOrganizer",
        "JoinOnlineMeetingUrl", "OnlineMeetingSettings", "InboxReminders", "StartTimeZoneId",
        "EndTimeZoneId",
    )},
}  # fmt: skip

#: Properties ``AppendToItemField`` may extend (the EWS reference for AppendToItemField: the body
#: and the recipient and attendee collections); anything else is ``ErrorInvalidPropertyAppend``.
APPENDABLE: Final = frozenset(
    {
        "body",
        "to_recipients",
        "cc_recipients",
        "bcc_recipients",
        "reply_to",
        "required_attendees",
        "optional_attendees",
        "resources",
    }
)

#: What a store field becomes when ``DeleteItemField`` removes it.
CLEARED: Final[dict[str, object]] = {
    "subject": "",
    "body": Body(),
    "categories": (),
    "location": "",
    "in_reply_to": None,
    "references": None,
    "to_recipients": (),
    "cc_recipients": (),
    "bcc_recipients": (),
    "reply_to": (),
    "required_attendees": (),
    "optional_attendees": (),
    "resources": (),
    "recurrence": None,
    "reminder_is_set": False,
    "is_response_requested": None,
    "author": None,
    "sender": None,
}


@dataclass
class Reader:
    """Reads item elements of one request.

    ``context_zone``: the Windows id of the ``TimeZoneContext`` header, if any;
    ``resolve``: display name of an address from the directory (for recipients without one).
    """

    context_zone: str | None = None
    resolve: NameResolver | None = None
    _zones: dict[str, str] = field(default_factory=dict)

    def default_zone(self, fallback: str | None = None) -> tzinfo:
        """Where a naive time without an item zone is read: the context, ``fallback``, UTC."""
        if self.context_zone:
            return tz(self.context_zone)
        return tz(fallback) if fallback else UTC

    def time(self, el: Element, zone: tzinfo) -> datetime:
        """An ``xs:dateTime`` (naive values in ``zone``), as UTC."""
        try:
            return parse_datetime(_text(el), zone).astimezone(UTC)
        except ValueError as exc:
            raise EwsError("ErrorInvalidValueForProperty", str(exc)) from exc

    def item_zones(self, elements: list[Element]) -> dict[str, str]:
        """``start``/``end`` → Windows id named by these elements' time-zone children."""
        zones: dict[str, str] = {}
        for el in elements:
            for item_child in el:
                name = local_name(item_child)
                if name == "MeetingTimeZone":
                    zones.setdefault("start", zone_id(item_child))
                    zones.setdefault("end", zones["start"])
                elif name == "StartTimeZone":
                    zones["start"] = zone_id(item_child)
                elif name == "EndTimeZone":
                    zones["end"] = zone_id(item_child)
        if "start" in zones:
            zones.setdefault("end", zones["start"])
        return zones

    def values(
        self, el: Element, *, zones: Mapping[str, str] | None = None, fallback: str | None = None
    ) -> tuple[Values, set[str]]:
        """The store values an item element sets, and the names of elements it ignored.

        ``zones`` names the item's start/end zones for naive times (default: the element's own
        time-zone children); ``fallback`` is the zone of the item being updated.
        Read-only elements raise ``ErrorInvalidPropertySet``.
        """
        zones = dict(self.item_zones([el]) if zones is None else zones)
        values: Values = {}
        ignored: set[str] = set()
        for item_child in el:
            name = local_name(item_child)
            spec = ELEMENTS.get(name)
            if spec is None or spec.kind == "ignored":
                ignored.add(name)
                continue
            if spec.kind == "read-only":
                raise EwsError(
                    "ErrorInvalidPropertySet", f"The property {name} is read-only and can't be set."
                )
            value = self._value(name, item_child, zones, fallback)
            for store_field in spec.fields:
                if store_field == "extended_properties":
                    key, ext = cast("tuple[PropertyKey, ExtendedValue]", value)
                    values.setdefault("extended_properties", {})[key] = ext
                else:
                    values[store_field] = value
        return values, ignored

    def _value(
        self, name: str, el: Element, zones: Mapping[str, str], fallback: str | None
    ) -> object:
        if name in ("Start", "End"):
            own = zones.get(name.lower())
            zone = tz(own) if own else self.default_zone(fallback)
            return self.time(el, zone)
        readers: dict[str, Callable[[Element], object]] = {
            "Body": body,
            "Categories": strings,
            "ReminderIsSet": _bool,
            "ReminderMinutesBeforeStart": _int,
            "IsReadReceiptRequested": _bool,
            "IsDeliveryReceiptRequested": _bool,
            "IsRead": _bool,
            "IsResponseRequested": _bool,
            "IsAllDayEvent": _bool,
            "AllowNewTimeProposal": _bool,
            "Recurrence": recurrence,
            "StartTimeZone": zone_id,
            "EndTimeZone": zone_id,
            "MeetingTimeZone": zone_id,
            "ExtendedProperty": extended_property,
            "Sender": lambda e: single_recipient(e, self.resolve),
            "From": lambda e: single_recipient(e, self.resolve),
            "ToRecipients": lambda e: recipients(e, self.resolve),
            "CcRecipients": lambda e: recipients(e, self.resolve),
            "BccRecipients": lambda e: recipients(e, self.resolve),
            "ReplyTo": lambda e: recipients(e, self.resolve),
            "RequiredAttendees": lambda e: attendees(e, self.resolve),
            "OptionalAttendees": lambda e: attendees(e, self.resolve),
            "Resources": lambda e: attendees(e, self.resolve),
        }
        reader = readers.get(name)
        return reader(el) if reader is not None else _text(el)

    def new_item(self, el: Element) -> Message | CalendarItem:
        """A new ``t:Message`` or ``t:CalendarItem`` for CreateItem (not yet stored)."""
        kind = local_name(el)
        values, _ = self.values(el)
        values.setdefault("start_time_zone", self.context_zone or "UTC")
        if kind == "CalendarItem":
            values.setdefault("end_time_zone", values["start_time_zone"])
            if values.get("is_all_day"):
                all_day(values, values)
            item: Message | CalendarItem = CalendarItem(**_only(CalendarItem, values))
        elif kind == "Message":
            item = Message(**_only(Message, values))
        else:
            raise EwsError(
                "ErrorInvalidItemForOperationCreateItem",
                f"exchangesim cannot create {kind} items.",
            )
        return item


def _only(cls: type[Message | CalendarItem], values: Values) -> Values:
    """The values the item class has (a message ignores calendar fields, as Exchange's schema
    would have refused them already)."""
    names = set(cls.__dataclass_fields__)
    return {k: v for k, v in values.items() if k in names}


def all_day(values: Values, current: Mapping[str, Any]) -> None:
    """Push an all-day event's start to the previous and its end to the next local midnight.

    https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-create-all-day-events-by-using-ews-in-exchange
    """
    zone = tz(str(current.get("start_time_zone") or "UTC"))
    start, end = values.get("start", current.get("start")), values.get("end", current.get("end"))
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return
    local_start = datetime.combine(start.astimezone(zone).date(), time(), zone)
    local_end = end.astimezone(zone)
    end_day = local_end.date()
    if local_end.time() != time() or end_day <= local_start.date():
        end_day += timedelta(days=1)
    values["start"] = local_start.astimezone(UTC)
    values["end"] = datetime.combine(end_day, time(), zone).astimezone(UTC)


# --- ids ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRef:
    """An item named in a request: ``ItemId``, ``OccurrenceItemId`` (master + instance index) or
    ``RecurringMasterItemId`` (the series of an occurrence), with its change key."""

    kind: Literal["item", "occurrence", "master"]
    id: str
    change_key: str | None = None
    index: int | None = None


def item_ref(el: Element) -> ItemRef:
    """An ``ItemId``-like element (``BaseItemIdType``)."""
    name = local_name(el)
    key = el.get("ChangeKey") or None
    if name in ("ItemId", "ReferenceItemId"):
        return ItemRef("item", el.get("Id", ""), key)
    if name == "OccurrenceItemId":
        try:
            index = int(el.get("InstanceIndex", ""))
        except ValueError as exc:
            raise EwsError("ErrorInvalidIdMalformed") from exc
        return ItemRef("occurrence", el.get("RecurringMasterId", ""), key, index)
    if name == "RecurringMasterItemId":
        return ItemRef("master", el.get("OccurrenceId", ""), key)
    raise EwsError("ErrorInvalidIdMalformed", f"{name} is not an item id this server knows.")


@dataclass(frozen=True)
class FolderRef:
    """A folder named in a request: an id, or a distinguished name (maybe of another mailbox)."""

    ref: str
    distinguished: bool = False
    mailbox: str | None = None


def folder_ref(el: Element) -> FolderRef:
    """The one ``t:FolderId``/``t:DistinguishedFolderId`` inside a ``TargetFolderIdType``."""
    for item_child in el:
        name = local_name(item_child)
        if name == "FolderId":
            return FolderRef(item_child.get("Id", ""))
        if name == "DistinguishedFolderId":
            mailbox = child(item_child, T_NS, "Mailbox")
            owner = None if mailbox is None else child_text(mailbox, T_NS, "EmailAddress")
            return FolderRef(item_child.get("Id", ""), distinguished=True, mailbox=owner or None)
        if name == "AddressListId":
            break
    raise EwsError("ErrorFolderNotFound", "The folder id is not a mailbox folder.")


__all__ = [
    "APPENDABLE",
    "CLEARED",
    "ELEMENTS",
    "FIELD_URIS",
    "ElementSpec",
    "FolderRef",
    "ItemRef",
    "Reader",
    "Values",
    "address",
    "all_day",
    "attendees",
    "body",
    "extended_property",
    "folder_ref",
    "item_ref",
    "parse_date",
    "recipients",
    "recurrence",
    "tz",
    "zone_id",
]
