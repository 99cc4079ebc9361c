"""The resource owner password grant on the v2 token endpoint: delegated tokens for the add-in.

Served for the demo tenant, whose add-in app (a public client) holds a consented delegated
permission to the add-in API's ``access_as_user`` scope.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import jwt
import msal
import pytest
import requests
from test_token_endpoint import assert_entra_error, post_token

from exchangesim.identity.tokens import v2_issuer
from exchangesim.tenant import Tenant, demo_tenant, parse_tenant

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.test_utils import TestServer
    from entra_support import TlsFiles

    from exchangesim.identity import TokenIssuer

DEMO_TENANT = "d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5"
API_APP = "419b3972-c210-4c86-8bea-05f535b94611"
ADDIN_APP = "de7b0c42-b3d8-4e98-8521-6498b2ab8387"
VMRSCHED_APP = "522d29f1-c520-4cd7-bd5d-565f738f599b"
API_SCOPE = f"api://vmrsched.contoso.com/{API_APP}/access_as_user"
ALICE_PASSWORD = "demo-alice-password-not-real"


@pytest.fixture
def tenant() -> Tenant:
    """The demo tenant shipped with exchangesim (overrides the small test tenant)."""
    return demo_tenant()


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.make_url("")) as session:
        yield session


def ropc(
    username: str = "alice@contoso.com",
    password: str = ALICE_PASSWORD,
    scope: str = f"{API_SCOPE} openid profile offline_access",
    client_id: str = ADDIN_APP,
) -> dict[str, str]:
    return {
        "grant_type": "password",
        "client_id": client_id,
        "username": username,
        "password": password,
        "scope": scope,
    }


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_a_user_gets_a_delegated_token_for_the_addin_api(
    http: aiohttp.ClientSession, issuer: TokenIssuer
) -> None:
    """A public client with the right password gets a v2.0 token for the API, scope access_as_user."""
    status, body, _ = await post_token(http, ropc(), tenant=DEMO_TENANT)
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert body["scope"] == API_SCOPE
    assert body["expires_in"] == 3599
    token = claims(body["access_token"])
    assert token["aud"] == API_APP
    assert token["iss"] == v2_issuer(DEMO_TENANT)
    assert token["tid"] == DEMO_TENANT
    assert token["scp"] == "access_as_user"
    assert token["azp"] == ADDIN_APP
    assert token["preferred_username"] == "alice@contoso.com"
    assert token["oid"] == demo_tenant().user("alice@contoso.com").object_id  # type: ignore[union-attr]
    assert issuer.verify(body["access_token"], API_APP).upn == "alice@contoso.com"


async def test_the_scope_may_name_the_api_by_its_client_id(http: aiohttp.ClientSession) -> None:
    """``<client id>/access_as_user`` names the same API as its Application ID URI."""
    status, body, _ = await post_token(
        http, ropc(scope=f"{API_APP}/access_as_user"), tenant="contoso.com"
    )
    assert status == 200, body
    assert claims(body["access_token"])["aud"] == API_APP


async def test_a_wrong_password_is_aadsts50126(http: aiohttp.ClientSession) -> None:
    """Entra answers a wrong password with invalid_grant AADSTS50126."""
    status, body, _ = await post_token(http, ropc(password="nope"), tenant=DEMO_TENANT)
    assert_entra_error(status, body, http_status=400, error="invalid_grant", code=50126)


async def test_a_user_without_a_password_cannot_use_the_grant(
    http: aiohttp.ClientSession,
) -> None:
    """A user the tenant file gives no password cannot sign in with any password."""
    status, body, _ = await post_token(
        http, ropc(username="erin@contoso.com", password=""), tenant=DEMO_TENANT
    )
    assert_entra_error(status, body, http_status=400, error="invalid_request", code=900144)
    status, body, _ = await post_token(
        http, ropc(username="erin@contoso.com", password="guess"), tenant=DEMO_TENANT
    )
    assert_entra_error(status, body, http_status=400, error="invalid_grant", code=50126)


async def test_an_unknown_account_is_aadsts50034(http: aiohttp.ClientSession) -> None:
    """A user (or resource account) the directory lacks: invalid_grant AADSTS50034."""
    for username in ("mallory@contoso.com", "vmr@contoso.com"):
        status, body, _ = await post_token(http, ropc(username=username), tenant=DEMO_TENANT)
        assert_entra_error(status, body, http_status=400, error="invalid_grant", code=50034)


async def test_a_scope_without_consent_is_aadsts65001(http: aiohttp.ClientSession) -> None:
    """vmrsched's own app holds no consented delegated permission: consent_required."""
    data = ropc(client_id=VMRSCHED_APP)
    data["client_secret"] = "demo-vmrsched-secret-2026-not-real"
    status, body, _ = await post_token(http, data, tenant=DEMO_TENANT)
    assert_entra_error(status, body, http_status=400, error="invalid_grant", code=65001)
    assert body["suberror"] == "consent_required"


