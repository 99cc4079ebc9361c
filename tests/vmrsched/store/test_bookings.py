"""Bookings: one per meeting, one window per occurrence, found by alias and time for the policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from store_factories import NOW, booking, reservation, window

from vmrsched.domain.bookings import BookingState
from vmrsched.domain.reservations import ReservationState
from vmrsched.ports.store import (
    BookingExistsError,
    ConflictError,
    ReservationNotFoundError,
    TokenInUseError,
)


def test_saved_booking_reads_back_with_its_windows(store):
    """A booking with several windows comes back equal, by id and by meeting."""
    res = store.add_reservation(reservation)
    made = booking(res, "m1", window("20261123", 10), window("20261124", 10, day=1))
    store.save_booking(made)
    assert store.get_booking(made.booking_id) == made
    assert store.booking_for_meeting("m1") == made


def test_missing_booking_is_none(store):
    """Unknown ids and meetings give None."""
    assert store.get_booking("nope") is None
    assert store.booking_for_meeting("nope") is None


def test_saving_a_booking_marks_its_reservation_used(store):
    """Booking a meeting on a reservation ties the reservation to that meeting."""
    res = store.add_reservation(reservation)
    store.save_booking(booking(res, "m1"))
    stored = store.get_reservation(res.token_id)
    assert (stored.state, stored.meeting_key) == (ReservationState.USED, "m1")


def test_replanning_replaces_all_windows(store):
    """Saving the booking again leaves exactly the new windows: moved, added and removed."""
    res = store.add_reservation(reservation)
    first = booking(res, "m1", window("a", 10), window("b", 11), window("c", 12))
    store.save_booking(first)
    replanned = replace(
        first,
        windows=(window("a", 14), window("d", 15)),
        sequence_seen=2,
        updated=NOW + timedelta(minutes=5),
    )
    store.save_booking(replanned)
    assert store.get_booking(first.booking_id) == replanned


def test_a_failed_replan_changes_nothing(store):
    """A re-plan that breaks a rule (token of another meeting) leaves the old booking whole."""
    res = store.add_reservation(reservation)
    other = store.add_reservation(reservation)
    store.use_reservation(other.token_id, "m2")
    first = booking(res, "m1", window("a", 10))
    store.save_booking(first)
    bad = replace(
        first,
        token_id=other.token_id,
        alias=other.alias,
        numeric_alias=other.numeric_alias,
        windows=(window("b", 12),),
    )
    with pytest.raises(TokenInUseError):
        store.save_booking(bad)
    assert store.get_booking(first.booking_id) == first


def test_booking_on_a_token_of_another_meeting_is_refused(store):
    """A booking cannot take a reservation that another meeting uses."""
    res = store.add_reservation(reservation)
    store.use_reservation(res.token_id, "m-other")
    with pytest.raises(TokenInUseError):
        store.save_booking(booking(res, "m1"))
    assert store.booking_for_meeting("m1") is None


def test_booking_without_reservation_is_refused(store):
    """A booking must rest on a stored reservation (it holds the alias)."""
    with pytest.raises(ReservationNotFoundError):
        store.save_booking(booking(reservation(), "m1"))


def test_booking_must_carry_its_reservations_alias(store):
    """A booking naming an alias that is not its reservation's is refused."""
    res = store.add_reservation(reservation)
    with pytest.raises(ConflictError):
        store.save_booking(replace(booking(res, "m1"), alias="someone-elses@vmr"))


def test_one_booking_per_meeting(store):
    """A second booking id for a meeting that has one is refused, naming the first."""
    res = store.add_reservation(reservation)
    store.save_booking(booking(res, "m1", booking_id="b1"))
    with pytest.raises(BookingExistsError) as info:
        store.save_booking(booking(res, "m1", booking_id="b2"))
    assert info.value.booking_id == "b1"


def test_released_booking_can_be_booked_again(store):
    """Release keeps the row; booking the meeting again reactivates it with new windows."""
    res = store.add_reservation(reservation)
    active = booking(res, "m1", window("a", 10))
    store.save_booking(active)
    released = replace(active, state=BookingState.RELEASED, windows=())
    store.save_booking(released)
    assert store.get_booking(active.booking_id) == released
    again = replace(active, windows=(window("b", 16),), sequence_seen=3)
    store.save_booking(again)
    assert store.booking_for_meeting("m1") == again


def test_live_booking_is_found_by_alias_inside_its_window(store):
    """The policy lookup finds the booking by alias or numeric alias, start in, end out."""
    res = store.add_reservation(reservation)
    made = booking(res, "m1", window("a", 10), window("b", 10, day=7))
    store.save_booking(made)
    start = made.windows[0].start
    assert store.live_booking_for_alias(res.alias, start) == made
    assert store.live_booking_for_alias(res.numeric_alias, start + timedelta(minutes=30)) == made
    assert store.live_booking_for_alias(res.alias, made.windows[1].start) == made
    assert store.live_booking_for_alias(res.alias, made.windows[0].end) is None
    assert store.live_booking_for_alias(res.alias, start - timedelta(seconds=1)) is None
    assert store.live_booking_for_alias("81999999@vmr", start) is None


def test_live_lookup_accepts_any_utc_offset(store):
    """The instant asked about may carry any offset; the answer depends on the instant only."""
    res = store.add_reservation(reservation)
    made = booking(res, "m1", window("a", 10))
    store.save_booking(made)
    local = made.windows[0].start.astimezone(ZoneInfo("Pacific/Auckland"))
    assert store.live_booking_for_alias(res.alias, local) == made


def test_released_booking_is_not_live(store):
    """A released booking is not found by the policy lookup, even inside an old window."""
    res = store.add_reservation(reservation)
    made = booking(res, "m1", window("a", 10))
    store.save_booking(made)
    store.save_booking(replace(made, state=BookingState.RELEASED))
    assert store.live_booking_for_alias(res.alias, made.windows[0].start) is None
