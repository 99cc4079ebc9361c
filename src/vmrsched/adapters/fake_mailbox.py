"""`FakeMailbox`: an in-memory resource mailbox, shipped with the product for service tests.

It behaves as the EWS adapter does against Exchange, as the contract suite
(tests/vmrsched/adapters/test_mailbox_contract.py) checks for both:

- `deliver` puts messages in the inbox; `fetch_changes` pages through them oldest first with an
  opaque cursor; `expire_cursors` makes every cursor handed out so far invalid
  (`CursorExpiredError`), as Exchange does with an old sync state.
- `reply` sends once per idempotency key (a second call with the key returns False) and, as
  Exchange does, moves the answered request out of the inbox; answering a request that is gone
  raises `MessageGoneError`.
- `write_instructions` updates the organizer's meeting (known from the requests delivered) once
  per marker, and, as Exchange does, delivers the update to the resource mailbox (sequence + 1,
  carrying the marker) unless ``echo_writes`` is off.
- `wait_for_changes` wakes on delivery; `push_healthy` is settable.
- `read_marker`/`write_marker` keep the installation marker in `marker`.
- `fail` injects errors into the next calls of an operation; `fail_after_send` makes the next
  reply go out and then fail, as a connection lost after Exchange acted.

Everything it did is readable: `replies`, `writes`, `calls` (``calls["reply:lookup"]`` counts the
looks for an earlier reply, made only when ``Reply.maybe_sent``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from vmrsched.domain.instructions import insert_instructions
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import (
    ChangePage,
    CursorExpiredError,
    InstallationMarker,
    InstructionsUpdate,
    MailboxError,
    MailboxUnavailableError,
    MessageGoneError,
    Reply,
    ReplyKind,
    WatchEvents,
)

if TYPE_CHECKING:
    from collections.abc import Callable

OPERATIONS: Final = (
    "fetch_changes",
    "reply",
    "write_instructions",
    "wait_for_changes",
    "read_marker",
    "write_marker",
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SentReply:
    """A reply the fake sent to an organizer."""

    message_id: str
    kind: ReplyKind
    body_html: str
    idempotency_key: str
    organizer_email: str
    sent_at: datetime


@dataclass
class _Meeting:
    organizer_email: str
    uid: str
    body_html: str
    sequence: int
    template: MeetingMessage
    markers: set[str] = field(default_factory=set)


class FakeMailbox:
    """An in-memory `Mailbox`. Thread-safe; `clock` stamps replies and echoed updates."""

    def __init__(
        self,
        address: str = "vmr@contoso.com",
        *,
        clock: Callable[[], datetime] = _utc_now,
        echo_writes: bool = True,
    ) -> None:
        self._address = address
        self._clock = clock
        self.echo_writes = echo_writes
        self._lock = threading.Condition()
        self._log: list[MeetingMessage] = []  # every delivery, in order
        self._in_inbox: set[str] = set()
        self._epoch = 0
        self._pending_wake = False
        self._failures: dict[str, deque[MailboxError]] = {op: deque() for op in OPERATIONS}
        self._fail_after_send = 0
        self._meetings: dict[tuple[str, str], _Meeting] = {}
        self._closed = False
        self._echo_count = 0
        self.push_healthy = True
        self.marker: InstallationMarker | None = None
        self.replies: list[SentReply] = []
        self.writes: list[InstructionsUpdate] = []
        self.calls: Counter[str] = Counter()

    @property
    def address(self) -> str:
        """The resource mailbox's SMTP address."""
        return self._address

    # --- the test's side ---------------------------------------------------------------------

    def deliver(self, *messages: MeetingMessage) -> None:
        """Put messages in the inbox (as Exchange delivers them) and wake a waiter."""
        with self._lock:
            for message in messages:
                self._log.append(message)
                self._in_inbox.add(message.message_id)
                if message.kind in (MessageKind.NEW, MessageKind.UPDATE):
                    self._remember(message)
            self._pending_wake = True
            self._lock.notify_all()

    def remove(self, message_id: str) -> None:
        """Take a message out of the inbox (someone deleted it)."""
        with self._lock:
            self._in_inbox.discard(message_id)

    def inbox(self) -> list[MeetingMessage]:
        """The messages still in the inbox, oldest first."""
        with self._lock:
            return [m for m in self._log if m.message_id in self._in_inbox]

    def expire_cursors(self) -> None:
        """Every cursor handed out so far becomes invalid."""
        with self._lock:
            self._epoch += 1

    def fail(self, operation: str, error: MailboxError, *, times: int = 1) -> None:
        """The next `times` calls of `operation` raise `error` (before doing anything)."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {OPERATIONS}")
        with self._lock:
            self._failures[operation].extend([error] * times)

    def fail_after_send(self, times: int = 1) -> None:
        """The next `times` replies are sent, then fail as a lost connection would."""
        with self._lock:
            self._fail_after_send += times

    def replies_to(self, message_id: str) -> list[SentReply]:
        """The replies sent to one request."""
        with self._lock:
            return [r for r in self.replies if r.message_id == message_id]

    def meeting_body(self, organizer_email: str, uid: str) -> str | None:
        """The organizer's meeting body as the fake keeps it (None: no such meeting)."""
        with self._lock:
            meeting = self._meetings.get(_meeting_key(organizer_email, uid))
            return None if meeting is None else meeting.body_html

    # --- the port ------------------------------------------------------------------------------

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        """The next `limit` deliveries after `cursor` (None: what is in the inbox now)."""
        with self._lock:
            self._enter("fetch_changes")
            position = self._position(cursor)
            wanted = max(1, limit)
            page: list[MeetingMessage] = []
            index = position
            while index < len(self._log) and len(page) < wanted:
                message = self._log[index]
                index += 1
                if cursor is None and message.message_id not in self._in_inbox:
                    continue
                page.append(message)
            more = index < len(self._log)
            return ChangePage(messages=page, cursor=f"{self._epoch}:{index}", more=more)

    def reply(self, reply: Reply) -> bool:
        """Send `reply` once per idempotency key; the answered request leaves the inbox.

        Like the EWS adapter, it looks for an earlier reply only when ``reply.maybe_sent``: a
        caller that vouches wrongly gets a duplicate, which tests can see.
        """
        with self._lock:
            self._enter("reply")
            if reply.maybe_sent:
                self.calls["reply:lookup"] += 1
                if any(sent.idempotency_key == reply.idempotency_key for sent in self.replies):
                    return False
            request = self._message(reply.message_id)
            if request is None or reply.message_id not in self._in_inbox:
                raise MessageGoneError(f"no request {reply.message_id} in {self._address}")
            self.replies.append(
                SentReply(
                    message_id=reply.message_id,
                    kind=reply.kind,
                    body_html=reply.body_html,
                    idempotency_key=reply.idempotency_key,
                    organizer_email=request.organizer_email,
                    sent_at=self._clock(),
                )
            )
            self._in_inbox.discard(reply.message_id)
            if self._fail_after_send:
                self._fail_after_send -= 1
                raise MailboxUnavailableError("connection lost after the reply was sent")
            return True

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        """Update the organizer's meeting once per marker, and echo the update to the inbox."""
        with self._lock:
            self._enter("write_instructions")
            meeting = self._meetings.get(_meeting_key(update.organizer_email, update.uid))
            if meeting is None:
                raise MessageGoneError(
                    f"no meeting {update.uid} in {update.organizer_email}'s calendar"
                )
            if update.marker in meeting.markers:
                return False
            meeting.markers.add(update.marker)
            meeting.body_html = insert_instructions(
                meeting.body_html,
                update.body_html,
                replace_placeholder=update.replace_placeholder,
                placeholder_text=update.placeholder_text,
            )
            meeting.sequence += 1
            self.writes.append(update)
            if self.echo_writes:
                self._echo(meeting, update)
            return True

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        """Block until a delivery (since the last wait) or `timeout`."""
        with self._lock:
            if self._closed:  # as the EWS adapter: a closed mailbox waits no more
                self.calls["wait_for_changes"] += 1
                return WatchEvents(changed=False, push_healthy=False, detail=("closed",))
            self._enter("wait_for_changes")
            changed = self._lock.wait_for(
                lambda: self._pending_wake or self._closed, timeout.total_seconds()
            )
            self._pending_wake = False
            return WatchEvents(
                changed=bool(changed) and not self._closed, push_healthy=self.push_healthy
            )

    def read_marker(self) -> InstallationMarker | None:
        """The installation marker (`marker`; a test may set it to play another installation)."""
        with self._lock:
            self._enter("read_marker")
            return self.marker

    def write_marker(self, marker: InstallationMarker) -> None:
        """Create or replace the installation marker."""
        with self._lock:
            self._enter("write_marker")
            self.marker = marker

    def close(self) -> None:
        """Stop: waiters return, later calls fail."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    # --- inside --------------------------------------------------------------------------------

    def _enter(self, operation: str) -> None:
        self.calls[operation] += 1
        if self._closed:
            raise MailboxError("the mailbox connection is closed")
        queued = self._failures[operation]
        if queued:
            raise queued.popleft()

    def _position(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        epoch, _, index = cursor.partition(":")
        if not epoch.isdigit() or not index.isdigit() or int(epoch) != self._epoch:
            raise CursorExpiredError(f"{self._address}: the cursor is no longer valid")
        return min(int(index), len(self._log))

    def _message(self, message_id: str) -> MeetingMessage | None:
        return next((m for m in self._log if m.message_id == message_id), None)

    def _remember(self, message: MeetingMessage) -> None:
        key = _meeting_key(message.organizer_email, message.uid)
        known = self._meetings.get(key)
        if known is None or message.sequence >= known.sequence:
            self._meetings[key] = _Meeting(
                organizer_email=message.organizer_email,
                uid=message.uid,
                body_html=message.body_html,
                sequence=message.sequence,
                template=message,
                markers=set() if known is None else known.markers,
            )

    def _echo(self, meeting: _Meeting, update: InstructionsUpdate) -> None:
        # Exchange sends the organizer's update to every attendee, the resource included.
        self._echo_count += 1
        echoed = dataclasses.replace(
            meeting.template,
            message_id=f"{meeting.template.message_id}#update{self._echo_count}",
            kind=MessageKind.UPDATE,
            sequence=meeting.sequence,
            body_html=meeting.body_html,
            received=self._clock(),
            marker=update.marker,
        )
        self._log.append(echoed)
        self._in_inbox.add(echoed.message_id)
        meeting.template = echoed
        self._pending_wake = True
        self._lock.notify_all()


def _meeting_key(organizer_email: str, uid: str) -> tuple[str, str]:
    return organizer_email.strip().casefold(), uid.strip()
