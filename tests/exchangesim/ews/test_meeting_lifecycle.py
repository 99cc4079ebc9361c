"""Meetings from send to cancel, driven and read back by exchangelib (unmodified) as each user's own
client: after every step each mailbox (Inbox, Calendar, Sent Items, Deleted Items) holds what
Exchange would leave there.

Alice organizes; Bob is a user (Calendar Attendant on, ``AutoUpdate``); ``vmr@contoso.com`` is the
vmrsched resource with ``AutomateProcessing None``: requests wait in its inbox, nothing reaches
its calendar until it answers (KB 2212449, `store.attendant`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Mailbox
from exchangelib.errors import ErrorIrresolvableConflict
from exchangelib.items import (
    SEND_TO_ALL_AND_SAVE_COPY,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
)
from exchangelib.recurrence import Recurrence, WeeklyPattern
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, VMR

if TYPE_CHECKING:
    from exchangelib import Account
    from exchangelib_client import AccountFactory
    from harness import SimServer

BOB = "bob@contoso.com"
CAROL = "carol@contoso.com"
BERLIN = EWSTimeZone("Europe/Berlin")
TUESDAY = 2  # exchangelib's ISO weekday numbers


@pytest.fixture
def people(fresh_server: SimServer, exchangelib_accounts: AccountFactory) -> dict[str, Account]:
    """exchangelib accounts impersonating Alice, Bob, Carol and the VMR resource."""
    return {who: exchangelib_accounts(fresh_server, who) for who in (ALICE, BOB, CAROL, VMR)}


def next_tuesday_nine() -> EWSDateTime:
    """09:00 Berlin time on a Tuesday two to three weeks ahead (the store's clock is real)."""
    day = date.today() + timedelta(days=14)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return EWSDateTime(day.year, day.month, day.day, 9, tzinfo=BERLIN)


def folders(account: Account) -> dict[str, list[tuple[str, str]]]:
    """(class, subject) of every item in the four folders a user sees, sorted."""
    return {
        name: sorted((type(i).__name__, i.subject) for i in folder.all())
        for name, folder in (
            ("inbox", account.inbox),
            ("calendar", account.calendar),
            ("sent", account.sent),
            ("deleted", account.trash),
        )
    }


def only(items: Any) -> Any:
    """The one item of a query."""
    [item] = list(items)
    return item


def responses(item: CalendarItem) -> dict[str, str]:
    """The organizer's view of each attendee's answer."""
    people = (
        (item.required_attendees or []) + (item.optional_attendees or []) + (item.resources or [])
    )
    return {a.mailbox.email_address: a.response_type for a in people}


def requests(account: Account) -> list[MeetingRequest]:
    """The meeting requests in the inbox, oldest version first."""
    found = [i for i in account.inbox.all() if isinstance(i, MeetingRequest)]
    return sorted(found, key=lambda r: r.appointment_sequence_number)


def send_weekly(alice: Account, start: EWSDateTime, subject: str = "Weekly") -> CalendarItem:
    """Alice invites Bob and the VMR resource to four weekly Tuesdays."""
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject=subject,
        body=HTMLBody("<p>Join: PXPS:-abc#</p>"),
        start=start,
        end=start + timedelta(hours=1),
        location="Room 1",
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
        resources=[Attendee(mailbox=Mailbox(email_address=VMR), response_type="Unknown")],
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[TUESDAY]), start=start.date(), number=4
        ),
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def test_a_weekly_series_from_invitation_to_cancellation(people: dict[str, Account]) -> None:
    """Send, Bob accepts, the resource accepts its waiting request, one occurrence moves, one is
    cancelled, the series is cancelled: every mailbox ends as Exchange leaves it."""
    alice, bob, vmr = people[ALICE], people[BOB], people[VMR]
    start = next_tuesday_nine()

    # 1. Alice sends the series.
    sent = send_weekly(alice, start)
    master = alice.calendar.get(id=sent.id)
    assert (master.type, master.is_meeting, master.meeting_request_was_sent) == (
        "RecurringMaster",
        True,
        True,
    )
    assert (master.my_response_type, master.appointment_sequence_number) == ("Organizer", 0)
    assert (master.start, master._start_timezone) == (start, BERLIN)
    assert folders(alice) == {
        "inbox": [],
        "calendar": [("CalendarItem", "Weekly")],
        "sent": [("MeetingRequest", "Weekly")],
        "deleted": [],
    }
    bob_request = only(bob.inbox.all())
    assert isinstance(bob_request, MeetingRequest)
    assert (bob_request.meeting_request_type, bob_request.appointment_sequence_number) == (
        "NewMeetingRequest",
        0,
    )
    assert bob_request.author.email_address == ALICE
    bob_series = only(bob.calendar.all())
    assert (bob_series.type, bob_series.my_response_type, bob_series.legacy_free_busy_status) == (
        "RecurringMaster",
        "NoResponseReceived",
        "Tentative",
    )
    # AutomateProcessing None: the resource sees the request and no calendar item.
    vmr_request = only(vmr.inbox.filter(item_class="IPM.Schedule.Meeting.Request"))
    assert isinstance(vmr_request, MeetingRequest)
    assert not vmr_request.has_been_processed
    assert list(vmr.calendar.all()) == []

    # 2. Bob accepts; 3. the resource accepts its request.
    bob_request.accept()
    vmr_request.accept()
    assert folders(bob) == {
        "inbox": [],
        "calendar": [("CalendarItem", "Weekly")],
        "sent": [("MeetingResponse", "Accepted: Weekly")],
        "deleted": [("MeetingRequest", "Weekly")],
    }
    assert folders(vmr) == folders(bob)
    for attendee in (bob, vmr):
        booked = only(attendee.calendar.all())
        assert (booked.my_response_type, booked.legacy_free_busy_status) == ("Accept", "Busy")
    assert folders(alice)["inbox"] == [("MeetingResponse", "Accepted: Weekly")] * 2
    assert all(isinstance(r, MeetingResponse) for r in alice.inbox.all())
    master.refresh()
    assert responses(master) == {BOB: "Accept", VMR: "Accept"}

    # 4. Alice moves the second occurrence an hour later.
    second = master.occurrence(2)
    second.refresh()
    assert (second.type, second.start) == ("Occurrence", start + timedelta(days=7))
    second.start += timedelta(hours=1)
    second.end += timedelta(hours=1)
    second.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    master.refresh()
    [moved] = master.modified_occurrences
    assert (moved.original_start, moved.start) == (
        start + timedelta(days=7),
        start + timedelta(days=7, hours=1),
    )
    update = only(r for r in alice.sent.all() if r.meeting_request_type == "FullUpdate")
    assert (update.type, update.appointment_sequence_number) == ("Exception", 1)
    for attendee in (bob, vmr):
        [bob_update] = requests(attendee)
        assert (bob_update.meeting_request_type, bob_update.type) == ("FullUpdate", "Exception")
        assert bob_update.start == start + timedelta(days=7, hours=1)
    bob_series = only(bob.calendar.all())
    assert [o.start for o in bob_series.modified_occurrences] == [moved.start]
    assert bob_series.my_response_type == "Accept"
    bob_exception = bob_series.occurrence(2)
    bob_exception.refresh()
    assert (bob_exception.type, bob_exception.my_response_type) == (
        "Exception",
        "NoResponseReceived",
    )
    # The resource has no Calendar Attendant: its series stays as it accepted it.
    assert only(vmr.calendar.all()).modified_occurrences is None

    # 5. Alice cancels the third occurrence.
    third = master.occurrence(3)
    third.refresh()
    third.cancel()
    master.refresh()
    assert [d.start for d in master.deleted_occurrences] == [start + timedelta(days=14)]
    assert folders(alice)["sent"] == [
        ("MeetingCancellation", "Canceled: Weekly"),
        ("MeetingRequest", "Weekly"),
        ("MeetingRequest", "Weekly"),
    ]
    for attendee in (bob, vmr):
        assert folders(attendee)["inbox"] == [
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingRequest", "Weekly"),
        ]
    bob_third = only(bob.calendar.all()).occurrence(3)
    bob_third.refresh()
    assert (bob_third.is_cancelled, bob_third.subject, bob_third.legacy_free_busy_status) == (
        True,
        "Canceled: Weekly",
        "Free",
    )

    # 6. Alice cancels the series.
    master.cancel()
    assert folders(alice) == {
        "inbox": [("MeetingResponse", "Accepted: Weekly")] * 2,
        "calendar": [],
        "sent": [
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingRequest", "Weekly"),
            ("MeetingRequest", "Weekly"),
        ],
        "deleted": [("CalendarItem", "Weekly")],
    }
    assert only(alice.trash.all()).appointment_sequence_number == 3
    assert folders(bob) == {
        "inbox": [
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingCancellation", "Canceled: Weekly"),
            ("MeetingRequest", "Weekly"),
        ],
        "calendar": [("CalendarItem", "Canceled: Weekly")],
        "sent": [("MeetingResponse", "Accepted: Weekly")],
        "deleted": [("MeetingRequest", "Weekly")],
    }
    bob_series = only(bob.calendar.all())
    assert (bob_series.is_cancelled, bob_series.appointment_sequence_number) == (True, 3)
    assert only(requests(bob)).is_out_of_date
    assert all(isinstance(i, MeetingRequest | MeetingCancellation) for i in bob.inbox.all())
    # Nothing processes the resource's mail: the cancellations wait and its booking stands.
    assert folders(vmr)["inbox"] == folders(bob)["inbox"]
    assert not any(
        c.has_been_processed for c in vmr.inbox.filter(item_class="IPM.Schedule.Meeting.Canceled")
    )
    assert folders(vmr)["calendar"] == [("CalendarItem", "Weekly")]


