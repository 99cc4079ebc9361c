"""The ``/v1.0/subscriptions`` routes (see `exchangesim.graph.subscriptions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchangesim.graph import subscriptions
from exchangesim.graph.context import GraphResult
from exchangesim.graph.errors import GraphError

if TYPE_CHECKING:
    from exchangesim.graph.notifier import Notifier
    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator

_VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
    "validation request."
)


def _context(root: str) -> str:
    return f"{root}/$metadata#subscriptions/$entity"


async def handle(
    sim: Simulator,
    principal: Principal,
    notifier: Notifier | None,
    *,
    method: str,
    path: str,
    body: Any,
    service_root: str,
) -> GraphResult:
    """Create, list, read, renew or delete subscriptions."""
    from exchangesim.access import MailboxAccessError, authorize_mailbox  # noqa: PLC0415

    parts = [p for p in path.strip("/").split("/") if p]
    registry = subscriptions.registry(sim)
    now = sim.now()
    if len(parts) == 1 and method == "POST":
        subscription, needs = subscriptions.parse(sim, principal, body)
        try:
            authorize_mailbox(sim, principal, subscription.mailbox, "graph", needs)
        except MailboxAccessError as exc:
            raise GraphError(exc.http_status, exc.code, exc.message) from exc
        if notifier is None:
            raise GraphError(503, "ServiceNotAvailable", "Notifications are not running.")
        for url in filter(None, (subscription.notification_url, subscription.lifecycle_url)):
            if not await notifier.validate(url):
                raise GraphError(400, "ValidationError", _VALIDATION_FAILED)
        registry.put(subscription)
        sim.knobs.count("graph", "subscriptions.create")
        return GraphResult(
            201, {"@odata.context": _context(service_root), **subscription.to_json()}
        )
    if len(parts) == 1 and method == "GET":
        mine = [s for s in registry.live(now) if s.app_id.casefold() == principal.app_id.casefold()]
        return GraphResult(
            200,
            {
                "@odata.context": f"{service_root}/$metadata#subscriptions",
                "value": [s.to_json() for s in mine],
            },
        )
    if len(parts) != 2:
        raise GraphError(400, "BadRequest", "Resource not found for the segment 'subscriptions'.")
    found = registry.get(parts[1], principal.app_id, now)
    if method == "GET":
        return GraphResult(200, {"@odata.context": _context(service_root), **found.to_json()})
    if method == "PATCH":
        changed = subscriptions.renewed(sim, found, body)
        registry.put(changed)
        return GraphResult(200, {"@odata.context": _context(service_root), **changed.to_json()})
    if method == "DELETE":
        registry.remove(found.id)
        return GraphResult(204)
    raise GraphError(405, "BadRequest", "The method is not allowed on a subscription.")
