"""The read side of EWS: GetFolder, FindFolder, GetItem, FindItem, DeleteItem, MoveItem, CopyItem.

Mailboxes are seeded through the store API (`sim.store`, the meeting functions) and read with
exchangelib, unmodified, as the organizer's and the service's client; shapes, errors and paging
details exchangelib hides are checked on raw SOAP answers, which are also validated against the
EWS schema here (the session collector validates every answer again).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from exchangelib import EWSDateTime, ExtendedProperty
from exchangelib import Message as ElMessage
from exchangelib.errors import (
    ErrorInvalidIdMalformed,
    ErrorItemNotFound,
)
from exchangelib.items import MeetingCancellation as ElMeetingCancellation
from exchangelib.items import MeetingRequest as ElMeetingRequest
from exchangelib.items import MeetingResponse as ElMeetingResponse
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import (
    ALICE,
    SCHEMA_MISSING,
    VMR,
    EwsClient,
    SimServer,
    load_schema,
    schema_available,
)
from lxml import etree

from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import (
    Address,
    Attendee,
    Body,
    CalendarItem,
    CalendarPermission,
    Message,
    NumberedRange,
    PropertyKey,
    Recurrence,
    WeeklyPattern,
    cancel_meeting,
    occurrence_id,
    respond,
    send_meeting,
    send_message,
)

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import EwsReply

    from exchangesim.store import Store

BOB = "bob@contoso.com"
CAROL = "carol@contoso.com"
T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"
ZONE = "W. Europe Standard Time"


def next_hour(days: int = 1) -> datetime:
    """A whole hour ``days`` from now (UTC)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(days=days)


def weekly_meeting(store: Store, start: datetime, count: int = 5, subject: str = "Weekly") -> str:
    """Alice's weekly meeting with Bob and the VMR resource, sent; returns the series id."""
    local_day = start.astimezone(ZoneInfo("Europe/Berlin"))  # the series' zone decides the day
    item = CalendarItem(
        subject=subject,
        body=Body("HTML", "<html><body><p>Agenda: <b>plan</b></p></body></html>"),
        start=start,
        end=start + timedelta(hours=1),
        start_time_zone=ZONE,
        end_time_zone=ZONE,
        location="Room 1",
        required_attendees=(Attendee(Address(BOB, "Bob Kelly")),),
        resources=(Attendee(Address(VMR, "Video Meeting Room")),),
        recurrence=Recurrence(
            WeeklyPattern((local_day.strftime("%A"),)),  # type: ignore[arg-type]
            NumberedRange(local_day.date(), count),
        ),
    )
    return send_meeting(store, ALICE, item).id


def mail(store: Store, subject: str, to: str = BOB, body: str = "Hello") -> None:
    """Alice mails ``to``."""
    send_message(
        store,
        ALICE,
        Message(subject=subject, body=Body("Text", body), to_recipients=(Address(to),)),
    )


def shape(base: str = "IdOnly", extra: str = "", body_type: str | None = None) -> str:
    """An `m:ItemShape`."""
    body = f"<t:BodyType>{body_type}</t:BodyType>" if body_type else ""
    props = f"<t:AdditionalProperties>{extra}</t:AdditionalProperties>" if extra else ""
    return f"<m:ItemShape><t:BaseShape>{base}</t:BaseShape>{body}{props}</m:ItemShape>"


def folder(name: str, mailbox: str | None = None) -> str:
    """A `t:DistinguishedFolderId`."""
    if mailbox is None:
        return f'<t:DistinguishedFolderId Id="{name}"/>'
    return (
        f'<t:DistinguishedFolderId Id="{name}"><t:Mailbox><t:EmailAddress>{mailbox}'
        "</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
    )


def get_item(ids: str, item_shape: str | None = None) -> str:
    """A GetItem body."""
    return (
        f"<m:GetItem>{item_shape or shape('AllProperties')}<m:ItemIds>{ids}</m:ItemIds></m:GetItem>"
    )


def find_item(parent: str, item_shape: str | None = None, view: str = "", more: str = "") -> str:
    """A FindItem body (``more``: Restriction/SortOrder in schema order)."""
    return (
        f'<m:FindItem Traversal="Shallow">{item_shape or shape()}{view}{more}'
        f"<m:ParentFolderIds>{parent}</m:ParentFolderIds></m:FindItem>"
    )


