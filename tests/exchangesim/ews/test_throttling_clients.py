"""Throttling and faults as real clients meet them: exchangelib's FailFast and FaultTolerance
against the simulator's throttling knobs, and a realistic burst of concurrent EWS calls.

exchangelib facts these tests pin down (REFERENCES.md §4):

- `FailFast` (the default) raises `ErrorServerBusy` whose `back_off` is the fault's
  `BackOffMilliseconds`, i.e. the simulator's;
- `FaultTolerance(max_wait=...)` sleeps that long and retries, and gives up with
  `RateLimitError` when asked to wait longer than `max_wait`;
- an HTTP 503 is retried after `protocol.RETRY_WAIT` (10 s, doubling); the tests shorten that
  wait on their own protocol object, the retry logic stays exchangelib's;
- a reset connection is retried only while exchangelib can shrink its session pool: with the
  default single session it raises `ErrorTimeoutExpired` even under `FaultTolerance`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import exchangelib.errors
import pytest
from exchangelib import FaultTolerance
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import (
    ALICE,
    DAVE,
    LEGACY_APP,
    VMR,
    VMRSCHED_APP,
    EwsClient,
    EwsReply,
    SimServer,
    convert_id_body,
    make_sim,
    start_sim_server,
)
from lxml import etree

from exchangesim.ews.subscriptions import registry_for
from exchangesim.ews.xml import M_NS, T_NS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from exchangelib import Account
    from exchangelib_client import AccountFactory

ALICE_KEY = f"{VMRSCHED_APP}|{ALICE}"


@pytest.fixture(autouse=True)
def forget_subscriptions(shared_server: SimServer) -> None:
    """Each test starts without subscriptions on the shared server (20 per mailbox at most)."""
    registry = registry_for(shared_server.sim)
    for sub in registry.subscriptions():
        registry.remove(sub)


async def until(condition: Callable[[], bool], within_s: float = 10) -> None:
    """Wait until `condition()` holds (it follows an HTTP request the test started)."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def hold_a_slot(ews: EwsClient, server: SimServer) -> asyncio.Task[EwsReply]:
    """Start a slow ConvertId as vmrsched on Alice's mailbox and wait until it is admitted."""
    call = asyncio.create_task(
        ews.call(convert_id_body(), token=server.app_token(VMRSCHED_APP), client_timeout=60)
    )
    await until(lambda: server.knobs.active(ALICE_KEY) == 1)
    return call


def alice(accounts: AccountFactory, server: SimServer, **kwargs: Any) -> Account:
    """vmrsched's exchangelib Account on Alice's mailbox, with the inbox already fetched."""
    account = accounts(server, ALICE, **kwargs)
    assert account.inbox is not None
    return account


# --- FailFast -----------------------------------------------------------------------------------


