"""Tokens the simulated Entra ID mints, and how it judges tokens presented back to it."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from entra_support import CONSENTED_APP, SCOPED_APP, START, TENANT_ID, FakeClock

from exchangesim.identity import (
    CLOCK_SKEW,
    InvalidToken,
    TokenIssuer,
    audiences,
    generate_signing_key,
    load_signing_key,
    read_clock,
)
from exchangesim.identity.keys import b64url
from exchangesim.tenant import parse_tenant

if TYPE_CHECKING:
    from pathlib import Path

    from exchangesim.identity import SigningKey
    from exchangesim.tenant import Tenant

EWS = "https://outlook.office365.com"
ADDIN_API = "api://addin.contoso.com/3f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f"


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def app_token(issuer: TokenIssuer, tenant: Tenant, client_id: str = SCOPED_APP) -> str:
    app = tenant.app(client_id)
    assert app is not None
    return issuer.mint_app_token(app, EWS)


def resign(token: str, key: SigningKey, **changes: Any) -> str:
    """The token's claims with ``changes``, signed again with ``key`` and the same headers."""
    header = jwt.get_unverified_header(token)
    body = unverified(token) | changes
    return jwt.encode(body, key.private_key, algorithm="RS256", headers={"kid": header["kid"]})


def test_app_token_has_the_claims_of_an_entra_v1_app_token(
    issuer: TokenIssuer, tenant: Tenant
) -> None:
    """An app-only token carries Entra v1.0's claims, back-dated five minutes, one hour long."""
    token = app_token(issuer, tenant)
    header = jwt.get_unverified_header(token)
    body = unverified(token)
    app = tenant.app(SCOPED_APP)
    assert app is not None
    assert list(header) == ["typ", "alg", "x5t", "kid"]
    assert header["alg"] == "RS256"
    assert header["kid"] == header["x5t"]
    assert set(body) == {
        "aud", "iss", "iat", "nbf", "exp", "aio", "app_displayname", "appid", "appidacr",
        "idp", "idtyp", "oid", "rh", "sub", "tid", "uti", "ver", "wids",
    }  # fmt: skip
    assert body["aud"] == EWS
    assert body["iss"] == body["idp"] == f"https://sts.windows.net/{TENANT_ID}/"
    assert body["iat"] == body["nbf"] == int((START - timedelta(minutes=5)).timestamp())
    assert body["exp"] == int(START.timestamp()) + 3600
    assert body["appid"] == SCOPED_APP
    assert body["appidacr"] == "1"
    assert body["idtyp"] == "app"
    assert body["oid"] == body["sub"] == app.service_principal_id
    assert body["tid"] == TENANT_ID
    assert body["ver"] == "1.0"


def test_consented_app_token_lists_roles(issuer: TokenIssuer, tenant: Tenant) -> None:
    """Admin consent puts the app's Exchange app roles in ``roles``."""
    assert unverified(app_token(issuer, tenant, CONSENTED_APP))["roles"] == ["full_access_as_app"]


def test_verify_returns_the_principal(issuer: TokenIssuer, tenant: Tenant) -> None:
    """A good token verifies into a Principal naming app, tenant, roles and expiry."""
    principal = issuer.verify(app_token(issuer, tenant, CONSENTED_APP), audiences("ews"))
    assert principal.kind == "app"
    assert principal.app_id == CONSENTED_APP
    assert principal.tenant_id == TENANT_ID
    assert principal.roles == ("full_access_as_app",)
    assert principal.scopes == ()
    assert principal.upn is None
    assert principal.expires == START + timedelta(hours=1)
    assert principal.audience == EWS


def test_verify_accepts_a_single_audience_string(issuer: TokenIssuer, tenant: Tenant) -> None:
    """``audience`` may be one string as well as a collection."""
    assert issuer.verify(app_token(issuer, tenant), EWS).app_id == SCOPED_APP


def test_expired_token_is_refused(issuer: TokenIssuer, tenant: Tenant, clock: FakeClock) -> None:
    """Past ``exp`` plus the clock skew, the token is expired."""
    token = app_token(issuer, tenant)
    clock.advance(timedelta(hours=1) + CLOCK_SKEW)
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token, EWS)
    assert caught.value.category == "expired"


def test_token_within_the_skew_after_exp_still_verifies(
    issuer: TokenIssuer, tenant: Tenant, clock: FakeClock
) -> None:
    """A token a little past ``exp`` (within the skew) is still accepted."""
    token = app_token(issuer, tenant)
    clock.advance(timedelta(hours=1) + CLOCK_SKEW - timedelta(seconds=1))
    assert issuer.verify(token, EWS).app_id == SCOPED_APP


