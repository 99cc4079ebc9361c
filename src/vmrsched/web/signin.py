"""Who is calling the add-in API: Entra ID access tokens, checked against the tenant's keys.

The add-in gets the token by nested app authentication (MSAL.js in Outlook) for the API's
delegated scope (``api://.../access_as_user``). A token is accepted only when all of these hold
(https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-tokens):

- signed with RS256 by a key in the tenant's JWKS (``jwks_uri`` of the tenant's OpenID metadata,
  ``{authority}/{tenant}/v2.0/.well-known/openid-configuration``); ``alg: none``, HMAC and
  keys the tenant does not publish are refused;
- ``iss`` is the tenant's v2.0 issuer (or its v1.0 ``https://sts.windows.net/{tid}/``), ``tid`` is
  the tenant, ``aud`` is the API (client id or Application ID URI), ``azp``/``appid`` is the
  add-in's app when one is configured;
- ``scp`` holds the scope (app-only tokens have none and are refused);
- ``exp``/``nbf`` hold on our clock, with five minutes of skew;
- ``oid`` and ``preferred_username`` (or ``upn``) name the user, who becomes the organizer.

The metadata and keys are fetched and kept as `keycache` says (lazily, a day, refetched for an
unknown key at most once a minute, outages not asked once per call). A key entry that does not
parse is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import jwt
import structlog

from vmrsched.domain.signing_keys import jwks_signing_keys
from vmrsched.web.keycache import JsonFetcher, KeyCache, KeySet, KeysUnavailableError

if TYPE_CHECKING:
    import ssl

    from vmrsched.service.clock import Clock

log = structlog.get_logger(__name__)

__all__ = ["KeysUnavailableError", "SignInError", "TokenRules", "TokenVerifier", "User"]

#: Clock skew tolerated on ``exp``/``nbf``.
SKEW: Final = timedelta(minutes=5)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ALG_NAME = re.compile(r"[A-Za-z0-9]{1,12}")
_FETCH_ERRORS = (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError, jwt.PyJWTError)


class SignInError(Exception):
    """The caller is not signed in usably; ``reason`` is plain words (no token content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class User:
    """A signed-in user: the organizer of what they reserve."""

    email: str
    object_id: str
    tenant_id: str


@dataclass(frozen=True, kw_only=True)
class TokenRules:
    """What a token must say to be accepted."""

    tenant_id: str
    audiences: frozenset[str]
    scope: str
    client_id: str = ""
    authority_url: str = "https://login.microsoftonline.com"

    @property
    def metadata_url(self) -> str:
        """The tenant's v2.0 OpenID Connect metadata document."""
        base = self.authority_url.rstrip("/")
        return f"{base}/{self.tenant_id}/v2.0/.well-known/openid-configuration"

    @property
    def issuers(self) -> frozenset[str]:
        """The v1.0 issuer (the v2.0 one comes from the metadata)."""
        return frozenset({f"https://sts.windows.net/{self.tenant_id}/"})


class TokenVerifier:
    """Checks bearer tokens of one tenant; fetches its keys lazily (see the module docstring)."""

    def __init__(
        self, rules: TokenRules, clock: Clock, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.rules = rules
        self._clock = clock
        self._http = JsonFetcher(ssl_context)
        self._keys = KeyCache(self._fetch, clock, name="the tenant's keys")

    async def close(self) -> None:
        """Close the HTTP session used for the keys."""
        await self._http.close()

    async def verify(self, token: str) -> User:
        """The user ``token`` speaks for; SignInError when it must be refused."""
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, RecursionError):  # RecursionError: JSON nested too deep
            raise SignInError("the token is not a JWT") from None
        alg = header.get("alg")
        if alg != "RS256":
            # The name is the caller's text: quote it only when it is a plausible algorithm name.
            shown = repr(alg) if isinstance(alg, str) and _ALG_NAME.fullmatch(alg) else "that alg"
            raise SignInError(f"tokens signed with {shown} are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise SignInError("the token names no signing key")
        key = await self._keys.key(kid)
        if key is None:
            raise SignInError("the token is signed by a key the tenant does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,  # checked below on our clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["iss", "aud", "exp", "nbf", "tid"],
                },
            )
        except jwt.InvalidSignatureError:
            raise SignInError("the token's signature does not match") from None
        except jwt.PyJWTError as exc:
            raise SignInError(f"the token is not valid: {exc}") from None
        return self._check(claims)

    def _check(self, claims: dict[str, Any]) -> User:
        rules = self.rules
        if claims["iss"] not in rules.issuers | {self._keys.issuer}:
            raise SignInError("the token comes from another issuer")
        if str(claims["tid"]).lower() != rules.tenant_id.lower():
            raise SignInError("the token belongs to another tenant")
        if claims["aud"] not in rules.audiences:
            raise SignInError("the token is meant for another API")
        client = claims.get("azp") or claims.get("appid")
        if rules.client_id and str(client).lower() != rules.client_id.lower():
            raise SignInError("the token was issued to another app")
        scopes = str(claims.get("scp", "")).split()
        if rules.scope not in scopes:
            raise SignInError(f"the token lacks the scope {rules.scope}")
        now = self._clock()
        try:
            expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
            not_before = datetime.fromtimestamp(int(claims["nbf"]), UTC)
        except (TypeError, ValueError, OverflowError):
            raise SignInError("the token's lifetime is unreadable") from None
        if now >= expires + SKEW:
            raise SignInError("the token has expired")
        if now + SKEW < not_before:
            raise SignInError("the token is not valid yet")
        email = claims.get("preferred_username") or claims.get("upn") or ""
        oid = claims.get("oid") or ""
        if not isinstance(email, str) or not _EMAIL.fullmatch(email) or not oid:
            raise SignInError("the token names no user with an e-mail address")
        return User(email=email, object_id=str(oid), tenant_id=str(claims["tid"]))

    async def _fetch(self) -> KeySet:
        url = self.rules.metadata_url
        try:
            metadata = await self._http.get(url)
            issuer = metadata.get("issuer", "")
            jwks = await self._http.get(str(metadata["jwks_uri"]))
            keys = _rsa_keys(jwks.get("keys", []))
            if not keys:
                raise ValueError("the key set holds no usable RSA key")
        except _FETCH_ERRORS as exc:
            log.warning("signin_keys_unavailable", url=url, error=f"{type(exc).__name__}: {exc}")
            raise KeysUnavailableError(f"cannot read the tenant's keys from {url}") from exc
        log.info("signin_keys_fetched", url=url, keys=len(keys))
        return KeySet(keys=keys, issuer=str(issuer).replace("{tenantid}", self.rules.tenant_id))


def _rsa_keys(entries: object) -> dict[str, Any]:
    """The RSA signing keys of a JWKS ``keys`` list by ``kid``; an entry that does not parse is
    skipped (and logged), so one odd key cannot lock every user out."""
    found = jwks_signing_keys(entries)
    for kid, error in found.skipped:
        log.warning("signin_key_skipped", kid=kid, error=error)
    return found.keys
