"""Fixtures for the simulated Entra ID: a small tenant, a clock we move by hand, live servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from entra_support import START, TENANT_TOML, FakeClock, Host, Knobs, TlsFiles

from exchangesim.identity import TokenIssuer, add_routes, generate_signing_key
from exchangesim.tenant import Tenant, parse_tenant
from exchangesim.tls import ensure_tls_files, server_context

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture(scope="session")
def signing_key() -> Any:
    """One RSA key for the whole run: generating one costs tens of milliseconds."""
    return generate_signing_key(START)


@pytest.fixture
def tenant() -> Tenant:
    return parse_tenant(TENANT_TOML, source="test-tenant.toml")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(tenant: Tenant, clock: FakeClock, signing_key: Any) -> TokenIssuer:
    return TokenIssuer(tenant, clock, key=signing_key)


@pytest.fixture
def host(tenant: Tenant, issuer: TokenIssuer, clock: FakeClock) -> Host:
    return Host(tenant=tenant, issuer=issuer, clock=clock, knobs=Knobs())


@pytest.fixture
async def server(host: Host) -> AsyncIterator[TestServer]:
    """The identity routes on a loopback port over plain HTTP."""
    app = web.Application()
    add_routes(app, host)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA-signed certificate for the loopback server (made by exchangesim's own TLS code), and
    the CA file clients trust."""
    files = ensure_tls_files(tmp_path_factory.mktemp("tls"), ("localhost", "127.0.0.1"))
    return TlsFiles(ca_file=files.ca_file, server_context=server_context(files))


@pytest.fixture
async def https_server(host: Host, tls: TlsFiles) -> AsyncIterator[TestServer]:
    """The identity routes on a loopback port over HTTPS (msal insists on https)."""
    app = web.Application()
    add_routes(app, host)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server(ssl=tls.server_context)
    yield test_server
    await test_server.close()
