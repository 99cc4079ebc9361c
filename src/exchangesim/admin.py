"""The admin endpoint under `/_exchangesim/`: realism knobs, counters, state; and a client for it.

Every admin route needs the header `X-Exchangesim-Admin-Key: <key>`. The key is given with
`--admin-key` (or `EXCHANGESIM_ADMIN_KEY`) or made at start and printed; `start_in_thread`
returns it. A key, rather than "loopback only", because the simulator is also run in
containers and on shared test hosts, where loopback is not a boundary.

| method and path | does |
|---|---|
| `GET /_exchangesim/info` | tenant id, URLs, server version, state file, request validation |
| `GET /_exchangesim/knobs` | the knob settings now in force |
| `PATCH` or `POST /_exchangesim/knobs` | change the knobs named in the JSON body |
| `PUT /_exchangesim/knobs` | replace all knobs (missing ones go back to their defaults) |
| `POST /_exchangesim/knobs/reset` | all knobs back to defaults |
| `GET /_exchangesim/counters` | per-operation EWS calls, token requests, throttling, faults |
| `DELETE /_exchangesim/counters` (or `POST .../counters/reset`) | counters back to zero |
| `POST /_exchangesim/state/save` | write the state file now (409 without one) |
| `GET /_exchangesim/addins` | the add-ins installed for the organization |
| `POST /_exchangesim/addins` | install `{"manifest": "<xml>"}` (`New-App -OrganizationApp`) |
| `DELETE /_exchangesim/addins/{id}` | uninstall an organization add-in (404 if not installed) |
"""

from __future__ import annotations

import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from exchangesim.addins import ManifestError
from exchangesim.knobs import KnobError, KnobSettings
from exchangesim.tls import client_context
from exchangesim.webkeys import ADMIN_KEY, SIM_KEY

if TYPE_CHECKING:
    from pathlib import Path

ADMIN_HEADER: Final = "X-Exchangesim-Admin-Key"
ADMIN_PREFIX: Final = "/_exchangesim"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode(), request.app[ADMIN_KEY].encode()):
            return _error(401, f"missing or wrong {ADMIN_HEADER} header")
        return await handler(request)

    return guarded


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {exc}"}), content_type="application/json"
        ) from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return data


async def info(request: web.Request) -> web.StreamResponse:
    """Where things are and how the server is set up."""
    sim = request.app[SIM_KEY]
    base = f"{request.scheme}://{request.host}"
    version = sim.server_version
    return web.json_response(
        {
            "tenant_id": sim.tenant.tenant_id,
            "domain": sim.tenant.domain,
            "base_url": base,
            "ews_url": f"{base}/EWS/Exchange.asmx",
            "token_endpoint": f"{base}/{sim.tenant.tenant_id}/oauth2/v2.0/token",
            "authority": f"{base}/{sim.tenant.tenant_id}",
            "server_version": (
                f"{version.major}.{version.minor}.{version.major_build}.{version.minor_build}"
                f" {version.version}"
            ),
            "state_file": str(sim.state_file) if sim.state_file else None,
            "request_validation": sim.request_schema is not None,
        }
    )


async def get_knobs(request: web.Request) -> web.StreamResponse:
    """The knob settings now in force."""
    return web.json_response(request.app[SIM_KEY].knobs.settings.to_json())


async def patch_knobs(request: web.Request) -> web.StreamResponse:
    """Change the knobs named in the body; the others stay."""
    knobs = request.app[SIM_KEY].knobs
    data = await _json_body(request)
    try:
        settings = knobs.set(KnobSettings.from_json(data, base=knobs.settings))
    except KnobError as exc:
        return _error(400, str(exc))
    return web.json_response(settings.to_json())


async def put_knobs(request: web.Request) -> web.StreamResponse:
    """Replace all knobs: the ones not in the body go back to their defaults."""
    knobs = request.app[SIM_KEY].knobs
    data = await _json_body(request)
    try:
        settings = knobs.set(KnobSettings.from_json(data))
    except KnobError as exc:
        return _error(400, str(exc))
    return web.json_response(settings.to_json())


async def reset_knobs(request: web.Request) -> web.StreamResponse:
    """All knobs back to their defaults."""
    return web.json_response(request.app[SIM_KEY].knobs.reset().to_json())


async def get_counters(request: web.Request) -> web.StreamResponse:
    """Every counter."""
    return web.json_response(request.app[SIM_KEY].knobs.counters())


async def reset_counters(request: web.Request) -> web.StreamResponse:
    """Counters back to zero."""
    knobs = request.app[SIM_KEY].knobs
    knobs.reset_counters()
    return web.json_response(knobs.counters())


async def save_state(request: web.Request) -> web.StreamResponse:
    """Write the state file now."""
    sim = request.app[SIM_KEY]
    if sim.state_file is None:
        return _error(409, "the simulator runs without a state file (--state-file)")
    sim.save_state()
    return web.json_response({"saved": str(sim.state_file)})


async def list_addins(request: web.Request) -> web.StreamResponse:
    """The organization's add-ins."""
    return web.json_response([a.to_json() for a in request.app[SIM_KEY].addins])


