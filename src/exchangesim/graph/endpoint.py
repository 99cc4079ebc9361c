"""The Graph HTTP endpoint: ``/v1.0/...`` and ``/v1.0/$batch``.

Order of checks, as Microsoft Graph answers: the bearer token (401 ``InvalidAuthenticationToken``
with a ``WWW-Authenticate`` challenge), the path (400/404), the mailbox and the app's right to it
(404 ``ErrorInvalidUser``, 403 ``ErrorAccessDenied`` from `exchangesim.access`), the per-app,
per-mailbox limits (429 with ``Retry-After``), then the handler. Every answer carries
``request-id`` and ``client-request-id``; errors have Graph's JSON shape (`errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

from exchangesim.app_permissions import GRAPH_RESOURCE_APP_ID
from exchangesim.graph import batch, routing, subscription_routes
from exchangesim.graph.context import GraphCall, GraphResult
from exchangesim.graph.errors import GraphError, bad_request, from_store_error
from exchangesim.graph.notifier import Notifier
from exchangesim.graph.odata import Prefer, Query
from exchangesim.identity import InvalidToken, audiences
from exchangesim.store.errors import StoreError
from exchangesim.webkeys import SIM_KEY, STOPPING_KEY

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from exchangesim.identity import Principal
    from exchangesim.knobs import FaultKind
    from exchangesim.sim import Simulator
    from exchangesim.tenant import Resource, User

log = logging.getLogger(__name__)

_AUDIENCES: Final = frozenset(audiences("graph"))
#: Graph's challenge on a 401.
CHALLENGE: Final = (
    'Bearer realm="", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_RESOURCE_APP_ID}"'
)
_JSON: Final = (
    "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; "
    "charset=utf-8"
)
_TOKEN_MESSAGES: Final = {
    "expired": "Lifetime validation failed, the token is expired.",
    "invalid_audience": "Access token validation failure. Invalid audience.",
    "invalid_signature": "Access token validation failure. Invalid signature.",
}


NOTIFIER_KEY: web.AppKey[Notifier] = web.AppKey("exchangesim_graph_notifier", Notifier)


def add_routes(app: web.Application, *, ca_file: Path | None = None) -> None:
    """Route ``/v1.0/{path}`` (any method) to the Graph front-end; start the notifier with the
    server (it trusts the system's CAs and ``ca_file``, the simulator's own)."""
    from exchangesim.graph import (  # noqa: F401, PLC0415 (register)
        actions,
        calendar_permissions,
        delta,
        events,
        mail_folders,
        messages,
        purge,
    )

    notifier = Notifier(app[SIM_KEY], ca_file)
    app[NOTIFIER_KEY] = notifier
    app.on_startup.append(notifier.start)
    app.on_cleanup.append(notifier.stop)
    app.router.add_route("*", "/v1.0/{graph_path:.*}", handle_graph)


def _now() -> datetime:
    return datetime.now(UTC)


def authenticate(sim: Simulator, authorization: str | None) -> Principal:
    """The verified caller; raises the 401 GraphError."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    try:
        return sim.issuer.verify(token, audience=_AUDIENCES)
    except InvalidToken as exc:
        message = _TOKEN_MESSAGES.get(exc.category, "Access token validation failure.")
        raise GraphError(
            401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": CHALLENGE}
        ) from exc


def _json_response(result: GraphResult, request_id: str, client_id: str) -> web.Response:
    headers = {
        "request-id": request_id,
        "client-request-id": client_id,
        "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"exchangesim"}}',
        **result.headers,
    }
    if result.body is None:
        return web.Response(status=result.status, headers=headers)
    headers["Content-Type"] = _JSON
    return web.Response(
        status=result.status, body=json.dumps(result.body).encode(), headers=headers
    )


def error_result(error: GraphError, request_id: str, client_id: str) -> GraphResult:
    """The GraphResult of an error."""
    return GraphResult(error.status, error.body(_now(), request_id, client_id), dict(error.headers))


async def handle_graph(request: web.Request) -> web.StreamResponse:
    """The endpoint."""
    sim = request.app[SIM_KEY]
    data = await request.read()
    request_id = str(uuid.uuid4())
    client_id = request.headers.get("client-request-id") or request_id
    path = "/" + request.match_info["graph_path"]
    service_root = f"{request.scheme}://{request.host}/v1.0"
    try:
        principal = authenticate(sim, request.headers.get("Authorization"))
        body = _read_json(data, request.method)
        if path.rstrip("/").casefold() == "/$batch":
            _only_post(request.method)
            sim.knobs.count("graph", "$batch")
            injected = sim.knobs.draw_fault("graph.$batch")
            if injected is not None:
                return await _inject(request, injected, request_id, client_id)
            result = await batch.run(
                sim,
                principal,
                body,
                service_root=service_root,
                request_id=request_id,
                dispatch=dispatch,
            )
        elif path.casefold().startswith("/subscriptions"):
            result = await subscription_routes.handle(
                sim,
                principal,
                request.app[NOTIFIER_KEY],
                method=request.method,
                path=path,
                body=body,
                service_root=service_root,
            )
        else:
            injected = sim.knobs.draw_fault("graph")
            if injected is not None:
                return await _inject(request, injected, request_id, client_id)
            result = await dispatch(
                sim,
                principal,
                method=request.method,
                path=path,
                params=dict(request.query),
                headers=request.headers,
                body=body,
                service_root=service_root,
                stopping=request.app[STOPPING_KEY],
            )
    except GraphError as error:
        result = error_result(error, request_id, client_id)
    return _json_response(result, request_id, client_id)


