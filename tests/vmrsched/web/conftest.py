"""Fixtures for the add-in routes: exchangesim's Entra ID for the demo tenant, and vmrsched's app.

The simulated Entra ID serves OpenID metadata, keys and the password grant on a loopback port;
vmrsched's ``[addin] authority_url`` points there. Both read one hand-moved clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from addin_support import NOW, AddinApp, Clock, EntraHost, make_settings, start_addin_app
from aiohttp import web
from aiohttp.test_utils import TestServer

from exchangesim.identity import TokenIssuer, add_routes, generate_signing_key
from exchangesim.tenant import demo_tenant
from vmrsched.adapters.db import SqlStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def signing_key() -> Any:
    return generate_signing_key(NOW)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def entra_host(clock: Clock, signing_key: Any) -> EntraHost:
    tenant = demo_tenant()
    return EntraHost(tenant=tenant, issuer=TokenIssuer(tenant, clock, key=signing_key), clock=clock)


@pytest.fixture
async def entra(entra_host: EntraHost) -> AsyncIterator[str]:
    """exchangesim's identity routes on loopback; the base URL."""

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        entra_host.requests.append(request.path)
        return await handler(request)

    app = web.Application(middlewares=[record])
    add_routes(app, entra_host)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def store() -> Iterator[SqlStore]:
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


@pytest.fixture
async def addin_app(
    tmp_path: Path, entra: str, store: SqlStore, clock: Clock
) -> AsyncIterator[AddinApp]:
    app = await start_addin_app(make_settings(tmp_path, entra), store, clock)
    yield app
    await app.client.close()
