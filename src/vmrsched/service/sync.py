"""One pass over the resource mailbox: read what changed, decide, record. Nothing is sent here.

``sync_mailbox`` reads the changes page by page from the stored cursor. For each message it asks
the store whether that delivery was decided before (its key: mailbox + message id); if not, it
plans (pure domain code) and records the decision, the booking it leads to and its pending effects
in one transaction (``Store.record_decision``). Up to ``DECISIONS_PER_COMMIT`` messages are
recorded in one batch (``Store.batch``: one commit, one disk flush, each decision still all or
nothing). Only when every message of a page is committed does the cursor move. Effects are
performed afterwards by `vmrsched.service.apply`, and only ever on committed decisions. Each pass
ends by extending the series bookings whose horizon came near (`vmrsched.service.horizon`).

A crash at any line therefore loses nothing and does nothing twice: before the cursor moves, the
page is read again and its messages are found decided; after it moves, the decisions are recorded
and their effects pending. When the mailbox says the cursor expired, the pass reads the whole
folder again from the start; duplicate detection by message key keeps that exactly-once too.
"""

import dataclasses
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import structlog

from vmrsched.domain.actions import (
    Accept,
    Book,
    Decision,
    Decline,
    Ignore,
    MoveWindows,
    Outcome,
    Rebook,
    Release,
    WriteInstructions,
    correlation_id_for,
)
from vmrsched.domain.bookings import Booking, BookingState
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.domain.planner import MissingToken, plan, plan_general_error
from vmrsched.domain.reservations import Reservation, new_reservation
from vmrsched.domain.tokens import TokenKind, read_token
from vmrsched.ports.mailbox import CursorExpiredError, Mailbox
from vmrsched.ports.store import (
    ConflictError,
    IncomingMessage,
    NewEffect,
    Store,
    StoreError,
)
from vmrsched.service import crashpoints
from vmrsched.service.clock import Clock
from vmrsched.service.effects import instructions_effect, reply_effect
from vmrsched.service.horizon import extend_series
from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)

#: The folder whose cursor a pass keeps (meeting messages arrive in the inbox).
INBOX: Final = "inbox"
#: Messages decided per commit: one disk flush for this many decisions, while the write lock
#: (SQLite) is held for a fraction of a second at a time.
DECISIONS_PER_COMMIT: Final = 25
#: How often one message is planned again after the store refused what was planned (a drawn
#: alias was taken meanwhile, a reservation was used by another meeting in between).
PLAN_ATTEMPTS: Final = 3


def message_key(mailbox: str, message_id: str) -> str:
    """The key that tells deliveries apart: the same message in the same mailbox is one key."""
    return f"{mailbox.strip().casefold()}/{message_id}"


@dataclass(frozen=True)
class Processed:
    """What a pass did with one message. ``fresh`` is False for a delivery decided before."""

    message_key: str
    meeting_key: str | None
    outcome: Outcome
    reason: str
    correlation_id: str
    fresh: bool


@dataclass(frozen=True)
class PassReport:
    """What one pass read and decided."""

    pages: int
    processed: tuple[Processed, ...]
    resynced: bool
    extended: int = 0  # series bookings extended as time passed (`horizon.extend_series`)

    @property
    def decided(self) -> int:
        """How many messages got a decision in this pass."""
        return sum(1 for item in self.processed if item.fresh)

    @property
    def duplicates(self) -> int:
        """How many messages had been decided before (re-read after a crash or a resync)."""
        return sum(1 for item in self.processed if not item.fresh)


@dataclass(frozen=True)
class _Draft:
    """A decision with everything ``record_decision`` writes along with it."""

    decision: Decision
    effects: tuple[NewEffect, ...]
    booking: Booking | None
    reservation: Reservation | None


def sync_mailbox(
    mailbox: Mailbox,
    store: Store,
    clock: Clock,
    rules: Rules,
    *,
    page_size: int = 100,
    rng: random.Random | None = None,
) -> PassReport:
    """Read every change since the stored cursor and record a decision for each new message.

    Raises the mailbox's errors (`MailboxUnavailableError`, `MailboxAuthError`, ...) and
    retryable store errors: the pass stops where it is, and the next one resumes from the last
    stored cursor. `rng` draws aliases for the allocate flow (``secrets.SystemRandom`` by default).
    """
    one_pass = _Pass(
        mailbox, store, clock, rules, rng if rng is not None else secrets.SystemRandom()
    )
    return one_pass.run(page_size)


