"""Meeting semantics across mailboxes: send, respond, update, cancel, forward."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from store_sample import ALICE, BOB, CAROL, ROOM, VMR, FakeClock

from exchangesim.store import (
    Attendee,
    Body,
    CalendarItem,
    InvalidOperation,
    Item,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
    NumberedRange,
    Recurrence,
    Store,
    WeeklyPattern,
    cancel_meeting,
    forward_meeting_request,
    modified_occurrences,
    occurrence_id,
    remove_from_calendar,
    respond,
    send_item,
    send_meeting,
    update_meeting,
)

BERLIN = "W. Europe Standard Time"
FOLDERS = ("inbox", "calendar", "sentitems", "deleteditems", "drafts")


def _contents(store: Store, address: str) -> dict[str, list[tuple[str, str]]]:
    """Each folder's items as (class, subject), for 'the mailbox ends as Exchange leaves it'."""
    return {
        folder: [(type(i).__name__, i.subject) for i in store.items(address, folder)]
        for folder in FOLDERS
    }


def _only(store: Store, address: str, folder: str) -> Item:
    [item] = store.items(address, folder)
    return item


def _responses(item: CalendarItem) -> dict[str, str]:
    return {a.mailbox.email: a.response_type for a in item.attendees()}


def _single(subject: str = "Design review", *attendees: Attendee) -> CalendarItem:
    start = datetime(2026, 11, 4, 13, tzinfo=UTC)
    return CalendarItem(
        subject=subject,
        body=Body("HTML", "<p>PXPS:-token#</p>"),
        location="Room One",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=attendees or (Attendee(BOB),),
    )


def _weekly() -> CalendarItem:
    start = datetime(2026, 11, 3, 8, tzinfo=UTC)  # 09:00 in Berlin
    return CalendarItem(
        subject="Weekly",
        body=Body("HTML", "<p>Join: PXPS:-abc#</p>"),
        start=start,
        end=start + timedelta(hours=1),
        start_time_zone=BERLIN,
        end_time_zone=BERLIN,
        recurrence=Recurrence(WeeklyPattern(("Tuesday",)), NumberedRange(date(2026, 11, 3), 4)),
        required_attendees=(Attendee(BOB), Attendee(VMR)),
        resources=(Attendee(ROOM),),
    )


