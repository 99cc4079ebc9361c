"""The EWS write side over raw SOAP: CreateItem, UpdateItem, SendItem and the meeting response
objects, the request parsing behind them, and their answers' shapes (every answer is also
validated against the EWS schema by the session's collector)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
from harness import ALICE, EwsClient, EwsReply, SimServer
from lxml import etree

from exchangesim.ews.faults import EwsError
from exchangesim.ews.parse import Reader, folder_ref, item_ref, parse_date
from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import (
    CalendarItem,
    MeetingRequest,
    MeetingResponse,
    Message,
    PropertyKey,
    occurrence_id,
)
from exchangesim.store import recurrence as rec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BOB = "bob@contoso.com"
CAROL = "carol@contoso.com"
VMR = "vmr@contoso.com"
NS = f'xmlns:t="{T_NS}" xmlns:m="{M_NS}"'
BERLIN = "W. Europe Standard Time"


@pytest.fixture
async def client(fresh_server: SimServer) -> AsyncIterator[EwsClient]:
    """A raw EWS client for a server of its own."""
    async with EwsClient(fresh_server) as ews:
        yield ews


def t(xml: str) -> etree._Element:
    """An element from XML text using the `t:` prefix."""
    return etree.fromstring(f"<t:Wrap {NS}>{xml}</t:Wrap>")[0]


def answered(reply: EwsReply) -> list[tuple[str, str, str]]:
    """(element, Id, ChangeKey) of every item named in the answer's `m:Items`."""
    found = []
    for items in reply.root.iter(f"{{{M_NS}}}Items"):
        for el in items:
            item_id = el.find(f"{{{T_NS}}}ItemId")
            assert item_id is not None
            found.append(
                (etree.QName(el).localname, item_id.get("Id", ""), item_id.get("ChangeKey", ""))
            )
    return found


def attendee(email: str) -> str:
    return (
        f"<t:Attendee><t:Mailbox><t:EmailAddress>{email}</t:EmailAddress></t:Mailbox></t:Attendee>"
    )


def meeting(
    subject: str = "Design review",
    start: str = "2026-12-01T09:00:00+01:00",
    end: str = "2026-12-01T10:00:00+01:00",
    *,
    required: tuple[str, ...] = (BOB,),
    resources: tuple[str, ...] = (),
    extra: str = "",
    zone: str | None = BERLIN,
) -> str:
    people = ""
    if required:
        people += f"<t:RequiredAttendees>{''.join(map(attendee, required))}</t:RequiredAttendees>"
    if resources:
        people += f"<t:Resources>{''.join(map(attendee, resources))}</t:Resources>"
    zones = f'<t:StartTimeZone Id="{zone}"/><t:EndTimeZone Id="{zone}"/>' if zone else ""
    return (
        f"<t:CalendarItem><t:Subject>{subject}</t:Subject>"
        '<t:Body BodyType="HTML">&lt;p&gt;PXPS:-abc#&lt;/p&gt;</t:Body>'
        f"<t:Start>{start}</t:Start><t:End>{end}</t:End><t:Location>Room 1</t:Location>"
        f"{people}{extra}{zones}</t:CalendarItem>"
    )


WEEKLY_4 = (
    "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Tuesday</t:DaysOfWeek>"
    "</t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-12-01</t:StartDate>"
    "<t:NumberOfOccurrences>4</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
)


async def create(
    ews: EwsClient,
    items: str,
    attrs: str = 'SendMeetingInvitations="SendToAllAndSaveCopy"',
    *,
    who: str = ALICE,
    folder: str = "",
    headers: str = "",
) -> EwsReply:
    saved = f"<m:SavedItemFolderId>{folder}</m:SavedItemFolderId>" if folder else ""
    reply = await ews.call(
        f"<m:CreateItem {attrs}>{saved}<m:Items>{items}</m:Items></m:CreateItem>",
        impersonate=who,
        extra_headers=headers,
    )
    assert reply.status == 200, reply.body[:500]
    return reply


async def update(
    ews: EwsClient,
    item_id: str,
    updates: str,
    *,
    change_key: str | None = None,
    attrs: str = 'ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"',
    who: str = ALICE,
    id_element: str | None = None,
) -> EwsReply:
    key = f' ChangeKey="{change_key}"' if change_key else ""
    target = id_element or f'<t:ItemId Id="{item_id}"{key}/>'
    reply = await ews.call(
        f"<m:UpdateItem {attrs}><m:ItemChanges><t:ItemChange>{target}<t:Updates>{updates}"
        "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
        impersonate=who,
    )
    assert reply.status == 200, reply.body[:500]
    return reply


def set_field(uri: str, kind: str, value: str) -> str:
    return f'<t:SetItemField><t:FieldURI FieldURI="{uri}"/><t:{kind}>{value}</t:{kind}></t:SetItemField>'


