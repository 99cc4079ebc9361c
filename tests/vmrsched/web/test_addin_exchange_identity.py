"""POST /api/v1/reservations with Exchange identity tokens (Exchange Server on-premises).

A fake Exchange on loopback publishes its authentication metadata document; the tokens are made
as Microsoft documents them (string ``nbf``/``exp``, ``appctx`` as JSON text).
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from addin_support import NOW, AddinApp, Clock, make_settings, start_addin_app, user_token
from aiohttp import web
from aiohttp.test_utils import TestServer
from exchange_support import (
    AUDIENCE,
    METADATA_PATH,
    ExchangeHost,
    identity_token,
    make_certificate,
)

from vmrsched.config import ConfigError, settings_from_mapping
from vmrsched.web.exchange_identity import certificate_keys, normal_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from exchange_support import Certificate

    from vmrsched.adapters.db import SqlStore

PATH = "/api/v1/reservations"
ORGANIZER = {"organizer": "alice@contoso.com"}


@pytest.fixture(scope="module")
def certificate() -> Certificate:
    return make_certificate(NOW)


@pytest.fixture
def exchange_host(certificate: Certificate) -> ExchangeHost:
    return ExchangeHost(certificates=[certificate])


@pytest.fixture
async def amurl(exchange_host: ExchangeHost) -> AsyncIterator[str]:
    """The fake Exchange's metadata document URL (on loopback, over HTTP)."""

    async def metadata(request: web.Request) -> web.Response:
        exchange_host.requests.append(request.path)
        if exchange_host.status != 200:
            return web.Response(status=exchange_host.status, text="unavailable")
        return web.json_response(exchange_host.document(str(request.url)))

    async def elsewhere(request: web.Request) -> web.Response:
        exchange_host.requests.append(request.path)
        return web.json_response({"keys": []})

    app = web.Application()
    app.router.add_get(METADATA_PATH, metadata)
    app.router.add_get("/{tail:.*}", elsewhere)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"{str(server.make_url('')).rstrip('/')}{METADATA_PATH}"
    await server.close()


async def app_for(
    tmp_path: Path, store: SqlStore, clock: Clock, entra: str, amurl: str, *, naa: bool
) -> AddinApp:
    addin: dict[str, Any] = {"exchange_metadata_urls": [amurl]}
    if not naa:
        addin |= {"client_id": "", "api_client_id": "", "api_id_uri": ""}
    return await start_addin_app(make_settings(tmp_path, entra, **addin), store, clock)


@pytest.fixture
async def on_premises(
    tmp_path: Path, store: SqlStore, clock: Clock, entra: str, amurl: str
) -> AsyncIterator[AddinApp]:
    """vmrsched set up for Exchange Server only: Exchange identity tokens, no Entra ID."""
    app = await app_for(tmp_path, store, clock, entra, amurl, naa=False)
    yield app
    await app.client.close()


@pytest.fixture
async def hybrid(
    tmp_path: Path, store: SqlStore, clock: Clock, entra: str, amurl: str
) -> AsyncIterator[AddinApp]:
    """vmrsched set up for both sign-ins (a hybrid organization)."""
    app = await app_for(tmp_path, store, clock, entra, amurl, naa=True)
    yield app
    await app.client.close()


