"""GetUserAvailability: free/busy from the store's calendars, honouring calendar permissions.

exchangelib, unmodified, asks through `account.protocol.get_free_busy_info()` (GetServerTimeZones
for the zone, then GetUserAvailability as the impersonated mailbox). The Exchange2016 schema set
the other tests validate against has no availability types (MS-OXWSAVAIL), so these answers are
not schema-checked: `test_answers_have_the_shape_of_the_captured_samples` compares their element
tree with `GetUserAvailability-*.response.xml` (real and documented Exchange answers) instead,
and the error shapes follow the Exchange answers quoted in `ops_availability`'s docstring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorMailRecipientNotFound, ErrorNoFreeBusyAccess
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, SAMPLES_DIR, VMR, EwsClient
from lxml import etree

from exchangesim.ews.ops_availability import Window, merged_free_busy
from exchangesim.ews.serializable_zone import SerializableZone
from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import CalendarItem, CalendarPermission, timezone_definition
from exchangesim.store.folders import permission_level

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import EwsReply, SimServer

    from exchangesim.store import Store
    from exchangesim.store.items import FreeBusyStatus, Sensitivity

BOB = "bob@contoso.com"
DESIGN = "design-team@contoso.com"
T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
BERLIN = EWSTimeZone("Europe/Berlin")
DAY = EWSDateTime(2030, 3, 4, tzinfo=BERLIN)  # a Monday, before either DST switch
PACIFIC_TZ = (
    "<t:TimeZone><t:Bias>480</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>02:00:00</t:Time>"
    "<t:DayOrder>1</t:DayOrder><t:Month>11</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek>"
    "</t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time>"
    "<t:DayOrder>2</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek>"
    "</t:DaylightTime></t:TimeZone>"
)


def book(
    store: Store,
    owner: str,
    start: datetime,
    hours: float = 1,
    *,
    subject: str = "Planning",
    status: FreeBusyStatus = "Busy",
    sensitivity: Sensitivity = "Normal",
) -> CalendarItem:
    """Put an appointment in `owner`'s calendar."""
    item = CalendarItem(
        subject=subject,
        location="Room 7",
        start=start,
        end=start + timedelta(hours=hours),
        legacy_free_busy_status=status,
        sensitivity=sensitivity,
    )
    created = store.create_item(owner, "calendar", item)
    assert isinstance(created, CalendarItem)
    return created


def permit(store: Store, owner: str, default: str, **users: str) -> None:
    """Set `owner`'s calendar permissions: Default, Anonymous None, and per-user entries."""
    entries = [
        CalendarPermission("Default", permission_level(default)),
        CalendarPermission("Anonymous", "None"),
    ]
    entries += [CalendarPermission(u, permission_level(level)) for u, level in users.items()]
    store.set_calendar_permissions(owner, entries)


def free_busy(account: object, *addresses: str, view: str = "DetailedMerged") -> list[object]:
    """exchangelib's `get_free_busy_info` for one Berlin day, hourly merged intervals."""
    protocol = account.protocol  # type: ignore[attr-defined]
    return list(
        protocol.get_free_busy_info(
            accounts=[(a, "Required", False) for a in addresses],
            start=DAY,
            end=DAY + timedelta(days=1),
            merged_free_busy_interval=60,
            requested_view=view,
        )
    )


def availability_body(
    address: str | tuple[str, ...], start: str, end: str, view: str = "Detailed", extra: str = ""
) -> str:
    """A GetUserAvailabilityRequest in the Pacific SerializableTimeZone."""
    mailboxes = "".join(
        f"<t:MailboxData><t:Email><t:Address>{a}</t:Address></t:Email>"
        "<t:AttendeeType>Required</t:AttendeeType></t:MailboxData>"
        for a in ((address,) if isinstance(address, str) else address)
    )
    return (
        f"<m:GetUserAvailabilityRequest>{PACIFIC_TZ}<m:MailboxDataArray>{mailboxes}"
        "</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow>"
        f"<t:StartTime>{start}</t:StartTime><t:EndTime>{end}</t:EndTime></t:TimeWindow>"
        "<t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes>"
        f"<t:RequestedView>{view}</t:RequestedView></t:FreeBusyViewOptions>{extra}"
        "</m:GetUserAvailabilityRequest>"
    )


# --- exchangelib -------------------------------------------------------------------------------


