"""The EWS adapter against a live exchangesim: throttling and faults within a bounded budget, the
app's access problems in plain words, batching, TLS, and the streaming connection (its own
connection, reconnects, resubscribes, stops on close)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import certifi
import pytest
import requests
import structlog
from exchangelib.services import Unsubscribe
from harness import ALICE, DAVE, make_sim, start_sim_server
from mailbox_support import VMRSCHED_EXPIRED_SECRET, VMRSCHED_SECRET, exchange_settings
from mailbox_worlds import EwsWorld

from vmrsched.adapters.ews.client import EwsMailbox
from vmrsched.adapters.ews.connection import EwsAdapter, RetryBudget
from vmrsched.ports.mailbox import (
    MailboxAccessError,
    MailboxAuthError,
    MailboxUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer


@pytest.fixture
def sim(adapters_cert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    """A fresh simulator; the organizers' exchangelib clients trust its CA."""
    server = start_sim_server(make_sim(), cert_dir=adapters_cert_dir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield server
    server.stop()


@pytest.fixture
def world(sim: SimServer) -> Iterator[EwsWorld]:
    """The EWS adapter on `sim`, its back-off waits recorded instead of slept."""
    ews = EwsWorld(sim)
    yield ews
    ews.close()


def ews_calls(sim: SimServer, operation: str) -> int:
    return sim.knobs.counters().get("ews", {}).get(operation, 0)


def open_mailbox(sim: SimServer, **changes: object) -> EwsMailbox:
    settings = dataclasses.replace(exchange_settings(sim), **changes)
    return EwsMailbox.from_settings(settings, push=False, sleep=lambda _: None)


# --- throttling and transient faults ---------------------------------------------------------


def test_a_short_server_back_off_is_waited_out(world: EwsWorld, sim: SimServer) -> None:
    """ErrorServerBusy with BackOffMilliseconds within the budget: wait that long, then go on."""
    sim.knobs.update(budget_calls=1, budget_window_ms=2_000)
    world.client(world.mailbox.address).root  # uses up the budget  # noqa: B018
    world.sleeps.on_sleep = sim.knobs.reset  # the wait passes: the server has recovered
    assert world.mailbox.fetch_changes(None).messages == []
    (wait,) = world.sleeps.waits
    assert 1.0 < wait <= 2.0


def test_an_http_503_is_retried(world: EwsWorld, sim: SimServer) -> None:
    """IIS's 503 answer is transient: retried after a short wait."""
    sim.knobs.update(
        fault_rate=1.0, fault_kinds=("http503",), fault_operations=("SyncFolderItems",)
    )
    world.sleeps.on_sleep = sim.knobs.reset
    world.send("After the outage")
    assert [m.subject for m in world.mailbox.fetch_changes(None).messages] == ["After the outage"]
    assert len(world.sleeps.waits) == 1


def test_a_reset_connection_is_retried(world: EwsWorld, sim: SimServer) -> None:
    """A connection reset mid-call is transient too."""
    sim.knobs.update(fault_rate=1.0, fault_kinds=("reset",), fault_operations=("SyncFolderItems",))
    world.sleeps.on_sleep = sim.knobs.reset
    assert world.mailbox.fetch_changes(None).messages == []
    assert len(world.sleeps.waits) == 1


def test_a_lasting_outage_gives_up_within_the_budget(sim: SimServer) -> None:
    """Faults that do not end: a few tries, waits within max_wait, then MailboxUnavailableError."""
    sim.knobs.update(fault_rate=1.0, fault_kinds=("http500",))
    waits: list[float] = []
    budget = RetryBudget(max_wait=timedelta(seconds=5), max_attempts=4)
    mailbox = EwsMailbox.from_settings(
        exchange_settings(sim), push=False, sleep=waits.append, budget=budget
    )
    try:
        with pytest.raises(MailboxUnavailableError) as caught:
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert caught.value.retry_after is not None
    assert len(waits) <= 3
    assert sum(waits) <= 5


# --- the app's access, in plain words ----------------------------------------------------------


def test_a_token_ews_refuses_is_renewed_once_then_reported(sim: SimServer) -> None:
    """HTTP 401 (a Graph token sent to EWS): one fresh token, then MailboxAuthError with a fix."""
    mailbox = open_mailbox(sim, token_scope="https://graph.microsoft.com/.default")
    try:
        with pytest.raises(MailboxAuthError) as caught:
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert "401" in str(caught.value)
    assert "token_scope" in caught.value.fix
    assert sim.knobs.counters()["token"]["requests"] == 2


def test_a_mailbox_outside_the_scope_is_an_access_error(sim: SimServer) -> None:
    """Dave is outside the management scope: MailboxAccessError naming the RBAC fix."""
    mailbox = open_mailbox(sim, resource_mailbox=DAVE)
    try:
        with pytest.raises(MailboxAccessError) as caught:
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert "Application EWS.AccessAsApp" in caught.value.fix


def test_a_mailbox_that_does_not_exist_is_named(sim: SimServer) -> None:
    """A wrong resource address: MailboxAccessError saying there is no such mailbox."""
    mailbox = open_mailbox(sim, resource_mailbox="nobody@contoso.com")
    try:
        with pytest.raises(MailboxAccessError, match=r"no mailbox nobody@contoso\.com"):
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()


def test_ews_switched_off_for_a_mailbox_is_explained(sim: SimServer) -> None:
    """Erin's mailbox has EWS off (HTTP 403): the fix names EwsEnabled and the allow list."""
    mailbox = open_mailbox(sim, resource_mailbox="erin@contoso.com")
    try:
        with pytest.raises(MailboxAccessError) as caught:
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert "EwsEnabled" in caught.value.fix


def test_an_expired_secret_fails_before_any_ews_call(sim: SimServer) -> None:
    """The token endpoint's refusal is the error; EWS is never called."""
    mailbox = open_mailbox(
        sim, client_secret=type(exchange_settings(sim).client_secret)(VMRSCHED_EXPIRED_SECRET)
    )
    try:
        with pytest.raises(MailboxAuthError, match="has expired"):
            mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert sim.knobs.counters().get("ews", {}) == {}


def test_ca_bundle_wins_over_the_environment_for_ews(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REQUESTS_CA_BUNDLE names another CA; the configured ca_bundle is still what is trusted."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    mailbox = open_mailbox(sim)
    try:
        assert mailbox.fetch_changes(None).messages == []
    finally:
        mailbox.close()


# --- what it costs ---------------------------------------------------------------------------


def test_reading_batches_getitem_and_reads_only_meetings(world: EwsWorld, sim: SimServer) -> None:
    """Five requests with batches of two: one SyncFolderItems and three GetItem calls."""
    for index in range(5):
        world.send(f"Batch {index}")
    mailbox = EwsMailbox.from_settings(exchange_settings(sim), push=False, get_item_batch=2)
    sim.knobs.reset_counters()
    try:
        page = mailbox.fetch_changes(None)
    finally:
        mailbox.close()
    assert len(page.messages) == 5
    assert ews_calls(sim, "SyncFolderItems") == 1
    assert ews_calls(sim, "GetItem") == 3


def test_a_reply_that_may_have_been_sent_costs_one_lookup_and_one_send(
    world: EwsWorld, sim: SimServer
) -> None:
    """Replying after a begun attempt is a FindItem in Sent Items and a CreateItem, nothing else."""
    from test_mailbox_contract import reply_to  # noqa: PLC0415 - shared helper

    world.send("Cheap reply")
    (message,) = world.mailbox.fetch_changes(None).messages
    sim.knobs.reset_counters()
    assert world.mailbox.reply(reply_to(message))
    assert sim.knobs.counters()["ews"] == {"FindItem": 1, "CreateItem": 1}


def test_a_first_attempt_at_a_reply_is_one_send(world: EwsWorld, sim: SimServer) -> None:
    """With maybe_sent False (no attempt was ever begun) replying is one CreateItem."""
    from test_mailbox_contract import reply_to  # noqa: PLC0415 - shared helper

    world.send("Cheaper reply")
    (message,) = world.mailbox.fetch_changes(None).messages
    sim.knobs.reset_counters()
    assert world.mailbox.reply(dataclasses.replace(reply_to(message), maybe_sent=False))
    assert sim.knobs.counters()["ews"] == {"CreateItem": 1}
    assert len(world.responses()) == 1


def test_a_send_retried_within_the_call_looks_first(world: EwsWorld, sim: SimServer) -> None:
    """A first attempt whose CreateItem failed in transit looks in Sent Items before sending
    again (the failed call may have acted), and the organizer gets one response."""
    from test_mailbox_contract import reply_to  # noqa: PLC0415 - shared helper

    world.send("Reset in the middle")
    (message,) = world.mailbox.fetch_changes(None).messages
    sim.knobs.update(fault_rate=1.0, fault_kinds=("reset",), fault_operations=("CreateItem",))
    world.sleeps.on_sleep = sim.knobs.reset
    sim.knobs.reset_counters()
    assert world.mailbox.reply(dataclasses.replace(reply_to(message), maybe_sent=False))
    assert ews_calls(sim, "FindItem") == 1
    assert len(world.responses()) == 1


def test_replies_can_be_sent_from_several_threads_at_once(world: EwsWorld, sim: SimServer) -> None:
    """Four threads replying to eight requests: eight responses, one each, no error."""
    from test_mailbox_contract import reply_to  # noqa: PLC0415 - shared helper

    for index in range(8):
        world.send(f"Concurrent {index}")
    messages = world.mailbox.fetch_changes(None).messages
    errors: list[BaseException] = []

    def answer(part: int) -> None:
        try:
            for message in messages[part::4]:
                world.mailbox.reply(dataclasses.replace(reply_to(message), maybe_sent=False))
        except BaseException as exc:
            errors.append(exc)

    sim.knobs.update(latency={"fixed_ms": 20, "jitter_ms": 0})
    threads = [threading.Thread(target=answer, args=(part,)) for part in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(world.responses()) == 8


def test_whole_answers_are_read_in_big_chunks_and_streams_byte_by_byte(sim: SimServer) -> None:
    """exchangelib parses answers via iter_content(): a whole answer comes in one chunk (not one
    per byte, requests' default); a streamed one keeps one-byte chunks for exchangelib's
    streaming reader."""
    session = requests.Session()
    session.mount("https://", EwsAdapter(sim.ca_file))
    url = f"{sim.base_url}/common/v2.0/.well-known/openid-configuration"
    try:
        whole = session.get(url, timeout=10)
        streamed = session.get(url, stream=True, timeout=10)
        chunks = list(whole.iter_content())
        bytes_ = list(streamed.iter_content())
    finally:
        session.close()
    assert len(whole.content) > 1
    assert chunks == [whole.content]
    assert b"".join(bytes_) == whole.content
    assert {len(b) for b in bytes_} == {1}


def test_no_secret_or_token_is_logged(world: EwsWorld) -> None:
    """Structured logs of a read and a reply never hold the secret or the bearer token."""
    from test_mailbox_contract import reply_to  # noqa: PLC0415 - shared helper

    world.send("Quiet please")
    with structlog.testing.capture_logs() as logs:
        (message,) = world.mailbox.fetch_changes(None).messages
        world.mailbox.reply(reply_to(message))
    token = world.mailbox._tokens.token()
    text = repr(logs)
    assert logs
    assert VMRSCHED_SECRET not in text
    assert token not in text


# --- streaming ---------------------------------------------------------------------------------


def test_a_held_stream_never_blocks_other_calls(world: EwsWorld) -> None:
    """While the stream holds its connection, reads go through on the other one at once."""
    world.mailbox.wait_for_changes(timedelta(0))
    watcher = world.mailbox._watcher
    assert watcher is not None
    assert watcher.healthy
    world.send("Meanwhile")
    done = threading.Event()
    pages = []

    def read() -> None:
        pages.append(world.mailbox.fetch_changes(None))
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10)
    assert [m.subject for m in pages[0].messages] == ["Meanwhile"]


def test_a_dropped_stream_reconnects_and_still_wakes(sim: SimServer) -> None:
    """The server cuts the stream: the watcher reconnects, says so, and deliveries still wake."""
    world = EwsWorld(sim, push_retry_delays=(0.05,))
    try:
        sim.knobs.update(streaming_drop=True, streaming_drop_after_ms=50)
        world.mailbox.wait_for_changes(timedelta(0))
        assert world.mailbox.wait_for_changes(timedelta(seconds=20)).changed  # the gap
        sim.knobs.reset()
        drops = ews_calls(sim, "GetStreamingEvents")
        while ews_calls(sim, "GetStreamingEvents") == drops:  # the next stream stays up
            world.mailbox.wait_for_changes(timedelta(seconds=1))
        world.send("After the drop")
        events = world.mailbox.wait_for_changes(timedelta(seconds=20))
    finally:
        world.close()
    assert events.changed
    assert events.push_healthy
    assert ews_calls(sim, "GetStreamingEvents") >= 2


def test_a_lost_subscription_is_made_again(world: EwsWorld, sim: SimServer) -> None:
    """Exchange forgets the subscription: a new one is made and deliveries wake again."""
    world.mailbox.wait_for_changes(timedelta(0))
    watcher = world.mailbox._watcher
    assert watcher is not None
    subscription = watcher._subscription
    resource = world.client(world.mailbox.address)
    Unsubscribe(account=resource).get(subscription_id=subscription)
    world.send("Wake the new subscription")
    deadline = 5
    while deadline and ews_calls(sim, "Subscribe") < 2:
        world.mailbox.wait_for_changes(timedelta(seconds=5))
        deadline -= 1
    assert ews_calls(sim, "Subscribe") >= 2
    world.send("Once more")
    assert world.mailbox.wait_for_changes(timedelta(seconds=20)).changed


def test_close_ends_the_stream_and_its_subscription(sim: SimServer) -> None:
    """close() returns at once, stops the thread and unsubscribes."""
    mailbox = EwsMailbox.from_settings(exchange_settings(sim), sleep=lambda _: None)
    mailbox.wait_for_changes(timedelta(0))
    watcher = mailbox._watcher
    assert watcher is not None
    mailbox.close()
    assert watcher._thread is not None
    assert not watcher._thread.is_alive()
    assert ews_calls(sim, "Unsubscribe") == 1
    assert mailbox.wait_for_changes(timedelta(seconds=5)).changed is False


def test_without_push_a_wait_reports_push_down(sim: SimServer) -> None:
    """push=False: waiting relies on the poll interval and says push is not healthy."""
    mailbox = open_mailbox(sim)
    try:
        events = mailbox.wait_for_changes(timedelta(0))
    finally:
        mailbox.close()
    assert (events.changed, events.push_healthy) == (False, False)


def test_alice_can_be_impersonated_too(sim: SimServer) -> None:
    """The app reaches organizers in the scope (needed to write instructions as them)."""
    mailbox = open_mailbox(sim, resource_mailbox=ALICE)
    try:
        assert mailbox.fetch_changes(None).cursor
    finally:
        mailbox.close()
