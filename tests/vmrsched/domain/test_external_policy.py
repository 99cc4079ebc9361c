"""Pexip external policy: a VMR inside a booked window, refusal outside, unknown aliases pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_builders import NOW, Builders

from vmrsched.domain.bookings import BookingState
from vmrsched.domain.policy import dialled_aliases, service_configuration


def test_a_booked_alias_inside_its_window_gets_a_vmr(build: Builders) -> None:
    """Inside a window the answer is a conference with Pexip's field names."""
    booking = build.booking(build.reservation())
    inside = booking.windows[0].start + timedelta(minutes=1)
    answer = service_configuration(f"sip:{booking.alias}", booking, inside)
    assert set(answer) == {"status", "action", "result"}
    assert answer["status"] == "success"
    result = answer["result"]
    assert result["service_type"] == "conference"
    assert result["name"] == f"vmrsched {booking.alias}"
    assert result["service_tag"] == f"vmrsched:{booking.booking_id}"
    assert "description" in result


@pytest.mark.parametrize("moment", ["just before it opens", "when it closes"])
def test_outside_its_windows_a_booked_alias_is_rejected(build: Builders, moment: str) -> None:
    """Before a window opens, and from the moment it closes, the call is refused."""
    booking = build.booking(build.reservation())
    only = booking.windows[0]
    when = only.start - timedelta(seconds=1) if moment == "just before it opens" else only.end
    assert service_configuration(booking.alias, booking, when) == {
        "status": "success",
        "action": "reject",
        "result": {},
    }


def test_an_unknown_alias_passes_through(build: Builders) -> None:
    """An alias vmrsched does not know is left to Infinity's own configuration."""
    answer = service_configuration("meet.alice@contoso.com", None, NOW)
    assert answer == {"status": "success", "action": "continue", "result": {}}


def test_a_reserved_but_unbooked_alias_is_rejected() -> None:
    """A reserved alias cannot be used before a meeting books it."""
    assert service_configuration("81000001", None, NOW, reserved=True)["action"] == "reject"


def test_a_released_booking_is_rejected(build: Builders) -> None:
    """A cancelled meeting's VMR can no longer be joined."""
    booking = build.booking(build.reservation(), state=BookingState.RELEASED)
    inside = booking.windows[0].start + timedelta(minutes=1)
    assert service_configuration(booking.alias, booking, inside)["action"] == "reject"


def test_the_numeric_alias_and_uri_forms_match(build: Builders) -> None:
    """The numeric alias, and the alias with scheme, parameters or other case, all match."""
    booking = build.booking(build.reservation())
    inside = booking.windows[0].start + timedelta(minutes=1)
    for dialled in (
        booking.numeric_alias,
        f"sip:{booking.alias.upper()};transport=tls",
        f"<sips:{booking.alias}>",
        f"h323:{booking.numeric_alias}",
    ):
        assert service_configuration(dialled, booking, inside)["result"], dialled


def test_a_booking_for_another_alias_is_not_matched(build: Builders) -> None:
    """If the store hands over the wrong booking, the call passes through untouched."""
    booking = build.booking(build.reservation())
    assert service_configuration("someone@else.com", booking, NOW)["action"] == "continue"


def test_dialled_alias_normalisation() -> None:
    """Schemes, brackets and URI parameters are removed; the rest is lower-cased."""
    assert dialled_aliases(" <SIP:81042917@VMR.Example.com;transport=tls> ") == (
        "81042917@vmr.example.com",
    )
    assert dialled_aliases("") == ()
