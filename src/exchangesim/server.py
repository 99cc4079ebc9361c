"""The HTTP server: one aiohttp application for the token endpoint, EWS, Graph and the admin
routes.

- `build_app(sim, admin_key)` makes the application;
- `start_in_thread(sim, host, port=0, tls=True)` runs it on its own thread and event loop and
  returns a `RunningServer` (tests, benchmarks, `vmrsched demo`);
- `serve(...)` runs it in the foreground until SIGINT/SIGTERM (the CLI).

Stopping is graceful: the stop event wakes every waiting handler (latency, held requests,
streams), the listening sockets close, open requests get a short grace, then the state is saved
when a state file is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self

from aiohttp import web

from exchangesim import admin, autodiscover
from exchangesim import tls as tls_certs
from exchangesim.ews import endpoint as ews_endpoint
from exchangesim.ews.registry import load_operations
from exchangesim.ews.soap import MAX_REQUEST_BYTES
from exchangesim.graph import endpoint as graph_endpoint
from exchangesim.identity.exchange_tokens import METADATA_PATH
from exchangesim.webkeys import ADMIN_KEY, SIM_KEY, STOPPING_KEY

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from exchangesim.sim import Simulator

log = logging.getLogger(__name__)

#: Grace given to requests still running when the server stops.
SHUTDOWN_GRACE_S: Final = 5.0
#: Pending-connection queue; EWS clients open many connections at once in load tests.
BACKLOG: Final = 1024

_TOKEN_PATH = re.compile(r"^/[^/]+/oauth2/(?:v2\.0/)?token/?$")


@web.middleware
async def realism_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Per-request bookkeeping before any front-end: counts token requests.

    The knobs themselves act where the knowledge is: the EWS knobs (latency, throttling, faults)
    need the operation's name and act in the EWS endpoint; `token_outage` is read by the token
    endpoint (`exchangesim.identity`), `streaming_drop` by the streaming operation.
    """
    knobs = request.app[SIM_KEY].knobs
    if request.method == "POST" and _TOKEN_PATH.match(request.path):
        knobs.count("token", "requests")
        if knobs.settings.token_outage:
            knobs.count("token", "outage")
    return await handler(request)


