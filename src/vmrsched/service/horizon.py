"""Series booked up to a horizon, extended as time passes (within each pass, on its clock).

A series without end (or ending beyond ``series_horizon``) is booked for the occurrences that
start within the horizon; its booking keeps what it was planned from (`SeriesPlan`). Once less
than half of the horizon is booked ahead, `extend_series` books the occurrences up to a full
horizon from now again, with the occurrence edits and cancellations read since.

Each extension is recorded like a message's decision (outcome ``series_extended``, no reply):
the new windows, the plan and an audit event in one transaction, under a key made of the
booking and the horizon it extends. A crash before the commit loses nothing (the next pass
extends again); a second attempt with the same key changes nothing.
"""

import dataclasses
from datetime import UTC
from typing import Final

import structlog

from vmrsched.domain.actions import Decision, MoveWindows, Outcome, correlation_id_for
from vmrsched.domain.windows import Buffers, extended_windows
from vmrsched.ports.store import IncomingMessage, Store
from vmrsched.service.clock import Clock
from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)

#: How many bookings one pass extends at most (the rest wait for the next pass).
EXTENSIONS_PER_PASS: Final = 100


def extend_series(
    store: Store, clock: Clock, rules: Rules, *, mailbox: str, limit: int = EXTENSIONS_PER_PASS
) -> int:
    """Extend the series bookings due for it; return how many were extended by this call."""
    policy = rules.policy
    now = clock()
    horizon = policy.series_horizon
    buffers = Buffers(policy.buffer_before, policy.buffer_after)
    extended = 0
    for booking in store.bookings_to_extend(now + horizon / 2, limit=limit):
        found = extended_windows(booking, now, buffers=buffers, horizon=horizon)
        if found is None or booking.series is None:
            continue
        windows, plan = found
        # The key names the booking and the horizon it extends: one extension per horizon.
        since = booking.series.planned_until.astimezone(UTC)
        message_id = f"series-extension/{booking.booking_id}/{since:%Y%m%dT%H%M%S}Z"
        added = len(windows) - len(booking.windows)
        until = plan.planned_until.astimezone(UTC)
        reason = f"series booked until {until:%Y-%m-%d %H:%M} UTC; {added} window(s) added"
        decision = Decision(
            message_id=message_id,
            meeting_key=booking.meeting_key,
            outcome=Outcome.SERIES_EXTENDED,
            actions=(MoveWindows(booking.booking_id, windows, booking.sequence_seen, plan),),
            correlation_id=correlation_id_for(message_id),
            reason=reason,
        )
        recorded = store.record_decision(
            IncomingMessage(
                key=message_id,
                mailbox=mailbox,
                meeting_key=booking.meeting_key,
                correlation_id=decision.correlation_id,
            ),
            decision,
            (),
            now=now,
            booking=dataclasses.replace(booking, windows=windows, series=plan, updated=now),
        )
        if recorded.fresh:
            extended += 1
            log.info(
                "series_extended",
                meeting=booking.meeting_key,
                booking=booking.booking_id,
                until=plan.planned_until.isoformat(),
                added=added,
                correlation_id=decision.correlation_id,
            )
    return extended