async def install_addin(request: web.Request) -> web.StreamResponse:
    """Install the manifest in the body's ``manifest`` for the whole organization."""
    data = await _json_body(request)
    manifest = data.get("manifest")
    if not isinstance(manifest, str):
        return _error(400, 'the body needs "manifest": the add-in\'s XML manifest as a string')
    try:
        addin = request.app[SIM_KEY].addins.install(manifest)
    except ManifestError as exc:
        return _error(400, f"manifest refused: {exc}")
    return web.json_response(addin.to_json(), status=201)


async def remove_addin(request: web.Request) -> web.StreamResponse:
    """Uninstall an organization add-in."""
    addin_id = request.match_info["addin_id"]
    if not request.app[SIM_KEY].addins.remove(addin_id):
        return _error(404, f"no add-in {addin_id!r} is installed")
    return web.json_response({"removed": addin_id})


def add_routes(app: web.Application) -> None:
    """Add the admin routes (the app must carry `ADMIN_KEY` and `SIM_KEY`)."""
    p = ADMIN_PREFIX
    app.router.add_get(f"{p}/info", _guarded(info))
    app.router.add_get(f"{p}/knobs", _guarded(get_knobs))
    app.router.add_patch(f"{p}/knobs", _guarded(patch_knobs))
    app.router.add_post(f"{p}/knobs", _guarded(patch_knobs))
    app.router.add_put(f"{p}/knobs", _guarded(put_knobs))
    app.router.add_post(f"{p}/knobs/reset", _guarded(reset_knobs))
    app.router.add_get(f"{p}/counters", _guarded(get_counters))
    app.router.add_delete(f"{p}/counters", _guarded(reset_counters))
    app.router.add_post(f"{p}/counters/reset", _guarded(reset_counters))
    app.router.add_post(f"{p}/state/save", _guarded(save_state))
    app.router.add_get(f"{p}/addins", _guarded(list_addins))
    app.router.add_post(f"{p}/addins", _guarded(install_addin))
    app.router.add_delete(f"{p}/addins/{{addin_id}}", _guarded(remove_addin))


class AdminError(Exception):
    """The admin endpoint refused a call; `status` and the server's `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class AdminClient:
    """A small synchronous client for the admin endpoint (tests, the demo, scripts).

    admin = AdminClient(server.base_url, server.admin_key, server.ca_file)
    admin.set_knobs(latency={"fixed_ms": 20}, max_concurrent=2)
    admin.counters()["ews"]["GetItem"]
    """

    def __init__(
        self, base_url: str, admin_key: str, ca_file: Path | None = None, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key
        self._context = client_context(ca_file) if ca_file is not None else None
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call `method /_exchangesim/<path>` and return the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the URL is the simulator's own)
            f"{self.base_url}{ADMIN_PREFIX}/{path.lstrip('/')}", data=data, method=method
        )
        request.add_header(ADMIN_HEADER, self.admin_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self.timeout, context=self._context
            ) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = json.loads(raw).get("error", raw.decode(errors="replace"))
            except (ValueError, AttributeError):
                message = raw.decode(errors="replace")
            raise AdminError(exc.code, str(message)) from exc

    def info(self) -> dict[str, Any]:
        """`GET /_exchangesim/info`."""
        result: dict[str, Any] = self.call("GET", "info")
        return result

    def knobs(self) -> dict[str, Any]:
        """The knob settings now in force."""
        result: dict[str, Any] = self.call("GET", "knobs")
        return result

    def set_knobs(self, **changes: Any) -> dict[str, Any]:
        """Change the named knobs (`PATCH`); returns the settings now in force."""
        result: dict[str, Any] = self.call("PATCH", "knobs", changes)
        return result

    def replace_knobs(self, **settings: Any) -> dict[str, Any]:
        """Replace all knobs (`PUT`): knobs not named go back to their defaults."""
        result: dict[str, Any] = self.call("PUT", "knobs", settings)
        return result

    def reset_knobs(self) -> dict[str, Any]:
        """All knobs back to their defaults."""
        result: dict[str, Any] = self.call("POST", "knobs/reset")
        return result

    def counters(self) -> dict[str, dict[str, int]]:
        """Every counter, e.g. `{"ews": {"ConvertId": 2}, "token": {"requests": 1}}`."""
        result: dict[str, dict[str, int]] = self.call("GET", "counters")
        return result

    def reset_counters(self) -> None:
        """Counters back to zero."""
        self.call("DELETE", "counters")

    def save_state(self) -> str:
        """Write the state file now; its path."""
        result: dict[str, str] = self.call("POST", "state/save")
        return result["saved"]

    def install_addin(self, manifest: str) -> dict[str, str]:
        """Install an add-in for the organization (`New-App -OrganizationApp -FileData`):
        ``{"id", "source_location", "display_name"}``; `AdminError` 400 for a bad manifest."""
        result: dict[str, str] = self.call("POST", "addins", {"manifest": manifest})
        return result

    def addins(self) -> list[dict[str, str]]:
        """The organization's add-ins."""
        result: list[dict[str, str]] = self.call("GET", "addins")
        return result

    def remove_addin(self, addin_id: str) -> None:
        """Uninstall an organization add-in (`AdminError` 404 when not installed)."""
        self.call("DELETE", f"addins/{urllib.parse.quote(addin_id, safe='')}")
