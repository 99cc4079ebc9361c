"""An Exchange server's signing certificate and metadata document, and tokens made like its own.

The validator's tests need tokens an attacker would make as well as good ones, so they are
signed here with a certificate made for the test, in the shape Microsoft documents
(learn.microsoft.com/office/dev/add-ins/outlook/inside-the-identity-token: string ``nbf``/``exp``,
``appctx`` as JSON text). exchangesim's own tokens are tested with vmrsched in
``test_addin_exchange_identity_with_exchangesim.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

EXCHANGE_APP = "00000002-0000-0ff1-ce00-000000000000"
METADATA_PATH = "/autodiscover/metadata/json/1"
AUDIENCE = "https://vmrsched.contoso.com/addin/taskpane.html"
EXCHANGE_ID = "53e925fa-76ba-45e1-be0f-4ef08b59d389"


@dataclass(frozen=True)
class Certificate:
    """An RSA key and its self-signed certificate, as Exchange's auth certificate is."""

    key: rsa.RSAPrivateKey
    der: bytes

    @property
    def x5t(self) -> str:
        digest = hashlib.sha1(self.der, usedforsecurity=False).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def entry(self, *, x5t: str | None = None) -> dict[str, Any]:
        """The metadata document's ``keys`` entry for this certificate."""
        return {
            "usage": "signing",
            "keyinfo": {"x5t": x5t or self.x5t},
            "keyvalue": {"type": "x509Certificate", "value": base64.b64encode(self.der).decode()},
        }


def make_certificate(
    now: datetime, name: str = "Microsoft Exchange Server Auth Certificate"
) -> Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 5))
        .sign(key, hashes.SHA256())
    )
    return Certificate(key=key, der=cert.public_bytes(serialization.Encoding.DER))


@dataclass
class ExchangeHost:
    """What the fake Exchange publishes, and the paths it was asked for."""

    certificates: list[Certificate]
    realm: str = "mail.contoso.com"
    status: int = 200
    requests: list[str] = field(default_factory=list)

    def document(self, amurl: str) -> dict[str, Any]:
        issuer = f"{EXCHANGE_APP}@{self.realm}"
        return {
            "id": "_70b34511-d105-4e2b-9675-39f53305bb01",
            "version": "1.0",
            "name": "Exchange",
            "realm": self.realm,
            "serviceName": EXCHANGE_APP,
            "issuer": issuer,
            "allowedAudiences": [issuer],
            "keys": [cert.entry() for cert in self.certificates],
            "endpoints": [{"location": amurl, "protocol": "OAuth2", "usage": "metadata"}],
        }


def identity_token(
    certificate: Certificate,
    amurl: str,
    now: datetime,
    *,
    audience: str = AUDIENCE,
    lifetime: timedelta = timedelta(hours=8),
    header: dict[str, Any] | None = None,
    appctx: Any = None,
    **claims: Any,
) -> str:
    """A token as Exchange makes it (``claims`` override or add payload fields)."""
    issuer = f"{EXCHANGE_APP}@mail.contoso.com"
    context = {"msexchuid": EXCHANGE_ID, "version": "ExIdTok.V1", "amurl": amurl}
    payload: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "nbf": str(int(now.timestamp())),
        "exp": str(int((now + lifetime).timestamp())),
        "appctxsender": issuer,
        "isbrowserhostedapp": "true",
        "appctx": json.dumps(context) if appctx is None else appctx,
        **claims,
    }
    headers = {"typ": "JWT", "alg": "RS256", "x5t": certificate.x5t, **(header or {})}
    return jwt.encode(payload, certificate.key, algorithm="RS256", headers=headers)
