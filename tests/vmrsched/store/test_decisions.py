"""Decisions and effects: the exactly-once backbone (decide, record in one transaction, perform)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import get_args

import pytest
from store_factories import NOW, booking, decline, effect, message, reservation, window

from vmrsched.domain.actions import (
    Accept,
    Action,
    Book,
    Decision,
    Decline,
    Ignore,
    MoveWindows,
    Outcome,
    Rebook,
    Release,
    WriteInstructions,
    variables,
)
from vmrsched.domain.templates import TemplateName
from vmrsched.ports.store import (
    AliasTakenError,
    ConflictError,
    EffectNotFoundError,
    EffectState,
    TokenInUseError,
)


def accept(meeting_key: str = "m1", message_id: str = "msg-1") -> Decision:
    w = window("single", 10)
    return Decision(
        message_id=message_id,
        meeting_key=meeting_key,
        outcome=Outcome.ACCEPT_NEW_SINGLE_MEETING,
        actions=(
            Book(meeting_key, "t", "81000001@vmr", "81000001", (w,), 0),
            Accept(TemplateName.ACCEPT_NEW_SINGLE_MEETING, variables({"alias": "81000001@vmr"})),
        ),
        correlation_id="abcd-efgh-ijkl",
    )


def test_every_kind_of_decision_is_stored_and_read_back_equal(store):
    """A decision holding every action variant comes back equal (JSON in between)."""
    w = (window("a", 10), window("b", 11, day=1))
    every = Decision(
        message_id="msg-1",
        meeting_key="m1",
        outcome=Outcome.ACCEPT_EDITED_RECURRING_SERIES,
        actions=(
            Book("m1", "t", "a@vmr", "1", w, 3, new_reservation=True),
            MoveWindows("b1", w, 4),
            Rebook("b1", "t2", "b@vmr", "2", w, 5),
            Release(booking_id="b1", reason="cancelled", sequence=6),
            WriteInstructions(
                organizer_email="o@x",
                uid="uid",
                token_id="t",
                alias="a@vmr",
                numeric_alias="1",
                replace_placeholder="PLACEHOLDER",
                marker="mark",
                sequence=7,
            ),
            Ignore("duplicate"),
            Accept(TemplateName.ACCEPT_EDITED_RECURRING_SERIES, variables({"a": "1", "b": "<"})),
            Decline(TemplateName.REJECT_GENERAL_ERROR, (), "boom"),
        ),
        correlation_id="abcd-efgh-ijkl",
        reason="all of them",
    )
    assert {type(a) for a in every.actions} == set(get_args(Action)), "cover every variant"
    recorded = store.record_decision(message("k1"), every, [], now=NOW)
    assert recorded.fresh
    assert store.get_decision("k1").decision == every


def test_decision_booking_and_effects_are_recorded_together(store):
    """One call stores the decision, the booking with its windows and the pending effects."""
    res = store.add_reservation(reservation)
    made = booking(res, "m1")
    recorded = store.record_decision(
        message("k1"),
        accept(),
        [effect("k1:reply", "reply"), effect("k1:notify", "notify")],
        now=NOW,
        booking=made,
    )
    assert recorded.fresh
    assert [e.kind for e in recorded.effects] == ["reply", "notify"]
    assert all(e.state is EffectState.PENDING and e.attempts == 0 for e in recorded.effects)
    assert store.booking_for_meeting("m1") == made
    assert store.get_reservation(res.token_id).meeting_key == "m1"
    again = store.get_decision("k1")
    assert again.decision == accept()
    assert again.effects == recorded.effects
    assert not again.fresh


def test_a_duplicate_message_returns_the_original_decision(store):
    """Recording a message key twice changes nothing and hands back the first decision."""
    res = store.add_reservation(reservation)
    first = store.record_decision(
        message("k1"), accept(), [effect("k1:reply")], now=NOW, booking=booking(res, "m1")
    )
    second = store.record_decision(
        message("k1"), decline(), [effect("k1:other")], now=NOW + timedelta(minutes=1)
    )
    assert not second.fresh
    assert second.decision == accept()
    assert second.decided_at == NOW
    assert second.effects == first.effects
    assert [e.idempotency_key for e in store.pending_effects(NOW + timedelta(hours=1))] == [
        "k1:reply"
    ]


def test_a_meetings_effect_waits_behind_its_older_effect_that_waits_for_a_retry(store):
    """A request's answer put off for a retry holds back its update's answer (not another
    meeting's) until it is no longer pending: only a meeting's oldest pending effect is due."""
    first = store.record_decision(message("k1"), decline(), [effect("k1:reply")], now=NOW)
    store.record_decision(message("k2"), decline("msg-2"), [effect("k2:reply")], now=NOW)
    other = store.record_decision(
        message("k3", meeting_key="m2"), decline("msg-3"), [effect("k3:reply")], now=NOW
    )
    retry_at = NOW + timedelta(minutes=5)
    store.mark_effect_failed(first.effects[0].effect_id, "busy", now=NOW, retry_at=retry_at)

    due = [e.idempotency_key for e in store.pending_effects(NOW + timedelta(minutes=1))]
    assert due == ["k3:reply"]
    assert other.effects[0].idempotency_key == "k3:reply"
    later = [e.idempotency_key for e in store.pending_effects(retry_at)]
    assert later == ["k3:reply", "k1:reply"]  # k2 only once k1 is no longer pending
    store.mark_effect_done(first.effects[0].effect_id, {}, now=retry_at)
    assert [e.idempotency_key for e in store.pending_effects(retry_at)] == ["k2:reply", "k3:reply"]


def test_an_effect_given_up_no_longer_holds_its_meeting_back(store):
    """Only a pending effect waits for its retry; one that failed for good blocks nothing."""
    first = store.record_decision(message("k1"), decline(), [effect("k1:reply")], now=NOW)
    store.record_decision(message("k2"), decline("msg-2"), [effect("k2:reply")], now=NOW)
    store.mark_effect_failed(first.effects[0].effect_id, "gone", now=NOW, retry_at=None)
    due = [e.idempotency_key for e in store.pending_effects(NOW + timedelta(minutes=1))]
    assert due == ["k2:reply"]


def test_concurrent_deliveries_of_one_message_are_decided_once(store):
    """Threads recording the same message at once: one fresh record, the rest see it."""
    fresh: list[bool] = []
    errors: list[BaseException] = []

    def record(i: int) -> None:
        try:
            result = store.record_decision(
                message("k1"), decline(f"msg-{i}"), [effect(f"k1:reply:{i}")], now=NOW
            )
            fresh.append(result.fresh)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(fresh) == [False] * 7 + [True]
    assert len(store.pending_effects(NOW)) == 1


def test_a_decision_that_breaks_a_rule_records_nothing(store):
    """When the booking is refused, neither the decision nor its effects are stored."""
    res = store.add_reservation(reservation)
    store.use_reservation(res.token_id, "m-other")
    with pytest.raises(TokenInUseError):
        store.record_decision(
            message("k1"), accept(), [effect("k1:reply")], now=NOW, booking=booking(res, "m1")
        )
    assert store.get_decision("k1") is None
    assert store.pending_effects(NOW) == []
    assert store.events_for_meeting("m1") == []


def test_a_reservation_allocated_for_the_message_is_stored_with_it(store):
    """The allocate flow stores the new reservation, the booking and the decision at once."""
    res = reservation()
    store.record_decision(
        message("k1"), accept(), [], now=NOW, booking=booking(res, "m1"), reservation=res
    )
    assert store.get_reservation(res.token_id).meeting_key == "m1"
    assert store.booking_for_meeting("m1").token_id == res.token_id


def test_an_allocated_reservation_with_a_taken_alias_is_refused(store):
    """If the allocated alias is held meanwhile, AliasTakenError and nothing is recorded."""
    store.add_reservation(lambda: reservation("81000001@vmr"))
    res = reservation("81000001@vmr")
    with pytest.raises(AliasTakenError):
        store.record_decision(
            message("k1"), accept(), [], now=NOW, booking=booking(res, "m1"), reservation=res
        )
    assert store.get_decision("k1") is None


def test_an_effect_key_already_recorded_is_not_added_twice(store):
    """Effects are keyed by what they do: a later decision cannot queue the same effect again."""
    store.record_decision(message("k1"), decline(), [effect("m1:instructions")], now=NOW)
    second = store.record_decision(
        message("k2"), decline("msg-2"), [effect("m1:instructions"), effect("k2:reply")], now=NOW
    )
    assert [e.idempotency_key for e in second.effects] == ["k2:reply"]
    (instructions,) = store.pending_effects(NOW)  # one meeting: its oldest effect first
    assert instructions.idempotency_key == "m1:instructions"
    store.mark_effect_done(instructions.effect_id, {}, now=NOW)
    assert [e.idempotency_key for e in store.pending_effects(NOW)] == ["k2:reply"]


def test_pending_effects_are_due_ones_oldest_first(store):
    """Only pending effects due by `now` are listed, by due time then recording order, limited
    (one meeting each here: a meeting's later effects wait for its oldest)."""
    store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    store.record_decision(
        message("k1b", meeting_key="m2"), decline("msg-1b"), [effect("e2")], now=NOW
    )
    store.record_decision(
        message("k2", meeting_key="m3"),
        decline("msg-2"),
        [effect("e3")],
        now=NOW + timedelta(minutes=1),
    )
    keys = lambda effects: [e.idempotency_key for e in effects]  # noqa: E731
    assert keys(store.pending_effects(NOW - timedelta(seconds=1))) == []
    assert keys(store.pending_effects(NOW)) == ["e1", "e2"]
    assert keys(store.pending_effects(NOW + timedelta(minutes=1))) == ["e1", "e2", "e3"]
    assert keys(store.pending_effects(NOW + timedelta(minutes=1), limit=2)) == ["e1", "e2"]


def test_an_effect_marked_done_leaves_the_queue_with_its_result(store):
    """Done is recorded with its result and attempt; marking it done again changes nothing."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    effect_id = recorded.effects[0].effect_id
    later = NOW + timedelta(seconds=3)
    done = store.mark_effect_done(effect_id, {"item": "AAMk"}, now=later)
    assert (done.state, done.result, done.attempts, done.updated) == (
        EffectState.DONE,
        {"item": "AAMk"},
        1,
        later,
    )
    assert store.pending_effects(later) == []
    assert store.mark_effect_done(effect_id, {"item": "other"}, now=later) == done


def test_a_failed_effect_is_retried_later_or_given_up(store):
    """A failure with a retry time stays pending until then; without one the effect is failed."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    effect_id = recorded.effects[0].effect_id
    retry_at = NOW + timedelta(minutes=2)
    retried = store.mark_effect_failed(effect_id, "server busy", now=NOW, retry_at=retry_at)
    assert (retried.state, retried.attempts, retried.last_error) == (
        EffectState.PENDING,
        1,
        "server busy",
    )
    assert store.pending_effects(NOW + timedelta(minutes=1)) == []
    assert [e.effect_id for e in store.pending_effects(retry_at)] == [effect_id]
    failed = store.mark_effect_failed(effect_id, "denied", now=retry_at, retry_at=None)
    assert (failed.state, failed.attempts) == (EffectState.FAILED, 2)
    assert store.pending_effects(retry_at + timedelta(days=1)) == []


def test_a_done_effect_cannot_fail_afterwards(store):
    """Reporting a failure for an effect already done is a conflict, not a silent overwrite."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    effect_id = recorded.effects[0].effect_id
    store.mark_effect_done(effect_id, None, now=NOW)
    with pytest.raises(ConflictError):
        store.mark_effect_failed(effect_id, "late", now=NOW, retry_at=None)


def test_unknown_effects_are_not_found(store):
    """Marking an effect id that does not exist raises EffectNotFoundError."""
    with pytest.raises(EffectNotFoundError):
        store.mark_effect_done(424242, None, now=NOW)
    with pytest.raises(EffectNotFoundError):
        store.mark_effect_failed(424242, "x", now=NOW, retry_at=None)


def test_a_begun_attempt_is_recorded_once_and_kept(store):
    """start_effects stamps effects never begun; a later start keeps the first time."""
    first = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    second = store.record_decision(
        message("k2", meeting_key="m2"), decline("msg-2"), [effect("e2")], now=NOW
    )
    ids = [first.effects[0].effect_id, second.effects[0].effect_id]
    assert first.effects[0].attempt_started is None
    later = NOW + timedelta(seconds=5)

    store.start_effects(ids, now=NOW)
    store.start_effects(ids[:1], now=later)

    [e1, e2] = store.pending_effects(later)
    assert (e1.attempt_started, e2.attempt_started) == (NOW, NOW)
    assert (e1.state, e1.attempts) == (EffectState.PENDING, 0)


def test_starting_an_unknown_effect_records_nothing(store):
    """One unknown id refuses the whole batch: no effect of it is marked begun."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    with pytest.raises(EffectNotFoundError):
        store.start_effects([recorded.effects[0].effect_id, 424242], now=NOW)
    [pending] = store.pending_effects(NOW)
    assert pending.attempt_started is None


def test_effects_marked_done_together_are_all_done(store):
    """mark_effects_done records each result, as mark_effect_done would, in one go."""
    one = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    two = store.record_decision(message("k2"), decline("msg-2"), [effect("e2")], now=NOW)
    ids = (one.effects[0].effect_id, two.effects[0].effect_id)

    done = store.mark_effects_done([(ids[0], {"n": 1}), (ids[1], {"n": 2})], now=NOW)

    assert [(e.effect_id, e.state, e.result) for e in done] == [
        (ids[0], EffectState.DONE, {"n": 1}),
        (ids[1], EffectState.DONE, {"n": 2}),
    ]
    assert store.pending_effects(NOW) == []
    assert store.mark_effects_done([], now=NOW) == []


def test_marking_done_together_is_all_or_nothing(store):
    """An unknown id among them marks none done."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    with pytest.raises(EffectNotFoundError):
        store.mark_effects_done([(recorded.effects[0].effect_id, None), (424242, None)], now=NOW)
    assert [e.state for e in store.pending_effects(NOW)] == [EffectState.PENDING]
