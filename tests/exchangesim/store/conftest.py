"""Fixtures for the mailbox store: a controllable clock and a small tenant."""

from __future__ import annotations

import pytest
from store_sample import ALICE, BOB, CAROL, ROOM, VMR, FakeClock

from exchangesim.store import Store
from exchangesim.store.mailbox import CalendarProcessing


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    """Alice, Bob and Carol (users), the vmrsched resource (processing off) and an auto-accepting room."""
    store = Store(clock=clock)
    for user in (ALICE, BOB, CAROL):
        store.add_mailbox(user.email, user.name)
    store.add_mailbox(
        VMR.email,
        VMR.name,
        "equipment",
        processing=CalendarProcessing(automate_processing="None"),
        default_calendar_permission="None",
    )
    store.add_mailbox(ROOM.email, ROOM.name, "room")
    return store