def text_of(reply: EwsReply) -> str:
    el = reply.root.find(f".//{{{M_NS}}}MessageText")
    return "" if el is None else el.text or ""


# --- request parsing ------------------------------------------------------------------------


PATTERNS = {
    "<t:DailyRecurrence><t:Interval>2</t:Interval></t:DailyRecurrence>": rec.DailyPattern(2),
    "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek>"
    "<t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>": rec.WeeklyPattern(
        ("Monday", "Wednesday"), 1, "Monday"
    ),
    "<t:AbsoluteMonthlyRecurrence><t:Interval>3</t:Interval><t:DayOfMonth>31</t:DayOfMonth>"
    "</t:AbsoluteMonthlyRecurrence>": rec.AbsoluteMonthlyPattern(31, 3),
    "<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Weekday</t:DaysOfWeek>"
    "<t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>": rec.RelativeMonthlyPattern(
        "Weekday", "Last", 1
    ),
    "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>29</t:DayOfMonth><t:Month>February</t:Month>"
    "</t:AbsoluteYearlyRecurrence>": rec.AbsoluteYearlyPattern(29, "February"),
    "<t:RelativeYearlyRecurrence><t:DaysOfWeek>Thursday</t:DaysOfWeek><t:DayOfWeekIndex>Fourth"
    "</t:DayOfWeekIndex><t:Month>November</t:Month></t:RelativeYearlyRecurrence>": rec.RelativeYearlyPattern(
        "Thursday", "Fourth", "November"
    ),
}
RANGES = {
    "<t:NoEndRecurrence><t:StartDate>2026-12-01</t:StartDate></t:NoEndRecurrence>": rec.NoEndRange(
        date(2026, 12, 1)
    ),
    "<t:EndDateRecurrence><t:StartDate>2026-12-01-08:00</t:StartDate><t:EndDate>2027-06-22Z</t:EndDate>"
    "</t:EndDateRecurrence>": rec.EndDateRange(date(2026, 12, 1), date(2027, 6, 22)),
    "<t:NumberedRecurrence><t:StartDate>2026-12-01</t:StartDate><t:NumberOfOccurrences>10"
    "</t:NumberOfOccurrences></t:NumberedRecurrence>": rec.NumberedRange(date(2026, 12, 1), 10),
}


@pytest.mark.parametrize("pattern", list(PATTERNS), ids=lambda p: p[3 : p.index(">")])
@pytest.mark.parametrize("range_xml", list(RANGES), ids=lambda r: r[3 : r.index(">")])
def test_every_calendar_recurrence_pattern_and_range_is_read(pattern: str, range_xml: str) -> None:
    """Each EWS recurrence pattern combines with each range into the store's recurrence."""
    item = Reader().new_item(t(meeting(extra=f"<t:Recurrence>{pattern}{range_xml}</t:Recurrence>")))
    assert isinstance(item, CalendarItem)
    assert item.recurrence == rec.Recurrence(PATTERNS[pattern], RANGES[range_xml])


def test_task_regeneration_patterns_are_refused_for_calendar_items() -> None:
    """A regenerating (task) pattern on a calendar item is ErrorUnsupportedRecurrence."""
    bad = "<t:Recurrence><t:DailyRegeneration><t:Interval>1</t:Interval></t:DailyRegeneration>"
    bad += "<t:NoEndRecurrence><t:StartDate>2026-12-01</t:StartDate></t:NoEndRecurrence></t:Recurrence>"
    with pytest.raises(EwsError) as caught:
        Reader().new_item(t(meeting(extra=bad)))
    assert caught.value.code == "ErrorUnsupportedRecurrence"


def test_naive_times_are_read_in_the_items_zone_then_the_context_then_utc() -> None:
    """A time without offset uses the item's StartTimeZone, else TimeZoneContext, else UTC."""
    naive = meeting(start="2026-12-01T09:00:00", end="2026-12-01T10:00:00", zone=None)
    in_berlin = meeting(start="2026-12-01T09:00:00", end="2026-12-01T10:00:00")
    own = Reader(context_zone="Pacific Standard Time").new_item(t(in_berlin))
    context = Reader(context_zone="Pacific Standard Time").new_item(t(naive))
    plain = Reader().new_item(t(naive))
    assert isinstance(own, CalendarItem)
    assert isinstance(context, CalendarItem)
    assert isinstance(plain, CalendarItem)
    assert (own.start, own.start_time_zone) == (datetime(2026, 12, 1, 8, tzinfo=UTC), BERLIN)
    assert (context.start, context.start_time_zone) == (
        datetime(2026, 12, 1, 17, tzinfo=UTC),
        "Pacific Standard Time",
    )
    assert (plain.start, plain.start_time_zone, plain.end_time_zone) == (
        datetime(2026, 12, 1, 9, tzinfo=UTC),
        "UTC",
        "UTC",
    )


