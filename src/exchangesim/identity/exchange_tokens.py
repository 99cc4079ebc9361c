"""Exchange user identity tokens and the authentication metadata document that publishes their key.

Outlook add-ins on Exchange on-premises call ``Office.context.mailbox.getUserIdentityTokenAsync``;
Outlook obtains the token with EWS ``GetClientAccessToken`` (TokenType ``CallerIdentity``) and
the add-in's back end checks it with the certificate in Exchange's authentication metadata
document. Sources: learn.microsoft.com/office/dev/add-ins/outlook/inside-the-identity-token and
.../validate-an-identity-token; Microsoft's sample OfficeDev/Outlook-Add-In-Token-Viewer.

The token (the documented example, field for field):

- header ``{"typ": "JWT", "alg": "RS256", "x5t": <SHA-1 thumbprint of the certificate>}``;
- payload ``aud`` (the add-in's URL), ``iss`` and ``appctxsender``
  (``00000002-0000-0ff1-ce00-000000000000@<realm>``), ``nbf`` and ``exp`` as decimal *strings*
  eight hours apart (the example's exp - nbf = 28800 s), ``isbrowserhostedapp`` "true", and
  ``appctx``: a string holding JSON ``{"msexchuid", "version": "ExIdTok.V1", "amurl"}``.

The signing certificate is the simulator's "Exchange Server Auth Certificate": RSA-2048,
self-signed, made on first use and kept for the life of the simulator (like the Entra signing
key, it is made afresh at each start unless a key file is given). The realm is the tenant's
domain. ``msexchuid`` is a GUID derived from the tenant and the mailbox, stable across restarts.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import jwt
from cryptography.hazmat.primitives import serialization

from exchangesim.identity.keys import SigningKey, generate_signing_key, load_signing_key
from exchangesim.identity.tokens import read_clock

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from exchangesim.identity.tokens import Clock

#: The well-known application id of Exchange (the "principal" part of iss / appctxsender).
EXCHANGE_SERVICE_ID: Final = "00000002-0000-0ff1-ce00-000000000000"
#: Where Exchange serves its authentication metadata document (the token's ``amurl``).
METADATA_PATH: Final = "/autodiscover/metadata/json/1"
#: Lifetime of an identity token: the documented example's exp - nbf (28800 s).
IDENTITY_TOKEN_LIFETIME: Final = timedelta(hours=8)
#: ``appctx.version`` of an Exchange user identity token.
TOKEN_VERSION: Final = "ExIdTok.V1"  # noqa: S105 (a format version, not a secret)
#: The subject of the self-signed certificate Exchange setup makes for OAuth.
AUTH_CERT_SUBJECT: Final = "Microsoft Exchange Server Auth Certificate"
_UID_NAMESPACE: Final = uuid.UUID("6d0c7f3a-2b8e-4f61-a9d4-3e5b17c80f29")


def metadata_url(scheme: str, host: str, port: int) -> str:
    """``amurl``: ``https://host:443/autodiscover/metadata/json/1``, with the port always written,
    as in Microsoft's example (an IPv6 host is bracketed)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{shown}:{port}{METADATA_PATH}"


def exchange_uid(tenant_id: str, mailbox_key: str) -> str:
    """``msexchuid``: a GUID stable for one mailbox of one tenant (``mailbox_key`` is the
    mailbox's object id, or its address when it has none)."""
    return str(uuid.uuid5(_UID_NAMESPACE, f"{tenant_id}/{mailbox_key}".casefold()))


class ExchangeAuth:
    """Exchange's OAuth identity for one organization: its auth certificate, the identity
    tokens it signs and the metadata document that publishes the certificate."""

    def __init__(
        self,
        realm: str,
        clock: Clock,
        *,
        key: SigningKey | None = None,
        key_path: Path | None = None,
    ) -> None:
        self.realm = realm
        self.clock = clock
        self._key = key
        self._key_path = key_path
        self._lock = threading.Lock()

    @property
    def key(self) -> SigningKey:
        """The auth certificate and its key, made (or loaded) on first use."""
        with self._lock:
            if self._key is None:
                now = read_clock(self.clock)
                self._key = (
                    load_signing_key(self._key_path, now, common_name=AUTH_CERT_SUBJECT)
                    if self._key_path is not None
                    else generate_signing_key(now, common_name=AUTH_CERT_SUBJECT)
                )
            return self._key

    @property
    def issuer(self) -> str:
        """``00000002-0000-0ff1-ce00-000000000000@<realm>``."""
        return f"{EXCHANGE_SERVICE_ID}@{self.realm}"

    def mint_identity_token(self, *, audience: str, uid: str, amurl: str) -> tuple[str, datetime]:
        """A signed identity token for the add-in at ``audience`` and the mailbox ``uid``;
        returns it with its expiry (on the simulator's clock)."""
        now = read_clock(self.clock)
        not_before = int(now.timestamp())
        expires = not_before + int(IDENTITY_TOKEN_LIFETIME.total_seconds())
        app_context = {"msexchuid": uid, "version": TOKEN_VERSION, "amurl": amurl}
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer,
            # Decimal strings, not numbers, as in Microsoft's documented example.
            "nbf": str(not_before),
            "exp": str(expires),
            "appctxsender": self.issuer,
            "isbrowserhostedapp": "true",
            # A string holding JSON: the validation article parses appctx a second time.
            "appctx": json.dumps(app_context, separators=(",", ":")),
        }
        token = jwt.encode(
            claims,
            self.key.private_key,
            algorithm="RS256",
            headers={"typ": "JWT", "x5t": self.key.x5t},
            sort_headers=False,
        )
        return token, now + IDENTITY_TOKEN_LIFETIME

    def metadata(self, amurl: str) -> dict[str, Any]:
        """The authentication metadata document served at ``amurl``."""
        key = self.key
        der = key.certificate.public_bytes(serialization.Encoding.DER)
        return {
            # Stable while the certificate is: derived from its thumbprint.
            "id": f"_{uuid.uuid5(_UID_NAMESPACE, key.x5t)}",
            "version": "1.0",
            "name": "Exchange",
            "realm": self.realm,
            "serviceName": EXCHANGE_SERVICE_ID,
            "issuer": self.issuer,
            "allowedAudiences": [self.issuer],
            "keys": [
                {
                    "usage": "signing",
                    "keyinfo": {"x5t": key.x5t},
                    "keyvalue": {
                        "type": "x509Certificate",
                        "value": base64.b64encode(der).decode("ascii"),
                    },
                }
            ],
            "endpoints": [{"location": amurl, "protocol": "OAuth2", "usage": "metadata"}],
        }
