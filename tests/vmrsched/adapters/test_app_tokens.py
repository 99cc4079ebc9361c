"""App-only tokens: caching, early renewal on an injected clock, Entra errors in plain words.

Unit tests swap requests' transport for a scripted adapter; the live tests ask exchangesim's
Entra-shaped token endpoint over HTTPS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import certifi
import jwt
import pytest
import requests
from mailbox_support import TENANT_ID, VMRSCHED_EXPIRED_SECRET, exchange_settings
from requests.adapters import BaseAdapter

from vmrsched.adapters.auth.client import AppTokenClient, BearerAuth
from vmrsched.config.settings import Secret
from vmrsched.ports.mailbox import MailboxAuthError, MailboxError, MailboxUnavailableError

if TYPE_CHECKING:
    from harness import SimServer

ENDPOINT = "https://login.example/contoso/oauth2/v2.0/token"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class ScriptedTransport(BaseAdapter):
    """A requests transport answering from a script of (status, JSON body, headers)."""

    script: list[tuple[int, Any, dict[str, str]] | Exception] = field(default_factory=list)
    requests: list[requests.PreparedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body, headers = step
        response = requests.Response()
        response.status_code = status
        response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        response.headers.update(headers)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def token_body(value: str = "tok-1", expires_in: int = 3600) -> dict[str, Any]:
    return {"token_type": "Bearer", "expires_in": expires_in, "access_token": value}


def entra_error(
    status: int, error: str, code: int, text: str = "details"
) -> tuple[int, Any, dict[str, str]]:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: t-1\r\nCorrelation ID: c-1",
        "error_codes": [code],
        "trace_id": "t-1",
        "correlation_id": "c-1",
    }
    return status, body, {}


def make_client(transport: ScriptedTransport, clock: FakeClock) -> AppTokenClient:
    session = requests.Session()
    session.mount("https://", transport)
    return AppTokenClient(
        token_endpoint=ENDPOINT,
        client_id="app-1",
        client_secret=Secret("s3cret-value"),
        scope="https://outlook.office365.com/.default",
        clock=clock,
        session=session,
    )


def test_the_grant_posts_client_credentials_and_the_scope() -> None:
    """The request is a form POST of grant_type, client id, secret and the derived scope."""
    transport = ScriptedTransport([(200, token_body(), {})])
    assert make_client(transport, FakeClock()).token() == "tok-1"
    sent = transport.requests[0]
    assert sent.method == "POST"
    assert sent.url == ENDPOINT
    form = dict(item.split("=", 1) for item in str(sent.body).split("&"))
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == "app-1"
    assert form["client_secret"] == "s3cret-value"
    assert form["scope"] == "https%3A%2F%2Foutlook.office365.com%2F.default"


def test_a_token_is_reused_until_80_percent_of_its_life_has_passed() -> None:
    """Calls before the renewal point share one token; the first call after it asks again."""
    clock = FakeClock()
    transport = ScriptedTransport([(200, token_body("a"), {}), (200, token_body("b"), {})])
    client = make_client(transport, clock)
    assert client.token() == "a"
    clock.advance(timedelta(minutes=47))
    assert client.token() == "a"
    assert len(transport.requests) == 1
    clock.advance(timedelta(minutes=2))  # 49 min > 48 min = 80% of 60
    assert client.token() == "b"
    assert len(transport.requests) == 2


def test_a_failed_renewal_keeps_the_old_token_while_it_still_works() -> None:
    """An outage of the token endpoint near the end of a token's life costs nothing."""
    clock = FakeClock()
    transport = ScriptedTransport(
        [(200, token_body("a"), {}), entra_error(503, "temporarily_unavailable", 90033)]
    )
    client = make_client(transport, clock)
    client.token()
    clock.advance(timedelta(minutes=50))
    assert client.token() == "a"


def test_a_failed_renewal_raises_once_the_old_token_is_spent() -> None:
    """When the old token is about to expire, the endpoint's failure is the caller's."""
    clock = FakeClock()
    transport = ScriptedTransport(
        [(200, token_body("a"), {}), entra_error(503, "temporarily_unavailable", 90033)]
    )
    client = make_client(transport, clock)
    client.token()
    clock.advance(timedelta(minutes=59, seconds=30))
    with pytest.raises(MailboxUnavailableError):
        client.token()


def test_invalidate_forces_a_new_token() -> None:
    """After the server refused a token (HTTP 401), the next call fetches a new one."""
    transport = ScriptedTransport([(200, token_body("a"), {}), (200, token_body("b"), {})])
    client = make_client(transport, FakeClock())
    client.token()
    client.invalidate()
    assert client.token() == "b"


