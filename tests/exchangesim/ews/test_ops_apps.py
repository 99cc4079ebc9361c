"""GetClientAccessToken: Exchange user identity tokens for organization add-ins, checked as an add-in
back end checks them (learn.microsoft.com/office/dev/add-ins/outlook/validate-an-identity-token).

Raw SOAP over HTTPS; every answer is validated against the EWS schema (MS-OXWSCEXT). The token
is verified with PyJWT and the certificate of the authentication metadata document, fetched
anonymously over HTTPS (trusting the simulator's CA) from the token's own ``amurl``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import (
    ALICE,
    DAVE,
    LEGACY_APP,
    SCHEMA_MISSING,
    EwsClient,
    load_schema,
    make_sim,
    schema_available,
    start_sim_server,
)

from exchangesim.ews.xml import M_NS, T_NS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import EwsReply, SimServer

T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"
ADDIN_ID = "5a3b1c2d-8e7f-4a6b-9c0d-1e2f3a4b5c6d"
ADDIN_URL = "https://addin.contoso.com/taskpane.html"
EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="MailApp">
  <Id>{ADDIN_ID}</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Contoso</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Identity test"/>
  <Description DefaultValue="Shows the user's identity token."/>
  <Hosts><Host Name="Mailbox"/></Hosts>
  <Requirements><Sets><Set Name="Mailbox" MinVersion="1.1"/></Sets></Requirements>
  <FormSettings>
    <Form xsi:type="ItemRead">
      <DesktopSettings><SourceLocation DefaultValue="{ADDIN_URL}"/>
        <RequestedHeight>250</RequestedHeight></DesktopSettings>
    </Form>
  </FormSettings>
  <Permissions>ReadItem</Permissions>
  <Rule xsi:type="ItemIs" ItemType="Message" FormType="Read"/>
</OfficeApp>
"""


class Clock:
    """The simulator's clock, moved by hand."""

    def __init__(self) -> None:
        self.current = START

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture(scope="module")
def clock() -> Clock:
    """One hand-moved clock for the module's server."""
    return Clock()


@pytest.fixture(scope="module")
def server(cert_dir: Path, clock: Clock) -> Iterator[SimServer]:
    """A demo-tenant server on the hand-moved clock, with the test add-in installed."""
    served = start_sim_server(make_sim(clock=clock), cert_dir=cert_dir)
    served.admin.install_addin(MANIFEST)
    yield served
    served.stop()


def token_body(*requests: tuple[str, str]) -> str:
    """A GetClientAccessToken body with one TokenRequest per (Id, TokenType)."""
    inner = "".join(
        f"<t:TokenRequest><t:Id>{i}</t:Id><t:TokenType>{kind}</t:TokenType></t:TokenRequest>"
        for i, kind in requests
    )
    return f"<m:GetClientAccessToken><m:TokenRequests>{inner}</m:TokenRequests></m:GetClientAccessToken>"


def assert_valid(reply: EwsReply) -> None:
    """The answer's body element validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


async def ask_as_user(server: SimServer, email: str, *requests: tuple[str, str]) -> EwsReply:
    """Call GetClientAccessToken with `email`'s delegated token (no impersonation header)."""
    async with EwsClient(server) as ews:
        return await ews.call(
            token_body(*requests), impersonate=None, token=server.user_token(email)
        )


async def token_as_user(server: SimServer, email: str = ALICE) -> str:
    """The CallerIdentity token `email` gets for the test add-in (asserting success)."""
    reply = await ask_as_user(server, email, (ADDIN_ID, "CallerIdentity"))
    assert reply.status == 200, reply.body
    assert_valid(reply)
    value = reply.root.find(f".//{M}Token/{T}TokenValue")
    assert value is not None, reply.body
    return value.text or ""


