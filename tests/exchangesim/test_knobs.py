"""Realism knobs: settings, the admin endpoint, and each knob proven over real HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from exchangelib.errors import ErrorServerBusy
from exchangelib.services import ConvertId
from harness import (
    ALICE,
    LEGACY_APP,
    SAMPLES_DIR,
    VMR,
    EwsClient,
    SimServer,
    convert_id_body,
    envelope,
)
from lxml import etree

from exchangesim.admin import ADMIN_HEADER, AdminClient, AdminError
from exchangesim.ews import registry
from exchangesim.ews.xml import E_NS, SOAP_NS, T_NS, m, msub, response_message
from exchangesim.knobs import KnobError, Knobs, KnobSettings, Latency

if TYPE_CHECKING:
    from exchangesim.ews import EwsContext
    from exchangesim.ews.xml import Element


def paths(element: etree._Element) -> list[str]:
    """Every element of a tree as a path of Clark names, for comparing shapes."""
    tree = element.getroottree()
    return [tree.getpath(el) for el in element.iter() if isinstance(el.tag, str)]


def token_form() -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": LEGACY_APP,
        "client_secret": "demo-legacy-room-sync-not-real",
        "scope": "https://outlook.office365.com/.default",
    }


# --- settings ------------------------------------------------------------------------------------


def test_default_settings_switch_everything_off():
    """A fresh simulator is fast, unthrottled and never fails on purpose."""
    settings = KnobSettings()
    assert settings.latency == Latency()
    assert settings.max_concurrent is None
    assert settings.budget_calls is None
    assert settings.fault_rate == 0
    assert settings.token_outage is False
    assert settings.streaming_drop is False


@pytest.mark.parametrize(
    "changes",
    [
        {"fault_rate": 1.5},
        {"fault_kinds": ["meteor"]},
        {"fault_kinds": []},
        {"max_concurrent": 0},
        {"budget_calls": -1},
        {"timeout_hold_ms": 10_000_000},
        {"latency": {"fixed_ms": -1}},
        {"latency": {"fixed": 5}},
        {"token_outage": "maybe"},
        {"no_such_knob": True},
        {"seed": "abc"},
    ],
)
def test_nonsense_settings_are_refused_with_the_reason(changes: dict[str, Any]):
    """Every bad value raises KnobError naming the knob."""
    with pytest.raises(KnobError):
        KnobSettings.from_json(changes)


def test_settings_round_trip_through_json():
    """to_json / from_json keep every value."""
    settings = KnobSettings.from_json(
        {
            "latency": {"fixed_ms": 5, "jitter_ms": 2},
            "latency_per_operation": {"GetItem": {"fixed_ms": 1}},
            "max_concurrent": 3,
            "budget_calls": 10,
            "fault_rate": 0.25,
            "fault_kinds": ["http503", "reset"],
            "seed": 7,
            "token_outage": "reset",
        }
    )
    assert KnobSettings.from_json(settings.to_json()) == settings


def test_admission_counts_slots_per_key_and_frees_them():
    """Concurrency is per (app, mailbox) key; leaving the `with` frees the slot."""
    knobs = Knobs(KnobSettings(max_concurrent=1, concurrency_back_off_ms=250))
    first = knobs.admit("app|alice")
    assert first.admitted
    refused = knobs.admit("app|alice")
    assert (refused.admitted, refused.back_off_ms, refused.reason) == (False, 250, "concurrency")
    assert knobs.admit("app|bob").admitted
    with first:
        pass
    assert knobs.admit("app|alice").admitted
    assert knobs.counter("throttled", "concurrency") == 1


def test_budget_back_off_is_the_time_until_the_oldest_call_leaves_the_window():
    """The rolling window: the back-off shrinks as virtual time passes; then calls resume."""
    now = [100.0]
    knobs = Knobs(KnobSettings(budget_calls=2, budget_window_ms=10_000), monotonic=lambda: now[0])
    for _ in range(2):
        knobs.admit("k").release()
    now[0] = 104.0
    refused = knobs.admit("k")
    assert refused.reason == "budget"
    assert refused.back_off_ms == 6000
    now[0] = 110.0
    assert knobs.admit("k").admitted


def test_a_seed_makes_fault_draws_repeatable():
    """Same seed, same sequence of faults."""
    settings = KnobSettings(fault_rate=0.5, seed=42)
    a, b = Knobs(settings), Knobs(settings)
    draws = [a.draw_fault("GetItem") for _ in range(50)]
    assert draws == [b.draw_fault("GetItem") for _ in range(50)]
    assert None in draws
    assert set(draws) - {None}


# --- the admin endpoint ----------------------------------------------------------------------------


def test_admin_routes_need_the_admin_key(sim_server: SimServer):
    """Without the key (or with a wrong one) every admin route is 401."""
    wrong = AdminClient(sim_server.base_url, "wrong-key", sim_server.ca_file)
    with pytest.raises(AdminError) as refused:
        wrong.knobs()
    assert refused.value.status == 401
    assert ADMIN_HEADER in refused.value.message


def test_admin_changes_reads_and_resets_knobs(sim_server: SimServer):
    """PATCH changes only the named knobs, PUT replaces all, reset restores defaults."""
    admin = sim_server.admin
    assert admin.set_knobs(max_concurrent=5)["max_concurrent"] == 5
    patched = admin.set_knobs(latency={"fixed_ms": 3})
    assert (patched["max_concurrent"], patched["latency"]["fixed_ms"]) == (5, 3)
    assert sim_server.knobs.settings.max_concurrent == 5
    replaced = admin.replace_knobs(budget_calls=9)
    assert (replaced["max_concurrent"], replaced["budget_calls"]) == (None, 9)
    assert admin.reset_knobs() == KnobSettings().to_json()


def test_admin_refuses_bad_knobs_with_400(sim_server: SimServer):
    """Unknown knobs and bad values are refused with the reason; nothing changes."""
    admin = sim_server.admin
    with pytest.raises(AdminError) as refused:
        admin.set_knobs(fault_rate=3)
    assert refused.value.status == 400
    assert "fault_rate" in refused.value.message
    with pytest.raises(AdminError) as unknown:
        admin.set_knobs(warp_speed=9)
    assert unknown.value.status == 400
    assert sim_server.knobs.settings == KnobSettings()


def test_admin_state_save_needs_a_state_file(sim_server: SimServer):
    """Saving on demand without --state-file is a conflict, said plainly."""
    with pytest.raises(AdminError) as refused:
        sim_server.admin.save_state()
    assert refused.value.status == 409
    assert "state file" in refused.value.message


def test_admin_info_names_the_urls(sim_server: SimServer):
    """`/_exchangesim/info` gives tenant id and the endpoints."""
    info = sim_server.admin.info()
    assert info["tenant_id"] == sim_server.sim.tenant.tenant_id
    assert info["ews_url"] == sim_server.ews_url
    assert info["token_endpoint"] == sim_server.server.token_endpoint


async def test_counters_count_ews_calls_per_operation_and_token_requests(
    ews: EwsClient, sim_server: SimServer
):
    """Counters by operation and for the token endpoint; DELETE sets them back to zero."""
    for _ in range(3):
        await ews.call(convert_id_body())
    assert ews.session is not None
    url = f"{sim_server.server.token_endpoint}"
    async with ews.session.post(url, data=token_form()) as response:
        assert response.status == 200
    counters = sim_server.admin.counters()
    assert counters["ews"] == {"ConvertId": 3}
    assert counters["token"] == {"requests": 1}
    sim_server.admin.reset_counters()
    assert sim_server.admin.counters() == {}


# --- latency -------------------------------------------------------------------------------------


async def test_latency_delays_answers_by_at_least_the_fixed_part(
    ews: EwsClient, sim_server: SimServer
):
    """A fixed latency holds every answer at least that long."""
    sim_server.admin.set_knobs(latency={"fixed_ms": 80})
    started = time.monotonic()
    reply = await ews.call(convert_id_body())
    assert reply.status == 200
    assert time.monotonic() - started >= 0.08


async def test_latency_per_operation_applies_to_that_operation_only(
    ews: EwsClient, sim_server: SimServer
):
    """A long latency for GetItem does not slow ConvertId; one for ConvertId does."""
    sim_server.admin.set_knobs(latency_per_operation={"GetItem": {"fixed_ms": 60_000}})
    reply = await ews.call(convert_id_body(), client_timeout=10)
    assert reply.status == 200
    sim_server.admin.set_knobs(latency_per_operation={"ConvertId": {"fixed_ms": 50}})
    started = time.monotonic()
    await ews.call(convert_id_body())
    assert time.monotonic() - started >= 0.05


# --- throttling ----------------------------------------------------------------------------------


async def test_concurrency_throttling_answers_server_busy_beyond_the_limit(
    ews: EwsClient, sim_server: SimServer
):
    """Max 2 calls at once per app and mailbox: of 6 simultaneous calls 4 are told to back off."""
    sim_server.admin.set_knobs(
        max_concurrent=2, concurrency_back_off_ms=1500, latency={"fixed_ms": 400}
    )
    replies = await asyncio.gather(*(ews.call(convert_id_body()) for _ in range(6)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 200, 500, 500, 500, 500]
    busy = [r for r in replies if r.status == 500]
    assert {r.fault_code for r in busy} == {"ErrorServerBusy"}
    value = busy[0].root.find(f".//{{{T_NS}}}MessageXml/{{{T_NS}}}Value")
    assert (value.get("Name"), value.text) == ("BackOffMilliseconds", "1500")
    assert sim_server.knobs.counter("throttled", "concurrency") == 4


async def test_concurrency_is_counted_per_impersonated_mailbox(
    ews: EwsClient, sim_server: SimServer
):
    """One call at a time per mailbox does not stop calls for another mailbox."""
    sim_server.admin.set_knobs(max_concurrent=1, latency={"fixed_ms": 300})
    replies = await asyncio.gather(
        ews.call(convert_id_body(), impersonate=ALICE), ews.call(convert_id_body(), impersonate=VMR)
    )
    assert [r.status for r in replies] == [200, 200]


async def test_budget_throttling_gives_the_remaining_back_off(
    ews: EwsClient, sim_server: SimServer
):
    """3 calls per minute: the 4th is busy, with a back-off within the window."""
    sim_server.admin.set_knobs(budget_calls=3, budget_window_ms=60_000)
    for _ in range(3):
        assert (await ews.call(convert_id_body())).status == 200
    reply = await ews.call(convert_id_body())
    assert reply.fault_code == "ErrorServerBusy"
    back_off = int(reply.root.find(f".//{{{T_NS}}}Value[@Name='BackOffMilliseconds']").text)
    assert 0 < back_off <= 60_000
    assert sim_server.knobs.counter("throttled", "budget") == 1


async def test_the_busy_fault_has_exactly_the_shape_of_exchanges(
    ews: EwsClient, sim_server: SimServer
):
    """Element for element like conformance/ews-samples/ErrorServerBusy.fault.xml, and
    exchangelib reads its back-off from it."""
    sim_server.admin.set_knobs(budget_calls=1, budget_window_ms=30_000)
    await ews.call(convert_id_body())
    reply = await ews.call(convert_id_body())
    sample = etree.parse(str(SAMPLES_DIR / "ErrorServerBusy.fault.xml")).getroot()
    assert paths(reply.root) == paths(sample)
    fault = reply.root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault.findtext("faultstring") == sample.findtext(f".//{{{SOAP_NS}}}Fault/faultstring")
    assert fault.findtext(f"detail/{{{E_NS}}}Message") == (
        "The server cannot service this request right now. Try again later."
    )
    with pytest.raises(ErrorServerBusy) as raised:
        ConvertId._raise_soap_errors(fault=fault)
    back_off = int(fault.find(f".//{{{T_NS}}}Value").text)
    assert raised.value.back_off == back_off / 1000


# --- random faults -------------------------------------------------------------------------------


async def test_fault_http500_is_an_internal_server_error_fault(
    ews: EwsClient, sim_server: SimServer
):
    """`http500`: HTTP 500 with `ErrorInternalServerError`."""
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["http500"])
    reply = await ews.call(convert_id_body())
    assert (reply.status, reply.fault_code) == (500, "ErrorInternalServerError")
    assert sim_server.knobs.counter("faults", "http500") == 1


async def test_fault_http503_is_iis_service_unavailable(ews: EwsClient, sim_server: SimServer):
    """`http503`: the IIS queue-full page."""
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["http503"])
    reply = await ews.call(convert_id_body())
    assert reply.status == 503
    assert b"HTTP Error 503. The service is unavailable." in reply.body


async def test_fault_reset_drops_the_connection(ews: EwsClient, sim_server: SimServer):
    """`reset`: the client sees its connection reset, no HTTP answer."""
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["reset"])
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await ews.call(convert_id_body())
    sim_server.admin.reset_knobs()
    assert (await ews.call(convert_id_body())).status == 200


async def test_fault_timeout_holds_the_request_until_the_client_gives_up(
    ews: EwsClient, sim_server: SimServer
):
    """`timeout`: no answer within the client's timeout; the hold is bounded by the knob."""
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["timeout"], timeout_hold_ms=3000)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await ews.call(convert_id_body(), client_timeout=0.3)
    assert time.monotonic() - started < 3
    assert sim_server.knobs.counter("faults", "timeout") == 1


