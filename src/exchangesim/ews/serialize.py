"""Store items → EWS item elements (`t:Message`, `t:CalendarItem`, `t:MeetingRequest` …).

`write_item` appends one item, with the elements the shape asks for (`fields.wanted_elements`)
in the schema's sequence order; each element has a writer here (`_WRITERS`), which leaves the
element out when the item has no value for it, as Exchange does. Times are UTC with `Z` whatever
the request's `TimeZoneContext` says (Exchange answers so too); only the wall-clock elements
(`StartWallClock`) carry the item's own offset.

This module is longer than the usual 400 lines on purpose: it is one table of element writers,
one small function per schema element, and splitting the table would scatter the order.
"""

# ruff: noqa: ARG001, ARG005 - every element writer takes the same four arguments (one table)

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from exchangesim.ews.fields import (
    ItemKind,
    ItemShape,
    Purpose,
    extended_attributes,
    extended_text,
    item_kind,
    wanted_elements,
)
from exchangesim.ews.xml import (
    Element,
    format_date,
    format_datetime,
    format_duration,
    tsub,
)
from exchangesim.store import calendar as store_calendar
from exchangesim.store import timezones
from exchangesim.store.errors import StoreError
from exchangesim.store.items import (
    ASF_MEETING,
    Address,
    Attendee,
    Body,
    CalendarItem,
    Item,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
    Message,
)
from exchangesim.store.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDateRange,
    NoEndRange,
    NumberedRange,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

if TYPE_CHECKING:
    from exchangesim.store.items import ExtendedValue, PropertyKey
    from exchangesim.store.timezones import TimeZoneDefinition

OWA_URL: Final = "https://outlook.office365.com/owa/"


@dataclass(frozen=True)
class View:
    """Who looks at the items and how: what `write_item` needs besides the item and shape.

    ``owner`` is the address of the mailbox holding the items (``IsFromMe``, response objects);
    ``mailbox_type`` tells what an address is (``Mailbox``, ``PublicDL``, ``OneOff``);
    ``neighbours`` gives a calendar item's conflicting and adjacent meetings (GetItem only).
    """

    owner: str
    purpose: Purpose = "get"
    mailbox_type: Callable[[str], str] | None = None
    neighbours: Callable[[CalendarItem], tuple[list[CalendarItem], list[CalendarItem]]] | None = (
        None
    )


# --- bodies ---------------------------------------------------------------------------------

_BLOCKS: Final = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in {"style", "script", "head", "title"}:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "head", "title"}:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """The text of an HTML body, as Exchange gives it for ``BodyType`` Text (tags dropped, one
    line per block, entities resolved)."""
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(content: str) -> str:
    """A text body as HTML, in the envelope Exchange wraps converted text bodies in."""
    escaped = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "\r\n</head>\r\n<body>\r\n"
        f"{escaped}\r\n</body>\r\n</html>\r\n"
    )


def body_as(body: Body, wanted: str) -> Body:
    """The body in the requested format (``Best``: as stored)."""
    if wanted == "Text" and body.type == "HTML":
        return Body("Text", html_to_text(body.content))
    if wanted == "HTML" and body.type == "Text":
        return Body("HTML", text_to_html(body.content))
    return body


def _write_body(parent: Element, tag: str, body: Body) -> None:
    tsub(parent, tag, body.content, BodyType=body.type, IsTruncated="false")


# --- small values ---------------------------------------------------------------------------


def _b(value: bool) -> str:
    return "true" if value else "false"


def item_id(parent: Element, item: Item, tag: str = "ItemId") -> Element:
    """Append ``<t:ItemId Id= ChangeKey=>`` for a stored item."""
    return tsub(parent, tag, Id=item.id, ChangeKey=item.change_key or None)


def write_mailbox(parent: Element, tag: str, address: Address, view: View) -> Element:
    """Append an `EmailAddressType` element (``Mailbox`` inside recipients and attendees)."""
    box = tsub(parent, tag)
    tsub(box, "Name", address.name or address.email)
    tsub(box, "EmailAddress", address.email)
    tsub(box, "RoutingType", address.routing_type or "SMTP")
    if view.mailbox_type is not None:
        tsub(box, "MailboxType", view.mailbox_type(address.email))
    return box


