"""POST /api/v1/reservations: only a valid Entra user token of the tenant gets a reservation."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from addin_support import (
    ADDIN_APP,
    API_APP,
    TENANT_ID,
    AddinApp,
    Clock,
    EntraHost,
    make_settings,
    start_addin_app,
    user_token,
)

from exchangesim.identity import TokenIssuer, generate_signing_key
from exchangesim.tenant import parse_tenant
from vmrsched.config import ConfigError, settings_from_mapping

if TYPE_CHECKING:
    from pathlib import Path

    from vmrsched.adapters.db import SqlStore

PATH = "/api/v1/reservations"


async def post(app: AddinApp, token: str | None, body: Any = None) -> tuple[int, dict, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    response = await app.client.post(PATH, data=data, headers=headers)
    return response.status, await response.json(), response


def keys_fetches(host: EntraHost) -> int:
    return sum(1 for path in host.requests if path.endswith("/keys"))


async def test_a_good_token_gets_a_reservation_for_its_user(
    addin_app: AddinApp, entra: str
) -> None:
    """201 with alias, token, instructions; the stored reservation's organizer is the token's user."""
    status, body, response = await post(addin_app, await user_token(entra), {"subject": "Plan"})
    assert status == 201, body
    assert response.headers["Cache-Control"] == "no-store"
    assert body["resource_mailbox"] == "vmr@contoso.com"
    assert body["alias"].startswith("81")
    assert body["alias"].endswith("@vmr.contoso.com")
    assert body["token"].startswith("VMRS:-")
    assert body["token"] in body["instructions"]["html"]
    assert body["token"] in body["instructions"]["text"]
    assert body["join_url"] == f"https://meet.contoso.com/webapp/m/{body['alias']}"
    assert body["location"] == body["join_url"]
    stored = addin_app.store.get_reservation(body["alias_uuid"])
    assert stored is not None
    assert stored.organizer == "alice@contoso.com"
    assert stored.alias == body["alias"]
    assert body["expires_at"] == stored.expires.isoformat()


async def test_the_body_cannot_choose_the_organizer(addin_app: AddinApp, entra: str) -> None:
    """An organizer in the request body is ignored: the token's user is the organizer."""
    token = await user_token(entra, "dave@contoso.com")
    status, body, _ = await post(addin_app, token, {"organizer": "alice@contoso.com"})
    assert status == 201
    stored = addin_app.store.get_reservation(body["alias_uuid"])
    assert stored is not None
    assert stored.organizer == "dave@contoso.com"


