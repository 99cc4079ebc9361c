"""The token endpoint, OIDC metadata and key sets, spoken to over real HTTP on loopback."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from entra_support import (
    BARE_APP,
    CONSENTED_APP,
    EXPIRED_APP,
    SCOPED_APP,
    SCOPED_SECRET,
    TENANT_ID,
    Host,
)

from exchangesim.identity import add_routes, audiences

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from exchangesim.identity import TokenIssuer

EWS_SCOPE = "https://outlook.office365.com/.default"
CLIENT_REQUEST_ID = "8f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.make_url("")) as session:
        yield session


async def post_token(
    http: aiohttp.ClientSession,
    data: dict[str, str],
    *,
    tenant: str = TENANT_ID,
    path: str = "oauth2/v2.0/token",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    async with http.post(f"/{tenant}/{path}", data=data, headers=headers) as response:
        return response.status, await response.json(), response


def credentials(
    client_id: str = SCOPED_APP, secret: str = SCOPED_SECRET, scope: str = EWS_SCOPE
) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": scope,
    }


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_entra_error(
    status: int, body: dict[str, Any], *, http_status: int, error: str, code: int
) -> None:
    """The body has Entra's error shape and the expected status, error and AADSTS code."""
    assert status == http_status
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert re.search(
        r"\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$",
        body["error_description"],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert set(body) >= {"trace_id", "correlation_id"}


async def test_client_credentials_with_secret_in_body_return_entra_v2_response(
    http: aiohttp.ClientSession, issuer: TokenIssuer
) -> None:
    """A v2 client-credentials request answers exactly Entra's four fields and a valid token."""
    status, body, response = await post_token(http, credentials())
    assert status == 200
    assert list(body) == ["token_type", "expires_in", "ext_expires_in", "access_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    assert response.headers["Cache-Control"] == "no-store, no-cache"
    principal = issuer.verify(body["access_token"], audiences("ews"))
    assert principal.kind == "app"
    assert principal.app_id == SCOPED_APP


async def test_client_secret_in_http_basic_is_accepted(http: aiohttp.ClientSession) -> None:
    """client_secret_basic works: client id and secret in the Authorization header."""
    basic = base64.b64encode(f"{SCOPED_APP}:{SCOPED_SECRET}".encode()).decode()
    status, body, _ = await post_token(
        http,
        {"grant_type": "client_credentials", "scope": EWS_SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert status == 200
    assert claims(body["access_token"])["appid"] == SCOPED_APP


@pytest.mark.parametrize("segment", ["contoso.com", "CONTOSO.onmicrosoft.com", TENANT_ID.upper()])
async def test_tenant_segment_may_be_any_domain_or_the_guid(
    http: aiohttp.ClientSession, segment: str
) -> None:
    """The {tenant} path segment accepts the tenant GUID or any of its domains."""
    status, body, _ = await post_token(http, credentials(), tenant=segment)
    assert status == 200
    assert claims(body["access_token"])["tid"] == TENANT_ID


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        ("https://outlook.office365.com/.default", "https://outlook.office365.com"),
        ("https://outlook.office.com/.default", "https://outlook.office.com"),
        ("00000002-0000-0ff1-ce00-000000000000/.default", "00000002-0000-0ff1-ce00-000000000000"),
        ("https://graph.microsoft.com/.default", "https://graph.microsoft.com"),
    ],
)
async def test_token_audience_is_the_requested_resource(
    http: aiohttp.ClientSession, scope: str, audience: str
) -> None:
    """``aud`` is the resource named in the scope, for every Exchange and Graph spelling."""
    status, body, _ = await post_token(http, credentials(scope=scope))
    assert status == 200
    assert claims(body["access_token"])["aud"] == audience


async def test_consented_app_gets_roles_of_the_requested_resource_only(
    http: aiohttp.ClientSession,
) -> None:
    """Tenant-wide consent puts the resource's app roles in ``roles``, split by resource."""
    _, ews, _ = await post_token(http, credentials(CONSENTED_APP, "consented-app-secret"))
    _, graph, _ = await post_token(
        http,
        credentials(CONSENTED_APP, "consented-app-secret", "https://graph.microsoft.com/.default"),
    )
    assert claims(ews["access_token"])["roles"] == ["full_access_as_app"]
    assert claims(graph["access_token"])["roles"] == ["Calendars.ReadWrite", "Mail.Send"]


async def test_rbac_scoped_app_gets_a_token_without_roles(http: aiohttp.ClientSession) -> None:
    """Without admin consent the token has no ``roles``: RBAC lives in Exchange, not the token."""
    _, body, _ = await post_token(http, credentials())
    assert "roles" not in claims(body["access_token"])


async def test_wrong_secret_is_aadsts7000215(http: aiohttp.ClientSession) -> None:
    """A secret matching none of the app's: 401 invalid_client AADSTS7000215."""
    status, body, _ = await post_token(http, credentials(secret="not-the-secret"))
    assert_entra_error(status, body, http_status=401, error="invalid_client", code=7000215)
    assert f"for a secret added to app '{SCOPED_APP}'" in body["error_description"]
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"


async def test_expired_secret_is_aadsts7000222(http: aiohttp.ClientSession) -> None:
    """A secret that matches but has expired: 401 invalid_client AADSTS7000222."""
    status, body, _ = await post_token(http, credentials(EXPIRED_APP, "expired-app-secret"))
    assert_entra_error(status, body, http_status=401, error="invalid_client", code=7000222)
    assert f"client secret keys for app '{EXPIRED_APP}' are expired" in body["error_description"]


async def test_secret_expires_when_the_clock_passes_its_end(
    http: aiohttp.ClientSession, host: Host
) -> None:
    """Expiry is judged by the simulator's clock: moving it past the end breaks the secret."""
    from datetime import UTC, datetime  # noqa: PLC0415

    host.clock.current = datetime(2028, 1, 1, tzinfo=UTC)
    status, body, _ = await post_token(http, credentials())
    assert_entra_error(status, body, http_status=401, error="invalid_client", code=7000222)


async def test_missing_secret_is_aadsts7000218(http: aiohttp.ClientSession) -> None:
    """No secret at all: 401 invalid_client AADSTS7000218."""
    data = credentials()
    del data["client_secret"]
    status, body, _ = await post_token(http, data)
    assert_entra_error(status, body, http_status=401, error="invalid_client", code=7000218)


async def test_unknown_client_is_aadsts700016(http: aiohttp.ClientSession) -> None:
    """An unknown client id: 400 unauthorized_client AADSTS700016 naming the directory."""
    unknown = "99999999-8888-4777-8666-555555555555"
    status, body, _ = await post_token(http, credentials(client_id=unknown))
    assert_entra_error(status, body, http_status=400, error="unauthorized_client", code=700016)
    assert f"'{unknown}' was not found in the directory 'Contoso'" in body["error_description"]


async def test_scope_without_default_is_aadsts1002012(http: aiohttp.ClientSession) -> None:
    """A delegated-style scope in client credentials: 400 invalid_scope AADSTS1002012."""
    scope = "https://graph.microsoft.com/Calendars.ReadWrite"
    status, body, _ = await post_token(http, credentials(scope=scope))
    assert_entra_error(status, body, http_status=400, error="invalid_scope", code=1002012)
    assert f"scope {scope} is not valid" in body["error_description"]


async def test_two_resources_in_one_scope_is_aadsts70011(http: aiohttp.ClientSession) -> None:
    """Two ``.default`` scopes of different resources: 400 invalid_scope AADSTS70011."""
    scope = "https://graph.microsoft.com/.default https://outlook.office365.com/.default"
    status, body, _ = await post_token(http, credentials(scope=scope))
    assert_entra_error(status, body, http_status=400, error="invalid_scope", code=70011)


async def test_unknown_resource_is_aadsts500011(http: aiohttp.ClientSession) -> None:
    """A ``.default`` scope of an API the tenant lacks: 400 invalid_resource AADSTS500011."""
    scope = "https://outlook.office365.com/EWS/Exchange.asmx/.default"
    status, body, _ = await post_token(http, credentials(scope=scope))
    assert_entra_error(status, body, http_status=400, error="invalid_resource", code=500011)
    assert (
        "resource principal named https://outlook.office365.com/EWS/Exchange.asmx"
        in (body["error_description"])
    )


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "scope"])
async def test_missing_parameter_is_aadsts900144(http: aiohttp.ClientSession, missing: str) -> None:
    """A required parameter left out: 400 invalid_request AADSTS900144 naming it."""
    data = credentials()
    del data[missing]
    status, body, _ = await post_token(http, data)
    assert_entra_error(status, body, http_status=400, error="invalid_request", code=900144)
    assert f"parameter: '{missing}'." in body["error_description"]