def _single(parent: Element, tag: str, address: Address | None, view: View) -> None:
    if address is not None:
        write_mailbox(tsub(parent, tag), "Mailbox", address, view)


def _recipients(parent: Element, tag: str, addresses: tuple[Address, ...], view: View) -> None:
    if addresses:
        holder = tsub(parent, tag)
        for address in addresses:
            write_mailbox(holder, "Mailbox", address, view)


def _attendees(parent: Element, tag: str, attendees: tuple[Attendee, ...], view: View) -> None:
    if not attendees:
        return
    holder = tsub(parent, tag)
    for attendee in attendees:
        el = tsub(holder, "Attendee")
        write_mailbox(el, "Mailbox", attendee.mailbox, view)
        tsub(el, "ResponseType", attendee.response_type)
        if attendee.last_response_time is not None:
            tsub(el, "LastResponseTime", format_datetime(attendee.last_response_time))
        if attendee.proposed_start is not None:
            tsub(el, "ProposedStart", format_datetime(attendee.proposed_start))
        if attendee.proposed_end is not None:
            tsub(el, "ProposedEnd", format_datetime(attendee.proposed_end))


def _display(addresses: tuple[Address, ...]) -> str:
    return "; ".join(a.name or a.email for a in addresses)


def write_effective_rights(parent: Element, *, create: bool) -> None:
    """`EffectiveRightsType`: full rights on one's own items (folders: create rights too)."""
    rights = tsub(parent, "EffectiveRights")
    for name, value in (
        ("CreateAssociated", create),
        ("CreateContents", create),
        ("CreateHierarchy", create),
        ("Delete", True),
        ("Modify", True),
        ("Read", True),
        ("ViewPrivateItems", True),
    ):
        tsub(rights, name, _b(value))


# --- time zones and recurrence --------------------------------------------------------------


def _minutes(value: timedelta) -> str:
    """A bias or offset the way Exchange writes it: whole minutes (``-PT60M``, ``PT180M``)."""
    minutes = int(value.total_seconds()) // 60
    return f"-PT{-minutes}M" if minutes < 0 else f"PT{minutes}M"


def write_time_zone(parent: Element, tag: str, definition: TimeZoneDefinition) -> Element:
    """A `TimeZoneDefinitionType` element, shaped like GetServerTimeZones' answer."""
    el = tsub(parent, tag, Id=definition.id, Name=definition.name)
    periods = tsub(el, "Periods")
    for period in definition.periods:
        tsub(periods, "Period", Bias=_minutes(period.bias), Name=period.name, Id=period.id)
    groups = tsub(el, "TransitionsGroups")
    for group in definition.groups:
        group_el = tsub(groups, "TransitionsGroup", Id=group.id)
        for transition in group.transitions:
            if isinstance(transition, timezones.RecurringDayTransition):
                rule = tsub(group_el, "RecurringDayTransition")
                tsub(rule, "To", transition.to, Kind="Period")
                tsub(rule, "TimeOffset", _minutes(transition.time_offset))
                tsub(rule, "Month", str(transition.month))
                tsub(rule, "DayOfWeek", transition.day_of_week)
                tsub(rule, "Occurrence", str(transition.occurrence))
            else:
                tsub(tsub(group_el, "Transition"), "To", transition.to, Kind="Period")
    transitions = tsub(el, "Transitions")
    for switch in definition.transitions:
        if switch.date_time is None:
            tsub(tsub(transitions, "Transition"), "To", switch.to_group, Kind="Group")
        else:
            absolute = tsub(transitions, "AbsoluteDateTransition")
            tsub(absolute, "To", switch.to_group, Kind="Group")
            tsub(absolute, "DateTime", format_datetime(switch.date_time))
    return el


