"""What a burst of change notifications costs in Graph requests: the Graph adapter on
exchangesim (delta pages, reads), the watcher's loop played by hand, no timing.

Notifications are delivered to the adapter as Graph posts them (several entries to a body,
``resourceData.id`` naming the message, at least once: duplicates happen), in a fixed order
relative to the delta reads. The subscription itself is held by a recording stand-in
(`test_graph_push.RecordingGraph`): exchangesim would validate a notification URL nothing
serves here, and subscribing is tested elsewhere (test_graph_push_end_to_end.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from graph_world import graph_settings, graph_sim
from harness import ALICE, VMR, start_sim_server
from test_graph_push import RecordingGraph, secret_of

from exchangesim.graph.ids import rest_id
from exchangesim.store import Address, Attendee, Body, CalendarItem, send_meeting
from vmrsched.adapters.ews.connection import RetryBudget
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.adapters.graph.push import GraphPush

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer

NOW = timedelta(0)  # the watcher's wait, asked to answer at once


@pytest.fixture
def server(adapters_cert_dir: Path) -> Iterator[SimServer]:
    """A fresh Graph-ready simulator (the resource's Calendar Attendant on)."""
    running = start_sim_server(graph_sim(), cert_dir=adapters_cert_dir)
    yield running
    running.stop()


class Pushed:
    """The Graph mailbox with its push channel, read up to now, and Graph's notifications."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.mailbox = GraphMailbox.from_settings(
            graph_settings(server), budget=RetryBudget(), sleep=lambda _: None
        )
        self.graph = RecordingGraph()
        self.push = GraphPush(
            self.graph,  # type: ignore[arg-type]
            user_path=f"/users/{VMR}",
            notification_url="https://vmrsched.contoso.com/graph/notifications",
            lifecycle_url="https://vmrsched.contoso.com/graph/lifecycle",
        )
        self.mailbox.push = self.push
        assert self.push.maintain() is True
        self.cursor: str | None = None
        self.passes = 0
        self.read_pass()  # the first round: the inbox as it is
        self.passes = 0
        server.knobs.reset_counters()

    def read_page(self) -> bool:
        """One delta page of the pass (the service's `sync_mailbox` loop); True: more."""
        page = self.mailbox.fetch_changes(self.cursor)
        self.cursor = page.cursor
        return page.more

    def read_pass(self) -> None:
        """A whole pass: delta pages to the end of the round (reads included)."""
        while self.read_page():
            pass
        self.passes += 1

    def settle(self) -> None:
        """The watcher: a pass each time the wait says something changed, until it does not."""
        while self.mailbox.wait_for_changes(NOW).changed:
            assert self.passes < 10, "the wait keeps asking for passes"
            self.read_pass()

    def arrive(self, count: int) -> list[str]:
        """``count`` meeting requests from Alice reach the resource's inbox; their Graph ids."""
        before = {i.id for i in self.server.sim.store.items(VMR, "inbox")}
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        for index in range(count):
            item = CalendarItem(
                subject=f"Burst {index}",
                body=Body("HTML", "<p>Agenda</p>"),
                start=start + timedelta(hours=index),
                end=start + timedelta(hours=index, minutes=30),
                required_attendees=(Attendee(Address(VMR, "VMR")),),
            )
            send_meeting(self.server.sim.store, ALICE, item)
        after = self.server.sim.store.items(VMR, "inbox")
        return [rest_id(i.id) for i in after if i.id not in before]

    def notify(self, *changes: tuple[str, str]) -> None:
        """Graph posts one body with a notification per (changeType, message id)."""
        entries: list[dict[str, Any]] = [
            {
                "subscriptionId": self.push.subscription_id,
                "clientState": secret_of(self.graph),
                "changeType": change,
                "resource": f"Users/{VMR}/Messages/{message_id}",
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "@odata.id": f"Users/{VMR}/Messages/{message_id}",
                    "id": message_id,
                },
            }
            for change, message_id in changes
        ]
        assert self.push.notified({"value": entries}) == len(entries)

    def requests(self) -> dict[str, int]:
        """Graph requests served since the start (each request of a $batch, and the $batch)."""
        return dict(self.server.knobs.counters().get("graph", {}))


@pytest.fixture
def pushed(server: SimServer) -> Iterator[Pushed]:
    made = Pushed(server)
    yield made
    made.mailbox.close()


def test_a_burst_before_and_during_a_pass_costs_one_delta_page_and_one_read_per_message(
    pushed: Pushed,
) -> None:
    """Three requests arrive; Graph notifies each as created, then (a pass under way) again
    as updated and once more as created (delivery is at least once). One pass answers them
    all: one delta page, one $batch of three reads; the late notifications name messages
    that page returned and wake nothing (before: each notification after the pass's delta
    read woke one more pass, a delta page each)."""
    ids = pushed.arrive(3)
    pushed.notify(*(("created", i) for i in ids))
    assert pushed.mailbox.wait_for_changes(NOW).changed
    assert pushed.read_page() is False  # the pass's delta page, its reads with it
    pushed.notify(*(("updated", i) for i in ids), ("created", ids[0]))
    pushed.passes += 1
    pushed.settle()
    assert pushed.passes == 1
    assert pushed.requests() == {"message_delta": 1, "$batch": 1, "get_message": 3}
    assert (pushed.push.pending.noted, pushed.push.pending.already_read) == (3, 4)


def test_a_message_that_arrives_during_a_pass_wakes_exactly_one_more_pass(
    pushed: Pushed,
) -> None:
    """A request arrives and is notified after the pass's delta page was read: that round
    may not contain it, so one more pass reads it; then the wait stays quiet. A single
    meeting message is read with one GET (no $batch of one)."""
    (first,) = pushed.arrive(1)
    pushed.notify(("created", first))
    assert pushed.mailbox.wait_for_changes(NOW).changed
    assert pushed.read_page() is False
    (second,) = pushed.arrive(1)
    pushed.notify(("created", second), ("created", first))
    pushed.passes += 1
    pushed.settle()
    assert pushed.passes == 2
    assert pushed.requests() == {"message_delta": 2, "get_message": 2}


def test_notifications_of_messages_already_read_cost_no_request(pushed: Pushed) -> None:
    """The poll interval's pass read two requests before their notifications came: the late
    notifications (created and updated) end no wait and send nothing to Graph."""
    ids = pushed.arrive(2)
    pushed.read_pass()
    pushed.notify(*(("created", i) for i in ids), *(("updated", i) for i in ids))
    assert pushed.mailbox.wait_for_changes(NOW).changed is False
    assert pushed.requests() == {"message_delta": 1, "$batch": 1, "get_message": 2}


def test_a_missed_lifecycle_notification_still_wakes_one_pass(pushed: Pushed) -> None:
    """Graph's ``missed`` names no message: one pass reads the delta, then the wait is quiet."""
    (lost,) = pushed.arrive(1)
    payload = {
        "value": [
            {
                "subscriptionId": pushed.push.subscription_id,
                "clientState": secret_of(pushed.graph),
                "lifecycleEvent": "missed",
            }
        ]
    }
    assert pushed.push.lifecycle(payload) == 1
    pushed.settle()
    assert pushed.passes == 1
    assert pushed.requests() == {"message_delta": 1, "get_message": 1}
    assert pushed.mailbox.remembered_event(lost) is not None