async def test_a_confidential_client_must_send_its_secret(http: aiohttp.ClientSession) -> None:
    """Without "Allow public client flows" the app must authenticate: AADSTS7000218."""
    status, body, _ = await post_token(http, ropc(client_id=VMRSCHED_APP), tenant=DEMO_TENANT)
    assert_entra_error(status, body, http_status=401, error="invalid_client", code=7000218)


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        (f"api://vmrsched.contoso.com/{API_APP}/write_everything", "invalid_scope", 70011),
        ("api://unknown.contoso.com/access_as_user", "invalid_resource", 500011),
        ("openid profile", "invalid_scope", 70011),
        (f"{API_SCOPE} https://graph.microsoft.com/User.Read", "invalid_scope", 70011),
    ],
)
async def test_bad_scopes_are_refused_like_entra(
    http: aiohttp.ClientSession, scope: str, error: str, code: int
) -> None:
    """A scope the API does not expose, an unknown API, no API, or two APIs are refused."""
    status, body, _ = await post_token(http, ropc(scope=scope), tenant=DEMO_TENANT)
    assert_entra_error(status, body, http_status=400, error=error, code=code)


async def test_the_password_grant_is_not_on_the_v1_endpoint_here(
    http: aiohttp.ClientSession,
) -> None:
    """Only the v2 endpoint simulates it; v1 says the grant type is unsupported."""
    status, body, _ = await post_token(http, ropc(), tenant=DEMO_TENANT, path="oauth2/token")
    assert_entra_error(status, body, http_status=400, error="unsupported_grant_type", code=70003)


def test_tenant_files_check_the_api_settings() -> None:
    """Bad Application ID URIs, scope names, permissions and SPA redirects are reported."""
    text = f"""
[tenant]
id = "{DEMO_TENANT}"
domain = "contoso.com"

[[users]]
email = "alice@contoso.com"
display_name = "Alice"
password = ""

[[apps]]
client_id = "{API_APP}"
display_name = "API"
identifier_uris = ["urn:nope", "api://x/"]
exposed_scopes = ["access as user"]
delegated_permissions = ["access_as_user"]
spa_redirect_uris = ["ftp://x"]
public_client = "yes"
"""
    with pytest.raises(ValueError, match="problem") as caught:
        parse_tenant(text)
    problems = "\n".join(caught.value.problems)  # type: ignore[attr-defined]
    for path in (
        "users[0].password",
        "apps[0].identifier_uris[0]",
        "apps[0].identifier_uris[1]",
        "apps[0].exposed_scopes[0]",
        "apps[0].delegated_permissions[0]",
        "apps[0].spa_redirect_uris[0]",
        "apps[0].public_client",
    ):
        assert path in problems


@pytest.mark.filterwarnings("ignore:This API has been deprecated:DeprecationWarning")
async def test_msal_public_client_signs_a_user_in_with_a_password(
    https_server: TestServer, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """msal's PublicClientApplication.acquire_token_by_username_password works unmodified.

    msal first asks ``https://<host>/common/userrealm/<user>`` for the account type, dropping the
    authority's port; the transport below puts the port back (the simulator answers 404 there,
    after which msal does plain ROPC, as it does for hosts without user realm discovery).
    """
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    base = str(https_server.make_url("")).rstrip("/")

    class PortKeepingSession(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if url.startswith("https://127.0.0.1/"):
                url = base + url.removeprefix("https://127.0.0.1")
            return super().request(method, url, *args, **kwargs)

    def acquire() -> dict[str, Any]:
        app = msal.PublicClientApplication(
            ADDIN_APP,
            authority=f"{base}/{DEMO_TENANT}",
            instance_discovery=False,
            http_client=PortKeepingSession(),
        )
        return app.acquire_token_by_username_password(
            "alice@contoso.com", ALICE_PASSWORD, scopes=[API_SCOPE]
        )

    result = await asyncio.to_thread(acquire)
    assert "access_token" in result, result.get("error_description")
    assert claims(result["access_token"])["preferred_username"] == "alice@contoso.com"
