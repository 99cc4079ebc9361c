"""`vmrsched doctor` proves the Outlook add-in's setup, end to end: the configuration an admin
would write (the demo's, for exchangesim), the HTTP adapter fetching the sign-in documents over
TLS (trusting exchangesim's CA through ``[exchange] ca_bundle``), the checks, the JSON output and
the exit status.

The correct setup passes against exchangesim, which serves Entra ID's OpenID metadata and key
set and Exchange's authentication metadata document. Each broken setup is broken one way: an
unreachable metadata URL, a document without certificates and one whose certificate expires in
10 days (both served by a small aiohttp server with a certificate made with `cryptography`), a
plain-http public URL, a missing or unknown tenant.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from exchangesim.server import start_in_thread
from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant
from signing_documents import certificate, certificate_entry, metadata_document
from vmrsched.adapters.auth.documents import JsonDocuments
from vmrsched.cli.demo_tenant import demo_settings
from vmrsched.cli.doctor import DoctorOptions, run_doctor
from vmrsched.config import settings_from_mapping
from vmrsched.ports.probe import ProbeError, Refusal
from vmrsched.service.doctor import CHECK_IDS
from vmrsched.service.doctor_addin import ADDIN_CHECK_IDS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from exchangesim.server import RunningServer
    from vmrsched.config import Settings

METADATA_PATH = "/autodiscover/metadata/json/1"
UNKNOWN_TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """exchangesim with the demo tenant, over HTTPS from its own CA."""
    cert_dir = tmp_path_factory.mktemp("tls")
    with start_in_thread(Simulator.from_tenant(demo_tenant()), cert_dir=cert_dir) as server:
        yield server


class DocumentServer:
    """A small aiohttp server on the loopback host, answering `documents` by path (404 else)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, Callable[[], web.StreamResponse]] = {}  # other answers, by path
        self.port = 0

    def url(self, path: str = METADATA_PATH) -> str:
        """The http URL of ``path`` (plain http is allowed for metadata on the loopback host)."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def answer(self, request: web.Request) -> web.StreamResponse:
        if request.path in self.answers:
            return self.answers[request.path]()
        document = self.documents.get(request.path)
        if document is None:
            raise web.HTTPNotFound
        return web.json_response(document)


@pytest.fixture
def little_server() -> Iterator[DocumentServer]:
    """A `DocumentServer` running on its own event loop in a thread, stopped afterwards."""
    server = DocumentServer()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/{path:.*}", server.answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        server.port = runner.addresses[0][1]
        return runner

    runner = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{METADATA_PATH}"


def admin_settings(
    exchange: RunningServer, folder: Path, change: Callable[[dict[str, Any]], None] | None = None
) -> Settings:
    """The demo's configuration for exchangesim (both sign-ins of the add-in, checked against
    exchangesim), served at an https public URL, then ``change``d, checked as a file would be."""
    raw = demo_settings(exchange, folder, "127.0.0.1:8080")
    raw["web"]["public_url"] = "https://vmrsched.contoso.com"
    if change is not None:
        change(raw)
    return settings_from_mapping(raw, base=folder)


def doctor(settings: Settings) -> tuple[int, dict[str, dict[str, str]]]:
    """``vmrsched doctor --json``: the exit status and the add-in's checks by id (the Exchange
    checks are asserted to come first, in their order)."""
    out = io.StringIO()
    status = run_doctor(settings, DoctorOptions(as_json=True), out)
    checks = json.loads(out.getvalue())["checks"]
    assert [c["id"] for c in checks] == list(CHECK_IDS + ADDIN_CHECK_IDS)
    return status, {c["id"]: c for c in checks if c["id"].startswith("addin.")}


def test_the_correct_add_in_setup_passes_every_check(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """https manifest; exchangesim's Entra metadata names the tenant's issuer and its key set a
    key; its Exchange metadata publishes the auth certificate, valid for five years."""
    status, checks = doctor(admin_settings(exchange, tmp_path))
    assert {i: c["status"] for i, c in checks.items()} == dict.fromkeys(ADDIN_CHECK_IDS, "pass")
    assert status == 0
    tenant = exchange.sim.tenant.tenant_id
    assert (
        f"https://login.microsoftonline.com/{tenant}/v2.0" in checks["addin.m365_signin"]["summary"]
    )
    exchange_signin = checks["addin.exchange_signin"]["summary"]
    assert exchange.auth_metadata_url in exchange_signin
    assert "CN=Microsoft Exchange Server Auth Certificate" in exchange_signin


def test_an_unreachable_exchange_metadata_url_fails(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """Nothing answers at the URL: FAIL naming it, the fix says where to look; exit 1."""
    url = closed_port_url()

    def change(raw: dict[str, Any]) -> None:
        raw["addin"]["exchange_metadata_urls"] = [url]

    status, checks = doctor(admin_settings(exchange, tmp_path, change))
    check = checks["addin.exchange_signin"]
    assert check["status"] == "fail", check
    assert f"{url} does not answer" in check["summary"]
    assert "ca_bundle" in check["fix"]
    assert status == 1


def test_a_document_without_certificates_fails(
    exchange: RunningServer, tmp_path: Path, little_server: DocumentServer
) -> None:
    """The document parses but publishes no signing certificate: no token could be checked."""
    little_server.documents[METADATA_PATH] = metadata_document()

    def change(raw: dict[str, Any]) -> None:
        raw["addin"]["exchange_metadata_urls"] = [little_server.url()]

    status, checks = doctor(admin_settings(exchange, tmp_path, change))
    check = checks["addin.exchange_signin"]
    assert check["status"] == "fail", check
    assert "publishes no signing certificate" in check["summary"]
    assert status == 1


def test_a_certificate_expiring_in_ten_days_warns_with_the_renewal_steps(
    exchange: RunningServer, tmp_path: Path, little_server: DocumentServer
) -> None:
    """The newest certificate expires within 30 days: WARN (not a failure, exit 0), the fix
    names New-ExchangeCertificate and Set-AuthConfig and cites Microsoft's steps."""
    expiring = certificate(expires_in=timedelta(days=10, hours=1))
    little_server.documents[METADATA_PATH] = metadata_document(certificate_entry(expiring))

    def change(raw: dict[str, Any]) -> None:
        raw["addin"]["exchange_metadata_urls"] = [little_server.url()]

    status, checks = doctor(admin_settings(exchange, tmp_path, change))
    check = checks["addin.exchange_signin"]
    assert check["status"] == "warn", check
    assert "expires in 10 days" in check["summary"]
    assert "New-ExchangeCertificate" in check["fix"]
    assert "Set-AuthConfig -NewCertificateThumbprint" in check["fix"]
    assert "https://learn.microsoft.com/troubleshoot/exchange/administration/" in check["fix"]
    assert status == 0