def test_token_from_the_future_is_not_yet_valid(
    issuer: TokenIssuer, tenant: Tenant, clock: FakeClock
) -> None:
    """Before ``nbf`` minus the skew, the token is not valid yet."""
    token = app_token(issuer, tenant)
    clock.advance(-timedelta(minutes=11))
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token, EWS)
    assert caught.value.category == "not_yet_valid"


def test_wrong_audience_is_refused(issuer: TokenIssuer, tenant: Tenant) -> None:
    """A token for Exchange is refused where Graph is expected."""
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(app_token(issuer, tenant), audiences("graph"))
    assert caught.value.category == "invalid_audience"


def test_token_of_another_tenant_is_refused(
    issuer: TokenIssuer, tenant: Tenant, clock: FakeClock, signing_key: SigningKey
) -> None:
    """A token another tenant issued, even with the same key, fails on its issuer."""
    other = parse_tenant(
        '[tenant]\nid = "7b2c8d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"\ndomain = "fabrikam.com"\n'
        '[[apps]]\nclient_id = "0f2a4b6c-8d0e-4f1a-9b3c-5d7e9f1a3b5c"\ndisplay_name = "x"\n'
    )
    foreign = TokenIssuer(other, clock, key=signing_key)
    app = other.app(SCOPED_APP)
    assert app is not None
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(foreign.mint_app_token(app, EWS), EWS)
    assert caught.value.category == "invalid_issuer"


def test_token_with_a_foreign_tid_is_refused(
    issuer: TokenIssuer, tenant: Tenant, signing_key: SigningKey
) -> None:
    """Our issuer with another ``tid`` is refused."""
    token = resign(
        app_token(issuer, tenant), signing_key, tid="7b2c8d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"
    )
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token, EWS)
    assert caught.value.category == "invalid_tenant"


def test_unsigned_alg_none_token_is_refused(issuer: TokenIssuer, tenant: Tenant) -> None:
    """``alg: none`` is never accepted, whatever the claims say."""
    body = unverified(app_token(issuer, tenant, CONSENTED_APP))
    token = jwt.encode(body, key=None, algorithm="none")
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token, EWS)
    assert caught.value.category == "unsupported_alg"


def test_hs256_token_keyed_with_the_public_key_is_refused(
    issuer: TokenIssuer, tenant: Tenant
) -> None:
    """The RS256/HS256 confusion attack fails: only RS256 is accepted."""
    body = unverified(app_token(issuer, tenant))
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}
    segments = [
        b64url(json.dumps(header).encode()),
        b64url(json.dumps(body).encode()),
        b64url(b"forged"),
    ]
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(".".join(segments), EWS)
    assert caught.value.category == "unsupported_alg"


def test_tampered_payload_fails_the_signature(issuer: TokenIssuer, tenant: Tenant) -> None:
    """Adding a role to a signed token breaks its signature."""
    head, payload, signature = app_token(issuer, tenant).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["full_access_as_app"]
    forged = ".".join([head, b64url(json.dumps(claims).encode()), signature])
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(forged, EWS)
    assert caught.value.category == "invalid_signature"


def test_token_signed_by_another_key_with_our_kid_fails(
    issuer: TokenIssuer, tenant: Tenant
) -> None:
    """A token signed by some other key but claiming our kid fails the signature."""
    token = resign(app_token(issuer, tenant), generate_signing_key(START))
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token, EWS)
    assert caught.value.category == "invalid_signature"


def test_token_with_an_unknown_kid_is_refused(
    issuer: TokenIssuer, tenant: Tenant, clock: FakeClock
) -> None:
    """A token whose kid we do not publish is refused before any signature check."""
    stranger = TokenIssuer(tenant, clock, key=generate_signing_key(START))
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(app_token(stranger, tenant), EWS)
    assert caught.value.category == "unknown_key"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_garbage_is_malformed(issuer: TokenIssuer, garbage: str) -> None:
    """Strings that are not JWTs are refused as malformed."""
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(garbage, EWS)
    assert caught.value.category in {"malformed", "unsupported_alg", "unknown_key"}


