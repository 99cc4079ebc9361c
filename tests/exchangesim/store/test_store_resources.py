"""Resource mailboxes: what each AutomateProcessing setting does with arriving meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from store_sample import ALICE, BOB, ROOM, VMR, FakeClock

from exchangesim.store import (
    Address,
    Attendee,
    Body,
    CalendarItem,
    DailyPattern,
    MeetingRequest,
    MeetingResponse,
    NoEndRange,
    NumberedRange,
    Recurrence,
    Store,
    cancel_meeting,
    respond,
    send_meeting,
    update_meeting,
)
from exchangesim.store.mailbox import CalendarProcessing

START = datetime(2026, 11, 4, 13, tzinfo=UTC)
DESK = Address("desk@contoso.com", "Hot desk")


def _meeting(
    *resources: Address, start: datetime = START, hours: float = 1, **extra: object
) -> CalendarItem:
    item = CalendarItem(
        subject="Budget",
        body=Body("HTML", "<p>secret agenda</p>"),
        start=start,
        end=start + timedelta(hours=hours),
        sensitivity="Private",
        required_attendees=(Attendee(BOB),),
        resources=tuple(Attendee(r) for r in resources),
    )
    for name, value in extra.items():
        setattr(item, name, value)
    return item


def _desk(store: Store, **settings: object) -> None:
    store.add_mailbox(DESK.email, DESK.name, "equipment", processing=CalendarProcessing(**settings))  # type: ignore[arg-type]


def _last_response(store: Store) -> MeetingResponse:
    response = store.items(ALICE.email, "inbox")[-1]
    assert isinstance(response, MeetingResponse)
    return response


def test_processing_none_leaves_the_request_alone(store: Store) -> None:
    """AutomateProcessing None: the request waits unprocessed, no calendar item, no response."""
    send_meeting(store, ALICE.email, _meeting(VMR))
    [request] = store.items(VMR.email, "inbox")
    assert isinstance(request, MeetingRequest)
    assert (request.has_been_processed, request.associated_calendar_item_id) == (False, None)
    assert store.items(VMR.email, "calendar") == []
    assert store.items(ALICE.email, "inbox") == []


def test_accepting_at_an_unprocessed_resource_books_its_calendar(store: Store) -> None:
    """Accepting a request the resource never processed creates its busy calendar item."""
    meeting = send_meeting(store, ALICE.email, _meeting(VMR))
    [request] = store.items(VMR.email, "inbox")
    respond(store, request.id, "Accept", body=Body("Text", "Your VMR is ready"))
    [item] = store.items(VMR.email, "calendar")
    assert isinstance(item, CalendarItem)
    assert (item.subject, item.body.content) == ("Budget", "<p>secret agenda</p>")
    assert (item.my_response_type, item.legacy_free_busy_status, item.start) == (
        "Accept",
        "Busy",
        START,
    )
    assert _last_response(store).body.content == "Your VMR is ready"
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert organizer.resources[0].response_type == "Accept"


def test_updates_at_an_unprocessed_resource_apply_when_accepted(store: Store) -> None:
    """A time change reaches a None resource as a request; accepting it moves the booking."""
    meeting = send_meeting(store, ALICE.email, _meeting(VMR))
    respond(store, store.items(VMR.email, "inbox")[0].id, "Accept")
    later = START + timedelta(hours=3)
    update_meeting(store, meeting.id, {"start": later, "end": later + timedelta(hours=1)})
    [update] = store.items(VMR.email, "inbox")
    assert isinstance(update, MeetingRequest)
    assert update.meeting_request_type == "FullUpdate"
    assert store.items(VMR.email, "calendar")[0].start == START  # type: ignore[attr-defined]
    respond(store, update.id, "Accept")
    [item] = store.items(VMR.email, "calendar")
    assert isinstance(item, CalendarItem)
    assert (item.start, item.appointment_sequence_number) == (later, 1)


def test_auto_update_resource_holds_requests_tentatively(store: Store) -> None:
    """AutoUpdate: the Calendar Attendant adds a tentative item; nothing is answered."""
    _desk(store, automate_processing="AutoUpdate")
    send_meeting(store, ALICE.email, _meeting(DESK))
    [item] = store.items(DESK.email, "calendar")
    assert isinstance(item, CalendarItem)
    assert (item.my_response_type, item.legacy_free_busy_status) == (
        "NoResponseReceived",
        "Tentative",
    )
    assert item.subject == "Budget"
    [request] = store.items(DESK.email, "inbox")
    assert isinstance(request, MeetingRequest)
    assert request.has_been_processed
    assert store.items(ALICE.email, "inbox") == []


def test_add_new_requests_tentatively_off_skips_new_items(store: Store) -> None:
    """With AddNewRequestsTentatively false a new request does not reach the calendar."""
    _desk(store, automate_processing="AutoUpdate", add_new_requests_tentatively=False)
    send_meeting(store, ALICE.email, _meeting(DESK))
    assert store.items(DESK.email, "calendar") == []
    assert len(store.items(DESK.email, "inbox")) == 1


def test_auto_accept_books_strips_and_answers(store: Store) -> None:
    """AutoAccept: accepted, body and subject replaced by the organizer's name, private cleared."""
    meeting = send_meeting(store, ALICE.email, _meeting(ROOM))
    [item] = store.items(ROOM.email, "calendar")
    assert isinstance(item, CalendarItem)
    assert (item.subject, item.body.content, item.sensitivity) == (ALICE.name, "", "Normal")
    assert (item.my_response_type, item.legacy_free_busy_status) == ("Accept", "Busy")
    assert store.items(ROOM.email, "inbox") == []
    response = _last_response(store)
    assert response.item_class == "IPM.Schedule.Meeting.Resp.Pos"
    assert response.subject == "Accepted: Budget"
    assert response.body.content == "Your request was accepted."
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert organizer.resources[0].response_type == "Accept"
    assert organizer.subject == "Budget"


