"""The Graph adapter's HTTP behaviour against exchangesim's Graph limits: Retry-After is waited
out, a back-off beyond the budget surfaces, no more than four requests are in flight per
mailbox (Exchange Online's MailboxConcurrency limit), and a first reply costs one request."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from graph_world import GraphWorld, graph_settings, graph_sim
from harness import VMR, start_sim_server
from mailbox_worlds import Sleeps

from exchangesim.knobs import Latency
from vmrsched.adapters.ews.connection import RetryBudget
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.adapters.graph.transport import Part
from vmrsched.domain.meetings import MessageKind
from vmrsched.ports.mailbox import (
    CursorExpiredError,
    MailboxUnavailableError,
    MessageGoneError,
    Reply,
    ReplyKind,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer

INBOX = f"/users/{VMR}/mailFolders/inbox"


def open_mailbox(sim: SimServer, **options: Any) -> GraphMailbox:
    return GraphMailbox.from_settings(graph_settings(sim), **options)


def throttled(sim: SimServer) -> int:
    return sum(sim.knobs.counters().get("throttled", {}).values())


def test_a_retry_after_within_the_budget_is_waited_out(live_sim: SimServer) -> None:
    """429 TooManyRequests with Retry-After: the adapter waits exactly that long (here: the
    budget frees up during the wait) and the call then succeeds."""
    sleeps = Sleeps()
    mailbox = open_mailbox(
        live_sim, sleep=sleeps, budget=RetryBudget(max_wait=timedelta(minutes=5))
    )
    try:
        live_sim.knobs.update(graph_budget_calls=1, graph_budget_window_ms=90_000)
        mailbox.http.request("GET", INBOX, what="using up the budget")
        sleeps.on_sleep = lambda: live_sim.knobs.update(graph_budget_calls=None)
        page = mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert page.cursor
    assert len(sleeps.waits) == 1
    assert 60 <= sleeps.waits[0] <= 90  # the server's Retry-After, not a guess of ours


def test_a_retry_after_beyond_the_budget_surfaces_without_waiting(live_sim: SimServer) -> None:
    """A back-off longer than the call's budget is not slept: MailboxUnavailableError with the
    server's retry_after, for the service to schedule."""
    sleeps = Sleeps()
    mailbox = open_mailbox(live_sim, sleep=sleeps)
    try:
        live_sim.knobs.update(graph_budget_calls=1, graph_budget_window_ms=90_000)
        mailbox.http.request("GET", INBOX, what="using up the budget")
        with pytest.raises(MailboxUnavailableError) as raised:
            mailbox.http.batch([Part("GET", INBOX)] * 3, what="reading")
    finally:
        mailbox.close()
    assert sleeps.waits == []
    assert raised.value.retry_after is not None
    assert raised.value.retry_after > timedelta(seconds=30)


@pytest.mark.parametrize(("in_flight", "over_the_limit"), [(4, False), (8, True)])
def test_no_more_than_four_requests_are_in_flight(
    live_sim: SimServer, in_flight: int, over_the_limit: bool
) -> None:
    """Sixteen threads at once through one mailbox: with the default of four in flight the
    server's limit of four is never exceeded (no 429, every call succeeds); allowing eight, it
    is (429s, and with no time passing between retries some calls give up)."""
    mailbox = open_mailbox(live_sim, sleep=lambda _: None, max_in_flight=in_flight)
    live_sim.knobs.update(graph_max_concurrent=4, latency=Latency(fixed_ms=150))
    live_sim.knobs.reset_counters()
    go = threading.Barrier(16)
    failures: list[Exception] = []

    def call() -> None:
        go.wait()
        try:
            mailbox.http.request("GET", INBOX, what="reading the inbox folder")
        except MailboxUnavailableError as exc:  # throttled beyond the retries (8 in flight)
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        mailbox.close()
    assert (throttled(live_sim) > 0) is over_the_limit
    assert bool(failures) is over_the_limit


@pytest.fixture
def world(adapters_cert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphWorld]:
    """A fresh simulator whose resource has the Calendar Attendant on, the Graph adapter on it."""
    server = start_sim_server(graph_sim(), cert_dir=adapters_cert_dir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    graph = GraphWorld(server)
    try:
        yield graph
    finally:
        graph.close()
        server.stop()


def first_reply(world: GraphWorld, subject: str) -> Reply:
    world.send(subject)
    page = world.mailbox.fetch_changes(None)
    (request,) = [m for m in page.messages if m.kind is not MessageKind.OTHER]
    return Reply(
        request.message_id, ReplyKind.ACCEPT, "<p>Yes: 81123456</p>", "k", maybe_sent=False
    )


def test_a_first_reply_to_a_request_just_read_costs_one_request(world: GraphWorld) -> None:
    """No earlier attempt and the event known from the read: one HTTP request (the answer on
    the event), and the organizer gets one acceptance."""
    reply = first_reply(world, "One call")
    before = world.mailbox.http.calls
    assert world.mailbox.reply(reply) is True
    assert world.mailbox.http.calls - before == 1
    assert [kind for kind, _ in world.responses()] == [ReplyKind.ACCEPT]


def test_a_first_reply_whose_event_is_gone_sends_nothing(world: GraphWorld) -> None:
    """The meeting's event deleted from the resource's calendar meanwhile: MessageGoneError and
    no response reaches the organizer."""
    reply = first_reply(world, "Gone in between")
    event_id = world.mailbox.remembered_event(reply.message_id)
    assert event_id is not None
    world.mailbox.http.request("DELETE", f"/users/{VMR}/events/{event_id}", what="deleting")
    with pytest.raises(MessageGoneError):
        world.mailbox.reply(reply)
    assert world.responses() == []


def test_an_ews_sync_state_left_from_before_the_move_is_an_expired_cursor(
    world: GraphWorld,
) -> None:
    """The cursor stored while the service ran on EWS is not a delta link: CursorExpiredError
    (the service then reads the inbox again), not a request Graph would refuse otherwise."""
    before = world.mailbox.http.calls
    with pytest.raises(CursorExpiredError):
        world.mailbox.fetch_changes("H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0EAQBkEATASAz")
    with pytest.raises(CursorExpiredError):
        world.mailbox.fetch_changes(
            "https://graph.example/v1.0/users/x/messages/delta?$deltatoken=1"
        )
    assert world.mailbox.http.calls == before
