"""The planner: one message (with what we know of its meeting) in, one `Decision` out. Pure.

``plan`` never reads the clock, the store or the mailbox: the service passes the meeting's booking
(if any), the reservation named by the body's token (or, for the placeholder and allocate flows,
a fresh unsaved reservation it drew for this message), ``now`` and the `SchedulingPolicy`.

The order of the rules:

1. not a meeting message, or older than what the booking has seen: ignored;
2. a cancellation releases the booking (or one occurrence's window), without a reply;
3. an organizer outside ``allowed_organizer_domains`` is declined;
4. the body's alias token decides the rest: valid → book, move or keep; lost (absent, cut, or a
   placeholder) → allocate, heal, or decline by policy; forged or unknown → decline;
5. a valid token whose reservation names a *claimed* organizer (named by the add-in, not proven
   by its sign-in) is taken only by a meeting that this address organizes or sends as a
   delegate; any other meeting is declined (``REJECT_INVALID_ALIAS_ID``). A meeting that already
   took the reservation is not asked again: the check was made when it took it.

When the planner both answers and writes the instructions (placeholder and allocate flows,
healing with a new time), the answer comes first: a response to a request older than the
meeting's latest update is out of date ([MS-OXOCAL] 3.1.5.2) and the organizer's tracking would
not record the room's answer; the instructions update is informational, so the answer stands.

Anything that changes nothing for the booking (a duplicate delivery, a forward, our own update
coming back, an edit of the text only) is ignored: the earlier acceptance stands, and no second
VMR or second reply is ever made. So is another alias token in a copy of a booked meeting sent
by somebody other than its organizer at a sequence already acted on: an attendee's forward must
not move or release the organizer's VMR.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from vmrsched.domain.actions import (
    Accept,
    Action,
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
    variables,
)
from vmrsched.domain.bookings import Booking, SeriesPlan, same_windows
from vmrsched.domain.instructions import is_our_write, join_url, write_marker
from vmrsched.domain.meetings import MeetingMessage, MessageKind, organizer_domain
from vmrsched.domain.recurrence import occurrence_key, zone
from vmrsched.domain.reservations import Reservation, ReservationState
from vmrsched.domain.scheduling_policy import MissingToken, SchedulingPolicy
from vmrsched.domain.templates import TEMPLATE_VARIABLES, TemplateName
from vmrsched.domain.times import require_aware
from vmrsched.domain.tokens import TokenKind, TokenReading, read_token, verify_token
from vmrsched.domain.windows import Buffers, PlannedWindows, Scope, planned_windows

_NEW = {
    Scope.SINGLE: TemplateName.ACCEPT_NEW_SINGLE_MEETING,
    Scope.OCCURRENCE: TemplateName.ACCEPT_NEW_SINGLE_MEETING,
    Scope.SERIES: TemplateName.ACCEPT_NEW_RECURRING_SERIES,
}
_EDITED = {
    Scope.SINGLE: TemplateName.ACCEPT_EDITED_SINGLE_MEETING,
    Scope.OCCURRENCE: TemplateName.ACCEPT_EDITED_OCCURRENCE,
    Scope.SERIES: TemplateName.ACCEPT_EDITED_RECURRING_SERIES,
}


@dataclass(frozen=True)
class _Plan:
    """Everything a rule needs; ``decide`` turns actions into a Decision."""

    message: MeetingMessage
    booking: Booking | None  # active bookings only
    policy: SchedulingPolicy
    correlation_id: str

    def decide(self, outcome: Outcome, reason: str, *actions: Action) -> Decision:
        return Decision(
            message_id=self.message.message_id,
            meeting_key=self.message.meeting_key,
            outcome=outcome,
            actions=actions or (Ignore(reason),),
            correlation_id=self.correlation_id,
            reason=reason,
        )

    def variables_for(
        self, template: TemplateName, alias: str = "", numeric_alias: str = ""
    ) -> tuple[tuple[str, str], ...]:
        message = self.message
        values = {
            "subject": message.subject,
            "organizer_name": message.organizer_name or message.organizer_email,
            "organizer_email": message.organizer_email,
            "start_time": _local_text(message.start, message.time_zone),
            "end_time": _local_text(message.end, message.time_zone),
            "correlation_id": self.correlation_id,
            "addin_server_domain": self.policy.addin_server_domain,
            "alias": alias,
            "numeric_alias": numeric_alias,
            "join_url": join_url(self.policy.join_url_format, alias, numeric_alias),
        }
        allowed = TEMPLATE_VARIABLES[template]
        return variables({name: value for name, value in values.items() if name in allowed})

    def accept(self, template: TemplateName, alias: str, numeric_alias: str) -> Accept:
        return Accept(template, self.variables_for(template, alias, numeric_alias))

    def decline(self, outcome: Outcome, reason: str, *, alias: str = "") -> Decision:
        template = TemplateName(outcome.value)
        reply = Decline(template, self.variables_for(template, alias), reason)
        if self.booking is None:
            return self.decide(outcome, reason, reply)
        release = Release(self.booking.booking_id, reason, self.message.sequence)
        return self.decide(outcome, reason, release, reply)


def _local_text(value: datetime | None, time_zone: str) -> str:
    if value is None:
        return ""
    try:
        local = value.astimezone(zone(time_zone))
    except ValueError:
        local = value
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()


def plan(
    message: MeetingMessage,
    booking: Booking | None,
    reservation: Reservation | None,
    now: datetime,
    policy: SchedulingPolicy,
) -> Decision:
    """Decide what to do with ``message``. See the module docstring for the rules."""
    require_aware(now, "now")
    active = booking if booking is not None and booking.is_active else None
    ctx = _Plan(message, active, policy, correlation_id_for(message.message_id))
    if message.kind is MessageKind.OTHER:
        return ctx.decide(Outcome.IGNORED, "not a meeting request or cancellation")
    # Occurrence messages carry their own sequence numbers: they are not compared with the
    # series'; a duplicate of one changes nothing and is ignored further down.
    if booking is not None and not message.is_occurrence:
        seen = booking.sequence_seen
        if message.sequence < seen:
            return ctx.decide(Outcome.IGNORED, f"stale: sequence {message.sequence} < {seen}")
        if active is None and message.sequence == seen:
            # A released meeting comes back only with a newer request, never a duplicate.
            return ctx.decide(Outcome.IGNORED, f"released at sequence {seen}; not newer")
    if message.kind is MessageKind.CANCEL:
        return _cancel(ctx)
    if not policy.organizer_allowed(message.organizer_email):
        return ctx.decline(
            Outcome.REJECT_ORGANIZER_NOT_ALLOWED,
            f"organizer domain {organizer_domain(message.organizer_email)!r} is not allowed",
        )
    try:
        wanted = planned_windows(
            message,
            active,
            now,
            buffers=Buffers(policy.buffer_before, policy.buffer_after),
            horizon=policy.series_horizon,
        )
    except ValueError as exc:
        return plan_general_error(message, policy, f"cannot read the meeting's times: {exc}")
    reading = read_token(message.body_text, message.body_html)
    if reading.kind is TokenKind.SIGNED:
        return _signed(ctx, wanted, reading, reservation, now)
    return _without_token(ctx, wanted, reading, reservation)


def plan_general_error(message: MeetingMessage, policy: SchedulingPolicy, reason: str) -> Decision:
    """Decline with the general-error template (for failures the service meets while acting).

    Any booking is kept: the failure is ours, not the meeting's, and a later update retries.
    """
    ctx = _Plan(message, None, policy, correlation_id_for(message.message_id))
    return ctx.decline(Outcome.REJECT_GENERAL_ERROR, reason)


def _cancel(ctx: _Plan) -> Decision:
    booking, message = ctx.booking, ctx.message
    if booking is None:
        return ctx.decide(Outcome.IGNORED, "cancellation of a meeting that is not booked")
    if message.occurrence_original_start is None:
        reason = "meeting cancelled by its organizer"
        release = Release(booking.booking_id, reason, message.sequence)
        return ctx.decide(Outcome.CANCELLED, reason, release)
    key = occurrence_key(message.occurrence_original_start)
    kept = tuple(item for item in booking.windows if item.occurrence_key != key)
    plan = booking.series
    if plan is not None and not plan.is_deleted(message.occurrence_original_start):
        # Remembered even without a window (beyond the horizon), so that extending the series
        # later does not bring the occurrence back.
        plan = plan.with_deleted(message.occurrence_original_start)
    elif len(kept) == len(booking.windows):
        return ctx.decide(Outcome.IGNORED, f"cancelled occurrence {key} holds no window")
    move = MoveWindows(booking.booking_id, kept, message.sequence, plan)
    return ctx.decide(Outcome.CANCELLED, f"occurrence {key} cancelled", move)


def _past(ctx: _Plan, wanted: PlannedWindows) -> Decision:
    if wanted.scope is Scope.SERIES:
        return ctx.decline(
            Outcome.REJECT_RECURRING_SERIES_PAST, "every occurrence of the series is over"
        )
    reply_outcome = Outcome.REJECT_SINGLE_MEETING_PAST
    if wanted.scope is Scope.OCCURRENCE and ctx.booking is not None:
        # Decline this occurrence only: the rest of the series keeps its VMR.
        reason = "this occurrence is over"
        template = TemplateName(reply_outcome.value)
        move = MoveWindows(
            ctx.booking.booking_id, wanted.windows, ctx.message.sequence, wanted.series
        )
        reply = Decline(template, ctx.variables_for(template), reason)
        return ctx.decide(reply_outcome, reason, move, reply)
    return ctx.decline(reply_outcome, "the meeting is over")


def _signed(
    ctx: _Plan,
    wanted: PlannedWindows,
    reading: TokenReading,
    reservation: Reservation | None,
    now: datetime,
) -> Decision:
    message = ctx.message
    booking = ctx.booking
    if (  # an attendee's forward keeps organizer and sequence; a delegate's change is newer
        booking is not None
        and message.sent_by_another
        and not message.is_occurrence
        and message.sequence <= booking.sequence_seen
        and reading.token_id != booking.token_id
    ):
        return ctx.decide(
            Outcome.IGNORED,
            f"a copy sent by {message.sender_email} (a forward) at sequence {message.sequence} "
            "carries another alias token; the booking stands",
        )
    if reservation is None or reservation.token_id != reading.token_id:
        return ctx.decline(Outcome.REJECT_INVALID_ALIAS_ID, "alias token unknown here")
    if not verify_token(reading, ctx.policy.token_key, reservation.alias):
        return ctx.decline(Outcome.REJECT_INVALID_ALIAS_ID, "alias token signature is wrong")
    ours = reservation.meeting_key == message.meeting_key
    if not ours and not reservation.honoured_for(message.organizer_email, message.sender_email):
        return ctx.decline(
            Outcome.REJECT_INVALID_ALIAS_ID,
            f"alias token was reserved for {reservation.organizer}, "
            "who neither organizes nor sent this meeting",
        )
    if reservation.meeting_key not in (None, message.meeting_key):
        return ctx.decline(
            Outcome.REJECT_ALIAS_CONFLICT,
            f"alias {reservation.alias} is booked by another meeting",
            alias=reservation.alias,
        )
    if reservation.state is ReservationState.DELETED or (not ours and reservation.is_expired(now)):
        return ctx.decline(Outcome.REJECT_ALIAS_DELETED, f"reservation {reservation.state}")
    if wanted.past:
        return _past(ctx, wanted)
    return _book(ctx, wanted, reservation, new_reservation=False)


def _book(
    ctx: _Plan, wanted: PlannedWindows, reservation: Reservation, *, new_reservation: bool
) -> Decision:
    message, booking = ctx.message, ctx.booking
    alias, numeric = reservation.alias, reservation.numeric_alias
    sequence = message.sequence
    if booking is None:
        template = _NEW[wanted.scope]
        book = Book(
            message.meeting_key,
            reservation.token_id,
            alias,
            numeric,
            wanted.windows,
            sequence,
            new_reservation,
            wanted.series,
        )
        reason = f"booked {alias} for {len(wanted.windows)} window(s)"
        actions: tuple[Action, ...] = (book, ctx.accept(template, alias, numeric))
        if new_reservation:
            # After the acceptance: answering this request after our own update went out would
            # make the answer out of date, and the organizer's tracking would not record it.
            actions += (_write(message, reservation.token_id, alias, numeric),)
        return ctx.decide(Outcome(template.value), reason, *actions)
    template = _EDITED[wanted.scope]
    if booking.token_id != reservation.token_id:
        rebook = Rebook(
            booking.booking_id,
            reservation.token_id,
            alias,
            numeric,
            wanted.windows,
            sequence,
            new_reservation,
            wanted.series,
        )
        reason = f"moved from {booking.alias} to {alias}"
        return ctx.decide(
            Outcome(template.value), reason, rebook, ctx.accept(template, alias, numeric)
        )
    if same_windows(booking.windows, wanted.windows):
        why = "our own update came back" if is_our_write(message) else "nothing changed"
        reason = f"{why} for booking {booking.booking_id}"
        if _learns(booking.series, wanted.series):
            # No window changes, but the series plan does (a booking made before plans were
            # kept, a cancellation listed beyond the horizon): keep it, still without a reply.
            keep = MoveWindows(booking.booking_id, booking.windows, sequence, wanted.series)
            return ctx.decide(Outcome.IGNORED, f"{reason}; series plan updated", keep)
        return ctx.decide(Outcome.IGNORED, reason)
    move = MoveWindows(booking.booking_id, wanted.windows, sequence, wanted.series)
    reason = f"moved to {len(wanted.windows)} window(s)"
    return ctx.decide(Outcome(template.value), reason, move, ctx.accept(template, alias, numeric))


def _learns(known: SeriesPlan | None, wanted: SeriesPlan | None) -> bool:
    """Whether ``wanted`` tells more than ``known`` beyond how far it was planned."""
    if wanted is None:
        return False
    return known is None or dataclasses.replace(known, planned_until=wanted.planned_until) != wanted


def _write(
    message: MeetingMessage, token_id: str, alias: str, numeric_alias: str
) -> WriteInstructions:
    reading = read_token(message.body_text, message.body_html)
    return WriteInstructions(
        organizer_email=message.organizer_email,
        uid=message.uid,
        token_id=token_id,
        alias=alias,
        numeric_alias=numeric_alias,
        replace_placeholder=reading.text if reading.kind is TokenKind.PLACEHOLDER else None,
        marker=write_marker(message.meeting_key, message.sequence),
        sequence=message.sequence,
        occurrence_original_start=message.occurrence_original_start,
    )


def _without_token(
    ctx: _Plan, wanted: PlannedWindows, reading: TokenReading, reservation: Reservation | None
) -> Decision:
    message, booking, policy = ctx.message, ctx.booking, ctx.policy
    lost = "placeholder token" if reading.kind is TokenKind.PLACEHOLDER else f"token {reading.kind}"
    if booking is not None:
        if reading.kind is not TokenKind.PLACEHOLDER and not policy.self_heal:
            return ctx.decline(Outcome.REJECT_INVALID_ALIAS_ID, f"{lost} in a booked meeting")
        return _heal(ctx, wanted, booking)
    allocate = (
        reading.kind is TokenKind.PLACEHOLDER or policy.missing_token is MissingToken.ALLOCATE
    )
    if not allocate:
        return ctx.decline(Outcome.REJECT_INVALID_ALIAS_ID, f"{lost}; missing_token is reject")
    if wanted.past:
        return _past(ctx, wanted)
    fresh = (
        reservation is not None
        and reservation.meeting_key is None
        and reservation.state is ReservationState.LIVE
    )
    if reservation is None or not fresh:
        return plan_general_error(message, policy, "no fresh reservation was drawn to allocate")
    return _book(ctx, wanted, reservation, new_reservation=True)


def _heal(ctx: _Plan, wanted: PlannedWindows, booking: Booking) -> Decision:
    message = ctx.message
    if wanted.past:
        return _past(ctx, wanted)
    instructions = _write(message, booking.token_id, booking.alias, booking.numeric_alias)
    if not same_windows(booking.windows, wanted.windows):
        template = _EDITED[wanted.scope]
        move = MoveWindows(booking.booking_id, wanted.windows, message.sequence, wanted.series)
        reply = ctx.accept(template, booking.alias, booking.numeric_alias)
        return ctx.decide(
            Outcome(template.value), "moved; instructions restored", move, reply, instructions
        )
    if is_our_write(message):
        return ctx.decide(Outcome.IGNORED, f"our own update came back for {booking.booking_id}")
    if message.sequence <= booking.sequence_seen:
        return ctx.decide(Outcome.IGNORED, "instructions already restored for this sequence")
    return ctx.decide(
        Outcome.INSTRUCTIONS_RESTORED, "instructions were lost; written back", instructions
    )
