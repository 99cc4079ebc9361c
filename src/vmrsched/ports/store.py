"""The store: what vmrsched remembers, in our words.

It holds reservations (each one also the claim on its alias), bookings with one window per
occurrence, the decision taken on every incoming message with the effects it still has to perform,
an audit log per meeting, read cursors and push subscriptions per mailbox folder, and a few
installation facts.

Exactly once, in three steps (STYLE habit 6):

1. ``record_decision`` writes the decision, the booking it leads to and its pending effects in one
   transaction, keyed by the message. A second delivery of the same message finds the first
   decision and gets it back (``RecordedDecision.fresh`` is False) instead of a second one.
2. The service records that it begins to perform effects (``start_effects``, committed before any
   of them acts), then performs each effect from ``pending_effects``. Every effect carries an
   idempotency key, so an attempt that follows a begun one (after a crash, a timeout) looks for
   its own earlier result before acting again; an effect never begun needs no look.
3. ``mark_effects_done`` / ``mark_effect_failed`` record the outcome.

The port is synchronous on purpose: both drivers (sqlite3, psycopg) block, transactions are short,
and the service calls the store from worker threads (``asyncio.to_thread``) so that one slow disk
never stalls the event loop. An async facade would only hide the same thread pool.

The errors, all subclasses of ``StoreError`` (``retryable`` says whether trying again may help),
are drawn as one tree in `vmrsched.ports.store_errors` and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

# Re-exported: the error tree is part of this port's contract, and some 20 modules (service,
# adapters, web, cli, tests) import its classes from here.
from vmrsched.ports.store_errors import (
    AliasSpaceExhaustedError,
    AliasTakenError,
    BookingExistsError,
    ConflictError,
    EffectNotFoundError,
    NotFoundError,
    ReservationNotFoundError,
    SchemaMismatchError,
    StoreError,
    StoreUnavailableError,
    TokenInUseError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from vmrsched.domain.actions import Decision
    from vmrsched.domain.bookings import Booking
    from vmrsched.domain.reservations import Reservation

# A JSON value as the store keeps it (payloads, results, audit details).
JSON = Any


class EffectState(StrEnum):
    """Where an effect is: waiting (first try or retry), performed, or given up."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class IncomingMessage:
    """The message a decision answers. ``key`` tells deliveries apart: mailbox + message id +
    change marker, built by the mailbox adapter; the same key twice is the same delivery."""

    key: str
    mailbox: str
    meeting_key: str | None
    correlation_id: str


@dataclass(frozen=True, kw_only=True)
class NewEffect:
    """An effect to perform after the decision is recorded.

    ``idempotency_key`` names the effect itself (e.g. "reply to message K"), not the attempt: a
    second effect with a key the store already holds is not added again.
    """

    idempotency_key: str
    kind: str
    payload: Mapping[str, JSON]


@dataclass(frozen=True, kw_only=True)
class Effect:
    """An effect as recorded, with its progress."""

    effect_id: int
    idempotency_key: str
    message_key: str
    meeting_key: str | None
    correlation_id: str
    kind: str
    payload: Mapping[str, JSON]
    state: EffectState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    result: JSON
    created: datetime
    updated: datetime
    #: When an attempt to perform it was first begun (None: never, so it cannot have acted).
    attempt_started: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordedDecision:
    """A message's decision as recorded. ``fresh``: this call recorded it (False: a duplicate)."""

    message: IncomingMessage
    decision: Decision
    decided_at: datetime
    effects: tuple[Effect, ...]
    fresh: bool


