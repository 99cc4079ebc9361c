"""The add-in's HTTP face: its files, its configuration, its manifest and the reservation API.

- ``GET /addin/<file>``: the task pane, function file, scripts and icons (`files`), no sign-in
  (Outlook loads them before anyone signs in), with a Content-Security-Policy on pages that
  lets Office.js in and lets only Outlook's hosts frame them;
- ``GET /addin/config.json``: what the browser needs (API base, resource mailbox, labels,
  sign-in parameters, the placeholder text): public, no secrets;
- ``GET /addin/manifest.xml``: the manifest (`manifest`), the same text as
  ``vmrsched addin-manifest``;
- ``POST /api/v1/reservations``: a reservation for the signed-in user, limited per user
  (`limits`): an Entra ID token (`signin`, Microsoft 365) names its user as the organizer; an
  Exchange identity token (`exchange_identity`, Exchange Server) proves a user but names no
  address, so the body's ``organizer`` is recorded as a claim. Errors are
  ``{"error": code, "message": plain words}``.

The contract with the add-in's JavaScript: ``docs/reference/addin-api.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import structlog
from aiohttp import web

from vmrsched.adapters.auth.transport import trusting_context
from vmrsched.domain.instructions import placeholder_block
from vmrsched.web.exchange_identity import ExchangeTokenRules, ExchangeTokenVerifier
from vmrsched.web.files import StaticFiles, find_addin_root
from vmrsched.web.limits import RateLimiter
from vmrsched.web.manifest import ManifestError, addin_urls, build_manifest
from vmrsched.web.payloads import error
from vmrsched.web.reservations_api import reservation_answer
from vmrsched.web.signin import TokenRules, TokenVerifier

if TYPE_CHECKING:
    from pathlib import Path

    from vmrsched.config import Settings
    from vmrsched.domain.templates import Rendered
    from vmrsched.ports.store import Store
    from vmrsched.service.clock import Clock
    from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)

API_PATH: Final = "/api/v1/reservations"
OFFICE_JS: Final = "https://appsforoffice.microsoft.com"
#: The marker the browser replaces with the placeholder token it makes.
PLACEHOLDER_MARKER: Final = "{{placeholder_token}}"


@dataclass(frozen=True, kw_only=True)
class AddinService:
    """Everything the add-in routes serve from, built once by `addin_service`."""

    settings: Settings
    store: Store
    rules: Rules
    clock: Clock
    files: StaticFiles
    verifier: TokenVerifier | None
    exchange_verifier: ExchangeTokenVerifier | None
    limiter: RateLimiter
    manifest: str | None
    manifest_problem: str
    placeholder: Rendered

    @property
    def csp(self) -> str:
        """The Content-Security-Policy of the add-in's pages."""
        authority = self.settings.addin.authority_url.rstrip("/")
        ancestors = " ".join(self.settings.addin.frame_ancestors) or "'none'"
        return "; ".join(
            (
                "default-src 'self'",
                f"script-src 'self' {OFFICE_JS}",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data:",
                f"connect-src 'self' {authority}",
                f"frame-src {authority}",
                f"frame-ancestors {ancestors}",
                "base-uri 'self'",
                "form-action 'none'",
                "object-src 'none'",
            )
        )


def addin_service(
    settings: Settings,
    store: Store,
    rules: Rules,
    clock: Clock,
    *,
    files_root: Path | None = None,
    monotonic: Any = time.monotonic,
) -> AddinService:
    """The add-in routes' state from the settings (no network: keys are fetched on first use)."""
    addin = settings.addin
    context = None
    if settings.exchange.ca_bundle is not None:
        context = trusting_context(settings.exchange.ca_bundle)
    verifier = None
    if addin.api_client_id and addin.tenant_id:
        rules_for_tokens = TokenRules(
            tenant_id=addin.tenant_id,
            audiences=frozenset({addin.api_client_id, addin.api_id_uri} - {""}),
            scope=addin.scope,
            client_id=addin.client_id,
            authority_url=addin.authority_url,
        )
        verifier = TokenVerifier(rules_for_tokens, clock, ssl_context=context)
    manifest, problem = None, ""
    try:
        manifest = build_manifest(settings)
    except ManifestError as exc:
        problem = f"{exc} (fix: {exc.fix})"
    exchange_verifier = None
    if addin.exchange_metadata_urls and manifest is not None:
        exchange_rules = ExchangeTokenRules(
            metadata_urls=frozenset(addin.exchange_metadata_urls),
            audience=addin_urls(settings).taskpane,
        )
        exchange_verifier = ExchangeTokenVerifier(exchange_rules, clock, ssl_context=context)
    placeholder = placeholder_block(
        rules.templates, PLACEHOLDER_MARKER, addin_server_domain=settings.web.addin_server_domain
    )
    return AddinService(
        settings=settings,
        store=store,
        rules=rules,
        clock=clock,
        files=StaticFiles(files_root if files_root is not None else find_addin_root()),
        verifier=verifier,
        exchange_verifier=exchange_verifier,
        limiter=RateLimiter(addin.rate_limit_per_minute, monotonic),
        manifest=manifest,
        manifest_problem=problem,
        placeholder=placeholder,
    )