def _only_post(method: str) -> None:
    if method != "POST":
        raise GraphError(405, "BadRequest", "The batch endpoint takes POST.")


def _read_json(data: bytes, method: str) -> Any:
    if not data.strip() or method in ("GET", "DELETE"):
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        ) from None


def split_user(path: str, principal: Principal) -> tuple[str, str]:
    """(user segment, rest) of ``/users/{id}/rest`` or ``/me/rest``."""
    parts = path.strip("/").split("/", 2)
    if parts[0].casefold() == "me":
        if principal.kind != "user" or not principal.upn:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        return principal.upn, "/".join(parts[1:])
    if parts[0].casefold() == "users" and len(parts) >= 2:
        user = unquote(parts[1])
        if user.startswith("('") and user.endswith("')"):
            user = user[2:-2]
        return user, parts[2] if len(parts) == 3 else ""
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{parts[0]}'.")


def resolve_mailbox(sim: Simulator, segment: str) -> str:
    """The mailbox address a ``users/{id|userPrincipalName}`` segment names; 404 when none."""
    tenant = sim.tenant
    found = tenant.find_mailbox(segment) if "@" in segment else None
    if found is None:
        candidates: list[User | Resource] = [*tenant.users, *tenant.resources]
        for candidate in candidates:
            if candidate.object_id and candidate.object_id.casefold() == segment.casefold():
                found = candidate
                break
    if found is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segment}' is invalid.")
    return found.email


async def dispatch(
    sim: Simulator,
    principal: Principal,
    *,
    method: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: Any,
    service_root: str,
    stopping: asyncio.Event | None = None,
) -> GraphResult:
    """Run one Graph request (top-level or inside a batch); errors come back as results."""
    from exchangesim.access import MailboxAccessError, authorize_mailbox  # noqa: PLC0415

    segment, rest = split_user(path, principal)
    found = routing.match(method.upper(), rest)
    if found is None:
        raise GraphError(
            400,
            "BadRequest",
            f"Resource not found for the segment '{rest.split('/')[0] or segment}'.",
        )
    if found is False:
        raise GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
    assert not isinstance(found, bool)
    route, args = found
    mailbox = resolve_mailbox(sim, segment)
    try:
        authorize_mailbox(sim, principal, mailbox, "graph", route.needs)
    except MailboxAccessError as exc:
        raise GraphError(exc.http_status, exc.code, exc.message) from exc
    name = f"graph.{route.name}"
    sim.knobs.count("graph", route.name)
    admission = sim.knobs.admit(f"{principal.app_id}|{mailbox.casefold()}", api="graph")
    if admission.back_off_ms is not None:
        raise _throttled(admission.back_off_ms, admission.reason)
    with admission:
        delay = sim.knobs.latency_s(name)
        if delay and stopping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
        elif delay:
            await asyncio.sleep(delay)
        call = GraphCall(
            sim=sim,
            principal=principal,
            method=method.upper(),
            path=path,
            query=Query.parse(params),
            prefer=Prefer.parse(_prefer_header(headers)),
            body=body,
            service_root=service_root,
            mailbox=mailbox,
            user_segment=segment,
        )
        try:
            result = route.handler(call, **args)
        except StoreError as exc:
            raise from_store_error(exc) from exc
        except GraphError:
            raise
        except Exception as exc:
            log.exception("graph_handler_failed handler=%s", route.name)
            raise GraphError(
                500, "InternalServerError", "An internal server error occurred."
            ) from exc
        if call.applied:
            result.headers.setdefault("Preference-Applied", ",".join(call.applied))
        return result


def _prefer_header(headers: Mapping[str, str]) -> str:
    getall = getattr(headers, "getall", None)
    values = (
        getall("Prefer", [])
        if callable(getall)
        else [headers.get("Prefer") or headers.get("prefer") or ""]
    )
    return ",".join(v for v in values if v)


def _throttled(back_off_ms: int, reason: str | None) -> GraphError:
    """Graph's 429 (https://learn.microsoft.com/graph/throttling; see the samples' 429)."""
    retry = str(max(1, math.ceil(back_off_ms / 1000)))
    if reason == "concurrency":
        return GraphError(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            headers={"Retry-After": retry},
        )
    return GraphError(
        429,
        "TooManyRequests",
        "Please retry again later.",
        headers={"Retry-After": retry},
        inner={"code": "429", "message": "Please retry after", "status": "429"},
    )


async def _inject(
    request: web.Request, kind: FaultKind, request_id: str, client_id: str
) -> web.StreamResponse:
    """A simulated failure (the `fault_rate` knob) in Graph's words."""
    from exchangesim.ews.endpoint import reset_connection  # noqa: PLC0415

    log.info("graph_fault_injected kind=%s", kind)
    if kind == "http500":
        error = GraphError(500, "InternalServerError", "An internal server error occurred.")
        return _json_response(error_result(error, request_id, client_id), request_id, client_id)
    if kind == "http503":
        error = GraphError(
            503,
            "ServiceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
            headers={"Retry-After": "1"},
        )
        return _json_response(error_result(error, request_id, client_id), request_id, client_id)
    if kind == "timeout":
        hold = request.app[SIM_KEY].knobs.settings.timeout_hold_ms / 1000
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.app[STOPPING_KEY].wait(), timeout=hold)
    reset_connection(request)
    return web.Response(status=500)


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Path below /v1.0 and query of a batch request's relative (or absolute) url."""
    parts = urlsplit(url)
    path = parts.path
    if path.casefold().startswith("/v1.0/"):
        path = path[5:]
    if not path.startswith("/"):
        path = "/" + path
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))