async def test_no_token_is_401_with_a_bearer_challenge(addin_app: AddinApp) -> None:
    """An unauthenticated call gets 401 unauthorized and ``WWW-Authenticate: Bearer``."""
    status, body, response = await post(addin_app, None)
    assert status == 401
    assert body["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    status, body, _ = await post(addin_app, "")
    assert status == 401


def forged(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """An unsigned JWT (``alg: none``) as an attacker would send it."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


async def refused(app: AddinApp, token: str, reason: str) -> None:
    status, body, response = await post(app, token)
    assert status == 401, body
    assert body["error"] == "unauthorized"
    assert reason in body["message"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert app.store.get_reservation("00000000-0000-0000-0000-000000000000") is None


async def test_an_expired_token_is_refused(addin_app: AddinApp, entra: str, clock: Clock) -> None:
    """A token past ``exp`` (beyond five minutes of skew) is refused."""
    token = await user_token(entra)
    clock.advance(timedelta(minutes=60 + 6))
    await refused(addin_app, token, "expired")


async def test_a_token_for_another_audience_is_refused(
    addin_app: AddinApp, entra_host: EntraHost
) -> None:
    """A genuine token of the tenant but for Microsoft Graph is not for this API."""
    token = entra_host.issuer.mint_user_token(
        "alice@contoso.com", ADDIN_APP, "00000003-0000-0000-c000-000000000000", ["User.Read"]
    )
    await refused(addin_app, token, "another API")


async def test_a_token_of_another_tenant_is_refused(
    addin_app: AddinApp, entra_host: EntraHost, clock: Clock
) -> None:
    """Entra signs every tenant's tokens with the same keys: iss and tid must be ours."""
    other = parse_tenant(
        """
[tenant]
id = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
domain = "fabrikam.com"

[[users]]
email = "alice@fabrikam.com"
display_name = "Alice of Fabrikam"
"""
    )
    issuer = TokenIssuer(other, clock, key=entra_host.issuer.key)
    token = issuer.mint_user_token("alice@fabrikam.com", ADDIN_APP, API_APP, ["access_as_user"])
    await refused(addin_app, token, "another issuer")


async def test_an_unsigned_token_is_refused(addin_app: AddinApp, entra: str) -> None:
    """``alg: none`` with perfect claims is refused, also when it names a published key."""
    genuine = await user_token(entra)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    await refused(addin_app, forged(claims, {"alg": "none", "typ": "JWT", "kid": kid}), "'none'")
    hmac_token = jwt.encode(claims, "secret" * 6, algorithm="HS256", headers={"kid": kid})
    await refused(addin_app, hmac_token, "HS256")


async def test_a_token_signed_by_an_unknown_key_is_refused_after_one_refresh(
    addin_app: AddinApp, entra_host: EntraHost, clock: Clock
) -> None:
    """A key the tenant does not publish: the keys are fetched again once, then refusal."""
    good = entra_host.issuer.mint_user_token(
        "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
    )
    assert (await post(addin_app, good))[0] == 201
    assert keys_fetches(entra_host) == 1
    clock.advance(timedelta(minutes=2))
    stranger = TokenIssuer(entra_host.tenant, clock, key=generate_signing_key(clock()))
    token = stranger.mint_user_token("alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"])
    await refused(addin_app, token, "key the tenant does not publish")
    assert keys_fetches(entra_host) == 2
    await refused(addin_app, token, "key the tenant does not publish")
    assert keys_fetches(entra_host) == 2  # not again within a minute


async def test_a_token_with_a_published_kid_but_another_key_is_refused(
    addin_app: AddinApp, entra_host: EntraHost, clock: Clock
) -> None:
    """Claiming a published ``kid`` does not help a token signed by another key."""
    genuine = entra_host.issuer.mint_user_token(
        "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
    )
    claims = jwt.decode(genuine, options={"verify_signature": False})
    other = generate_signing_key(clock())
    token = jwt.encode(
        claims, other.private_key, algorithm="RS256", headers={"kid": entra_host.issuer.key.kid}
    )
    await refused(addin_app, token, "signature")


async def test_a_token_without_the_scope_is_refused(
    addin_app: AddinApp, entra_host: EntraHost
) -> None:
    """A user token for the API without ``access_as_user`` is refused."""
    token = entra_host.issuer.mint_user_token("alice@contoso.com", ADDIN_APP, API_APP, ["other"])
    await refused(addin_app, token, "scope")


async def test_a_token_issued_to_another_app_is_refused(
    addin_app: AddinApp, entra_host: EntraHost
) -> None:
    """The token must come from the add-in's app registration (``azp``)."""
    token = entra_host.issuer.mint_user_token(
        "alice@contoso.com",
        "522d29f1-c520-4cd7-bd5d-565f738f599b",
        API_APP,
        ["access_as_user"],
    )
    await refused(addin_app, token, "another app")


async def test_keys_are_not_fetched_before_the_first_token(
    tmp_path: Path, entra: str, entra_host: EntraHost, store: SqlStore, clock: Clock
) -> None:
    """Building and starting the app reads nothing from Entra; the first token does."""
    app = await start_addin_app(make_settings(tmp_path, entra), store, clock)
    try:
        assert entra_host.requests == []
        assert (await post(app, None))[0] == 401
        assert entra_host.requests == []
    finally:
        await app.client.close()


async def test_unreachable_keys_are_503_not_401(
    tmp_path: Path, store: SqlStore, clock: Clock, entra_host: EntraHost
) -> None:
    """When Entra cannot be reached the caller is told to retry, not that it is unauthorised."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    app = await start_addin_app(settings, store, clock)
    try:
        token = entra_host.issuer.mint_user_token(
            "alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"]
        )
        status, body, _ = await post(app, token)
        assert status == 503
        assert body["error"] == "unavailable"
    finally:
        await app.client.close()


async def test_calls_beyond_the_rate_limit_get_429_with_retry_after(
    tmp_path: Path, entra: str, store: SqlStore, clock: Clock
) -> None:
    """Per user: the burst passes, the next call is 429 with Retry-After, later it passes again."""
    settings = make_settings(tmp_path, entra, rate_limit_per_minute=2)
    app = await start_addin_app(settings, store, clock)
    try:
        alice = await user_token(entra)
        assert (await post(app, alice))[0] == 201
        assert (await post(app, alice))[0] == 201
        status, body, response = await post(app, alice)
        assert status == 429
        assert body["error"] == "rate_limited"
        assert response.headers["Retry-After"] == "30"
        assert (await post(app, await user_token(entra, "dave@contoso.com")))[0] == 201
        clock.advance(timedelta(seconds=30))
        assert (await post(app, alice))[0] == 201
    finally:
        await app.client.close()


async def test_an_organizer_outside_the_allowed_domains_gets_403(
    tmp_path: Path, entra: str, store: SqlStore, clock: Clock
) -> None:
    """``[meetings] allowed_organizer_domains`` applies to the signed-in user."""
    settings = make_settings(
        tmp_path, entra, meetings={"allowed_organizer_domains": ["fabrikam.com"]}
    )
    app = await start_addin_app(settings, store, clock)
    try:
        status, body, _ = await post(app, await user_token(entra))
        assert status == 403
        assert body["error"] == "organizer_not_allowed"
    finally:
        await app.client.close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ({"subject": 5}, "subject"),
        ({"start": "tomorrow"}, "start"),
        ({"end": "2026-11-23T10:00:00"}, "offset"),
    ],
)
async def test_a_bad_body_is_400(addin_app: AddinApp, entra: str, body: Any, words: str) -> None:
    """The optional body must be a JSON object with text subject and offset-aware times."""
    status, answer, _ = await post(addin_app, await user_token(entra), body)
    assert status == 400
    assert answer["error"] == "bad_request"
    assert words in answer["message"]


async def test_without_addin_sign_in_settings_the_api_is_503(
    tmp_path: Path, store: SqlStore, clock: Clock
) -> None:
    """No ``[addin] client_id``: the API says it is not configured instead of accepting anyone."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9", client_id="", api_client_id="")
    app = await start_addin_app(settings, store, clock)
    try:
        status, body, _ = await post(app, "anything")
        assert status == 503
        assert "[addin] client_id" in body["message"]
    finally:
        await app.client.close()


