"""A series update and its exceptions, as attendees read them with exchangelib (unmodified).

[MS-OXOCAL] 3.1.4.7.3.5: when the organizer updates a series whose pattern stays the same,
Exchange follows the series' update with an update for each exception still to come and a
cancellation for each deleted occurrence still to come; a change of the pattern drops the
exceptions and sends nothing for them. The resource (``AutomateProcessing None``) keeps every
message in its inbox, so its inbox shows exactly what was sent to it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingCancellation, MeetingRequest
from exchangelib.recurrence import Recurrence, WeeklyPattern
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, VMR

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangelib import Account
    from exchangelib_client import AccountFactory
    from harness import SimServer

BOB = "bob@contoso.com"
BERLIN = EWSTimeZone("Europe/Berlin")
TUESDAY = 2  # exchangelib's ISO weekday numbers
HOUR = timedelta(hours=1)


class AppointmentSequence(ExtendedProperty):  # type: ignore[misc]
    """PidLidAppointmentSequence ([MS-OXOCAL] 2.2.1.1): a cancellation's sequence number."""

    distinguished_property_set_id = "Appointment"
    property_id = 0x8201
    property_type = "Integer"


class AppointmentStartWhole(ExtendedProperty):  # type: ignore[misc]
    """PidLidAppointmentStartWhole (2.2.1.5): the start of what a cancellation cancels."""

    distinguished_property_set_id = "Appointment"
    property_id = 0x820D
    property_type = "SystemTime"


class IsException(ExtendedProperty):  # type: ignore[misc]
    """PidLidIsException (2.2.1.35): the message is about one instance of a series."""

    distinguished_property_set_id = "Meeting"
    property_id = 0x000A
    property_type = "Boolean"


_CANCELLATION_PROPERTIES = {
    "appointment_sequence": AppointmentSequence,
    "start_whole": AppointmentStartWhole,
    "is_exception": IsException,
}


@pytest.fixture(autouse=True)
def cancellation_properties() -> Iterator[None]:
    """exchangelib's MeetingCancellation with the MAPI properties that say what it cancels."""
    for name, prop in _CANCELLATION_PROPERTIES.items():
        MeetingCancellation.register(name, prop)
    yield
    for name in _CANCELLATION_PROPERTIES:
        MeetingCancellation.deregister(name)


@pytest.fixture
def people(fresh_server: SimServer, exchangelib_accounts: AccountFactory) -> dict[str, Account]:
    """exchangelib accounts impersonating Alice, Bob and the VMR resource."""
    return {who: exchangelib_accounts(fresh_server, who) for who in (ALICE, BOB, VMR)}


def _tuesday_nine(weeks_ahead: int = 2) -> EWSDateTime:
    day = date.today() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return EWSDateTime(day.year, day.month, day.day, 9, tzinfo=BERLIN)


def _series(alice: Account, start: EWSDateTime) -> CalendarItem:
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Weekly",
        start=start,
        end=start + HOUR,
        location="Room 1",
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
        resources=[Attendee(mailbox=Mailbox(email_address=VMR), response_type="Unknown")],
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[TUESDAY]), start=start.date(), number=4
        ),
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    return item


def _move(series: CalendarItem, index: int, to: EWSDateTime) -> None:
    occurrence = series.occurrence(index=index)
    occurrence.refresh()
    occurrence.start, occurrence.end = to, to + HOUR
    occurrence.save(
        update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )


