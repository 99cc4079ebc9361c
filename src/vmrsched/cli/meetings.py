"""``vmrsched meetings list`` and ``vmrsched meetings show ID``, read through the store port."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

from vmrsched.adapters.db.mapping import decision_from_json
from vmrsched.cli.edge import OK, UsageError
from vmrsched.domain.actions import Accept, Decision, Decline
from vmrsched.service.effects import summarize

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.domain.bookings import Booking
    from vmrsched.ports.store import Event, MeetingSummary, Store

_CORRELATION = re.compile(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}")


@dataclass(frozen=True)
class MeetingLine:
    """One meeting as ``meetings list`` shows it."""

    meeting: str
    organizer: str
    subject: str
    alias: str
    booking: str
    outcome: str
    reason: str
    messages: int
    last_at: str
    correlation_id: str


def _variables(decision: Decision) -> dict[str, str]:
    reply = next((a for a in decision.actions if isinstance(a, Accept | Decline)), None)
    return dict(reply.variables) if reply is not None else {}


def recent_meetings(store: Store, *, limit: int = 50) -> list[MeetingLine]:
    """The meetings with the newest messages first."""
    return [_line(summary) for summary in store.recent_meetings(limit=limit)]


def _line(summary: MeetingSummary) -> MeetingLine:
    known: dict[str, str] = {}
    for decision in summary.decisions:
        known |= _variables(decision)
    booking = summary.booking
    return MeetingLine(
        meeting=summary.meeting_key,
        organizer=known.get("organizer_email", ""),
        subject=known.get("subject", ""),
        alias=booking.alias if booking is not None else "",
        booking=booking.state.value if booking is not None else "none",
        outcome=summary.last.outcome.value,
        reason=summary.last.reason,
        messages=len(summary.decisions),
        last_at=summary.last_at.isoformat(timespec="seconds"),
        correlation_id=summary.last.correlation_id,
    )


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)]).rstrip()


def list_meetings(store: Store, *, as_json: bool, out: TextIO, limit: int = 50) -> int:
    """Print the recent meetings as a table (or JSON)."""
    lines = recent_meetings(store, limit=limit)
    if as_json:
        print(json.dumps([asdict(line) for line in lines], indent=2), file=out)
        return OK
    if not lines:
        print("No meeting has reached the resource mailbox yet.", file=out)
        return OK
    rows = [
        [
            line.meeting[:12],
            line.last_at.replace("T", " ")[:16],
            line.organizer,
            line.subject[:30],
            line.outcome,
            line.alias or "-",
            line.booking,
        ]
        for line in lines
    ]
    print(
        _table(
            rows, ["MEETING", "LAST (UTC)", "ORGANIZER", "SUBJECT", "OUTCOME", "ALIAS", "BOOKING"]
        ),
        file=out,
    )
    print("\nDetails: vmrsched meetings show MEETING (a prefix of the key is enough)", file=out)
    return OK


def resolve(store: Store, ident: str) -> str:
    """The meeting key that ``ident`` names: a key (or its prefix), a booking id, a
    correlation id, or an alias."""
    booking = store.get_booking(ident)
    if booking is not None:
        return booking.meeting_key
    if _CORRELATION.fullmatch(ident):
        found = store.find_meetings(correlation_id=ident, limit=1)
        if found:
            return found[0]
    booking = store.booking_for_alias(ident)
    if booking is not None:
        return booking.meeting_key
    keys = store.find_meetings(key_prefix=ident, limit=2)
    if len(keys) > 1:
        raise UsageError(f"{ident!r} names more than one meeting", fix="give more of the key")
    return keys[0] if keys else ident


def _when(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _event_line(event: Event) -> str:
    detail = dict(event.detail)
    where = f"  [{event.correlation_id}]" if event.correlation_id else ""
    if event.kind == "decision":
        decision = decision_from_json(detail["decision"])
        effects = ", ".join(f"#{e['effect_id']} {e['kind']}" for e in detail.get("effects", []))
        text = f"decided {decision.outcome.value}: {decision.reason}"
        text += f"  (message {event.message_key})"
        if effects:
            text += f"\n{'':22}effects: {effects}"
        return f"{_when(event.at)}  {text}{where}"
    if event.kind.startswith("effect_"):
        what = detail.get("kind", "?")
        text = f"{event.kind.removeprefix('effect_')} #{event.effect_id} {what}"
        if "error" in detail:
            text += f": {detail['error']}"
        if "retry_at" in detail:
            text += f" (next try {detail['retry_at']})"
        if "result" in detail:
            text += f" → {json.dumps(detail['result'])}"
        return f"{_when(event.at)}  {text}{where}"
    return f"{_when(event.at)}  {event.kind} {json.dumps(detail)}{where}"


def _booking_lines(booking: Booking) -> list[str]:
    lines = [
        (
            f"booking {booking.booking_id}: {booking.state.value}, alias {booking.alias} "
            f"(numeric {booking.numeric_alias}), sequence seen {booking.sequence_seen}"
        ),
    ]
    lines += [
        f"  window {w.occurrence_key}: {_when(w.start)} .. {_when(w.end)}" for w in booking.windows
    ]
    return lines


def show_meeting(store: Store, ident: str, *, out: TextIO, as_json: bool = False) -> int:
    """Print every message, decision and effect of one meeting, with times and IDs."""
    meeting_key = resolve(store, ident)
    events = store.events_for_meeting(meeting_key)
    booking = store.booking_for_meeting(meeting_key)
    if not events and booking is None:
        raise UsageError(
            f"no meeting {ident!r}",
            fix="use a key from `vmrsched meetings list`, a booking id, an alias or a "
            "correlation id",
        )
    if as_json:
        document = {
            "meeting": meeting_key,
            "booking": None if booking is None else _booking_json(booking),
            "events": [_event_json(event) for event in events],
        }
        print(json.dumps(document, indent=2, default=str), file=out)
        return OK
    print(f"meeting {meeting_key}", file=out)
    for line in _booking_lines(booking) if booking is not None else ["no booking"]:
        print(line, file=out)
    print(file=out)
    for event in events:
        print(_event_line(event), file=out)
    pending = _pending_effects(store, events)
    if pending:
        print(f"\npending: {pending}", file=out)
    return OK


def _pending_effects(store: Store, events: list[Event]) -> str:
    keys = {event.message_key for event in events if event.message_key}
    waiting = []
    for key in sorted(keys):
        recorded = store.get_decision(key)
        if recorded is None:
            continue
        waiting += [
            f"#{e.effect_id} {summarize(e.kind, e.payload)} (next try {_when(e.next_attempt_at)})"
            for e in recorded.effects
            if e.state.value == "pending"
        ]
    return "; ".join(waiting)


def _booking_json(booking: Booking) -> dict[str, Any]:
    return {
        "booking_id": booking.booking_id,
        "alias": booking.alias,
        "numeric_alias": booking.numeric_alias,
        "state": booking.state.value,
        "sequence_seen": booking.sequence_seen,
        "windows": [
            {"occurrence": w.occurrence_key, "start": _when(w.start), "end": _when(w.end)}
            for w in booking.windows
        ],
    }


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "at": _when(event.at),
        "kind": event.kind,
        "message_key": event.message_key,
        "effect_id": event.effect_id,
        "correlation_id": event.correlation_id,
        "detail": dict(event.detail),
    }
