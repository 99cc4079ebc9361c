"""Push against a live exchangesim: a request that lands right after the first pass, before the
watcher first waits, is seen at once rather than after a poll interval (the subscription is made
before the first read)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from mailbox_worlds import EwsWorld

from vmrsched.service.apply import ApplyReport
from vmrsched.service.health import Health
from vmrsched.service.sync import PassReport
from vmrsched.service.watch import Watcher

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from harness import SimServer

WAIT = timedelta(seconds=20)  # an upper bound for a push that arrives within milliseconds
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(live_sim: SimServer) -> Iterator[EwsWorld]:
    """The EWS adapter, push on, on the shared simulator."""
    ews = EwsWorld(live_sim)
    yield ews
    ews.close()


def ews_calls(sim: SimServer, operation: str) -> int:
    return sim.knobs.counters().get("ews", {}).get(operation, 0)


def test_a_request_landing_between_the_first_read_and_the_first_wait_wakes_the_wait(
    world: EwsWorld, live_sim: SimServer
) -> None:
    """The subscription exists before the first read: a request sent after that read ends the
    first wait early, and the next read returns it."""
    subscribes = ews_calls(live_sim, "Subscribe")
    page = world.mailbox.fetch_changes(None, limit=512)  # the shared inbox holds others' too
    assert ews_calls(live_sim, "Subscribe") == subscribes + 1
    assert not page.more
    world.send("Between the pass and the wait")
    events = world.mailbox.wait_for_changes(WAIT)
    assert events.changed
    assert events.push_healthy
    later = world.mailbox.fetch_changes(page.cursor)
    assert [m.subject for m in later.messages] == ["Between the pass and the wait"]


def test_arming_before_the_first_read_costs_no_extra_pass(world: EwsWorld) -> None:
    """With nothing delivered, the first wait is not woken: the fix adds no catch-up pass."""
    world.mailbox.fetch_changes(None)
    assert world.mailbox.wait_for_changes(timedelta(0)).changed is False


class Passes:
    """A pass that only reads the inbox; it sends a request right after the first one."""

    def __init__(self, world: EwsWorld) -> None:
        self.world = world
        self.cursor: str | None = None
        self.count = 0
        self.subjects: list[str] = []
        self.saw_the_request = threading.Event()

    def __call__(self, _on_committed: Callable[[], None]) -> PassReport:
        page = self.world.mailbox.fetch_changes(self.cursor, limit=512)
        self.cursor = page.cursor
        self.count += 1
        if self.count > 1:  # the first pass reads what other tests left in the shared inbox
            self.subjects.extend(m.subject for m in page.messages)
        if self.count == 1:
            self.world.send("Right after the first pass")  # before the watcher waits
        elif self.subjects:
            self.saw_the_request.set()
        return PassReport(pages=1, processed=(), resynced=False)


def test_the_watcher_runs_a_pass_for_it_without_waiting_the_poll_interval(
    world: EwsWorld,
) -> None:
    """A watcher with an hour-long poll interval: a request delivered right after its first pass
    is read by a second pass, woken by push."""
    run_pass = Passes(world)

    watcher = Watcher(
        mailbox=world.mailbox,
        run_pass=run_pass,
        apply=ApplyReport,
        clock=lambda: NOW,
        health=Health(NOW),
        poll_interval=timedelta(hours=1),
    )

    async def scenario() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        seen = await asyncio.to_thread(run_pass.saw_the_request.wait, WAIT.total_seconds())
        stop.set()
        await asyncio.wait_for(task, WAIT.total_seconds())
        return seen

    assert asyncio.run(scenario())
    assert run_pass.subjects == ["Right after the first pass"]
    assert run_pass.count == 2
