"""Independent clients (msal, exchangelib) get tokens from the simulator over HTTPS, unmodified.

msal wants an https authority and, with ``instance_discovery=False``, reads
``<authority>/v2.0/.well-known/openid-configuration`` from the simulator itself. Both libraries
use requests, whose ``REQUESTS_CA_BUNDLE`` environment variable overrides a session's
``verify=``: tests point it at the test CA.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import jwt
import msal
import pytest
from entra_support import EXPIRED_APP, SCOPED_APP, SCOPED_SECRET, TENANT_ID, TlsFiles
from exchangelib import OAUTH2, Build, Configuration, OAuth2Credentials, Version
from exchangelib.protocol import BaseProtocol

from exchangesim.identity import audiences

if TYPE_CHECKING:
    from aiohttp.test_utils import TestServer

    from exchangesim.identity import TokenIssuer

EWS_SCOPES = ["https://outlook.office365.com/.default"]


@pytest.fixture
def base(https_server: TestServer, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> str:
    """The simulator's https base URL, with requests trusting the test CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return str(https_server.make_url("")).rstrip("/")


def msal_app(base: str, client_id: str, secret: str, tenant: str = TENANT_ID) -> Any:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=f"{base}/{tenant}",
        instance_discovery=False,
    )


async def test_msal_acquires_a_token_for_ews(base: str, issuer: TokenIssuer) -> None:
    """msal's acquire_token_for_client succeeds and the token verifies for EWS."""

    def acquire() -> dict[str, Any]:
        return msal_app(base, SCOPED_APP, SCOPED_SECRET).acquire_token_for_client(EWS_SCOPES)

    result = await asyncio.to_thread(acquire)
    assert "access_token" in result, result.get("error_description")
    assert result["token_type"] == "Bearer"
    assert result["token_source"] == "identity_provider"
    assert issuer.verify(result["access_token"], audiences("ews")).app_id == SCOPED_APP


async def test_msal_serves_the_second_request_from_its_cache(base: str) -> None:
    """A second call on the same msal app is answered from msal's cache, as in production."""

    def acquire_twice() -> tuple[dict[str, Any], dict[str, Any]]:
        app = msal_app(base, SCOPED_APP, SCOPED_SECRET, tenant="contoso.com")
        return app.acquire_token_for_client(EWS_SCOPES), app.acquire_token_for_client(EWS_SCOPES)

    first, second = await asyncio.to_thread(acquire_twice)
    assert first["token_source"] == "identity_provider"
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


async def test_msal_reports_a_wrong_secret_as_aadsts7000215(base: str) -> None:
    """msal hands the Entra error through: invalid_client with error code 7000215."""

    def acquire() -> dict[str, Any]:
        return msal_app(base, SCOPED_APP, "wrong").acquire_token_for_client(EWS_SCOPES)

    result = await asyncio.to_thread(acquire)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


async def test_msal_reports_an_expired_secret_as_aadsts7000222(base: str) -> None:
    """msal hands through AADSTS7000222 for an expired secret."""

    def acquire() -> dict[str, Any]:
        return msal_app(base, EXPIRED_APP, "expired-app-secret").acquire_token_for_client(
            EWS_SCOPES
        )

    result = await asyncio.to_thread(acquire)
    assert result["error_codes"] == [7000222]


async def test_msal_with_an_unknown_tenant_fails_discovery(base: str) -> None:
    """An authority naming an unknown tenant fails in msal's OIDC discovery, as against Entra."""

    def build() -> Any:
        return msal_app(base, SCOPED_APP, SCOPED_SECRET, tenant="fabrikam.com")

    with pytest.raises(ValueError, match=r"90002|fabrikam"):
        await asyncio.to_thread(build)


async def test_exchangelib_oauth2_credentials_fetch_a_token(base: str) -> None:
    """exchangelib's OAuth2Credentials (token_url overridden) fetches a token via HTTP Basic."""

    class LocalCredentials(OAuth2Credentials):  # type: ignore[misc]
        @property
        def token_url(self) -> str:
            return f"{base}/{self.tenant_id}/oauth2/v2.0/token"

    credentials = LocalCredentials(
        client_id=SCOPED_APP, client_secret=SCOPED_SECRET, tenant_id=TENANT_ID
    )
    config = Configuration(
        service_endpoint=f"{base}/EWS/Exchange.asmx",
        credentials=credentials,
        auth_type=OAUTH2,
        version=Version(build=Build(15, 20)),
    )
    session = await asyncio.to_thread(BaseProtocol(config=config).create_oauth2_session)
    token = session.token["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == EWS_SCOPES[0][:-9]
    assert credentials.access_token["access_token"] == token
