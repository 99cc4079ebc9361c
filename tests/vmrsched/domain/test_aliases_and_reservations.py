"""Aliases and reservations: prefix + random digits, a numeric twin, an unguessable token id."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from domain_builders import NOW, ORGANIZER

from vmrsched.domain.aliases import AliasFormat, new_alias
from vmrsched.domain.policy import dialled_aliases
from vmrsched.domain.reservations import ReservationState, new_reservation


def test_alias_is_prefix_digits_and_domain() -> None:
    """The alias and numeric alias share the random digits."""
    alias, numeric = new_alias(AliasFormat("vmr", 7, "Meet.Example.com", "81"), random.Random(3))
    digits = numeric.removeprefix("81")
    assert len(digits) == 7
    assert digits.isdigit()
    assert alias == f"vmr{digits}@meet.example.com"


def test_an_alias_with_capitals_in_its_prefix_is_found_when_dialled() -> None:
    """Aliases are lower-cased, so the policy endpoint's case-folded lookup finds them."""
    alias, _ = new_alias(AliasFormat("VMR", 6, "Meet.Example.com", "81"), random.Random(4))
    assert alias == alias.casefold()
    assert dialled_aliases(f"sip:{alias.upper()};transport=tls") == (alias,)


def test_alias_generation_follows_the_random_source() -> None:
    """The same seed gives the same alias (tests), different draws differ."""
    fmt = AliasFormat("81", 12)
    assert new_alias(fmt, random.Random(1)) == new_alias(fmt, random.Random(1))
    rng = random.Random(2)
    assert len({new_alias(fmt, rng) for _ in range(50)}) == 50


@pytest.mark.parametrize(
    "make",
    [
        lambda: AliasFormat(""),
        lambda: AliasFormat("toolongprefix"),
        lambda: AliasFormat("81", suffix_length=4),
        lambda: AliasFormat("81", suffix_length=16),
        lambda: AliasFormat("81", domain="not a domain"),
        lambda: AliasFormat("81", numeric_prefix="8a"),
    ],
)
def test_impossible_alias_formats_are_refused(make: object) -> None:
    """Pexip's limits apply: prefix 1-8 characters, 5-15 digits, a real domain."""
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_a_new_reservation_is_live_for_its_lifetime() -> None:
    """A reservation starts live, in whole seconds, and expires after its TTL."""
    now = NOW + timedelta(microseconds=123)
    reservation = new_reservation(
        organizer=" Alice@Contoso.com ",
        alias_format=AliasFormat("81"),
        rng=random.Random(5),
        now=now,
        ttl=timedelta(days=30),
    )
    assert reservation.state is ReservationState.LIVE
    assert reservation.meeting_key is None
    assert reservation.organizer == ORGANIZER
    assert reservation.created == NOW
    assert reservation.expires == NOW + timedelta(days=30)
    assert uuid.UUID(reservation.token_id)
    assert not reservation.is_expired(NOW + timedelta(days=29))
    assert reservation.is_expired(NOW + timedelta(days=30))
