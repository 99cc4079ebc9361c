"""The JSON codec that stores decisions: exact round trips, loud failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

import pytest

from vmrsched.adapters.db.codec import Codec, encode


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Leaf:
    at: datetime
    span: timedelta
    colour: Colour
    note: str | None = None


@dataclass(frozen=True)
class Other:
    n: int


@dataclass(frozen=True)
class Tree:
    leaves: tuple[Leaf | Other, ...]
    pairs: tuple[tuple[str, str], ...]
    extra: dict[str, float]


def test_nested_values_round_trip():
    """Dataclasses, unions, enums, times, tuples and dicts come back equal."""
    value = Tree(
        leaves=(
            Leaf(datetime(2026, 1, 1, 9, tzinfo=UTC), timedelta(minutes=15), Colour.RED),
            Other(3),
        ),
        pairs=(("a", "1"),),
        extra={"x": 1.0},
    )
    assert Codec().decode(Tree, encode(value)) == value


def test_naive_datetimes_cannot_be_encoded():
    """Encoding refuses a naive datetime rather than storing an ambiguous time."""
    with pytest.raises(TypeError):
        encode(datetime(2026, 1, 1))


def test_unknown_types_fail_loudly():
    """A value the codec does not know is a TypeError, never a silent loss."""
    with pytest.raises(TypeError):
        encode(object())
    with pytest.raises(TypeError):
        Codec().decode(Leaf, {"type": "Other", "n": 1})