def test_full_lifecycle_of_a_series_with_two_users_and_resources(
    store: Store, clock: FakeClock
) -> None:
    """Send, accept, move one occurrence, cancel one, cancel all: every mailbox ends as in Exchange."""
    # 1. Alice sends the series.
    master = send_meeting(store, ALICE.email, _weekly())
    assert master.calendar_item_type == "RecurringMaster"
    assert master.is_meeting
    assert master.meeting_request_was_sent
    assert master.my_response_type == "Organizer"
    assert master.appointment_sequence_number == 0
    assert _contents(store, BOB.email)["inbox"] == [("MeetingRequest", "Weekly")]
    bob_request = _only(store, BOB.email, "inbox")
    bob_item = _only(store, BOB.email, "calendar")
    assert isinstance(bob_request, MeetingRequest)
    assert isinstance(bob_item, CalendarItem)
    assert bob_request.meeting_request_type == "NewMeetingRequest"
    assert bob_request.has_been_processed
    assert bob_request.associated_calendar_item_id == bob_item.id
    assert bob_request.intended_free_busy_status == "Busy"
    assert bob_request.author is not None
    assert bob_request.author.email == ALICE.email
    assert bob_item.uid == master.uid == bob_request.uid
    assert (bob_item.my_response_type, bob_item.legacy_free_busy_status) == (
        "NoResponseReceived",
        "Tentative",
    )
    assert bob_item.calendar_item_type == "RecurringMaster"
    # The vmrsched resource (processing off) only gets the request.
    vmr_request = _only(store, VMR.email, "inbox")
    assert isinstance(vmr_request, MeetingRequest)
    assert not vmr_request.has_been_processed
    assert store.items(VMR.email, "calendar") == []
    # The room accepts by itself and strips its copy.
    room_item = _only(store, ROOM.email, "calendar")
    assert isinstance(room_item, CalendarItem)
    assert (room_item.my_response_type, room_item.legacy_free_busy_status) == ("Accept", "Busy")
    assert (room_item.subject, room_item.body.content) == (ALICE.name, "")
    assert _contents(store, ROOM.email)["deleteditems"] == [("MeetingRequest", "Weekly")]
    assert _contents(store, ALICE.email)["sentitems"] == [("MeetingRequest", "Weekly")]
    assert _contents(store, ALICE.email)["inbox"] == [("MeetingResponse", "Accepted: Weekly")]

    # Bob and vmrsched accept.
    clock.advance(minutes=5)
    respond(store, bob_request.id, "Accept", body=Body("Text", "See you"))
    result = respond(store, vmr_request.id, "Accept")
    vmr_item = _only(store, VMR.email, "calendar")
    assert result.calendar_item_id == vmr_item.id
    assert isinstance(vmr_item, CalendarItem)
    assert (vmr_item.my_response_type, vmr_item.legacy_free_busy_status) == ("Accept", "Busy")
    organizer = store.get_item(master.id)
    assert isinstance(organizer, CalendarItem)
    assert _responses(organizer) == {BOB.email: "Accept", VMR.email: "Accept", ROOM.email: "Accept"}
    assert all(a.last_response_time is not None for a in organizer.attendees())
    assert _contents(store, BOB.email) == {
        "inbox": [],
        "calendar": [("CalendarItem", "Weekly")],
        "sentitems": [("MeetingResponse", "Accepted: Weekly")],
        "deleteditems": [("MeetingRequest", "Weekly")],
        "drafts": [],
    }

    # 2. Alice moves the second occurrence an hour later.
    clock.advance(minutes=5)
    second = store.occurrence(master.id, 2)
    assert second.id == occurrence_id(master.id, 2)
    moved = update_meeting(
        store,
        second.id,
        {"start": second.start + timedelta(hours=1), "end": second.end + timedelta(hours=1)},  # type: ignore[operator]
    )
    assert moved.calendar_item_type == "Exception"
    assert moved.appointment_sequence_number == 1
    organizer = store.get_item(master.id)
    assert isinstance(organizer, CalendarItem)
    [info] = modified_occurrences(organizer)
    assert (info.item_id, info.original_start, info.start) == (second.id, second.start, moved.start)
    bob_update = store.items(BOB.email, "inbox")[-1]
    assert isinstance(bob_update, MeetingRequest)
    assert bob_update.meeting_request_type == "FullUpdate"
    assert bob_update.recurrence_id == second.start
    assert bob_update.recurrence is None
    bob_series = _only(store, BOB.email, "calendar")
    assert isinstance(bob_series, CalendarItem)
    [bob_exception] = bob_series.exceptions
    assert bob_exception.start == moved.start
    assert bob_exception.my_response_type == "NoResponseReceived"
    assert bob_series.my_response_type == "Accept"
    room_series = _only(store, ROOM.email, "calendar")
    assert isinstance(room_series, CalendarItem)
    assert room_series.exceptions[0].start == moved.start
    assert room_series.exceptions[0].my_response_type == "Accept"
    assert [type(i).__name__ for i in store.items(VMR.email, "inbox")] == ["MeetingRequest"]

    # 3. Alice cancels the third occurrence.
    clock.advance(minutes=5)
    third = store.occurrence(master.id, 3)
    cancel_meeting(store, third.id, body=Body("Text", "Holiday"))
    organizer = store.get_item(master.id)
    assert isinstance(organizer, CalendarItem)
    assert organizer.deleted_occurrences == [third.start]
    bob_cancel = store.items(BOB.email, "inbox")[-1]
    assert isinstance(bob_cancel, MeetingCancellation)
    assert bob_cancel.recurrence_id == third.start
    assert bob_cancel.appointment_sequence_number == 2
    bob_series = _only(store, BOB.email, "calendar")
    assert isinstance(bob_series, CalendarItem)
    cancelled = next(e for e in bob_series.exceptions if e.original_start == third.start)
    assert (cancelled.is_cancelled, cancelled.subject, cancelled.legacy_free_busy_status) == (
        True,
        "Canceled: Weekly",
        "Free",
    )
    with pytest.raises(Exception, match="deleted"):
        store.occurrence(master.id, 3)

    # 4. Alice cancels the whole series.
    clock.advance(minutes=5)
    cancel_meeting(store, master.id)
    assert _contents(store, ALICE.email) == {
        "inbox": [
            ("MeetingResponse", "Accepted: Weekly"),
            ("MeetingResponse", "Accepted: Weekly"),
            ("MeetingResponse", "Accepted: Weekly"),
            ("MeetingResponse", "Accepted: Weekly"),
        ],
        "calendar": [],
        "sentitems": [
            ("MeetingRequest", "Weekly"),
            ("MeetingRequest", "Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
        ],
        "deleteditems": [("CalendarItem", "Weekly")],
        "drafts": [],
    }
    assert _contents(store, BOB.email) == {
        "inbox": [
            ("MeetingRequest", "Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
        ],
        "calendar": [("CalendarItem", "Canceled: Weekly")],
        "sentitems": [("MeetingResponse", "Accepted: Weekly")],
        "deleteditems": [("MeetingRequest", "Weekly")],
        "drafts": [],
    }
    outdated = store.items(BOB.email, "inbox")[0]
    assert isinstance(outdated, MeetingRequest)
    assert outdated.is_out_of_date
    bob_series = _only(store, BOB.email, "calendar")
    assert isinstance(bob_series, CalendarItem)
    assert bob_series.is_cancelled
    assert bob_series.appointment_sequence_number == 3
    # No Calendar Attendant at the vmrsched resource: messages wait, the item stays until removed.
    assert [type(i).__name__ for i in store.items(VMR.email, "inbox")] == [
        "MeetingRequest",
        "MeetingCancellation",
        "MeetingCancellation",
    ]
    series_cancel = store.items(VMR.email, "inbox")[-1]
    assert isinstance(series_cancel, MeetingCancellation)
    assert not series_cancel.has_been_processed
    remove_from_calendar(store, series_cancel.id)
    assert store.items(VMR.email, "calendar") == []
    room = _only(store, ROOM.email, "calendar")
    assert isinstance(room, CalendarItem)
    assert room.is_cancelled
    assert store.items(ROOM.email, "inbox") == []


def test_body_only_update_is_informational_bumps_sequence_and_keeps_responses(store: Store) -> None:
    """A body change sends an InformationalUpdate with a new sequence; acceptances stand."""
    meeting = send_meeting(store, ALICE.email, _single())
    respond(store, _only(store, BOB.email, "inbox").id, "Accept")
    updated = update_meeting(store, meeting.id, {"body": Body("HTML", "<p>new link</p>")})
    assert updated.appointment_sequence_number == 1
    assert _responses(updated) == {BOB.email: "Accept"}
    request = _only(store, BOB.email, "inbox")
    assert isinstance(request, MeetingRequest)
    assert (request.meeting_request_type, request.appointment_sequence_number) == (
        "InformationalUpdate",
        1,
    )
    bob_item = _only(store, BOB.email, "calendar")
    assert isinstance(bob_item, CalendarItem)
    assert (bob_item.my_response_type, bob_item.body.content) == ("Accept", "<p>new link</p>")
    assert bob_item.legacy_free_busy_status == "Busy"


def test_time_change_is_a_full_update_that_clears_responses(store: Store) -> None:
    """A new time sends a FullUpdate; the organizer's tally and the attendee's answer reset."""
    meeting = send_meeting(store, ALICE.email, _single())
    respond(store, _only(store, BOB.email, "inbox").id, "Accept")
    update_meeting(store, meeting.id, {"location": "Room Two"})
    assert meeting.start is not None
    assert meeting.end is not None
    updated = update_meeting(
        store,
        meeting.id,
        {"start": meeting.start + timedelta(days=1), "end": meeting.end + timedelta(days=1)},
    )
    assert updated.appointment_sequence_number == 2
    assert _responses(updated) == {BOB.email: "Unknown"}
    informational, full = store.items(BOB.email, "inbox")
    assert isinstance(informational, MeetingRequest)
    assert isinstance(full, MeetingRequest)
    assert informational.meeting_request_type == "InformationalUpdate"
    assert informational.is_out_of_date
    assert full.meeting_request_type == "FullUpdate"
    bob_item = _only(store, BOB.email, "calendar")
    assert isinstance(bob_item, CalendarItem)
    assert (bob_item.start, bob_item.location) == (updated.start, "Room Two")
    assert (bob_item.my_response_type, bob_item.legacy_free_busy_status) == (
        "NoResponseReceived",
        "Tentative",
    )


def test_send_to_changed_invites_only_added_attendees(store: Store) -> None:
    """Adding Carol with SendToChangedAndSaveCopy invites her only; the meeting's sequence stays."""
    meeting = send_meeting(store, ALICE.email, _single())
    updated = update_meeting(
        store,
        meeting.id,
        {"required_attendees": (Attendee(BOB), Attendee(CAROL))},
        send="SendToChangedAndSaveCopy",
    )
    assert updated.appointment_sequence_number == 0
    assert len(store.items(BOB.email, "inbox")) == 1
    carol_request = _only(store, CAROL.email, "inbox")
    assert isinstance(carol_request, MeetingRequest)
    assert (carol_request.meeting_request_type, carol_request.appointment_sequence_number) == (
        "NewMeetingRequest",
        1,
    )
    respond(store, carol_request.id, "Tentative")
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert _responses(organizer)[CAROL.email] == "Tentative"


def test_removed_attendee_gets_a_cancellation(store: Store) -> None:
    """Dropping an attendee sends that attendee a cancellation; the others get the update."""
    meeting = send_meeting(store, ALICE.email, _single("Sync", Attendee(BOB), Attendee(CAROL)))
    update_meeting(store, meeting.id, {"required_attendees": (Attendee(BOB),)})
    assert [type(i).__name__ for i in store.items(CAROL.email, "inbox")] == [
        "MeetingRequest",
        "MeetingCancellation",
    ]
    carol_item = _only(store, CAROL.email, "calendar")
    assert isinstance(carol_item, CalendarItem)
    assert carol_item.is_cancelled
    assert [type(i).__name__ for i in store.items(BOB.email, "inbox")] == ["MeetingRequest"] * 2


def test_decline_moves_the_item_and_the_request_to_deleted_items(store: Store) -> None:
    """Declining removes the meeting from the calendar and tells the organizer."""
    meeting = send_meeting(store, ALICE.email, _single())
    result = respond(
        store, _only(store, BOB.email, "inbox").id, "Decline", body=Body("Text", "Sorry")
    )
    assert result.calendar_item_id is None
    assert _contents(store, BOB.email)["calendar"] == []
    assert sorted(_contents(store, BOB.email)["deleteditems"]) == [
        ("CalendarItem", "Design review"),
        ("MeetingRequest", "Design review"),
    ]
    response = _only(store, ALICE.email, "inbox")
    assert isinstance(response, MeetingResponse)
    assert (response.item_class, response.subject) == (
        "IPM.Schedule.Meeting.Resp.Neg",
        "Declined: Design review",
    )
    assert response.body.content == "Sorry"
    assert response.is_organizer
    assert response.associated_calendar_item_id == meeting.id
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert _responses(organizer) == {BOB.email: "Decline"}


def test_save_only_response_waits_in_drafts_until_sent(store: Store) -> None:
    """A SaveOnly response updates the calendar at once but reaches the organizer when sent."""
    meeting = send_meeting(store, ALICE.email, _single())
    result = respond(
        store, _only(store, BOB.email, "inbox").id, "Tentative", disposition="SaveOnly"
    )
    assert result.response_id is not None
    bob_item = _only(store, BOB.email, "calendar")
    assert isinstance(bob_item, CalendarItem)
    assert bob_item.my_response_type == "Tentative"
    assert store.items(ALICE.email, "inbox") == []
    send_item(store, result.response_id)
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert _responses(organizer) == {BOB.email: "Tentative"}
    assert _contents(store, BOB.email)["sentitems"] == [
        ("MeetingResponse", "Tentative: Design review")
    ]


def test_response_without_sending_tells_nobody(store: Store) -> None:
    """SendOnly responses keep no copy; responding to the calendar item works like the request."""
    send_meeting(store, ALICE.email, _single())
    bob_item = _only(store, BOB.email, "calendar")
    result = respond(store, bob_item.id, "Accept", disposition="SendOnly")
    assert result.response_id is None
    assert store.items(BOB.email, "sentitems") == []
    assert len(store.items(ALICE.email, "inbox")) == 1


def test_declining_one_occurrence_deletes_it_from_the_attendees_series(store: Store) -> None:
    """A decline of one occurrence id removes just that occurrence from the attendee's series."""
    master = send_meeting(store, ALICE.email, _weekly())
    bob_series = _only(store, BOB.email, "calendar")
    third = store.occurrence(bob_series.id, 3)
    respond(store, third.id, "Decline")
    bob_series = _only(store, BOB.email, "calendar")
    assert isinstance(bob_series, CalendarItem)
    assert bob_series.deleted_occurrences == [third.start]
    organizer = store.get_item(master.id)
    assert isinstance(organizer, CalendarItem)
    [exception] = organizer.exceptions
    assert exception.original_start == third.start
    assert _responses(exception)[BOB.email] == "Decline"
    assert _responses(organizer)[BOB.email] == "Unknown"


def test_organizers_cannot_respond_and_attendees_cannot_cancel(store: Store) -> None:
    """The organizer's accept and an attendee's cancel are refused with Exchange's codes."""
    meeting = send_meeting(store, ALICE.email, _single())
    with pytest.raises(InvalidOperation) as accept:
        respond(store, meeting.id, "Accept")
    assert accept.value.code == "ErrorCalendarIsOrganizerForAccept"
    with pytest.raises(InvalidOperation) as cancel:
        cancel_meeting(store, _only(store, BOB.email, "calendar").id)
    assert cancel.value.code == "ErrorCalendarIsNotOrganizer"


def test_a_saved_meeting_is_sent_by_the_first_update_that_sends(store: Store) -> None:
    """SendToNone saves the meeting unsent; a later sending update sends NewMeetingRequest."""
    meeting = send_meeting(store, ALICE.email, _single(), send="SendToNone")
    assert meeting.is_meeting
    assert not meeting.meeting_request_was_sent
    assert store.items(BOB.email, "inbox") == []
    update_meeting(store, meeting.id, {"subject": "Design review v2"})
    request = _only(store, BOB.email, "inbox")
    assert isinstance(request, MeetingRequest)
    assert (request.meeting_request_type, request.subject) == (
        "NewMeetingRequest",
        "Design review v2",
    )


def test_forwarded_request_keeps_the_organizer_and_notifies_them(store: Store) -> None:
    """Carol gets a request From Alice sent by Bob; Alice gets a forward notification and Carol."""
    meeting = send_meeting(store, ALICE.email, _single())
    forward_meeting_request(store, _only(store, BOB.email, "inbox").id, [CAROL])
    carol_request = _only(store, CAROL.email, "inbox")
    assert isinstance(carol_request, MeetingRequest)
    assert carol_request.author is not None
    assert carol_request.sender is not None
    assert (carol_request.author.email, carol_request.sender.email) == (ALICE.email, BOB.email)
    assert carol_request.uid == meeting.uid
    # Outlook shows forwarded meetings with the forward prefix on the calendar too.
    assert _contents(store, CAROL.email)["calendar"] == [("CalendarItem", "FW: Design review")]
    note = _only(store, ALICE.email, "inbox")
    assert isinstance(note, MeetingMessage)
    assert note.item_class == "IPM.Schedule.Meeting.Notification.Forward"
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert [a.mailbox.email for a in organizer.optional_attendees] == [CAROL.email]
    respond(store, carol_request.id, "Accept")
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert _responses(organizer)[CAROL.email] == "Accept"


def test_occurrence_and_master_ids_resolve_both_ways(store: Store) -> None:
    """Occurrence ids from a view, OccurrenceItemId (master, index) and the master agree."""
    master = send_meeting(store, ALICE.email, _weekly(), send="SendToNone")
    assert master.start is not None
    view = store.calendar_view(
        ALICE.email, "calendar", master.start, master.start + timedelta(days=30)
    )
    assert [o.calendar_item_type for o in view] == ["Occurrence"] * 4
    assert view[1] == store.occurrence(master.id, 2) == store.get_item(view[1].id)
    assert store.master_of(view[1].id).id == master.id
    assert view[1].master_id == master.id
    assert [o.start.astimezone(UTC).hour for o in view if o.start] == [8, 8, 8, 8]
