"""Performing recorded effects: once each, in the planner's order, failures retried and recorded."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from service_support import (
    ALLOCATE,
    RESOURCE,
    TEMPLATES,
    FakeMailbox,
    ManualClock,
    meeting,
    reserve,
    rules,
    token_body,
)

from vmrsched.adapters.db import SqlStore
from vmrsched.ports.mailbox import (
    MailboxAuthError,
    MailboxError,
    MailboxUnavailableError,
    ReplyKind,
)
from vmrsched.ports.store import EffectState, StoreUnavailableError
from vmrsched.service.apply import ERROR_SUFFIX, RetryPolicy, apply_effects
from vmrsched.service.effects import reply_from
from vmrsched.service.sync import sync_mailbox

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def store() -> Iterator[SqlStore]:
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


@pytest.fixture
def mailbox() -> FakeMailbox:
    return FakeMailbox()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def decide(mailbox, store, clock, *messages, the_rules=None):
    mailbox.deliver(*messages)
    return sync_mailbox(mailbox, store, clock, the_rules or rules())


def apply(mailbox, store, clock, **kwargs):
    return apply_effects(mailbox, store, clock, TEMPLATES, **kwargs)


def effects_of(store: SqlStore, key: str):
    recorded = store.get_decision(key)
    assert recorded is not None
    return recorded.effects


def test_a_pending_acceptance_is_sent_once_and_marked_done(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """apply sends the reply, records it done; a second round has nothing to do."""
    reservation = reserve(store)
    report = decide(mailbox, store, clock, meeting("m1", body_html=token_body(reservation)))
    key = report.processed[0].message_key

    first = apply(mailbox, store, clock)
    second = apply(mailbox, store, clock)

    assert (first.done, second.done) == (1, 0)
    [reply] = mailbox.replies_to("m1")
    assert reply.kind is ReplyKind.ACCEPT
    assert reservation.alias in reply.body_html
    [effect] = effects_of(store, key)
    assert effect.state is EffectState.DONE
    assert effect.result == {"performed": True}


def test_a_reply_sent_before_a_crash_is_found_and_not_sent_again(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The mailbox recognises the idempotency key; the effect is marked done without a resend."""
    report = decide(mailbox, store, clock, meeting("m1"))
    [effect] = effects_of(store, report.processed[0].message_key)
    store.start_effects([effect.effect_id], now=clock.now)  # as apply records it, then:
    mailbox.reply(reply_from(effect))  # sent, then the process died before mark_effect_done

    assert apply(mailbox, store, clock).done == 1

    assert len(mailbox.replies_to("m1")) == 1
    [after] = effects_of(store, report.processed[0].message_key)
    assert after.result == {"performed": False}