async def test_unsupported_grant_is_aadsts70003(http: aiohttp.ClientSession) -> None:
    """A grant type not simulated (client credentials and password are): AADSTS70003."""
    data = credentials() | {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
    status, body, _ = await post_token(http, data)
    assert_entra_error(status, body, http_status=400, error="unsupported_grant_type", code=70003)


async def test_resource_parameter_on_v2_is_aadsts901002(http: aiohttp.ClientSession) -> None:
    """v1's ``resource=`` sent to the v2 endpoint: 400 invalid_request AADSTS901002."""
    data = credentials() | {"resource": "https://outlook.office365.com"}
    status, body, _ = await post_token(http, data)
    assert_entra_error(status, body, http_status=400, error="invalid_request", code=901002)


async def test_unknown_tenant_is_aadsts90002(http: aiohttp.ClientSession) -> None:
    """A tenant that does not exist: 400 invalid_tenant AADSTS90002."""
    status, body, _ = await post_token(http, credentials(), tenant="fabrikam.com")
    assert_entra_error(status, body, http_status=400, error="invalid_tenant", code=90002)
    assert "Tenant 'fabrikam.com' not found" in body["error_description"]


async def test_malformed_tenant_is_aadsts900023(http: aiohttp.ClientSession) -> None:
    """A tenant segment that is neither GUID nor DNS name: 400 AADSTS900023."""
    status, body, _ = await post_token(http, credentials(), tenant="not_a_tenant")
    assert_entra_error(status, body, http_status=400, error="invalid_request", code=900023)


async def test_client_credentials_on_common_is_aadsts9001023(http: aiohttp.ClientSession) -> None:
    """Client credentials need a tenant: /common answers AADSTS9001023."""
    status, body, _ = await post_token(http, credentials(), tenant="common")
    assert_entra_error(status, body, http_status=400, error="invalid_request", code=9001023)


async def test_get_on_token_endpoint_is_aadsts900561(http: aiohttp.ClientSession) -> None:
    """The token endpoint takes POST only: a GET answers AADSTS900561."""
    async with http.get(f"/{TENANT_ID}/oauth2/v2.0/token") as response:
        body = await response.json()
    assert_entra_error(response.status, body, http_status=400, error="invalid_request", code=900561)


async def test_client_request_id_is_echoed_as_correlation_id(http: aiohttp.ClientSession) -> None:
    """Entra echoes the client-request-id header as the error's correlation id."""
    _, body, response = await post_token(
        http, credentials(secret="wrong"), headers={"client-request-id": CLIENT_REQUEST_ID}
    )
    assert body["correlation_id"] == CLIENT_REQUEST_ID
    assert response.headers["client-request-id"] == CLIENT_REQUEST_ID


async def test_v1_endpoint_with_resource_answers_v1_shape(http: aiohttp.ClientSession) -> None:
    """The v1 endpoint with ``resource=`` answers v1 fields, numbers as strings."""
    data = credentials() | {"resource": "https://outlook.office365.com/"}
    del data["scope"]
    status, body, _ = await post_token(http, data, path="oauth2/token")
    assert status == 200
    assert body["expires_in"] == "3599"
    assert body["resource"] == "https://outlook.office365.com/"
    assert int(body["expires_on"]) - int(body["not_before"]) == 3599 + 300
    assert claims(body["access_token"])["aud"] == "https://outlook.office365.com/"


async def test_v1_endpoint_ignores_scope_and_issues_an_aad_graph_token(
    http: aiohttp.ClientSession,
) -> None:
    """A v2-style request sent to the v1 endpoint gets a token for Azure AD Graph, not EWS."""
    status, body, _ = await post_token(
        http, credentials(CONSENTED_APP, "consented-app-secret"), path="oauth2/token"
    )
    assert status == 200
    token = claims(body["access_token"])
    assert token["aud"] == "00000002-0000-0000-c000-000000000000"
    assert "roles" not in token


async def test_token_outage_answers_503_aadsts90033(
    http: aiohttp.ClientSession, host: Host
) -> None:
    """With the token-outage knob on, the endpoint answers 503 temporarily_unavailable."""
    host.knobs.token_outage = True
    status, body, _ = await post_token(http, credentials())
    assert_entra_error(status, body, http_status=503, error="temporarily_unavailable", code=90033)
    assert "error_uri" not in body


async def test_token_outage_reset_drops_the_connection(
    http: aiohttp.ClientSession, host: Host
) -> None:
    """With the knob set to "reset" the client sees the connection die, no HTTP answer."""
    host.knobs.token_outage = "reset"
    with pytest.raises(aiohttp.ClientError):
        await post_token(http, credentials())


async def test_bare_app_gets_a_token_without_roles(http: aiohttp.ClientSession) -> None:
    """An app with no permissions still gets a token; Exchange refuses it later."""
    status, body, _ = await post_token(http, credentials(BARE_APP, "bare-app-secret"))
    assert status == 200
    assert "roles" not in claims(body["access_token"])


async def test_v2_metadata_points_at_the_simulator(
    http: aiohttp.ClientSession, server: TestServer
) -> None:
    """v2 OIDC metadata: endpoints on the request's host, Entra's real issuer."""
    base = str(server.make_url("")).rstrip("/")
    async with http.get("/contoso.com/v2.0/.well-known/openid-configuration") as response:
        body = await response.json()
    assert response.status == 200
    assert body["token_endpoint"] == f"{base}/{TENANT_ID}/oauth2/v2.0/token"
    assert body["jwks_uri"] == f"{base}/{TENANT_ID}/discovery/v2.0/keys"
    assert body["authorization_endpoint"] == f"{base}/{TENANT_ID}/oauth2/v2.0/authorize"
    assert body["issuer"] == f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"


async def test_v1_metadata_names_the_v1_issuer(http: aiohttp.ClientSession) -> None:
    """v1 OIDC metadata: the sts.windows.net issuer and the v1 token endpoint."""
    async with http.get(f"/{TENANT_ID}/.well-known/openid-configuration") as response:
        body = await response.json()
    assert body["issuer"] == f"https://sts.windows.net/{TENANT_ID}/"
    assert body["token_endpoint"].endswith(f"/{TENANT_ID}/oauth2/token")
    assert body["jwks_uri"].endswith("/common/discovery/keys")


async def test_common_metadata_has_tenantid_placeholder(http: aiohttp.ClientSession) -> None:
    """/common metadata carries ``{tenantid}`` in its issuer, as Entra's does."""
    async with http.get("/common/v2.0/.well-known/openid-configuration") as response:
        body = await response.json()
    assert body["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"


async def test_metadata_of_unknown_tenant_is_aadsts90002(http: aiohttp.ClientSession) -> None:
    """OIDC discovery for an unknown tenant answers 400 invalid_tenant, as msal expects."""
    async with http.get("/fabrikam.com/v2.0/.well-known/openid-configuration") as response:
        body = await response.json()
    assert_entra_error(response.status, body, http_status=400, error="invalid_tenant", code=90002)


@pytest.mark.parametrize(
    "path",
    ["/common/discovery/v2.0/keys", f"/{TENANT_ID}/discovery/v2.0/keys", "/common/discovery/keys"],
)
async def test_published_keys_verify_issued_tokens(http: aiohttp.ClientSession, path: str) -> None:
    """Every key-set URL publishes the key that signs the tokens (kid = x5t)."""
    _, token_body, _ = await post_token(http, credentials())
    token = token_body["access_token"]
    async with http.get(path) as response:
        keys = (await response.json())["keys"]
    assert response.status == 200
    (entry,) = keys
    assert entry["kid"] == entry["x5t"] == jwt.get_unverified_header(token)["kid"]
    public_key = jwt.PyJWK(entry).key
    # The token's lifetime follows the test clock, not the wall clock PyJWT would read.
    decoded = jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        audience="https://outlook.office365.com",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert decoded["appid"] == SCOPED_APP


async def test_routes_accept_a_function_returning_the_simulator(host: Host) -> None:
    """``add_routes`` also takes a callable, read on each request (the simulator may change)."""
    app = web.Application()
    add_routes(app, lambda: host)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession(base_url=server.make_url("")) as http:
            status, _, _ = await post_token(http, credentials())
    finally:
        await server.close()
    assert status == 200
