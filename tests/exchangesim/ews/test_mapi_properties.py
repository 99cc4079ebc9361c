"""MAPI named properties of meetings through EWS: `t:ExtendedFieldURI` reads and restrictions.

exchangelib, unmodified, registers the properties the way its `UID` docstring and issues #453,
#492 and #914 show and finds meetings by PidLidGlobalObjectId; shapes, the "only when asked"
rule and the refusal of a `calendar:UID` restriction are checked on raw SOAP answers, validated
against the EWS schema.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from exchangelib import EWSDateTime, EWSTimeZone, ExtendedProperty
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.items import CalendarItem as ElCalendarItem
from exchangelib.items import MeetingCancellation as ElMeetingCancellation
from exchangelib.properties import UID
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, SCHEMA_MISSING, EwsClient, SimServer, load_schema, schema_available

from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import (
    Address,
    Attendee,
    CalendarItem,
    NumberedRange,
    Recurrence,
    WeeklyPattern,
    cancel_meeting,
    send_meeting,
    update_meeting,
)
from exchangesim.store.mapi_properties import global_object_id

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangelib_client import AccountFactory
    from harness import EwsReply

    from exchangesim.store import Store

BOB = "bob@contoso.com"
T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"
MEETING = "6ED8DA90-450B-101B-98DA-00AA003F1305"  # PSETID_Meeting
APPOINTMENT = "00062002-0000-0000-C000-000000000046"  # PSETID_Appointment


class GlobalObjectId(ExtendedProperty):  # type: ignore[misc]
    """PidLidGlobalObjectId, as exchangelib's `UID` docstring defines it."""

    distinguished_property_set_id = "Meeting"
    property_id = 3
    property_type = "Binary"


class CleanGlobalObjectId(ExtendedProperty):  # type: ignore[misc]
    """PidLidCleanGlobalObjectId, named by its set's GUID."""

    property_set_id = MEETING
    property_id = 0x23
    property_type = "Binary"


class AppointmentSequence(ExtendedProperty):  # type: ignore[misc]
    """PidLidAppointmentSequence."""

    property_set_id = APPOINTMENT
    property_id = 0x8201
    property_type = "Integer"


class Registered:
    """Which exchangelib classes get which extended properties in these tests."""

    fields: ClassVar[list[tuple[Any, str, type]]] = [
        (ElCalendarItem, "global_object_id", GlobalObjectId),
        (ElCalendarItem, "clean_global_object_id", CleanGlobalObjectId),
        (ElCalendarItem, "appointment_sequence", AppointmentSequence),
        (ElMeetingCancellation, "appointment_sequence", AppointmentSequence),
    ]


@pytest.fixture
def registered() -> Iterator[None]:
    """exchangelib's item classes with the meeting properties registered (and removed after)."""
    for cls, name, prop in Registered.fields:
        cls.register(name, prop)
    yield
    for cls, name, _ in Registered.fields:
        cls.deregister(name)


def next_hour(days: int = 1) -> datetime:
    """A whole hour ``days`` from now (UTC)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def meeting(store: Store, start: datetime, count: int | None = None) -> CalendarItem:
    """Alice's meeting with Bob (weekly ``count`` times if given), sent."""
    item = CalendarItem(
        subject="Planning",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=(Attendee(Address(BOB, "Bob Kelly")),),
    )
    if count is not None:
        item.recurrence = Recurrence(
            WeeklyPattern((start.strftime("%A"),)),  # type: ignore[arg-type]
            NumberedRange(start.date(), count),
        )
    return send_meeting(store, ALICE, item)


def extended_uri(property_set: str, lid: int, kind: str) -> str:
    """A `t:ExtendedFieldURI` by property set GUID and id."""
    return (
        f'<t:ExtendedFieldURI PropertySetId="{property_set}" PropertyId="{lid}" '
        f'PropertyType="{kind}"/>'
    )


def shape(base: str = "IdOnly", extra: str = "") -> str:
    """An `m:ItemShape`."""
    props = f"<t:AdditionalProperties>{extra}</t:AdditionalProperties>" if extra else ""
    return f"<m:ItemShape><t:BaseShape>{base}</t:BaseShape>{props}</m:ItemShape>"


def equals(path: str, value: str) -> str:
    """A Restriction: ``path`` IsEqualTo the constant."""
    return (
        f"<m:Restriction><t:IsEqualTo>{path}<t:FieldURIOrConstant>"
        f'<t:Constant Value="{value}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>'
    )