def claims_of(token: str) -> dict[str, Any]:
    """The payload, unverified (for reading)."""
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def app_context(token: str) -> dict[str, Any]:
    """``appctx`` parsed (it is a string holding JSON)."""
    raw = claims_of(token)["appctx"]
    assert isinstance(raw, str)
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


async def fetch_metadata(server: SimServer, url: str) -> dict[str, Any]:
    """GET the metadata document anonymously over HTTPS, trusting only the simulator's CA."""
    async with EwsClient(server) as ews:
        assert ews.session is not None
        async with ews.session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            document: dict[str, Any] = await response.json()
            return document


def certificate_for(document: dict[str, Any], x5t: str) -> x509.Certificate:
    """The certificate of the document's signing key with thumbprint `x5t`."""
    [key] = [k for k in document["keys"] if k["keyinfo"]["x5t"] == x5t]
    assert key["usage"] == "signing"
    assert key["keyvalue"]["type"] == "x509Certificate"
    return x509.load_der_x509_certificate(base64.b64decode(key["keyvalue"]["value"]))


# --- success -------------------------------------------------------------------------------------


async def test_a_user_gets_a_caller_identity_token_for_an_installed_add_in(
    server: SimServer,
) -> None:
    """The response message is Success with m:Token: the Id asked, CallerIdentity, a JWT and a
    TTL of 480 minutes (the token's eight hours); the answer is schema-valid."""
    reply = await ask_as_user(server, ALICE, (ADDIN_ID.upper(), "CallerIdentity"))
    assert_valid(reply)
    assert reply.response_classes() == ["Success"]
    assert reply.response_codes() == ["NoError"]
    token = reply.root.find(f".//{M}GetClientAccessTokenResponseMessage/{M}Token")
    assert token is not None
    assert [c.tag for c in token] == [f"{T}Id", f"{T}TokenType", f"{T}TokenValue", f"{T}TTL"]
    assert [c.text for c in token][0:2] == [ADDIN_ID.upper(), "CallerIdentity"]
    assert token[3].text == "480"
    assert (token[2].text or "").count(".") == 2


async def test_the_token_verifies_with_the_certificate_of_the_metadata_document(
    server: SimServer, clock: Clock
) -> None:
    """PyJWT verifies the RS256 signature with the certificate whose thumbprint is the header's
    x5t, taken from the document at the token's amurl (fetched anonymously over HTTPS)."""
    token = await token_as_user(server)
    header = jwt.get_unverified_header(token)
    document = await fetch_metadata(server, app_context(token)["amurl"])
    certificate = certificate_for(document, header["x5t"])
    claims = jwt.decode(
        token,
        certificate.public_key(),
        algorithms=["RS256"],
        audience=ADDIN_URL,
        issuer=f"{EXCHANGE}@contoso.com",
        options={"verify_exp": False, "verify_nbf": False},  # checked on the sim's clock below
    )
    now = int(clock().timestamp())
    assert int(claims["nbf"]) <= now < int(claims["exp"])


async def test_the_token_has_the_documented_header_and_claims(server: SimServer) -> None:
    """Header typ/alg/x5t; aud = the manifest's SourceLocation; iss = appctxsender =
    Exchange's id @ the tenant domain; nbf/exp decimal strings 8 h apart; isbrowserhostedapp
    "true"; appctx a JSON string with a GUID msexchuid, ExIdTok.V1 and the amurl with its port."""
    token = await token_as_user(server)
    header = jwt.get_unverified_header(token)
    assert list(header) == ["typ", "alg", "x5t"]
    assert (header["typ"], header["alg"]) == ("JWT", "RS256")
    claims = claims_of(token)
    assert list(claims) == [
        "aud", "iss", "nbf", "exp", "appctxsender", "isbrowserhostedapp", "appctx",
    ]  # fmt: skip
    assert claims["aud"] == ADDIN_URL
    assert claims["iss"] == claims["appctxsender"] == f"{EXCHANGE}@contoso.com"
    assert isinstance(claims["nbf"], str)
    assert isinstance(claims["exp"], str)
    assert int(claims["exp"]) - int(claims["nbf"]) == 8 * 3600
    assert claims["isbrowserhostedapp"] == "true"
    context = app_context(token)
    assert list(context) == ["msexchuid", "version", "amurl"]
    assert GUID.match(context["msexchuid"])
    assert context["version"] == "ExIdTok.V1"
    assert (
        context["amurl"]
        == server.server.auth_metadata_url
        == f"https://127.0.0.1:{server.server.port}/autodiscover/metadata/json/1"
    )


