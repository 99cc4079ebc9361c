"""Support for the service tests: a manual clock, a minimal mailbox double, messages and rules.

`DoubleMailbox` is a small local test double of the `Mailbox` port (kept until the shipped fake,
`vmrsched.adapters.fake_mailbox`, covers what these tests need): messages are appended to an
inbox, the cursor is the number of messages read, replies are kept by idempotency key, and
failures can be queued per operation.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vmrsched.config import compile_templates
from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.domain.planner import MissingToken, SchedulingPolicy
from vmrsched.domain.reservations import Reservation, new_reservation
from vmrsched.domain.tokens import TokenKey, issue_token
from vmrsched.ports.mailbox import (
    ChangePage,
    CursorExpiredError,
    InstructionsUpdate,
    MessageGoneError,
    Reply,
    WatchEvents,
)
from vmrsched.service.rules import Rules

if TYPE_CHECKING:
    from vmrsched.adapters.db import SqlStore

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = TokenKey(b"\x02" * 32)
RESOURCE = "vmr@contoso.com"
ALICE = "alice@contoso.com"
TEMPLATES = compile_templates({})
ALIASES = AliasFormat("81", 6, "vmr.contoso.com", "81")


class ManualClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def rules(**policy_changes: Any) -> Rules:
    """The service rules of the tests (policy fields may be overridden)."""
    policy = dataclasses.replace(SchedulingPolicy(token_key=KEY), **policy_changes)
    return Rules(policy=policy, templates=TEMPLATES, alias_format=ALIASES)


ALLOCATE = {"missing_token": MissingToken.ALLOCATE}


@dataclass
class DoubleMailbox:
    """A minimal in-memory `Mailbox`."""

    address: str = RESOURCE
    inbox: list[MeetingMessage] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)
    reply_calls: int = 0
    updates: dict[str, InstructionsUpdate] = field(default_factory=dict)
    failures: dict[str, deque[Exception]] = field(default_factory=lambda: defaultdict(deque))
    expired_cursors: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    changed: threading.Event = field(default_factory=threading.Event)
    replied: threading.Event = field(default_factory=threading.Event)
    fetched: threading.Event = field(default_factory=threading.Event)
    closed: bool = False
    fetches: int = 0

    def deliver(self, *messages: MeetingMessage) -> None:
        self.inbox.extend(messages)
        self.changed.set()

    def fail_next(self, operation: str, *errors: Exception) -> None:
        self.failures[operation].extend(errors)

    def _maybe_fail(self, operation: str) -> None:
        queue = self.failures.get(operation)
        if queue:
            raise queue.popleft()

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        self._maybe_fail("fetch_changes")
        self.fetches += 1
        self.fetched.set()
        if cursor is not None and cursor in self.expired_cursors:
            raise CursorExpiredError("sync state is no longer valid")
        start = 0 if cursor is None else int(cursor)
        end = min(start + limit, len(self.inbox))
        return ChangePage(self.inbox[start:end], str(end), more=end < len(self.inbox))

    def reply(self, reply: Reply) -> bool:
        self._maybe_fail("reply")
        self.reply_calls += 1
        if reply.message_id in self.gone:
            raise MessageGoneError(f"{reply.message_id} is gone")
        if reply.idempotency_key in self.replies:
            return False
        self.replies[reply.idempotency_key] = reply
        self.replied.set()
        return True

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        self._maybe_fail("write_instructions")
        if update.idempotency_key in self.updates:
            return False
        self.updates[update.idempotency_key] = update
        return True

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        changed = self.changed.wait(timeout.total_seconds())
        self.changed.clear()
        return WatchEvents(changed=changed)

    def close(self) -> None:
        self.closed = True
        self.changed.set()

    def replies_to(self, message_id: str) -> list[Reply]:
        return [r for r in self.replies.values() if r.message_id == message_id]


def reserve(store: SqlStore, organizer: str = ALICE, *, seed: int = 1) -> Reservation:
    """A reservation stored as `vmrsched reserve` would store it."""
    rng = random.Random(seed)
    return store.add_reservation(
        lambda: new_reservation(
            organizer=organizer,
            alias_format=ALIASES,
            rng=rng,
            now=NOW - timedelta(hours=1),
            ttl=timedelta(days=30),
        )
    )


def token_body(reservation: Reservation) -> str:
    """A body carrying the reservation's alias token, as the add-in inserts it."""
    token = issue_token(KEY, reservation.token_id, reservation.alias, reservation.created)
    return f"<p>Agenda</p><p>Join: {reservation.alias}</p><p>{token}</p>"


def meeting(
    message_id: str,
    *,
    uid: str = "UID-1",
    kind: MessageKind = MessageKind.NEW,
    sequence: int = 0,
    body_html: str = "<p>Agenda</p>",
    start: datetime | None = None,
    hours: float = 1,
    organizer: str = ALICE,
    **changes: Any,
) -> MeetingMessage:
    """A meeting message from Alice, by default two hours after NOW."""
    begin = start or NOW + timedelta(hours=2)
    return MeetingMessage(
        message_id=message_id,
        kind=kind,
        uid=uid,
        sequence=sequence,
        organizer_email=organizer,
        organizer_name="Alice Wilber",
        sender_email=organizer,
        subject="Quarterly review",
        body_html=body_html,
        start=begin,
        end=begin + timedelta(hours=hours),
        time_zone="Europe/Berlin",
        received=NOW,
        **changes,
    )