async def test_faults_can_target_some_operations_only(ews: EwsClient, sim_server: SimServer):
    """`fault_operations`: other operations are untouched."""
    sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["http500"], fault_operations=["GetItem"])
    assert (await ews.call(convert_id_body())).status == 200


async def test_a_seeded_fault_rate_replays_the_same_outcomes(ews: EwsClient, sim_server: SimServer):
    """Rate 0.5 with a seed: two runs from the same seed fail the same calls."""

    async def run() -> list[int]:
        sim_server.admin.set_knobs(fault_rate=0.5, fault_kinds=["http503"], seed=1234)
        return [(await ews.call(convert_id_body())).status for _ in range(16)]

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {200, 503}


# --- token endpoint outage and streaming drops ----------------------------------------------------


async def test_token_outage_answers_503_temporarily_unavailable(
    ews: EwsClient, sim_server: SimServer
):
    """`token_outage`: the token endpoint fails like Entra in an outage; counted."""
    sim_server.admin.set_knobs(token_outage=True)
    assert ews.session is not None
    async with ews.session.post(sim_server.server.token_endpoint, data=token_form()) as response:
        assert response.status == 503
        assert (await response.json())["error"] == "temporarily_unavailable"
    assert sim_server.admin.counters()["token"] == {"requests": 1, "outage": 1}


