"""Minting and checking the access tokens the simulated Entra ID issues.

App-only tokens follow a real Entra v1.0 token for ``https://outlook.office365.com`` (captured in
github.com/ecederstrand/exchangelib/issues/735): RS256 with ``x5t`` and ``kid`` headers; claims
``aud``, ``iss`` = ``https://sts.windows.net/{tid}/``, ``iat`` = ``nbf`` = now - 5 min,
``exp`` = now + 60 min, ``aio``, ``app_displayname``, ``appid``, ``appidacr`` ("1": secret),
``idp``, ``idtyp``, ``oid`` = ``sub`` (service principal), ``rh``, ``roles``, ``tid``, ``uti``,
``ver`` "1.0", ``wids``. Microsoft Graph and Exchange both get v1.0 tokens.

``roles`` holds only permissions consented tenant-wide in Entra. RBAC for Applications role
assignments live in Exchange, not in the token: Exchange looks them up per request, so a
least-privilege app's token carries no ``roles`` at all (see ``docs/exchangesim-identity.md``).

Delegated (user) tokens for our own APIs, such as the add-in's nested app authentication, are
v2.0: ``iss`` = ``https://login.microsoftonline.com/{tid}/v2.0``, ``scp``, ``azp``,
``preferred_username``, ``oid``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, runtime_checkable

import jwt

from exchangesim.app_permissions import EXCHANGE_RESOURCE_APP_ID, GRAPH_RESOURCE_APP_ID
from exchangesim.identity.errors import InvalidToken
from exchangesim.identity.keys import SigningKey, generate_signing_key, load_signing_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from exchangesim.tenant import App, Tenant

AAD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"  # "Windows Azure Active Directory"

#: Seconds a token lasts as the token endpoint reports it (``expires_in``).
EXPIRES_IN = 3599
# Entra back-dates iat/nbf by five minutes for clock skew (visible in every captured token).
_BACKDATE = timedelta(minutes=5)
_LIFETIME = timedelta(seconds=EXPIRES_IN + 1)
#: Clock skew tolerated when checking ``exp``/``nbf`` (the .NET token handlers' default).
CLOCK_SKEW = timedelta(minutes=5)
# The "default" directory role Entra lists in app-only tokens' wids claim.
_APP_WIDS = ("0997a1d0-0d1d-4acb-b408-d5ca73121e90",)


@runtime_checkable
class _HasNow(Protocol):
    def now(self) -> datetime: ...


#: A clock is a function returning an aware datetime, or an object with such a ``now()``.
Clock = Callable[[], datetime] | _HasNow


def read_clock(clock: Clock) -> datetime:
    """The clock's current time; naive datetimes are refused."""
    # `callable(...)`, not isinstance: a runtime Protocol check passes for any object that merely
    # has a `now` attribute (a test clock with a `now` field, say).
    method = getattr(clock, "now", None)
    now = method() if callable(method) else cast("Callable[[], datetime]", clock)()
    if now.tzinfo is None:
        raise ValueError("the clock returned a naive datetime; give it a time zone")
    return now


@dataclass(frozen=True)
class ApiResource:
    """An API Entra can issue tokens for."""

    identifier: str
    app_id: str
    api: Literal["ews", "graph", "aad"]


_RESOURCES = (
    ApiResource("https://outlook.office365.com", EXCHANGE_RESOURCE_APP_ID, "ews"),
    ApiResource("https://outlook.office.com", EXCHANGE_RESOURCE_APP_ID, "ews"),
    ApiResource(EXCHANGE_RESOURCE_APP_ID, EXCHANGE_RESOURCE_APP_ID, "ews"),
    ApiResource("https://graph.microsoft.com", GRAPH_RESOURCE_APP_ID, "graph"),
    ApiResource(GRAPH_RESOURCE_APP_ID, GRAPH_RESOURCE_APP_ID, "graph"),
    ApiResource(AAD_GRAPH_APP_ID, AAD_GRAPH_APP_ID, "aad"),
    ApiResource("https://graph.windows.net", AAD_GRAPH_APP_ID, "aad"),
)
_BY_IDENTIFIER = {r.identifier.casefold(): r for r in _RESOURCES}


def find_resource(identifier: str) -> ApiResource | None:
    """The API named by a scope's resource part or a v1 ``resource`` (trailing ``/`` allowed)."""
    return _BY_IDENTIFIER.get(identifier.rstrip("/").casefold())


def audiences(api: Literal["ews", "graph"]) -> tuple[str, ...]:
    """Every ``aud`` value a token for ``api`` may carry, as the API should accept them."""
    names = [r.identifier for r in _RESOURCES if r.api == api]
    return (*names, *(f"{n}/" for n in names if n.startswith("https://")))


def v1_issuer(tenant_id: str) -> str:
    """``iss`` of v1.0 tokens."""
    return f"https://sts.windows.net/{tenant_id}/"


def v2_issuer(tenant_id: str) -> str:
    """``iss`` of v2.0 tokens (and the v2 OIDC metadata's issuer)."""
    return f"https://login.microsoftonline.com/{tenant_id}/v2.0"


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    kind: Literal["app", "user"]
    app_id: str
    tenant_id: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    upn: str | None
    oid: str | None
    expires: datetime
    audience: str = ""