def test_a_single_meeting_is_sent_moved_and_cancelled(people: dict[str, Account]) -> None:
    """A time change is a FullUpdate that resets Bob's answer; cancelling marks his copy."""
    alice, bob = people[ALICE], people[BOB]
    start = next_tuesday_nine()
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Sync",
        start=start,
        end=start + timedelta(minutes=30),
        required_attendees=[BOB],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    only(bob.inbox.all()).accept()
    item.refresh()
    assert responses(item) == {BOB: "Accept"}

    item.start += timedelta(hours=2)
    item.end += timedelta(hours=2)
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    assert (item.appointment_sequence_number, responses(item)) == (1, {BOB: "Unknown"})
    update = only(bob.inbox.all())
    assert (update.meeting_request_type, update.start) == ("FullUpdate", start + timedelta(hours=2))
    bobs = only(bob.calendar.all())
    assert (bobs.start, bobs.my_response_type, bobs.legacy_free_busy_status) == (
        start + timedelta(hours=2),
        "NoResponseReceived",
        "Tentative",
    )

    item.cancel()
    assert folders(alice)["calendar"] == []
    assert folders(alice)["deleted"] == [("CalendarItem", "Sync")]
    assert folders(bob)["inbox"] == [
        ("MeetingCancellation", "Canceled: Sync"),
        ("MeetingRequest", "Sync"),
    ]
    bobs = only(bob.calendar.all())
    assert (bobs.is_cancelled, bobs.subject) == (True, "Canceled: Sync")


