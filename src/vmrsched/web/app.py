"""The aiohttp application: policy requests, health, readiness and the add-in (`addin`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import structlog
from aiohttp import web

from vmrsched.ports.store import StoreError
from vmrsched.service.threads import in_thread
from vmrsched.web import addin, notifications, policy

if TYPE_CHECKING:
    from vmrsched.config import VideoSettings
    from vmrsched.domain.aliases import AliasFormat
    from vmrsched.ports.notifications import ChangeNotifications
    from vmrsched.ports.store import Store
    from vmrsched.service.clock import Clock
    from vmrsched.service.health import Health

log = structlog.get_logger(__name__)

#: How long a store check for ``/ready`` may take.
READY_BUDGET: Final = timedelta(seconds=2)


@dataclass(frozen=True, kw_only=True)
class WebOptions:
    """What the web application serves from."""

    store: Store
    clock: Clock
    health: Health
    alias_format: AliasFormat
    video: VideoSettings
    #: ``/ready`` fails when no pass succeeded for this long (a few poll intervals).
    ready_max_age: timedelta = timedelta(minutes=5)
    policy_budget: timedelta = policy.BUDGET
    #: The Outlook add-in's files, manifest and reservation API (absent: not served).
    addin: addin.AddinService | None = None
    #: The receiver of Graph's change notifications (absent: the endpoints are not served).
    notifications: ChangeNotifications | None = None


OPTIONS: Final = web.AppKey("options", WebOptions)
NAMESPACE: Final = web.AppKey("namespace", policy.AliasNamespace)


async def service_configuration(request: web.Request) -> web.Response:
    """``GET /policy/v1/service/configuration``: Infinity's service configuration request."""
    options = request.app[OPTIONS]
    if not policy.authorized(request, options.video):
        log.warning("policy_unauthorized", remote=request.remote)
        return policy.unauthorized()
    local_alias = request.query.get("local_alias", "")
    now = options.clock()
    answer = await policy.lookup(
        options.store, request.app[NAMESPACE], local_alias, now, budget=options.policy_budget
    )
    log.info(
        "policy_answered",
        local_alias=local_alias,
        remote_alias=request.query.get("remote_alias", ""),
        call_direction=request.query.get("call_direction", ""),
        protocol=request.query.get("protocol", ""),
        action=answer["action"],
        service_tag=answer["result"].get("service_tag"),
    )
    return web.json_response(answer)


async def health(_: web.Request) -> web.Response:
    """``GET /health``: the process is up and serving HTTP."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """``GET /ready``: the store answers and the mailbox was read successfully of late."""
    options = request.app[OPTIONS]
    ok, reason = options.health.ready(options.clock(), options.ready_max_age)
    if ok:
        try:
            await asyncio.wait_for(
                in_thread(lambda: options.store.get_fact("installation_id"), name="ready"),
                READY_BUDGET.total_seconds(),
            )
        except (TimeoutError, StoreError) as exc:
            ok, reason = False, f"the database does not answer: {type(exc).__name__}"
    body = {"status": "ready" if ok else "not ready", "reason": reason}
    return web.json_response(body, status=200 if ok else 503)


def build_app(options: WebOptions) -> web.Application:
    """The application serving ``options``."""
    app = web.Application()
    app[OPTIONS] = options
    app[NAMESPACE] = policy.AliasNamespace.of(options.alias_format)
    app.router.add_get(policy.PATH, service_configuration)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    if options.addin is not None:
        addin.add_routes(app, options.addin)
    if options.notifications is not None:
        notifications.add_routes(app, options.notifications)
    return app
