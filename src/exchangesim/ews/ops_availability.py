"""GetUserAvailability: free/busy of the tenant's mailboxes, read from their calendars.

The Exchange2016 schema set has no availability types (MS-OXWSAVAIL), so the answer follows the
captured and documented answers instead (`GetUserAvailability-*.response.xml`, and the error
shape below): `m:FreeBusyResponseArray` with one `m:FreeBusyResponse` per `t:MailboxData`, in
order, each a `m:ResponseMessage` and a `m:FreeBusyView` (`t:FreeBusyViewType`,
`t:MergedFreeBusy`, `t:CalendarEventArray`, `t:WorkingHours`).

Who sees what. The requester is the mailbox the request acts on (the impersonated mailbox for an
app-only caller: the availability service checks that user's rights, not the app's). On one's
own calendar the requester sees everything; otherwise the calendar folder's permission entry for
the requester, or else its `Default` entry, decides (EWS folder permissions, REFERENCES.md §2):

- `None`: no free/busy at all: `ResponseClass="Error"` `ErrorNoFreeBusyAccess` with
  `MessageXml/e:ExceptionType` `NoFreeBusyAccessException` and a `FreeBusyViewType` of `None`
  (the Exchange answer quoted in "Client Experience: Free Busy not working", ivfranji's
  TechNet blog; the `None` view follows the error answer captured in OpenChange's `as.py`);
- `FreeBusyTimeOnly` (PowerShell `AvailabilityOnly`): times and busy types only; a `Detailed`
  request is answered `FreeBusy` and `DetailedMerged` `FreeBusyMerged`, as the second mailbox of
  `GetUserAvailability-Ref.response.xml` shows;
- `FreeBusyTimeAndSubjectAndLocation` (`LimitedDetails`): details with subject and location;
- `Reviewer` and above: details with the item's `ID` (its HexEntryId) as well.

Private items never show their subject or location to anyone but the owner.

Details of the answer:

- times are wall-clock times in the request's time zone without an offset, as Exchange 2013 and
  later write them (`GetUserAvailability-GetFreeBusyInformation.response.xml`); the zone is the
  request's `t:TimeZone` (a SerializableTimeZone: bias plus yearly standard/daylight switches,
  `serializable_zone.py`), else its `TimeZoneContext`, else UTC; zoneless `TimeWindow` times
  are read in it too;
- every item overlapping the window is listed, Free ones included (as in the captured answers);
- `MergedFreeBusy` has one digit per interval from the window's start (0 Free, 1 Tentative,
  2 Busy, 3 OOF, 4 NoData, 5 WorkingElsewhere), the strongest status overlapping it;
- `WorkingHours`: the store keeps no working hours, so Exchange's defaults (Monday to Friday,
  08:00-17:00) are given in the request's time zone;
- an address outside the tenant is `ErrorMailRecipientNotFound` (`MailRecipientNotFoundException`,
  exception code 5009, from the same OpenChange capture); a distribution group is answered with
  its members' merged free/busy (`MergedOnly`), members the requester may not see left out
  (inferred: the schema's `MergedOnly` aggregated view);
- a window longer than 62 days is the `ErrorTimeIntervalTooBig` fault (Exchange Online's limit,
  the same as Graph getSchedule's);
- meeting suggestions are not implemented: a `SuggestionsViewOptions` request gets a
  `SuggestionsResponse` whose message is `ErrorInvalidOperation` saying so, next to the free/busy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from lxml import etree

from exchangesim.ews.faults import EwsFault
from exchangesim.ews.ops_misc import from_ews_id
from exchangesim.ews.registry import operation
from exchangesim.ews.serializable_zone import SerializableZone, request_zones, write_time_zone
from exchangesim.ews.xml import (
    E_NS,
    M_NS,
    T_NS,
    Element,
    child,
    child_text,
    children,
    format_bool,
    m,
    msub,
    parse_datetime,
    qname,
    tsub,
)

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import ReadAccess
    from exchangesim.store.items import CalendarItem, FreeBusyStatus

#: Longest free/busy window Exchange Online serves.
MAX_WINDOW: Final = timedelta(days=62)
_VIEWS: Final = frozenset(
    {"MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged"}
)
#: `MergedFreeBusy` digits (MergedFreeBusy element reference; exchangelib's FREE_BUSY_CHOICES).
_DIGITS: Final[dict[str, str]] = {
    "Free": "0",
    "Tentative": "1",
    "Busy": "2",
    "OOF": "3",
    "NoData": "4",
    "WorkingElsewhere": "5",
}
#: Which status wins when several items share an interval.
_STRENGTH: Final[dict[str, int]] = {
    "Free": 0,
    "NoData": 1,
    "WorkingElsewhere": 2,
    "Tentative": 3,
    "Busy": 4,
    "OOF": 5,
}
#: Exchange's default working hours: Monday to Friday, 08:00 to 17:00.
_WORK_DAYS: Final = "Monday Tuesday Wednesday Thursday Friday"
_WORK_START_MIN: Final = 480
_WORK_END_MIN: Final = 1020
_NO_ACCESS_TEXT: Final = (
    "Microsoft.Exchange.InfoWorker.Common.Availability.NoFreeBusyAccessException: "
    "The caller does not have access to free/busy data."
)
_NO_SUGGESTIONS_TEXT: Final = "exchangesim does not implement meeting time suggestions."


# --- who may see what -------------------------------------------------------------------------


def read_access(ctx: EwsContext, owner: str) -> ReadAccess:
    """What the requester may read of `owner`'s calendar (see the module docstring)."""
    requester = (ctx.mailbox or ctx.principal.upn or "").casefold()
    if requester == owner.casefold():
        return "FullDetails"
    permissions = {
        p.user.casefold(): p for p in ctx.sim.store.folder(owner, "calendar").permissions
    }
    entry = permissions.get(requester) or permissions.get("default")
    return entry.read_access if entry is not None else "None"