@pytest.mark.parametrize(
    ("status", "error", "code", "words", "fix"),
    [
        (401, "invalid_client", 7000215, "was refused", "Certificates & secrets"),
        (401, "invalid_client", 7000222, "has expired", "New client secret"),
        (
            400,
            "unauthorized_client",
            700016,
            "no app with client id app-1",
            "Application (client) ID",
        ),
        (400, "invalid_tenant", 90002, "tenant", "token endpoint (v2)"),
        (400, "invalid_scope", 1002012, "scope was refused", "token_scope"),
        (400, "invalid_scope", 70011, "scope was refused", "token_scope"),
        (400, "invalid_request", 901002, "form", "v1"),
    ],
)
def test_entra_refusals_become_auth_errors_with_the_fix(
    status: int, error: str, code: int, words: str, fix: str
) -> None:
    """Each known AADSTS code is named in plain words, keeps Entra's trace ID and says the fix."""
    client = make_client(ScriptedTransport([entra_error(status, error, code)]), FakeClock())
    with pytest.raises(MailboxAuthError) as caught:
        client.token()
    assert words in str(caught.value)
    assert "trace t-1" in str(caught.value)
    assert fix in caught.value.fix
    assert "s3cret-value" not in str(caught.value) + caught.value.fix


def test_an_unknown_code_is_still_an_auth_error_naming_it() -> None:
    """A code we do not know is reported with its number and where to look it up."""
    client = make_client(
        ScriptedTransport([entra_error(400, "invalid_grant", 123456)]), FakeClock()
    )
    with pytest.raises(MailboxAuthError, match="AADSTS123456"):
        client.token()


def test_throttling_and_outages_are_retryable_with_retry_after() -> None:
    """HTTP 429 and 5xx are transient; a Retry-After header becomes `retry_after`."""
    transport = ScriptedTransport([(429, {"error": "throttled"}, {"Retry-After": "7"})])
    with pytest.raises(MailboxUnavailableError) as caught:
        make_client(transport, FakeClock()).token()
    assert caught.value.retryable
    assert caught.value.retry_after == timedelta(seconds=7)


def test_a_network_failure_is_retryable_and_a_bad_certificate_is_not() -> None:
    """Connection errors are transient; an untrusted certificate is a setup problem with a fix."""
    down = ScriptedTransport([requests.ConnectionError("refused")])
    with pytest.raises(MailboxUnavailableError):
        make_client(down, FakeClock()).token()
    tls = ScriptedTransport([requests.exceptions.SSLError("certificate verify failed")])
    with pytest.raises(MailboxError) as caught:
        make_client(tls, FakeClock()).token()
    assert not caught.value.retryable
    assert "ca_bundle" in caught.value.fix


def test_a_200_without_a_token_is_treated_as_transient() -> None:
    """A captive portal's HTML page answered with 200 is not mistaken for a token."""
    transport = ScriptedTransport([(200, "<html>login</html>", {})])
    with pytest.raises(MailboxUnavailableError):
        make_client(transport, FakeClock()).token()


def test_the_token_never_shows_in_reprs() -> None:
    """Neither the cached token nor the auth hook prints the token."""
    client = make_client(
        ScriptedTransport([(200, token_body("very-secret-token"), {})]), FakeClock()
    )
    client.token()
    assert "very-secret-token" not in repr(client.current) + repr(BearerAuth(client))


# --- live, against exchangesim ---------------------------------------------------------------


def test_a_live_token_is_an_ews_token_for_the_app(live_sim: SimServer) -> None:
    """The simulator issues a token for EWS to the configured app (v2 endpoint, ca_bundle)."""
    client = AppTokenClient.from_settings(exchange_settings(live_sim))
    claims = jwt.decode(client.token(), options={"verify_signature": False})
    assert claims["appid"] == client.client_id
    assert claims["tid"] == TENANT_ID
    assert claims["aud"] == "https://outlook.office365.com"


def test_ca_bundle_wins_over_the_requests_environment(
    live_sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With REQUESTS_CA_BUNDLE naming another CA, the configured ca_bundle is still used."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    client = AppTokenClient.from_settings(exchange_settings(live_sim))
    assert client.token()


def test_a_live_expired_secret_is_named_as_expired(live_sim: SimServer) -> None:
    """The demo tenant's old secret fails with AADSTS7000222, reported as expired."""
    settings = exchange_settings(live_sim, secret=VMRSCHED_EXPIRED_SECRET)
    with pytest.raises(MailboxAuthError, match="has expired"):
        AppTokenClient.from_settings(settings).token()


def test_a_live_wrong_secret_and_unknown_client_are_told_apart(live_sim: SimServer) -> None:
    """A wrong secret and an unknown client id get different messages and fixes."""
    with pytest.raises(MailboxAuthError, match="was refused"):
        AppTokenClient.from_settings(exchange_settings(live_sim, secret="nope")).token()
    unknown = exchange_settings(live_sim, client_id="00000000-0000-0000-0000-000000000001")
    with pytest.raises(MailboxAuthError, match="no app with client id"):
        AppTokenClient.from_settings(unknown).token()


def test_a_live_token_outage_is_transient(live_sim: SimServer) -> None:
    """The simulator's token outage knob surfaces as a retryable error."""
    live_sim.knobs.update(token_outage=True)
    with pytest.raises(MailboxUnavailableError):
        AppTokenClient.from_settings(exchange_settings(live_sim)).token()
