"""Decide one message: plan it (pure domain code) and work out what recording it writes.

A `Drafter` turns one `MeetingMessage` into a `Draft`: the planner's decision, the booking it
leads to, the reservation drawn for the allocate flows, and the effects (replies, instructions
updates) with their texts rendered, in the planner's order. It reads the store (the meeting's
booking, the body's reservation) but writes nothing: `vmrsched.service.sync` records the draft
in one transaction (``Store.record_decision``), or plans again if the store refuses it.
"""

import dataclasses
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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
from vmrsched.domain.planner import plan, plan_general_error
from vmrsched.domain.reservations import Reservation, new_reservation
from vmrsched.domain.scheduling_policy import MissingToken
from vmrsched.domain.tokens import TokenKind, read_token
from vmrsched.ports.store import NewEffect, Store, StoreError
from vmrsched.service.effects import instructions_effect, reply_effect
from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Draft:
    """A decision with everything ``record_decision`` writes along with it."""

    decision: Decision
    effects: tuple[NewEffect, ...]
    booking: Booking | None
    reservation: Reservation | None


@dataclass(frozen=True)
class Drafter:
    """Plans messages of one pass against what the store holds now."""

    store: Store
    rules: Rules
    rng: random.Random

    def draft_or_error(self, key: str, message: MeetingMessage, now: datetime) -> Draft:
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
        return general_error(key, message, self.rules, reason)

    def draft(self, key: str, message: MeetingMessage, now: datetime) -> Draft:
        """Plan ``message`` and work out the booking, reservation and effects to record."""
        rules = self.rules
        if message.kind is MessageKind.OTHER:
            return Draft(plan(message, None, None, now, rules.policy), (), None, None)
        booking = self.store.booking_for_meeting(message.meeting_key)
        reservation, drawn = self.reservation_for(message, booking, now)
        decision = plan(message, booking, reservation, now, rules.policy)
        new_booking = booking_after(decision, booking, now, self.rng)
        allocated = any(
            isinstance(action, Book | Rebook) and action.new_reservation
            for action in decision.actions
        )
        effects = self.effects(key, message, decision, reservation if drawn else None)
        return Draft(decision, effects, new_booking, reservation if drawn and allocated else None)

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


def booking_after(
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


def general_error(key: str, message: MeetingMessage, rules: Rules, reason: str) -> Draft:
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
        return Draft(decision, (), None, None)
    decision = plan_general_error(message, rules.policy, reason)
    effects = _reply_effects(key, message, decision.actions, rules)
    return Draft(decision, effects, None, None)


def _reply_effects(
    key: str, message: MeetingMessage, actions: Sequence[object], rules: Rules
) -> tuple[NewEffect, ...]:
    return tuple(
        reply_effect(key, message.message_id, action, rules)
        for action in actions
        if isinstance(action, Accept | Decline)
    )