def _view_for(requested: str, access: ReadAccess) -> str:
    if access == "TimeOnly" and requested.startswith("Detailed"):
        return requested.replace("Detailed", "FreeBusy")
    return requested


# --- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The free/busy window (UTC), the merged interval and the requested view."""

    start: datetime
    end: datetime
    interval: timedelta
    view: str
    zone: tzinfo
    legacy_zone: SerializableZone

    def local(self, value: datetime) -> str:
        """A time as wall-clock time of the request's zone, without an offset."""
        return value.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M:%S")


def merged_free_busy(window: Window, items: list[CalendarItem]) -> str:
    """One `MergedFreeBusy` digit per interval of the window."""
    count = math.ceil((window.end - window.start) / window.interval)
    digits = []
    for index in range(count):
        start = window.start + index * window.interval
        end = start + window.interval
        strongest: FreeBusyStatus = "Free"
        for item in items:
            assert item.start is not None
            assert item.end is not None
            if item.start < end and item.end > start:
                status = item.legacy_free_busy_status
                if _STRENGTH[status] > _STRENGTH[strongest]:
                    strongest = status
        digits.append(_DIGITS[strongest])
    return "".join(digits)


def _write_working_hours(view: Element, zone: SerializableZone) -> None:
    hours = tsub(view, "WorkingHours")
    write_time_zone(hours, zone)
    period = tsub(tsub(hours, "WorkingPeriodArray"), "WorkingPeriod")
    tsub(period, "DayOfWeek", _WORK_DAYS)
    tsub(period, "StartTimeInMinutes", str(_WORK_START_MIN))
    tsub(period, "EndTimeInMinutes", str(_WORK_END_MIN))


def _write_details(
    event: Element, item: CalendarItem, owner: str, access: ReadAccess, *, own: bool
) -> None:
    details = tsub(event, "CalendarEventDetails")
    if access == "FullDetails":
        tsub(details, "ID", from_ews_id(item.master_id or item.id, "HexEntryId", owner))
    private = item.sensitivity == "Private"
    if own or not private:
        tsub(details, "Subject", item.subject)
        tsub(details, "Location", item.location)
    tsub(details, "IsMeeting", format_bool(item.is_meeting))
    tsub(
        details, "IsRecurring", format_bool(item.calendar_item_type in {"Occurrence", "Exception"})
    )
    tsub(details, "IsException", format_bool(item.calendar_item_type == "Exception"))
    tsub(details, "IsReminderSet", format_bool(item.reminder_is_set))
    tsub(details, "IsPrivate", format_bool(private))


def _success(holder: Element) -> tuple[Element, Element]:
    """(FreeBusyResponse, its FreeBusyView) with a Success message."""
    response = msub(holder, "FreeBusyResponse")
    message = msub(response, "ResponseMessage", ResponseClass="Success")
    msub(message, "ResponseCode", "NoError")
    return response, msub(response, "FreeBusyView")


def _error(
    holder: Element, code: str, text: str, exception: str, exception_code: str | None = None
) -> None:
    """A FreeBusyResponse in Exchange's error shape, with a `None` view."""
    response = msub(holder, "FreeBusyResponse")
    message = msub(response, "ResponseMessage", ResponseClass="Error")
    msub(message, "MessageText", text)
    msub(message, "ResponseCode", code)
    msub(message, "DescriptiveLinkKey", "0")
    xml = msub(message, "MessageXml")
    etree.SubElement(xml, qname(E_NS, "ExceptionType"), nsmap={"e": E_NS}).text = exception
    if exception_code is not None:
        etree.SubElement(xml, qname(E_NS, "ExceptionCode"), nsmap={"e": E_NS}).text = exception_code
    tsub(msub(response, "FreeBusyView"), "FreeBusyViewType", "None")


def _calendar(ctx: EwsContext, owner: str, window: Window) -> list[CalendarItem]:
    items = ctx.sim.store.calendar_view(owner, "calendar", window.start, window.end)
    return [i for i in items if i.start is not None and i.end is not None]


