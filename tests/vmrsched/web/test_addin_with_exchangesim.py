"""The demo's add-in settings against a running exchangesim over HTTPS: keys fetched with the CA of
``[exchange] ca_bundle``, a user token from the password grant, a reservation for that user."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from exchangesim.server import start_in_thread
from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant
from vmrsched import bootstrap
from vmrsched.cli.commands import web_options
from vmrsched.cli.demo_tenant import DEMO_ADDIN_API, DEMO_ADDIN_APP, demo_settings
from vmrsched.config import settings_from_mapping
from vmrsched.web.app import build_app

if TYPE_CHECKING:
    from pathlib import Path


async def test_the_demo_add_in_api_accepts_a_token_from_exchangesim(tmp_path: Path) -> None:
    """Alice signs in at the simulator (password grant over TLS) and reserves a VMR."""
    server = start_in_thread(Simulator.from_tenant(demo_tenant()), "127.0.0.1", 0, tls=True)
    try:
        settings = settings_from_mapping(
            demo_settings(server, tmp_path, "127.0.0.1:8080"), base=tmp_path
        )
        assert settings.web.public_url == "http://127.0.0.1:8080"
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=str(server.ca_file))
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http,
            http.post(
                server.token_endpoint,
                data={
                    "grant_type": "password",
                    "client_id": DEMO_ADDIN_APP,
                    "username": "alice@contoso.com",
                    "password": "demo-alice-password-not-real",
                    "scope": f"api://vmrsched.contoso.com/{DEMO_ADDIN_API}/access_as_user",
                },
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
            token = (await answer.json())["access_token"]
        components = bootstrap.build(settings)
        try:
            async with TestClient(TestServer(build_app(web_options(components)))) as client:
                response = await client.post(
                    "/api/v1/reservations", headers={"Authorization": f"Bearer {token}"}
                )
                body = await response.json()
                assert response.status == 201, body
                stored = components.store.get_reservation(body["alias_uuid"])
                assert stored is not None
                assert stored.organizer == "alice@contoso.com"
                config = await (await client.get("/addin/config.json")).json()
                assert config["auth"]["authority"] == server.authority
        finally:
            components.close()
    finally:
        server.stop()