def assert_valid(reply: EwsReply) -> None:
    """The answer's body element validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


# --- folders -----------------------------------------------------------------------------------


def test_exchangelib_reads_distinguished_folders_with_their_counts(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """GetFolder answers exchangelib's `account.inbox`: the right class, name and counts."""
    mail(fresh_server.sim.store, "one")
    mail(fresh_server.sim.store, "two")
    bob = exchangelib_accounts(fresh_server, BOB)
    inbox = bob.inbox
    assert (inbox.name, inbox.total_count, inbox.unread_count) == ("Inbox", 2, 2)
    assert bob.calendar.name == "Calendar"
    assert type(bob.calendar).__name__ == "Calendar"


def test_calendar_permission_set_shows_default_and_anonymous(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`folder:PermissionSet` on a calendar is a CalendarPermissionSet with Exchange's defaults:
    users' Default is FreeBusyTimeOnly, the VMR resource's is None."""
    alice = exchangelib_accounts(fresh_server, ALICE)
    entries = alice.calendar.permission_set.calendar_permissions
    levels = {p.user_id.distinguished_user: p.calendar_permission_level for p in entries}
    assert levels == {"Default": "FreeBusyTimeOnly", "Anonymous": "None"}
    default = next(p for p in entries if p.user_id.distinguished_user == "Default")
    assert (default.read_items, default.is_folder_visible) == ("TimeOnly", False)
    vmr = exchangelib_accounts(fresh_server, VMR)
    vmr_levels = {
        p.user_id.distinguished_user: p.calendar_permission_level
        for p in vmr.calendar.permission_set.calendar_permissions
    }
    assert vmr_levels["Default"] == "None"


def test_root_walk_lists_the_hierarchy_with_custom_folders(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`account.root.walk()` (GetFolder of every well-known folder + FindFolder Deep) lists the
    mailbox folders, a custom folder under its parent, and no folder twice, on a server that
    validates requests (exchangelib names distinguished folders newer than the 2016 schema)."""
    fresh_server.sim.store.create_folder(ALICE, "inbox", "Bookings")
    alice = exchangelib_accounts(fresh_server, ALICE)
    names = [f.name for f in alice.root.walk()]
    assert {"Inbox", "Calendar", "Sent Items", "Deleted Items", "Bookings"} <= set(names)
    assert len(names) == len(set(names))
    bookings = next(f for f in alice.root.walk() if f.name == "Bookings")
    assert bookings.parent.name == "Inbox"


async def test_find_folder_pages_a_deep_traversal(fresh_server: SimServer) -> None:
    """FindFolder Deep with an IndexedPageFolderView answers a page, the next offset and whether
    it was the last; the dumpster folders are not part of the hierarchy."""
    body = (
        '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
        '</m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="3" Offset="0" '
        f'BasePoint="Beginning"/><m:ParentFolderIds>{folder("root")}</m:ParentFolderIds>'
        "</m:FindFolder>"
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body)
    assert_valid(reply)
    root = reply.root.find(f".//{M}RootFolder")
    assert root is not None
    assert (root.get("IndexedPagingOffset"), root.get("IncludesLastItemInRange")) == ("3", "false")
    assert len(root.findall(f"{T}Folders/*")) == 3
    total = int(root.get("TotalItemsInView", "0"))
    body_all = body.replace('MaxEntriesReturned="3" ', "")
    async with EwsClient(fresh_server) as ews:
        names = [el.text for el in (await ews.call(body_all)).root.iter(f"{T}DisplayName")]
    assert len(names) == total
    assert "Deletions" not in names
    assert "Inbox" in names


async def test_get_folder_answers_each_bad_id_in_its_own_message(fresh_server: SimServer) -> None:
    """GetFolder: a distinguished folder the mailbox lacks is ErrorFolderNotFound, a malformed id
    ErrorInvalidIdMalformed, an unknown mailbox ErrorNonExistentMailbox, each in its message."""
    ids = (
        folder("calendar")
        + folder("searchfolders")
        + '<t:FolderId Id="not-an-id"/>'
        + folder("inbox", "nobody@contoso.com")
    )
    body = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>"
        f"<m:FolderIds>{ids}</m:FolderIds></m:GetFolder>"
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body)
    assert_valid(reply)
    assert reply.response_codes() == [
        "NoError",
        "ErrorFolderNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorNonExistentMailbox",
    ]
    assert reply.root.find(f".//{T}CalendarFolder/{T}FolderClass").text == "IPF.Appointment"  # type: ignore[union-attr]


