"""Graph change notifications end to end: exchangesim's Graph posts notifications to the
service's web server (``/graph/notifications``, ``/graph/lifecycle``), which wake the watcher.

The poll interval is long (120 s) and, while push is healthy, the adapter does not poll the
delta in between: a meeting answered within seconds was answered because of a notification.
Graph demands HTTPS notification URLs; the simulator's knob ``graph_notification_http`` and
``open_mailbox(allow_http_push=True)`` let the test's plain-HTTP web server receive them.
"""

# LiveService comes from test_end_to_end (one conftest-free definition of the live service).

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs
from test_end_to_end import ALICE, BOB, WAIT, LiveService

from exchangesim.graph import notifier, subscriptions
from exchangesim.server import start_in_thread
from vmrsched import bootstrap
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.cli.commands import web_options
from vmrsched.cli.demo_tenant import RESOURCE, demo_simulator
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.web.app import build_app
from vmrsched.web.server import web_task

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from exchangesim.server import RunningServer
    from vmrsched.adapters.graph.push import GraphPush

pytestmark = pytest.mark.slow

POLL_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PushedService(LiveService):
    """The live service on Graph with its web server, subscribed to change notifications."""

    def __init__(self, server: RunningServer, folder: Path, listen: str | None = None) -> None:
        listen = listen or f"127.0.0.1:{free_port()}"
        super().__init__(
            server,
            folder,
            "graph",
            web={"listen": listen, "public_url": f"http://{listen}"},
            service={"poll_interval_seconds": POLL_SECONDS},
        )
        self.mailbox.close()
        self.mailbox = bootstrap.open_mailbox(self.settings, allow_http_push=True)
        self._hook()
        assert isinstance(self.mailbox, GraphMailbox)
        assert self.mailbox.push is not None
        self.push: GraphPush = self.mailbox.push
        self.listen = listen

    def start(self) -> None:
        parts = dataclasses.replace(
            self.components.service_parts(self.mailbox), first_retry=timedelta(milliseconds=200)
        )
        app = build_app(web_options(self.components, self.mailbox))
        tasks = [*service_tasks(parts), web_task(app, self.listen)]
        supervisor = Supervisor(tasks, grace=timedelta(seconds=5))
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.report = self.loop.run_until_complete(supervisor.run(self.stop_event))

        self.thread = threading.Thread(target=run, name="pushed-service", daemon=True)
        self.thread.start()
        self.wait_for("a subscription and the pass after it", self.subscribed_and_read)

    def subscribed_and_read(self) -> bool:
        return self.push.created > 0 and self.passes >= 2

    def live_subscriptions(self) -> list[subscriptions.Subscription]:
        return subscriptions.registry(self.server.sim).live(self.server.sim.now())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    running = start_in_thread(demo_simulator("graph"), "127.0.0.1", 0, tls=True)
    running.sim.knobs.update(graph_notification_http=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield running
    running.stop()


@pytest.fixture
def pushed(server: RunningServer, tmp_path: Path) -> Iterator[PushedService]:
    service = PushedService(server, tmp_path)
    try:
        service.start()
        yield service
    finally:
        service.stop()


def test_the_service_subscribes_to_the_resources_inbox_through_the_validation_handshake(
    server: RunningServer, pushed: PushedService
) -> None:
    """One subscription, made after Graph's validation of both URLs (exchangesim refuses a
    subscription whose URLs do not echo the token), for the resource's new inbox messages."""
    (found,) = pushed.live_subscriptions()
    assert found.mailbox.casefold() == RESOURCE.casefold()
    assert found.change_types == frozenset({"created"})
    assert found.notification_url == f"http://{pushed.listen}/graph/notifications"
    assert found.lifecycle_url == f"http://{pushed.listen}/graph/lifecycle"
    assert found.id == pushed.push.subscription_id
    assert server.sim.knobs.counter("graph", "subscriptions.create") == 1


def test_a_change_notification_wakes_a_pass_long_before_the_poll_interval(
    server: RunningServer, pushed: PushedService
) -> None:
    """A meeting request's notification makes the service read and answer it within seconds,
    with a 120 s poll interval and no delta polling in between."""
    started = time.monotonic()
    pushed.send(ALICE, "Pushed", pushed.body_with_token(ALICE))
    pushed.wait_for_replies(1)
    latency = time.monotonic() - started
    assert latency < POLL_SECONDS / 4, latency
    assert server.sim.knobs.counter("graph_notifications", "delivered") >= 1
    assert pushed.responses(ALICE, "Pushed") == ["Accepted"]


def test_a_missed_lifecycle_notification_runs_a_delta_pass(
    server: RunningServer, pushed: PushedService
) -> None:
    """Graph's ``missed``: the service reads the delta at once (not at the poll interval)."""
    passes = pushed.passes
    assert notifier.send_lifecycle(server.sim, "missed").result(WAIT) == 1
    pushed.wait_for("a pass after missed", lambda: pushed.passes > passes)


def test_reauthorization_required_renews_the_subscription_on_graph(
    server: RunningServer, pushed: PushedService
) -> None:
    """Graph's ``reauthorizationRequired``: a PATCH that exchangesim accepts; the same
    subscription, a later expiry."""
    (before,) = pushed.live_subscriptions()
    passes = pushed.passes
    assert notifier.send_lifecycle(server.sim, "reauthorizationRequired").result(WAIT) == 1
    pushed.wait_for("the renewal", lambda: pushed.push.renewed == 1 and pushed.passes > passes)
    (after,) = pushed.live_subscriptions()
    assert after.id == before.id
    assert after.expires > before.expires


def test_a_removed_subscription_is_made_again_and_no_meeting_is_lost_or_answered_twice(
    server: RunningServer, pushed: PushedService
) -> None:
    """Graph removes the subscription (``subscriptionRemoved``). A meeting that arrives while
    there is none gets no notification; the service subscribes again, reads the delta and
    answers it; a later meeting is pushed as before; every meeting is answered once."""
    pushed.send(BOB, "Before removal", pushed.body_with_token(BOB))
    pushed.wait_for_replies(1)
    old = pushed.push.subscription_id
    gap_open, gap_closed = threading.Event(), threading.Event()
    create = pushed.push._create  # held back to make the gap deterministic

    def held_back() -> None:
        gap_open.set()
        assert gap_closed.wait(WAIT)
        create()

    pushed.push._create = held_back  # type: ignore[method-assign]
    with capture_logs() as logged:
        assert notifier.remove_subscriptions(server.sim, mailbox=RESOURCE).result(WAIT) == 1
        assert gap_open.wait(WAIT)
        assert pushed.live_subscriptions() == []
        delivered = server.sim.knobs.counter("graph_notifications", "attempted")
        pushed.send(ALICE, "During the gap", pushed.body_with_token(ALICE))
        assert server.sim.knobs.counter("graph_notifications", "attempted") == delivered
        gap_closed.set()
        pushed.wait_for_replies(2)
        (renewed,) = pushed.live_subscriptions()
        assert renewed.id not in (old, None)
        pushed.send(BOB, "After recovery", pushed.body_with_token(BOB))
        pushed.wait_for_replies(3)
    events = [entry.get("lifecycle_event") for entry in logged]
    assert "subscriptionRemoved" in events
    assert pushed.responses(BOB, "Before removal") == ["Accepted"]
    assert pushed.responses(ALICE, "During the gap") == ["Accepted"]
    assert pushed.responses(BOB, "After recovery") == ["Accepted"]
    assert pushed.push.created == 2


def test_a_notification_url_graph_cannot_reach_falls_back_to_delta_polling(
    server: RunningServer, tmp_path: Path
) -> None:
    """The public URL does not reach the service (nothing serves it): Graph's validation
    fails, the subscription is refused, the push channel is reported unhealthy and meetings
    are still answered within seconds by polling the delta every 2 s."""
    service = PushedService(server, tmp_path)
    try:
        with capture_logs() as logged:
            LiveService.start(service)  # the service alone: no web server for Graph to reach
            # The subscription is tried in the wait after the first pass; the meeting is sent
            # once it has failed, so that polling is what finds it.
            service.wait_for(
                "the subscription's failure",
                lambda: "graph_subscription_failed" in [entry["event"] for entry in logged],
            )
            service.send(ALICE, "Unreachable URL", service.body_with_token(ALICE))
            service.wait_for_replies(1)
        assert service.push.subscription_id is None
        assert service.live_subscriptions() == []
        assert service.components.health.snapshot().push_healthy is False
        assert service.responses(ALICE, "Unreachable URL") == ["Accepted"]
    finally:
        service.stop()


def test_a_subscription_left_by_a_crashed_run_is_deleted_at_the_next_start(
    server: RunningServer, tmp_path: Path
) -> None:
    """A run that ended without deleting its subscription (a crash) leaves it at Graph; the
    next run deletes it before subscribing: one subscription, the new run's."""
    crashed = PushedService(server, tmp_path)
    crashed.push.close = lambda: None  # type: ignore[method-assign]  # a crash deletes nothing
    try:
        crashed.start()
    finally:
        crashed.stop()
    (left,) = crashed.live_subscriptions()
    restarted = PushedService(server, tmp_path, crashed.listen)  # the same public URL
    try:
        restarted.start()
        (kept,) = restarted.live_subscriptions()
        assert kept.id == restarted.push.subscription_id != left.id
    finally:
        restarted.stop()
