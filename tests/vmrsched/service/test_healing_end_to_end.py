"""Self-healing end to end: a booked meeting whose update lost its instructions keeps its VMR.

The organizer (exchangelib) edits the instructions away, or a client cuts the token; the service
keeps the booking, writes the instructions back as the organizer (one copy, for everyone) and
sends no second reply. With ``self_heal = false`` the same update is declined; a token that
belongs to another meeting, or was tampered with, is declined whatever the setting.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from exchangelib import HTMLBody
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from flows_support import (
    INSTRUCTIONS_HEADING,
    outcomes,
    requests_for,
    send_meeting,
    served,
    shown,
    signed_tokens,
    structure_faults,
)
from series_support import settle
from test_end_to_end import ALICE, BOB, LiveService

from exchangesim.sim import Simulator
from vmrsched.cli.demo_tenant import RESOURCE, tenant_for
from vmrsched.domain.meetings import MeetingRef
from vmrsched.service.reserve import reserve

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


pytestmark = pytest.mark.slow


@pytest.fixture
def server(
    api: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """exchangesim with the demo tenant (as `api` needs it); parametrized with
    "delete_comments", the resource keeps Exchange's default ``DeleteComments $true`` (the
    admin changed AutomateProcessing only)."""
    tenant = tenant_for(api)
    if getattr(request, "param", None) == "delete_comments":
        resources = tuple(
            dataclasses.replace(
                resource,
                calendar_processing=dataclasses.replace(
                    resource.calendar_processing, delete_comments=True
                ),
            )
            if resource.email == RESOURCE
            else resource
            for resource in tenant.resources
        )
        tenant = dataclasses.replace(tenant, resources=resources)
    with served(Simulator.from_tenant(tenant), monkeypatch) as running:
        yield running


def _booked(live: LiveService, subject: str) -> tuple[Any, str, str]:
    """A meeting Alice sends with a reservation's instructions (Bob invited), once accepted:
    the organizer's item, the booked alias and the instructions' HTML."""
    offer = reserve(live.store, live.components.rules, live.components.clock, ALICE)
    instructions = offer.instructions.html
    item = send_meeting(live, ALICE, subject, f"<p>Agenda</p>{instructions}", others=(BOB,))
    live.wait_for_replies(1)
    assert outcomes(live, ALICE, item.uid) == ["accept_new_single_meeting"]
    item.refresh()
    return item, offer.reservation.alias, instructions


def _send_update(item: Any, body: str, *, later: timedelta | None = None) -> None:
    item.body = HTMLBody(body)
    fields = ["body"]
    if later is not None:
        item.start += later
        item.end += later
        fields += ["start", "end"]
    item.save(update_fields=fields, send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def _booking(live: LiveService, item: Any) -> Any:
    return live.store.booking_for_meeting(MeetingRef(ALICE, item.uid).meeting_key)


def _assert_restored(live: LiveService, item: Any, alias: str, subject: str, kept: str) -> None:
    item.refresh()
    for where, html in (
        ("organizer", str(item.body)),
        ("attendee", str(requests_for(live, BOB, subject)[-1].body)),
    ):
        text = shown(html)
        assert text.count(INSTRUCTIONS_HEADING) == 1, (where, text)
        assert alias in text, (where, text)
        assert signed_tokens(html) == 1, (where, text)
        assert kept in text, (where, text)
        assert structure_faults(html) == [], where


def test_instructions_edited_away_are_written_back_without_a_second_reply(
    live: LiveService,
) -> None:
    """The organizer replaces the body: same booking, instructions back for everyone, and no
    new reply (the acceptance stands); our update coming back changes nothing."""
    item, alias, _ = _booked(live, "Edited away")
    booking = _booking(live, item)
    _send_update(item, "<p>New agenda, no link.</p>")
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 3)
    assert outcomes(live, ALICE, item.uid) == [
        "accept_new_single_meeting",
        "instructions_restored",
        "ignored",
    ]
    after = _booking(live, item)
    assert (after.booking_id, after.alias, after.windows) == (
        booking.booking_id,
        booking.alias,
        booking.windows,
    )
    assert after.is_active
    _assert_restored(live, item, alias, "Edited away", "New agenda, no link.")
    assert live.responses(ALICE, "Edited away") == ["Accepted"]


def test_a_cut_token_leaves_one_copy_of_the_instructions(live: LiveService) -> None:
    """A client cut the token inside the instructions: they are replaced whole, never doubled."""
    item, alias, instructions = _booked(live, "Cut token")
    html = str(item.body)
    token_at = html.index("VMRS:-")
    _send_update(item, html[: token_at + 20] + html[token_at + 60 :])
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 3)
    assert outcomes(live, ALICE, item.uid)[1] == "instructions_restored"
    _assert_restored(live, item, alias, "Cut token", "Agenda")
    assert instructions  # the alias's own instructions, as reserved
    assert live.responses(ALICE, "Cut token") == ["Accepted"]


def test_a_new_time_without_instructions_is_moved_and_healed(live: LiveService) -> None:
    """Time and body changed at once: the booking moves, the acceptance says so, and the
    instructions are back."""
    item, alias, _ = _booked(live, "Moved and stripped")
    before = _booking(live, item).windows[0].start
    _send_update(item, "<p>Moved to Friday.</p>", later=timedelta(days=1))
    live.wait_for_replies(2)
    settle(live, lambda: len(outcomes(live, ALICE, item.uid)) >= 3)
    assert outcomes(live, ALICE, item.uid) == [
        "accept_new_single_meeting",
        "accept_edited_single_meeting",
        "ignored",
    ]
    assert _booking(live, item).windows[0].start == before + timedelta(days=1)
    _assert_restored(live, item, alias, "Moved and stripped", "Moved to Friday.")
    assert live.responses(ALICE, "Moved and stripped") == ["Accepted", "Accepted"]


def test_with_healing_off_a_lost_token_is_declined_and_released(
    live_factory: Callable[..., LiveService],
) -> None:
    """self_heal = false: the update that lost its token is declined with its template."""
    live = live_factory(meetings={"self_heal": False})
    item, _, _ = _booked(live, "No healing")
    _send_update(item, "<p>Body replaced.</p>")
    live.wait_for_replies(2)
    assert outcomes(live, ALICE, item.uid) == [
        "accept_new_single_meeting",
        "reject_invalid_alias_id",
    ]
    assert not _booking(live, item).is_active
    assert live.responses(ALICE, "No healing") == ["Accepted", "Declined"]
    item.refresh()
    assert shown(str(item.body)) == "Body replaced."  # nothing written into the meeting


def test_another_meetings_token_and_a_tampered_token_are_declined(live: LiveService) -> None:
    """Healing is for lost tokens only: a copied token is a conflict, an edited one is invalid,
    and a booked meeting whose update carries a tampered token loses its booking."""
    first, _, instructions = _booked(live, "Original")
    copy = send_meeting(live, ALICE, "Copy", f"<p>Same link?</p>{instructions}")
    live.wait_for_replies(2)
    assert outcomes(live, ALICE, copy.uid) == ["reject_alias_conflict"]

    html = str(first.body)
    at = html.index("VMRS:-") + 10
    tampered = html[:at] + ("A" if html[at] != "A" else "B") + html[at + 1 :]
    _send_update(first, tampered)
    live.wait_for_replies(3)
    assert outcomes(live, ALICE, first.uid) == [
        "accept_new_single_meeting",
        "reject_invalid_alias_id",
    ]
    assert not _booking(live, first).is_active
    assert live.responses(ALICE, "Copy") == ["Declined"]
    assert live.responses(ALICE, "Original") == ["Accepted", "Declined"]


@pytest.mark.parametrize("server", ["delete_comments"], indirect=True)
def test_a_resource_left_with_delete_comments_still_gets_the_token(live: LiveService) -> None:
    """DeleteComments strips bodies only with AutomateProcessing AutoAccept (Set-CalendarProcessing
    reference); the resource vmrsched reads runs None, so requests arrive whole and are booked."""
    item, alias, _ = _booked(live, "Default DeleteComments")
    (request,) = requests_for(live, RESOURCE, "Default DeleteComments")
    assert alias in shown(str(request.body))
    assert _booking(live, item).alias == alias
