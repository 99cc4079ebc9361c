"""JSON batching, Graph's per-app per-mailbox limits (429 with Retry-After) and the 503 knob."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from graph_harness import GraphClient, assert_shape_like, sample_body
from harness import ALICE, DAVE, VMR

if TYPE_CHECKING:
    from harness import SimServer


async def test_a_batch_answers_each_request_in_order(sim_server: SimServer) -> None:
    """$batch runs each request and answers with id, status, headers and body per request."""
    batch = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/users/{ALICE}/events?$top=1"},
            {"id": "2", "method": "GET", "url": f"/users/{DAVE}/messages"},
            {
                "id": "3",
                "method": "GET",
                "url": f"users/{VMR}/mailFolders/inbox/messages?$select=subject",
            },
        ]
    }
    async with GraphClient(sim_server) as graph:
        reply = await graph.post("/$batch", batch)
    assert reply.status == 200
    answers = reply.body["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("1", 200), ("2", 403), ("3", 200)]
    assert "value" in answers[0]["body"]
    assert answers[1]["body"]["error"]["code"] == "ErrorAccessDenied"


async def test_a_request_whose_dependency_failed_is_424(sim_server: SimServer) -> None:
    """dependsOn a failed request: 424 Failed Dependency, not run."""
    batch = {
        "requests": [
            {"id": "a", "method": "GET", "url": "/users/nobody@contoso.com/events"},
            {"id": "b", "method": "GET", "url": f"/users/{ALICE}/events", "dependsOn": ["a"]},
        ]
    }
    async with GraphClient(sim_server) as graph:
        reply = await graph.post("/$batch", batch)
    assert [(a["id"], a["status"]) for a in reply.body["responses"]] == [("a", 404), ("b", 424)]


async def test_a_batch_of_more_than_twenty_is_refused(sim_server: SimServer) -> None:
    """21 requests in one batch: 400 for the whole batch."""
    batch = {
        "requests": [
            {"id": str(n), "method": "GET", "url": f"/users/{ALICE}/events"} for n in range(21)
        ]
    }
    async with GraphClient(sim_server) as graph:
        reply = await graph.post("/$batch", batch)
    assert reply.status == 400
    assert reply.error_code == "BadRequest"


async def test_more_than_four_concurrent_requests_per_mailbox_get_429(
    sim_server: SimServer,
) -> None:
    """With each call held 300 ms, six at once for one app and mailbox: four answer 200, two 429
    ApplicationThrottled with Retry-After; another mailbox is not affected."""
    sim_server.knobs.update(latency_per_operation={"graph.list_events": {"fixed_ms": 300}})
    async with GraphClient(sim_server) as graph:
        replies = await asyncio.gather(
            *(graph.get(f"/users/{ALICE}/events") for _ in range(6)),
            graph.get(f"/users/{VMR}/events"),
        )
    statuses = sorted(r.status for r in replies[:6])
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert replies[6].status == 200
    throttled = [r for r in replies if r.status == 429]
    assert all(r.error_code == "ApplicationThrottled" for r in throttled)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in throttled)


async def test_the_concurrency_limit_can_be_switched_off(sim_server: SimServer) -> None:
    """graph_max_concurrent null: six concurrent calls all succeed."""
    sim_server.knobs.update(
        graph_max_concurrent=None, latency_per_operation={"graph.list_events": {"fixed_ms": 200}}
    )
    async with GraphClient(sim_server) as graph:
        replies = await asyncio.gather(*(graph.get(f"/users/{ALICE}/events") for _ in range(6)))
    assert [r.status for r in replies] == [200] * 6


async def test_the_request_budget_per_mailbox_gives_429_too_many_requests(
    sim_server: SimServer,
) -> None:
    """Past graph_budget_calls in the window: 429 TooManyRequests with Retry-After and Graph's
    body; in a batch the over-budget request is a 429 inside a 200."""
    sim_server.knobs.update(graph_budget_calls=2)
    async with GraphClient(sim_server) as graph:
        first = [await graph.get(f"/users/{ALICE}/events") for _ in range(3)]
        batch = await graph.post(
            "/$batch",
            {
                "requests": [
                    {"id": str(n), "method": "GET", "url": f"/users/{VMR}/events"} for n in range(3)
                ]
            },
        )
    assert [r.status for r in first] == [200, 200, 429]
    over = first[2]
    assert over.error_code == "TooManyRequests"
    assert int(over.headers["Retry-After"]) >= 1
    assert_shape_like(over.body, sample_body("error-429-TooManyRequests.json"))
    assert batch.status == 200
    assert [a["status"] for a in batch.body["responses"]] == [200, 200, 429]
    assert "Retry-After" in batch.body["responses"][2]["headers"]


async def test_the_fault_knob_gives_graphs_503(sim_server: SimServer) -> None:
    """fault_rate 1 with http503: 503 ServiceNotAvailable with Retry-After."""
    sim_server.knobs.update(fault_rate=1.0, fault_kinds=["http503"])
    async with GraphClient(sim_server) as graph:
        reply = await graph.get(f"/users/{ALICE}/events")
    assert reply.status == 503
    assert reply.error_code == "ServiceNotAvailable"
    assert reply.headers["Retry-After"] == "1"
