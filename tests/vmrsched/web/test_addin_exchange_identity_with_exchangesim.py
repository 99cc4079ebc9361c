"""Exchange identity tokens that exchangesim issues, as Exchange Server would, reserve a VMR.

exchangesim runs over HTTPS with vmrsched's manifest installed as an organization add-in; the
token comes from EWS ``GetClientAccessToken`` (what Outlook does for
``getUserIdentityTokenAsync``) and vmrsched checks it against the certificate in exchangesim's
authentication metadata document, trusting exchangesim's CA through ``[exchange] ca_bundle``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from addin_support import Clock, make_settings, start_addin_app

from exchangesim.server import start_in_thread
from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant
from outlook_tokens import identity_token
from vmrsched.web.manifest import build_manifest, manifest_id

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from exchangesim.server import RunningServer
    from vmrsched.adapters.db import SqlStore
    from vmrsched.config import Settings


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[RunningServer]:
    with start_in_thread(Simulator.from_tenant(demo_tenant()), cert_dir=tmp_path / "tls") as server:
        yield server


def on_premises_settings(tmp_path: Path, server: RunningServer) -> Settings:
    """vmrsched for Exchange Server: identity tokens only, trusting exchangesim's CA."""
    settings = make_settings(
        tmp_path,
        "http://127.0.0.1:9",
        client_id="",
        api_client_id="",
        api_id_uri="",
        exchange_metadata_urls=[server.auth_metadata_url],
    )
    exchange = replace(settings.exchange, ca_bundle=server.ca_file)
    return replace(settings, exchange=exchange)


async def test_a_token_from_getclientaccesstoken_reserves_for_the_named_organizer(
    tmp_path: Path, exchange: RunningServer, store: SqlStore, clock: Clock
) -> None:
    """The whole on-premises sign-in: install, get the token over EWS, reserve, claim recorded."""
    settings = on_premises_settings(tmp_path, exchange)
    exchange.admin().install_addin(build_manifest(settings))
    clock.now = exchange.sim.clock()  # one time for both, as on a real network
    token = identity_token(exchange, "alice@contoso.com", manifest_id(settings))
    app = await start_addin_app(settings, store, clock)
    try:
        response = await app.client.post(
            "/api/v1/reservations",
            json={"organizer": "alice@contoso.com", "subject": "Planning"},
            headers={"Authorization": f"Bearer {token}"},
        )
        answer = await response.json()
        assert response.status == 201, answer
        reservation = store.get_reservation(answer["alias_uuid"])
        assert reservation is not None
        assert (reservation.organizer, reservation.organizer_claimed) == ("alice@contoso.com", True)

        head, _, signature = token.rpartition(".")
        forged = f"{head}.{signature[::-1]}"
        response = await app.client.post(
            "/api/v1/reservations",
            json={"organizer": "alice@contoso.com"},
            headers={"Authorization": f"Bearer {forged}"},
        )
        assert response.status == 401
    finally:
        await app.client.close()


async def test_a_token_of_another_add_in_is_refused(
    tmp_path: Path, exchange: RunningServer, store: SqlStore, clock: Clock
) -> None:
    """A genuine token of the same Exchange, made for another add-in, has another ``aud``."""
    settings = on_premises_settings(tmp_path, exchange)
    other = replace(settings, web=replace(settings.web, public_url="https://elsewhere.contoso.com"))
    exchange.admin().install_addin(build_manifest(other))
    clock.now = exchange.sim.clock()
    token = identity_token(exchange, "alice@contoso.com", manifest_id(other))
    app = await start_addin_app(settings, store, clock)
    try:
        response = await app.client.post(
            "/api/v1/reservations",
            json={"organizer": "alice@contoso.com"},
            headers={"Authorization": f"Bearer {token}"},
        )
        answer = await response.json()
        assert (response.status, answer["error"]) == (401, "unauthorized")
        assert "another add-in" in answer["message"]
    finally:
        await app.client.close()
