"""Signing keys read from published documents: Exchange metadata certificates and JWKS keys."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization

from signing_documents import AUTH_SUBJECT, certificate, certificate_entry, rsa_jwk
from vmrsched.domain.signing_keys import (
    MAX_CERTIFICATES,
    jwks_signing_keys,
    signing_certificates,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_a_signing_certificate_is_read_with_its_thumbprint_subject_and_validity() -> None:
    """The thumbprint is the base64url SHA-1 of the DER (a token's x5t), computed, not read."""
    cert = certificate(expires_in=timedelta(days=10), now=NOW)
    found = signing_certificates([certificate_entry(cert)])
    assert found.skipped == ()
    (read,) = found.certificates
    der = cert.public_bytes(serialization.Encoding.DER)
    x5t = base64.urlsafe_b64encode(hashlib.sha1(der, usedforsecurity=False).digest())
    assert read.thumbprint == x5t.rstrip(b"=").decode()
    assert read.subject == f"CN={AUTH_SUBJECT}"
    assert read.not_after == NOW + timedelta(days=10)
    assert read.valid_at(NOW)
    assert not read.valid_at(NOW + timedelta(days=11))
    assert not read.valid_at(read.not_before - timedelta(seconds=1))


def test_entries_that_are_not_signing_certificates_are_ignored_and_broken_ones_named() -> None:
    """Encryption entries and other key types are not signing certificates; a certificate that
    does not decode, or holds an EC key, is skipped and named (the rest are still read)."""
    good = certificate_entry(certificate(expires_in=timedelta(days=90), now=NOW))
    encryption = certificate_entry(certificate(expires_in=timedelta(days=90)), usage="encryption")
    symmetric = {"usage": "signing", "keyvalue": {"type": "symmetric", "value": "AAAA"}}
    garbage = {"usage": "signing", "keyvalue": {"type": "x509Certificate", "value": "%%%"}}
    elliptic = certificate_entry(certificate(expires_in=timedelta(days=90), elliptic=True))
    found = signing_certificates([encryption, symmetric, garbage, "text", elliptic, good])
    assert len(found.certificates) == 1
    assert found.skipped == ("Error", "not an RSA key")


def test_a_document_without_a_key_list_has_no_certificates() -> None:
    """``keys`` missing, not a list, or empty: nothing, and nothing skipped."""
    for entries in (None, {}, "keys", []):
        assert signing_certificates(entries).certificates == ()


def test_at_most_sixteen_certificates_are_read() -> None:
    """A document cannot make the reader parse without bound."""
    entry = certificate_entry(certificate(expires_in=timedelta(days=90)))
    assert len(signing_certificates([entry] * 40).certificates) == MAX_CERTIFICATES


def test_jwks_rsa_signing_keys_are_read_by_kid_and_others_left_out() -> None:
    """RSA keys for signing count; encryption keys, other key types and keys without kid do
    not; an RSA key that does not parse is skipped and named by its kid."""
    entries = [
        rsa_jwk("good"),
        {k: v for k, v in rsa_jwk("no-use").items() if k != "use"},
        rsa_jwk("enc", use="enc"),
        {"kty": "EC", "kid": "ec", "crv": "P-256"},
        {k: v for k, v in rsa_jwk("nokid").items() if k != "kid"},
        rsa_jwk("broken", n="%%%"),
    ]
    found = jwks_signing_keys(entries)
    assert set(found.keys) == {"good", "no-use"}
    assert [kid for kid, _ in found.skipped] == ["broken"]
    assert jwks_signing_keys(None).keys == {}
