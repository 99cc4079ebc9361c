"""One resource mailbox, one installation: the marker `run` claims and refreshes, on the fake
mailbox (the marker's EWS side is in the mailbox contract suite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmrsched.adapters.fake_mailbox import FakeMailbox
from vmrsched.cli.edge import FAILED, explain
from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.service.installation import (
    LIVE_FOR,
    Holder,
    InstallationConflictError,
    claim,
    heartbeat,
    judge,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
OURS = "aaaa1111"
OTHER = "bbbb2222"


def clock() -> datetime:
    return NOW


def test_a_fresh_mailbox_is_claimed() -> None:
    """No marker yet: the claim writes ours with the current heartbeat and host."""
    mailbox = FakeMailbox()
    assert claim(mailbox, OURS, "vm1", clock).holder is Holder.NOBODY
    assert mailbox.marker == InstallationMarker(OURS, NOW, "vm1")


def test_a_mailbox_another_live_installation_holds_is_refused_with_the_fix() -> None:
    """Another installation's heartbeat 2 minutes ago: refused, its marker left alone, and the
    message names it and says how to move deliberately (--take-over)."""
    mailbox = FakeMailbox()
    theirs = InstallationMarker(OTHER, NOW - timedelta(minutes=2), "prod-host")
    mailbox.marker = theirs
    with pytest.raises(InstallationConflictError) as refused:
        claim(mailbox, OURS, "test-host", clock)
    assert mailbox.marker == theirs
    assert OTHER in str(refused.value)
    assert "prod-host" in str(refused.value)
    assert "--take-over" in refused.value.fix
    failure = explain(refused.value)
    assert failure is not None
    assert failure.status == FAILED
    assert "--take-over" in failure.fix


def test_take_over_replaces_a_live_marker() -> None:
    """--take-over: the other live installation's marker is replaced by ours."""
    mailbox = FakeMailbox()
    mailbox.marker = InstallationMarker(OTHER, NOW - timedelta(minutes=2), "prod-host")
    assert claim(mailbox, OURS, "vm1", clock, take_over=True).holder is Holder.OTHER_LIVE
    assert mailbox.marker == InstallationMarker(OURS, NOW, "vm1")


def test_a_stale_marker_and_our_own_are_claimed_without_take_over() -> None:
    """A marker silent for LIVE_FOR belongs to a stopped installation; our own marker is a
    restart. Both are claimed."""
    mailbox = FakeMailbox()
    mailbox.marker = InstallationMarker(OTHER, NOW - LIVE_FOR, "old-host")
    assert claim(mailbox, OURS, "vm1", clock).holder is Holder.OTHER_STALE
    mailbox.marker = InstallationMarker(OURS, NOW - timedelta(minutes=1), "vm1")
    assert claim(mailbox, OURS, "vm1", clock).holder is Holder.US


def test_the_heartbeat_refreshes_our_marker() -> None:
    """The heartbeat writes our marker with the current time."""
    mailbox = FakeMailbox()
    mailbox.marker = InstallationMarker(OURS, NOW - timedelta(minutes=5), "vm1")
    heartbeat(mailbox, OURS, "vm1", clock)
    assert mailbox.marker == InstallationMarker(OURS, NOW, "vm1")


def test_the_heartbeat_stops_when_another_installation_took_over() -> None:
    """Taken over meanwhile: the heartbeat raises instead of writing our marker back."""
    mailbox = FakeMailbox()
    theirs = InstallationMarker(OTHER, NOW - timedelta(seconds=30), "new-host")
    mailbox.marker = theirs
    with pytest.raises(InstallationConflictError, match="taken over"):
        heartbeat(mailbox, OURS, "vm1", clock)
    assert mailbox.marker == theirs


def test_judging_is_by_id_and_heartbeat_age() -> None:
    """judge: nobody, us, other live (younger than LIVE_FOR), other stale."""
    young = NOW - LIVE_FOR + timedelta(seconds=1)
    assert judge(None, OURS, NOW).holder is Holder.NOBODY
    assert judge(InstallationMarker(OURS, NOW - LIVE_FOR * 9), OURS, NOW).holder is Holder.US
    assert judge(InstallationMarker(OTHER, young), OURS, NOW).holder is Holder.OTHER_LIVE
    assert judge(InstallationMarker(OTHER, NOW - LIVE_FOR), OURS, NOW).holder is Holder.OTHER_STALE