@dataclass(frozen=True, kw_only=True)
class Event:
    """One line of a meeting's audit log."""

    event_id: int
    at: datetime
    kind: str
    meeting_key: str | None
    message_key: str | None = None
    effect_id: int | None = None
    correlation_id: str | None = None
    detail: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class MeetingSummary:
    """A meeting as the resource mailbox has seen it: every decision taken on its messages,
    oldest first, when the newest was taken, and its booking (any state) if it has one."""

    meeting_key: str
    decisions: tuple[Decision, ...]
    correlation_ids: tuple[str, ...]
    last_at: datetime
    booking: Booking | None

    @property
    def last(self) -> Decision:
        """The newest decision."""
        return self.decisions[-1]


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """A push subscription held for a mailbox folder (EWS streaming, Graph notifications)."""

    subscription_id: str
    mailbox: str
    folder: str
    kind: str
    expires: datetime | None
    detail: Mapping[str, JSON]


class Store(Protocol):
    """What the service needs from a database. Every method is one transaction, except inside
    ``batch``."""

    def batch(self) -> AbstractContextManager[None]:
        """Group this thread's calls into one transaction, committed when the block ends (all
        rolled back if the block raises). A call that fails inside it undoes only its own
        changes; nothing is durable, or visible to others, before the block ends. Used to
        record many decisions with one commit (one disk flush) instead of one each."""
        ...

    # -- reservations ------------------------------------------------------------------------

    def add_reservation(
        self, make: Callable[[], Reservation], *, attempts: int = 20
    ) -> Reservation:
        """Store ``make()``'s reservation; when its alias, numeric alias or token id is taken,
        call ``make()`` again, up to ``attempts`` times (then ``AliasSpaceExhaustedError``)."""
        ...

    def get_reservation(self, token_id: str) -> Reservation | None:
        """The reservation with this token id, or None."""
        ...

    def use_reservation(self, token_id: str, meeting_key: str) -> Reservation:
        """Mark the reservation used by ``meeting_key`` (again: no change).

        ``TokenInUseError`` when another meeting uses it, ``ReservationNotFoundError`` when there
        is none."""
        ...

    def delete_expired_reservations(self, now: datetime) -> int:
        """Delete reservations no meeting used that expired by ``now`` or were marked expired or
        deleted (their aliases become free); return how many."""
        ...

    # -- bookings ----------------------------------------------------------------------------

    def get_booking(self, booking_id: str) -> Booking | None:
        """The booking with this id, with its windows, or None."""
        ...

    def booking_for_meeting(self, meeting_key: str) -> Booking | None:
        """The booking of this meeting, with its windows, or None."""
        ...

    def save_booking(self, booking: Booking) -> None:
        """Insert or update the booking and replace all its windows, in one transaction; marks
        its reservation used by its meeting (``TokenInUseError``, ``ReservationNotFoundError``)."""
        ...

    def live_booking_for_alias(self, alias: str, at: datetime) -> Booking | None:
        """The active booking whose alias or numeric alias is ``alias`` and one of whose windows
        contains ``at`` (start included, end excluded), or None."""
        ...

    def bookings_to_extend(self, before: datetime, *, limit: int = 100) -> list[Booking]:
        """Up to ``limit`` active bookings of series that have occurrences beyond their windows
        and were planned only up to a time before ``before``, the earliest planned first."""
        ...

    def booking_for_alias(self, alias: str) -> Booking | None:
        """The booking, in any state and at any time, whose alias (in any case) or numeric alias
        is ``alias``, or None. An alias stays its reservation's, so it names one booking."""
        ...

    # -- decisions and effects ---------------------------------------------------------------

    def record_decision(
        self,
        message: IncomingMessage,
        decision: Decision,
        effects: Sequence[NewEffect],
        *,
        now: datetime,
        booking: Booking | None = None,
        reservation: Reservation | None = None,
    ) -> RecordedDecision:
        """Record, all or nothing: the decision on ``message``; the reservation allocated for it
        if given (``AliasTakenError`` if its alias is held); the booking's new state if given (as
        ``save_booking``); the pending effects; an audit event. If the message was decided
        before, change nothing and return that decision (``fresh=False``)."""
        ...

    def get_decision(self, message_key: str) -> RecordedDecision | None:
        """The decision recorded for this message key, or None."""
        ...

    def recent_meetings(self, *, limit: int = 50) -> list[MeetingSummary]:
        """The ``limit`` meetings whose newest decided message is newest, newest first."""
        ...

    def find_meetings(
        self, *, key_prefix: str | None = None, correlation_id: str | None = None, limit: int = 10
    ) -> list[str]:
        """Up to ``limit`` keys, sorted, of meetings with a decided message whose meeting key
        starts with ``key_prefix`` and (when given) whose correlation id is ``correlation_id``."""
        ...

    def pending_effects(self, now: datetime, *, limit: int = 100) -> list[Effect]:
        """Pending effects due at ``now``, oldest first (by due time, then by recording order).

        Only the oldest pending effect of a meeting can be due: a meeting's effects go out in the
        order they were recorded, so a request's answer waiting for a retry is never overtaken by
        the answer to its update or cancellation.
        """
        ...

    def start_effects(self, effect_ids: Sequence[int], *, now: datetime) -> None:
        """Record, in one transaction, that attempts to perform these effects begin at ``now``
        (the first such record of an effect is kept). Call it before any of them acts."""
        ...

    def mark_effect_done(self, effect_id: int, result: JSON, *, now: datetime) -> Effect:
        """Record that the effect was performed, with what it produced."""
        ...

    def mark_effects_done(
        self, results: Sequence[tuple[int, JSON]], *, now: datetime
    ) -> list[Effect]:
        """``mark_effect_done`` for each (effect id, result), all in one transaction."""
        ...

    def mark_effect_failed(
        self, effect_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> Effect:
        """Record a failed attempt: try again at ``retry_at``, or give up when it is None."""
        ...

    # -- audit log ---------------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        *,
        at: datetime,
        meeting_key: str | None,
        message_key: str | None = None,
        effect_id: int | None = None,
        correlation_id: str | None = None,
        detail: Mapping[str, JSON] | None = None,
    ) -> Event:
        """Append a line to the audit log."""
        ...

    def events_for_meeting(self, meeting_key: str) -> list[Event]:
        """The meeting's audit log, oldest first."""
        ...

    # -- cursors, subscriptions, installation facts ------------------------------------------

    def get_cursor(self, mailbox: str, folder: str) -> str | None:
        """Where reading this mailbox folder resumes (EWS sync state, Graph delta link)."""
        ...

    def set_cursor(self, mailbox: str, folder: str, value: str | None, *, now: datetime) -> None:
        """Remember the cursor; None forgets it (the next pass reads the folder from scratch)."""
        ...

    def save_subscription(self, subscription: Subscription, *, now: datetime) -> None:
        """Insert or replace a subscription record."""
        ...

    def subscriptions(self, mailbox: str | None = None) -> list[Subscription]:
        """Subscriptions held, for one mailbox or all."""
        ...

    def delete_subscription(self, subscription_id: str) -> None:
        """Forget a subscription (no error if unknown)."""
        ...

    def get_fact(self, key: str) -> str | None:
        """An installation fact (installation id, ...), or None."""
        ...

    def set_fact(self, key: str, value: str, *, now: datetime) -> None:
        """Set an installation fact."""
        ...

    def ensure_fact(self, key: str, value: str, *, now: datetime) -> str:
        """Set the fact unless it is set; return the value stored (the first writer wins)."""
        ...


__all__ = [
    "JSON",
    "AliasSpaceExhaustedError",
    "AliasTakenError",
    "BookingExistsError",
    "ConflictError",
    "Effect",
    "EffectNotFoundError",
    "EffectState",
    "Event",
    "IncomingMessage",
    "MeetingSummary",
    "NewEffect",
    "NotFoundError",
    "RecordedDecision",
    "ReservationNotFoundError",
    "SchemaMismatchError",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "Subscription",
    "TokenInUseError",
]
