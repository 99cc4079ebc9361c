"""Listing and naming meetings for people (``vmrsched meetings``): the recent meetings with their
decisions and bookings, a booking by its alias at any time, and meetings by key prefix or
correlation id."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

from store_factories import NOW, booking, decline, message, reservation

from vmrsched.domain.actions import Outcome
from vmrsched.domain.bookings import BookingState

if TYPE_CHECKING:
    from vmrsched.adapters.db import SqlStore


def decide(store: SqlStore, key: str, meeting_key: str | None, minutes: int, **changes: object):
    """Record a decline on message ``key`` of ``meeting_key``, ``minutes`` after NOW."""
    decision = dataclasses.replace(decline(key), meeting_key=meeting_key, **changes)
    return store.record_decision(
        message(key, meeting_key), decision, [], now=NOW + timedelta(minutes=minutes)
    )


def test_no_meeting_yet_lists_nothing(store: SqlStore) -> None:
    """An empty store lists no meeting."""
    assert store.recent_meetings() == []


def test_recent_meetings_come_newest_first_with_every_decision_in_order(store: SqlStore) -> None:
    """Meetings are ordered by their newest message; each carries its decisions oldest first,
    their correlation ids and the time of the newest."""
    decide(store, "k1", "older", 1, reason="first")
    decide(store, "k2", "newer", 2)
    decide(store, "k3", "older", 3, reason="second", outcome=Outcome.CANCELLED)
    decide(store, "k4", None, 4)  # a message of no meeting is not listed

    older, newer = store.recent_meetings()

    assert (older.meeting_key, newer.meeting_key) == ("older", "newer")
    assert [d.reason for d in older.decisions] == ["first", "second"]
    assert older.last.outcome is Outcome.CANCELLED
    assert older.correlation_ids == ("c-k1", "c-k3")
    assert older.last_at == NOW + timedelta(minutes=3)
    assert older.booking is None


def test_recent_meetings_stop_at_the_limit(store: SqlStore) -> None:
    """``limit`` keeps only the newest meetings."""
    for n in range(5):
        decide(store, f"k{n}", f"m{n}", n)
    assert [s.meeting_key for s in store.recent_meetings(limit=2)] == ["m4", "m3"]


def test_a_listed_meeting_carries_its_booking_in_any_state(store: SqlStore) -> None:
    """The booking comes with its windows, released ones too."""
    res = store.add_reservation(reservation)
    store.save_booking(booking(res, "m1", state=BookingState.RELEASED))
    decide(store, "k1", "m1", 1)
    (summary,) = store.recent_meetings()
    assert summary.booking is not None
    assert summary.booking.state is BookingState.RELEASED
    assert summary.booking.alias == res.alias
    assert len(summary.booking.windows) == 1


def test_a_booking_is_found_by_alias_or_numeric_alias_at_any_time(store: SqlStore) -> None:
    """Alias (any case) or numeric alias name the booking, whatever its state or windows."""
    res = store.add_reservation(reservation)
    store.save_booking(booking(res, "m1", state=BookingState.RELEASED))
    for name in (res.alias, res.alias.upper(), res.numeric_alias):
        found = store.booking_for_alias(name)
        assert found is not None
        assert found.meeting_key == "m1"
    assert store.booking_for_alias("nobody@vmr.contoso.com") is None


def test_meetings_are_found_by_key_prefix_and_by_correlation_id(store: SqlStore) -> None:
    """A prefix names every meeting whose key starts with it (sorted, up to the limit); a
    correlation id names the meeting of its message; wildcards in a prefix are literal."""
    decide(store, "k1", "abc-1", 1)
    decide(store, "k2", "abc-2", 2)
    decide(store, "k3", "abd-1", 3)
    assert store.find_meetings(key_prefix="abc") == ["abc-1", "abc-2"]
    assert store.find_meetings(key_prefix="ab", limit=2) == ["abc-1", "abc-2"]
    assert store.find_meetings(key_prefix="ab%") == []
    assert store.find_meetings(key_prefix="a_c") == []
    assert store.find_meetings(correlation_id="c-k3") == ["abd-1"]
    assert store.find_meetings(correlation_id="c-none") == []
