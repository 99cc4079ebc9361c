"""The HTTP face of the simulated Entra ID: token endpoints, OIDC metadata and key sets.

Routes (``{tenant}`` is the tenant GUID or one of its domains):

- ``POST /{tenant}/oauth2/v2.0/token``: client credentials with ``scope=<resource>/.default``;
  the secret in the body or in HTTP Basic. Answers like Entra, errors included. Also the resource
  owner password grant for users (`exchangesim.identity.password`).
- ``POST /{tenant}/oauth2/token``: the v1 endpoint, for clients that use it by mistake. It takes
  ``resource=``; without one it ignores ``scope`` and issues an (useless) Azure AD Graph token.
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/.well-known/...``.
- ``GET /{tenant}/discovery/v2.0/keys`` and ``/{tenant}/discovery/keys`` (also ``common``).

URLs in the metadata (`openid_metadata.py`) are built from the request's scheme and host, so
msal pointed at ``https://127.0.0.1:PORT/<tenant>`` stays on the simulator. ``iss`` values stay
Entra's own.

When ``knobs.token_outage`` is set the token endpoints fail the way Entra does in an outage:
HTTP 503 ``temporarily_unavailable`` (AADSTS90033), or, for the value ``"reset"``, a TCP reset.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import struct
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from urllib.parse import unquote_plus

from aiohttp import web

from exchangesim.identity import errors
from exchangesim.identity.openid_metadata import openid_v1, openid_v2
from exchangesim.identity.password import password_grant
from exchangesim.identity.tokens import (
    AAD_GRAPH_APP_ID,
    EXPIRES_IN,
    Clock,
    TokenIssuer,
    find_resource,
    read_clock,
    v1_issuer,
    v2_issuer,
)
from exchangesim.tenant import is_domain, is_guid

if TYPE_CHECKING:
    from datetime import datetime

    from multidict import MultiDictProxy

    from exchangesim.tenant import App, Tenant

_TENANTLESS = ("common", "organizations", "consumers")
_DEFAULT_SUFFIX = "/.default"


@runtime_checkable
class IdentityHost(Protocol):
    """What the identity routes need from the simulator."""

    @property
    def tenant(self) -> Tenant: ...

    @property
    def issuer(self) -> TokenIssuer: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def knobs(self) -> object | None: ...


HostSource = IdentityHost | Callable[[], IdentityHost]


def add_routes(app: web.Application, sim: HostSource) -> None:
    """Add the identity routes to ``app``; ``sim`` is the simulator or a function returning it."""
    routes = _Routes(sim)
    app.router.add_route("*", "/{tenant}/oauth2/v2.0/token", routes.token_v2)
    app.router.add_route("*", "/{tenant}/oauth2/token", routes.token_v1)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", routes.openid_v2)
    app.router.add_get("/{tenant}/.well-known/openid-configuration", routes.openid_v1)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", routes.keys_v2)
    app.router.add_get("/{tenant}/discovery/keys", routes.keys_v1)


class _Routes:
    def __init__(self, sim: HostSource) -> None:
        self._sim = sim

    def _host(self) -> IdentityHost:
        sim = self._sim
        return sim if isinstance(sim, IdentityHost) else sim()

    async def token_v2(self, request: web.Request) -> web.StreamResponse:
        return await self._token(request, 2)

    async def token_v1(self, request: web.Request) -> web.StreamResponse:
        return await self._token(request, 1)

    async def _token(self, request: web.Request, version: Literal[1, 2]) -> web.StreamResponse:
        host = self._host()
        now = read_clock(host.clock)
        trace_id = str(uuid.uuid4())
        correlation_id = _correlation_id(request)
        headers = _headers(trace_id, correlation_id)
        try:
            outage = _outage(host.knobs)
            if outage == "reset":
                return _reset(request)
            if outage == "503":
                raise errors.temporarily_unavailable()
            if request.method != "POST":
                raise errors.wrong_method(request.method)
            tenant = _resolve(host.tenant, request.match_info["tenant"], for_token=True)
            form = await request.post()
            body = _grant(host, tenant, request, form, version=version, now=now)
        except errors.EntraError as err:
            return _json(err.body(now, trace_id, correlation_id), err.status, headers)
        return _json(body, 200, headers)

    async def openid_v2(self, request: web.Request) -> web.StreamResponse:
        host = self._host()
        segment = request.match_info["tenant"]
        try:
            tenant = _resolve(host.tenant, segment, for_token=False)
        except errors.EntraError as err:
            return _error(err, host)
        tid = "common" if segment.casefold() in _TENANTLESS else tenant.tenant_id
        issuer = v2_issuer("{tenantid}" if tid == "common" else tid)
        base = f"{_base(request)}/{tid}"
        return _json(openid_v2(base, issuer), 200, {})

    async def openid_v1(self, request: web.Request) -> web.StreamResponse:
        host = self._host()
        segment = request.match_info["tenant"]
        try:
            tenant = _resolve(host.tenant, segment, for_token=False)
        except errors.EntraError as err:
            return _error(err, host)
        tid = "common" if segment.casefold() in _TENANTLESS else tenant.tenant_id
        issuer = v1_issuer("{tenantid}" if tid == "common" else tid)
        return _json(openid_v1(_base(request), tid, issuer), 200, {})

    async def keys_v2(self, request: web.Request) -> web.StreamResponse:
        host = self._host()
        segment = request.match_info["tenant"]
        try:
            tenant = _resolve(host.tenant, segment, for_token=False)
        except errors.EntraError as err:
            return _error(err, host)
        tid = "{tenantid}" if segment.casefold() in _TENANTLESS else tenant.tenant_id
        return _json(host.issuer.jwks(issuer=v2_issuer(tid)), 200, {})

    async def keys_v1(self, request: web.Request) -> web.StreamResponse:
        host = self._host()
        try:
            _resolve(host.tenant, request.match_info["tenant"], for_token=False)
        except errors.EntraError as err:
            return _error(err, host)
        return _json(host.issuer.jwks(), 200, {})


def _grant(
    host: IdentityHost,
    tenant: Tenant,
    request: web.Request,
    form: MultiDictProxy[Any],
    *,
    version: Literal[1, 2],
    now: datetime,
) -> dict[str, Any]:
    grant_type = _field(form, "grant_type")
    if not grant_type:
        raise errors.missing_parameter("grant_type")
    if grant_type == "password" and version == 2:
        client_id, secret = _client_credentials(request, form)
        names = ("username", "password", "scope")
        fields = {"client_id": client_id, "client_secret": secret}
        fields |= {name: _field(form, name) for name in names}
        return password_grant(host.issuer, tenant, fields, authenticate=_authenticate, now=now)
    if grant_type != "client_credentials":
        raise errors.unsupported_grant(grant_type)
    if version == 2 and "resource" in form:
        raise errors.resource_parameter_on_v2()
    client_id, secret = _client_credentials(request, form)
    if not client_id:
        raise errors.missing_parameter("client_id")
    if version == 2:
        resource = _resource_of_scope(_field(form, "scope"))
    else:
        # v1 wants resource=; without it Entra falls back to Azure AD Graph and ignores scope=.
        resource = _field(form, "resource") or AAD_GRAPH_APP_ID
    app = tenant.app(client_id)
    if app is None:
        raise errors.unknown_client(client_id, tenant.name)
    _authenticate(app, secret, now)
    if find_resource(resource) is None:
        raise errors.unknown_resource(resource, tenant.name)
    token = host.issuer.mint_app_token(app, resource)
    if version == 2:
        return {
            "token_type": "Bearer",
            "expires_in": EXPIRES_IN,
            "ext_expires_in": EXPIRES_IN,
            "access_token": token,
        }
    # The v1 endpoint answers numbers as strings and names the resource.
    issued = int(now.timestamp())
    return {
        "token_type": "Bearer",
        "expires_in": str(EXPIRES_IN),
        "ext_expires_in": str(EXPIRES_IN),
        "expires_on": str(issued + EXPIRES_IN),
        "not_before": str(issued - 300),
        "resource": resource,
        "access_token": token,
    }


def _resource_of_scope(scope: str) -> str:
    if not scope.strip():
        raise errors.missing_parameter("scope")
    resources = []
    for item in scope.split():
        if not item.endswith(_DEFAULT_SUFFIX) or item == _DEFAULT_SUFFIX:
            raise errors.scope_not_default(item)
        resources.append(item[: -len(_DEFAULT_SUFFIX)])
    if len({r.rstrip("/").casefold() for r in resources}) > 1:
        raise errors.invalid_scope(scope)
    return resources[0]


def _authenticate(app: App, secret: str, now: datetime) -> None:
    if not secret:
        raise errors.missing_client_secret()
    matches = [s for s in app.secrets if hmac.compare_digest(s.value.encode(), secret.encode())]
    if not matches:
        raise errors.invalid_client_secret(app.client_id)
    if all(s.expired(now) for s in matches):
        raise errors.expired_client_secret(app.client_id)


def _client_credentials(request: web.Request, form: MultiDictProxy[Any]) -> tuple[str, str]:
    """client_id and secret from the body, or from HTTP Basic (RFC 6749 section 2.3.1)."""
    client_id = _field(form, "client_id")
    secret = _field(form, "client_secret")
    authorization = request.headers.get("Authorization", "")
    if authorization[:6].casefold() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, colon, password = decoded.partition(":")
        if colon:
            client_id = client_id or unquote_plus(user)
            secret = secret or unquote_plus(password)
    return client_id, secret


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _resolve(tenant: Tenant, segment: str, *, for_token: bool) -> Tenant:
    if tenant.answers_to(segment):
        return tenant
    if segment.casefold() in _TENANTLESS:
        if for_token:
            raise errors.tenantless_grant()
        return tenant
    if not (is_guid(segment) or is_domain(segment)):
        raise errors.malformed_tenant(segment)
    raise errors.unknown_tenant(segment)


def _outage(knobs: object | None) -> Literal["503", "reset"] | None:
    value = getattr(knobs, "token_outage", None) if knobs is not None else None
    if not value:
        return None
    if isinstance(value, str) and value.casefold() in ("reset", "connection_reset"):
        return "reset"
    return "503"


def _reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection with a TCP RST, as a client sees when Entra's front door fails."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 makes close() send RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=503)  # never reaches the client


def _correlation_id(request: web.Request) -> str:
    # Entra echoes a client-request-id GUID (msal sends one) as the correlation id.
    given = request.headers.get("client-request-id", "")
    return given.lower() if is_guid(given) else str(uuid.uuid4())


def _headers(trace_id: str, correlation_id: str) -> dict[str, str]:
    return {
        "Cache-Control": "no-store, no-cache",
        "Pragma": "no-cache",
        "x-ms-request-id": trace_id,
        "client-request-id": correlation_id,
    }


def _json(body: dict[str, Any], status: int, headers: dict[str, str]) -> web.Response:
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: json.dumps(o, separators=(",", ":"))
    )


def _error(err: errors.EntraError, host: IdentityHost) -> web.Response:
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    now = read_clock(host.clock)
    return _json(err.body(now, trace_id, correlation_id), err.status, {})


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