def _mailbox_answer(ctx: EwsContext, holder: Element, owner: str, window: Window) -> None:
    access = read_access(ctx, owner)
    if access == "None":
        _error(holder, "ErrorNoFreeBusyAccess", _NO_ACCESS_TEXT, "NoFreeBusyAccessException")
        return
    view_type = _view_for(window.view, access)
    items = _calendar(ctx, owner, window)
    _, view = _success(holder)
    tsub(view, "FreeBusyViewType", view_type)
    if view_type.endswith("Merged") or view_type == "MergedOnly":
        tsub(view, "MergedFreeBusy", merged_free_busy(window, items))
    if view_type != "MergedOnly" and items:
        events = tsub(view, "CalendarEventArray")
        own = access == "FullDetails" and (ctx.mailbox or "").casefold() == owner.casefold()
        for item in items:
            assert item.start is not None
            assert item.end is not None
            event = tsub(events, "CalendarEvent")
            tsub(event, "StartTime", window.local(item.start))
            tsub(event, "EndTime", window.local(item.end))
            tsub(event, "BusyType", item.legacy_free_busy_status)
            if view_type.startswith("Detailed"):
                _write_details(event, item, owner, access, own=own)
    _write_working_hours(view, window.legacy_zone)


def _group_answer(ctx: EwsContext, holder: Element, group: str, window: Window) -> None:
    items: list[CalendarItem] = []
    for member in ctx.sim.tenant.group_members(group, transitive=True):
        found = ctx.sim.tenant.find_mailbox(member)
        if found is not None and read_access(ctx, found.email) != "None":
            items.extend(_calendar(ctx, found.email, window))
    _, view = _success(holder)
    tsub(view, "FreeBusyViewType", "MergedOnly")
    tsub(view, "MergedFreeBusy", merged_free_busy(window, items))


# --- the operation ----------------------------------------------------------------------------


def _window(ctx: EwsContext, request: Element) -> Window | None:
    options = child(request, T_NS, "FreeBusyViewOptions")
    if options is None:
        return None
    zone, legacy = request_zones(ctx, request)
    time_window = child(options, T_NS, "TimeWindow")
    bounds = time_window if time_window is not None else options
    try:
        start = parse_datetime(child_text(bounds, T_NS, "StartTime") or "", zone)
        end = parse_datetime(child_text(bounds, T_NS, "EndTime") or "", zone)
        minutes = int(child_text(options, T_NS, "MergedFreeBusyIntervalInMinutes") or "30")
    except ValueError as exc:
        raise EwsFault(
            "ErrorInvalidRequest", f"The free/busy view options are invalid: {exc}"
        ) from exc
    view = child_text(options, T_NS, "RequestedView") or "FreeBusy"
    if view not in _VIEWS or not 5 <= minutes <= 1440 or end <= start:
        raise EwsFault("ErrorInvalidRequest", "The free/busy view options are invalid.")
    if end - start > MAX_WINDOW:
        raise EwsFault(
            "ErrorTimeIntervalTooBig",
            "The time window that was specified is larger than the allowed limit of 62 days.",
        )
    return Window(
        start.astimezone(UTC), end.astimezone(UTC), timedelta(minutes=minutes), view, zone, legacy
    )


def _addresses(request: Element) -> list[str]:
    holder = child(request, M_NS, "MailboxDataArray")
    found = []
    for data in children(holder, T_NS, "MailboxData") if holder is not None else []:
        email = child(data, T_NS, "Email")
        address = child_text(email, T_NS, "Address") if email is not None else None
        found.append((address or "").strip())
    return found


@operation("GetUserAvailability")
async def get_user_availability(ctx: EwsContext, request: Element) -> Element:
    """GetUserAvailability: free/busy per mailbox; suggestions are not implemented."""
    window = _window(ctx, request)
    response = m("GetUserAvailabilityResponse")
    if window is not None:
        holder = msub(response, "FreeBusyResponseArray")
        tenant = ctx.sim.tenant
        for address in _addresses(request):
            mailbox = tenant.find_mailbox(address)
            if mailbox is not None:
                _mailbox_answer(ctx, holder, mailbox.email, window)
            elif tenant.group(address) is not None:
                _group_answer(ctx, holder, address, window)
            else:
                _error(
                    holder,
                    "ErrorMailRecipientNotFound",
                    f"Unable to resolve e-mail address <>SMTP:{address} to an Active Directory "
                    "object.",
                    "Microsoft.Exchange.InfoWorker.Common.Availability."
                    "MailRecipientNotFoundException",
                    "5009",
                )
    if child(request, T_NS, "SuggestionsViewOptions") is not None:
        suggestions = msub(response, "SuggestionsResponse")
        message = msub(suggestions, "ResponseMessage", ResponseClass="Error")
        msub(message, "MessageText", _NO_SUGGESTIONS_TEXT)
        msub(message, "ResponseCode", "ErrorInvalidOperation")
        msub(message, "DescriptiveLinkKey", "0")
    return response


__all__ = [
    "MAX_WINDOW",
    "Window",
    "get_user_availability",
    "merged_free_busy",
    "read_access",
]
