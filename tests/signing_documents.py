"""Signing certificates and the documents that publish them, made for tests with `cryptography`:
Exchange authentication metadata documents (the shape exchangesim and Exchange serve) and JWKS
entries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

AUTH_SUBJECT = "Microsoft Exchange Server Auth Certificate"
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(
    *,
    expires_in: timedelta,
    valid_for: timedelta = timedelta(days=5 * 365),
    now: datetime | None = None,
    subject: str = AUTH_SUBJECT,
    elliptic: bool = False,
) -> x509.Certificate:
    """A self-signed certificate that expires ``expires_in`` from ``now`` (default: the real
    time) after ``valid_for``; RSA-2048 unless ``elliptic``."""
    now = now or datetime.now(UTC)
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        ec.generate_private_key(ec.SECP256R1()) if elliptic else _RSA_KEY
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    not_after = now + expires_in
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - valid_for)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def certificate_entry(cert: x509.Certificate, *, usage: str = "signing") -> dict[str, Any]:
    """``cert`` as an entry of a metadata document's ``keys``."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "usage": usage,
        "keyinfo": {"x5t": "not-read"},
        "keyvalue": {"type": "x509Certificate", "value": base64.b64encode(der).decode("ascii")},
    }


def metadata_document(
    *entries: dict[str, Any], url: str = "https://mail.contoso.com"
) -> dict[str, Any]:
    """An Exchange authentication metadata document with these ``keys`` entries."""
    issuer = "00000002-0000-0ff1-ce00-000000000000@contoso.com"
    return {
        "id": "_d5ea3ab0-7c4b-4b0e-a9b1-1c2d3e4f5a6b",
        "version": "1.0",
        "name": "Exchange",
        "realm": "contoso.com",
        "serviceName": "00000002-0000-0ff1-ce00-000000000000",
        "issuer": issuer,
        "allowedAudiences": [issuer],
        "keys": list(entries),
        "endpoints": [
            {
                "location": f"{url}:443/autodiscover/metadata/json/1",
                "protocol": "OAuth2",
                "usage": "metadata",
            }
        ],
    }


def rsa_jwk(kid: str, **extra: str) -> dict[str, Any]:
    """An RSA public key as a JWKS entry (``use: sig`` unless ``extra`` says otherwise)."""
    numbers = _RSA_KEY.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": b64(numbers.n),
        "e": b64(numbers.e),
    } | extra
