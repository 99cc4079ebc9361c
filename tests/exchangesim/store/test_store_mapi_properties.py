"""The MAPI named properties a meeting carries, derived from the store's fields.

Byte values are checked against the examples Microsoft publishes: [MS-OXOCAL] 4.x (an exception's
PidLidGlobalObjectId) and [MS-ASEMAIL] 4.3 (an Outlook id and a "vCal-Uid" id).
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from exchangelib.properties import UID
from store_sample import ALICE, BOB, FakeClock

from exchangesim.store import (
    Attendee,
    CalendarItem,
    MeetingCancellation,
    MeetingRequest,
    MeetingResponse,
    NumberedRange,
    Recurrence,
    Store,
    WeeklyPattern,
    cancel_meeting,
    occurrence_id,
    respond,
    send_meeting,
    update_meeting,
)
from exchangesim.store.mapi_properties import MAPI_PROPERTIES, MapiValue, global_object_id

if TYPE_CHECKING:
    from exchangesim.store.items import Item

# [MS-OXOCAL] 4.x: an exception moved from March 25, 2008; the same id with a zero date is the
# series' UID as Exchange writes it.
OXOCAL_EXCEPTION = (
    "040000008200E00074C5B7101A82E00807D803195025D461E473C8010000000000000000100000002A5844B3A444"
    "F74A9C246C60886F116B"
)
OXOCAL_UID = OXOCAL_EXCEPTION[:32] + "00000000" + OXOCAL_EXCEPTION[40:]
# [MS-ASEMAIL] 4.3, example 1 (an instance on 2004-09-16) and example 2 (a vCal UID).
ASEMAIL_UID = (
    "040000008200E00074C5B7101A82E00800000000E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE9"
    "4E9E39E3867B378EF3"
)
ASEMAIL_GOID = "BAAAAIIA4AB0xbcQGoLgCAfUCRDgQMnBJoXEAQAAAAAAAAAAEAAAAAvw7UtuTulOnjnjhns3jvM="
VCAL_UID = "{81412D3C-2A24-4E9D-B20E-11F7BBE92799}"
VCAL_GOID = (
    "BAAAAIIA4AB0xbcQGoLgCAAAAAAAAAAAAAAAAAAAAAAAAAAAMwAAAHZDYWwtVWlkAQAAAHs4MTQxMkQzQy0yQTI0LT"
    "RFOUQtQjIwRS0xMUY3QkJFOTI3OTl9AA=="
)


def mapi(item: Item, name: str) -> MapiValue | None:
    """The derived property ``name`` (canonical name) of an item."""
    [prop] = [p for p in MAPI_PROPERTIES if p.name == name]
    return prop.value(item)


def weekly(start: datetime, count: int = 3) -> CalendarItem:
    """Alice's weekly meeting with Bob."""
    return CalendarItem(
        subject="Weekly",
        start=start,
        end=start + timedelta(hours=1),
        recurrence=Recurrence(WeeklyPattern(("Wednesday",)), NumberedRange(start.date(), count)),
        required_attendees=(Attendee(BOB),),
    )


def test_outlook_uid_is_the_global_object_id_with_the_instance_date() -> None:
    """An Outlook UID is the id in hex; an exception's date fills YH YL M D ([MS-OXOCAL] 4.x)."""
    assert global_object_id(OXOCAL_UID, date(2008, 3, 25)).hex().upper() == OXOCAL_EXCEPTION
    assert global_object_id(OXOCAL_UID).hex().upper() == OXOCAL_UID
    assert global_object_id(OXOCAL_EXCEPTION).hex().upper() == OXOCAL_UID  # clean: date zeroed


def test_global_object_ids_match_the_activesync_examples() -> None:
    """Both [MS-ASEMAIL] 4.3 examples come out byte for byte, and a non-Outlook UID is the
    "vCal-Uid" form exchangelib's `UID` builds."""
    goid = global_object_id(ASEMAIL_UID, date(2004, 9, 16))
    assert base64.b64encode(goid).decode() == ASEMAIL_GOID
    assert base64.b64encode(global_object_id(VCAL_UID)).decode() == VCAL_GOID
    third_party = "261cbc18-1f65-5a0a-bd11-23b1e224cc2f"
    assert global_object_id(third_party) == bytes(UID(third_party))


