"""The add-in API under hostile or unlucky input: bodies in pieces, Entra outages."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from addin_support import ADDIN_APP, API_APP, NOW, TENANT_ID, make_settings, start_addin_app
from aiohttp import StreamReader, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from vmrsched.cli.addin import addin_manifest
from vmrsched.cli.edge import UsageError
from vmrsched.config import ConfigError, VideoSettings
from vmrsched.domain.aliases import AliasFormat
from vmrsched.service.health import Health
from vmrsched.web import keycache
from vmrsched.web.addin import API_PATH
from vmrsched.web.app import WebOptions, build_app
from vmrsched.web.files import MAX_CACHED, StaticFiles
from vmrsched.web.reservations_api import _read_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from addin_support import Clock, EntraHost

    from vmrsched.adapters.db import SqlStore


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([b'{"subject": "Weekly', b' sync"}'], ""),
        ([b"{" + b" " * 10_000, b" " * 10_000 + b"}"], "the request body is too large"),
    ],
)
async def test_a_body_arriving_in_pieces_is_judged_whole(
    pieces: list[bytes], expected: str
) -> None:
    """The body is judged on all of it, not on the first piece the network delivered."""
    loop = asyncio.get_running_loop()
    content = StreamReader(mock.Mock(), 2**16, loop=loop)
    content.feed_data(pieces[0])

    def rest() -> None:
        for piece in pieces[1:]:
            content.feed_data(piece)
        content.feed_eof()

    loop.call_soon(rest)
    request = make_mocked_request("POST", API_PATH, payload=content)
    _, problem = await _read_body(request)
    assert problem == expected


@pytest.fixture
async def entra_down() -> AsyncIterator[tuple[str, list[str]]]:
    """An Entra ID that answers every request 503 (an outage); its URL and the paths asked."""
    asked: list[str] = []

    async def outage(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(status=503, text="temporarily unavailable")

    app = web.Application()
    app.router.add_get("/{tail:.*}", outage)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), asked
    await server.close()


async def test_an_entra_outage_is_not_asked_again_for_every_call(
    tmp_path: Path,
    store: SqlStore,
    clock: Clock,
    entra_host: EntraHost,
    entra_down: tuple[str, list[str]],
) -> None:
    """While Entra is down, calls get 503 at once; its keys are asked for again only later."""
    url, asked = entra_down
    app = await start_addin_app(make_settings(tmp_path, url), store, clock)
    token = entra_host.issuer.mint_user_token(
        "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        answers = await asyncio.gather(
            *(app.client.post(API_PATH, headers=headers) for _ in range(5))
        )
        assert [answer.status for answer in answers] == [503] * 5
        assert len(asked) == 1
        clock.advance(keycache.RETRY_GAP)
        assert (await app.client.post(API_PATH, headers=headers)).status == 503
        assert len(asked) == 2
    finally:
        await app.client.close()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("display_name", "Video\x01rooms"),
        ("description", "Adds a room\ufffe"),
        ("button_label", "Add\x00VMR"),
        ("support_url", "https://help.contoso.com/\x01vmr"),
        ("icon_url", "https://cdn.contoso.com/vmr icons"),
    ],
)
def test_a_control_character_in_a_label_or_url_is_a_config_problem(
    tmp_path: Path, key: str, value: str
) -> None:
    """The manifest (XML) cannot hold it: the setting is refused at load, the service never
    starts to crash on it when building the manifest."""
    with pytest.raises(ConfigError) as raised:
        make_settings(tmp_path, "http://127.0.0.1:9", **{key: value})
    assert [problem.path for problem in raised.value.problems] == [f"addin.{key}"]


@pytest.mark.parametrize("group", ["vmr\u202e@contoso.com", "vmr@contoso.com\nRemove-App x"])
def test_deploy_commands_refuse_a_group_with_a_hidden_character(tmp_path: Path, group: str) -> None:
    """A bidi override or line break in ``--group`` is refused, as ``setup-script`` refuses it,
    instead of printing PowerShell that reads differently from how it runs."""
    settings = make_settings(tmp_path, "https://login.microsoftonline.com")
    out = io.StringIO()
    with pytest.raises(UsageError, match="--group"):
        addin_manifest(settings, out, deploy_commands=True, group=group)
    assert out.getvalue() == ""


async def test_ready_names_the_kind_of_failure_but_not_its_details(
    store: SqlStore, clock: Clock
) -> None:
    """``/ready`` is public once the add-in is served: it says a pass failed and of what kind,
    not the failure's text (hosts, mailbox addresses, Entra's answer), which the log keeps."""
    health = Health(NOW)
    options = WebOptions(
        store=store,
        clock=clock,
        health=health,
        alias_format=AliasFormat("81", 6, "vmr.contoso.com", "81"),
        video=VideoSettings(),
    )
    detail = "https://exchange.corp.internal/EWS/Exchange.asmx refused vmr@contoso.com"
    health.pass_failed(NOW, f"MailboxError: {detail}", kind="MailboxError")
    async with TestClient(TestServer(build_app(options))) as client:
        first = await client.get("/ready")
        first_body = await first.json()
        health.pass_succeeded(NOW)
        clock.advance(timedelta(hours=1))
        health.pass_failed(
            clock(), "StoreError: database error: host db.corp.internal", kind="StoreError"
        )
        later = await (await client.get("/ready")).json()
    assert first.status == 503
    assert "MailboxError" in first_body["reason"]
    assert "corp.internal" not in first_body["reason"]
    assert "contoso.com" not in first_body["reason"]
    assert "StoreError" in later["reason"]
    assert "corp.internal" not in later["reason"]
    assert health.snapshot().last_error.endswith("db.corp.internal")


@pytest.mark.parametrize("origin", ["https://*.contoso.com", "'self'"])
def test_a_cors_origin_that_could_never_match_is_a_config_problem(
    tmp_path: Path, origin: str
) -> None:
    """The API matches ``Origin`` exactly, so a wildcard (fine in ``frame_ancestors``) or
    ``'self'`` in ``cors_origins`` is refused at load instead of silently allowing nobody."""
    with pytest.raises(ConfigError) as raised:
        make_settings(tmp_path, "http://127.0.0.1:9", cors_origins=[origin])
    assert [problem.path for problem in raised.value.problems] == ["addin.cors_origins"]
    make_settings(tmp_path, "http://127.0.0.1:9", frame_ancestors=["https://*.contoso.com"])


@dataclass
class FakeEntra:
    """Entra's OpenID metadata and keys for the demo tenant, with a switch for an outage."""

    url: str
    keys: list[dict[str, Any]]
    down: bool = False
    asked: int = 0