def write_recurrence(parent: Element, recurrence: Recurrence) -> Element:
    """A `RecurrenceType` element: the pattern, then the range."""
    el = tsub(parent, "Recurrence")
    pattern = recurrence.pattern
    if isinstance(pattern, RelativeYearlyPattern):
        p = tsub(el, "RelativeYearlyRecurrence")
        tsub(p, "DaysOfWeek", pattern.day_of_week)
        tsub(p, "DayOfWeekIndex", pattern.day_of_week_index)
        tsub(p, "Month", pattern.month)
    elif isinstance(pattern, AbsoluteYearlyPattern):
        p = tsub(el, "AbsoluteYearlyRecurrence")
        tsub(p, "DayOfMonth", str(pattern.day_of_month))
        tsub(p, "Month", pattern.month)
    elif isinstance(pattern, RelativeMonthlyPattern):
        p = tsub(el, "RelativeMonthlyRecurrence")
        tsub(p, "Interval", str(pattern.interval))
        tsub(p, "DaysOfWeek", pattern.day_of_week)
        tsub(p, "DayOfWeekIndex", pattern.day_of_week_index)
    elif isinstance(pattern, AbsoluteMonthlyPattern):
        p = tsub(el, "AbsoluteMonthlyRecurrence")
        tsub(p, "Interval", str(pattern.interval))
        tsub(p, "DayOfMonth", str(pattern.day_of_month))
    elif isinstance(pattern, WeeklyPattern):
        p = tsub(el, "WeeklyRecurrence")
        tsub(p, "Interval", str(pattern.interval))
        tsub(p, "DaysOfWeek", " ".join(pattern.days_of_week))
        tsub(p, "FirstDayOfWeek", pattern.first_day_of_week)
    else:
        assert isinstance(pattern, DailyPattern)
        tsub(tsub(el, "DailyRecurrence"), "Interval", str(pattern.interval))
    rng = recurrence.range
    if isinstance(rng, NoEndRange):
        tsub(tsub(el, "NoEndRecurrence"), "StartDate", format_date(rng.start_date))
    elif isinstance(rng, EndDateRange):
        r = tsub(el, "EndDateRecurrence")
        tsub(r, "StartDate", format_date(rng.start_date))
        tsub(r, "EndDate", format_date(rng.end_date))
    else:
        assert isinstance(rng, NumberedRange)
        r = tsub(el, "NumberedRecurrence")
        tsub(r, "StartDate", format_date(rng.start_date))
        tsub(r, "NumberOfOccurrences", str(rng.number_of_occurrences))
    return el


def _occurrence_info(parent: Element, tag: str, info: store_calendar.OccurrenceInfo) -> None:
    el = tsub(parent, tag)
    tsub(el, "ItemId", Id=info.item_id)
    tsub(el, "Start", format_datetime(info.start))
    tsub(el, "End", format_datetime(info.end))
    tsub(el, "OriginalStart", format_datetime(info.original_start))


def _wall_clock(value: datetime, zone_id: str) -> str:
    try:
        local = value.astimezone(timezones.zone(zone_id))
    except StoreError:
        local = value.astimezone(UTC)
    return local.replace(microsecond=0).isoformat()


# --- the element writers --------------------------------------------------------------------

Writer = Callable[[Element, Item, ItemShape, View], None]


def _text(tag: str, getter: Callable[[Item], str | None]) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        value = getter(item)
        if value is not None:
            tsub(parent, tag, value)

    return write


def _time(tag: str, getter: Callable[[Item], datetime | None]) -> Writer:
    return _text(tag, lambda i: None if (v := getter(i)) is None else format_datetime(v))


def _flag(tag: str, getter: Callable[[Item], bool | None]) -> Writer:
    return _text(tag, lambda i: None if (v := getter(i)) is None else _b(v))


def _cal(getter: Callable[[CalendarItem | MeetingMessage], object]) -> Callable[[Item], object]:
    """A getter for the calendar fields calendar items and meeting messages share."""

    def get(item: Item) -> object:
        return getter(item) if isinstance(item, CalendarItem | MeetingMessage) else None

    return get


def _msg(getter: Callable[[Message], object]) -> Callable[[Item], object]:
    def get(item: Item) -> object:
        return getter(item) if isinstance(item, Message) else None

    return get


def _mtg(getter: Callable[[MeetingMessage], object]) -> Callable[[Item], object]:
    def get(item: Item) -> object:
        return getter(item) if isinstance(item, MeetingMessage) else None

    return get


def _str(get: Callable[[Item], object]) -> Callable[[Item], str | None]:
    def value(item: Item) -> str | None:
        found = get(item)
        return None if found is None else str(found)

    return value


def _dt(get: Callable[[Item], object]) -> Callable[[Item], datetime | None]:
    def value(item: Item) -> datetime | None:
        found = get(item)
        return found if isinstance(found, datetime) else None

    return value