def test_auto_accept_keeps_content_when_told_to(store: Store) -> None:
    """With DeleteComments/DeleteSubject/AddOrganizerToSubject off the item keeps its text."""
    _desk(
        store,
        automate_processing="AutoAccept",
        delete_comments=False,
        delete_subject=False,
        add_organizer_to_subject=False,
    )
    send_meeting(store, ALICE.email, _meeting(DESK))
    [item] = store.items(DESK.email, "calendar")
    assert (item.subject, item.body.content) == ("Budget", "<p>secret agenda</p>")


def test_auto_accept_declines_a_conflict(store: Store) -> None:
    """A second meeting over a booked slot is declined with a reason and leaves no item."""
    send_meeting(store, ALICE.email, _meeting(ROOM))
    send_meeting(store, ALICE.email, _meeting(ROOM, start=START + timedelta(minutes=30)))
    assert len(store.items(ROOM.email, "calendar")) == 1
    response = _last_response(store)
    assert response.item_class == "IPM.Schedule.Meeting.Resp.Neg"
    assert "already booked" in response.body.content


def test_auto_accept_allows_conflicts_when_configured(store: Store) -> None:
    """AllowConflicts true accepts overlapping meetings."""
    _desk(store, automate_processing="AutoAccept", allow_conflicts=True)
    send_meeting(store, ALICE.email, _meeting(DESK))
    send_meeting(store, ALICE.email, _meeting(DESK, start=START + timedelta(minutes=30)))
    assert len(store.items(DESK.email, "calendar")) == 2


def test_auto_accept_policy_declines_series_long_and_far_meetings(
    store: Store, clock: FakeClock
) -> None:
    """Recurring (when not allowed), too long, and beyond-window meetings are declined."""
    _desk(
        store,
        automate_processing="AutoAccept",
        allow_recurring_meetings=False,
        maximum_duration_in_minutes=60,
    )
    daily = Recurrence(DailyPattern(), NumberedRange(date(2026, 11, 4), 3))
    send_meeting(store, ALICE.email, _meeting(DESK, recurrence=daily))
    assert "Recurring meetings" in _last_response(store).body.content
    send_meeting(store, ALICE.email, _meeting(DESK, hours=2))
    assert "limit" in _last_response(store).body.content
    send_meeting(store, ALICE.email, _meeting(DESK, start=clock.now + timedelta(days=200)))
    assert "booking window" in _last_response(store).body.content
    assert store.items(DESK.email, "calendar") == []


