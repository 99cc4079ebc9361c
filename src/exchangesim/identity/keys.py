"""The token-signing key: RSA-2048 with a self-signed certificate, as Entra publishes its keys.

Entra's JWKS entries carry the certificate (``x5c``) and its SHA-1 thumbprint (``x5t``), and for
v1 tokens the key id ``kid`` equals ``x5t``. We do the same, so clients that look keys up either
way find ours. A key is made fresh per simulator start unless a path is given, in which case it
is loaded from there (and written there the first time).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

# The subject Entra's own signing certificates carry.
_SUBJECT = "accounts.accesscontrol.windows.net"
_VALIDITY = timedelta(days=5 * 365)


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key with the self-signed certificate that publishes it."""

    private_key: RSAPrivateKey
    certificate: x509.Certificate

    @property
    def public_key(self) -> RSAPublicKey:
        """The public half, for verification."""
        return self.private_key.public_key()

    @property
    def x5t(self) -> str:
        """The certificate's SHA-1 thumbprint, base64url (``x5t``)."""
        return b64url(self.certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - x5t is SHA-1 by definition (RFC 7515)

    @property
    def kid(self) -> str:
        """The key id; Entra uses the thumbprint."""
        return self.x5t

    def jwk(self, issuer: str | None = None) -> dict[str, Any]:
        """The key as a JWKS entry; v2 key sets add the ``issuer`` it signs for."""
        numbers = self.public_key.public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        entry: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
        }
        if issuer is not None:
            entry["issuer"] = issuer
        return entry


def generate_signing_key(now: datetime, *, common_name: str = _SUBJECT) -> SigningKey:
    """A new RSA-2048 key and a certificate valid from a day before ``now`` for five years.

    ``common_name`` is the certificate's subject (and issuer) CN: Entra's by default.
    """
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .sign(private_key, hashes.SHA256())
    )
    return SigningKey(private_key, certificate)


def load_signing_key(path: Path, now: datetime, *, common_name: str = _SUBJECT) -> SigningKey:
    """The key stored at ``path`` (PEM key, then PEM certificate); made and saved if absent."""
    if path.exists():
        data = path.read_bytes()
        private_key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError(f"{path}: not an RSA private key")
        return SigningKey(private_key, x509.load_pem_x509_certificate(data))
    key = generate_signing_key(now, common_name=common_name)
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + key.certificate.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key
