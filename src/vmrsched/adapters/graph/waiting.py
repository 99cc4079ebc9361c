"""`GraphMailbox.wait_for_changes` with change notifications (`push.GraphPush`).

The wait keeps the subscription (made, made again after ``subscriptionRemoved``, renewed when
due or when Graph asks), ends as soon as a trusted notification is unanswered by the delta
reads (at once when one came during the last pass and that pass did not read its message:
`pending.PendingChanges`) and otherwise lasts its timeout: the service's poll interval, after
which a delta pass runs anyway (the safety net).
While Graph refuses the subscription, the wait polls the delta as without push and says the
push channel is unhealthy; the next wait tries to subscribe again.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Protocol

import structlog

from vmrsched.ports.mailbox import MailboxError, WatchEvents

if TYPE_CHECKING:
    import threading

    from vmrsched.adapters.graph.push import GraphPush

log = structlog.get_logger(__name__)

#: How often a long wait looks whether the subscription is due for renewal.
MAINTAIN_EVERY: Final = timedelta(minutes=1)


class Polling(Protocol):
    """What the wait needs of the mailbox."""

    @property
    def closing(self) -> threading.Event:
        """Set when the mailbox closes."""
        ...

    def poll(self, timeout: timedelta) -> WatchEvents:
        """Wait by polling the delta."""
        ...


def wait_pushed(mailbox: Polling, push: GraphPush, timeout: timedelta) -> WatchEvents:
    """Wait for a change notification, at most ``timeout``; keep the subscription alive."""
    deadline = time.monotonic() + max(timeout.total_seconds(), 0.0)
    try:
        if push.maintain():
            # A new subscription: what arrived while there was none is read by a delta pass.
            return WatchEvents(changed=True, push_healthy=True, detail=("subscribed",))
    except MailboxError as exc:
        log.warning("graph_subscription_failed", error=str(exc))
        polled = mailbox.poll(timeout)
        return WatchEvents(
            changed=polled.changed,
            push_healthy=False,
            detail=(f"change notifications unavailable: {exc}", *polled.detail),
        )
    while not mailbox.closing.is_set():
        remaining = max(deadline - time.monotonic(), 0.0)
        # True at once while a notification is unanswered: one that came during the pass
        # just run, for a message that pass did not return, asks for another.
        woken = push.wait(min(remaining, MAINTAIN_EVERY.total_seconds()))
        if mailbox.closing.is_set():
            break
        try:
            if push.maintain():
                return WatchEvents(changed=True, push_healthy=True, detail=("subscribed",))
        except MailboxError as exc:
            log.warning("graph_subscription_failed", error=str(exc))
            return WatchEvents(
                changed=True, push_healthy=False, detail=(f"subscription failed: {exc}",)
            )
        if woken:
            return WatchEvents(changed=True, push_healthy=True, detail=("notified",))
        if deadline - time.monotonic() <= 0:
            break
    return WatchEvents(
        changed=False,
        push_healthy=push.healthy and not mailbox.closing.is_set(),
        detail=("change notifications",),
    )