def test_endless_series_respects_the_scheduling_horizon_setting(store: Store) -> None:
    """A series without end is declined under EnforceSchedulingHorizon, accepted without it."""
    endless = Recurrence(DailyPattern(), NoEndRange(date(2026, 11, 4)))
    send_meeting(store, ALICE.email, _meeting(ROOM, recurrence=endless))
    assert _last_response(store).item_class == "IPM.Schedule.Meeting.Resp.Neg"
    _desk(store, automate_processing="AutoAccept", enforce_scheduling_horizon=False)
    send_meeting(store, ALICE.email, _meeting(DESK, recurrence=endless))
    assert _last_response(store).item_class == "IPM.Schedule.Meeting.Resp.Pos"


def test_cancellation_at_auto_accept_resource_frees_or_removes_the_booking(store: Store) -> None:
    """The room keeps a cancelled, free entry; with RemoveCanceledMeetings it is removed."""
    _desk(store, automate_processing="AutoAccept", remove_canceled_meetings=True)
    meeting = send_meeting(store, ALICE.email, _meeting(ROOM, DESK))
    cancel_meeting(store, meeting.id)
    [room_item] = store.items(ROOM.email, "calendar")
    assert isinstance(room_item, CalendarItem)
    assert (room_item.is_cancelled, room_item.legacy_free_busy_status) == (True, "Free")
    assert store.items(DESK.email, "calendar") == []
    assert store.items(ROOM.email, "inbox") == store.items(DESK.email, "inbox") == []


def test_store_from_tenant_reads_users_resources_and_groups() -> None:
    """from_tenant builds mailboxes from any object shaped like the tenant model."""

    @dataclass
    class Processing:
        automate_processing: str = "None"
        allow_conflicts: bool = True

    @dataclass
    class Resource:
        email: str
        display_name: str
        kind: str = "equipment"
        calendar_processing: Processing = field(default_factory=Processing)
        calendar_default_permission: str = "AvailabilityOnly"

    @dataclass
    class Person:
        email: str
        display_name: str

    @dataclass
    class Group:
        email: str
        display_name: str
        members: tuple[str, ...]

    @dataclass
    class Tenant:
        users: tuple[Person, ...]
        resources: tuple[Resource, ...]
        groups: tuple[Group, ...]

    tenant = Tenant(
        (Person(ALICE.email, ALICE.name),),
        (Resource(VMR.email, VMR.name),),
        (Group("all@contoso.com", "All", (ALICE.email, VMR.email)),),
    )
    store = Store.from_tenant(tenant)
    vmr = store.mailbox(VMR.email.upper())
    assert (vmr.kind, vmr.processing.automate_processing, vmr.processing.allow_conflicts) == (
        "equipment",
        "None",
        True,
    )
    assert store.mailbox(ALICE.email).processing.automate_processing == "AutoUpdate"
    permissions = {p.user: p.level for p in store.folder(VMR.email, "calendar").permissions}
    assert permissions["Default"] == "FreeBusyTimeOnly"


def test_declining_at_an_unprocessed_resource_leaves_no_calendar_item(store: Store) -> None:
    """A None resource that declines keeps nothing on its calendar and answers the organizer."""
    meeting = send_meeting(store, ALICE.email, _meeting(VMR))
    [request] = store.items(VMR.email, "inbox")
    respond(store, request.id, "Decline", body=Body("Text", "No video room for you"))
    assert store.items(VMR.email, "calendar") == []
    assert [type(i).__name__ for i in store.items(VMR.email, "deleteditems")] == ["MeetingRequest"]
    assert _last_response(store).item_class == "IPM.Schedule.Meeting.Resp.Neg"
    organizer = store.get_item(meeting.id)
    assert isinstance(organizer, CalendarItem)
    assert organizer.resources[0].response_type == "Decline"