def find_calendar(item_shape: str, restriction: str = "") -> str:
    """FindItem in the calendar."""
    return (
        f'<m:FindItem Traversal="Shallow">{item_shape}{restriction}<m:ParentFolderIds>'
        '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )


def assert_valid(reply: EwsReply) -> None:
    """The answer's body validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


def values(reply: EwsReply) -> list[dict[str, str]]:
    """Each item's extended properties: ``PropertyId`` (or tag) to value, in document order."""
    found = []
    for item in reply.root.iter():
        if item.find(f"{T}ItemId") is None:
            continue  # not an item (FindItem's t:Items, SyncFolderItems' t:Create hold items)
        props = {}
        for prop in item.iter(f"{T}ExtendedProperty"):
            uri = prop.find(f"{T}ExtendedFieldURI")
            assert uri is not None
            name = uri.get("PropertyId") or uri.get("PropertyTag") or ""
            props[name] = prop.findtext(f"{T}Value") or ""
        found.append(props)
    return found


# --- exchangelib --------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
def test_exchangelib_reads_the_global_object_ids_of_a_meeting(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A sent meeting's PidLidGlobalObjectId and PidLidCleanGlobalObjectId are its UID's bytes,
    on the organizer's and on the attendee's calendar item; the sequence comes along."""
    sent = meeting(fresh_server.sim.store, next_hour())
    for mailbox in (ALICE, BOB):
        account = exchangelib_accounts(fresh_server, mailbox)
        (item,) = account.calendar.all()
        assert item.uid == sent.uid
        assert item.global_object_id == UID.to_global_object_id(sent.uid)
        assert item.clean_global_object_id == item.global_object_id
        assert item.appointment_sequence == 0


@pytest.mark.usefixtures("registered")
def test_exchangelib_finds_a_meeting_by_a_third_party_uid(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A meeting created with an iCalendar UID of its own is found on both calendars with
    ``filter(global_object_id=UID(uid))``, exchangelib's documented search by UID."""
    uid = "261cbc18-1f65-5a0a-bd11-23b1e224cc2f"
    alice = exchangelib_accounts(fresh_server, ALICE)
    start = EWSDateTime.from_datetime(next_hour(2))
    ElCalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Imported",
        start=start,
        end=start + timedelta(hours=1),
        uid=uid,
        required_attendees=[BOB],
    ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    meeting(fresh_server.sim.store, next_hour(3))  # another meeting, not found
    for mailbox in (ALICE, BOB):
        account = exchangelib_accounts(fresh_server, mailbox)
        (found,) = account.calendar.filter(global_object_id=UID(uid))
        assert (found.subject, found.uid) == ("Imported", uid)
        assert found.global_object_id == bytes(UID(uid))
        # Iterated, not count(): count() deep-copies the query, and a deep copy of exchangelib's
        # `UID` wraps its bytes a second time (UID(bytes) formats them as a string).
        (same,) = account.calendar.filter(clean_global_object_id=UID(uid))
        assert same.id == found.id
        assert list(account.calendar.filter(global_object_id=UID(uid + "x"))) == []


@pytest.mark.usefixtures("registered")
def test_exchangelib_reads_the_sequence_of_a_cancellation(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A cancellation has no sequence element in the EWS schema; PidLidAppointmentSequence
    carries it (here 2: one update, then the cancellation)."""
    store = fresh_server.sim.store
    sent = meeting(store, next_hour())
    update_meeting(store, sent.id, {"location": "Room 2"})
    cancel_meeting(store, sent.id)
    bob = exchangelib_accounts(fresh_server, BOB)
    (cancellation,) = [i for i in bob.inbox.all() if isinstance(i, ElMeetingCancellation)]
    assert cancellation.appointment_sequence == 2


@pytest.mark.usefixtures("registered")
def test_occurrences_carry_their_date_and_the_series_clean_id(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """In a calendar view each occurrence's PidLidGlobalObjectId has its original date in bytes
    16-19; PidLidCleanGlobalObjectId is the series' id, which finds the master."""
    start = next_hour()
    sent = meeting(fresh_server.sim.store, start, count=2)
    bob = exchangelib_accounts(fresh_server, BOB)
    window = (
        EWSDateTime.from_datetime(start - timedelta(hours=1)),
        EWSDateTime.from_datetime(start + timedelta(days=8)),
    )
    occurrences = list(bob.calendar.view(*window))
    series = UID.to_global_object_id(sent.uid)
    assert len(occurrences) == 2
    for occurrence in occurrences:
        day = occurrence.start.astimezone(EWSTimeZone("UTC")).date()
        assert occurrence.global_object_id == global_object_id(sent.uid, day)
        assert occurrence.global_object_id[16:20] == day.year.to_bytes(2, "big") + bytes(
            (day.month, day.day)
        )
        assert occurrence.clean_global_object_id == series
    (master,) = bob.calendar.filter(clean_global_object_id=series)
    assert master.type == "RecurringMaster"


# --- raw SOAP -------------------------------------------------------------------------------------


async def test_get_item_answers_the_meeting_properties_asked_for(fresh_server: SimServer) -> None:
    """GetItem answers each asked property as `t:ExtendedProperty`, in request order, echoing the
    path as asked (Binary in base64, SystemTime in UTC, Boolean words); none when not asked."""
    store = fresh_server.sim.store
    start = next_hour()
    sent = meeting(store, start)
    [request] = store.items(BOB, "inbox")
    asked = (
        extended_uri(MEETING, 3, "Binary")
        + extended_uri(APPOINTMENT, 0x8201, "Integer")
        + extended_uri(APPOINTMENT, 0x820D, "SystemTime")
        + extended_uri(APPOINTMENT, 0x8217, "Integer")
        + extended_uri(APPOINTMENT, 0x8218, "Integer")
        + extended_uri(APPOINTMENT, 0x8223, "Boolean")
        + extended_uri(MEETING, 0x1A, "SystemTime")
        + '<t:ExtendedFieldURI PropertyTag="0x001A" PropertyType="String"/>'
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(
            f"<m:GetItem>{shape('IdOnly', asked)}<m:ItemIds>"
            f'<t:ItemId Id="{request.id}"/></m:ItemIds></m:GetItem>',
            impersonate=BOB,
        )
        organizer = await ews.call(
            f"<m:GetItem>{shape('IdOnly', asked)}<m:ItemIds>"
            f'<t:ItemId Id="{sent.id}"/></m:ItemIds></m:GetItem>',
            impersonate=ALICE,
        )
        plain = await ews.call(
            f"<m:GetItem>{shape('AllProperties')}<m:ItemIds>"
            f'<t:ItemId Id="{request.id}"/></m:ItemIds></m:GetItem>',
            impersonate=BOB,
        )
    for answer in (reply, organizer, plain):
        assert_valid(answer)
        assert answer.response_codes() == ["NoError"]
    goid = base64.b64encode(binascii.unhexlify(sent.uid)).decode()
    assert request.date_time_sent is not None
    sent_at = request.date_time_sent.strftime("%Y-%m-%dT%H:%M:%SZ")
    [on_request] = values(reply)
    [on_organizer_item] = values(organizer)
    assert list(on_request.items()) == [
        ("3", goid),
        ("33281", "0"),
        ("33293", start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("33303", "3"),
        ("33304", "5"),
        ("33315", "false"),
        ("26", sent_at),
        ("0x1a", "IPM.Schedule.Meeting.Request"),
    ]
    assert on_organizer_item["33304"] == "1"  # respOrganized
    first = reply.root.find(f".//{T}ExtendedProperty/{T}ExtendedFieldURI")
    assert first is not None
    assert first.get("PropertySetId") == MEETING.lower()
    assert plain.root.find(f".//{T}ExtendedProperty") is None


async def test_find_and_sync_answer_the_properties_and_find_by_binary_constant(
    fresh_server: SimServer,
) -> None:
    """FindItem and SyncFolderItems answer the asked properties; a FindItem restriction on the
    binary id compares bytes (the base64 constant's case matters)."""
    store = fresh_server.sim.store
    wanted = meeting(store, next_hour())
    meeting(store, next_hour(2))
    goid = base64.b64encode(binascii.unhexlify(wanted.uid)).decode()
    path = extended_uri(MEETING, 3, "Binary")
    sync = (
        f"<m:SyncFolderItems>{shape('IdOnly', path)}<m:SyncFolderId>"
        '<t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
        "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    async with EwsClient(fresh_server) as ews:
        found = await ews.call(find_calendar(shape("IdOnly", path), equals(path, goid)))
        wrong_case = await ews.call(find_calendar(shape(), equals(path, goid.swapcase())))
        synced = await ews.call(sync)
    for reply in (found, wrong_case, synced):
        assert_valid(reply)
    assert values(found) == [{"3": goid}]
    assert found.root.find(f".//{T}ItemId") is not None
    assert found.root.find(f".//{T}ItemId").get("Id") == wanted.id  # type: ignore[union-attr]
    assert values(wrong_case) == []
    assert sorted(v["3"] for v in values(synced)) == sorted(
        base64.b64encode(binascii.unhexlify(i.uid)).decode()
        for i in store.items(ALICE, "calendar")
        if isinstance(i, CalendarItem)
    )


async def test_a_restriction_on_calendar_uid_is_refused(fresh_server: SimServer) -> None:
    """FindItem with a restriction on `calendar:UID` answers ErrorUnsupportedPathForQuery with
    Exchange's text; `item:UID` is no FieldURI at all (a schema validation fault)."""
    sent = meeting(fresh_server.sim.store, next_hour())
    async with EwsClient(fresh_server) as ews:
        refused = await ews.call(
            find_calendar(shape(), equals('<t:FieldURI FieldURI="calendar:UID"/>', sent.uid))
        )
        invalid = await ews.call(
            find_calendar(shape(), equals('<t:FieldURI FieldURI="item:UID"/>', sent.uid))
        )
    assert_valid(refused)
    assert refused.response_codes() == ["ErrorUnsupportedPathForQuery"]
    assert refused.root.findtext(f".//{M}MessageText") == (
        "The property can not be used with this type of restriction."
    )
    assert invalid.status == 500
    assert b"ErrorSchemaValidation" in invalid.body