async def test_another_mailboxs_calendar_opens_as_its_permission_set_allows(
    fresh_server: SimServer,
) -> None:
    """Acting as Alice, Bob's calendar folder opens (Default FreeBusyTimeOnly) but its items and
    Bob's inbox do not; with Default Reviewer the items open too."""
    weekly_meeting(fresh_server.sim.store, next_hour())
    calendar_folder = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
        f"<m:FolderIds>{folder('calendar', BOB)}{folder('inbox', BOB)}</m:FolderIds></m:GetFolder>"
    )
    items = find_item(folder("calendar", BOB))
    async with EwsClient(fresh_server) as ews:
        assert (await ews.call(calendar_folder)).response_codes() == [
            "NoError",
            "ErrorAccessDenied",
        ]
        assert (await ews.call(items)).response_codes() == ["ErrorAccessDenied"]
        fresh_server.sim.store.set_calendar_permissions(
            BOB, [CalendarPermission("Default", "Reviewer")]
        )
        reply = await ews.call(items)
    assert reply.response_codes() == ["NoError"]
    assert len(reply.root.findall(f".//{T}CalendarItem")) == 1


# --- FindItem ----------------------------------------------------------------------------------


def test_inbox_all_gives_each_item_its_own_type(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`inbox.all()` (FindItem IdOnly + GetItem of every field) yields a MeetingRequest and a
    Message, newest first, with their fields."""
    store = fresh_server.sim.store
    weekly_meeting(store, next_hour())
    mail(store, "lunch?", body="Pizza")
    bob = exchangelib_accounts(fresh_server, BOB)
    found = list(bob.inbox.all())
    assert [type(i) for i in found] == [ElMessage, ElMeetingRequest] or [
        type(i) for i in found
    ] == [ElMeetingRequest, ElMessage]
    message = next(i for i in found if isinstance(i, ElMessage))
    assert (message.subject, message.body, message.author.email_address) == (
        "lunch?",
        "Pizza",
        ALICE,
    )
    assert [r.email_address for r in message.to_recipients] == [BOB]


def test_filter_by_item_class_finds_meeting_requests_with_their_calendar_fields(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`inbox.filter(item_class=...)` (IsEqualTo item:ItemClass) finds the request; it names the
    tentative meeting in Bob's calendar and carries the meeting's times and type."""
    store = fresh_server.sim.store
    start = next_hour()
    weekly_meeting(store, start)
    mail(store, "not a meeting")
    bob = exchangelib_accounts(fresh_server, BOB)
    requests = list(bob.inbox.filter(item_class="IPM.Schedule.Meeting.Request"))
    assert len(requests) == 1
    request = requests[0]
    assert isinstance(request, ElMeetingRequest)
    assert request.start == start
    assert request.end == start + timedelta(hours=1)
    assert request.meeting_request_type == "NewMeetingRequest"
    assert request.type == "RecurringMaster"
    calendar_ids = {i.id for i in bob.calendar.all()}
    assert request.associated_calendar_item_id.id in calendar_ids


def test_the_service_finds_requests_in_the_resource_mailbox(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """vmrsched's app, impersonating the VMR resource (processing off), finds the meeting request
    by item class and reads the organizer, the resource list and the series' time zone."""
    start = next_hour()
    weekly_meeting(fresh_server.sim.store, start, count=2)
    vmr = exchangelib_accounts(fresh_server, VMR)
    (request,) = vmr.inbox.filter(item_class="IPM.Schedule.Meeting.Request")
    assert request.organizer.email_address == ALICE
    assert [a.mailbox.email_address for a in request.resources] == [VMR]
    assert request.start == start
    assert request.recurrence.boundary.number == 2


def test_only_returns_just_the_named_fields(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`.only(...)` becomes AdditionalProperties on FindItem: only those fields come back."""
    mail(fresh_server.sim.store, "short", body="not asked for")
    bob = exchangelib_accounts(fresh_server, BOB)
    (message,) = bob.inbox.all().only("subject", "is_read")
    assert (message.subject, message.is_read, message.body, message.author) == (
        "short",
        False,
        None,
        None,
    )


def test_filters_exclusions_and_order_are_applied_by_the_server(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Contains (IgnoreCase and Exact), IsGreaterThan on a date, Not and SortOrder restrict and
    order the result."""
    store = fresh_server.sim.store
    for subject in ("Alpha report", "beta report", "Gamma notes"):
        mail(store, subject)
    bob = exchangelib_accounts(fresh_server, BOB)
    reports = bob.inbox.filter(subject__icontains="REPORT").order_by("-subject")
    assert [m.subject for m in reports] == ["beta report", "Alpha report"]
    assert bob.inbox.filter(subject__contains="REPORT").count() == 0  # Exact is case-sensitive
    first = next(m for m in bob.inbox.all() if m.subject == "Gamma notes")
    store.set_read(first.id, True)
    assert {m.subject for m in bob.inbox.exclude(is_read=True)} == {
        "Alpha report",
        "beta report",
    }
    past = EWSDateTime.from_datetime(datetime.now(UTC) - timedelta(hours=1))
    assert bob.inbox.filter(datetime_received__gt=past).count() == 3
    assert bob.inbox.filter(subject__istartswith="gam").count() == 1
    assert bob.inbox.filter(subject__startswith="gam").count() == 0


def test_exchangelib_pages_through_a_large_folder(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """IndexedPageItemView paging: a page size of 7 walks 25 items without loss or repeats."""
    for n in range(25):
        mail(fresh_server.sim.store, f"msg {n:02d}")
    bob = exchangelib_accounts(fresh_server, BOB)
    query = bob.inbox.all().only("subject")
    query.page_size = 7
    subjects = [m.subject for m in query]
    assert sorted(subjects) == [f"msg {n:02d}" for n in range(25)]
    assert bob.inbox.all().count() == 25


async def test_fractional_and_end_based_paging(fresh_server: SimServer) -> None:
    """FractionalPageItemView answers NumeratorOffset/AbsoluteDenominator; BasePoint End pages
    from the end of the view."""
    for n in range(10):
        mail(fresh_server.sim.store, f"m{n}")
    fractional = find_item(
        folder("inbox"),
        view='<m:FractionalPageItemView MaxEntriesReturned="3" Numerator="1" Denominator="2"/>',
    )
    from_end = find_item(
        folder("inbox"),
        view='<m:IndexedPageItemView MaxEntriesReturned="4" Offset="0" BasePoint="End"/>',
    )
    async with EwsClient(fresh_server) as ews:
        first = await ews.call(fractional, impersonate=BOB)
        second = await ews.call(from_end, impersonate=BOB)
    assert_valid(first)
    root = first.root.find(f".//{M}RootFolder")
    assert root is not None
    assert (root.get("NumeratorOffset"), root.get("AbsoluteDenominator")) == ("8", "10")
    assert len(root.findall(f"{T}Items/*")) == 3
    root = second.root.find(f".//{M}RootFolder")
    assert root is not None
    assert (root.get("IndexedPagingOffset"), root.get("IncludesLastItemInRange")) == (
        "4",
        "false",
    )


async def test_a_restriction_and_a_query_string_both_apply(fresh_server: SimServer) -> None:
    """FindItem answers only items that satisfy the Restriction and contain every word of the
    QueryString, in a schema-valid answer."""
    store = fresh_server.sim.store
    for subject in ("keep alpha", "keep beta", "drop alpha", "keep alpha two"):
        store.create_item(BOB, "drafts", Message(subject=subject))
    restriction = (
        '<m:Restriction><t:Contains ContainmentMode="Prefixed" ContainmentComparison='
        '"IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="keep"/>'
        "</t:Contains></m:Restriction>"
    )
    body = (
        f'<m:FindItem Traversal="Shallow">{shape("Default")}{restriction}'
        f"<m:ParentFolderIds>{folder('drafts')}</m:ParentFolderIds>"
        "<m:QueryString>alpha</m:QueryString></m:FindItem>"
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body, impersonate=BOB)
    assert reply.response_codes() == ["NoError"]
    subjects = [e.text for e in reply.root.iter(f"{T}Subject")]
    assert sorted(subjects) == ["keep alpha", "keep alpha two"]
    assert_valid(reply)


async def test_find_count_limit_is_1000(fresh_server: SimServer) -> None:
    """Without paging, more than 1000 results is ErrorExceededFindCountLimit (PolicyLimit
    1000); a larger page is cut to 1000 and says it was not the last."""
    store = fresh_server.sim.store
    for n in range(1001):
        store.create_item(BOB, "drafts", Message(subject=f"draft {n}"))
    async with EwsClient(fresh_server) as ews:
        refused = await ews.call(find_item(folder("drafts")), impersonate=BOB)
        paged = await ews.call(
            find_item(
                folder("drafts"),
                view='<m:IndexedPageItemView MaxEntriesReturned="5000" Offset="0" '
                'BasePoint="Beginning"/>',
            ),
            impersonate=BOB,
        )
    assert refused.response_codes() == ["ErrorExceededFindCountLimit"]
    limit = refused.root.find(f".//{M}MessageXml/{T}Value")
    assert limit is not None
    assert (limit.get("Name"), limit.text) == ("PolicyLimit", "1000")
    root = paged.root.find(f".//{M}RootFolder")
    assert root is not None
    assert len(root.findall(f"{T}Items/*")) == 1000
    assert (root.get("TotalItemsInView"), root.get("IncludesLastItemInRange")) == (
        "1001",
        "false",
    )


# --- calendar ----------------------------------------------------------------------------------


def test_calendar_view_expands_occurrences_with_exceptions_and_deletions(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`calendar.view(start, end)` lists each occurrence, an edited one as an Exception at its
    new time, and leaves out a deleted one."""
    store = fresh_server.sim.store
    start = next_hour()
    series = weekly_meeting(store, start, count=4)
    store.update_item(
        occurrence_id(series, 2),
        {
            "subject": "Moved",
            "start": start + timedelta(days=8),
            "end": start + timedelta(days=8, hours=1),
        },
    )
    store.delete_item(occurrence_id(series, 3))
    alice = exchangelib_accounts(fresh_server, ALICE)
    view = list(
        alice.calendar.view(
            start=EWSDateTime.from_datetime(start - timedelta(days=1)),
            end=EWSDateTime.from_datetime(start + timedelta(days=40)),
        )
    )
    assert [(i.type, i.subject) for i in view] == [
        ("Occurrence", "Weekly"),
        ("Exception", "Moved"),
        ("Occurrence", "Weekly"),
    ]
    assert view[1].start == start + timedelta(days=8)
    assert view[2].start == start + timedelta(weeks=3)


def test_recurring_master_reports_pattern_occurrences_and_time_zone(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """GetItem of a master: Recurrence, First/LastOccurrence, Modified/DeletedOccurrences, the
    start time zone definition and the attendees with their responses."""
    store = fresh_server.sim.store
    start = next_hour()
    series = weekly_meeting(store, start, count=5)
    store.update_item(occurrence_id(series, 2), {"location": "Elsewhere"})
    store.delete_item(occurrence_id(series, 4))
    request = next(i for i in store.items(BOB, "inbox"))
    respond(store, request.id, "Accept")
    alice = exchangelib_accounts(fresh_server, ALICE)
    master = alice.calendar.get(subject="Weekly")
    assert master.type == "RecurringMaster"
    assert master.recurrence.boundary.number == 5
    assert master.first_occurrence.start == start
    assert master.last_occurrence.start == start + timedelta(weeks=4)
    assert [o.start for o in master.modified_occurrences] == [start + timedelta(weeks=1)]
    assert [d.start for d in master.deleted_occurrences] == [start + timedelta(weeks=3)]
    assert str(master._start_timezone) == "Europe/Berlin"
    (bob,) = master.required_attendees
    assert bob.response_type == "Accept"
    assert bob.last_response_time is not None
    assert master.is_recurring is False  # the organizer's master: Exchange's documented quirk


def test_occurrence_and_recurring_master_ids_resolve(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """OccurrenceItemId (series + index) and RecurringMasterItemId name the occurrence and the
    series, as exchangelib's `occurrence()` and `recurring_master()` use them."""
    start = next_hour()
    weekly_meeting(fresh_server.sim.store, start, count=3)
    alice = exchangelib_accounts(fresh_server, ALICE)
    master = alice.calendar.get(subject="Weekly")
    second = master.occurrence(2)
    second.refresh()
    assert (second.type, second.start) == ("Occurrence", start + timedelta(weeks=1))
    back = second.recurring_master()
    back.refresh()
    assert (back.type, back.id) == ("RecurringMaster", master.id)


async def test_occurrence_ids_out_of_range_or_deleted_answer_their_codes(
    fresh_server: SimServer,
) -> None:
    """An index past the series' end and a deleted occurrence answer their own codes."""
    store = fresh_server.sim.store
    series = weekly_meeting(store, next_hour(), count=3)
    store.delete_item(occurrence_id(series, 2))
    ids = "".join(
        f'<t:OccurrenceItemId RecurringMasterId="{series}" InstanceIndex="{n}"/>' for n in (1, 2, 9)
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(get_item(ids, shape("IdOnly")))
    assert_valid(reply)
    assert reply.response_codes() == [
        "NoError",
        "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
        "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
    ]


async def test_calendar_view_limits(fresh_server: SimServer) -> None:
    """A view over two years is ErrorCalendarViewRangeTooBig; MaxEntriesReturned cuts the view
    and says the last item is not in range; a mail folder cannot be viewed as a calendar."""
    start = next_hour()
    weekly_meeting(fresh_server.sim.store, start, count=5)

    def view(days: int, extra: str = "") -> str:
        return (
            f'<m:CalendarView {extra}StartDate="{start.isoformat()}" '
            f'EndDate="{(start + timedelta(days=days)).isoformat()}"/>'
        )

    async with EwsClient(fresh_server) as ews:
        too_big = await ews.call(find_item(folder("calendar"), view=view(800)))
        cut = await ews.call(
            find_item(folder("calendar"), view=view(60, 'MaxEntriesReturned="2" '))
        )
        inbox = await ews.call(find_item(folder("inbox"), view=view(7)))
    assert too_big.response_codes() == ["ErrorCalendarViewRangeTooBig"]
    assert inbox.response_codes() == ["ErrorCalendarFolderIsInvalidForCalendarView"]
    assert_valid(cut)
    root = cut.root.find(f".//{M}RootFolder")
    assert root is not None
    assert root.get("IncludesLastItemInRange") == "false"
    assert len(root.findall(f"{T}Items/*")) == 2


async def test_time_zone_context_reads_zoneless_times_but_answers_in_utc(
    fresh_server: SimServer,
) -> None:
    """With a TimeZoneContext, a zoneless CalendarView window is local time; answers stay UTC."""
    start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # 10:00 in Berlin (standard time)
    weekly_meeting(fresh_server.sim.store, start, count=1)
    header = (
        '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/>'
        "</t:TimeZoneContext>"
    )
    view = '<m:CalendarView StartDate="2030-01-07T09:30:00" EndDate="2030-01-07T12:00:00"/>'
    body = find_item(
        folder("calendar"), shape("IdOnly", '<t:FieldURI FieldURI="calendar:Start"/>'), view
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body, extra_headers=header)
    starts = [el.text for el in reply.root.iter(f"{T}Start")]
    assert starts == ["2030-01-07T09:00:00Z"]


# --- GetItem -----------------------------------------------------------------------------------


def test_fetch_answers_each_id_in_its_own_message(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`account.fetch` with a good, a deleted and a malformed id gives the item and the two
    errors in order (ErrorItemNotFound, ErrorInvalidIdMalformed)."""
    store = fresh_server.sim.store
    mail(store, "keep")
    mail(store, "gone")
    kept, gone = sorted(store.items(BOB, "inbox"), key=lambda i: i.subject)[::-1]
    store.delete_item(gone.id, mode="HardDelete")
    bob = exchangelib_accounts(fresh_server, BOB)
    results = list(bob.fetch([(kept.id, None), (gone.id, None), ("AAAA", None)]))
    assert results[0].subject == "keep"
    assert isinstance(results[1], ErrorItemNotFound)
    assert isinstance(results[2], ErrorInvalidIdMalformed)


async def test_body_type_converts_between_html_and_text(fresh_server: SimServer) -> None:
    """BodyType Text turns an HTML body into its text; HTML wraps a text body; Best keeps it."""
    store = fresh_server.sim.store
    series = weekly_meeting(store, next_hour())
    mail(store, "plain", body="line one\nline <two>")
    text_id = next(i.id for i in store.items(BOB, "inbox") if i.subject == "plain")
    body_path = '<t:FieldURI FieldURI="item:Body"/>'
    async with EwsClient(fresh_server) as ews:
        as_text = await ews.call(
            get_item(f'<t:ItemId Id="{series}"/>', shape("IdOnly", body_path, "Text"))
        )
        as_html = await ews.call(
            get_item(f'<t:ItemId Id="{text_id}"/>', shape("IdOnly", body_path, "HTML")),
            impersonate=BOB,
        )
        best = await ews.call(get_item(f'<t:ItemId Id="{series}"/>', shape("IdOnly", body_path)))
    text = as_text.root.find(f".//{T}Body")
    assert text is not None
    assert (text.get("BodyType"), text.text) == ("Text", "Agenda: plan")
    html = as_html.root.find(f".//{T}Body")
    assert html is not None
    assert html.get("BodyType") == "HTML"
    assert "line one<br>" in (html.text or "")
    assert "&lt;two&gt;" in (html.text or "")
    kept = best.root.find(f".//{T}Body")
    assert kept is not None
    assert (kept.get("BodyType"), kept.text) == (
        "HTML",
        "<html><body><p>Agenda: <b>plan</b></p></body></html>",
    )


def test_extended_properties_round_trip_to_exchangelib(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """An extended property stored on an item comes back to a registered exchangelib property,
    named by set and name."""

    class VmrAlias(ExtendedProperty):  # type: ignore[misc]
        distinguished_property_set_id = "PublicStrings"
        property_name = "X-Vmr-Alias"
        property_type = "String"

    key = PropertyKey("String", distinguished_set="PublicStrings", property_name="X-Vmr-Alias")
    fresh_server.sim.store.create_item(
        BOB, "drafts", Message(subject="tagged", extended_properties={key: "PXPS:-42#"})
    )
    ElMessage.register("vmr_alias", VmrAlias)
    try:
        bob = exchangelib_accounts(fresh_server, BOB)
        (found,) = bob.drafts.all()
        assert found.vmr_alias == "PXPS:-42#"
        assert bob.drafts.filter(vmr_alias="PXPS:-42#").count() == 1
    finally:
        ElMessage.deregister("vmr_alias")


async def test_extended_property_by_tag_is_echoed_in_hex(fresh_server: SimServer) -> None:
    """A property asked for by a decimal PropertyTag comes back with the tag in hexadecimal, as
    Exchange writes it (GetFolder-WorkHiddenFolders sample)."""
    key = PropertyKey("Integer", property_tag=0x3FF1)
    stored = fresh_server.sim.store.create_item(
        BOB, "drafts", Message(subject="x", extended_properties={key: "1033"})
    )
    path = '<t:ExtendedFieldURI PropertyTag="16369" PropertyType="Integer"/>'
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(
            get_item(f'<t:ItemId Id="{stored.id}"/>', shape("IdOnly", path)), impersonate=BOB
        )
    assert_valid(reply)
    uri = reply.root.find(f".//{T}ExtendedProperty/{T}ExtendedFieldURI")
    assert uri is not None
    assert uri.get("PropertyTag") == "0x3ff1"
    assert reply.root.findtext(f".//{T}ExtendedProperty/{T}Value") == "1033"


def test_meeting_responses_and_cancellations_come_as_their_types(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Bob's acceptance reaches Alice as a MeetingResponse; Alice's cancellation reaches Bob as a
    MeetingCancellation; exchangelib reads both with their fields."""
    store = fresh_server.sim.store
    start = next_hour()
    series = weekly_meeting(store, start, count=2)
    request = next(i for i in store.items(BOB, "inbox"))
    respond(store, request.id, "Accept")
    cancel_meeting(store, series)
    alice = exchangelib_accounts(fresh_server, ALICE)
    bob = exchangelib_accounts(fresh_server, BOB)
    (response,) = alice.inbox.filter(item_class__startswith="IPM.Schedule.Meeting.Resp")
    assert isinstance(response, ElMeetingResponse)
    assert (response.response_type, response.author.email_address) == ("Accept", BOB)
    cancellations = [i for i in bob.inbox.all() if isinstance(i, ElMeetingCancellation)]
    assert len(cancellations) == 1
    assert cancellations[0].subject.endswith("Weekly")
    del start


async def test_all_properties_answers_validate_for_every_item_kind(fresh_server: SimServer) -> None:
    """GetItem AllProperties of a master, an occurrence, a request, a response, a cancellation
    and a message, and the FindItem and calendar views of them, validate against the schema."""
    store = fresh_server.sim.store
    start = next_hour()
    series = weekly_meeting(store, start, count=3)
    request = next(i for i in store.items(BOB, "inbox"))
    respond(store, request.id, "Tentative")
    mail(store, "note")
    cancel_meeting(store, occurrence_id(series, 3))
    alice_items = store.items(ALICE, "inbox") + store.items(ALICE, "sentitems")
    bob_items = store.items(BOB, "inbox")
    alice_ids = "".join(f'<t:ItemId Id="{i.id}"/>' for i in alice_items)
    alice_ids += f'<t:ItemId Id="{series}"/><t:ItemId Id="{occurrence_id(series, 1)}"/>'
    bob_ids = "".join(f'<t:ItemId Id="{i.id}"/>' for i in bob_items)
    view = (
        f'<m:CalendarView StartDate="{start.isoformat()}" '
        f'EndDate="{(start + timedelta(days=30)).isoformat()}"/>'
    )
    async with EwsClient(fresh_server) as ews:
        replies = [
            await ews.call(get_item(alice_ids)),
            await ews.call(get_item(bob_ids), impersonate=BOB),
            await ews.call(get_item(bob_ids, shape("Default")), impersonate=BOB),
            await ews.call(find_item(folder("inbox"), shape("AllProperties")), impersonate=BOB),
            await ews.call(find_item(folder("calendar"), shape("AllProperties"), view)),
        ]
    for reply in replies:
        assert_valid(reply)
        assert set(reply.response_codes()) == {"NoError"}
    tags = {
        etree.QName(el).localname
        for reply in replies
        for holder in reply.root.iter(f"{M}Items", f"{T}Items")
        for el in holder
    }
    assert {
        "CalendarItem",
        "MeetingRequest",
        "MeetingResponse",
        "MeetingCancellation",
        "Message",
    } <= tags


# --- DeleteItem, MoveItem, CopyItem ------------------------------------------------------------


def test_delete_modes_move_to_trash_soft_and_hard(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """move_to_trash lands in Deleted Items, soft_delete in Recoverable Items\\Deletions, delete
    removes the item for good."""
    store = fresh_server.sim.store
    for subject in ("trash me", "soft", "hard"):
        mail(store, subject)
    bob = exchangelib_accounts(fresh_server, BOB)
    by_subject = {m.subject: m for m in bob.inbox.all()}
    by_subject["trash me"].move_to_trash()
    by_subject["soft"].soft_delete()
    by_subject["hard"].delete()
    assert [i.subject for i in store.items(BOB, "deleteditems")] == ["trash me"]
    assert [i.subject for i in store.items(BOB, "recoverableitemsdeletions")] == ["soft"]
    assert store.items(BOB, "inbox") == []


def test_deleting_a_sent_meeting_sends_cancellations_as_asked(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """The organizer deleting a sent meeting with SendToAllAndSaveCopy cancels it for the
    attendees; SendToNone deletes silently."""
    store = fresh_server.sim.store
    weekly_meeting(store, next_hour(), subject="Cancelled one")
    weekly_meeting(store, next_hour(2), subject="Silent one")
    alice = exchangelib_accounts(fresh_server, ALICE)
    alice.calendar.get(subject="Cancelled one").delete(
        send_meeting_cancellations="SendToAllAndSaveCopy"
    )
    alice.calendar.get(subject="Silent one").delete(send_meeting_cancellations="SendToNone")
    assert alice.calendar.all().count() == 0
    cancellations = [
        i.subject
        for i in store.items(BOB, "inbox")
        if i.item_class == "IPM.Schedule.Meeting.Canceled"
    ]
    assert len(cancellations) == 1
    assert "Cancelled one" in cancellations[0]


def test_deleting_an_occurrence_removes_it_from_the_series(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Deleting one occurrence leaves the series with a DeletedOccurrence."""
    start = next_hour()
    weekly_meeting(fresh_server.sim.store, start, count=3)
    alice = exchangelib_accounts(fresh_server, ALICE)
    master = alice.calendar.get(subject="Weekly")
    second = master.occurrence(2)
    second.refresh()
    second.delete(send_meeting_cancellations="SendToNone")
    master.refresh()
    assert [d.start for d in master.deleted_occurrences] == [start + timedelta(weeks=1)]


async def test_delete_of_a_calendar_item_needs_send_meeting_cancellations(
    fresh_server: SimServer,
) -> None:
    """DeleteItem of a calendar item without SendMeetingCancellations is refused."""
    series = weekly_meeting(fresh_server.sim.store, next_hour())
    body = (
        f'<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="{series}"/>'
        f'<t:ItemId Id="{series[:-4]}AAA="/></m:ItemIds></m:DeleteItem>'
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body)
    assert_valid(reply)
    assert reply.response_codes()[0] == "ErrorSendMeetingCancellationsRequired"


def test_move_and_copy_return_the_new_ids(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """MoveItem and CopyItem put the item in the target folder and answer its new id."""
    store = fresh_server.sim.store
    archive = store.create_folder(BOB, "inbox", "Archive")
    mail(store, "to move")
    mail(store, "to copy")
    bob = exchangelib_accounts(fresh_server, BOB)
    target = next(f for f in bob.inbox.children if f.name == "Archive")
    by_subject = {m.subject: m for m in bob.inbox.all()}
    old_id = by_subject["to move"].id
    by_subject["to move"].move(target)
    copy_id = by_subject["to copy"].copy(target)
    in_archive = {i.subject: i.id for i in store.items(None, archive.id)}
    assert set(in_archive) == {"to move", "to copy"}
    assert in_archive["to move"] != old_id
    assert copy_id[0] == in_archive["to copy"]
    assert [i.subject for i in store.items(BOB, "inbox")] == ["to copy"]


async def test_move_answers_without_ids_when_asked_and_refuses_occurrences(
    fresh_server: SimServer,
) -> None:
    """ReturnNewItemIds false answers an empty Items; an occurrence cannot be moved."""
    store = fresh_server.sim.store
    series = weekly_meeting(store, next_hour())
    mail(store, "quiet", to=ALICE)
    message = next(i for i in store.items(ALICE, "inbox") if i.subject == "quiet")
    body = (
        f"<m:MoveItem><m:ToFolderId>{folder('deleteditems')}</m:ToFolderId><m:ItemIds>"
        f'<t:ItemId Id="{message.id}"/><t:ItemId Id="{occurrence_id(series, 1)}"/></m:ItemIds>'
        "<m:ReturnNewItemIds>false</m:ReturnNewItemIds></m:MoveItem>"
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body)
    assert_valid(reply)
    assert reply.response_codes() == ["NoError", "ErrorCalendarCannotMoveOrCopyOccurrence"]
    first_items = reply.root.find(f".//{M}MoveItemResponseMessage/{M}Items")
    assert first_items is not None
    assert len(first_items) == 0