def test_the_tenant_comes_from_the_token_endpoint(tmp_path: Path) -> None:
    """``[addin] tenant_id`` defaults to the tenant of ``[exchange] token_endpoint``."""
    settings = make_settings(tmp_path, "https://login.microsoftonline.com")
    assert settings.addin.tenant_id == TENANT_ID


async def test_a_hostile_header_cannot_break_the_challenge(addin_app: AddinApp) -> None:
    """An ``alg`` with quotes and line breaks is refused with a clean, quoted challenge."""
    token = forged({"tid": TENANT_ID}, {"alg": 'x"\r\nSet-Cookie: a=b', "kid": "k"})
    status, body, response = await post(addin_app, token)
    assert status == 401
    assert "Set-Cookie" not in response.headers
    challenge = response.headers["WWW-Authenticate"]
    assert re.fullmatch(
        r'Bearer realm="vmrsched", error="invalid_token", error_description="[^"]*"', challenge
    )
    assert "that alg" in body["message"]


def test_addin_settings_are_checked_all_at_once(tmp_path: Path) -> None:
    """Bad ids, labels, origins and limits are each reported with their key; nothing is guessed."""
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(
            {
                "exchange": {
                    "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                    "client_id": "x",
                    "client_secret": "y",
                    "resource_mailbox": "vmr@contoso.com",
                },
                "addin": {
                    "client_id": "not-a-guid",
                    "version": "1.0.0.0.0",
                    "button_label": "x" * 126,
                    "description": "",
                    "frame_ancestors": ["http://outlook.office.com"],
                    "rate_limit_per_minute": 0,
                    "api_id_uri": "api://x/",
                },
            },
            base=tmp_path,
        )
    paths = {problem.path for problem in caught.value.problems}
    assert {
        "addin.client_id",
        "addin.tenant_id",
        "addin.version",
        "addin.button_label",
        "addin.description",
        "addin.frame_ancestors",
        "addin.rate_limit_per_minute",
        "addin.api_id_uri",
    } <= paths


async def test_a_token_not_valid_yet_is_refused(
    addin_app: AddinApp, entra_host: EntraHost, clock: Clock
) -> None:
    """``nbf`` more than five minutes ahead of our clock: refused (tokens are back-dated 5 min)."""
    later = Clock()
    later.advance(timedelta(minutes=20))
    issuer = TokenIssuer(entra_host.tenant, later, key=entra_host.issuer.key)
    token = issuer.mint_user_token("alice@contoso.com", ADDIN_APP, API_APP, ["access_as_user"])
    await refused(addin_app, token, "not valid yet")
    clock.advance(timedelta(minutes=11))
    assert (await post(addin_app, token))[0] == 201
