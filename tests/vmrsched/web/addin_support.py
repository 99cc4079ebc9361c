"""Helpers for the add-in route tests: exchangesim's Entra ID for the demo tenant, and vmrsched's app.

The simulated Entra ID serves OpenID metadata, keys and the password grant on a loopback port;
vmrsched's ``[addin] authority_url`` points there. Both read one hand-moved clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from vmrsched import bootstrap
from vmrsched.config import Settings, settings_from_mapping
from vmrsched.service.health import Health
from vmrsched.web.addin import AddinService, addin_service
from vmrsched.web.app import WebOptions, build_app

if TYPE_CHECKING:
    from pathlib import Path

    from exchangesim.identity import TokenIssuer
    from exchangesim.tenant import Tenant
    from vmrsched.adapters.db import SqlStore

TENANT_ID = "d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5"
API_APP = "419b3972-c210-4c86-8bea-05f535b94611"
ADDIN_APP = "de7b0c42-b3d8-4e98-8521-6498b2ab8387"
API_ID_URI = f"api://vmrsched.contoso.com/{API_APP}"
API_SCOPE = f"{API_ID_URI}/access_as_user"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PASSWORDS = {
    "alice@contoso.com": "demo-alice-password-not-real",
    "dave@contoso.com": "demo-dave-password-not-real",
}


class Clock:
    """A wall clock and a monotonic clock that move only when told to."""

    def __init__(self) -> None:
        self.now = NOW
        self.seconds = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, delta: timedelta) -> None:
        self.now += delta
        self.seconds += delta.total_seconds()


@dataclass
class EntraHost:
    """The slice of exchangesim the identity routes read, plus a log of the paths asked for."""

    tenant: Tenant
    issuer: TokenIssuer
    clock: Clock
    knobs: Any = None
    requests: list[str] = field(default_factory=list)


def make_settings(tmp_path: Path, entra: str, **addin: Any) -> Settings:
    """Settings for the demo tenant; ``addin`` overrides ``[addin]`` keys."""
    meetings = addin.pop("meetings", {})
    return settings_from_mapping(
        {
            "exchange": {
                "token_endpoint": f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
                "client_id": "522d29f1-c520-4cd7-bd5d-565f738f599b",
                "client_secret": "demo-vmrsched-secret-2026-not-real",
                "resource_mailbox": "vmr@contoso.com",
            },
            "aliases": {"prefix": "81", "domain": "vmr.contoso.com"},
            "video": {"join_url": "https://meet.contoso.com/webapp/m/{alias}"},
            "web": {"public_url": "https://vmrsched.contoso.com"},
            "meetings": meetings,
            "service": {"installation_key_file": str(tmp_path / "vmrsched.key")},
            "addin": {
                "client_id": ADDIN_APP,
                "api_client_id": API_APP,
                "api_id_uri": API_ID_URI,
                "authority_url": entra,
                **addin,
            },
        },
        base=tmp_path,
    )


@dataclass
class AddinApp:
    """vmrsched's web app serving the add-in, with what built it."""

    client: TestClient
    settings: Settings
    service: AddinService
    store: SqlStore
    clock: Clock


async def start_addin_app(
    settings: Settings, store: SqlStore, clock: Clock, files_root: Path | None = None
) -> AddinApp:
    key = bootstrap.installation_key(settings)
    rules = bootstrap.make_rules(settings, key)
    service = addin_service(
        settings, store, rules, clock, files_root=files_root, monotonic=clock.monotonic
    )
    options = WebOptions(
        store=store,
        clock=clock,
        health=Health(NOW),
        alias_format=settings.alias_format(),
        video=settings.video,
        addin=service,
    )
    client = TestClient(TestServer(build_app(options)))
    await client.start_server()
    return AddinApp(client=client, settings=settings, service=service, store=store, clock=clock)


async def user_token(entra: str, user: str = "alice@contoso.com") -> str:
    """A delegated token for the add-in API, from exchangesim's password grant over HTTP."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{entra}/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": ADDIN_APP,
                "username": user,
                "password": PASSWORDS[user],
                "scope": f"{API_SCOPE} openid profile offline_access",
            },
        ) as response,
    ):
        body = await response.json()
    assert response.status == 200, body
    return str(body["access_token"])
