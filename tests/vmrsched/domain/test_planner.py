"""The planner: every outcome of issue 3 §6 (and the series, placeholder and healing flows)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from domain_builders import AFTER, BEFORE, NOW, ORGANIZER, Builders

from vmrsched.domain.actions import (
    Accept,
    Book,
    Decline,
    MoveWindows,
    Outcome,
    Rebook,
    Release,
    WriteInstructions,
)
from vmrsched.domain.bookings import SINGLE, BookingState
from vmrsched.domain.instructions import write_marker
from vmrsched.domain.meetings import MessageKind
from vmrsched.domain.planner import plan, plan_general_error
from vmrsched.domain.recurrence import (
    NoEndRange,
    NumberedRange,
    Recurrence,
    Weekday,
    WeeklyPattern,
    occurrence_key,
)
from vmrsched.domain.reservations import ReservationState
from vmrsched.domain.scheduling_policy import MissingToken, SchedulingPolicy
from vmrsched.domain.templates import TEMPLATE_VARIABLES, TemplateName
from vmrsched.domain.tokens import placeholder_token


def kinds(decision: object) -> list[str]:
    return [type(action).__name__ for action in decision.actions]  # type: ignore[attr-defined]


def weekly(count: int | None = 10, start: date = date(2026, 11, 23)) -> Recurrence:
    rng = NoEndRange(start) if count is None else NumberedRange(start, count)
    return Recurrence(WeeklyPattern(frozenset({Weekday.MONDAY})), rng)


# -- accepting -------------------------------------------------------------------------------------


def test_new_single_meeting_is_booked_then_accepted(build: Builders) -> None:
    """A new meeting with a valid token books its window (buffers added) before accepting."""
    res = build.reservation()
    message = build.message(res)
    decision = plan(message, None, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    assert kinds(decision) == ["Book", "Accept"]
    book = decision.actions[0]
    assert isinstance(book, Book)
    assert book.alias == res.alias
    assert book.token_id == res.token_id
    assert not book.new_reservation
    (only,) = book.windows
    assert only.occurrence_key == SINGLE
    assert only.start == message.start - BEFORE  # type: ignore[operator]
    assert only.end == message.end + AFTER  # type: ignore[operator]
    reply = decision.reply
    assert isinstance(reply, Accept)
    assert reply.template is TemplateName.ACCEPT_NEW_SINGLE_MEETING
    assert dict(reply.variables)["alias"] == res.alias
    assert dict(reply.variables)["numeric_alias"] == res.numeric_alias


def test_a_meeting_in_progress_is_still_booked(build: Builders) -> None:
    """A meeting that started but has not ended gets its window."""
    res = build.reservation()
    message = build.message(res, start=NOW - timedelta(minutes=10), end=NOW + timedelta(minutes=50))
    assert plan(message, None, res, NOW, build.policy).outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING


def test_new_series_books_one_window_per_future_occurrence(build: Builders) -> None:
    """A new weekly series books each occurrence within the horizon; past ones are dropped."""
    res = build.reservation()
    first = datetime(2026, 11, 9, 9, tzinfo=UTC)  # two occurrences before NOW
    message = build.message(
        res,
        recurrence=weekly(10, date(2026, 11, 9)),
        start=first,
        end=first + timedelta(hours=1),
        time_zone="UTC",
    )
    decision = plan(message, None, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_RECURRING_SERIES
    book = decision.actions[0]
    assert isinstance(book, Book)
    assert len(book.windows) == 8
    assert book.windows[0].occurrence_key == "20261123T090000Z"


def test_a_no_end_series_is_booked_up_to_the_horizon(build: Builders) -> None:
    """A series without end is expanded up to `series_horizon` only."""
    res = build.reservation()
    first = datetime(2026, 11, 23, 9, tzinfo=UTC)
    message = build.message(
        res, recurrence=weekly(None), start=first, end=first + timedelta(hours=1), time_zone="UTC"
    )
    policy = dataclasses.replace(build.policy, series_horizon=timedelta(days=28))
    book = plan(message, None, res, NOW, policy).actions[0]
    assert isinstance(book, Book)
    assert len(book.windows) == 4


def test_edited_single_meeting_moves_its_window(build: Builders) -> None:
    """A time change of a booked meeting moves the window and accepts the edit."""
    res = build.used(build.reservation())
    booking = build.booking(res)
    later = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1),
    )
    decision = plan(later, booking, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_SINGLE_MEETING
    assert kinds(decision) == ["MoveWindows", "Accept"]
    move = decision.actions[0]
    assert isinstance(move, MoveWindows)
    assert move.windows[0].start == NOW + timedelta(days=1) - BEFORE
    assert move.sequence == 1


def test_edited_series_replans_every_window(build: Builders) -> None:
    """Turning a booked single meeting into a series re-plans all windows."""
    res = build.used(build.reservation())
    first = datetime(2026, 11, 23, 10, tzinfo=UTC)
    message = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=2,
        recurrence=weekly(3),
        start=first,
        end=first + timedelta(hours=1),
        time_zone="UTC",
    )
    decision = plan(message, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_RECURRING_SERIES
    move = decision.actions[0]
    assert isinstance(move, MoveWindows)
    assert len(move.windows) == 3


def test_edited_occurrence_moves_only_its_own_window(build: Builders) -> None:
    """An occurrence update moves that occurrence's window and keeps the others."""
    res = build.used(build.reservation())
    first = datetime(2026, 11, 23, 10, tzinfo=UTC)
    series = build.message(
        res, recurrence=weekly(3), start=first, end=first + timedelta(hours=1), time_zone="UTC"
    )
    book = plan(series, None, res, NOW, build.policy).actions[0]
    assert isinstance(book, Book)
    booking = build.booking(res, book.windows)
    original = datetime(2026, 11, 30, 10, tzinfo=UTC)
    moved = build.message(
        res,
        message_id="msg-2",
        kind=MessageKind.UPDATE,
        sequence=1,
        occurrence_original_start=original,
        start=original + timedelta(hours=5),
        end=original + timedelta(hours=6),
    )
    decision = plan(moved, booking, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_OCCURRENCE
    move = decision.actions[0]
    assert isinstance(move, MoveWindows)
    by_key = {w.occurrence_key: w for w in move.windows}
    assert by_key[occurrence_key(original)].start == original + timedelta(hours=5) - BEFORE
    assert {k: w for k, w in by_key.items() if k != occurrence_key(original)} == {
        w.occurrence_key: w for w in booking.windows if w.occurrence_key != occurrence_key(original)
    }


def test_a_new_token_in_a_booked_meeting_rebooks_it(build: Builders) -> None:
    """When the organizer added a fresh VMR to a booked meeting, the booking switches alias."""
    old = build.used(build.reservation(1))
    new = build.reservation(2)
    message = build.message(new, kind=MessageKind.UPDATE, sequence=1)
    decision = plan(message, build.booking(old), new, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_SINGLE_MEETING
    rebook = decision.actions[0]
    assert isinstance(rebook, Rebook)
    assert rebook.alias == new.alias


# -- declining -------------------------------------------------------------------------------------


def test_missing_token_is_declined_when_policy_rejects(build: Builders) -> None:
    """No token and `missing_token = reject`: declined as an invalid alias id."""
    decision = plan(build.message(), None, None, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert kinds(decision) == ["Decline"]


def test_a_forged_signature_is_declined(build: Builders) -> None:
    """A token signed with another key (or edited) is declined."""
    res = build.reservation()
    forged = dataclasses.replace(res, alias="81999999@vmr.contoso.com")
    message = build.message(forged)  # signed for another alias
    assert plan(message, None, res, NOW, build.policy).outcome is Outcome.REJECT_INVALID_ALIAS_ID


def test_an_unknown_token_is_declined(build: Builders) -> None:
    """A well-formed token whose reservation the store does not know is declined."""
    message = build.message(build.reservation())
    assert plan(message, None, None, NOW, build.policy).outcome is Outcome.REJECT_INVALID_ALIAS_ID


def test_a_cut_token_is_declined_when_nothing_is_booked(build: Builders) -> None:
    """A token mangled beyond reading, in a meeting we never booked, is declined."""
    res = build.reservation()
    message = build.message(body_html=f"<p>{build.token(res)[:25]}</p>")
    assert plan(message, None, res, NOW, build.policy).outcome is Outcome.REJECT_INVALID_ALIAS_ID


def test_token_used_by_another_meeting_is_an_alias_conflict(build: Builders) -> None:
    """A token whose reservation another meeting booked is declined as a conflict."""
    res = dataclasses.replace(build.reservation(), state=ReservationState.USED, meeting_key="other")
    decision = plan(build.message(res), None, res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_ALIAS_CONFLICT
    reply = decision.reply
    assert isinstance(reply, Decline)
    assert dict(reply.variables)["alias"] == res.alias


def test_copied_instructions_in_a_booked_meeting_release_its_booking(build: Builders) -> None:
    """A booked meeting updated with another meeting's token is declined and released."""
    mine = build.used(build.reservation(1))
    theirs = dataclasses.replace(build.reservation(2), state=ReservationState.USED, meeting_key="x")
    message = build.message(theirs, kind=MessageKind.UPDATE, sequence=1)
    decision = plan(message, build.booking(mine), theirs, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_ALIAS_CONFLICT
    assert kinds(decision) == ["Release", "Decline"]


def test_expired_reservation_is_declined_as_deleted(build: Builders) -> None:
    """A reservation past its expiry (even if the store has not marked it yet) is declined."""
    res = build.reservation(expires=NOW - timedelta(seconds=1))
    assert (
        plan(build.message(res), None, res, NOW, build.policy).outcome
        is Outcome.REJECT_ALIAS_DELETED
    )


def test_deleted_reservation_is_declined_as_deleted(build: Builders) -> None:
    """A deleted reservation is declined, even for the meeting that used it."""
    res = dataclasses.replace(build.used(build.reservation()), state=ReservationState.DELETED)
    message = build.message(res, kind=MessageKind.UPDATE, sequence=1)
    decision = plan(message, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_ALIAS_DELETED
    assert kinds(decision) == ["Release", "Decline"]


def test_a_used_reservation_outlives_its_expiry_for_its_own_meeting(build: Builders) -> None:
    """Expiry frees only unused reservations: the meeting that booked one keeps it."""
    res = dataclasses.replace(build.used(build.reservation()), expires=NOW - timedelta(days=1))
    message = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        start=NOW + timedelta(days=2),
        end=NOW + timedelta(days=2, hours=1),
    )
    decision = plan(message, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_SINGLE_MEETING


def test_single_meeting_in_the_past_is_declined(build: Builders) -> None:
    """A meeting that has ended is declined and nothing is booked."""
    res = build.reservation()
    message = build.message(res, start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    decision = plan(message, None, res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_SINGLE_MEETING_PAST
    assert kinds(decision) == ["Decline"]


def test_series_entirely_in_the_past_is_declined(build: Builders) -> None:
    """A series whose every occurrence has ended is declined."""
    res = build.reservation()
    first = datetime(2026, 1, 5, 9, tzinfo=UTC)
    message = build.message(
        res,
        recurrence=weekly(3, date(2026, 1, 5)),
        start=first,
        end=first + timedelta(hours=1),
        time_zone="UTC",
    )
    assert (
        plan(message, None, res, NOW, build.policy).outcome is Outcome.REJECT_RECURRING_SERIES_PAST
    )


def test_an_occurrence_moved_into_the_past_is_declined_alone(build: Builders) -> None:
    """Declining one occurrence drops its window and keeps the series' other windows."""
    res = build.used(build.reservation())
    first = datetime(2026, 11, 23, 10, tzinfo=UTC)
    series = build.message(
        res, recurrence=weekly(3), start=first, end=first + timedelta(hours=1), time_zone="UTC"
    )
    book = plan(series, None, res, NOW, build.policy).actions[0]
    assert isinstance(book, Book)
    original = datetime(2026, 11, 30, 10, tzinfo=UTC)
    moved = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        occurrence_original_start=original,
        start=NOW - timedelta(hours=3),
        end=NOW - timedelta(hours=2),
    )
    decision = plan(moved, build.booking(res, book.windows), res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_SINGLE_MEETING_PAST
    assert kinds(decision) == ["MoveWindows", "Decline"]
    move = decision.actions[0]
    assert isinstance(move, MoveWindows)
    assert len(move.windows) == 2


def test_organizer_outside_the_allowed_domains_is_declined(build: Builders) -> None:
    """Only organizers of `allowed_organizer_domains` may book; the sender does not count."""
    res = build.reservation()
    policy = dataclasses.replace(build.policy, allowed_organizer_domains=frozenset({"contoso.com"}))
    outsider = build.message(
        res, organizer_email="eve@fabrikam.com", sender_email="bob@contoso.com"
    )
    assert plan(outsider, None, res, NOW, policy).outcome is Outcome.REJECT_ORGANIZER_NOT_ALLOWED
    delegate = build.message(res, sender_email="assistant@fabrikam.com")
    assert plan(delegate, None, res, NOW, policy).outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING


def test_unreadable_times_give_a_general_error_with_a_correlation_id(build: Builders) -> None:
    """A series in an unknown time zone is declined with the general-error template."""
    res = build.reservation()
    message = build.message(res, recurrence=weekly(3), time_zone="Mars/Olympus_Mons")
    decision = plan(message, None, res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_GENERAL_ERROR
    reply = decision.reply
    assert isinstance(reply, Decline)
    assert dict(reply.variables)["correlation_id"] == decision.correlation_id


def test_general_error_decision_for_the_service(build: Builders) -> None:
    """`plan_general_error` declines with the correlation id the message always gets."""
    message = build.message()
    decision = plan_general_error(message, build.policy, "EWS said no")
    assert decision.outcome is Outcome.REJECT_GENERAL_ERROR
    assert decision.correlation_id == plan(message, None, None, NOW, build.policy).correlation_id
    assert decision.reason == "EWS said no"


# -- cancelling ------------------------------------------------------------------------------------


def test_cancelling_a_meeting_releases_its_booking_without_reply(build: Builders) -> None:
    """A cancellation releases the booking and answers nothing."""
    res = build.used(build.reservation())
    message = build.message(res, kind=MessageKind.CANCEL, sequence=1)
    decision = plan(message, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.CANCELLED
    assert kinds(decision) == ["Release"]
    assert decision.reply is None


def test_cancelling_one_occurrence_releases_only_its_window(build: Builders) -> None:
    """An occurrence cancellation keeps the other windows."""
    res = build.used(build.reservation())
    first = datetime(2026, 11, 23, 10, tzinfo=UTC)
    series = build.message(
        res, recurrence=weekly(3), start=first, end=first + timedelta(hours=1), time_zone="UTC"
    )
    book = plan(series, None, res, NOW, build.policy).actions[0]
    assert isinstance(book, Book)
    original = datetime(2026, 11, 30, 10, tzinfo=UTC)
    cancel = build.message(
        kind=MessageKind.CANCEL,
        sequence=1,
        occurrence_original_start=original,
        start=original,
        end=original + timedelta(hours=1),
    )
    decision = plan(cancel, build.booking(res, book.windows), None, NOW, build.policy)
    assert decision.outcome is Outcome.CANCELLED
    move = decision.actions[0]
    assert isinstance(move, MoveWindows)
    assert occurrence_key(original) not in {w.occurrence_key for w in move.windows}
    assert len(move.windows) == 2


def test_cancelling_an_unbooked_meeting_is_ignored(build: Builders) -> None:
    """A cancellation for a meeting we never booked changes nothing."""
    decision = plan(build.message(kind=MessageKind.CANCEL), None, None, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED


# -- never twice -----------------------------------------------------------------------------------


def test_a_duplicate_delivery_changes_nothing(build: Builders) -> None:
    """The same request again (same sequence, same times) makes no booking and no reply."""
    res = build.used(build.reservation())
    decision = plan(build.message(res), build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED
    assert kinds(decision) == ["Ignore"]


def test_a_forward_by_an_attendee_changes_nothing(build: Builders) -> None:
    """A forwarded copy (another sender, same meeting) neither books again nor replies."""
    res = build.used(build.reservation())
    forward = build.message(res, message_id="fwd", sender_email="bob@contoso.com")
    assert plan(forward, build.booking(res), res, NOW, build.policy).outcome is Outcome.IGNORED


def test_an_older_sequence_is_stale(build: Builders) -> None:
    """A request older than what the booking has seen is ignored."""
    res = build.used(build.reservation())
    old = build.message(res, start=NOW + timedelta(days=3), end=NOW + timedelta(days=3, hours=1))
    decision = plan(old, build.booking(res, sequence_seen=4), res, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED
    assert "stale" in decision.reason


def test_a_released_meeting_is_not_rebooked_by_a_late_duplicate(build: Builders) -> None:
    """After a cancellation, a redelivered request of the same sequence books nothing."""
    res = build.used(build.reservation())
    released = build.booking(res, state=BookingState.RELEASED, sequence_seen=3)
    decision = plan(build.message(res, sequence=3), released, res, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED


def test_a_newer_request_rebooks_a_released_meeting(build: Builders) -> None:
    """A released booking comes back with a newer, valid request, as a new booking."""
    res = build.used(build.reservation())
    released = build.booking(res, state=BookingState.RELEASED, sequence_seen=3)
    decision = plan(build.message(res, sequence=4), released, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING


def test_messages_that_are_not_meetings_are_ignored(build: Builders) -> None:
    """Responses and ordinary mail are recorded and ignored."""
    message = build.message(kind=MessageKind.OTHER, start=None, end=None)
    assert plan(message, None, None, NOW, build.policy).outcome is Outcome.IGNORED


# -- placeholder, allocate, healing (issue 4) -----------------------------------------------------


def test_placeholder_books_a_fresh_reservation_and_writes_instructions(build: Builders) -> None:
    """A placeholder token gets the fresh reservation, the real instructions, and an accept."""
    fresh = build.reservation(7)
    placeholder = placeholder_token("Q" * 26)
    message = build.message(body_html=f"<p>Details follow</p><p>{placeholder}</p>")
    decision = plan(message, None, fresh, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    assert kinds(decision) == ["Book", "Accept", "WriteInstructions"]
    book, write = decision.actions[0], decision.actions[2]
    assert isinstance(book, Book)
    assert book.new_reservation
    assert isinstance(write, WriteInstructions)
    assert write.replace_placeholder == placeholder
    assert write.alias == fresh.alias
    assert write.organizer_email == ORGANIZER


def test_allocate_policy_books_meetings_without_a_token(build: Builders) -> None:
    """With `missing_token = allocate`, a meeting without token gets a VMR written into it."""
    policy = dataclasses.replace(build.policy, missing_token=MissingToken.ALLOCATE)
    decision = plan(build.message(), None, build.reservation(7), NOW, policy)
    assert kinds(decision) == ["Book", "Accept", "WriteInstructions"]
    write = decision.actions[2]
    assert isinstance(write, WriteInstructions)
    assert write.replace_placeholder is None


def test_allocating_without_a_fresh_reservation_is_a_general_error(build: Builders) -> None:
    """The service must draw a reservation for the allocate flow; without one: general error."""
    policy = dataclasses.replace(build.policy, missing_token=MissingToken.ALLOCATE)
    assert plan(build.message(), None, None, NOW, policy).outcome is Outcome.REJECT_GENERAL_ERROR


def test_lost_instructions_are_written_back_without_a_reply(build: Builders) -> None:
    """An update of a booked meeting whose token was stripped heals it, keeping the booking."""
    res = build.used(build.reservation())
    stripped = build.message(kind=MessageKind.UPDATE, sequence=2)
    decision = plan(stripped, build.booking(res), None, NOW, build.policy)
    assert decision.outcome is Outcome.INSTRUCTIONS_RESTORED
    assert kinds(decision) == ["WriteInstructions"]
    write = decision.actions[0]
    assert isinstance(write, WriteInstructions)
    assert write.token_id == res.token_id
    assert write.marker == write_marker(stripped.meeting_key, 2)


def test_healing_also_follows_a_time_change(build: Builders) -> None:
    """A stripped update that also moved the meeting moves the window, heals and accepts."""
    res = build.used(build.reservation())
    moved = build.message(
        kind=MessageKind.UPDATE,
        sequence=2,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1),
    )
    decision = plan(moved, build.booking(res), None, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_SINGLE_MEETING
    assert kinds(decision) == ["MoveWindows", "Accept", "WriteInstructions"]


def test_our_own_update_coming_back_is_ignored(build: Builders) -> None:
    """The update we sent as the organizer (marker set, body stripped) does not heal again."""
    res = build.used(build.reservation())
    marker = write_marker(build.message().meeting_key, 2)
    echo = build.message(kind=MessageKind.UPDATE, sequence=3, marker=marker)
    decision = plan(echo, build.booking(res, sequence_seen=2), None, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED
    assert "our own update" in decision.reason


def test_healing_once_per_sequence(build: Builders) -> None:
    """A second copy of the same stripped update writes nothing more."""
    res = build.used(build.reservation())
    stripped = build.message(kind=MessageKind.UPDATE, sequence=2)
    decision = plan(stripped, build.booking(res, sequence_seen=2), None, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED


def test_without_self_heal_a_stripped_update_is_declined(build: Builders) -> None:
    """With `self_heal = false` a booked meeting that lost its token is declined and released."""
    res = build.used(build.reservation())
    policy = dataclasses.replace(build.policy, self_heal=False)
    stripped = build.message(kind=MessageKind.UPDATE, sequence=2)
    decision = plan(stripped, build.booking(res), None, NOW, policy)
    assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert kinds(decision) == ["Release", "Decline"]


def test_a_forged_token_in_a_booked_meeting_is_declined_even_with_self_heal(
    build: Builders,
) -> None:
    """Healing restores lost text only: a token that does not verify is declined."""
    res = build.used(build.reservation())
    forged = build.message(
        dataclasses.replace(res, alias="81000009@vmr.contoso.com"),
        kind=MessageKind.UPDATE,
        sequence=2,
    )
    decision = plan(forged, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert isinstance(decision.actions[0], Release)


def test_decisions_are_reproducible(build: Builders) -> None:
    """Planning the same inputs twice gives the same decision (and correlation id)."""
    res = build.reservation()
    message = build.message(res)
    assert plan(message, None, res, NOW, build.policy) == plan(
        message, None, res, NOW, build.policy
    )
    assert isinstance(plan(build.message(), None, None, NOW, build.policy).actions[0], Decline)


def test_reply_variables_fit_their_template(build: Builders) -> None:
    """A reply carries only variables its template knows (so rendering cannot fail)."""
    policy = SchedulingPolicy(
        token_key=build.key, join_url_format="https://meet.contoso.com/{alias}"
    )
    res = build.reservation()
    for decision in (
        plan(build.message(res), None, res, NOW, policy),
        plan(build.message(), None, None, NOW, policy),
    ):
        reply = decision.reply
        assert reply is not None
        assert {name for name, _ in reply.variables} <= TEMPLATE_VARIABLES[reply.template]
    accept = plan(build.message(res), None, res, NOW, policy).reply
    assert accept is not None
    values = dict(accept.variables)
    assert values["join_url"] == f"https://meet.contoso.com/{res.alias}"
    assert values["start_time"] == "2026-11-23 11:00 CET"