def test_legacy_meeting_time_zone_sets_both_zones() -> None:
    """Exchange 2007's MeetingTimeZone (TimeZoneName) is the start and the end zone."""
    legacy = '<t:MeetingTimeZone TimeZoneName="Eastern Standard Time"/>'
    item = Reader().new_item(
        t(meeting(start="2026-12-01T09:00:00", end="2026-12-01T10:00:00", extra=legacy, zone=None))
    )
    assert isinstance(item, CalendarItem)
    assert (item.start_time_zone, item.end_time_zone) == ("Eastern Standard Time",) * 2
    assert item.start == datetime(2026, 12, 1, 14, tzinfo=UTC)


def test_unknown_time_zones_are_error_time_zone() -> None:
    """A StartTimeZone that is no Windows zone is ErrorTimeZone."""
    with pytest.raises(EwsError) as caught:
        Reader().new_item(t(meeting(zone="Mars Standard Time")))
    assert caught.value.code == "ErrorTimeZone"


def test_all_day_events_span_whole_local_days() -> None:
    """An all-day event's start moves to the previous and its end to the next local midnight."""
    item = Reader().new_item(
        t(
            meeting(
                start="2026-12-01T10:00:00+01:00",
                end="2026-12-02T15:00:00+01:00",
                extra="<t:IsAllDayEvent>true</t:IsAllDayEvent>",
            )
        )
    )
    assert isinstance(item, CalendarItem)
    assert (item.start, item.end) == (
        datetime(2026, 11, 30, 23, tzinfo=UTC),
        datetime(2026, 12, 2, 23, tzinfo=UTC),
    )


def test_messages_read_recipients_extended_properties_and_directory_names() -> None:
    """Recipients get directory display names; extended properties are keyed like GetItem's."""
    xml = (
        "<t:Message><t:Subject>Hi</t:Subject><t:Body BodyType='Text'>x</t:Body>"
        f"<t:ToRecipients><t:Mailbox><t:EmailAddress>{BOB}</t:EmailAddress></t:Mailbox></t:ToRecipients>"
        "<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId='PublicStrings' "
        "PropertyName='vmr' PropertyType='String'/><t:Value>abc</t:Value></t:ExtendedProperty>"
        "<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag='0x3001' PropertyType='String'/>"
        "<t:Value>tagged</t:Value></t:ExtendedProperty></t:Message>"
    )
    item = Reader(resolve={BOB: "Bob Kelly"}.get).new_item(t(xml))
    assert isinstance(item, Message)
    assert [(a.email, a.name) for a in item.to_recipients] == [(BOB, "Bob Kelly")]
    assert item.extended_properties == {
        PropertyKey("String", distinguished_set="PublicStrings", property_name="vmr"): "abc",
        PropertyKey("String", property_tag=0x3001): "tagged",
    }


def test_read_only_properties_cannot_be_set() -> None:
    """Setting a computed property (IsMeeting) is ErrorInvalidPropertySet."""
    with pytest.raises(EwsError) as caught:
        Reader().new_item(t(meeting(extra="<t:IsMeeting>true</t:IsMeeting>")))
    assert caught.value.code == "ErrorInvalidPropertySet"


def test_item_and_folder_references() -> None:
    """ItemId, OccurrenceItemId and RecurringMasterItemId; folder ids, names and mailboxes."""
    assert item_ref(t('<t:ItemId Id="A" ChangeKey="K"/>')).kind == "item"
    occ = item_ref(t('<t:OccurrenceItemId RecurringMasterId="A" ChangeKey="K" InstanceIndex="3"/>'))
    assert (occ.kind, occ.id, occ.index, occ.change_key) == ("occurrence", "A", 3, "K")
    assert item_ref(t('<t:RecurringMasterItemId OccurrenceId="O"/>')).kind == "master"
    other = folder_ref(
        t(
            '<t:Target><t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>'
            f"{VMR}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></t:Target>"
        )
    )
    assert (other.ref, other.distinguished, other.mailbox) == ("calendar", True, VMR)
    assert parse_date("2014-03-08-08:00") == date(2014, 3, 8)


# --- CreateItem and SendItem: mail ------------------------------------------------------------


def message(subject: str, to: str = BOB) -> str:
    return (
        f"<t:Message><t:Subject>{subject}</t:Subject><t:Body BodyType='Text'>Hello</t:Body>"
        f"<t:ToRecipients><t:Mailbox><t:EmailAddress>{to}</t:EmailAddress></t:Mailbox>"
        "</t:ToRecipients></t:Message>"
    )


