"""Meeting messages and keys: one stable key per meeting, aware datetimes only."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime, timedelta

import pytest
from domain_builders import NOW, UID, Builders

from vmrsched.domain import actions, bookings, meetings, recurrence, reservations
from vmrsched.domain.bookings import SINGLE, Window, same_windows, window
from vmrsched.domain.meetings import MeetingRef, MessageKind, organizer_domain


def test_meeting_key_is_stable_and_ignores_organizer_case() -> None:
    """The same organizer and UID always give the same key, whatever the address's case."""
    key = MeetingRef("alice@contoso.com", UID).meeting_key
    assert key == MeetingRef(" Alice@Contoso.COM ", UID).meeting_key
    assert len(key) == 32


def test_another_organizer_reusing_a_uid_is_another_meeting() -> None:
    """A UID reused by someone else does not reach the first organizer's booking."""
    assert (
        MeetingRef("alice@contoso.com", UID).meeting_key != MeetingRef("eve@x.com", UID).meeting_key
    )


def test_forwards_and_delegates_keep_the_meeting_key(build: Builders) -> None:
    """The sender does not take part in the key."""
    assert build.message(sender_email="bob@contoso.com").meeting_key == build.message().meeting_key


def test_naive_datetimes_are_refused(build: Builders) -> None:
    """A naive datetime is a bug, caught when the message is built."""
    with pytest.raises(ValueError, match="timezone-aware"):
        build.message(start=datetime(2026, 11, 23, 9))


def test_a_meeting_message_needs_its_times(build: Builders) -> None:
    """Requests and cancellations carry start and end; only OTHER messages may lack them."""
    with pytest.raises(ValueError, match="start and end"):
        build.message(kind=MessageKind.UPDATE, start=None)
    with pytest.raises(ValueError, match="end before"):
        build.message(end=NOW)


def test_windows_are_compared_by_instant() -> None:
    """Windows equal in UTC are the same, whatever offset they were written with."""
    plus_one = datetime.fromisoformat("2026-11-23T10:00:00+01:00")
    one = window(
        SINGLE, plus_one, plus_one + timedelta(hours=1), before=timedelta(0), after=timedelta(0)
    )
    other = Window(SINGLE, NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert same_windows([one], [other])
    with pytest.raises(ValueError, match="empty window"):
        Window(SINGLE, NOW, NOW)


def test_organizer_domain() -> None:
    """The domain of an address, case-folded."""
    assert organizer_domain("Alice@Contoso.COM") == "contoso.com"
    assert organizer_domain("nobody") == ""


def test_domain_types_are_plain_dataclasses_with_resolvable_fields() -> None:
    """Every stored domain type is a frozen dataclass whose field types resolve at run time."""
    stored = [
        meetings.MeetingMessage,
        bookings.Window,
        bookings.Booking,
        reservations.Reservation,
        recurrence.Recurrence,
        actions.Decision,
        *typing.get_args(actions.Action),
    ]
    for cls in stored:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert typing.get_type_hints(cls), cls
