"""App-only access tokens: the OAuth 2.0 client-credentials grant against Entra ID's v2 endpoint.

One `AppTokenClient` serves one app and one scope. It keeps the token it got and renews it when
80% of its lifetime has passed, so a short outage of the token endpoint near the end of a token's
life costs nothing: until the old token really expires, a failed renewal is logged and the old
token is used. Client credentials never come with a refresh token; renewing is asking again.
— https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow

HTTP goes through requests (which exchangelib already brings) rather than httpx: one HTTP stack
and one TLS setup (`transport.PinnedCaAdapter`) for the token endpoint and EWS, no new
dependency, and tests still swap the transport (a requests adapter), not the network.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final, Self

import requests
import structlog
from requests.auth import AuthBase

from vmrsched.adapters.auth.errors import EntraRefusal, refusal_error, transport_error
from vmrsched.adapters.auth.transport import https_session
from vmrsched.ports.mailbox import MailboxError, MailboxUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from vmrsched.config.settings import ExchangeSettings, Secret

log = structlog.get_logger(__name__)

RENEW_FRACTION: Final = 0.8
#: A token this close to expiry is not handed out: a request may take that long to arrive.
EXPIRY_MARGIN: Final = timedelta(seconds=60)
DEFAULT_LIFETIME: Final = timedelta(hours=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops working; ``repr`` never shows the token."""

    value: str
    obtained_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"AccessToken(obtained_at={self.obtained_at!r}, expires_at={self.expires_at!r})"

    def renew_after(self, fraction: float = RENEW_FRACTION) -> datetime:
        """When to ask for the next token."""
        return self.obtained_at + (self.expires_at - self.obtained_at) * fraction

    def usable_at(self, now: datetime) -> bool:
        """Whether the token still has a useful life left at `now`."""
        return now < self.expires_at - EXPIRY_MARGIN


class AppTokenClient:
    """Client-credentials tokens for one app and one scope, cached and renewed before expiry.

    Thread-safe: concurrent callers share one token request. Raises `MailboxAuthError` when Entra
    refuses the credentials (with the fix in plain words), `MailboxUnavailableError` when the
    endpoint cannot be reached or is down.
    """

    def __init__(
        self,
        *,
        token_endpoint: str,
        client_id: str,
        client_secret: Secret,
        scope: str,
        ca_bundle: Path | None = None,
        clock: Callable[[], datetime] = _utc_now,
        session: requests.Session | None = None,
        timeout: timedelta = timedelta(seconds=30),
        renew_fraction: float = RENEW_FRACTION,
    ) -> None:
        if not 0 < renew_fraction <= 1:
            raise ValueError("renew_fraction must be in (0, 1]")
        self.token_endpoint = token_endpoint
        self.client_id = client_id
        self.scope = scope
        self._secret = client_secret
        self._clock = clock
        self._owns_session = session is None
        self._session = session if session is not None else https_session(ca_bundle)
        self._timeout = timeout.total_seconds()
        self._renew_fraction = renew_fraction
        self._lock = threading.Lock()
        self._current: AccessToken | None = None

    @classmethod
    def from_settings(
        cls,
        exchange: ExchangeSettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        session: requests.Session | None = None,
    ) -> Self:
        """The client for the configured app, asking for the scope the configured API needs."""
        return cls(
            token_endpoint=exchange.token_endpoint,
            client_id=exchange.client_id,
            client_secret=exchange.client_secret,
            scope=exchange.scope,
            ca_bundle=exchange.ca_bundle,
            clock=clock,
            session=session,
        )

    @property
    def current(self) -> AccessToken | None:
        """The cached token, if any (for health reports; never log its value)."""
        return self._current

    def token(self) -> str:
        """A bearer token with life left in it: the cached one, or a fresh one when due."""
        with self._lock:
            now = self._clock()
            current = self._current
            if current is not None and now < current.renew_after(self._renew_fraction):
                return current.value
            try:
                self._current = self._fetch(now)
            except MailboxError as exc:
                if current is not None and current.usable_at(now):
                    log.warning(
                        "token_renewal_failed",
                        client_id=self.client_id,
                        error=str(exc),
                        old_token_expires=current.expires_at.isoformat(),
                    )
                    return current.value
                raise
            log.info(
                "token_obtained",
                client_id=self.client_id,
                scope=self.scope,
                expires=self._current.expires_at.isoformat(),
            )
            return self._current.value

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it: HTTP 401); the next call asks again."""
        with self._lock:
            self._current = None

    def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._owns_session:
            self._session.close()

    def _fetch(self, now: datetime) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.reveal(),
            "scope": self.scope,
        }
        what = f"token endpoint {self.token_endpoint}"
        try:
            response = self._session.post(
                self.token_endpoint,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise transport_error(what, exc, tls=True) from exc
        except requests.RequestException as exc:
            raise transport_error(what, exc) from exc
        with response:
            body = _json_object(response)
            if response.status_code != 200:
                refusal = EntraRefusal.parse(response.status_code, body)
                raise refusal_error(
                    refusal, client_id=self.client_id, retry_after=_retry_after(response, now)
                )
        return _access_token(body, now, what)


def _json_object(response: requests.Response) -> dict[str, object] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _access_token(body: dict[str, object] | None, now: datetime, what: str) -> AccessToken:
    value = body.get("access_token") if body else None
    if not isinstance(value, str) or not value:
        # A proxy or captive portal answering 200 with HTML: transient from our side.
        raise MailboxUnavailableError(f"{what} answered 200 without an access token")
    lifetime = DEFAULT_LIFETIME
    raw = body.get("expires_in") if body else None
    if isinstance(raw, int | str) and str(raw).isdigit() and int(raw) > 0:
        lifetime = timedelta(seconds=int(raw))
    return AccessToken(value=value, obtained_at=now, expires_at=now + lifetime)


def _retry_after(response: requests.Response, now: datetime) -> timedelta | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    if header.strip().isdigit():
        return timedelta(seconds=int(header.strip()))
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(when - now, timedelta(0))


class BearerAuth(AuthBase):
    """requests auth that puts the app's current token on every request."""

    def __init__(self, tokens: AppTokenClient) -> None:
        self.tokens = tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add ``Authorization: Bearer …``."""
        request.headers["Authorization"] = f"Bearer {self.tokens.token()}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth(client_id={self.tokens.client_id!r})"