async def test_save_only_makes_a_draft_that_send_item_sends(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """SaveOnly answers the draft's id; SendItem delivers it and files it in Sent Items."""
    store = fresh_server.sim.store
    reply = await create(client, message("Draft"), 'MessageDisposition="SaveOnly"')
    [(kind, draft_id, key)] = answered(reply)
    assert kind == "Message"
    [draft] = store.items(ALICE, "drafts")
    assert (draft.id, draft.is_draft) == (draft_id, True)
    sent = await client.call(
        f'<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="{draft_id}" ChangeKey="{key}"/>'
        "</m:ItemIds></m:SendItem>"
    )
    assert sent.response_codes() == ["NoError"]
    assert store.items(ALICE, "drafts") == []
    assert [i.subject for i in store.items(ALICE, "sentitems")] == ["Draft"]
    assert [i.subject for i in store.items(BOB, "inbox")] == ["Draft"]


async def test_send_and_save_copy_answers_no_items(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """Sent mail is answered with an empty m:Items; a copy waits in Sent Items, SendOnly keeps none."""
    store = fresh_server.sim.store
    kept = await create(client, message("Kept"), 'MessageDisposition="SendAndSaveCopy"')
    gone = await create(client, message("Gone"), 'MessageDisposition="SendOnly"')
    assert answered(kept) == answered(gone) == []
    assert kept.response_codes() == gone.response_codes() == ["NoError"]
    assert [i.subject for i in store.items(ALICE, "sentitems")] == ["Kept"]
    assert [i.subject for i in store.items(BOB, "inbox")] == ["Kept", "Gone"]


async def test_missing_dispositions_are_refused_per_item(client: EwsClient) -> None:
    """A message needs MessageDisposition, a calendar item SendMeetingInvitations."""
    reply = await create(client, message("x") + meeting(), "")
    assert reply.response_codes() == [
        "ErrorMessageDispositionRequired",
        "ErrorSendMeetingInvitationsRequired",
    ]
    assert reply.root.find(f".//{{{M_NS}}}CreateItemResponseMessage/{{{M_NS}}}Items") is not None


async def test_send_item_refuses_a_stale_change_key_and_bad_save_settings(
    client: EwsClient,
) -> None:
    """SendItem with a stale ChangeKey is ErrorIrresolvableConflict; a folder without saving is
    ErrorInvalidSendItemSaveSettings."""
    [(_, draft_id, _)] = answered(
        await create(client, message("D"), 'MessageDisposition="SaveOnly"')
    )
    stale = await client.call(
        f'<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="{draft_id}" '
        'ChangeKey="DwAAAAAAAAAAAAAAAAAAAAAAAAA="/></m:ItemIds></m:SendItem>'
    )
    assert stale.response_codes() == ["ErrorIrresolvableConflict"]
    folder = await client.call(
        f'<m:SendItem SaveItemToFolder="false"><m:ItemIds><t:ItemId Id="{draft_id}"/></m:ItemIds>'
        '<m:SavedItemFolderId><t:DistinguishedFolderId Id="drafts"/></m:SavedItemFolderId></m:SendItem>'
    )
    assert folder.response_codes() == ["ErrorInvalidSendItemSaveSettings"]


async def test_reply_all_and_forward_of_mail(client: EwsClient, fresh_server: SimServer) -> None:
    """ReplyAllToItem answers the sender and the other recipients; ForwardItem adds the new body."""
    store = fresh_server.sim.store
    await create(
        client,
        message("Plan").replace(
            "</t:ToRecipients>",
            f"<t:Mailbox><t:EmailAddress>{CAROL}</t:EmailAddress></t:Mailbox></t:ToRecipients>",
        ),
        'MessageDisposition="SendAndSaveCopy"',
    )
    [received] = store.items(BOB, "inbox")
    await create(
        client,
        f'<t:ReplyAllToItem><t:ReferenceItemId Id="{received.id}"/>'
        "<t:NewBodyContent BodyType='Text'>Agreed</t:NewBodyContent></t:ReplyAllToItem>"
        f"<t:ForwardItem><t:ToRecipients><t:Mailbox><t:EmailAddress>{VMR}</t:EmailAddress></t:Mailbox>"
        f'</t:ToRecipients><t:ReferenceItemId Id="{received.id}"/></t:ForwardItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=BOB,
    )
    [reply] = [i for i in store.items(ALICE, "inbox") if i.subject == "RE: Plan"]
    assert isinstance(reply, Message)
    assert [a.email for a in reply.to_recipients] == [ALICE, CAROL]
    assert reply.body.content.startswith("Agreed")
    assert reply.in_reply_to == received.internet_message_id
    [forward] = store.items(VMR, "inbox")
    assert forward.subject == "FW: Plan"


async def test_items_of_other_mailboxes_are_not_found(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """An id from Bob's mailbox, used while impersonating Alice, is ErrorItemNotFound."""
    await create(client, message("Private"), 'MessageDisposition="SendOnly"')
    [bobs] = fresh_server.sim.store.items(BOB, "inbox")
    reply = await update(
        client,
        bobs.id,
        set_field("item:Subject", "Message", "<t:Subject>x</t:Subject>"),
        attrs='ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"',
    )
    assert reply.response_codes() == ["ErrorItemNotFound"]


# --- CreateItem: calendar items and meetings ------------------------------------------------


async def test_a_calendar_item_with_attendees_sent_becomes_a_meeting(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """SendToAllAndSaveCopy: the organizer's item is a meeting, attendees get requests, a copy
    stays in Sent Items; the answer names the new calendar item."""
    store = fresh_server.sim.store
    reply = await create(
        client, meeting(resources=(VMR,)), folder='<t:DistinguishedFolderId Id="calendar"/>'
    )
    [(kind, item_id, key)] = answered(reply)
    organizer = store.get_item(item_id)
    assert kind == "CalendarItem"
    assert isinstance(organizer, CalendarItem)
    assert (organizer.change_key, organizer.is_meeting, organizer.meeting_request_was_sent) == (
        key,
        True,
        True,
    )
    assert [type(i).__name__ for i in store.items(ALICE, "sentitems")] == ["MeetingRequest"]
    assert [type(i).__name__ for i in store.items(BOB, "inbox")] == ["MeetingRequest"]
    assert [type(i).__name__ for i in store.items(VMR, "inbox")] == ["MeetingRequest"]


async def test_send_to_none_only_saves(client: EwsClient, fresh_server: SimServer) -> None:
    """SendToNone saves the item with its attendees and sends nothing."""
    store = fresh_server.sim.store
    await create(client, meeting(), 'SendMeetingInvitations="SendToNone"')
    assert store.items(BOB, "inbox") == []
    [item] = store.items(ALICE, "calendar")
    assert isinstance(item, CalendarItem)
    assert not item.meeting_request_was_sent


async def test_calendar_items_need_a_calendar_folder(client: EwsClient) -> None:
    """A calendar item saved into the Inbox is ErrorCannotCreateCalendarItemInNonCalendarFolder."""
    reply = await create(client, meeting(), folder='<t:DistinguishedFolderId Id="inbox"/>')
    assert reply.response_codes() == ["ErrorCannotCreateCalendarItemInNonCalendarFolder"]


async def test_time_zone_context_header_reads_naive_times(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """With TimeZoneContext Pacific, a naive 09:00 is 17:00 UTC and the item's zone is Pacific."""
    context = (
        '<t:TimeZoneContext><t:TimeZoneDefinition Id="Pacific Standard Time"/></t:TimeZoneContext>'
    )
    reply = await create(
        client,
        meeting(start="2026-12-01T09:00:00", end="2026-12-01T10:00:00", zone=None),
        'SendMeetingInvitations="SendToNone"',
        headers=context,
    )
    [(_, item_id, _)] = answered(reply)
    item = fresh_server.sim.store.get_item(item_id)
    assert isinstance(item, CalendarItem)
    assert (item.start, item.start_time_zone) == (
        datetime(2026, 12, 1, 17, tzinfo=UTC),
        "Pacific Standard Time",
    )


# --- UpdateItem -------------------------------------------------------------------------------


async def _meeting(client: EwsClient, extra: str = "") -> tuple[str, str]:
    [(_, item_id, key)] = answered(await create(client, meeting(extra=extra)))
    return item_id, key


@pytest.mark.parametrize("resolution", ["AutoResolve", "NeverOverwrite"])
async def test_a_stale_change_key_is_an_irresolvable_conflict(
    client: EwsClient, resolution: str
) -> None:
    """AutoResolve and NeverOverwrite refuse a stale ChangeKey with Exchange's words."""
    item_id, key = await _meeting(client)
    await update(
        client,
        item_id,
        set_field("calendar:Location", "CalendarItem", "<t:Location>2</t:Location>"),
        change_key=key,
    )
    reply = await update(
        client,
        item_id,
        set_field("calendar:Location", "CalendarItem", "<t:Location>3</t:Location>"),
        change_key=key,
        attrs=f'ConflictResolution="{resolution}" SendMeetingInvitationsOrCancellations="SendToNone"',
    )
    assert reply.response_codes() == ["ErrorIrresolvableConflict"]
    assert text_of(reply).startswith("The send or update operation could not be performed")


async def test_always_overwrite_applies_and_counts_the_conflict(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """AlwaysOverwrite ignores the stale key, reports ConflictResults 1 and the new change key."""
    item_id, key = await _meeting(client)
    first = await update(
        client,
        item_id,
        set_field("item:Subject", "CalendarItem", "<t:Subject>A</t:Subject>"),
        change_key=key,
    )
    assert first.root.findtext(f".//{{{T_NS}}}Count") == "0"
    reply = await update(
        client,
        item_id,
        set_field("item:Subject", "CalendarItem", "<t:Subject>B</t:Subject>"),
        change_key=key,
        attrs='ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"',
    )
    assert reply.root.findtext(f".//{{{T_NS}}}Count") == "1"
    [(_, answered_id, new_key)] = answered(reply)
    stored = fresh_server.sim.store.get_item(item_id)
    assert (answered_id, new_key, stored.subject) == (item_id, stored.change_key, "B")


async def test_updating_an_occurrence_makes_an_exception(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """An OccurrenceItemId update moves that occurrence only; the answer names the occurrence and
    Bob gets a FullUpdate for it; the zones sent along do not change the exception's zone."""
    store = fresh_server.sim.store
    master_id, key = await _meeting(client, WEEKLY_4)
    updates = set_field(
        "calendar:Start", "CalendarItem", "<t:Start>2026-12-08T10:00:00+01:00</t:Start>"
    )
    updates += set_field("calendar:End", "CalendarItem", "<t:End>2026-12-08T11:00:00+01:00</t:End>")
    updates += set_field("calendar:StartTimeZone", "CalendarItem", '<t:StartTimeZone Id="UTC"/>')
    reply = await update(
        client,
        "",
        updates,
        id_element=f'<t:OccurrenceItemId RecurringMasterId="{master_id}" ChangeKey="{key}" InstanceIndex="2"/>',
    )
    assert reply.response_codes() == ["NoError"]
    [(_, exception_id, _)] = answered(reply)
    assert exception_id == occurrence_id(master_id, 2)
    master = store.get_item(master_id)
    assert isinstance(master, CalendarItem)
    [exception] = master.exceptions
    assert (exception.start, exception.start_time_zone) == (
        datetime(2026, 12, 8, 9, tzinfo=UTC),
        BERLIN,
    )
    update_msg = store.items(BOB, "inbox")[-1]
    assert isinstance(update_msg, MeetingRequest)
    assert (update_msg.meeting_request_type, update_msg.recurrence_id) == (
        "FullUpdate",
        datetime(2026, 12, 8, 8, tzinfo=UTC),
    )


async def test_a_new_zone_without_new_times_keeps_the_wall_clock(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """Changing StartTimeZone/EndTimeZone alone keeps 09:00 local: the UTC times move."""
    [(_, item_id, _)] = answered(
        await create(client, meeting(), 'SendMeetingInvitations="SendToNone"')
    )
    zones = set_field(
        "calendar:StartTimeZone", "CalendarItem", '<t:StartTimeZone Id="Eastern Standard Time"/>'
    )
    zones += set_field(
        "calendar:EndTimeZone", "CalendarItem", '<t:EndTimeZone Id="Eastern Standard Time"/>'
    )
    await update(client, item_id, zones)
    item = fresh_server.sim.store.get_item(item_id)
    assert isinstance(item, CalendarItem)
    assert (item.start, item.end) == (
        datetime(2026, 12, 1, 14, tzinfo=UTC),
        datetime(2026, 12, 1, 15, tzinfo=UTC),
    )


async def test_append_delete_and_extended_property_updates(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """AppendToItemField extends the body and attendees, DeleteItemField clears the location,
    an ExtendedFieldURI sets and then deletes a property."""
    store = fresh_server.sim.store
    item_id, _ = await _meeting(client)
    prop = "<t:ExtendedFieldURI DistinguishedPropertySetId='PublicStrings' PropertyName='vmr' PropertyType='String'/>"
    updates = (
        '<t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:CalendarItem>'
        '<t:Body BodyType="HTML">&lt;p&gt;more&lt;/p&gt;</t:Body></t:CalendarItem></t:AppendToItemField>'
        '<t:AppendToItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem>'
        f"<t:RequiredAttendees>{attendee(CAROL)}</t:RequiredAttendees></t:CalendarItem></t:AppendToItemField>"
        '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>'
        f"<t:SetItemField>{prop}<t:CalendarItem><t:ExtendedProperty>{prop}<t:Value>v1</t:Value>"
        "</t:ExtendedProperty></t:CalendarItem></t:SetItemField>"
    )
    assert (await update(client, item_id, updates)).response_codes() == ["NoError"]
    item = store.get_item(item_id)
    assert isinstance(item, CalendarItem)
    assert item.body.content == "<p>PXPS:-abc#</p><p>more</p>"
    assert [a.mailbox.email for a in item.required_attendees] == [BOB, CAROL]
    assert item.location == ""
    assert list(item.extended_properties.values()) == ["v1"]
    assert [type(i).__name__ for i in store.items(CAROL, "inbox")] == ["MeetingRequest"]
    await update(client, item_id, f"<t:DeleteItemField>{prop}</t:DeleteItemField>")
    assert store.get_item(item_id).extended_properties == {}


@pytest.mark.parametrize(
    ("updates", "code"),
    [
        (
            set_field("calendar:IsMeeting", "CalendarItem", "<t:IsMeeting>false</t:IsMeeting>"),
            "ErrorInvalidPropertySet",
        ),
        (
            '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Start"/></t:DeleteItemField>',
            "ErrorInvalidPropertyDelete",
        ),
        (
            (
                '<t:AppendToItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject>'
                "</t:CalendarItem></t:AppendToItemField>"
            ),
            "ErrorInvalidPropertyAppend",
        ),
        (
            (
                '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject>'
                "<t:Location>y</t:Location></t:CalendarItem></t:SetItemField>"
            ),
            "ErrorIncorrectUpdatePropertyCount",
        ),
        (
            set_field(
                "message:ToRecipients",
                "Message",
                f"<t:ToRecipients><t:Mailbox><t:EmailAddress>{BOB}</t:EmailAddress></t:Mailbox></t:ToRecipients>",
            ),
            "ErrorInvalidPropertySet",
        ),
    ],
    ids=["read-only", "delete-start", "append-subject", "two-properties", "message-field"],
)
async def test_invalid_item_changes_are_refused(client: EwsClient, updates: str, code: str) -> None:
    """Each kind of invalid change gets Exchange's response code and an empty m:Items."""
    item_id, _ = await _meeting(client)
    reply = await update(client, item_id, updates)
    assert reply.response_codes() == [code]


async def test_calendar_updates_need_send_meeting_invitations_or_cancellations(
    client: EwsClient,
) -> None:
    """A calendar item update without SendMeetingInvitationsOrCancellations is refused."""
    item_id, _ = await _meeting(client)
    reply = await update(
        client,
        item_id,
        set_field("item:Subject", "CalendarItem", "<t:Subject>x</t:Subject>"),
        attrs='ConflictResolution="AutoResolve"',
    )
    assert reply.response_codes() == ["ErrorSendMeetingInvitationsOrCancellationsRequired"]


async def test_updating_a_draft_with_send_and_save_copy_sends_it(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """MessageDisposition SendAndSaveCopy on a draft sends it; the answer names no item."""
    store = fresh_server.sim.store
    [(_, draft_id, _)] = answered(
        await create(client, message("Old"), 'MessageDisposition="SaveOnly"')
    )
    reply = await update(
        client,
        draft_id,
        set_field("item:Subject", "Message", "<t:Subject>New</t:Subject>"),
        attrs='ConflictResolution="AutoResolve" MessageDisposition="SendAndSaveCopy"',
    )
    assert (reply.response_codes(), answered(reply)) == (["NoError"], [])
    assert [i.subject for i in store.items(BOB, "inbox")] == ["New"]


# --- meeting responses, cancellation, removal ------------------------------------------------


async def test_save_only_accept_leaves_a_draft_that_send_item_sends(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """AcceptItem SaveOnly answers the calendar item and the draft response; SendItem sends it
    and the organizer's item records Bob's acceptance."""
    store = fresh_server.sim.store
    item_id, _ = await _meeting(client)
    [request] = store.items(BOB, "inbox")
    reply = await create(
        client,
        f'<t:AcceptItem><t:Body BodyType="Text">Yes</t:Body><t:ReferenceItemId Id="{request.id}"/></t:AcceptItem>',
        'MessageDisposition="SaveOnly"',
        who=BOB,
    )
    kinds = [kind for kind, _, _ in answered(reply)]
    assert kinds == ["CalendarItem", "MeetingResponse"]
    [draft] = store.items(BOB, "drafts")
    assert isinstance(draft, MeetingResponse)
    assert store.items(ALICE, "inbox") == []
    sent = await client.call(
        f'<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="{draft.id}"/></m:ItemIds></m:SendItem>',
        impersonate=BOB,
    )
    assert sent.response_codes() == ["NoError"]
    organizer = store.get_item(item_id)
    assert isinstance(organizer, CalendarItem)
    assert [a.response_type for a in organizer.required_attendees] == ["Accept"]


async def test_organizers_cannot_accept_and_attendees_cannot_cancel(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """Alice accepting her own meeting and Bob cancelling it get Exchange's codes."""
    item_id, _ = await _meeting(client)
    [bobs] = fresh_server.sim.store.items(BOB, "calendar")
    own = await create(
        client,
        f'<t:AcceptItem><t:ReferenceItemId Id="{item_id}"/></t:AcceptItem>',
        'MessageDisposition="SendAndSaveCopy"',
    )
    theirs = await create(
        client,
        f'<t:CancelCalendarItem><t:ReferenceItemId Id="{bobs.id}"/></t:CancelCalendarItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=BOB,
    )
    assert own.response_codes() == ["ErrorCalendarIsOrganizerForAccept"]
    assert theirs.response_codes() == ["ErrorCalendarIsNotOrganizer"]


async def test_accepting_an_out_of_date_request_is_refused(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """After an update, the first request is out of date: ErrorCalendarMeetingRequestIsOutOfDate."""
    store = fresh_server.sim.store
    item_id, _ = await _meeting(client)
    first = store.items(BOB, "inbox")[0]
    await update(
        client,
        item_id,
        set_field("calendar:Start", "CalendarItem", "<t:Start>2026-12-01T08:00:00+01:00</t:Start>"),
    )
    reply = await create(
        client,
        f'<t:AcceptItem><t:ReferenceItemId Id="{first.id}"/></t:AcceptItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=BOB,
    )
    assert reply.response_codes() == ["ErrorCalendarMeetingRequestIsOutOfDate"]


async def test_cancel_answers_the_trashed_item_and_remove_item_clears_the_attendee(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """CancelCalendarItem answers the organizer's item (now in Deleted Items); the resource,
    with no Calendar Attendant, removes the cancelled meeting with RemoveItem."""
    store = fresh_server.sim.store
    [(_, item_id, _)] = answered(await create(client, meeting(resources=(VMR,))))
    [request] = store.items(VMR, "inbox")
    await create(
        client,
        f'<t:AcceptItem><t:ReferenceItemId Id="{request.id}"/></t:AcceptItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=VMR,
    )
    reply = await create(
        client,
        f'<t:CancelCalendarItem><t:ReferenceItemId Id="{item_id}"/>'
        '<t:NewBodyContent BodyType="Text">Off</t:NewBodyContent></t:CancelCalendarItem>',
        'MessageDisposition="SendAndSaveCopy"',
    )
    [(kind, trashed_id, _)] = answered(reply)
    assert kind == "CalendarItem"
    assert [i.id for i in store.items(ALICE, "deleteditems")] == [trashed_id]
    [cancellation] = store.items(VMR, "inbox")
    assert cancellation.body.content == "Off"
    assert len(store.items(VMR, "calendar")) == 1
    removed = await create(
        client,
        f'<t:RemoveItem><t:ReferenceItemId Id="{cancellation.id}"/></t:RemoveItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=VMR,
    )
    assert (removed.response_codes(), answered(removed)) == (["NoError"], [])
    assert store.items(VMR, "calendar") == []
    assert store.items(VMR, "inbox") == []


async def test_cancellations_are_never_saved_as_drafts(client: EwsClient) -> None:
    """A SaveOnly cancellation is refused rather than silently sent or dropped."""
    item_id, _ = await _meeting(client)
    reply = await create(
        client,
        f'<t:CancelCalendarItem><t:ReferenceItemId Id="{item_id}"/></t:CancelCalendarItem>',
        'MessageDisposition="SaveOnly"',
    )
    assert reply.response_codes() == ["ErrorInvalidOperation"]


async def test_forwarding_a_meeting_request_keeps_the_organizer(
    client: EwsClient, fresh_server: SimServer
) -> None:
    """Bob forwards the request to Carol: she gets a request from Alice sent by Bob, with Bob's
    note above the original body; Alice is notified and adds Carol as optional attendee."""
    store = fresh_server.sim.store
    item_id, _ = await _meeting(client)
    [request] = store.items(BOB, "inbox")
    reply = await create(
        client,
        f"<t:ForwardItem><t:ToRecipients><t:Mailbox><t:EmailAddress>{CAROL}</t:EmailAddress></t:Mailbox>"
        f'</t:ToRecipients><t:ReferenceItemId Id="{request.id}"/>'
        '<t:NewBodyContent BodyType="HTML">&lt;p&gt;FYI&lt;/p&gt;</t:NewBodyContent></t:ForwardItem>',
        'MessageDisposition="SendAndSaveCopy"',
        who=BOB,
    )
    assert reply.response_codes() == ["NoError"]
    [forwarded] = store.items(CAROL, "inbox")
    assert isinstance(forwarded, MeetingRequest)
    assert forwarded.author is not None
    assert forwarded.sender is not None
    assert (forwarded.author.email, forwarded.sender.email) == (ALICE, BOB)
    assert forwarded.body.content.startswith("<p>FYI</p>")
    assert "PXPS:-abc#" in forwarded.body.content
    organizer = store.get_item(item_id)
    assert isinstance(organizer, CalendarItem)
    assert [a.mailbox.email for a in organizer.optional_attendees] == [CAROL]
