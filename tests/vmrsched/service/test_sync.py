"""One pass over the resource mailbox: decisions recorded before any effect, exactly once."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from service_support import (
    ALIASES,
    ALICE,
    ALLOCATE,
    NOW,
    RESOURCE,
    FakeMailbox,
    ManualClock,
    meeting,
    reserve,
    rules,
    token_body,
)

from vmrsched.adapters.db import SqlStore
from vmrsched.domain.actions import Outcome
from vmrsched.domain.bookings import BookingState
from vmrsched.domain.meetings import MessageKind
from vmrsched.domain.reservations import new_reservation
from vmrsched.domain.tokens import placeholder_token
from vmrsched.ports.mailbox import MailboxUnavailableError
from vmrsched.ports.store import EffectState, StoreUnavailableError
from vmrsched.service.sync import DECISIONS_PER_COMMIT, INBOX, message_key, sync_mailbox

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


def run(mailbox, store, clock, the_rules=None, **kwargs):
    return sync_mailbox(mailbox, store, clock, the_rules or rules(), **kwargs)


def test_a_request_with_a_valid_token_is_booked_and_its_acceptance_recorded_not_sent(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The pass books the VMR and records a pending acceptance; it sends nothing itself."""
    reservation = reserve(store)
    request = meeting("m1", body_html=token_body(reservation))
    mailbox.deliver(request)

    report = run(mailbox, store, clock)

    assert [p.outcome for p in report.processed] == [Outcome.ACCEPT_NEW_SINGLE_MEETING]
    booking = store.booking_for_meeting(request.meeting_key)
    assert booking is not None
    assert booking.alias == reservation.alias
    assert booking.state is BookingState.ACTIVE
    assert booking.windows[0].start == request.start - timedelta(minutes=30)
    recorded = store.get_decision(message_key(RESOURCE, "m1"))
    assert recorded is not None
    [effect] = recorded.effects
    assert (effect.kind, effect.state) == ("reply", EffectState.PENDING)
    assert effect.payload["reply"] == "accept"
    assert reservation.alias in effect.payload["body_html"]
    assert mailbox.replies == []
    assert store.get_cursor(RESOURCE, INBOX) == "0:1"


