"""Claimed organizers end to end: a token reserved for a claimed organizer serves only them.

The add-in's sign-in with an Exchange identity token proves a user of the organization but not
an address, so it reserves with ``organizer_claimed=True``. Bob using a token claimed for Alice
is declined; Alice using it is accepted; Carol, Alice's delegate, may use one claimed for her in
the meeting she sends for Alice, and Alice's own later update of that meeting keeps its VMR.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from flows_support import outcomes, responses_in
from series_support import settle
from test_end_to_end import ALICE, BOB, LiveService
from test_forwards_and_delegates_end_to_end import (  # the tenant with Carol as Alice's delegate
    CAROL,
    _as_delegate,
    _delegate_sends,
    server,  # noqa: F401 - the fixture, by name
)

from vmrsched.domain.meetings import MeetingRef
from vmrsched.service.reserve import reserve

pytestmark = pytest.mark.slow


def claimed_body(live: LiveService, organizer: str) -> tuple[str, str]:
    """Instructions for a reservation whose organizer was only claimed, and its token id."""
    offer = reserve(
        live.store,
        live.components.rules,
        live.components.clock,
        organizer,
        organizer_claimed=True,
    )
    assert live.store.get_reservation(offer.reservation.token_id) == offer.reservation
    assert offer.reservation.organizer_claimed
    return f"<p>Agenda</p>{offer.instructions.html}", offer.reservation.token_id


def test_a_token_claimed_for_alice_serves_alice_and_not_bob(live: LiveService) -> None:
    """Bob's meeting with Alice's claimed token is declined; Alice's own meeting then takes it."""
    body, token_id = claimed_body(live, ALICE)
    bobs = live.send(BOB, "Borrowed token", body)
    live.wait_for_replies(1)
    assert live.outcome(BOB, bobs) == "reject_invalid_alias_id"
    assert live.responses(BOB, "Borrowed token") == ["Declined"]
    assert live.store.booking_for_meeting(MeetingRef(BOB, bobs.uid).meeting_key) is None

    alices = live.send(ALICE, "Own token", body)
    live.wait_for_replies(2)
    assert live.outcome(ALICE, alices) == "accept_new_single_meeting"
    assert live.responses(ALICE, "Own token") == ["Accepted"]
    booking = live.store.booking_for_meeting(MeetingRef(ALICE, alices.uid).meeting_key)
    assert booking is not None
    assert booking.token_id == token_id


def test_a_delegates_claimed_token_books_and_the_organizers_update_keeps_it(
    live: LiveService,
) -> None:
    """Carol sends for Alice with a token claimed for Carol (the Sender): accepted. Alice then
    moves the meeting herself (Sender Alice): accepted as edited, the same VMR kept."""
    body, token_id = claimed_body(live, CAROL)
    delegate = _as_delegate(live, CAROL, ALICE)
    item = _delegate_sends(live, delegate, "Carol books", body)
    live.wait_for_replies(1)
    key = MeetingRef(ALICE, item.uid).meeting_key
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting"]
    booked = live.store.booking_for_meeting(key)
    assert booked is not None
    assert booked.token_id == token_id

    mine = live.account(ALICE).calendar.get(id=item.id)
    mine.start += timedelta(days=1)
    mine.end += timedelta(days=1)
    mine.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    live.wait_for_replies(2)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 2)
    assert outcomes(live, ALICE, item.uid) == [
        "accept_new_single_meeting",
        "accept_edited_single_meeting",
    ]
    moved = live.store.booking_for_meeting(key)
    assert moved is not None
    assert moved.is_active
    assert moved.token_id == token_id
    assert moved.windows[0].start == booked.windows[0].start + timedelta(days=1)
    assert live.responses(ALICE, "Carol books") == ["Accepted", "Accepted"]
    assert responses_in(live, CAROL, "Carol books") == []
