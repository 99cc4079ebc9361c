"""Support for the service tests: a manual clock, the fake mailbox, messages and rules.

`FakeMailbox` is the shipped in-memory mailbox (`vmrsched.adapters.fake_mailbox`) with two
events added so that tests wait for a reply or a read instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vmrsched.adapters import fake_mailbox
from vmrsched.config import compile_templates
from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.domain.reservations import Reservation, new_reservation
from vmrsched.domain.scheduling_policy import MissingToken, SchedulingPolicy
from vmrsched.domain.tokens import TokenKey, issue_token
from vmrsched.service.rules import Rules

if TYPE_CHECKING:
    from vmrsched.adapters.db import SqlStore
    from vmrsched.ports.mailbox import ChangePage, Reply

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


class FakeMailbox(fake_mailbox.FakeMailbox):
    """The shipped fake, with events a test can wait on (no sleeping)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replied = threading.Event()
        self.fetched = threading.Event()

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        try:
            return super().fetch_changes(cursor, limit=limit)
        finally:
            self.fetched.set()

    def reply(self, reply: Reply) -> bool:
        sent = super().reply(reply)
        self.replied.set()
        return sent


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
