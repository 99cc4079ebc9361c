"""Decisions, effects and the audit log, as statements on a connection (one transaction).

`SqlStore` opens the transaction; these functions do the work inside it, so that recording a
decision, its booking and its effects is a single commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from vmrsched.adapters.db import claims, mapping
from vmrsched.adapters.db.dialects import insert
from vmrsched.adapters.db.tables import effects as effects_table
from vmrsched.adapters.db.tables import events, messages
from vmrsched.ports.store import (
    JSON,
    ConflictError,
    Effect,
    EffectNotFoundError,
    EffectState,
    Event,
    IncomingMessage,
    RecordedDecision,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from vmrsched.domain.actions import Decision
    from vmrsched.domain.bookings import Booking
    from vmrsched.domain.reservations import Reservation
    from vmrsched.ports.store import NewEffect


def decision(conn: Connection, message_key: str) -> RecordedDecision | None:
    row = (
        conn.execute(sa.select(messages).where(messages.c.message_key == message_key))
        .mappings()
        .one_or_none()
    )
    if row is None:
        return None
    return RecordedDecision(
        message=IncomingMessage(
            key=row["message_key"],
            mailbox=row["mailbox"],
            meeting_key=row["meeting_key"],
            correlation_id=row["correlation_id"],
        ),
        decision=mapping.decision_from_json(row["decision"]),
        decided_at=row["decided_at"],
        effects=effects_of(conn, message_key),
        fresh=False,
    )


def effects_of(conn: Connection, message_key: str) -> tuple[Effect, ...]:
    rows = (
        conn.execute(
            sa.select(effects_table)
            .where(effects_table.c.message_key == message_key)
            .order_by(effects_table.c.effect_id)
        )
        .mappings()
        .all()
    )
    return tuple(mapping.effect_from_row(r) for r in rows)


def effect(conn: Connection, effect_id: int) -> Effect:
    row = (
        conn.execute(sa.select(effects_table).where(effects_table.c.effect_id == effect_id))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise EffectNotFoundError(effect_id)
    return mapping.effect_from_row(row)


def effect_event(
    conn: Connection, kind: str, effect: Effect, now: datetime, detail: dict[str, JSON]
) -> None:
    add_event(
        conn,
        kind,
        at=now,
        meeting_key=effect.meeting_key,
        message_key=effect.message_key,
        effect_id=effect.effect_id,
        correlation_id=effect.correlation_id,
        detail={"kind": effect.kind, "key": effect.idempotency_key, **detail},
    )


def add_event(
    conn: Connection,
    kind: str,
    *,
    at: datetime,
    meeting_key: str | None,
    message_key: str | None = None,
    effect_id: int | None = None,
    correlation_id: str | None = None,
    detail: Mapping[str, JSON] | None = None,
) -> Event:
    values = {
        "at": at,
        "kind": kind,
        "meeting_key": meeting_key,
        "message_key": message_key,
        "effect_id": effect_id,
        "correlation_id": correlation_id,
        "detail": dict(detail or {}),
    }
    event_id = conn.execute(sa.insert(events).values(values)).inserted_primary_key
    if event_id is None:  # pragma: no cover - both dialects report the new key
        raise ConflictError("event not stored")
    return mapping.event_from_row({"event_id": event_id[0], **values})


def record(
    conn: Connection,
    message: IncomingMessage,
    decision_: Decision,
    new_effects: Sequence[NewEffect],
    *,
    now: datetime,
    booking: Booking | None,
    reservation: Reservation | None,
) -> RecordedDecision:
    decision_json = mapping.decision_to_json(decision_)
    inserted = conn.execute(
        insert(conn, messages)
        .values(
            message_key=message.key,
            mailbox=message.mailbox,
            meeting_key=message.meeting_key,
            correlation_id=message.correlation_id,
            decision=decision_json,
            decided_at=now,
        )
        .on_conflict_do_nothing(index_elements=[messages.c.message_key])
        .returning(messages.c.message_key)
    ).first()
    if inserted is None:
        existing = decision(conn, message.key)
        if existing is None:  # pragma: no cover - the row that conflicted is there
            raise ConflictError(f"message {message.key!r} conflicted but is not recorded")
        return existing
    if reservation is not None:
        claims.insert_reservation(conn, reservation)
    if booking is not None:
        claims.save_booking(conn, booking)
    if new_effects:
        conn.execute(
            insert(conn, effects_table).on_conflict_do_nothing(
                index_elements=[effects_table.c.idempotency_key]
            ),
            [
                {
                    "idempotency_key": e.idempotency_key,
                    "message_key": message.key,
                    "meeting_key": message.meeting_key,
                    "correlation_id": message.correlation_id,
                    "kind": e.kind,
                    "payload": dict(e.payload),
                    "state": EffectState.PENDING.value,
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": now,
                    "result": None,
                    "created": now,
                    "updated": now,
                }
                for e in new_effects
            ],
        )
    recorded = effects_of(conn, message.key)
    add_event(
        conn,
        "decision",
        at=now,
        meeting_key=message.meeting_key,
        message_key=message.key,
        correlation_id=message.correlation_id,
        detail={
            "mailbox": message.mailbox,
            "decision": decision_json,
            "booking_id": None if booking is None else booking.booking_id,
            "effects": [
                {"effect_id": e.effect_id, "kind": e.kind, "key": e.idempotency_key}
                for e in recorded
            ],
        },
    )
    return RecordedDecision(
        message=message, decision=decision_, decided_at=now, effects=recorded, fresh=True
    )


def mark_started(conn: Connection, effect_ids: Sequence[int], *, now: datetime) -> None:
    missing = set(effect_ids) - set(
        conn.execute(
            sa.select(effects_table.c.effect_id).where(effects_table.c.effect_id.in_(effect_ids))
        ).scalars()
    )
    if missing:
        raise EffectNotFoundError(min(missing))
    conn.execute(
        sa.update(effects_table)
        .where(effects_table.c.effect_id.in_(effect_ids))
        .where(effects_table.c.attempt_started.is_(None))
        .values(attempt_started=now)
    )


def mark_done(conn: Connection, effect_id: int, result: JSON, *, now: datetime) -> Effect:
    current = effect(conn, effect_id)
    if current.state is EffectState.DONE:
        return current  # done twice is done once
    conn.execute(
        sa.update(effects_table)
        .where(effects_table.c.effect_id == effect_id)
        .values(
            state=EffectState.DONE.value,
            attempts=effects_table.c.attempts + 1,
            result=result,
            updated=now,
        )
    )
    done = effect(conn, effect_id)
    effect_event(conn, "effect_done", done, now, {"result": result})
    return done


def mark_failed(
    conn: Connection, effect_id: int, error: str, *, now: datetime, retry_at: datetime | None
) -> Effect:
    current = effect(conn, effect_id)
    if current.state is EffectState.DONE:
        raise ConflictError(f"effect {effect_id} is already done")
    state = EffectState.PENDING if retry_at is not None else EffectState.FAILED
    conn.execute(
        sa.update(effects_table)
        .where(effects_table.c.effect_id == effect_id)
        .values(
            state=state.value,
            attempts=effects_table.c.attempts + 1,
            last_error=error,
            next_attempt_at=retry_at if retry_at is not None else now,
            updated=now,
        )
    )
    failed = effect(conn, effect_id)
    kind = "effect_retry" if retry_at is not None else "effect_failed"
    detail: dict[str, JSON] = {"error": error, "attempts": failed.attempts}
    if retry_at is not None:
        detail["retry_at"] = retry_at.isoformat()
    effect_event(conn, kind, failed, now, detail)
    return failed