async def post(app: AddinApp, token: str | None, body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = None if body is None else json.dumps(body)
    response = await app.client.post(PATH, data=data, headers=headers)
    return response.status, await response.json()


async def refused(app: AddinApp, token: str, reason: str, body: Any = ORGANIZER) -> None:
    status, answer = await post(app, token, body)
    assert (status, answer["error"]) == (401, "unauthorized"), answer
    assert reason in answer["message"]


def metadata_fetches(host: ExchangeHost) -> int:
    return host.requests.count(METADATA_PATH)


async def test_a_good_token_reserves_for_the_organizer_it_names_as_a_claim(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """Exchange proves a user; the organizer comes from the body and is stored as a claim."""
    status, answer = await post(on_premises, identity_token(certificate, amurl, NOW), ORGANIZER)
    assert status == 201, answer
    reservation = on_premises.store.get_reservation(answer["alias_uuid"])
    assert reservation is not None
    assert (reservation.organizer, reservation.organizer_claimed) == ("alice@contoso.com", True)


async def test_an_entra_token_still_names_a_proven_organizer_in_a_hybrid_setup(
    hybrid: AddinApp, entra: str, certificate: Certificate, amurl: str
) -> None:
    """With both sign-ins on, each token kind goes to its own checks."""
    status, answer = await post(hybrid, await user_token(entra), {"organizer": "eve@contoso.com"})
    assert status == 201, answer
    entra_made = hybrid.store.get_reservation(answer["alias_uuid"])
    assert entra_made is not None
    assert (entra_made.organizer, entra_made.organizer_claimed) == ("alice@contoso.com", False)
    status, answer = await post(hybrid, identity_token(certificate, amurl, NOW), ORGANIZER)
    assert status == 201, answer


async def test_without_an_organizer_an_exchange_token_gets_400(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """The token names nobody's address, so the body must."""
    for body in (None, {}, {"organizer": "  "}):
        status, answer = await post(on_premises, identity_token(certificate, amurl, NOW), body)
        assert (status, answer["error"]) == (400, "bad_request"), body
        assert "organizer is required" in answer["message"]
    status, answer = await post(
        on_premises, identity_token(certificate, amurl, NOW), {"organizer": "not an address"}
    )
    assert status == 403, answer


@pytest.mark.parametrize(
    "organizer",
    [
        "alice@contoso.com\u001b[2J",  # a terminal escape, for whoever reads the log
        "al\u0000ice@contoso.com",  # NUL: no database text column takes it
        "alice\u202e@contoso.com",  # a right-to-left override
        "alice@contoso.com\u200b",  # a zero-width space: looks like alice, never matches her
        "<alice@contoso.com>",  # an address with its brackets
        "mailto:alice@contoso.com",
        "Alice<alice@contoso.com>",  # a display-name form without a space
        "a" * 250 + "@contoso.com",  # longer than any address may be (RFC 5321: 254)
        "a@" + "." * 12000 + "@",  # long, and slow to match for an unbounded pattern
    ],
)
async def test_a_claimed_organizer_must_be_a_plain_printable_address(
    on_premises: AddinApp, certificate: Certificate, amurl: str, organizer: str
) -> None:
    """The body's organizer is the caller's text: anything but ``name@domain`` in printable
    characters is refused (403), not stored, logged or written into the audit log."""
    token = identity_token(certificate, amurl, NOW)
    status, answer = await post(on_premises, token, {"organizer": organizer})
    assert (status, answer["error"]) == (403, "organizer_not_allowed"), answer
    assert "not an e-mail address" in answer["message"]


def _segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


DEEP = "[" * 1500 + "]" * 1500  # deeper than Python's JSON decoder recurses


async def test_deeply_nested_json_in_a_token_or_body_is_refused_not_a_server_error(
    hybrid: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """JSON nested past the decoder's recursion limit (a few kB, before any signature check) is
    bad input: a 401 for a token, a 400 for a body, never a 500."""
    good_header = _segment(json.dumps({"typ": "JWT", "alg": "RS256", "x5t": certificate.x5t}))
    good_payload = _segment(json.dumps({"appctx": "{}"}))
    nested_header = _segment('{"alg": "RS256", "x": ' + DEEP + "}")
    nested_payload = _segment('{"appctx": "{}", "x": ' + DEEP + "}")
    for token in (
        f"{nested_header}.{good_payload}.c2ln",
        f"{good_header}.{nested_payload}.c2ln",
        identity_token(certificate, amurl, NOW, appctx=DEEP),
    ):
        status, answer = await post(hybrid, token, ORGANIZER)
        assert (status, answer["error"]) == (401, "unauthorized"), answer
    response = await hybrid.client.post(
        PATH,
        data=DEEP,
        headers={"Authorization": f"Bearer {identity_token(certificate, amurl, NOW)}"},
    )
    assert response.status == 400, await response.text()


async def test_an_organizer_outside_the_allowed_domains_is_refused(
    tmp_path: Path, store: SqlStore, clock: Clock, entra: str, amurl: str, certificate: Certificate
) -> None:
    """The claimed organizer must pass ``allowed_organizer_domains`` like a proven one."""
    settings = make_settings(
        tmp_path,
        entra,
        exchange_metadata_urls=[amurl],
        meetings={"allowed_organizer_domains": ["contoso.com"]},
    )
    app = await start_addin_app(settings, store, clock)
    try:
        token = identity_token(certificate, amurl, NOW)
        status, answer = await post(app, token, {"organizer": "mallory@fabrikam.com"})
        assert (status, answer["error"]) == (403, "organizer_not_allowed")
    finally:
        await app.client.close()


async def test_a_token_from_an_untrusted_exchange_is_refused_without_fetching_anything(
    on_premises: AddinApp, certificate: Certificate, amurl: str, exchange_host: ExchangeHost
) -> None:
    """``amurl`` outside ``exchange_metadata_urls`` is never fetched (no request forgery)."""
    elsewhere = amurl.replace(METADATA_PATH, "/internal/admin")
    await refused(on_premises, identity_token(certificate, elsewhere, NOW), "does not trust")
    assert exchange_host.requests == []


async def test_the_same_document_with_or_without_its_default_port_is_trusted(
    tmp_path: Path, store: SqlStore, clock: Clock, entra: str, amurl: str, certificate: Certificate
) -> None:
    """Exchange writes ``https://host:443/...``; the setting may leave the port out (or differ in
    the case of the scheme and host)."""
    assert normal_url("https://Mail.Contoso.com:443/autodiscover/metadata/json/1") == (
        "https://mail.contoso.com/autodiscover/metadata/json/1"
    )
    assert normal_url("http://127.0.0.1:80/x") == normal_url("HTTP://127.0.0.1/x")
    assert normal_url("https://mail.contoso.com:444/x") != normal_url("https://mail.contoso.com/x")
    app = await app_for(tmp_path, store, clock, entra, amurl, naa=False)
    try:
        written = amurl.replace("http://", "HTTP://")
        status, answer = await post(app, identity_token(certificate, written, NOW), ORGANIZER)
        assert status == 201, answer
    finally:
        await app.client.close()


@pytest.mark.parametrize(
    ("lifetime", "moved", "reason"),
    [
        (timedelta(hours=8), timedelta(hours=8, minutes=6), "expired"),
        (timedelta(hours=8), -timedelta(minutes=6), "not valid yet"),
    ],
)
async def test_a_token_outside_its_lifetime_is_refused(
    on_premises: AddinApp,
    certificate: Certificate,
    amurl: str,
    clock: Clock,
    lifetime: timedelta,
    moved: timedelta,
    reason: str,
) -> None:
    """``nbf``/``exp`` (decimal strings, as Exchange writes them) hold with five minutes of skew."""
    token = identity_token(certificate, amurl, NOW, lifetime=lifetime)
    clock.advance(moved)
    await refused(on_premises, token, reason)


async def test_a_token_within_the_skew_is_accepted(
    on_premises: AddinApp, certificate: Certificate, amurl: str, clock: Clock
) -> None:
    """Four minutes past ``exp`` is within the tolerated skew between servers' clocks."""
    token = identity_token(certificate, amurl, NOW, lifetime=timedelta(hours=8))
    clock.advance(timedelta(hours=8, minutes=4))
    assert (await post(on_premises, token, ORGANIZER))[0] == 201


async def test_a_token_for_another_add_in_is_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """``aud`` must be this installation's task pane (the manifest's first SourceLocation)."""
    token = identity_token(certificate, amurl, NOW, audience="https://evil.example/pane.html")
    await refused(on_premises, token, "another add-in")
    assert AUDIENCE.startswith(on_premises.settings.web.public_url)


@pytest.mark.parametrize(
    ("appctx", "reason"),
    [
        (json.dumps({"msexchuid": "x", "version": "ExIdTok.V2", "amurl": "{amurl}"}), "ExIdTok.V1"),
        (json.dumps({"version": "ExIdTok.V1", "amurl": "{amurl}"}), "msexchuid"),
        ("{not json", "not JSON"),
        ("[1, 2]", "no appctx"),
    ],
)
async def test_a_token_with_a_wrong_app_context_is_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str, appctx: str, reason: str
) -> None:
    """``appctx`` must be version ExIdTok.V1 and name the user and the server."""
    token = identity_token(certificate, amurl, NOW, appctx=appctx.replace("{amurl}", amurl))
    await refused(on_premises, token, reason)


async def test_an_app_context_given_as_an_object_is_read_too(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """Microsoft's pages print ``appctx`` as an object; real tokens carry JSON text. Both work."""
    context = {"msexchuid": "53e925fa", "version": "ExIdTok.V1", "amurl": amurl}
    token = identity_token(certificate, amurl, NOW, appctx=context)
    assert (await post(on_premises, token, ORGANIZER))[0] == 201


async def test_a_token_not_issued_by_exchange_is_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """``iss`` must be Exchange's application id at some realm."""
    token = identity_token(certificate, amurl, NOW, iss="https://sts.windows.net/x/")
    await refused(on_premises, token, "not issued by Exchange")


async def test_a_forged_signature_is_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """A token signed by another key, naming the published certificate's thumbprint."""
    forger = make_certificate(NOW)
    token = identity_token(forger, amurl, NOW, header={"x5t": certificate.x5t})
    await refused(on_premises, token, "signature does not match")


async def test_an_unpublished_certificate_is_refused_after_one_refresh(
    on_premises: AddinApp,
    certificate: Certificate,
    amurl: str,
    exchange_host: ExchangeHost,
    clock: Clock,
) -> None:
    """A new certificate is looked for once (Exchange renews its auth certificate), then refused."""
    assert (await post(on_premises, identity_token(certificate, amurl, NOW), ORGANIZER))[0] == 201
    assert metadata_fetches(exchange_host) == 1
    clock.advance(timedelta(minutes=2))
    stranger = make_certificate(NOW)
    await refused(on_premises, identity_token(stranger, amurl, NOW), "does not publish")
    await refused(on_premises, identity_token(stranger, amurl, NOW), "does not publish")
    assert metadata_fetches(exchange_host) == 2


async def test_a_renewed_certificate_is_picked_up(
    on_premises: AddinApp,
    certificate: Certificate,
    amurl: str,
    exchange_host: ExchangeHost,
    clock: Clock,
) -> None:
    """When Exchange publishes a new auth certificate, its tokens are accepted after a refresh."""
    assert (await post(on_premises, identity_token(certificate, amurl, NOW), ORGANIZER))[0] == 201
    renewed = make_certificate(NOW)
    exchange_host.certificates.append(renewed)
    clock.advance(timedelta(minutes=2))
    assert (await post(on_premises, identity_token(renewed, amurl, clock()), ORGANIZER))[0] == 201


async def test_a_token_signed_by_an_expired_certificate_is_refused(
    on_premises: AddinApp, amurl: str, exchange_host: ExchangeHost
) -> None:
    """A certificate the document still lists but whose validity ended does not vouch any more."""
    expired = make_certificate(NOW - timedelta(days=365 * 6))
    exchange_host.certificates.append(expired)
    await refused(on_premises, identity_token(expired, amurl, NOW), "validity dates")


@pytest.mark.parametrize("alg", ["none", "HS256"])
async def test_tokens_not_signed_with_rs256_are_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str, alg: str
) -> None:
    """``alg: none`` and HMAC are refused."""
    good = identity_token(certificate, amurl, NOW)
    claims = jwt.decode(good, options={"verify_signature": False})
    if alg == "none":
        token = jwt.encode(claims, None, algorithm="none", headers={"x5t": certificate.x5t})
    else:
        secret = certificate.x5t * 2  # whatever an attacker picks: HMAC is never accepted
        token = jwt.encode(claims, secret, algorithm="HS256", headers={"x5t": certificate.x5t})
    await refused(on_premises, token, "RS256")


async def test_a_token_without_a_thumbprint_is_refused(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """The header must say which certificate signed it."""
    token = identity_token(certificate, amurl, NOW, header={"x5t": "short"})
    await refused(on_premises, token, "x5t")


async def test_an_exchange_that_cannot_be_reached_is_503(
    on_premises: AddinApp, certificate: Certificate, amurl: str, exchange_host: ExchangeHost
) -> None:
    """The metadata document unreachable is the service's trouble (retry), not the user's."""
    exchange_host.status = 503
    status, answer = await post(on_premises, identity_token(certificate, amurl, NOW), ORGANIZER)
    assert (status, answer["error"]) == (503, "unavailable")


async def test_an_exchange_token_is_refused_where_only_microsoft_365_is_set_up(
    addin_app: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """Without ``exchange_metadata_urls`` the service says why it will not take the token."""
    await refused(addin_app, identity_token(certificate, amurl, NOW), "exchange_metadata_urls")


async def test_an_entra_token_is_refused_where_only_exchange_is_set_up(
    on_premises: AddinApp, entra: str
) -> None:
    """Without ``client_id`` an Entra token is not checked at all, and says why."""
    await refused(on_premises, await user_token(entra), "client_id")


async def test_the_rate_limit_counts_each_exchange_user(
    on_premises: AddinApp, certificate: Certificate, amurl: str
) -> None:
    """The limit is per Exchange user (msexchuid at amurl), whatever organizer the body names."""
    limit = on_premises.settings.addin.rate_limit_per_minute
    for number in range(limit):
        body = {"organizer": f"user{number}@contoso.com"}
        assert (await post(on_premises, identity_token(certificate, amurl, NOW), body))[0] == 201
    status, answer = await post(on_premises, identity_token(certificate, amurl, NOW), ORGANIZER)
    assert (status, answer["error"]) == (429, "rate_limited")


async def test_config_json_tells_the_add_in_which_sign_in_to_use(
    on_premises: AddinApp, hybrid: AddinApp, addin_app: AddinApp
) -> None:
    """Exchange only: identity tokens; both: NAA with identity tokens where NAA is missing."""
    kinds = []
    for app in (on_premises, hybrid, addin_app):
        response = await app.client.get("/addin/config.json")
        auth = (await response.json())["auth"]
        kinds.append((auth["kind"], auth.get("fallback")))
    assert kinds == [("exchange_identity", None), ("naa", "exchange_identity"), ("naa", None)]


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.contoso.com/autodiscover/metadata/json/1",
        "ftp://mail.contoso.com/x",
        "mail.contoso.com",
    ],
)
def test_a_metadata_url_must_be_https(tmp_path: Path, url: str) -> None:
    """Plain http is refused (except on the loopback host, for trials)."""
    with pytest.raises(ConfigError, match="exchange_metadata_urls"):
        settings_from_mapping(
            {
                "exchange": {"resource_mailbox": "vmr@contoso.com"},
                "addin": {"exchange_metadata_urls": [url]},
            },
            base=tmp_path,
        )


def test_certificates_that_do_not_parse_are_skipped(certificate: Certificate) -> None:
    """One odd entry in the document does not lock everyone out; only signing RSA certificates count."""
    entries: list[Any] = [
        {"usage": "signing", "keyvalue": {"type": "x509Certificate", "value": "not base64!"}},
        {"usage": "encryption", **certificate.entry()},
        {"usage": "signing", "keyvalue": {"type": "rsaKeyValue", "value": "AAAA"}},
        "junk",
        certificate.entry(x5t="whatever-the-document-says"),
    ]
    entries[1]["usage"] = "encryption"
    assert list(certificate_keys(entries)) == [certificate.x5t]
