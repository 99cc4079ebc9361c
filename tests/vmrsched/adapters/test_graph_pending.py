"""`PendingChanges`: which change notifications still need a delta pass. Pure bookkeeping on
the adapter's side (no Graph, no clock): what the delta reads answer and what wakes the wait."""

from __future__ import annotations

from vmrsched.adapters.graph.pending import PendingChanges


def test_a_round_that_began_after_a_burst_answers_all_of_it() -> None:
    """Ten notifications, then a delta round from start to end: nothing is left to wake for."""
    pending = PendingChanges()
    assert all(pending.note(f"m{i}") for i in range(10))
    assert pending.wait(0) is True
    pending.round_ended(pending.round_begins())
    assert pending.waiting == 0
    assert pending.wait(0) is False


def test_a_notification_that_came_during_a_round_is_answered_by_its_message_not_by_the_round() -> (
    None
):
    """The round began before the notification: it may not contain that change, so the round's
    end leaves it waiting, unless a delta page returned its message."""
    pending = PendingChanges()
    began = pending.round_begins()
    pending.note("late")
    pending.note("read")
    pending.returned(["read"])
    pending.round_ended(began)
    assert pending.waiting == 1
    assert pending.wait(0) is True
    pending.returned(["late"])
    assert pending.wait(0) is False


def test_a_notification_of_a_message_a_delta_page_returned_wakes_nothing() -> None:
    """The pass read the message before its notification came (or it was updated after):
    the notification is answered already and counted as such."""
    pending = PendingChanges()
    pending.returned(["m1", "m2"])
    assert pending.note("m1") is False
    assert pending.note("m2") is False
    assert pending.wait(0) is False
    assert (pending.already_read, pending.noted) == (2, 0)


def test_a_notification_without_a_message_id_waits_for_a_round_that_began_after_it() -> None:
    """No id (a lifecycle ``missed``, or a notification without resourceData): only a round
    begun after it answers it; a round already under way does not."""
    pending = PendingChanges()
    under_way = pending.round_begins()
    pending.note(None)
    pending.returned(["m1"])
    pending.round_ended(under_way)
    assert pending.wait(0) is True
    pending.round_ended(pending.round_begins())
    assert pending.wait(0) is False


def test_only_the_most_recent_message_ids_are_remembered() -> None:
    """A bounded memory: an id pushed out is no longer recognised, and its notification waits
    for a round again (it costs a pass, never a meeting)."""
    pending = PendingChanges(remembered=2)
    pending.returned(["m1", "m2", "m3"])
    assert pending.note("m3") is False
    assert pending.note("m1") is True


def test_interrupt_ends_a_wait_without_claiming_a_notification() -> None:
    """Closing the mailbox ends the wait; with nothing unanswered it says so (False)."""
    pending = PendingChanges()
    pending.interrupt()
    assert pending.wait(3600) is False