def _update(series: CalendarItem, **changes: Any) -> None:
    series.refresh()
    for name, value in changes.items():
        setattr(series, name, value)
    series.save(update_fields=list(changes), send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def _sequence(item: Any) -> int:
    if isinstance(item, MeetingCancellation):
        return int(item.appointment_sequence or 0)
    return int(item.appointment_sequence_number or 0)


def _after_sequence(account: Account, sequence: int) -> list[Any]:
    """The requests and cancellations of ``sequence`` or later in the inbox, oldest first."""
    found = [
        i
        for i in account.inbox.all()
        if isinstance(i, MeetingRequest | MeetingCancellation) and _sequence(i) >= sequence
    ]
    return sorted(found, key=lambda i: (i.datetime_received, _sequence(i)))


def test_a_series_update_is_followed_by_its_moved_occurrence(people: dict[str, Account]) -> None:
    """A new location for the series: the resource then gets the moved Tuesday's own update,
    RecurrenceId its original start, at its moved time, with the new location too."""
    alice, vmr = people[ALICE], people[VMR]
    start = _tuesday_nine()
    series = _series(alice, start)
    moved_to = start + timedelta(weeks=1, days=1, hours=2)
    _move(series, 2, moved_to)
    _update(series, location="Room 2")
    series.refresh()
    sequence = series.appointment_sequence_number
    update, exception = _after_sequence(vmr, sequence)
    assert isinstance(update, MeetingRequest)
    assert (update.type, update.location) == ("RecurringMaster", "Room 2")
    assert update.meeting_request_type == "InformationalUpdate"
    assert isinstance(exception, MeetingRequest)
    # exchangelib reads no RecurrenceId on a MeetingRequest: an exception's request says
    # Type Exception and its OriginalStart.
    assert (exception.type, exception.recurrence) == ("Exception", None)
    assert exception.original_start == start + timedelta(weeks=1)
    assert (exception.start, exception.end) == (moved_to, moved_to + HOUR)
    assert exception.location == "Room 2"
    assert exception.appointment_sequence_number == sequence
    # Bob's Calendar Attendant applied both: his series keeps the moved Tuesday.
    bob_series = next(i for i in people[BOB].calendar.all() if i.type == "RecurringMaster")
    assert [o.start for o in bob_series.modified_occurrences or []] == [moved_to]


def test_a_series_update_repeats_the_cancellation_of_a_deleted_occurrence(
    people: dict[str, Account],
) -> None:
    """After the third Tuesday was cancelled, a series update is followed by its cancellation."""
    alice, vmr = people[ALICE], people[VMR]
    start = _tuesday_nine()
    series = _series(alice, start)
    series.occurrence(index=3).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    _update(series, location="Room 2")
    series.refresh()
    update, cancelled = _after_sequence(vmr, series.appointment_sequence_number)
    assert isinstance(update, MeetingRequest)
    assert isinstance(cancelled, MeetingCancellation)
    assert cancelled.is_exception is True
    assert cancelled.start_whole == start + timedelta(weeks=2)
    assert cancelled.subject == "Canceled: Weekly"


def test_a_new_pattern_drops_the_exceptions_and_sends_nothing_for_them(
    people: dict[str, Account],
) -> None:
    """The series moved to 10:00: one full update, no message about the old moved Tuesday."""
    alice, vmr = people[ALICE], people[VMR]
    start = _tuesday_nine()
    series = _series(alice, start)
    _move(series, 2, start + timedelta(weeks=1, hours=3))
    _update(series, start=start + HOUR, end=start + 2 * HOUR)
    series.refresh()
    assert series.modified_occurrences is None
    [update] = _after_sequence(vmr, series.appointment_sequence_number)
    assert update.meeting_request_type == "FullUpdate"


def test_an_exception_that_already_started_gets_no_update(people: dict[str, Account]) -> None:
    """An occurrence moved to yesterday is over: the series update is not followed by it."""
    alice, vmr = people[ALICE], people[VMR]
    start = _tuesday_nine()
    series = _series(alice, start)
    yesterday = EWSDateTime.now(BERLIN).replace(microsecond=0) - timedelta(days=1)
    _move(series, 1, yesterday)
    _update(series, location="Room 2")
    series.refresh()
    [update] = _after_sequence(vmr, series.appointment_sequence_number)
    assert update.type == "RecurringMaster"