def test_a_body_only_update_is_informational(people: dict[str, Account]) -> None:
    """New body text: an InformationalUpdate with a new sequence; Bob's acceptance stands."""
    alice, bob = people[ALICE], people[BOB]
    sent = send_weekly(alice, next_tuesday_nine(), "Planning")
    only(requests(bob)).accept()
    master = alice.calendar.get(id=sent.id)
    master.body = HTMLBody("<p>Join: PXPS:-abc# (new dial-in)</p>")
    master.save(update_fields=["body"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    master.refresh()
    assert (master.appointment_sequence_number, responses(master)[BOB]) == (1, "Accept")
    update = only(requests(bob))
    assert (update.meeting_request_type, update.appointment_sequence_number) == (
        "InformationalUpdate",
        1,
    )
    bobs = only(bob.calendar.all())
    assert (bobs.my_response_type, bobs.legacy_free_busy_status) == ("Accept", "Busy")
    assert "new dial-in" in bobs.body


def test_a_stale_change_key_is_a_conflict_until_the_item_is_read_again(
    people: dict[str, Account],
) -> None:
    """Bob's answer changes Alice's item; saving her old copy fails with ErrorIrresolvableConflict
    (exchangelib's default AutoResolve), a refreshed copy saves."""
    alice, bob = people[ALICE], people[BOB]
    sent = send_weekly(alice, next_tuesday_nine(), "Review")
    mine = alice.calendar.get(id=sent.id)
    only(requests(bob)).accept()
    mine.location = "Room 2"
    with pytest.raises(ErrorIrresolvableConflict):
        mine.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    mine.refresh()
    mine.location = "Room 2"
    mine.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert alice.calendar.get(id=sent.id).location == "Room 2"
    assert only(bob.calendar.all()).location == "Room 2"


def test_declining_removes_the_meeting_and_tells_the_organizer(people: dict[str, Account]) -> None:
    """Bob declines: his calendar is empty, the request is in Deleted Items, Alice records it."""
    alice, bob = people[ALICE], people[BOB]
    sent = send_weekly(alice, next_tuesday_nine(), "Optional")
    only(requests(bob)).decline(body=HTMLBody("<p>Sorry</p>"))
    assert folders(bob)["calendar"] == []
    assert ("MeetingRequest", "Optional") in folders(bob)["deleted"]
    assert folders(bob)["sent"] == [("MeetingResponse", "Declined: Optional")]
    answer = only(alice.inbox.all())
    assert (answer.subject, answer.item_class) == (
        "Declined: Optional",
        "IPM.Schedule.Meeting.Resp.Neg",
    )
    assert responses(alice.calendar.get(id=sent.id))[BOB] == "Decline"


def test_a_forwarded_request_reaches_carol_and_notifies_the_organizer(
    people: dict[str, Account],
) -> None:
    """Bob forwards the request to Carol: she gets Alice's meeting (From Alice), Alice gets a
    Meeting Forward Notification and Carol as optional attendee, whose answer she records."""
    alice, bob, carol = people[ALICE], people[BOB], people[CAROL]
    sent = send_weekly(alice, next_tuesday_nine(), "Kickoff")
    only(requests(bob)).forward(subject="FW: Kickoff", body="Join us", to_recipients=[CAROL])
    forwarded = only(carol.inbox.all())
    assert isinstance(forwarded, MeetingRequest)
    assert (forwarded.subject, forwarded.author.email_address, forwarded.sender.email_address) == (
        "FW: Kickoff",
        ALICE,
        BOB,
    )
    assert forwarded.body.startswith("Join us")
    assert folders(bob)["sent"] == [("MeetingRequest", "FW: Kickoff")]
    note = only(alice.inbox.all())
    assert isinstance(note, MeetingMessage)
    assert (note.item_class, note.subject) == (
        "IPM.Schedule.Meeting.Notification.Forward",
        "Meeting Forward Notification: Kickoff",
    )
    master = alice.calendar.get(id=sent.id)
    assert [a.mailbox.email_address for a in master.optional_attendees] == [CAROL]
    forwarded.accept()
    assert responses(alice.calendar.get(id=sent.id))[CAROL] == "Accept"
    assert only(carol.calendar.all()).my_response_type == "Accept"


def test_a_series_update_carries_the_deleted_occurrences(people: dict[str, Account]) -> None:
    """After one occurrence was cancelled, the series' next request still lists it as deleted
    (MeetingRequestMessageType's DeletedOccurrences), so an attendee that only reads requests
    (the resource, with AutomateProcessing None) does not bring it back."""
    alice, vmr = people[ALICE], people[VMR]
    start = next_tuesday_nine()
    series = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Weekly with a gap",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=VMR), response_type="Unknown")],
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[TUESDAY]), start=start.date(), number=4
        ),
    )
    series.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    series.refresh()
    series.occurrence(index=2).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    series.refresh()
    series.location = "Room 2"
    series.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    newest = max(
        (r for r in vmr.inbox.filter(item_class="IPM.Schedule.Meeting.Request")),
        key=lambda r: r.appointment_sequence_number or 0,
    )
    assert newest.location == "Room 2"
    assert [d.start for d in newest.deleted_occurrences or []] == [start + timedelta(weeks=1)]
