"""Exchange user identity tokens: how Exchange Server on-premises signs an add-in's user in.

Outlook gets the token from Exchange (``Office.context.mailbox.getUserIdentityTokenAsync``, EWS
``GetClientAccessToken`` with ``CallerIdentity``); the add-in sends it as ``Authorization:
Bearer``. A token is accepted only when all of these hold (Microsoft's rules,
https://learn.microsoft.com/office/dev/add-ins/outlook/validate-an-identity-token and
.../inside-the-identity-token):

- the header says ``typ: JWT``, ``alg: RS256`` and carries ``x5t``, the certificate thumbprint;
- the ``appctx`` claim (a JSON text, or an object) says ``version: ExIdTok.V1`` and names the
  user's Exchange id (``msexchuid``) and the server's authentication metadata document
  (``amurl``);
- ``amurl`` is one of ``[addin] exchange_metadata_urls``: Microsoft requires the back end to
  know which Exchange it trusts, and nothing else is ever fetched (a token cannot make us call an
  address of its choosing);
- it is signed (RS256) by the certificate of that document whose SHA-1 thumbprint is the
  header's ``x5t``, and that certificate is within its validity dates now; the thumbprint is
  computed from the certificate itself, not read from the document's ``keyinfo`` (whose field
  name Microsoft's pages give both as ``x5t`` and ``x5tThumbprint``);
- ``aud`` is the add-in's URL (the manifest's task pane, the first ``SourceLocation`` of its
  ``FormSettings``), ``iss`` is Exchange's (``00000002-0000-0ff1-ce00-000000000000@...``);
- ``nbf``/``exp`` (numbers or decimal strings) hold on our clock, with five minutes of skew.

The user is ``msexchuid`` at ``amurl`` (Microsoft's unique id is the two together). The token
names no e-mail address: the add-in names the organizer, and the reservation records it as a
*claim*, which the engine honours only for meetings that organizer sends
(``docs/explanation/reservation-organizers.md``).

The documents are fetched and kept as `keycache` says.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import jwt
import structlog

from vmrsched.domain.signing_keys import signing_certificates
from vmrsched.web.keycache import JsonFetcher, KeyCache, KeySet, KeysUnavailableError
from vmrsched.web.signin import SKEW, SignInError

if TYPE_CHECKING:
    import ssl

    from vmrsched.domain.signing_keys import SigningCertificate
    from vmrsched.service.clock import Clock

log = structlog.get_logger(__name__)

#: Exchange's well-known application id: the issuer is ``<this>@<realm>``.
EXCHANGE_APP: Final = "00000002-0000-0ff1-ce00-000000000000"
VERSION: Final = "ExIdTok.V1"
_X5T = re.compile(r"[A-Za-z0-9_-]{27}")  # base64url of a 20-byte SHA-1, unpadded
_FETCH_ERRORS = (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class ExchangeUser:
    """A user Exchange vouches for: their Exchange id at one Exchange organization."""

    exchange_id: str
    metadata_url: str

    @property
    def unique_id(self) -> str:
        """A stable key for the user (rate limits, logs): a hash of the id and the server."""
        joined = f"{self.exchange_id}\n{self.metadata_url}".encode()
        return "exchange:" + hashlib.sha256(joined).hexdigest()[:32]


def normal_url(url: str) -> str:
    """``url`` compared as Exchange writes it: scheme and host lower-case, no default port.

    ``https://Mail.Contoso.com:443/autodiscover/metadata/json/1`` and
    ``https://mail.contoso.com/autodiscover/metadata/json/1`` are the same document.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"https": 443, "http": 80}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


@dataclass(frozen=True, kw_only=True)
class ExchangeTokenRules:
    """What an Exchange identity token must say to be accepted."""

    metadata_urls: frozenset[str]  # as written in the settings; compared by `normal_url`
    audience: str  # the add-in's URL


