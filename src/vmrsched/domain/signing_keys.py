"""Signing keys in the documents identity providers publish, read without any IO.

Two shapes, one per sign-in of the add-in (docs/reference/addin-api.md):

- a JSON Web Key Set (Entra ID's ``jwks_uri``): RSA keys by ``kid`` (`jwks_signing_keys`);
- Exchange Server's authentication metadata document
  (``https://mail.contoso.com/autodiscover/metadata/json/1``): its ``keys`` list holds X.509
  certificates, base64 DER, with ``usage: signing`` (`signing_certificates`). An identity token
  names its certificate by SHA-1 thumbprint (``x5t``, base64url, unpadded); the thumbprint is
  computed from the certificate itself, never read from the document's ``keyinfo``.

The sign-in (`vmrsched.web.signin`, `vmrsched.web.exchange_identity`) and the doctor
(`vmrsched.service.doctor_addin`) read the documents with these same functions, so the doctor
judges exactly the keys the sign-in would use. An entry that does not parse is skipped and
named in ``skipped`` (one odd entry must not lock every user out).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

if TYPE_CHECKING:
    from datetime import datetime

#: At most this many certificates of one metadata document are read.
MAX_CERTIFICATES: Final = 16


@dataclass(frozen=True)
class SigningCertificate:
    """One signing certificate of an Exchange authentication metadata document."""

    thumbprint: str  # base64url SHA-1 of the DER, unpadded: a token's ``x5t``
    subject: str
    not_before: datetime
    not_after: datetime
    public_key: RSAPublicKey

    def valid_at(self, now: datetime) -> bool:
        """Whether ``now`` is within the certificate's validity."""
        return self.not_before <= now <= self.not_after


@dataclass(frozen=True)
class Certificates:
    """The usable signing certificates of a document, and why other entries were skipped."""

    certificates: tuple[SigningCertificate, ...] = ()
    skipped: tuple[str, ...] = field(default=())


def signing_certificates(entries: object) -> Certificates:
    """The RSA signing certificates in a metadata document's ``keys`` (anything else: none).

    Entries whose ``usage`` is not ``signing`` or whose ``keyvalue`` is not an
    ``x509Certificate`` are not signing certificates and are ignored silently; a certificate
    that does not decode, or holds no RSA key, is skipped and named in ``skipped``.
    """
    found: list[SigningCertificate] = []
    skipped: list[str] = []
    for entry in entries[:MAX_CERTIFICATES] if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("usage", "signing") != "signing":
            continue
        value = entry.get("keyvalue")
        if not isinstance(value, dict) or value.get("type") != "x509Certificate":
            continue
        try:
            der = base64.b64decode(str(value.get("value", "")), validate=True)
            certificate = x509.load_der_x509_certificate(der)
            public = certificate.public_key()
        except (binascii.Error, ValueError) as exc:
            skipped.append(type(exc).__name__)
            continue
        if not isinstance(public, RSAPublicKey):
            skipped.append("not an RSA key")
            continue
        digest = hashlib.sha1(der, usedforsecurity=False).digest()
        found.append(
            SigningCertificate(
                thumbprint=base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                subject=certificate.subject.rfc4514_string(),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                public_key=public,
            )
        )
    return Certificates(tuple(found), tuple(skipped))


@dataclass(frozen=True)
class KeySetKeys:
    """The RSA signing keys of a JWKS by ``kid``, and the skipped entries as (kid, why)."""

    keys: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()


def jwks_signing_keys(entries: object) -> KeySetKeys:
    """The RSA keys of a JWKS ``keys`` list that can check RS256 signatures, by ``kid``.

    Keys of another type, without a ``kid`` or meant for encryption (``use: enc``) are not
    signing keys and are ignored; an RSA key that does not parse is skipped and named.
    """
    keys: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    for jwk in entries if isinstance(entries, list) else ():
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[str(jwk["kid"])] = jwt.PyJWK.from_dict(jwk, algorithm="RS256").key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            skipped.append((str(jwk["kid"]), type(exc).__name__))
    return KeySetKeys(keys, tuple(skipped))