def test_own_calendar_shows_details_in_the_request_time_zone(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Alice asking for her own free/busy gets DetailedMerged: the merged hours, the event at its
    Berlin wall-clock time, and its details with subject, location and ID."""
    book(fresh_server.sim.store, ALICE, datetime(2030, 3, 4, 8, tzinfo=UTC))  # 09:00 Berlin
    alice = exchangelib_accounts(fresh_server, ALICE)
    [view] = free_busy(alice, ALICE)
    assert view.view_type == "DetailedMerged"
    assert view.merged == "000000000200000000000000"
    [event] = view.calendar_events
    assert (event.start, event.end) == (DAY.replace(hour=9), DAY.replace(hour=10))
    assert event.busy_type == "Busy"
    assert (event.details.subject, event.details.location) == ("Planning", "Room 7")
    assert event.details.id
    assert [p.weekdays for p in view.working_hours] == [[1, 2, 3, 4, 5]]


def test_default_availability_only_gives_times_without_details(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Bob's calendar is Default FreeBusyTimeOnly: Alice's DetailedMerged request is answered
    FreeBusyMerged, events carry busy types only (Free ones included)."""
    store = fresh_server.sim.store
    book(store, BOB, datetime(2030, 3, 4, 8, tzinfo=UTC))
    book(store, BOB, datetime(2030, 3, 4, 12, tzinfo=UTC), status="Tentative")
    book(store, BOB, datetime(2030, 3, 4, 14, tzinfo=UTC), status="Free")
    alice = exchangelib_accounts(fresh_server, ALICE)
    [view] = free_busy(alice, BOB)
    assert view.view_type == "FreeBusyMerged"
    assert view.merged == "000000000200010000000000"
    assert [e.busy_type for e in view.calendar_events] == ["Busy", "Tentative", "Free"]
    assert all(e.details is None for e in view.calendar_events)


def test_default_none_means_no_free_busy_access(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """The VMR resource's calendar Default is None: exchangelib raises the mailbox's
    ErrorNoFreeBusyAccess (the raw answer is checked in `test_each_mailbox_is_answered_alone`)."""
    alice = exchangelib_accounts(fresh_server, ALICE)
    with pytest.raises(ErrorNoFreeBusyAccess):
        free_busy(alice, VMR)


def test_the_impersonated_mailbox_is_the_requester(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """An app-only caller sees what the impersonated user may see: as the VMR mailbox itself
    it reads the VMR calendar in detail, as Alice it gets nothing."""
    book(fresh_server.sim.store, VMR, datetime(2030, 3, 4, 8, tzinfo=UTC), subject="Booked")
    as_vmr = exchangelib_accounts(fresh_server, VMR)
    [view] = free_busy(as_vmr, VMR)
    assert [e.details.subject for e in view.calendar_events] == ["Booked"]
    as_alice = exchangelib_accounts(fresh_server, ALICE)
    with pytest.raises(ErrorNoFreeBusyAccess):
        free_busy(as_alice, VMR)


def test_reviewer_sees_details_and_limited_details_no_id(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A Reviewer entry for Alice gives subject, location and ID; a Default of LimitedDetails
    gives subject and location without the ID; private items keep their subject hidden."""
    store = fresh_server.sim.store
    book(store, BOB, datetime(2030, 3, 4, 8, tzinfo=UTC), subject="Budget")
    book(store, BOB, datetime(2030, 3, 4, 10, tzinfo=UTC), subject="Doctor", sensitivity="Private")
    permit(store, BOB, "FreeBusyTimeOnly", **{ALICE: "Reviewer"})
    alice = exchangelib_accounts(fresh_server, ALICE)
    [view] = free_busy(alice, BOB, view="Detailed")
    assert view.view_type == "Detailed"
    budget, doctor = (e.details for e in view.calendar_events)
    assert (budget.subject, budget.location, bool(budget.id)) == ("Budget", "Room 7", True)
    assert (doctor.subject, doctor.is_private) == (None, True)
    permit(store, BOB, "LimitedDetails")
    [view] = free_busy(alice, BOB, view="Detailed")
    budget = view.calendar_events[0].details
    assert (budget.subject, budget.id) == ("Budget", None)


def test_unknown_addresses_and_groups(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """An address outside the tenant is ErrorMailRecipientNotFound (exchangelib hands it back
    in place of that mailbox's view); a group is its members' merged free/busy (MergedOnly)."""
    book(fresh_server.sim.store, "grace@contoso.com", datetime(2030, 3, 4, 9, tzinfo=UTC))
    alice = exchangelib_accounts(fresh_server, ALICE)
    unknown, group = free_busy(alice, "nobody@fabrikam.com", DESIGN)
    assert isinstance(unknown, ErrorMailRecipientNotFound)
    assert (group.view_type, group.merged) == ("MergedOnly", "000000000020000000000000")
    assert group.calendar_events is None


# --- raw SOAP ---------------------------------------------------------------------------------


async def test_serializable_time_zone_reads_and_writes_wall_clock_times(
    fresh_server: SimServer,
) -> None:
    """With a Pacific `t:TimeZone`, zoneless window times are Pacific and events are written as
    Pacific wall-clock times without offset, in standard and in daylight time."""
    store = fresh_server.sim.store
    book(store, ALICE, datetime(2030, 3, 4, 17, tzinfo=UTC))  # 09:00 PST
    book(store, ALICE, datetime(2030, 7, 1, 16, tzinfo=UTC))  # 09:00 PDT
    async with EwsClient(fresh_server) as ews:
        winter = await ews.call(
            availability_body(ALICE, "2030-03-04T00:00:00", "2030-03-05T00:00:00")
        )
        summer = await ews.call(
            availability_body(ALICE, "2030-07-01T00:00:00", "2030-07-02T00:00:00")
        )
    assert winter.root.findtext(f".//{T}CalendarEvent/{T}StartTime") == "2030-03-04T09:00:00"
    assert summer.root.findtext(f".//{T}CalendarEvent/{T}StartTime") == "2030-07-01T09:00:00"
    assert winter.root.findtext(f".//{T}WorkingHours/{T}TimeZone/{T}Bias") == "480"


async def test_error_entries_have_exchanges_error_shape(ews: EwsClient) -> None:
    """ErrorNoFreeBusyAccess: Error message with text, code, DescriptiveLinkKey and
    MessageXml/ExceptionType, then a FreeBusyView of type None (TechNet and OpenChange quotes of
    Exchange answers)."""
    reply = await ews.call(availability_body(VMR, "2030-03-04T00:00:00", "2030-03-05T00:00:00"))
    response = reply.root.find(f".//{M}FreeBusyResponse")
    assert response is not None
    message = response.find(f"{M}ResponseMessage")
    assert message is not None
    assert message.get("ResponseClass") == "Error"
    assert [el.tag.split("}")[1] for el in message] == [
        "MessageText",
        "ResponseCode",
        "DescriptiveLinkKey",
        "MessageXml",
    ]
    assert message.findtext(f"{M}ResponseCode") == "ErrorNoFreeBusyAccess"
    exception = message.findtext(
        f"{M}MessageXml/{{http://schemas.microsoft.com/exchange/services/2006/errors}}ExceptionType"
    )
    assert exception == "NoFreeBusyAccessException"
    assert response.findtext(f"{M}FreeBusyView/{T}FreeBusyViewType") == "None"


async def test_each_mailbox_is_answered_alone(ews: EwsClient) -> None:
    """One FreeBusyResponse per MailboxData, in order: a denied or unknown mailbox does not
    spoil the answers for the others."""
    body = availability_body(
        (VMR, BOB, "nobody@fabrikam.com"), "2030-03-04T00:00:00", "2030-03-05T00:00:00"
    )
    reply = await ews.call(body)
    assert reply.response_codes() == [
        "ErrorNoFreeBusyAccess",
        "NoError",
        "ErrorMailRecipientNotFound",
    ]


async def test_a_window_over_62_days_is_refused(ews: EwsClient) -> None:
    """A free/busy window longer than Exchange Online's 62 days is ErrorTimeIntervalTooBig."""
    reply = await ews.call(availability_body(ALICE, "2030-01-01T00:00:00", "2030-03-15T00:00:00"))
    assert (reply.status, reply.fault_code) == (500, "ErrorTimeIntervalTooBig")


async def test_suggestions_are_declared_unimplemented_next_to_free_busy(ews: EwsClient) -> None:
    """A request for meeting suggestions still gets its free/busy, and a SuggestionsResponse
    whose ErrorInvalidOperation says suggestions are not implemented."""
    suggestions = (
        "<t:SuggestionsViewOptions><t:MeetingDurationInMinutes>60</t:MeetingDurationInMinutes>"
        "<t:DetailedSuggestionsWindow><t:StartTime>2030-03-04T00:00:00</t:StartTime>"
        "<t:EndTime>2030-03-05T00:00:00</t:EndTime></t:DetailedSuggestionsWindow>"
        "</t:SuggestionsViewOptions>"
    )
    reply = await ews.call(
        availability_body(ALICE, "2030-03-04T00:00:00", "2030-03-05T00:00:00", extra=suggestions)
    )
    assert reply.response_codes() == ["NoError", "ErrorInvalidOperation"]
    assert reply.root.find(f".//{M}SuggestionsResponse/{M}ResponseMessage") is not None


def _paths(element: etree._Element, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every element path (Clark names) under `element`, in document order."""
    found = []
    for child in element:
        if isinstance(child.tag, str) and child.tag != f"{M}MessageXml":
            path = (*prefix, child.tag)
            found.append(path)
            found.extend(_paths(child, path))
    return found


def _precedence(element: etree._Element) -> set[tuple[str, str, str]]:
    """(parent tag, earlier child tag, later child tag) for every element under `element`."""
    found = set()
    for parent in element.iter():
        names = [c.tag for c in parent if isinstance(c.tag, str)]
        for i, earlier in enumerate(names):
            found.update(
                (str(parent.tag), earlier, later) for later in names[i + 1 :] if later != earlier
            )
    return found


async def test_answers_have_the_shape_of_the_captured_samples(fresh_server: SimServer) -> None:
    """No schema covers GetUserAvailability (MS-OXWSAVAIL is outside the 2016 set), so every
    element path of our Detailed, DetailedMerged and FreeBusy answers, with its namespace, must
    occur in the captured/documented GetUserAvailability-*.response.xml answers, children in the
    same order."""
    samples = sorted(SAMPLES_DIR.glob("GetUserAvailability-*.response.xml"))
    if not samples:
        pytest.skip(f"no GetUserAvailability samples in {SAMPLES_DIR}")
    sample_paths: list[tuple[str, ...]] = []
    sample_order: set[tuple[str, str, str]] = set()
    for sample in samples:
        body = etree.parse(str(sample)).getroot().find(f"{SOAP}Body")
        assert body is not None
        sample_paths += _paths(body)
        sample_order |= _precedence(body)
    store = fresh_server.sim.store
    book(store, ALICE, datetime(2030, 3, 4, 17, tzinfo=UTC))
    book(store, BOB, datetime(2030, 3, 4, 17, tzinfo=UTC))
    ours: list[tuple[str, ...]] = []
    our_order: set[tuple[str, str, str]] = set()
    async with EwsClient(fresh_server) as ews:
        for address, view in ((ALICE, "DetailedMerged"), (ALICE, "Detailed"), (BOB, "FreeBusy")):
            reply: EwsReply = await ews.call(
                availability_body(address, "2030-03-04T00:00:00", "2030-03-05T00:00:00", view)
            )
            body = reply.root.find(f"{SOAP}Body")
            assert body is not None
            ours += _paths(body)
            our_order |= _precedence(body)
    assert set(ours) <= set(sample_paths), sorted(set(ours) - set(sample_paths))
    assert our_order <= sample_order, sorted(our_order - sample_order)


# --- units ------------------------------------------------------------------------------------


def test_serializable_zone_agrees_with_the_tz_database() -> None:
    """The SerializableTimeZone built from Pacific Standard Time converts like America/
    Los_Angeles around both 2030 switches, both ways."""
    zone = SerializableZone.from_definition(timezone_definition("Pacific Standard Time"))
    assert (zone.bias, zone.daylight.bias, zone.daylight.month, zone.standard.month) == (
        480,
        -60,
        3,
        11,
    )
    los_angeles = ZoneInfo("America/Los_Angeles")
    for utc in (
        datetime(2030, 3, 10, 9, 59, tzinfo=UTC),
        datetime(2030, 3, 10, 10, 0, tzinfo=UTC),
        datetime(2030, 11, 3, 8, 59, tzinfo=UTC),
        datetime(2030, 11, 3, 9, 0, tzinfo=UTC),
        datetime(2030, 7, 1, 12, tzinfo=UTC),
    ):
        local = utc.astimezone(zone)
        assert local.replace(tzinfo=None) == utc.astimezone(los_angeles).replace(tzinfo=None)
        assert local.astimezone(UTC) == utc


def test_merged_free_busy_takes_the_strongest_status_per_interval() -> None:
    """Each interval shows the strongest overlapping status (OOF > Busy > Tentative > Free);
    a partial interval at the end still gets a digit."""
    start = datetime(2030, 3, 4, tzinfo=UTC)
    window = Window(
        start, start + timedelta(minutes=150), timedelta(minutes=30), "FreeBusyMerged", UTC,
        SerializableZone.from_definition(timezone_definition("UTC")),
    )  # fmt: skip

    def item(minutes: int, length: int, status: FreeBusyStatus) -> CalendarItem:
        begin = start + timedelta(minutes=minutes)
        return CalendarItem(
            start=begin, end=begin + timedelta(minutes=length), legacy_free_busy_status=status
        )

    items = [item(0, 60, "Tentative"), item(30, 15, "Busy"), item(90, 60, "OOF")]
    assert merged_free_busy(window, items) == "12033"