@dataclass(frozen=True)
class _Pass:
    mailbox: Mailbox
    store: Store
    clock: Clock
    rules: Rules
    rng: random.Random

    def run(self, page_size: int) -> PassReport:
        address, store = self.mailbox.address, self.store
        cursor = store.get_cursor(address, INBOX)
        processed: list[Processed] = []
        pages = 0
        resynced = False
        while True:
            try:
                page = self.mailbox.fetch_changes(cursor, limit=page_size)
            except CursorExpiredError:
                if resynced:
                    raise
                log.warning("cursor_expired", mailbox=address, action="reading the folder again")
                store.set_cursor(address, INBOX, None, now=self.clock())
                cursor, resynced = None, True
                continue
            pages += 1
            messages = page.messages
            for first in range(0, len(messages), DECISIONS_PER_COMMIT):
                with store.batch():
                    chunk = messages[first : first + DECISIONS_PER_COMMIT]
                    processed.extend(self.process(message) for message in chunk)
            store.set_cursor(address, INBOX, page.cursor, now=self.clock())
            crashpoints.reached("cursor")
            cursor = page.cursor
            if not page.more:
                break
        extended = extend_series(store, self.clock, self.rules, mailbox=address)
        report = PassReport(
            pages=pages, processed=tuple(processed), resynced=resynced, extended=extended
        )
        if report.processed:
            log.info(
                "pass_done",
                mailbox=address,
                pages=pages,
                decided=report.decided,
                duplicates=report.duplicates,
                resynced=resynced,
            )
        return report

    def process(self, message: MeetingMessage) -> Processed:
        """Decide one message and record the decision, unless this delivery was decided."""
        address, store = self.mailbox.address, self.store
        key = message_key(address, message.message_id)
        earlier = store.get_decision(key)
        if earlier is not None:
            return _processed(key, earlier.decision, earlier.message.meeting_key, fresh=False)
        meeting_key = None if message.kind is MessageKind.OTHER else message.meeting_key
        incoming = IncomingMessage(
            key=key,
            mailbox=address,
            meeting_key=meeting_key,
            correlation_id=correlation_id_for(message.message_id),
        )
        now = self.clock()
        problem = ""
        for _ in range(PLAN_ATTEMPTS):
            draft = self.draft_or_error(key, message, now)
            try:
                recorded = store.record_decision(
                    incoming,
                    draft.decision,
                    draft.effects,
                    now=now,
                    booking=draft.booking,
                    reservation=draft.reservation,
                )
            except ConflictError as exc:
                # A drawn alias was taken meanwhile, or a reservation was used by another
                # meeting in between: plan again with what the store holds now.
                problem = str(exc)
                continue
            break
        else:
            draft = _general_error(key, message, self.rules, f"the store refused: {problem}")
            recorded = store.record_decision(incoming, draft.decision, draft.effects, now=now)
        if recorded.fresh:
            crashpoints.reached("decision")
            decision = recorded.decision
            log.info(
                "message_decided",
                mailbox=address,
                message_key=key,
                meeting=meeting_key,
                kind=message.kind.value,
                outcome=decision.outcome.value,
                reason=decision.reason,
                correlation_id=decision.correlation_id,
                effects=[effect.kind for effect in recorded.effects],
            )
        return _processed(key, recorded.decision, meeting_key, fresh=recorded.fresh)

    def draft_or_error(self, key: str, message: MeetingMessage, now: datetime) -> _Draft:
        """The draft for ``message``, or the general-error decline when planning fails."""
        try:
            return self.draft(key, message, now)
        except StoreError as exc:
            if exc.retryable:
                raise  # the database is away: stop the pass, the cursor has not moved
            log.exception("planning_failed", message_key=key)
            reason = f"the store failed: {type(exc).__name__}"
        except Exception as exc:  # a bug or data nobody foresaw: answer, never leave it hanging
            log.exception("planning_failed", message_key=key)
            reason = f"internal error: {type(exc).__name__}"
        return _general_error(key, message, self.rules, reason)

    def draft(self, key: str, message: MeetingMessage, now: datetime) -> _Draft:
        """Plan ``message`` and work out the booking, reservation and effects to record."""
        rules = self.rules
        if message.kind is MessageKind.OTHER:
            return _Draft(plan(message, None, None, now, rules.policy), (), None, None)
        booking = self.store.booking_for_meeting(message.meeting_key)
        reservation, drawn = self.reservation_for(message, booking, now)
        decision = plan(message, booking, reservation, now, rules.policy)
        new_booking = _booking_after(decision, booking, now, self.rng)
        allocated = any(
            isinstance(action, Book | Rebook) and action.new_reservation
            for action in decision.actions
        )
        effects = self.effects(key, message, decision, reservation if drawn else None)
        return _Draft(decision, effects, new_booking, reservation if drawn and allocated else None)

    def reservation_for(
        self, message: MeetingMessage, booking: Booking | None, now: datetime
    ) -> tuple[Reservation | None, bool]:
        """The reservation the body's token names, or one drawn for the allocate flows (True)."""
        if message.kind is MessageKind.CANCEL:
            return None, False
        reading = read_token(message.body_text, message.body_html)
        if reading.kind is TokenKind.SIGNED and reading.token_id is not None:
            return self.store.get_reservation(reading.token_id), False
        if booking is not None and booking.is_active:
            return None, False  # a booked meeting that lost its token is healed, not re-booked
        policy = self.rules.policy
        if (
            reading.kind is not TokenKind.PLACEHOLDER
            and policy.missing_token is MissingToken.REJECT
        ):
            return None, False
        fresh = new_reservation(
            organizer=message.organizer_email,
            alias_format=self.rules.alias_format,
            rng=self.rng,
            now=now,
            ttl=self.rules.reservation_ttl,
        )
        return fresh, True

    def effects(
        self,
        key: str,
        message: MeetingMessage,
        decision: Decision,
        drawn: Reservation | None,
    ) -> tuple[NewEffect, ...]:
        """The effects of ``decision``'s actions, texts rendered, in the planner's order."""
        effects: list[NewEffect] = []
        for action in decision.actions:
            if isinstance(action, Accept | Decline):
                effects.append(reply_effect(key, message.message_id, action, self.rules))
            elif isinstance(action, WriteInstructions):
                reservation = (
                    drawn
                    if drawn is not None and drawn.token_id == action.token_id
                    else self.store.get_reservation(action.token_id)
                )
                if reservation is None:
                    raise LookupError(f"reservation {action.token_id} vanished")
                effects.append(instructions_effect(key, action, reservation, self.rules))
        return tuple(effects)