def _bool(get: Callable[[Item], object]) -> Callable[[Item], bool | None]:
    def value(item: Item) -> bool | None:
        found = get(item)
        return found if isinstance(found, bool) else None

    return value


def _w_parent_folder(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if item.folder_id:
        tsub(parent, "ParentFolderId", Id=item.folder_id, ChangeKey="AQAAAA==")


def _w_body(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    _write_body(parent, "Body", body_as(item.body, shape.body_type))


def _w_unique_body(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    # UniqueBody defaults to HTML ([MS-OXWSCDATA] UniqueBodyType): the body less quoted history,
    # which for the simulator's items is the whole body.
    wanted = "HTML" if shape.unique_body_type == "Best" else shape.unique_body_type
    _write_body(parent, "UniqueBody", body_as(item.body, wanted))


def _w_normalized_body(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    wanted = "HTML" if shape.normalized_body_type == "Best" else shape.normalized_body_type
    _write_body(parent, "NormalizedBody", body_as(item.body, wanted))


def _w_text_body(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    _write_body(parent, "TextBody", body_as(item.body, "Text"))


def _w_preview(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    text = body_as(item.body, "Text").content
    tsub(parent, "Preview", " ".join(text.split())[:255])


def _w_categories(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if item.categories:
        holder = tsub(parent, "Categories")
        for name in item.categories:
            tsub(holder, "String", name)


def _w_item_id(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    item_id(parent, item)


def _w_is_from_me(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    author = item.author if isinstance(item, Message) else None
    tsub(parent, "IsFromMe", _b(author is not None and author.key == view.owner.casefold()))


def _w_is_unmodified(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    received = isinstance(item, Message) and not item.is_draft
    tsub(parent, "IsUnmodified", _b(received and not isinstance(item, CalendarItem)))


def _response_objects(item: Item, view: View) -> list[str]:
    if isinstance(item, CalendarItem):
        if not item.is_meeting:
            return ["ForwardItem"]
        if item.is_organizer:
            return ["CancelCalendarItem", "ForwardItem"]
        respond = ["AcceptItem", "TentativelyAcceptItem", "DeclineItem"]
        return [*respond, "ReplyToItem", "ReplyAllToItem", "ForwardItem"]
    if isinstance(item, MeetingRequest):
        # GetItem-MeetingRequest.response.xml.
        return [
            "AcceptItem",
            "TentativelyAcceptItem",
            "DeclineItem",
            "ProposeNewTime",
            "ReplyToItem",
            "ReplyAllToItem",
            "ForwardItem",
        ]
    if isinstance(item, MeetingCancellation):
        return ["RemoveItem", "ReplyToItem", "ReplyAllToItem", "ForwardItem"]
    return ["ReplyToItem", "ReplyAllToItem", "ForwardItem"]


def _w_response_objects(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    holder = tsub(parent, "ResponseObjects")
    for name in _response_objects(item, view):
        tsub(holder, name)


def _w_reminder_due(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem) and item.start is not None:
        tsub(parent, "ReminderDueBy", format_datetime(item.start))


def _w_reminder_next(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem) and item.start is not None and item.reminder_is_set:
        due = item.start - timedelta(minutes=item.reminder_minutes_before_start)
        tsub(parent, "ReminderNextTime", format_datetime(due))


def _w_display(tag: str, cc: bool) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if isinstance(item, CalendarItem):
            people = tuple(
                a.mailbox for a in (item.optional_attendees if cc else item.required_attendees)
            )
        elif isinstance(item, Message):
            people = item.cc_recipients if cc else item.to_recipients
        else:
            people = ()
        tsub(parent, tag, _display(people))

    return write


def write_extended(parent: Element, key: PropertyKey, value: ExtendedValue) -> None:
    """An `ExtendedProperty` element: the path as asked for, and the value(s)."""
    el = tsub(parent, "ExtendedProperty")
    tsub(el, "ExtendedFieldURI", **extended_attributes(key))
    if isinstance(value, tuple):
        values = tsub(el, "Values")
        for one in value:
            tsub(values, "Value", one)
    else:
        tsub(el, "Value", value)


def _w_extended(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    # Stored properties, and the meeting properties derived from the item's fields
    # (PidLidGlobalObjectId …, `fields.extended_text`): only those asked for, in request order.
    for key in shape.extended:
        value = extended_text(item, key)
        if value is not None:
            write_extended(parent, key, value)


def _w_rights(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    write_effective_rights(parent, create=False)


def _w_owa(tag: str, model: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if tag == "WebClientEditFormQueryString" and not isinstance(item, CalendarItem):
            return
        viewmodel = model
        if isinstance(item, CalendarItem) and tag == "WebClientReadFormQueryString":
            viewmodel = "ICalendarItemDetailsViewModelFactory"
        query = f"?ItemID={quote(item.id, safe='')}&exvsurl=1&viewmodel={viewmodel}"
        tsub(parent, tag, OWA_URL + query)

    return write


def _w_conversation(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if item.conversation_id:
        tsub(parent, "ConversationId", Id=item.conversation_id)


def _w_flag(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    tsub(tsub(parent, "Flag"), "FlagStatus", "NotFlagged")


def _w_people(tag: str, getter: Callable[[Message], tuple[Address, ...]]) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if isinstance(item, Message):
            _recipients(parent, tag, getter(item), view)

    return write


def _w_person(tag: str, getter: Callable[[Item], Address | None]) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        _single(parent, tag, getter(item), view)

    return write


def _w_associated(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, MeetingMessage) and item.associated_calendar_item_id:
        tsub(parent, "AssociatedCalendarItemId", Id=item.associated_calendar_item_id)


def _w_meeting_request_type(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, MeetingRequest):
        tsub(parent, "MeetingRequestType", item.meeting_request_type)


def _w_intended(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingRequest):
        status = item.intended_free_busy_status
        if status is None:
            # An organizer's own meeting says NoData (FindItem-CalendarItem-TimeZone sample).
            status = item.legacy_free_busy_status if isinstance(item, MeetingRequest) else "NoData"
        tsub(parent, "IntendedFreeBusyStatus", status)


def _is_recurring(item: Item) -> bool | None:
    """EWS IsRecurring: false for singles and for the organizer's own master (a documented
    Exchange quirk, "IsRecurring" element reference), true for the rest of a series."""
    if isinstance(item, CalendarItem):
        if item.calendar_item_type == "Single":
            return False
        if item.calendar_item_type == "RecurringMaster":
            return not item.is_organizer
        return True
    if isinstance(item, MeetingRequest):
        return item.recurrence is not None or item.calendar_item_type != "Single"
    return None


def _w_location(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingMessage):
        tsub(parent, "Location", item.location)


def _w_attendee_list(tag: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if isinstance(item, CalendarItem | MeetingRequest):
            people = {
                "RequiredAttendees": item.required_attendees,
                "OptionalAttendees": item.optional_attendees,
                "Resources": item.resources,
            }[tag]
            _attendees(parent, tag, people, view)

    return write


def _w_neighbours(tag: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if not isinstance(item, CalendarItem) or view.neighbours is None:
            return
        conflicting, adjacent = view.neighbours(item)
        if tag == "ConflictingMeetingCount":
            tsub(parent, tag, str(len(conflicting)))
        elif tag == "AdjacentMeetingCount":
            tsub(parent, tag, str(len(adjacent)))
        else:
            found = conflicting if tag == "ConflictingMeetings" else adjacent
            if found:
                holder = tsub(parent, tag)
                for other in found:
                    el = tsub(holder, "CalendarItem")
                    item_id(el, other)
                    tsub(el, "Subject", other.subject)
                    if other.start is not None and other.end is not None:
                        tsub(el, "Start", format_datetime(other.start))
                        tsub(el, "End", format_datetime(other.end))
                    tsub(el, "LegacyFreeBusyStatus", other.legacy_free_busy_status)
                    tsub(el, "Location", other.location)

    return write


def _w_duration(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingRequest) and item.start and item.end:
        tsub(parent, "Duration", format_duration(item.end - item.start))


def _w_time_zone_name(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingRequest):
        try:
            tsub(parent, "TimeZone", timezones.timezone_definition(item.start_time_zone).name)
        except StoreError:
            tsub(parent, "TimeZone", item.start_time_zone)


def _w_recurrence(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingMessage) and item.recurrence is not None:
        write_recurrence(parent, item.recurrence)


def _w_first(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem) and item.recurrence is not None:
        info = store_calendar.first_occurrence(item)
        if info is not None:
            _occurrence_info(parent, "FirstOccurrence", info)


def _w_last(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem) and item.recurrence is not None:
        info = store_calendar.last_occurrence(item)
        if info is not None:
            _occurrence_info(parent, "LastOccurrence", info)


def _w_modified(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem) and item.exceptions:
        holder = tsub(parent, "ModifiedOccurrences")
        for info in store_calendar.modified_occurrences(item):
            _occurrence_info(holder, "Occurrence", info)


def _w_deleted(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    # A series' request carries its deleted occurrences too (MeetingRequestMessageType:
    # "only valid if CalendarItemType is RecurringMaster"), so an attendee's copy of a later
    # update does not bring them back.
    if isinstance(item, MeetingRequest) and item.recurrence is None:
        return
    if isinstance(item, CalendarItem | MeetingRequest) and item.deleted_occurrences:
        holder = tsub(parent, "DeletedOccurrences")
        for start in sorted(item.deleted_occurrences):
            tsub(tsub(holder, "DeletedOccurrence"), "Start", format_datetime(start))


def _w_zone(tag: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if not isinstance(item, CalendarItem | MeetingRequest):
            return
        zone_id = item.start_time_zone if tag == "StartTimeZone" else item.end_time_zone
        try:
            write_time_zone(parent, tag, timezones.timezone_definition(zone_id))
        except StoreError:
            tsub(parent, tag, Id=zone_id)

    return write


def _w_wall(tag: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if not isinstance(item, CalendarItem | MeetingRequest):
            return
        if tag == "StartWallClock" and item.start is not None:
            tsub(parent, tag, _wall_clock(item.start, item.start_time_zone))
        elif tag == "EndWallClock" and item.end is not None:
            tsub(parent, tag, _wall_clock(item.end, item.end_time_zone))
        elif tag == "StartTimeZoneId":
            tsub(parent, tag, item.start_time_zone)
        elif tag == "EndTimeZoneId":
            tsub(parent, tag, item.end_time_zone)

    return write


def _w_appointment_state(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingRequest):
        state = item.appointment_state
        if isinstance(item, CalendarItem) and item.is_meeting:
            state |= ASF_MEETING
        tsub(parent, "AppointmentState", str(state))


def _w_proposed(tag: str) -> Writer:
    def write(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
        if isinstance(item, MeetingResponse):
            value = item.proposed_start if tag == "ProposedStart" else item.proposed_end
            if value is not None:
                tsub(parent, tag, format_datetime(value))

    return write


def _w_calendar_item_type(parent: Element, item: Item, shape: ItemShape, view: View) -> None:
    if isinstance(item, CalendarItem | MeetingMessage):
        tsub(parent, "CalendarItemType", item.calendar_item_type)


def _is_read(item: Item) -> bool | None:
    return item.is_read if isinstance(item, Message) else None


_WRITERS: Final[dict[str, Writer]] = {
    "ItemId": _w_item_id,
    "ParentFolderId": _w_parent_folder,
    "ItemClass": _text("ItemClass", lambda i: i.item_class),
    "Subject": _text("Subject", lambda i: i.subject),
    "Sensitivity": _text("Sensitivity", lambda i: i.sensitivity),
    "Body": _w_body,
    "DateTimeReceived": _time("DateTimeReceived", lambda i: i.date_time_received),
    "Size": _text("Size", lambda i: str(i.size)),
    "Categories": _w_categories,
    "Importance": _text("Importance", lambda i: i.importance),
    "InReplyTo": _text("InReplyTo", lambda i: i.in_reply_to),
    "IsSubmitted": _flag("IsSubmitted", lambda i: False),
    "IsDraft": _flag("IsDraft", lambda i: i.is_draft),
    "IsFromMe": _w_is_from_me,
    "IsResend": _flag("IsResend", lambda i: False),
    "IsUnmodified": _w_is_unmodified,
    "DateTimeSent": _time("DateTimeSent", lambda i: i.date_time_sent or i.date_time_created),
    "DateTimeCreated": _time("DateTimeCreated", lambda i: i.date_time_created),
    "ResponseObjects": _w_response_objects,
    "ReminderDueBy": _w_reminder_due,
    "ReminderIsSet": _flag("ReminderIsSet", lambda i: i.reminder_is_set),
    "ReminderNextTime": _w_reminder_next,
    "ReminderMinutesBeforeStart": _text(
        "ReminderMinutesBeforeStart", lambda i: str(i.reminder_minutes_before_start)
    ),
    "DisplayCc": _w_display("DisplayCc", cc=True),
    "DisplayTo": _w_display("DisplayTo", cc=False),
    "HasAttachments": _flag("HasAttachments", lambda i: i.has_attachments),
    "ExtendedProperty": _w_extended,
    "Culture": _text("Culture", lambda i: i.culture),
    "EffectiveRights": _w_rights,
    "LastModifiedName": _text("LastModifiedName", lambda i: i.last_modified_name),
    "LastModifiedTime": _time("LastModifiedTime", lambda i: i.last_modified_time),
    "IsAssociated": _flag("IsAssociated", lambda i: False),
    "WebClientReadFormQueryString": _w_owa("WebClientReadFormQueryString", "ReadMessageItem"),
    "WebClientEditFormQueryString": _w_owa(
        "WebClientEditFormQueryString", "ComposeCalendarItemViewModelFactory"
    ),
    "ConversationId": _w_conversation,
    "UniqueBody": _w_unique_body,
    "Flag": _w_flag,
    "NormalizedBody": _w_normalized_body,
    "Preview": _w_preview,
    "TextBody": _w_text_body,
    # MessageType
    "Sender": _w_person("Sender", lambda i: i.sender if isinstance(i, Message) else None),
    "ToRecipients": _w_people("ToRecipients", lambda i: i.to_recipients),
    "CcRecipients": _w_people("CcRecipients", lambda i: i.cc_recipients),
    "BccRecipients": _w_people("BccRecipients", lambda i: i.bcc_recipients),
    "IsReadReceiptRequested": _flag(
        "IsReadReceiptRequested", _bool(_msg(lambda i: i.is_read_receipt_requested))
    ),
    "IsDeliveryReceiptRequested": _flag(
        "IsDeliveryReceiptRequested", _bool(_msg(lambda i: i.is_delivery_receipt_requested))
    ),
    "ConversationTopic": _text(
        "ConversationTopic",
        _str(_msg(lambda i: i.conversation_topic or i.subject)),
    ),
    "From": _w_person("From", lambda i: i.author if isinstance(i, Message) else None),
    "InternetMessageId": _text("InternetMessageId", lambda i: i.internet_message_id),
    "IsRead": _flag("IsRead", _is_read),
    "IsResponseRequested": _flag("IsResponseRequested", lambda i: i.is_response_requested),
    "References": _text("References", _str(_msg(lambda i: i.references))),
    "ReplyTo": _w_people("ReplyTo", lambda i: i.reply_to),
    "ReceivedBy": _w_person(
        "ReceivedBy", lambda i: i.received_by if isinstance(i, Message) else None
    ),
    "ReceivedRepresenting": _w_person(
        "ReceivedRepresenting",
        lambda i: i.received_representing if isinstance(i, Message) else None,
    ),
    # MeetingMessageType
    "AssociatedCalendarItemId": _w_associated,
    "IsDelegated": _flag("IsDelegated", _bool(_mtg(lambda i: i.is_delegated))),
    "IsOutOfDate": _flag("IsOutOfDate", _bool(_mtg(lambda i: i.is_out_of_date))),
    "HasBeenProcessed": _flag("HasBeenProcessed", _bool(_mtg(lambda i: i.has_been_processed))),
    "ResponseType": _text("ResponseType", _str(_mtg(lambda i: i.response_type))),
    "UID": _text("UID", _str(_cal(lambda i: i.uid or None))),
    "RecurrenceId": _time("RecurrenceId", _dt(_cal(lambda i: i.recurrence_id))),
    "DateTimeStamp": _time("DateTimeStamp", _dt(_cal(lambda i: i.date_time_stamp))),
    "IsOrganizer": _flag("IsOrganizer", _bool(_cal(lambda i: i.is_organizer))),
    "MeetingRequestType": _w_meeting_request_type,
    "IntendedFreeBusyStatus": _w_intended,
    # CalendarItemType and the calendar part of meeting messages
    "Start": _time("Start", _dt(_cal(lambda i: i.start))),
    "End": _time("End", _dt(_cal(lambda i: i.end))),
    "OriginalStart": _time("OriginalStart", _dt(_cal(lambda i: i.original_start))),
    "IsAllDayEvent": _flag("IsAllDayEvent", _bool(_cal(lambda i: i.is_all_day))),
    "LegacyFreeBusyStatus": _text(
        "LegacyFreeBusyStatus", _str(_cal(lambda i: i.legacy_free_busy_status))
    ),
    "Location": _w_location,
    "IsMeeting": _flag("IsMeeting", _bool(_cal(lambda i: i.is_meeting))),
    "IsCancelled": _flag("IsCancelled", _bool(_cal(lambda i: i.is_cancelled))),
    "IsRecurring": _flag("IsRecurring", _is_recurring),
    "MeetingRequestWasSent": _flag(
        "MeetingRequestWasSent", _bool(_cal(lambda i: i.meeting_request_was_sent))
    ),
    "CalendarItemType": _w_calendar_item_type,
    "MyResponseType": _text("MyResponseType", _str(_cal(lambda i: i.my_response_type))),
    "Organizer": _w_person(
        "Organizer", lambda i: i.organizer if isinstance(i, CalendarItem | MeetingMessage) else None
    ),
    "RequiredAttendees": _w_attendee_list("RequiredAttendees"),
    "OptionalAttendees": _w_attendee_list("OptionalAttendees"),
    "Resources": _w_attendee_list("Resources"),
    "ConflictingMeetingCount": _w_neighbours("ConflictingMeetingCount"),
    "AdjacentMeetingCount": _w_neighbours("AdjacentMeetingCount"),
    "ConflictingMeetings": _w_neighbours("ConflictingMeetings"),
    "AdjacentMeetings": _w_neighbours("AdjacentMeetings"),
    "Duration": _w_duration,
    "TimeZone": _w_time_zone_name,
    "AppointmentReplyTime": _time(
        "AppointmentReplyTime", _dt(_cal(lambda i: i.appointment_reply_time))
    ),
    "AppointmentSequenceNumber": _text(
        "AppointmentSequenceNumber", _str(_cal(lambda i: i.appointment_sequence_number))
    ),
    "AppointmentState": _w_appointment_state,
    "Recurrence": _w_recurrence,
    "FirstOccurrence": _w_first,
    "LastOccurrence": _w_last,
    "ModifiedOccurrences": _w_modified,
    "DeletedOccurrences": _w_deleted,
    "StartTimeZone": _w_zone("StartTimeZone"),
    "EndTimeZone": _w_zone("EndTimeZone"),
    "AllowNewTimeProposal": _flag(
        "AllowNewTimeProposal", _bool(_cal(lambda i: i.allow_new_time_proposal))
    ),
    "IsOnlineMeeting": _flag("IsOnlineMeeting", _bool(_cal(lambda i: i.is_online_meeting))),
    "StartWallClock": _w_wall("StartWallClock"),
    "EndWallClock": _w_wall("EndWallClock"),
    "StartTimeZoneId": _w_wall("StartTimeZoneId"),
    "EndTimeZoneId": _w_wall("EndTimeZoneId"),
    "ProposedStart": _w_proposed("ProposedStart"),
    "ProposedEnd": _w_proposed("ProposedEnd"),
}


def write_item(
    parent: Element, item: Item, shape: ItemShape, view: View, tag: str | None = None
) -> Element:
    """Append the item as its EWS element (``tag`` overrides the element name), with the
    elements the shape asks for, in schema order."""
    kind: ItemKind = item_kind(item)
    el = tsub(parent, tag or kind)
    for name in wanted_elements(kind, shape, view.purpose):
        writer = _WRITERS.get(name)
        if writer is not None:
            writer(el, item, shape, view)
    return el


__all__ = [
    "View",
    "body_as",
    "html_to_text",
    "item_id",
    "text_to_html",
    "write_effective_rights",
    "write_extended",
    "write_item",
    "write_mailbox",
    "write_recurrence",
    "write_time_zone",
]
