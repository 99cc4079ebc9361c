"""What the shipped fake offers service tests beyond the contract: injected failures, a reply
that fails after it went out, switches, and shutdown."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from vmrsched.adapters.fake_mailbox import FakeMailbox
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import (
    InstructionsUpdate,
    MailboxError,
    MailboxUnavailableError,
    Reply,
    ReplyKind,
)

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def request(message_id: str = "m1", uid: str = "u1") -> MeetingMessage:
    return MeetingMessage(
        message_id=message_id,
        kind=MessageKind.NEW,
        uid=uid,
        sequence=0,
        organizer_email="alice@contoso.com",
        start=T0,
        end=T0 + timedelta(hours=1),
    )


def accept(message_id: str = "m1") -> Reply:
    return Reply(message_id, ReplyKind.ACCEPT, "<p>ok</p>", f"reply:{message_id}")


def test_injected_failures_come_first_then_calls_work() -> None:
    """`fail` makes the next calls of one operation raise, in order, then it works again."""
    mailbox = FakeMailbox()
    mailbox.deliver(request())
    mailbox.fail("fetch_changes", MailboxUnavailableError("busy"), times=2)
    for _ in range(2):
        with pytest.raises(MailboxUnavailableError):
            mailbox.fetch_changes(None)
    assert [m.message_id for m in mailbox.fetch_changes(None).messages] == ["m1"]
    assert mailbox.calls["fetch_changes"] == 3


def test_an_unknown_operation_cannot_be_failed() -> None:
    """A typo in the operation name is an error, not a silent no-op."""
    with pytest.raises(ValueError, match="unknown operation"):
        FakeMailbox().fail("replies", MailboxError("x"))


def test_a_reply_that_fails_after_sending_went_out_once() -> None:
    """fail_after_send: the reply is out but the call fails; trying again sends nothing."""
    mailbox = FakeMailbox()
    mailbox.deliver(request())
    mailbox.fail_after_send()
    with pytest.raises(MailboxUnavailableError):
        mailbox.reply(accept())
    assert mailbox.reply(accept()) is False
    assert len(mailbox.replies_to("m1")) == 1


def test_an_answered_request_leaves_the_inbox() -> None:
    """As in Exchange, a reading from scratch no longer lists an answered request."""
    mailbox = FakeMailbox()
    mailbox.deliver(request("m1", "u1"), request("m2", "u2"))
    mailbox.reply(accept("m1"))
    assert [m.message_id for m in mailbox.fetch_changes(None).messages] == ["m2"]
    assert [m.message_id for m in mailbox.inbox()] == ["m2"]


def test_writes_can_stay_off_the_inbox() -> None:
    """echo_writes=False: the organizer's meeting is updated, nothing comes back."""
    mailbox = FakeMailbox(echo_writes=False)
    mailbox.deliver(request())
    cursor = mailbox.fetch_changes(None).cursor
    update = InstructionsUpdate("alice@contoso.com", "u1", "<p>VMR</p>", "mark", "write:1")
    assert mailbox.write_instructions(update) is True
    assert "VMR" in (mailbox.meeting_body("alice@contoso.com", "u1") or "")
    assert mailbox.fetch_changes(cursor).messages == []
    assert mailbox.writes == [update]


def test_a_waiter_in_another_thread_wakes_on_delivery() -> None:
    """A delivery from another thread ends a wait; push health is what the test set."""
    mailbox = FakeMailbox()
    mailbox.push_healthy = False
    results = []
    waiting = threading.Thread(
        target=lambda: results.append(mailbox.wait_for_changes(timedelta(seconds=20)))
    )
    waiting.start()
    mailbox.deliver(request())
    waiting.join(20)
    assert results[0].changed
    assert not results[0].push_healthy


def test_close_wakes_waiters_and_ends_the_mailbox() -> None:
    """After close a wait returns unchanged at once and calls fail."""
    mailbox = FakeMailbox()
    mailbox.close()
    assert mailbox.wait_for_changes(timedelta(seconds=20)).changed is False
    with pytest.raises(MailboxError, match="closed"):
        mailbox.fetch_changes(None)