def _processed(key: str, decision: Decision, meeting_key: str | None, *, fresh: bool) -> Processed:
    return Processed(
        message_key=key,
        meeting_key=meeting_key,
        outcome=decision.outcome,
        reason=decision.reason,
        correlation_id=decision.correlation_id,
        fresh=fresh,
    )


def _booking_after(
    decision: Decision, booking: Booking | None, now: datetime, rng: random.Random
) -> Booking | None:
    """The booking's state once the decision's booking actions are applied (None: unchanged)."""
    current = booking
    changed = False
    for action in decision.actions:
        if isinstance(action, Book):
            current = Booking(
                booking_id=current.booking_id if current is not None else _booking_id(rng),
                meeting_key=action.meeting_key,
                alias=action.alias,
                numeric_alias=action.numeric_alias,
                token_id=action.token_id,
                windows=action.windows,
                state=BookingState.ACTIVE,
                sequence_seen=max(action.sequence, current.sequence_seen if current else 0),
                created=current.created if current is not None else now,
                updated=now,
                series=action.series,
            )
        elif current is None:
            continue
        elif isinstance(action, MoveWindows):
            current = dataclasses.replace(
                current,
                windows=action.windows,
                sequence_seen=max(current.sequence_seen, action.sequence),
                updated=now,
                series=action.series,
            )
        elif isinstance(action, Rebook):
            current = dataclasses.replace(
                current,
                token_id=action.token_id,
                alias=action.alias,
                numeric_alias=action.numeric_alias,
                windows=action.windows,
                state=BookingState.ACTIVE,
                sequence_seen=max(current.sequence_seen, action.sequence),
                updated=now,
                series=action.series,
            )
        elif isinstance(action, Release):
            current = dataclasses.replace(
                current,
                state=BookingState.RELEASED,
                windows=(),
                sequence_seen=max(current.sequence_seen, action.sequence),
                updated=now,
            )
        else:
            continue
        changed = True
    return current if changed else None


def _booking_id(rng: random.Random) -> str:
    return f"bk-{uuid.UUID(int=rng.getrandbits(128)).hex[:20]}"


def _general_error(key: str, message: MeetingMessage, rules: Rules, reason: str) -> _Draft:
    """Decline with the general-error template; the meeting's booking, if any, is kept."""
    if message.kind in (MessageKind.OTHER, MessageKind.CANCEL):
        # Nobody waits for an answer to these: record why, send nothing.
        decision = Decision(
            message_id=message.message_id,
            meeting_key=message.meeting_key,
            outcome=Outcome.IGNORED,
            actions=(Ignore(reason),),
            correlation_id=correlation_id_for(message.message_id),
            reason=reason,
        )
        return _Draft(decision, (), None, None)
    decision = plan_general_error(message, rules.policy, reason)
    effects = _reply_effects(key, message, decision.actions, rules)
    return _Draft(decision, effects, None, None)


def _reply_effects(
    key: str, message: MeetingMessage, actions: Sequence[object], rules: Rules
) -> tuple[NewEffect, ...]:
    return tuple(
        reply_effect(key, message.message_id, action, rules)
        for action in actions
        if isinstance(action, Accept | Decline)
    )