class ExchangeTokenVerifier:
    """Checks Exchange identity tokens against the trusted servers' certificates."""

    def __init__(
        self, rules: ExchangeTokenRules, clock: Clock, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.rules = rules
        self._clock = clock
        self._http = JsonFetcher(ssl_context)
        # One cache per trusted server, made up front: a token cannot add entries.
        self._caches = {
            normal_url(url): KeyCache(self._fetcher(url), clock, name=f"Exchange metadata {url}")
            for url in rules.metadata_urls
        }

    async def close(self) -> None:
        """Close the HTTP session used for the metadata documents."""
        await self._http.close()

    async def verify(self, token: str) -> ExchangeUser:
        """The user ``token`` speaks for; SignInError when it must be refused."""
        try:
            header = jwt.get_unverified_header(token)
            claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, RecursionError):  # RecursionError: JSON nested too deep
            raise SignInError("the token is not a JWT") from None
        if str(header.get("typ", "JWT")).upper() != "JWT" or header.get("alg") != "RS256":
            raise SignInError("Exchange identity tokens are signed with RS256")
        x5t = header.get("x5t")
        if not isinstance(x5t, str) or not _X5T.fullmatch(x5t):
            raise SignInError("the token names no signing certificate (x5t)")
        context = _app_context(claims.get("appctx"))
        metadata_url = normal_url(context["amurl"])
        cache = self._caches.get(metadata_url)
        if cache is None:
            raise SignInError("the token comes from an Exchange server this service does not trust")
        certificate = await cache.key(x5t)
        if certificate is None:
            raise SignInError("the token is signed by a certificate its Exchange does not publish")
        if not certificate.valid_at(self._clock()):
            raise SignInError("the token is signed by a certificate outside its validity dates")
        try:
            jwt.decode(
                token,
                certificate.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,  # checked below on our clock, also as strings
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["aud", "iss", "exp", "nbf"],
                },
            )
        except jwt.InvalidSignatureError:
            raise SignInError("the token's signature does not match") from None
        except jwt.PyJWTError as exc:
            raise SignInError(f"the token is not valid: {exc}") from None
        self._check(claims)
        return ExchangeUser(exchange_id=context["msexchuid"], metadata_url=metadata_url)

    def _check(self, claims: dict[str, Any]) -> None:
        if claims["aud"] != self.rules.audience:
            raise SignInError("the token is meant for another add-in")
        if not str(claims["iss"]).startswith(f"{EXCHANGE_APP}@"):
            raise SignInError("the token was not issued by Exchange")
        now = self._clock()
        try:
            expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
            not_before = datetime.fromtimestamp(int(claims["nbf"]), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise SignInError("the token's lifetime is unreadable") from None
        if now >= expires + SKEW:
            raise SignInError("the token has expired")
        if now + SKEW < not_before:
            raise SignInError("the token is not valid yet")

    def _fetcher(self, url: str) -> Any:
        async def fetch() -> KeySet:
            try:
                document = await self._http.get(url)
                keys = certificate_keys(document.get("keys", []))
                if not keys:
                    raise ValueError("the document holds no usable signing certificate")
            except _FETCH_ERRORS as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("exchange_metadata_unavailable", url=url, error=error)
                raise KeysUnavailableError(f"cannot read Exchange's metadata from {url}") from exc
            log.info("exchange_metadata_fetched", url=url, keys=len(keys))
            return KeySet(keys=keys, issuer=str(document.get("issuer", "")))

        return fetch


def _app_context(value: object) -> dict[str, str]:
    """The ``appctx`` claim's fields; SignInError when it is not an Exchange identity token's."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise SignInError("the token's appctx claim is not JSON") from None
    if not isinstance(value, dict):
        raise SignInError("the token is not an Exchange identity token (no appctx)")
    if value.get("version") != VERSION:
        raise SignInError(f"the token is not an Exchange identity token of version {VERSION}")
    found = {key: value.get(key) for key in ("msexchuid", "amurl")}
    if not all(isinstance(item, str) and item.strip() for item in found.values()):
        raise SignInError("the token does not name its user and its Exchange (msexchuid, amurl)")
    return {key: str(item).strip() for key, item in found.items()}


def certificate_keys(entries: object) -> dict[str, SigningCertificate]:
    """A metadata document's RSA signing certificates by SHA-1 thumbprint (base64url, as a
    token's ``x5t``). An entry that does not parse is skipped (and logged)."""
    found = signing_certificates(entries)
    for error in found.skipped:
        log.warning("exchange_certificate_skipped", error=error)
    return {certificate.thumbprint: certificate for certificate in found.certificates}