ADDIN: Final = web.AppKey("addin", AddinService)


def add_routes(app: web.Application, service: AddinService) -> None:
    """Serve the add-in from ``app``."""
    app[ADDIN] = service
    app.router.add_get("/addin/config.json", config_json)
    app.router.add_get("/addin/manifest.xml", manifest_xml)
    app.router.add_get("/addin/{path:.+}", static_file)
    app.router.add_post(API_PATH, create_reservation)
    app.router.add_route("OPTIONS", API_PATH, preflight)

    async def close(app: web.Application) -> None:
        for verifier in (app[ADDIN].verifier, app[ADDIN].exchange_verifier):
            if verifier is not None:
                await verifier.close()

    app.on_cleanup.append(close)


async def static_file(request: web.Request) -> web.StreamResponse:
    """``GET /addin/<path>``."""
    service = request.app[ADDIN]
    found = service.files.get(request.match_info["path"])
    if found is None:
        raise web.HTTPNotFound(text="no such add-in file")
    headers = {
        "ETag": found.etag,
        "Cache-Control": found.cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if found.is_page:
        headers["Content-Security-Policy"] = service.csp
        headers["Referrer-Policy"] = "no-referrer"
    if found.etag in _etags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = found.content_type
    return web.Response(body=found.body, headers=headers)


def _etags(header: str) -> set[str]:
    return {item.strip().removeprefix("W/") for item in header.split(",") if item.strip()}


async def config_json(request: web.Request) -> web.Response:
    """``GET /addin/config.json``: the browser's settings (nothing secret)."""
    service = request.app[ADDIN]
    settings = service.settings
    addin = settings.addin
    base = settings.web.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    document = {
        "api_base": base,
        "resource_mailbox": settings.exchange.resource_mailbox,
        "labels": {
            "button": addin.button_label,
            "group": addin.group_label,
            "pane_title": addin.pane_title,
            "taskpane": addin.taskpane_label,
        },
        "auth": _auth_document(service),
        "placeholder": {"html": service.placeholder.html, "text": service.placeholder.text},
    }
    return web.json_response(document, headers={"Cache-Control": "no-cache"})


def _auth_document(service: AddinService) -> dict[str, Any]:
    """How the add-in signs in: NAA (Microsoft 365), Exchange identity tokens (Exchange Server),
    or NAA with the identity token as the fallback where Outlook has no NAA (hybrid)."""
    addin = service.settings.addin
    if service.verifier is None and service.exchange_verifier is not None:
        return {"kind": "exchange_identity"}
    document: dict[str, Any] = {
        "kind": "naa",
        "client_id": addin.client_id,
        "authority": f"{addin.authority_url.rstrip('/')}/{addin.tenant_id or 'organizations'}",
        "scopes": [f"{addin.api_id_uri}/{addin.scope}"] if addin.api_id_uri else [],
    }
    if service.exchange_verifier is not None:
        document["fallback"] = "exchange_identity"
    return document


async def manifest_xml(request: web.Request) -> web.Response:
    """``GET /addin/manifest.xml``."""
    service = request.app[ADDIN]
    if service.manifest is None:
        return error(503, "unavailable", service.manifest_problem)
    return web.Response(
        text=service.manifest,
        content_type="application/xml",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def _cors(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin", "")
    if origin and origin in request.app[ADDIN].settings.addin.cors_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for ``POST /api/v1/reservations`` from a configured origin."""
    headers = _cors(request)
    if headers:
        headers |= {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        }
    return web.Response(status=204, headers=headers)


async def create_reservation(request: web.Request) -> web.Response:
    """``POST /api/v1/reservations``: a reservation for the signed-in user."""
    response = await reservation_answer(request.app[ADDIN], request)
    response.headers.update(_cors(request))
    response.headers["Cache-Control"] = "no-store"
    return response