async def test_the_token_lifetime_follows_the_simulator_clock(
    server: SimServer, clock: Clock
) -> None:
    """nbf is the simulator's now and exp eight hours later; moving the clock moves both."""
    first = claims_of(await token_as_user(server))
    assert int(first["nbf"]) == int(clock().timestamp())
    clock.current += timedelta(days=3, minutes=7)
    later = claims_of(await token_as_user(server))
    assert int(later["nbf"]) == int(clock().timestamp()) == int(first["nbf"]) + 3 * 86400 + 420
    assert int(later["exp"]) == int(later["nbf"]) + 28800


async def test_the_exchange_user_id_is_stable_per_mailbox(server: SimServer) -> None:
    """Two tokens of Alice carry the same msexchuid; Dave's differs."""
    alice_1 = app_context(await token_as_user(server, ALICE))["msexchuid"]
    alice_2 = app_context(await token_as_user(server, ALICE))["msexchuid"]
    dave = app_context(await token_as_user(server, DAVE))["msexchuid"]
    assert alice_1 == alice_2
    assert dave != alice_1


async def test_an_app_impersonating_a_user_gets_that_users_token(server: SimServer) -> None:
    """An app with full_access_as_app that impersonates Alice gets Alice's identity, not Dave's."""
    async with EwsClient(server) as ews:
        reply = await ews.call(
            token_body((ADDIN_ID, "CallerIdentity")),
            impersonate=ALICE,
            token=server.app_token(LEGACY_APP),
        )
    assert_valid(reply)
    assert reply.response_classes() == ["Success"]
    value = reply.root.find(f".//{M}Token/{T}TokenValue")
    assert value is not None
    impersonated = app_context(value.text or "")["msexchuid"]
    assert impersonated == app_context(await token_as_user(server, ALICE))["msexchuid"]
    assert impersonated != app_context(await token_as_user(server, DAVE))["msexchuid"]


# --- refusals ------------------------------------------------------------------------------------


async def test_an_unknown_add_in_id_gets_an_error_message(server: SimServer) -> None:
    """An Id no organization add-in has: ErrorInvalidClientAccessTokenRequest, no token."""
    reply = await ask_as_user(
        server, ALICE, ("0f0f0f0f-0000-4000-8000-000000000000", "CallerIdentity")
    )
    assert_valid(reply)
    assert reply.response_classes() == ["Error"]
    assert reply.response_codes() == ["ErrorInvalidClientAccessTokenRequest"]
    assert reply.root.find(f".//{M}Token") is None


@pytest.mark.parametrize("kind", ["ExtensionCallback", "ScopedToken", "ExtensionRestApiCallback"])
async def test_token_types_other_than_caller_identity_are_refused(
    server: SimServer, kind: str
) -> None:
    """Callback and scoped tokens are not simulated: an error message, even for a known add-in."""
    reply = await ask_as_user(server, ALICE, (ADDIN_ID, kind))
    assert_valid(reply)
    assert reply.response_codes() == ["ErrorInvalidClientAccessTokenRequest"]
    assert reply.root.find(f".//{M}Token") is None


async def test_each_token_request_gets_its_own_message_in_order(server: SimServer) -> None:
    """A refused request does not spoil the others: Success, Error, Success."""
    reply = await ask_as_user(
        server,
        ALICE,
        (ADDIN_ID, "CallerIdentity"),
        (ADDIN_ID, "ScopedToken"),
        (ADDIN_ID, "CallerIdentity"),
    )
    assert_valid(reply)
    assert reply.response_classes() == ["Success", "Error", "Success"]
    assert len(reply.root.findall(f".//{M}Token")) == 2