def build_app(
    sim: Simulator, admin_key: str | None = None, *, ca_file: Path | None = None
) -> web.Application:
    """The aiohttp application serving `sim` (a random admin key unless one is given).

    `ca_file` is the simulator's own CA: Graph change notifications trust it besides the
    system's CAs, so a test receiver can use a certificate from it.
    """
    load_operations()
    app = web.Application(
        middlewares=[realism_middleware],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[SIM_KEY] = sim
    app[ADMIN_KEY] = admin_key or new_admin_key()
    app[STOPPING_KEY] = asyncio.Event()
    _add_identity_routes(app, sim)
    ews_endpoint.add_routes(app)
    graph_endpoint.add_routes(app, ca_file=ca_file)
    admin.add_routes(app)
    autodiscover.add_routes(app)
    return app


def _add_identity_routes(app: web.Application, sim: Simulator) -> None:
    from exchangesim.identity import endpoint as identity_endpoint  # noqa: PLC0415

    identity_endpoint.add_routes(app, sim)


def new_admin_key() -> str:
    """A fresh random admin key."""
    return secrets.token_urlsafe(24)


@dataclass
class RunningServer:
    """A server started by `start_in_thread`; `stop()` (or leaving the `with`) stops it."""

    sim: Simulator
    host: str
    port: int
    base_url: str
    ca_file: Path | None
    admin_key: str
    _stop: Callable[[], None] = field(repr=False)

    @property
    def ews_url(self) -> str:
        """`<base>/EWS/Exchange.asmx`."""
        return f"{self.base_url}/EWS/Exchange.asmx"

    @property
    def authority(self) -> str:
        """`<base>/<tenant id>`, the authority msal takes."""
        return f"{self.base_url}/{self.sim.tenant.tenant_id}"

    @property
    def token_endpoint(self) -> str:
        """`<base>/<tenant id>/oauth2/v2.0/token`."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def auth_metadata_url(self) -> str:
        """`<base>/autodiscover/metadata/json/1`: the `amurl` of the Exchange identity tokens
        issued to clients that call EWS at `ews_url`."""
        return f"{self.base_url}{METADATA_PATH}"

    def admin(self) -> admin.AdminClient:
        """A client for the `/_exchangesim/` admin routes."""
        return admin.AdminClient(self.base_url, self.admin_key, self.ca_file)

    def stop(self) -> None:
        """Stop serving (graceful; idempotent) and save state when a state file is set."""
        self._stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6 and host in {"::", ""}:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(address)
    sock.setblocking(False)  # noqa: FBT003 (socket API)
    return sock


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", ""}:  # noqa: S104 (a wildcard bind is reached through loopback)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class _Server:
    """The runner, site and stop sequence shared by `start_in_thread` and `serve`."""

    def __init__(
        self,
        sim: Simulator,
        admin_key: str,
        ssl_context: ssl.SSLContext | None,
        ca_file: Path | None = None,
    ) -> None:
        self.sim = sim
        self.app = build_app(sim, admin_key, ca_file=ca_file)
        self.ssl_context = ssl_context
        self.runner = web.AppRunner(
            self.app, shutdown_timeout=SHUTDOWN_GRACE_S, handle_signals=False, access_log=None
        )

    async def start(self, sock: socket.socket) -> None:
        await self.runner.setup()
        site = web.SockSite(self.runner, sock, ssl_context=self.ssl_context, backlog=BACKLOG)
        await site.start()

    async def stop(self) -> None:
        self.app[STOPPING_KEY].set()
        await self.runner.cleanup()
        try:
            self.sim.save_state()
        except OSError:
            log.exception("state_save_failed path=%s", self.sim.state_file)


def _tls_material(
    tls_on: bool, cert_dir: Path | None, host: str
) -> tuple[ssl.SSLContext | None, Path | None]:
    if not tls_on:
        return None, None
    files = tls_certs.ensure_tls_files(
        cert_dir or tls_certs.default_cert_dir(), tls_certs.hosts_for(host)
    )
    return tls_certs.server_context(files), files.ca_file


def start_in_thread(
    sim: Simulator,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = True,
    *,
    cert_dir: Path | None = None,
    admin_key: str | None = None,
) -> RunningServer:
    """Serve `sim` on `host:port` (0 = a free port) from a background thread.

    With `tls` the server speaks HTTPS with a certificate from a private CA whose PEM file is
    `RunningServer.ca_file`; without `cert_dir` the CA is made in a temporary folder that lives
    as long as the server. Raises OSError when the address cannot be bound.
    """
    temp_dir: tempfile.TemporaryDirectory[str] | None = None
    if tls and cert_dir is None:
        temp_dir = tempfile.TemporaryDirectory(prefix="exchangesim-tls-")
        cert_dir = Path(temp_dir.name)
    ssl_context, ca_file = _tls_material(tls, cert_dir, host)
    key = admin_key or new_admin_key()
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    server = _Server(sim, key, ssl_context, ca_file)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start(sock))
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name=f"exchangesim-{bound_port}", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        sock.close()
        raise failure[0]

    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        future = asyncio.run_coroutine_threadsafe(server.stop(), loop)
        try:
            future.result(timeout=SHUTDOWN_GRACE_S + 10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=SHUTDOWN_GRACE_S + 10)
            if temp_dir is not None:
                temp_dir.cleanup()

    scheme = "https" if tls else "http"
    return RunningServer(
        sim=sim,
        host=host,
        port=bound_port,
        base_url=f"{scheme}://{_url_host(host)}:{bound_port}",
        ca_file=ca_file,
        admin_key=key,
        _stop=stop,
    )


async def serve(
    sim: Simulator,
    host: str,
    port: int,
    *,
    tls_on: bool = True,
    cert_dir: Path | None = None,
    admin_key: str | None = None,
    on_ready: Callable[[str, Path | None, str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; `on_ready(base_url, ca_file, admin_key)`
    is called once the socket listens."""
    ssl_context, ca_file = _tls_material(tls_on, cert_dir, host)
    key = admin_key or new_admin_key()
    sock = _bind(host, port)
    server = _Server(sim, key, ssl_context, ca_file)
    await server.start(sock)
    scheme = "https" if tls_on else "http"
    base_url = f"{scheme}://{_url_host(host)}:{sock.getsockname()[1]}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows event loops
            loop.add_signal_handler(signum, stop.set)
    if on_ready is not None:
        on_ready(base_url, ca_file, key)
    await stop.wait()
    log.info("server_stopping reason=signal")
    await server.stop()