def test_hex_that_is_not_an_encoded_global_id_is_a_third_party_uid() -> None:
    """A hex UID too short or without the Byte Array ID is wrapped, not decoded
    ([MS-OXCICAL] 2.1.3.1.1.20.26)."""
    short = OXOCAL_UID[:80]
    assert global_object_id(short)[40:48] == b"vCal-Uid"
    other = "FF" + OXOCAL_UID[2:]
    assert global_object_id(other)[40:48] == b"vCal-Uid"


def test_series_instances_and_messages_share_the_clean_id(store: Store, clock: FakeClock) -> None:
    """Master, occurrence, exception and the exception's update share PidLidCleanGlobalObjectId;
    PidLidGlobalObjectId carries each instance's original UTC date."""
    start = datetime(2026, 11, 4, 23, 30, tzinfo=UTC)  # the UTC date decides the instance date
    master = send_meeting(store, ALICE.email, weekly(start))
    clean = global_object_id(master.uid)
    assert mapi(master, "PidLidGlobalObjectId") == clean
    assert mapi(master, "PidLidRecurring") is True
    assert mapi(master, "PidLidIsRecurring") is True
    assert mapi(master, "PidLidIsException") is False
    second = store.get_item(occurrence_id(master.id, 2))
    assert isinstance(second, CalendarItem)
    assert mapi(second, "PidLidGlobalObjectId") == global_object_id(master.uid, date(2026, 11, 11))
    assert mapi(second, "PidLidCleanGlobalObjectId") == clean
    assert (mapi(second, "PidLidRecurring"), mapi(second, "PidLidIsException")) == (False, False)
    clock.advance(minutes=5)
    earlier = start + timedelta(days=14, hours=-1)
    moved = update_meeting(
        store, occurrence_id(master.id, 3), {"start": earlier, "end": earlier + timedelta(hours=1)}
    )
    assert moved.calendar_item_type == "Exception"
    assert mapi(moved, "PidLidGlobalObjectId") == global_object_id(master.uid, date(2026, 11, 18))
    assert mapi(moved, "PidLidIsException") is True
    update = next(
        i
        for i in store.items(BOB.email, "inbox")
        if isinstance(i, MeetingRequest) and i.recurrence_id
    )
    assert mapi(update, "PidLidGlobalObjectId") == mapi(moved, "PidLidGlobalObjectId")
    assert mapi(update, "PidLidCleanGlobalObjectId") == clean
    assert mapi(update, "PidLidIsException") is True


def test_sequence_state_and_critical_changes_follow_the_meeting(
    store: Store, clock: FakeClock
) -> None:
    """Requests and cancellations carry the sequence and when the organizer sent them; Bob's item
    and response carry the request's time on, the response also when Bob sent it."""
    start = datetime(2026, 11, 4, 13, tzinfo=UTC)
    item = CalendarItem(
        subject="Review",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=(Attendee(BOB),),
    )
    master = send_meeting(store, ALICE.email, item)
    sent_at = clock.now
    assert mapi(master, "PidLidResponseStatus") == 1  # respOrganized
    assert mapi(master, "PidLidAppointmentStateFlags") == 1  # asfMeeting
    [request] = store.items(BOB.email, "inbox")
    assert isinstance(request, MeetingRequest)
    assert mapi(request, "PidLidOwnerCriticalChange") == sent_at
    assert mapi(request, "PidLidAppointmentStateFlags") == 3  # asfMeeting | asfReceived
    assert mapi(request, "PidTagMessageClass") == "IPM.Schedule.Meeting.Request"
    assert mapi(request, "PidLidAttendeeCriticalChange") is None
    [bob_item] = store.items(BOB.email, "calendar")
    assert mapi(bob_item, "PidLidResponseStatus") == 5  # respNotResponded
    assert mapi(bob_item, "PidLidOwnerCriticalChange") == sent_at
    clock.advance(minutes=10)
    respond(store, request.id, "Accept")
    [response] = store.items(ALICE.email, "inbox")
    assert isinstance(response, MeetingResponse)
    assert mapi(response, "PidLidAttendeeCriticalChange") == clock.now
    assert mapi(response, "PidLidOwnerCriticalChange") == sent_at
    clock.advance(minutes=10)
    update_meeting(store, master.id, {"location": "Room 2"})
    cancel_meeting(store, master.id)
    cancellation = next(
        i for i in store.items(BOB.email, "inbox") if isinstance(i, MeetingCancellation)
    )
    assert mapi(cancellation, "PidLidAppointmentSequence") == 2
    assert mapi(cancellation, "PidLidAppointmentStateFlags") == 7  # … | asfCanceled
    assert mapi(cancellation, "PidLidOwnerCriticalChange") == clock.now