def _opaque(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


class TokenIssuer:
    """Signs tokens for one tenant and checks tokens presented back to the simulator."""

    def __init__(
        self,
        tenant: Tenant,
        clock: Clock,
        *,
        key: SigningKey | None = None,
        key_path: Path | None = None,
    ) -> None:
        self.tenant = tenant
        self.clock = clock
        if key is None:
            now = read_clock(clock)
            key = load_signing_key(key_path, now) if key_path else generate_signing_key(now)
        self.key = key

    def mint_app_token(self, app: App, resource: str) -> str:
        """An app-only v1.0 access token for ``resource`` (``https://outlook.office365.com``...)."""
        api = find_resource(resource)
        if api is None:
            raise ValueError(f"no API named {resource!r}")
        audience = api.identifier + ("/" if resource.endswith("/") else "")
        tid = self.tenant.tenant_id
        now = read_clock(self.clock)
        issued = int((now - _BACKDATE).timestamp())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": v1_issuer(tid),
            "iat": issued,
            "nbf": issued,
            "exp": int((now + _LIFETIME).timestamp()),
            "aio": _opaque(44),
            "app_displayname": app.display_name,
            "appid": app.client_id,
            "appidacr": "1",
            "idp": v1_issuer(tid),
            "idtyp": "app",
            "oid": app.service_principal_id,
            "rh": f"0.{_opaque(54)}.",
        }
        roles = app.consented_roles(api.app_id)
        if roles:
            claims["roles"] = list(roles)
        claims |= {
            "sub": app.service_principal_id,
            "tid": tid,
            "uti": _opaque(22),
            "ver": "1.0",
            "wids": list(_APP_WIDS),
        }
        return self._sign(claims, {"x5t": self.key.x5t, "kid": self.key.kid})

    def mint_user_token(
        self, user_email: str, client_id: str, audience: str, scopes: Iterable[str]
    ) -> str:
        """A delegated v2.0 token: app ``client_id`` acting for ``user_email`` on ``audience``."""
        user = self.tenant.user(user_email)
        if user is None:
            raise ValueError(f"no user {user_email!r} in this tenant (resources cannot sign in)")
        scope_list = [s for s in scopes if s]
        if not scope_list:
            raise ValueError("a delegated token needs at least one scope")
        tid = self.tenant.tenant_id
        now = read_clock(self.clock)
        issued = int((now - _BACKDATE).timestamp())
        # sub is pairwise: stable for one user and one app, different across apps.
        pairwise = hashlib.sha256(f"{user.object_id}/{client_id.casefold()}".encode()).digest()
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": v2_issuer(tid),
            "iat": issued,
            "nbf": issued,
            "exp": int((now + _LIFETIME).timestamp()),
            "aio": _opaque(44),
            "azp": client_id,
            "azpacr": "0",
            "name": user.display_name,
            "oid": user.object_id,
            "preferred_username": user.email,
            "rh": f"1.{_opaque(54)}.",
            "scp": " ".join(scope_list),
            "sid": _opaque(36),
            "sub": base64.urlsafe_b64encode(pairwise).rstrip(b"=").decode("ascii"),
            "tid": tid,
            "uti": _opaque(22),
            "ver": "2.0",
        }
        return self._sign(claims, {"kid": self.key.kid})

    def jwks(self, *, issuer: str | None = None) -> dict[str, Any]:
        """The public key set (``{"keys": [...]}``)."""
        return {"keys": [self.key.jwk(issuer)]}

    def verify(self, token: str, audience: str | Iterable[str]) -> Principal:
        """Check signature, issuer, tenant, audience and lifetime; raise :class:`InvalidToken`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken(f"not a JWT: {exc}", "malformed") from exc
        alg = header.get("alg")
        if alg != "RS256":
            raise InvalidToken(f"unsupported signing algorithm {alg!r}", "unsupported_alg")
        if header.get("kid") != self.key.kid:
            raise InvalidToken("signed with a key this tenant does not publish", "unknown_key")
        claims = self._decode(token)
        tid = self.tenant.tenant_id
        if claims["iss"] not in (v1_issuer(tid), v2_issuer(tid)):
            raise InvalidToken(f"issuer {claims['iss']!r} is not this tenant's", "invalid_issuer")
        if str(claims["tid"]).casefold() != tid.casefold():
            raise InvalidToken(f"token of tenant {claims['tid']!r}", "invalid_tenant")
        allowed = {audience} if isinstance(audience, str) else set(audience)
        if claims["aud"] not in allowed:
            raise InvalidToken(f"audience {claims['aud']!r} is not accepted", "invalid_audience")
        now = read_clock(self.clock)
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if now >= expires + CLOCK_SKEW:
            raise InvalidToken(f"expired at {expires.isoformat()}", "expired")
        if now + CLOCK_SKEW < datetime.fromtimestamp(int(claims["nbf"]), UTC):
            raise InvalidToken("not valid yet", "not_yet_valid")
        return _principal(claims, expires)

    def _decode(self, token: str) -> Mapping[str, Any]:
        # Lifetime is checked against our clock, not the wall clock PyJWT would read.
        try:
            return jwt.decode(
                token,
                self.key.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["aud", "iss", "exp", "nbf", "tid"],
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("signature does not match", "invalid_signature") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(str(exc), "missing_claim") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a valid JWT: {exc}", "malformed") from exc

    def _sign(self, claims: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        return jwt.encode(
            dict(claims),
            self.key.private_key,
            algorithm="RS256",
            headers=dict(headers),
            sort_headers=False,
        )


def _principal(claims: Mapping[str, Any], expires: datetime) -> Principal:
    scopes = tuple(str(claims.get("scp", "")).split())
    roles = claims.get("roles", [])
    return Principal(
        kind="user" if scopes else "app",
        app_id=str(claims.get("appid") or claims.get("azp") or ""),
        tenant_id=str(claims["tid"]),
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        scopes=scopes,
        upn=claims.get("preferred_username") or claims.get("upn"),
        oid=claims.get("oid"),
        expires=expires,
        audience=str(claims["aud"]),
    )