def test_a_plain_http_public_url_on_the_loopback_host_warns_trials_only(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """The only plain http public URL the configuration accepts (loopback, as the demo's): the
    manifest check warns that Outlook needs https; nothing fails (exit 0)."""

    def change(raw: dict[str, Any]) -> None:
        raw["web"]["public_url"] = "http://127.0.0.1:8080"

    status, checks = doctor(admin_settings(exchange, tmp_path, change))
    check = checks["addin.manifest"]
    assert check["status"] == "warn", check
    assert "http://127.0.0.1:8080" in check["summary"]
    assert "trials only" in check["summary"]
    assert "https" in check["fix"]
    assert checks["addin.exchange_signin"]["status"] == "pass"
    assert status == 0


def test_a_plain_http_public_url_elsewhere_fails_the_manifest(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """Plain http on another host (check-config refuses it; the doctor says it too): FAIL."""
    settings = admin_settings(exchange, tmp_path)
    settings = replace(
        settings, web=replace(settings.web, public_url="http://vmrsched.contoso.com")
    )
    status, checks = doctor(settings)
    check = checks["addin.manifest"]
    assert check["status"] == "fail", check
    assert "http://vmrsched.contoso.com" in check["summary"]
    assert "not https" in check["summary"]
    assert status == 1


def test_a_missing_tenant_fails_the_microsoft_365_sign_in(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """client_id without a tenant (check-config refuses it; the doctor says it too): FAIL with
    the setting to add; the Exchange sign-in is unaffected."""
    settings = admin_settings(exchange, tmp_path)
    settings = replace(settings, addin=replace(settings.addin, tenant_id=""))
    status, checks = doctor(settings)
    check = checks["addin.m365_signin"]
    assert check["status"] == "fail", check
    assert "no tenant" in check["summary"]
    assert "[addin] tenant_id" in check["fix"]
    assert checks["addin.exchange_signin"]["status"] == "pass"
    assert status == 1


def test_an_unknown_tenant_fails_the_microsoft_365_sign_in(
    exchange: RunningServer, tmp_path: Path
) -> None:
    """A tenant id the identity platform does not know: its metadata is refused (HTTP 400, as
    Entra answers AADSTS90002), named in the summary."""

    def change(raw: dict[str, Any]) -> None:
        raw["addin"]["tenant_id"] = UNKNOWN_TENANT

    status, checks = doctor(admin_settings(exchange, tmp_path, change))
    check = checks["addin.m365_signin"]
    assert check["status"] == "fail", check
    assert "metadata cannot be read" in check["summary"]
    assert UNKNOWN_TENANT in check["summary"]
    assert "tenant_id" in check["fix"]
    assert status == 1


def test_the_adapter_reads_a_json_document_over_tls_trusting_the_ca_bundle(
    exchange: RunningServer,
) -> None:
    """With exchangesim's CA the document is read; without it (the system's store) the TLS
    failure is UNREACHABLE, named as TLS, with the ca_bundle fix."""
    trusting = JsonDocuments(exchange.ca_file)
    try:
        document = trusting.json_document(exchange.auth_metadata_url)
    finally:
        trusting.close()
    assert document["keys"][0]["usage"] == "signing"
    default = JsonDocuments(None)
    try:
        with pytest.raises(ProbeError) as refused:
            default.json_document(exchange.auth_metadata_url)
    finally:
        default.close()
    assert refused.value.reason is Refusal.UNREACHABLE
    assert "TLS failed" in str(refused.value)
    assert "ca_bundle" in refused.value.fix


@pytest.mark.parametrize(
    ("answer", "reason", "phrase"),
    [
        (
            lambda: web.Response(status=302, headers={"Location": "/elsewhere"}),
            Refusal.OTHER,
            "answered HTTP 302 to /elsewhere",
        ),
        (lambda: web.Response(text="<html>sign in</html>"), Refusal.OTHER, "not answer a JSON"),
        (lambda: web.json_response(["a", "list"]), Refusal.OTHER, "not answer a JSON object"),
        (lambda: web.Response(status=404), Refusal.OTHER, "answered HTTP 404"),
        (lambda: web.Response(status=503), Refusal.UNREACHABLE, "answered HTTP 503"),
    ],
)
def test_the_adapter_refuses_what_is_not_a_json_document_in_plain_words(
    little_server: DocumentServer,
    answer: Callable[[], web.StreamResponse],
    reason: Refusal,
    phrase: str,
) -> None:
    """Redirects are not followed (as the web server's sign-in does not follow them); an HTML
    page, a JSON list or a 4xx is OTHER; a 5xx is UNREACHABLE; each message names the URL."""
    little_server.answers[METADATA_PATH] = answer
    documents = JsonDocuments(None)
    try:
        with pytest.raises(ProbeError) as refused:
            documents.json_document(little_server.url())
    finally:
        documents.close()
    assert refused.value.reason is reason
    assert phrase in str(refused.value)
    assert little_server.url() in str(refused.value)