def test_a_second_pass_reads_only_what_came_after_the_cursor(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The cursor moves after each page, so a later pass sees only new messages."""
    mailbox.deliver(meeting("m1"))
    assert run(mailbox, store, clock).decided == 1
    mailbox.deliver(meeting("m2", uid="UID-2"))
    report = run(mailbox, store, clock)
    assert [p.message_key for p in report.processed] == [message_key(RESOURCE, "m2")]


def test_pages_are_read_until_the_mailbox_has_no_more(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """Several pages in one pass, each page's cursor stored once its messages are recorded."""
    mailbox.deliver(*(meeting(f"m{i}", uid=f"UID-{i}") for i in range(5)))
    report = run(mailbox, store, clock, page_size=2)
    assert (report.pages, report.decided) == (3, 5)
    assert store.get_cursor(RESOURCE, INBOX) == "0:5"


def test_a_delivery_read_again_is_not_decided_twice(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """After a crash before the cursor moved, the re-read page finds its decisions."""
    reservation = reserve(store)
    mailbox.deliver(meeting("m1", body_html=token_body(reservation)))
    run(mailbox, store, clock)
    store.set_cursor(RESOURCE, INBOX, None, now=NOW)  # as if the cursor had never been stored

    report = run(mailbox, store, clock)

    assert (report.decided, report.duplicates) == (0, 1)
    recorded = store.get_decision(message_key(RESOURCE, "m1"))
    assert recorded is not None
    assert len(recorded.effects) == 1


def test_an_expired_cursor_reads_the_folder_again_without_duplicates(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """CursorExpiredError → the pass starts from None; old messages are recognised."""
    mailbox.deliver(meeting("m1"))
    run(mailbox, store, clock)
    mailbox.expire_cursors()
    mailbox.deliver(meeting("m2", uid="UID-2"))

    report = run(mailbox, store, clock)

    assert report.resynced
    assert (report.decided, report.duplicates) == (1, 1)
    assert store.get_cursor(RESOURCE, INBOX) == "1:2"


def test_a_request_without_a_token_is_declined(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """No token and missing_token = reject: the invalid-alias decline, no booking."""
    request = meeting("m1")
    mailbox.deliver(request)
    [processed] = run(mailbox, store, clock).processed
    assert processed.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert store.booking_for_meeting(request.meeting_key) is None
    recorded = store.get_decision(processed.message_key)
    assert recorded is not None
    assert recorded.effects[0].payload["reply"] == "decline"


def test_allocate_draws_a_reservation_and_records_instructions_before_the_acceptance(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """missing_token = allocate: a new reservation, a booking, then write, then accept."""
    request = meeting("m1")
    mailbox.deliver(request)
    [processed] = run(mailbox, store, clock, the_rules=rules(**ALLOCATE)).processed
    assert processed.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    booking = store.booking_for_meeting(request.meeting_key)
    assert booking is not None
    reservation = store.get_reservation(booking.token_id)
    assert reservation is not None
    assert reservation.meeting_key == request.meeting_key
    recorded = store.get_decision(processed.message_key)
    assert recorded is not None
    assert [e.kind for e in recorded.effects] == ["reply", "write_instructions"]
    write = recorded.effects[1].payload
    assert write["organizer_email"] == request.organizer_email
    assert "VMRS:-" in write["body_html"]
    assert write["replace_placeholder"] is False


def test_a_placeholder_token_is_allocated_even_when_missing_tokens_are_rejected(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The placeholder flow books a VMR and asks to replace the placeholder."""
    body = f"<p>{placeholder_token('ABCDEF0123456789')}</p>"
    mailbox.deliver(meeting("m1", body_html=body))
    [processed] = run(mailbox, store, clock).processed
    assert processed.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    recorded = store.get_decision(processed.message_key)
    assert recorded is not None
    assert recorded.effects[1].payload["replace_placeholder"] is True


def test_an_update_moves_the_booking_and_a_cancellation_releases_it(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """A new time moves the window (edited acceptance); a cancellation releases without reply."""
    reservation = reserve(store)
    body = token_body(reservation)
    first = meeting("m1", body_html=body)
    later = NOW + timedelta(days=1)
    mailbox.deliver(
        first,
        meeting("m2", body_html=body, kind=MessageKind.UPDATE, sequence=1, start=later),
        meeting("m3", body_html=body, kind=MessageKind.CANCEL, sequence=2, start=later),
    )
    report = run(mailbox, store, clock)
    assert [p.outcome for p in report.processed] == [
        Outcome.ACCEPT_NEW_SINGLE_MEETING,
        Outcome.ACCEPT_EDITED_SINGLE_MEETING,
        Outcome.CANCELLED,
    ]
    booking = store.booking_for_meeting(first.meeting_key)
    assert booking is not None
    assert booking.state is BookingState.RELEASED
    assert booking.sequence_seen == 2
    cancelled = store.get_decision(report.processed[2].message_key)
    assert cancelled is not None
    assert cancelled.effects == ()


def test_a_forward_of_a_booked_meeting_makes_no_second_booking_or_reply(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The same meeting delivered again as another item changes nothing."""
    reservation = reserve(store)
    body = token_body(reservation)
    mailbox.deliver(meeting("m1", body_html=body), meeting("m1-forward", body_html=body))
    report = run(mailbox, store, clock)
    assert [p.outcome for p in report.processed] == [
        Outcome.ACCEPT_NEW_SINGLE_MEETING,
        Outcome.IGNORED,
    ]
    ignored = store.get_decision(report.processed[1].message_key)
    assert ignored is not None
    assert ignored.effects == ()


def test_a_token_used_by_another_meeting_is_declined_as_a_conflict(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """Two meetings with one alias token: the second is declined with the alias."""
    reservation = reserve(store)
    body = token_body(reservation)
    mailbox.deliver(meeting("m1", body_html=body), meeting("m2", uid="UID-2", body_html=body))
    report = run(mailbox, store, clock)
    assert report.processed[1].outcome is Outcome.REJECT_ALIAS_CONFLICT


def test_ordinary_mail_is_recorded_and_ignored(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """A message that is not a meeting request is recorded with no meeting and no effect."""
    mailbox.deliver(meeting("m1", kind=MessageKind.OTHER))
    [processed] = run(mailbox, store, clock).processed
    assert processed.outcome is Outcome.IGNORED
    assert processed.meeting_key is None


def test_a_planning_failure_is_answered_with_the_general_error(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while planning declines with the general-error template and its correlation ID."""

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("vmrsched.service.drafts.plan", broken)
    mailbox.deliver(meeting("m1"))
    [processed] = run(mailbox, store, clock).processed
    assert processed.outcome is Outcome.REJECT_GENERAL_ERROR
    recorded = store.get_decision(processed.message_key)
    assert recorded is not None
    body = recorded.effects[0].payload["body_html"]
    assert processed.correlation_id in body


def test_a_drawn_alias_that_is_taken_is_drawn_again(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The allocate flow draws again when the store already holds the drawn alias."""
    first_draw = new_reservation(
        organizer=ALICE, alias_format=ALIASES, rng=random.Random(7), now=NOW, ttl=timedelta(days=1)
    )
    other_id = "00000000-0000-4000-8000-000000000001"
    taken = store.add_reservation(lambda: dataclasses.replace(first_draw, token_id=other_id))
    mailbox.deliver(meeting("m1"))
    report = sync_mailbox(mailbox, store, clock, rules(**ALLOCATE), rng=random.Random(7))
    assert report.processed[0].outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    booking = store.booking_for_meeting(meeting("m1").meeting_key)
    assert booking is not None
    assert booking.alias != taken.alias


def test_a_mailbox_outage_stops_the_pass_without_moving_the_cursor(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock
) -> None:
    """The mailbox's transient error reaches the caller; nothing was recorded."""
    mailbox.deliver(meeting("m1"))
    mailbox.fail("fetch_changes", MailboxUnavailableError("503"))
    with pytest.raises(MailboxUnavailableError):
        run(mailbox, store, clock)
    assert store.get_cursor(RESOURCE, INBOX) is None
    assert run(mailbox, store, clock).decided == 1


def test_a_database_outage_while_planning_stops_the_pass(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retryable store error is not answered as a general error: the pass is retried later."""

    def down(_: str) -> None:
        raise StoreUnavailableError("database is locked")

    monkeypatch.setattr(store, "booking_for_meeting", down)
    mailbox.deliver(meeting("m1"))
    with pytest.raises(StoreUnavailableError):
        run(mailbox, store, clock)
    assert store.get_decision(message_key(RESOURCE, "m1")) is None


def test_decisions_are_committed_a_batch_at_a_time(
    store: SqlStore, mailbox: FakeMailbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database outage at the 30th message keeps the first batch, rolls back the second, and
    leaves the cursor; the next pass decides the rest, each message once."""
    mailbox.deliver(*(meeting(f"m{n:02d}", uid=f"UID-{n}") for n in range(40)))
    lookups = 0
    real = store.booking_for_meeting

    def down_at_the_30th(meeting_key: str) -> object:
        nonlocal lookups
        lookups += 1
        if lookups == 30:
            raise StoreUnavailableError("database is locked")
        return real(meeting_key)

    monkeypatch.setattr(store, "booking_for_meeting", down_at_the_30th)
    with pytest.raises(StoreUnavailableError):
        run(mailbox, store, clock)

    decided = [n for n in range(40) if store.get_decision(message_key(RESOURCE, f"m{n:02d}"))]
    assert decided == list(range(DECISIONS_PER_COMMIT))
    assert store.get_cursor(RESOURCE, INBOX) is None
    again = run(mailbox, store, clock)
    assert (again.decided, again.duplicates) == (40 - DECISIONS_PER_COMMIT, DECISIONS_PER_COMMIT)