async def test_an_app_only_call_without_impersonation_is_refused(server: SimServer) -> None:
    """An app token naming no user: the fault every EWS call without a mailbox gets; no token."""
    async with EwsClient(server) as ews:
        reply = await ews.call(
            token_body((ADDIN_ID, "CallerIdentity")),
            impersonate=None,
            token=server.app_token(LEGACY_APP),
        )
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidExchangeImpersonationHeaderData"
    assert b"TokenValue" not in reply.body


async def test_a_user_cannot_get_a_token_as_someone_else(server: SimServer) -> None:
    """Alice's delegated token impersonating Dave is refused (a user is only themselves)."""
    async with EwsClient(server) as ews:
        reply = await ews.call(
            token_body((ADDIN_ID, "CallerIdentity")),
            impersonate=DAVE,
            token=server.user_token(ALICE),
        )
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidExchangeImpersonationHeaderData"
    assert b"TokenValue" not in reply.body


async def test_an_uninstalled_add_in_gets_no_more_tokens(cert_dir: Path) -> None:
    """After the admin removes the add-in, its Id is unknown again."""
    served = start_sim_server(make_sim(), cert_dir=cert_dir)
    try:
        served.admin.install_addin(MANIFEST)
        await token_as_user(served)
        served.admin.remove_addin(ADDIN_ID)
        reply = await ask_as_user(served, ALICE, (ADDIN_ID, "CallerIdentity"))
        assert reply.response_codes() == ["ErrorInvalidClientAccessTokenRequest"]
    finally:
        served.stop()


# --- the metadata document -----------------------------------------------------------------------


async def test_the_metadata_document_publishes_the_signing_certificate(server: SimServer) -> None:
    """Anonymous GET: the documented fields, realm and issuer of the tenant, one RSA-2048
    certificate whose SHA-1 thumbprint (base64url) is its x5t, and its own URL as endpoint."""
    url = f"{server.base_url}/autodiscover/metadata/json/1"
    document = await fetch_metadata(server, url)
    assert re.match(r"^_[0-9a-f-]{36}$", document["id"])
    assert {k: document[k] for k in ("version", "name", "realm", "serviceName", "issuer")} == {
        "version": "1.0",
        "name": "Exchange",
        "realm": "contoso.com",
        "serviceName": EXCHANGE,
        "issuer": f"{EXCHANGE}@contoso.com",
    }
    assert document["allowedAudiences"] == [f"{EXCHANGE}@contoso.com"]
    [key] = document["keys"]
    der = base64.b64decode(key["keyvalue"]["value"])
    thumbprint = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    assert key["keyinfo"]["x5t"] == thumbprint
    public = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    port = server.server.port
    assert document["endpoints"] == [
        {
            "location": f"https://127.0.0.1:{port}/autodiscover/metadata/json/1",
            "protocol": "OAuth2",
            "usage": "metadata",
        }
    ]


async def test_a_token_signed_by_another_key_fails_against_the_document(
    server: SimServer, cert_dir: Path
) -> None:
    """Another simulator's token does not verify with this simulator's certificate."""
    other = start_sim_server(make_sim(), cert_dir=cert_dir)
    try:
        other.admin.install_addin(MANIFEST)
        foreign = await token_as_user(other)
    finally:
        other.stop()
    document = await fetch_metadata(server, f"{server.base_url}/autodiscover/metadata/json/1")
    mine = certificate_for(document, document["keys"][0]["keyinfo"]["x5t"])
    assert jwt.get_unverified_header(foreign)["x5t"] != document["keys"][0]["keyinfo"]["x5t"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(foreign, mine.public_key(), algorithms=["RS256"], audience=ADDIN_URL)
