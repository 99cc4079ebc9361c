"""Batches: many store calls, one transaction (one commit), each call still all or nothing."""

from __future__ import annotations

import pytest
from store_factories import NOW, decline, effect, message, reservation

from vmrsched.adapters.db.client import SqlStore
from vmrsched.adapters.db.engine import is_memory
from vmrsched.ports.store import AliasTakenError


class LeaveError(Exception):
    """Raised by a test to leave a batch early."""


def test_reads_in_a_batch_see_its_writes_and_the_end_commits_them(store):
    """A decision recorded in a batch is found in it, and stays after the batch ends."""
    with store.batch():
        first = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
        again = store.get_decision("k1")
        assert again is not None
        assert again.effects == first.effects
    assert store.get_decision("k1") is not None
    assert [e.idempotency_key for e in store.pending_effects(NOW)] == ["e1"]


def test_a_batch_that_raises_records_nothing(store):
    """Leaving the block with an exception rolls back every call made in it."""

    def record_two_then_fail() -> None:
        with store.batch():
            store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
            store.record_decision(message("k2"), decline("msg-2"), [effect("e2")], now=NOW)
            raise LeaveError

    with pytest.raises(LeaveError):
        record_two_then_fail()
    assert store.get_decision("k1") is None
    assert store.get_decision("k2") is None
    assert store.pending_effects(NOW) == []


def test_a_refused_call_in_a_batch_undoes_only_itself(store):
    """A conflict (an alias already held) rolls back that decision; the others are kept."""
    held = reservation()
    clash = reservation(alias=held.alias)
    with store.batch():
        store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW, reservation=held)
        with pytest.raises(AliasTakenError):
            store.record_decision(
                message("k2"), decline("msg-2"), [effect("e2")], now=NOW, reservation=clash
            )
        store.record_decision(
            message("k3", meeting_key="m3"), decline("msg-3"), [effect("e3")], now=NOW
        )
    assert store.get_decision("k2") is None
    assert [e.idempotency_key for e in store.pending_effects(NOW)] == ["e1", "e3"]
    assert store.get_reservation(held.token_id) is not None


def test_a_batch_inside_a_batch_joins_it(store):
    """The inner block commits nothing of its own: the outer one's failure undoes it too."""

    def nested_then_fail() -> None:
        with store.batch():
            with store.batch():
                store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
            raise LeaveError

    with pytest.raises(LeaveError):
        nested_then_fail()
    assert store.get_decision("k1") is None


def test_nothing_in_a_batch_is_visible_elsewhere_before_it_ends(store):
    """Another connection to the same database sees the batch's decisions only once it ends."""
    if is_memory(store.engine.url):
        pytest.skip("an in-memory database has no second connection")
    other = SqlStore.open(store.engine.url, migrate=False)
    try:
        with store.batch():
            store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
            assert other.get_decision("k1") is None
        assert other.get_decision("k1") is not None
    finally:
        other.close()
