"""Fixtures for the domain tests."""

from __future__ import annotations

import pytest
from domain_builders import Builders


@pytest.fixture
def build() -> Builders:
    """Builders for messages, reservations and bookings at NOW."""
    return Builders()