def test_fail_fast_gets_server_busy_with_the_budgets_back_off(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """Budget throttling: the second call in the window raises ErrorServerBusy; its back_off is
    the simulator's time until the window frees up, and the refusal is counted."""
    inbox = alice(exchangelib_accounts, sim_server).inbox
    sim_server.admin.set_knobs(budget_calls=1, budget_window_ms=60_000)
    sim_server.admin.reset_counters()
    inbox.subscribe_to_pull()
    with pytest.raises(exchangelib.errors.ErrorServerBusy) as busy:
        inbox.subscribe_to_pull()
    assert 55 < busy.value.back_off <= 60
    counters = sim_server.admin.counters()
    assert counters["throttled"] == {"budget": 1}
    assert counters["ews"]["Subscribe"] == 2


async def test_fail_fast_gets_server_busy_with_the_concurrency_back_off(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """Concurrency throttling: while another call of the same app holds the mailbox's only
    slot, exchangelib raises ErrorServerBusy with exactly `concurrency_back_off_ms`."""
    inbox = (await asyncio.to_thread(alice, exchangelib_accounts, sim_server)).inbox
    sim_server.admin.set_knobs(
        max_concurrent=1,
        concurrency_back_off_ms=1234,
        latency_per_operation={"ConvertId": {"fixed_ms": 2000}},
    )
    async with EwsClient(sim_server) as ews:
        slow = await hold_a_slot(ews, sim_server)
        with pytest.raises(exchangelib.errors.ErrorServerBusy) as busy:
            await asyncio.to_thread(inbox.subscribe_to_pull)
        assert (await slow).status == 200
    assert busy.value.back_off == pytest.approx(1.234)
    assert sim_server.knobs.counter("throttled", "concurrency") == 1


# --- FaultTolerance -----------------------------------------------------------------------------


def test_fault_tolerance_waits_out_the_budget_and_succeeds(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """FaultTolerance sleeps the simulator's back-off, retries and succeeds; the counters show
    the refused call and its retry."""
    inbox = alice(exchangelib_accounts, sim_server, retry_policy=FaultTolerance(max_wait=5)).inbox
    sim_server.admin.set_knobs(budget_calls=1, budget_window_ms=400)
    sim_server.admin.reset_counters()
    inbox.subscribe_to_pull()
    started = time.monotonic()
    sub_id, _ = inbox.subscribe_to_pull()
    assert time.monotonic() - started >= 0.2  # it did wait for the window to move on
    assert sub_id
    counters = sim_server.admin.counters()
    assert counters["throttled"] == {"budget": 1}
    assert counters["ews"]["Subscribe"] == 3  # the first call, the refused one, its retry


async def test_fault_tolerance_retries_until_the_concurrency_slot_is_free(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """With the only slot taken, FaultTolerance retries every back-off until the slow call
    ends, then succeeds; every refusal is counted."""
    policy = FaultTolerance(max_wait=5)
    account = await asyncio.to_thread(alice, exchangelib_accounts, sim_server, retry_policy=policy)
    sim_server.admin.set_knobs(
        max_concurrent=1,
        concurrency_back_off_ms=100,
        latency_per_operation={"ConvertId": {"fixed_ms": 600}},
    )
    sim_server.knobs.reset_counters()
    async with EwsClient(sim_server) as ews:
        slow = await hold_a_slot(ews, sim_server)
        sub_id, _ = await asyncio.to_thread(account.inbox.subscribe_to_pull)
        assert (await slow).status == 200
    assert sub_id
    refused = sim_server.knobs.counter("throttled", "concurrency")
    assert refused >= 2
    assert sim_server.knobs.counter("ews", "Subscribe") == refused + 1


def test_fault_tolerance_gives_up_when_asked_to_wait_longer_than_max_wait(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """A back-off beyond `max_wait` ends in exchangelib's RateLimitError, at once."""
    inbox = alice(exchangelib_accounts, sim_server, retry_policy=FaultTolerance(max_wait=1)).inbox
    sim_server.admin.set_knobs(budget_calls=1, budget_window_ms=60_000)
    inbox.subscribe_to_pull()
    with pytest.raises(exchangelib.errors.RateLimitError) as gave_up:
        inbox.subscribe_to_pull()
    assert gave_up.value.wait > 55


def test_fault_tolerance_survives_random_503s(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """IIS 503 pages at random: FaultTolerance retries each call until it gets through."""
    account = alice(exchangelib_accounts, sim_server, retry_policy=FaultTolerance(max_wait=30))
    # exchangelib waits RETRY_WAIT (10 s), doubling, after a 503; shortened for this protocol.
    account.protocol.RETRY_WAIT = 0.02
    sim_server.admin.set_knobs(fault_rate=0.4, fault_kinds=["http503"], seed=7)
    sim_server.knobs.reset_counters()
    inbox = account.inbox
    for _ in range(8):
        sub_id, watermark = inbox.subscribe_to_pull()
        assert [type(e).__name__ for n in inbox.get_events(sub_id, watermark) for e in n.events]
        inbox.unsubscribe(sub_id)
    counters = sim_server.admin.counters()
    assert counters["faults"]["http503"] >= 3
    answered = sum(counters["ews"][op] for op in ("Subscribe", "GetEvents", "Unsubscribe"))
    assert answered == 24 + counters["faults"]["http503"]


def test_a_reset_connection_is_retried_only_while_the_session_pool_can_shrink(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """A TCP reset under FaultTolerance: with exchangelib's single session it raises
    ErrorTimeoutExpired at once; with two sessions it drops one and retries."""
    account = alice(exchangelib_accounts, sim_server, retry_policy=FaultTolerance(max_wait=10))
    account.protocol.RETRY_WAIT = 0.02
    inbox = account.inbox
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["reset"], fault_operations=["Subscribe"])
    with pytest.raises(exchangelib.errors.ErrorTimeoutExpired):
        inbox.subscribe_to_pull()
    account.protocol.max_connections = 2
    account.protocol.increase_poolsize()
    # Seed 4 at rate 0.5 draws a reset for the first Subscribe and none for the second.
    sim_server.admin.set_knobs(fault_rate=0.5, seed=4)
    sim_server.knobs.reset_counters()
    sub_id, _ = inbox.subscribe_to_pull()
    assert sub_id
    assert account.protocol.session_pool_size == 1  # it gave up a session to retry
    assert sim_server.knobs.counter("faults", "reset") == 1
    assert sim_server.knobs.counter("ews", "Subscribe") == 2


# --- a realistic burst --------------------------------------------------------------------------


def pull(mailbox_events: str = "NewMailEvent") -> str:
    return (
        '<m:Subscribe><m:PullSubscriptionRequest SubscribeToAllFolders="true"><t:EventTypes>'
        f"<t:EventType>{mailbox_events}</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout>"
        "</m:PullSubscriptionRequest></m:Subscribe>"
    )


STREAMING = (
    '<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/>'
    "</t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes>"
    "</m:StreamingSubscriptionRequest></m:Subscribe>"
)


def get_events(sub_id: str, watermark: str) -> str:
    return (
        f"<m:GetEvents><m:SubscriptionId>{sub_id}</m:SubscriptionId>"
        f"<m:Watermark>{watermark}</m:Watermark></m:GetEvents>"
    )


def stream(sub_id: str) -> str:
    return (
        f"<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>{sub_id}</t:SubscriptionId>"
        "</m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>"
    )


@pytest.fixture
def burst_server(cert_dir: Path) -> Iterator[SimServer]:
    """A server of its own whose streaming minute lasts 0.6 s."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    registry_for(server.sim).time_scale = 0.01
    yield server
    server.stop()


def outcome(reply: EwsReply) -> str:
    """What one answer was: "busy" (the throttling fault), or the first response code and, for
    streams, how the stream ended."""
    assert reply.status in {200, 500}, reply.body[:300]
    if reply.body.count(b"<s:Envelope") > 1:
        envelopes = reply.body.split(b"<?xml")[1:]
        last = etree.fromstring(b"<?xml" + envelopes[-1])
        status = last.find(f".//{{{M_NS}}}ConnectionStatus")
        assert status is not None
        return f"stream:{status.text}"
    if reply.fault_code is not None:
        assert reply.fault_code == "ErrorServerBusy", reply.body[:300]
        value = reply.root.find(f".//{{{T_NS}}}Value[@Name='BackOffMilliseconds']")
        assert value is not None
        return "busy"
    return reply.response_codes()[0]


async def test_a_burst_of_two_hundred_mixed_calls_is_fully_answered(burst_server: SimServer):
    """200 concurrent calls over 7 mailboxes, mixing subscribing, polling, streaming,
    unsubscribing, bad ids and ConvertId, with Exchange Online's concurrency limit (27 per app
    and mailbox) and jitter on: every call gets its proper answer or a well-formed
    ErrorServerBusy, and the refusals match the throttling counter."""
    mailboxes = [ALICE, "bob@contoso.com", "carol@contoso.com", DAVE, "grace@contoso.com", VMR]
    mailboxes.append("boardroom@contoso.com")
    calls: list[tuple[str, str, str]] = []  # (kind, mailbox, body)
    async with EwsClient(burst_server, limit=0) as ews:
        for mailbox in mailboxes:
            for _ in range(4):
                reply = await ews.call(pull(), impersonate=mailbox)
                sub_id = reply.root.findtext(f".//{{{M_NS}}}SubscriptionId") or ""
                watermark = reply.root.findtext(f".//{{{M_NS}}}Watermark") or ""
                calls.append(("poll", mailbox, get_events(sub_id, watermark)))
                calls.append(("bad-watermark", mailbox, get_events(sub_id, "AAAA")))
            for _ in range(2):
                reply = await ews.call(pull(), impersonate=mailbox)
                sub_id = reply.root.findtext(f".//{{{M_NS}}}SubscriptionId") or ""
                unsubscribe = f"<m:Unsubscribe><m:SubscriptionId>{sub_id}</m:SubscriptionId>"
                calls.append(("unsubscribe", mailbox, unsubscribe + "</m:Unsubscribe>"))
                reply = await ews.call(STREAMING, impersonate=mailbox)
                sub_id = reply.root.findtext(f".//{{{M_NS}}}SubscriptionId") or ""
                calls.append(("stream", mailbox, stream(sub_id)))
                calls.append(("stream-unknown", mailbox, stream("no-such-subscription")))
            calls += [("subscribe", mailbox, pull("CreatedEvent")) for _ in range(5)]
        calls += [
            ("convert", mailboxes[n % len(mailboxes)], convert_id_body())
            for n in range(200 - len(calls))
        ]
        assert len(calls) == 200
        random.Random(2).shuffle(calls)
        burst_server.admin.set_knobs(max_concurrent=27, latency={"fixed_ms": 5, "jitter_ms": 30})
        burst_server.knobs.reset_counters()
        replies = await asyncio.gather(
            *(ews.call(body, impersonate=mailbox, client_timeout=60) for _, mailbox, body in calls)
        )
    expected = {
        "poll": "NoError",
        "bad-watermark": "ErrorInvalidWatermark",
        "unsubscribe": "NoError",
        "stream": "stream:Closed",
        "stream-unknown": "ErrorSubscriptionNotFound",
        "subscribe": "NoError",
        "convert": "ErrorInvalidSmtpAddress",
    }
    seen: Counter[str] = Counter()
    for (kind, _, _), reply in zip(calls, replies, strict=True):
        got = outcome(reply)
        assert got in {"busy", expected[kind]}, (kind, got)
        seen[got] += 1
    assert seen["busy"] == burst_server.knobs.counter("throttled", "concurrency")
    assert sum(seen.values()) == 200
    assert registry_for(burst_server.sim).connections() == 0  # every stream ended


async def test_a_burst_leaves_the_mailbox_limits_intact(burst_server: SimServer):
    """50 Subscribe calls at once on one mailbox: exactly 20 succeed, the rest are
    ErrorExceededSubscriptionCount (the limit holds under concurrency)."""
    async with EwsClient(burst_server, limit=0) as ews:
        replies = await asyncio.gather(*(ews.call(pull()) for _ in range(50)))
    codes = Counter(reply.response_codes()[0] for reply in replies)
    assert codes == {"NoError": 20, "ErrorExceededSubscriptionCount": 30}
    leftover = registry_for(burst_server.sim).subscriptions()
    assert len(leftover) == 20
    assert {(s.mailbox, s.owner) for s in leftover} == {(ALICE, f"app:{LEGACY_APP}")}