def test_user_token_is_a_v2_delegated_token(issuer: TokenIssuer, tenant: Tenant) -> None:
    """A delegated token: v2 issuer, ``scp``, ``azp``, ``preferred_username``, user ``oid``."""
    token = issuer.mint_user_token("Alice@Contoso.com", SCOPED_APP, ADDIN_API, ["access_as_user"])
    body = unverified(token)
    user = tenant.user("alice@contoso.com")
    assert user is not None
    assert "x5t" not in jwt.get_unverified_header(token)
    assert body["iss"] == f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    assert body["ver"] == "2.0"
    assert body["aud"] == ADDIN_API
    assert body["azp"] == SCOPED_APP
    assert body["scp"] == "access_as_user"
    assert body["preferred_username"] == "alice@contoso.com"
    assert body["oid"] == user.object_id
    principal = issuer.verify(token, ADDIN_API)
    assert principal.kind == "user"
    assert principal.upn == "alice@contoso.com"
    assert principal.scopes == ("access_as_user",)
    assert principal.app_id == SCOPED_APP


def test_user_token_subject_is_pairwise(issuer: TokenIssuer) -> None:
    """``sub`` is stable per user and app and differs between apps."""

    def sub(client_id: str) -> str:
        return unverified(issuer.mint_user_token("bob@contoso.com", client_id, ADDIN_API, ["a"]))[
            "sub"
        ]

    assert sub(SCOPED_APP) == sub(SCOPED_APP)
    assert sub(SCOPED_APP) != sub(CONSENTED_APP)


@pytest.mark.parametrize(
    ("email", "scopes"),
    [
        ("vmr@contoso.com", ["access_as_user"]),
        ("nobody@contoso.com", ["a"]),
        ("bob@contoso.com", []),
    ],
)
def test_user_token_needs_a_user_and_a_scope(
    issuer: TokenIssuer, email: str, scopes: list[str]
) -> None:
    """Resources cannot sign in, strangers do not exist, and a token needs a scope."""
    with pytest.raises(ValueError, match=r"user|scope"):
        issuer.mint_user_token(email, SCOPED_APP, ADDIN_API, scopes)


def test_minting_for_an_unknown_api_is_refused(issuer: TokenIssuer, tenant: Tenant) -> None:
    """Only the simulated APIs (Exchange, Graph, Azure AD Graph) get app tokens."""
    app = tenant.app(SCOPED_APP)
    assert app is not None
    with pytest.raises(ValueError, match="no API"):
        issuer.mint_app_token(app, "https://example.com")


def test_jwks_entry_matches_the_certificate(issuer: TokenIssuer) -> None:
    """The published key carries the certificate, its SHA-1 thumbprint and the RSA numbers."""
    (entry,) = issuer.jwks(issuer="https://login.microsoftonline.com/x/v2.0")["keys"]
    certificate = x509.load_der_x509_certificate(base64.b64decode(entry["x5c"][0]))
    assert entry["x5t"] == b64url(certificate.fingerprint(hashes.SHA1()))
    assert entry["e"] == "AQAB"
    assert entry["kty"] == "RSA"
    assert entry["use"] == "sig"
    assert entry["issuer"] == "https://login.microsoftonline.com/x/v2.0"
    assert certificate.public_key() == issuer.key.public_key


def test_key_is_saved_once_and_loaded_again(tmp_path: Path) -> None:
    """With a path, the key is written on first use (mode 0600) and reused afterwards."""
    path = tmp_path / "state" / "signing-key.pem"
    first = load_signing_key(path, START)
    second = load_signing_key(path, START)
    assert first.kid == second.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_issuer_with_key_path_keeps_its_kid_across_restarts(
    tenant: Tenant, clock: FakeClock, tmp_path: Path
) -> None:
    """Two issuers on the same key file sign with the same key (tokens survive a restart)."""
    path = tmp_path / "key.pem"
    token = app_token(TokenIssuer(tenant, clock, key_path=path), tenant)
    assert TokenIssuer(tenant, clock, key_path=path).verify(token, EWS).app_id == SCOPED_APP


def test_issuers_without_a_path_make_different_keys(tenant: Tenant, clock: FakeClock) -> None:
    """Without a path, each start makes a fresh key."""
    assert TokenIssuer(tenant, clock).key.kid != TokenIssuer(tenant, clock).key.kid


def test_clock_may_be_a_function_or_an_object_with_now() -> None:
    """``read_clock`` takes a callable or an object with ``now()``; naive times are refused."""

    class Wall:
        def now(self) -> datetime:
            return START

    assert read_clock(Wall()) == START
    assert read_clock(lambda: START) == START
    with pytest.raises(ValueError, match="naive"):
        read_clock(lambda: datetime(2026, 1, 1))
    assert read_clock(lambda: datetime.now(UTC)).tzinfo is not None
