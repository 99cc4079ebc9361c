"""JSON batching: ``POST /v1.0/$batch`` (https://learn.microsoft.com/graph/json-batching).

At most 20 requests; each has ``id``, ``method``, ``url`` (relative to the version root),
optional ``headers``, ``body`` and ``dependsOn``. Requests run in the order given (Graph may run
independent ones in any order; the given order is one of them); one whose dependency failed
answers 424 Failed Dependency. Each request is throttled on its own, so a batch answers 200 with
some 429s inside, as Graph does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.context import GraphResult
from exchangesim.graph.errors import GraphError, bad_request

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator

    Dispatch = Callable[..., Awaitable[GraphResult]]

MAX_REQUESTS: Final = 20


def _check(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    requests: list[dict[str, Any]] = body["requests"]
    if len(requests) > MAX_REQUESTS:
        raise bad_request(f"The number of batch requests exceeds the maximum of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "method", "url")
        ):
            raise bad_request("Each batch request needs id, method and url.")
        if item["id"] in seen:
            raise bad_request(f"Batch request ids must be unique: '{item['id']}'.")
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in seen for d in depends):
            raise bad_request("dependsOn must name earlier requests of the batch.")
        seen.add(item["id"])
    return requests


async def run(
    sim: Simulator,
    principal: Principal,
    body: Any,
    *,
    service_root: str,
    request_id: str,
    dispatch: Dispatch,
) -> GraphResult:
    """Run a batch; the response holds one answer per request, in request order."""
    from exchangesim.graph.endpoint import error_result, split_url  # noqa: PLC0415

    requests = _check(body)
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in requests:
        ident = item["id"]
        failed = [d for d in item.get("dependsOn") or [] if not 200 <= statuses.get(d, 0) < 300]
        if failed:
            result = error_result(
                GraphError(424, "FailedDependency", "Dependent request failed."),
                request_id,
                request_id,
            )
        else:
            path, params = split_url(item["url"])
            headers: Mapping[str, str] = {
                str(k): str(v) for k, v in (item.get("headers") or {}).items()
            }
            try:
                result = await dispatch(
                    sim,
                    principal,
                    method=item["method"].upper(),
                    path=path,
                    params=params,
                    headers=headers,
                    body=item.get("body"),
                    service_root=service_root,
                )
            except GraphError as error:
                result = error_result(error, request_id, request_id)
        statuses[ident] = result.status
        answer: dict[str, Any] = {
            "id": ident,
            "status": result.status,
            "headers": dict(result.headers),
        }
        if result.body is not None:
            answer["headers"].setdefault("Content-Type", "application/json")
            answer["body"] = result.body
        responses.append(answer)
    return GraphResult(200, {"responses": responses})