@pytest.fixture
async def fake_entra(entra_host: EntraHost) -> AsyncIterator[FakeEntra]:
    """The tenant's real signing key (exchangesim's) behind metadata we control."""
    issuer = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    fake = FakeEntra(url="", keys=entra_host.issuer.jwks(issuer=issuer)["keys"])

    async def metadata(request: web.Request) -> web.Response:
        fake.asked += 1
        if fake.down:
            return web.Response(status=503)
        return web.json_response({"issuer": issuer, "jwks_uri": f"{fake.url}/keys"})

    async def keys(_: web.Request) -> web.Response:
        return web.json_response({"keys": fake.keys})

    app = web.Application()
    app.router.add_get(f"/{TENANT_ID}/v2.0/.well-known/openid-configuration", metadata)
    app.router.add_get("/keys", keys)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


async def test_a_malformed_key_in_the_set_does_not_lock_everyone_out(
    tmp_path: Path, store: SqlStore, clock: Clock, entra_host: EntraHost, fake_entra: FakeEntra
) -> None:
    """An entry of the key set that does not parse is skipped; the good keys still work."""
    fake_entra.keys = [{"kty": "RSA", "kid": "odd", "n": "%%%", "e": "AQAB"}, *fake_entra.keys]
    app = await start_addin_app(make_settings(tmp_path, fake_entra.url), store, clock)
    token = entra_host.issuer.mint_user_token(
        "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
    )
    try:
        answer = await app.client.post(API_PATH, headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 201, await answer.text()
    finally:
        await app.client.close()


async def test_known_keys_still_work_when_the_daily_refresh_fails(
    tmp_path: Path, store: SqlStore, clock: Clock, entra_host: EntraHost, fake_entra: FakeEntra
) -> None:
    """A day later Entra is down: a token signed by a key we have is accepted (keys roll over
    slowly); a token naming a key we never saw gets 503, not a guess."""
    app = await start_addin_app(make_settings(tmp_path, fake_entra.url), store, clock)

    def bearer() -> dict[str, str]:
        token = entra_host.issuer.mint_user_token(
            "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
        )
        return {"Authorization": f"Bearer {token}"}

    try:
        assert (await app.client.post(API_PATH, headers=bearer())).status == 201
        fake_entra.down = True
        clock.advance(keycache.KEYS_TTL)
        answer = await app.client.post(API_PATH, headers=bearer())
        assert answer.status == 201, await answer.text()
        assert fake_entra.asked == 2
        header, payload, signature = bearer()["Authorization"].removeprefix("Bearer ").split(".")
        claims = json.loads(base64.urlsafe_b64decode(header + "=="))
        other = base64.urlsafe_b64encode(json.dumps({**claims, "kid": "new"}).encode())
        forged = f"{other.decode().rstrip('=')}.{payload}.{signature}"
        clock.advance(keycache.RETRY_GAP)
        unknown = await app.client.post(API_PATH, headers={"Authorization": f"Bearer {forged}"})
        assert unknown.status == 503
    finally:
        await app.client.close()


def test_asking_for_missing_files_does_not_push_real_files_out_of_the_cache(
    tmp_path: Path,
) -> None:
    """Anyone may ask for any name: misses are not cached, so after many of them a real file
    is still read once and kept (as the module promises), not read from disk on each request."""
    (tmp_path / "taskpane.html").write_text("<!doctype html><title>v1</title>")
    files = StaticFiles(tmp_path)
    for number in range(MAX_CACHED + 10):
        assert files.get(f"missing-{number}.js") is None
    first = files.get("taskpane.html")
    (tmp_path / "taskpane.html").write_text("<!doctype html><title>v2</title>")
    again = files.get("taskpane.html")
    assert first is not None
    assert again is first
