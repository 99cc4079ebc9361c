"""The doctor's token request: one client-credentials request of its own (not the cached
`AppTokenClient`), so the AADSTS code of a refusal is at hand (7000215 wrong secret, 7000222
expired secret), and the access token's claims decoded WITHOUT verifying its signature (only
``aud``, ``roles`` and ``exp`` are read, to tell the admin what the token claims; nothing is
trusted because of them). Shared by the EWS and the Graph setup probes."""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from vmrsched.adapters.auth.client import AppTokenClient
from vmrsched.adapters.auth.errors import EntraRefusal, refusal_error, transport_error
from vmrsched.adapters.auth.transport import https_session
from vmrsched.ports.mailbox import MailboxUnavailableError
from vmrsched.ports.probe import ProbeError, Refusal, TokenFacts

if TYPE_CHECKING:
    from collections.abc import Callable

    from vmrsched.config.settings import ExchangeSettings


class AppProbe:
    """What the EWS and the Graph setup probes share: the settings, a session of their own for
    the token request, the app's cached tokens for every other call, and injectable waiting."""

    def __init__(
        self,
        exchange: ExchangeSettings,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exchange = exchange
        self._sleep = sleep
        self._clock = clock
        self._session = https_session(exchange.ca_bundle)
        self._tokens = AppTokenClient.from_settings(exchange)

    def token(self) -> TokenFacts:
        """Ask for a token; classify a refusal by its AADSTS code (`request_token`)."""
        return request_token(self._session, self._exchange)


def request_token(session: requests.Session, exchange: ExchangeSettings) -> TokenFacts:
    """Ask ``[exchange] token_endpoint`` for the app's token (scope: ``exchange.scope``);
    classify a refusal by its AADSTS code as a `ProbeError`."""
    form = {
        "grant_type": "client_credentials",
        "client_id": exchange.client_id,
        "client_secret": exchange.client_secret.reveal(),
        "scope": exchange.scope,
    }
    what = f"token endpoint {exchange.token_endpoint}"
    try:
        response = session.post(
            exchange.token_endpoint,
            data=form,
            headers={"Accept": "application/json"},
            timeout=30,
            allow_redirects=False,
        )
    except requests.exceptions.SSLError as exc:
        error = transport_error(what, exc, tls=True)
        raise ProbeError(str(error), reason=Refusal.UNREACHABLE, fix=error.fix) from exc
    except requests.RequestException as exc:
        raise ProbeError(
            f"{what}: {type(exc).__name__}",
            reason=Refusal.UNREACHABLE,
            fix="check [exchange] token_endpoint and that this host reaches it (proxy, DNS)",
        ) from exc
    with response:
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else None
        if response.status_code != 200:
            refusal = EntraRefusal.parse(response.status_code, body)
            error = refusal_error(refusal, client_id=exchange.client_id)
            reason = {
                7000215: Refusal.WRONG_SECRET,
                7000222: Refusal.EXPIRED_SECRET,
            }.get(refusal.code or 0, Refusal.TOKEN_REFUSED)
            if isinstance(error, MailboxUnavailableError):
                reason = Refusal.UNREACHABLE
            raise ProbeError(str(error), reason=reason, fix=error.fix)
    claims = unverified_claims(str((body or {}).get("access_token") or ""))
    roles = claims.get("roles")
    expires = claims.get("exp")
    return TokenFacts(
        audience=str(claims.get("aud") or ""),
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        expires_in=(
            datetime.fromtimestamp(expires, tz=UTC) - datetime.now(UTC)
            if isinstance(expires, int)
            else None
        ),
    )


def unverified_claims(token: str) -> dict[str, Any]:
    """The JWT's payload, decoded WITHOUT verifying the signature (read-only diagnostics)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
