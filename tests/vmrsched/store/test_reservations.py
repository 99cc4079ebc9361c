"""Reservations: each one the claim on its alias; a token serves one meeting only."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from store_factories import NOW, reservation

from vmrsched.domain.reservations import ReservationState
from vmrsched.ports.store import (
    AliasSpaceExhaustedError,
    ReservationNotFoundError,
    TokenInUseError,
)


def test_added_reservation_reads_back_equal(store):
    """A stored reservation comes back field for field, times as aware UTC."""
    made = reservation()
    assert store.add_reservation(lambda: made) == made
    loaded = store.get_reservation(made.token_id)
    assert loaded == made
    assert loaded.created.utcoffset() == timedelta(0)


def test_a_claimed_organizer_is_kept_and_survives_use(store):
    """A reservation whose organizer was only claimed reads back claimed, also once it is used."""
    claimed = reservation(organizer="bob@contoso.com", organizer_claimed=True)
    proven = reservation()
    store.add_reservation(lambda: claimed)
    store.add_reservation(lambda: proven)
    assert store.get_reservation(claimed.token_id) == claimed
    assert store.get_reservation(claimed.token_id).organizer_claimed is True
    assert store.get_reservation(proven.token_id).organizer_claimed is False
    used = store.use_reservation(claimed.token_id, "meeting-1")
    assert used.organizer_claimed is True
    assert used.meeting_key == "meeting-1"


def test_unknown_reservation_is_none(store):
    """Asking for a token id nobody reserved gives None."""
    assert store.get_reservation("00000000-0000-0000-0000-00000000dead") is None


def test_taken_alias_makes_the_store_draw_again(store):
    """When the alias is held, the factory is called again until a free one comes."""
    store.add_reservation(lambda: reservation("81000001@vmr", "81000001"))
    drafts = iter(
        [
            reservation("81000001@vmr", "81000002"),  # alias taken
            reservation("81000003@vmr", "81000001"),  # numeric alias taken
            reservation("81000004@vmr", "81000004"),
        ]
    )
    stored = store.add_reservation(lambda: next(drafts))
    assert stored.alias == "81000004@vmr"
    assert store.get_reservation(stored.token_id) == stored


def test_no_free_alias_after_all_attempts_is_an_error(store):
    """A full alias space ends in AliasSpaceExhaustedError, after exactly `attempts` draws."""
    store.add_reservation(lambda: reservation("81000001@vmr", "81000001"))
    calls = 0

    def same_alias():
        nonlocal calls
        calls += 1
        return reservation("81000001@vmr", f"9{calls}")

    with pytest.raises(AliasSpaceExhaustedError):
        store.add_reservation(same_alias, attempts=5)
    assert calls == 5


def test_concurrent_alias_claims_never_produce_duplicates(store):
    """Threads drawing from a small alias space all succeed, each with its own alias."""
    space = 120
    per_thread, threads_count = 10, 8  # 80 claims out of 120 aliases: many collisions
    claimed: list[str] = []
    errors: list[BaseException] = []

    def claim(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(per_thread):

                def draw():
                    n = rng.randrange(space)
                    return reservation(f"81{n:06d}@vmr", f"81{n:06d}")

                claimed.append(store.add_reservation(draw, attempts=500).alias)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(seed,)) for seed in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(claimed) == per_thread * threads_count
    assert len(set(claimed)) == len(claimed)


def test_using_a_reservation_ties_it_to_the_meeting(store):
    """The first meeting to use a token gets it; using it again for that meeting changes nothing."""
    made = store.add_reservation(reservation)
    used = store.use_reservation(made.token_id, "meeting-a")
    assert (used.state, used.meeting_key) == (ReservationState.USED, "meeting-a")
    assert store.use_reservation(made.token_id, "meeting-a") == used


def test_a_token_used_by_another_meeting_is_detected(store):
    """A second meeting presenting the same token is refused, naming the meeting that holds it."""
    made = store.add_reservation(reservation)
    store.use_reservation(made.token_id, "meeting-a")
    with pytest.raises(TokenInUseError) as info:
        store.use_reservation(made.token_id, "meeting-b")
    assert info.value.meeting_key == "meeting-a"
    assert store.get_reservation(made.token_id).meeting_key == "meeting-a"


def test_using_an_unknown_token_is_not_found(store):
    """Using a token id nobody reserved raises ReservationNotFoundError."""
    with pytest.raises(ReservationNotFoundError):
        store.use_reservation("00000000-0000-0000-0000-00000000dead", "meeting-a")


def test_concurrent_uses_of_one_token_have_one_winner(store):
    """Meetings racing for one token: exactly one gets it, the others see TokenInUseError."""
    made = store.add_reservation(reservation)
    winners: list[str] = []
    losers: list[str] = []

    def use(meeting: str) -> None:
        try:
            store.use_reservation(made.token_id, meeting)
            winners.append(meeting)
        except TokenInUseError:
            losers.append(meeting)

    threads = [threading.Thread(target=use, args=(f"meeting-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert len(losers) == 7
    assert store.get_reservation(made.token_id).meeting_key == winners[0]


def test_expired_unused_reservations_are_deleted_and_free_their_alias(store):
    """Cleanup deletes unused reservations past expiry or marked dead; used ones stay."""
    old = store.add_reservation(lambda: reservation("81000001@vmr", expires=NOW))
    dead = store.add_reservation(lambda: reservation(state=ReservationState.DELETED))
    fresh = store.add_reservation(reservation)
    used = store.add_reservation(lambda: reservation(expires=NOW - timedelta(days=1)))
    store.use_reservation(used.token_id, "meeting-a")

    assert store.delete_expired_reservations(NOW) == 2
    assert store.get_reservation(old.token_id) is None
    assert store.get_reservation(dead.token_id) is None
    assert store.get_reservation(fresh.token_id) == fresh
    assert store.get_reservation(used.token_id) is not None
    again = store.add_reservation(lambda: reservation("81000001@vmr"))
    assert again.alias == "81000001@vmr"