def test_a_reply_never_begun_is_sent_without_looking_for_an_earlier_one(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """First attempts skip the lookup (one call per reply); the begun mark is kept."""
    report = decide(mailbox, store, clock, meeting("m1"), meeting("m2", uid="UID-2"))

    assert apply(mailbox, store, clock).done == 2

    assert mailbox.calls["reply"] == 2
    assert mailbox.calls["reply:lookup"] == 0
    for item in report.processed:
        [effect] = effects_of(store, item.message_key)
        assert effect.attempt_started == clock.now


def test_an_attempt_is_recorded_as_begun_before_the_mailbox_is_called(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """When reply() runs, the store already says the attempt began (a crash then looks first)."""
    report = decide(mailbox, store, clock, meeting("m1"))
    key = report.processed[0].message_key
    seen: list[object] = []
    send = mailbox.reply

    def checking(reply):
        [effect] = effects_of(store, key)
        seen.append(effect.attempt_started)
        return send(reply)

    mailbox.reply = checking

    assert apply(mailbox, store, clock).done == 1
    assert seen == [clock.now]


def test_after_an_interrupted_attempt_the_reply_is_looked_for_first(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """A begun attempt that ended without a result (timeout) makes the next one look first."""
    decide(mailbox, store, clock, meeting("m1"))
    mailbox.fail("reply", MailboxUnavailableError("timed out"))

    assert apply(mailbox, store, clock).retried == 1
    assert mailbox.calls["reply:lookup"] == 0
    clock.advance(timedelta(hours=1))
    assert apply(mailbox, store, clock).done == 1

    assert mailbox.calls["reply:lookup"] == 1
    assert len(mailbox.replies_to("m1")) == 1


def test_a_transient_failure_is_retried_after_the_servers_retry_after(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """MailboxUnavailableError: the attempt is recorded and the effect waits its backoff."""
    report = decide(mailbox, store, clock, meeting("m1"))
    mailbox.fail("reply", MailboxUnavailableError("busy", retry_after=timedelta(minutes=2)))

    assert apply(mailbox, store, clock).retried == 1
    [effect] = effects_of(store, report.processed[0].message_key)
    assert effect.state is EffectState.PENDING
    assert effect.attempts == 1
    assert effect.next_attempt_at == clock.now + timedelta(minutes=2)
    assert apply(mailbox, store, clock).done == 0  # not due yet

    clock.advance(timedelta(minutes=2))
    assert apply(mailbox, store, clock).done == 1
    assert len(mailbox.replies_to("m1")) == 1


def test_a_reply_whose_connection_broke_after_sending_is_not_sent_again(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The reply went out, the answer was lost: the retry finds it sent and marks it done."""
    decide(mailbox, store, clock, meeting("m1"))
    mailbox.fail_after_send()

    assert apply(mailbox, store, clock).retried == 1
    clock.advance(timedelta(hours=1))
    assert apply(mailbox, store, clock).done == 1

    assert len(mailbox.replies_to("m1")) == 1


def test_backoff_doubles_and_is_capped() -> None:
    """Delays grow exponentially from the first delay up to the cap."""
    policy = RetryPolicy(first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60))
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert policy.delay(1, timedelta(seconds=90)) == timedelta(seconds=90)


def test_a_request_that_is_gone_is_given_up_without_another_answer(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """MessageGoneError: the reply fails for good; no general-error answer follows."""
    report = decide(mailbox, store, clock, meeting("m1"))
    mailbox.remove("m1")  # the organizer cancelled, someone deleted it
    assert apply(mailbox, store, clock).failed == 1
    [effect] = effects_of(store, report.processed[0].message_key)
    assert effect.state is EffectState.FAILED
    assert store.get_decision(report.processed[0].message_key + ERROR_SUFFIX) is None


def test_a_refused_app_stops_the_round_and_keeps_every_effect_pending(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """MailboxAuthError: one attempt is recorded, the rest wait for the next round."""
    decide(mailbox, store, clock, meeting("m1"), meeting("m2", uid="UID-2"))
    mailbox.fail("reply", MailboxAuthError("secret expired", fix="renew the secret"))

    report = apply(mailbox, store, clock)

    assert report.blocked.startswith("MailboxAuthError")
    assert "renew the secret" in report.blocked
    assert (report.retried, report.done) == (1, 0)
    assert mailbox.replies == []
    assert mailbox.calls["reply"] == 1


def test_a_failed_instructions_write_leaves_the_acceptance_standing(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The acceptance (with the joining details) went out first; when writing the instructions
    then fails for good, that is recorded and no contradicting answer follows."""
    report = decide(mailbox, store, clock, meeting("m1"), the_rules=rules(**ALLOCATE))
    key = report.processed[0].message_key
    mailbox.fail("write_instructions", MailboxError("refused"), times=3)
    policy = RetryPolicy(first_delay=timedelta(seconds=1), max_permanent_attempts=3)

    for _ in range(4):
        apply(mailbox, store, clock, retry=policy)
        clock.advance(timedelta(minutes=1))

    accept, write = effects_of(store, key)
    assert (accept.state, write.state) == (EffectState.DONE, EffectState.FAILED)
    assert [r.kind for r in mailbox.replies_to("m1")] == [ReplyKind.ACCEPT]
    assert store.get_decision(key + ERROR_SUFFIX) is None


def test_the_instructions_wait_while_the_acceptance_is_pending(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """An effect runs only after the earlier effects of its decision are done, also when the
    earlier one waits for a retry."""
    decide(mailbox, store, clock, meeting("m1"), the_rules=rules(**ALLOCATE))
    mailbox.fail("reply", MailboxUnavailableError("busy"))

    report = apply(mailbox, store, clock)

    # The instructions are not even listed as due: a meeting's later effects wait in the store
    # until its oldest pending one is done.
    assert (report.retried, report.waiting, report.done) == (1, 0, 0)
    assert store.pending_effects(clock() + timedelta(minutes=5), limit=10)[0].kind == "reply"
    assert mailbox.writes == []
    clock.advance(timedelta(minutes=5))
    assert apply(mailbox, store, clock).done == 2
    assert [r.kind for r in mailbox.replies_to("m1")] == [ReplyKind.ACCEPT]
    assert len(mailbox.writes) == 1


def test_a_crashing_mailbox_call_is_recorded_and_answered(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """An unexpected exception fails the effect; an acceptance becomes the general error."""
    reservation = reserve(store)
    report = decide(mailbox, store, clock, meeting("m1", body_html=token_body(reservation)))
    send = mailbox.reply

    def crash_once(reply):
        mailbox.reply = send  # the next call works again
        raise RuntimeError("bug")

    mailbox.reply = crash_once

    first = apply(mailbox, store, clock)
    apply(mailbox, store, clock)

    assert first.errors == ["RuntimeError: bug"]
    [answer] = mailbox.replies_to("m1")
    assert answer.kind is ReplyKind.DECLINE
    [effect] = effects_of(store, report.processed[0].message_key)
    assert effect.state is EffectState.FAILED
    assert "RuntimeError" in (effect.last_error or "")


def test_replies_go_out_several_at_a_time_but_never_more_than_in_flight(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """After the round's first reply (alone), three calls run at once and no fourth joins them."""
    decide(mailbox, store, clock, *(meeting(f"m{n}", uid=f"UID-{n}") for n in range(10)))
    lock = threading.Lock()
    active = 0
    most = 0
    full = threading.Event()
    send = mailbox.reply

    def crowded(reply):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
            first = mailbox.calls["reply"] == 0
            if active == 3:
                full.set()
        try:
            # Every call but the first waits until three are in flight together (a timeout
            # only so that a broken bound fails the test instead of hanging it).
            if not first:
                full.wait(timeout=10)
            return send(reply)
        finally:
            with lock:
                active -= 1

    mailbox.reply = crowded

    report = apply(mailbox, store, clock, in_flight=3)

    assert report.done == 10
    assert full.is_set()
    assert most == 3
    assert len(mailbox.replies) == 10


def test_a_busy_mailbox_pauses_the_round_and_the_rest_wait_for_the_next_call(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """Unavailable (throttled past the back-off budget): nothing more starts in this call."""
    decide(mailbox, store, clock, *(meeting(f"m{n}", uid=f"UID-{n}") for n in range(5)))
    mailbox.fail("reply", MailboxUnavailableError("ErrorServerBusy", retry_after=timedelta(0)))

    first = apply(mailbox, store, clock)

    assert first.paused.startswith("MailboxUnavailableError")
    assert (first.retried, first.done, mailbox.calls["reply"]) == (1, 0, 1)
    second = apply(mailbox, store, clock)  # the failed one waits for its backoff
    assert (second.done, second.paused) == (4, "")
    clock.advance(timedelta(minutes=1))
    assert apply(mailbox, store, clock).done == 1
    assert len(mailbox.replies) == 5
    # All were begun in the store before the pause, so each looked for an earlier send.
    assert mailbox.calls["reply:lookup"] == 5


def test_a_store_failure_while_recording_waits_for_the_calls_in_flight(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error goes up only once no reply is in flight (none is left running to be sent a
    second time by a later round), and every reply that went out is recorded done."""
    decide(mailbox, store, clock, *(meeting(f"m{n}", uid=f"UID-{n}") for n in range(8)))
    lock = threading.Lock()
    active = 0
    send = mailbox.reply

    def tracked(reply):
        nonlocal active
        with lock:
            active += 1
        try:
            if reply.message_id == "m1":
                raise MailboxError("refused")
            return send(reply)
        finally:
            with lock:
                active -= 1

    def store_down(*_args, **_kwargs):
        raise StoreUnavailableError("database is locked")

    mailbox.reply = tracked
    monkeypatch.setattr(store, "mark_effect_failed", store_down)

    with pytest.raises(StoreUnavailableError):
        apply(mailbox, store, clock, in_flight=2)

    assert active == 0
    sent = {r.idempotency_key for r in mailbox.replies}
    done = {e.idempotency_key for e in all_effects(store) if e.state is EffectState.DONE}
    assert sent == done
    assert "m0" in {r.message_id for r in mailbox.replies}


def all_effects(store: SqlStore):
    return [e for n in range(8) for e in effects_of(store, f"{RESOURCE}/m{n}")]
