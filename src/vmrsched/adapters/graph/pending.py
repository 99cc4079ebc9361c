"""`PendingChanges`: which trusted change notifications no delta read has answered yet.

A notification only says "read the delta"; what it costs is the delta pass it wakes (a delta
page, then the reads). So the watcher is woken by *unanswered* notifications, not by every
notification, and one pass answers as many as it can (Exchange Online's budget per app and
mailbox is 10,000 requests per 10 minutes, https://learn.microsoft.com/graph/throttling-limits):

- A notification is answered by the first delta round whose first request was *sent after the
  notification arrived*: Graph notifies after the change is made, so that round contains it.
  Notifications that arrive while a pass is running, or before it reads, share that pass or
  the next one: a burst wakes at most two passes, never one per notification.
- A notification naming a message (``resourceData.id``) that a delta page has already returned
  is answered already: the message was read before its notification came (a pass woken by an
  earlier notification overtook it), or the notification is for a change to a message read
  before (``updated``). It wakes nothing. An id not recognised (none, another id format) is
  never guessed at: it waits for a round, as above.

Nothing here decides what a message is; a wrongly answered notification would only delay a
meeting until the next pass (the service's poll interval is the safety net), never lose it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Message ids returned by delta pages that are remembered (oldest forgotten first).
REMEMBERED_IDS: Final = 10_000


class PendingChanges:
    """Unanswered notifications, the delta rounds that answer them, and the wait; thread-safe."""

    def __init__(self, remembered: int = REMEMBERED_IDS) -> None:
        self._changed = threading.Condition()
        self._arrivals = 0  # numbers the notifications, in the order they arrived
        self._pending: dict[int, str | None] = {}  # arrival number → message id (None: unknown)
        self._read: OrderedDict[str, None] = OrderedDict()  # ids delta pages returned
        self._remembered = max(1, remembered)
        self._interrupted = False
        self.noted = 0  # notifications that asked for a pass (for tests and measurements)
        self.already_read = 0  # notifications of messages a delta page had returned

    def note(self, message_id: str | None) -> bool:
        """A trusted notification (of `message_id`, when it names one): True when it needs a
        delta pass, False when a delta page has already returned that message."""
        with self._changed:
            if message_id is not None and message_id in self._read:
                self.already_read += 1
                return False
            self._arrivals += 1
            self._pending[self._arrivals] = message_id
            self.noted += 1
            self._changed.notify_all()
            return True

    @property
    def waiting(self) -> int:
        """How many notifications no delta read has answered yet."""
        with self._changed:
            return len(self._pending)

    # --- the delta reads (from the pass's thread) ----------------------------------------

    def round_begins(self) -> int:
        """Before the first request of a delta round: the mark `round_ended` takes."""
        with self._changed:
            return self._arrivals

    def returned(self, message_ids: Iterable[str]) -> None:
        """A delta page returned these messages: their notifications are answered, now and
        when they come later."""
        with self._changed:
            for message_id in message_ids:
                self._read[message_id] = None
                self._read.move_to_end(message_id)
            while len(self._read) > self._remembered:
                self._read.popitem(last=False)
            answered = [n for n, found in self._pending.items() if found in self._read]
            for number in answered:
                del self._pending[number]

    def round_ended(self, began: int) -> None:
        """A delta round that began at mark `began` reached its end (a delta link): every
        notification that had arrived before it began is answered."""
        with self._changed:
            for number in [n for n in self._pending if n <= began]:
                del self._pending[number]

    # --- the wait (from the watcher's thread) ----------------------------------------------

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` until a notification is unanswered (at once if one is);
        True when one is. `interrupt` ends the wait early."""
        with self._changed:
            self._changed.wait_for(
                lambda: bool(self._pending) or self._interrupted, max(seconds, 0.0)
            )
            self._interrupted = False
            return bool(self._pending)

    def interrupt(self) -> None:
        """End a wait now (the mailbox is closing, or a lifecycle notification wants
        `GraphPush.maintain` to run)."""
        with self._changed:
            self._interrupted = True
            self._changed.notify_all()
