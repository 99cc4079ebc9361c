"""A reservation whose organizer was only claimed is taken only by that organizer's meetings.

An Exchange identity token proves *a* user of the organization, not an address: the add-in names
the organizer, so the reservation's organizer is a claim. The planner honours such a token only
when the meeting's organizer or its Sender (a delegate) is the claimed address.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from domain_builders import NOW, ORGANIZER, Builders
from hypothesis import given, settings
from hypothesis import strategies as st

from vmrsched.domain.actions import Book, Decline, MoveWindows, Outcome, Rebook, Release
from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.meetings import MessageKind
from vmrsched.domain.planner import plan
from vmrsched.domain.reservations import ReservationState, new_reservation

BOB = "bob@contoso.com"  # another user of the organization
DANA = "dana@contoso.com"  # Alice's delegate


def kinds(decision: object) -> list[str]:
    return [type(action).__name__ for action in decision.actions]  # type: ignore[attr-defined]


def test_new_reservations_are_proven_unless_said_otherwise() -> None:
    """`new_reservation` makes an unclaimed reservation by default and a claimed one on request."""
    made = {
        claimed: new_reservation(
            organizer=ORGANIZER,
            alias_format=AliasFormat("81"),
            rng=random.Random(1),
            now=NOW,
            ttl=timedelta(days=30),
            organizer_claimed=claimed,
        )
        for claimed in (False, True)
    }
    assert made[False].organizer_claimed is False
    assert made[True].organizer_claimed is True
    default = new_reservation(
        organizer=ORGANIZER,
        alias_format=AliasFormat("81"),
        rng=random.Random(1),
        now=NOW,
        ttl=timedelta(days=30),
    )
    assert default.organizer_claimed is False


def test_a_claimed_organizer_books_their_own_meeting(build: Builders) -> None:
    """Claimed for Alice, used in Alice's meeting sent by Alice: booked and accepted."""
    res = build.reservation(organizer_claimed=True)
    decision = plan(build.message(res), None, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    assert kinds(decision) == ["Book", "Accept"]


def test_a_claimed_delegate_books_the_meeting_they_send(build: Builders) -> None:
    """Claimed for Dana, used in Alice's meeting that Dana sends on her behalf: booked."""
    res = build.reservation(organizer=DANA, organizer_claimed=True)
    message = build.message(res, sender_email=DANA)
    decision = plan(message, None, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
    book = decision.actions[0]
    assert isinstance(book, Book)
    assert book.token_id == res.token_id


def test_a_claim_for_someone_else_is_declined_as_an_invalid_alias_id(build: Builders) -> None:
    """Claimed for Bob, used in Alice's meeting sent by Alice: declined, nothing booked."""
    res = build.reservation(organizer=BOB, organizer_claimed=True)
    decision = plan(build.message(res), None, res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert kinds(decision) == ["Decline"]
    assert decision.reason == (
        f"alias token was reserved for {BOB}, who neither organizes nor sent this meeting"
    )
    reply = decision.reply
    assert isinstance(reply, Decline)
    assert reply.template.value == "reject_invalid_alias_id"


def test_a_proven_organizer_binds_nothing(build: Builders) -> None:
    """Not claimed (Entra sign-in, `vmrsched reserve`): another organizer's meeting books it."""
    res = build.reservation(organizer=BOB)
    decision = plan(build.message(res), None, res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING


def test_the_claim_is_compared_without_case_or_surrounding_spaces(build: Builders) -> None:
    """` Alice@Contoso.COM ` organizes and `DANA@contoso.com` sends: both match their claims."""
    for claimed, organizer, sender in (
        (ORGANIZER, " Alice@Contoso.COM ", " Alice@Contoso.COM "),
        (" ALICE@contoso.com", ORGANIZER, ORGANIZER),
        (DANA, ORGANIZER, "DANA@Contoso.com "),
    ):
        res = build.reservation(organizer=claimed, organizer_claimed=True)
        message = build.message(res, organizer_email=organizer, sender_email=sender)
        decision = plan(message, None, res, NOW, build.policy)
        assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING, (claimed, organizer, sender)


def test_an_empty_sender_does_not_match_an_empty_claim(build: Builders) -> None:
    """A claim of nothing binds to nothing: a meeting without a Sender does not match it."""
    res = build.reservation(organizer=" ", organizer_claimed=True)
    message = build.message(res, sender_email="")
    assert plan(message, None, res, NOW, build.policy).outcome is Outcome.REJECT_INVALID_ALIAS_ID


# -- a meeting that already took the reservation ---------------------------------------------------


def test_the_organizer_updates_a_meeting_their_delegate_booked(build: Builders) -> None:
    """Claimed for Dana, booked when Dana sent it; Alice herself moves it later: moved, kept."""
    res = build.used(build.reservation(organizer=DANA, organizer_claimed=True))
    later = build.message(
        res,
        kind=MessageKind.UPDATE,
        sequence=1,
        sender_email=ORGANIZER,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1),
    )
    decision = plan(later, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.ACCEPT_EDITED_SINGLE_MEETING
    assert kinds(decision) == ["MoveWindows", "Accept"]
    assert isinstance(decision.actions[0], MoveWindows)


def test_an_attendees_forward_of_a_claimed_booking_changes_nothing(build: Builders) -> None:
    """A booked meeting with a claimed token, forwarded by an attendee: ignored, not released."""
    res = build.used(build.reservation(organizer_claimed=True))
    forward = build.message(res, message_id="fwd", sender_email=BOB)
    decision = plan(forward, build.booking(res), res, NOW, build.policy)
    assert decision.outcome is Outcome.IGNORED
    assert not any(isinstance(action, Release) for action in decision.actions)


def test_an_attendees_forward_carrying_another_token_leaves_the_booking_alone(
    build: Builders,
) -> None:
    """Bob, an attendee, forwards Alice's booked meeting to the room with another token in it.

    A forward keeps the organizer and the sequence and shows Bob as the Sender, exactly as a
    delegate would: his own claimed token, one claimed for somebody else, or an unknown one
    neither moves nor releases Alice's VMR. The booking stands and nobody gets a reply.
    """
    mine = build.used(build.reservation(1))
    for other in (
        build.reservation(2, organizer=BOB, organizer_claimed=True),
        build.reservation(3, organizer="carol@contoso.com", organizer_claimed=True),
        build.reservation(4),
    ):
        forward = build.message(other, message_id="fwd", sender_email=BOB)
        for known in (other, None):
            decision = plan(forward, build.booking(mine), known, NOW, build.policy)
            assert decision.outcome is Outcome.IGNORED, (other.organizer, known, decision)
            assert kinds(decision) == ["Ignore"]


def test_the_organizers_own_new_token_at_the_same_sequence_still_rebooks(
    build: Builders,
) -> None:
    """Only somebody else's copy is taken for a forward: Alice herself replacing the token in
    her booked meeting (a text-only update keeps the sequence) still moves it to the new alias."""
    mine = build.used(build.reservation(1))
    other = build.reservation(2)
    message = build.message(other, message_id="edit")
    decision = plan(message, build.booking(mine), other, NOW, build.policy)
    assert kinds(decision) == ["Rebook", "Accept"]


def test_another_users_claimed_token_in_a_booked_meeting_is_declined(build: Builders) -> None:
    """Alice pastes Bob's claimed token into her booked meeting: declined and released.

    The same as any token this meeting may not use: the room declines, so it holds no VMR.
    """
    mine = build.used(build.reservation(1))
    bobs = build.reservation(2, organizer=BOB, organizer_claimed=True)
    message = build.message(bobs, kind=MessageKind.UPDATE, sequence=1)
    decision = plan(message, build.booking(mine), bobs, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
    assert kinds(decision) == ["Release", "Decline"]
    assert not any(isinstance(action, Rebook) for action in decision.actions)


def test_a_claimed_token_of_a_deleted_reservation_is_still_declined(build: Builders) -> None:
    """Binding adds a reason to decline, never a way around another one."""
    res = build.reservation(organizer_claimed=True, state=ReservationState.DELETED)
    decision = plan(build.message(res), None, res, NOW, build.policy)
    assert decision.outcome is Outcome.REJECT_ALIAS_DELETED


# -- the rule as a property ------------------------------------------------------------------------

PEOPLE = ("alice@contoso.com", "bob@contoso.com", "dana@fabrikam.com")


@st.composite
def spelling(draw: st.DrawFn, address: str) -> str:
    """``address`` with any letters upper-cased and spaces around it."""
    upper = draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    text = "".join(c.upper() if up else c for c, up in zip(address, upper, strict=True))
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " "]))


@settings(max_examples=150, deadline=None)
@given(
    claimed=st.booleans(),
    owner=st.sampled_from(PEOPLE),
    organizer=st.sampled_from(PEOPLE),
    sender=st.sampled_from(PEOPLE),
    data=st.data(),
)
def test_a_token_books_exactly_when_its_claim_holds(
    claimed: bool, owner: str, organizer: str, sender: str, data: st.DataObject
) -> None:
    """Booked iff the organizer is proven, or the claimed one organizes or sends the meeting."""
    build = Builders()
    res = build.reservation(organizer=owner, organizer_claimed=claimed)
    message = build.message(
        res,
        organizer_email=data.draw(spelling(organizer)),
        sender_email=data.draw(spelling(sender)),
    )
    decision = plan(message, None, res, NOW, build.policy)
    holds = not claimed or owner in (organizer, sender)
    if holds:
        assert decision.outcome is Outcome.ACCEPT_NEW_SINGLE_MEETING
        assert isinstance(decision.actions[0], Book)
    else:
        assert decision.outcome is Outcome.REJECT_INVALID_ALIAS_ID
        assert kinds(decision) == ["Decline"]
    # Once taken, the same meeting keeps it whoever sends its copies: the claim is not re-asked.
    used = dataclasses.replace(res, state=ReservationState.USED, meeting_key=message.meeting_key)
    anyone = data.draw(st.sampled_from(PEOPLE))
    again = dataclasses.replace(message, message_id="again", sender_email=anyone)
    booking = dataclasses.replace(build.booking(used), meeting_key=message.meeting_key)
    assert plan(again, booking, used, NOW, build.policy).outcome is Outcome.IGNORED