async def test_token_outage_reset_drops_the_connection(ews: EwsClient, sim_server: SimServer):
    """`token_outage: "reset"`: the token request's connection is reset."""
    sim_server.admin.set_knobs(token_outage="reset")
    assert ews.session is not None
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        async with ews.session.post(sim_server.server.token_endpoint, data=token_form()) as r:
            await r.read()


async def test_streaming_drop_is_read_by_the_streaming_operation(
    ews: EwsClient, sim_server: SimServer
):
    """`streaming_drop`: a streaming operation learns when to cut and cuts the connection."""
    seen: list[float | None] = []

    async def stream(ctx: EwsContext, request: Element) -> None:
        drop_after = ctx.streaming_drop_after()
        seen.append(drop_after)
        response = m("GetStreamingEventsResponse")
        msg = response_message(msub(response, "ResponseMessages"), "GetStreamingEvents")
        msub(msg, "ConnectionStatus", "OK")
        await ctx.send_envelope(response)
        if drop_after is not None:
            await ctx.sleep(drop_after)
            ctx.drop_connection()
            return
        await ctx.close_stream()

    previous = registry.get_operation("GetStreamingEvents")
    registry._REGISTRY.pop("GetStreamingEvents", None)
    registry.operation("GetStreamingEvents", streaming=True)(stream)
    body = (
        "<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>abc</t:SubscriptionId>"
        "</m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>"
    )
    try:
        sim_server.admin.set_knobs(streaming_drop=True, streaming_drop_after_ms=50)
        with pytest.raises(aiohttp.ClientPayloadError):
            await ews.call(body)
        sim_server.admin.reset_knobs()
        assert (await ews.call(body)).status == 200
    finally:
        registry._REGISTRY.pop("GetStreamingEvents", None)
        if previous is not None:
            registry._REGISTRY["GetStreamingEvents"] = previous
    assert seen == [0.05, None]


async def test_knobs_are_read_per_request(sim_server: SimServer):
    """A change through the admin endpoint applies to the very next request."""
    async with EwsClient(sim_server) as ews:
        assert (await ews.call(convert_id_body())).status == 200
        sim_server.admin.set_knobs(fault_rate=1, fault_kinds=["http503"])
        assert (await ews.call(convert_id_body())).status == 503
        sim_server.admin.set_knobs(fault_rate=0)
        raw = envelope(convert_id_body())
        assert (await ews.post(raw, token=sim_server.app_token())).status == 200
