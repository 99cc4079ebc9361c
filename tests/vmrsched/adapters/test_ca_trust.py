"""``[exchange] ca_bundle`` adds CAs to the default ones, it does not replace them.

An on-premises Exchange with a private CA is reached together with Entra ID (the token endpoint
under Hybrid Modern Authentication, the add-in's keys), whose certificates chain to public roots:
both must be trusted at once.
"""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vmrsched.adapters.auth.transport import PinnedCaAdapter, trusted_bundle, trusting_context

BEGIN = "-----BEGIN CERTIFICATE-----"


def certificates_in(path: str | Path) -> int:
    return Path(path).read_text(encoding="ascii").count(BEGIN)


def private_ca(folder: Path, name: str = "Contoso Private Root") -> Path:
    """A PEM file holding one self-signed CA certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_the_bundle_verified_against_holds_the_default_cas_and_the_private_one(
    tmp_path: Path,
) -> None:
    """requests' default CAs (certifi) and the configured file's, in one PEM file."""
    extra = private_ca(tmp_path)
    combined = trusted_bundle(extra)
    defaults = certificates_in(certifi.where())
    assert defaults > 100
    assert certificates_in(combined) == defaults + 1
    assert (
        Path(combined)
        .read_text(encoding="ascii")
        .rstrip()
        .endswith(extra.read_text(encoding="ascii").strip())
    )


def test_the_combined_bundle_follows_changes_to_the_configured_file(tmp_path: Path) -> None:
    """The same file gives the same bundle; a replaced CA file gives a new one."""
    extra = private_ca(tmp_path)
    first = trusted_bundle(extra)
    assert trusted_bundle(extra) == first
    replacement = private_ca(tmp_path, "Contoso Private Root 2")
    extra.write_bytes(replacement.read_bytes() * 2)
    stat = extra.stat()
    os.utime(extra, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = trusted_bundle(extra)
    assert second != first
    assert certificates_in(second) == certificates_in(first) + 1


def test_the_adapter_verifies_against_the_combined_bundle(tmp_path: Path) -> None:
    """The requests adapter (token endpoint, EWS, Graph, the doctor's reads) pins the combined
    file, not the private CA alone; without a setting it leaves requests' default."""
    extra = private_ca(tmp_path)
    assert PinnedCaAdapter(extra)._verify == trusted_bundle(extra)
    assert PinnedCaAdapter(None)._verify is None


def test_the_aiohttp_context_trusts_the_system_cas_and_the_private_one(tmp_path: Path) -> None:
    """The add-in's key fetches (aiohttp) trust one CA more than the system's default context."""
    extra = private_ca(tmp_path)
    base = ssl.create_default_context().cert_store_stats()["x509_ca"]
    assert trusting_context(extra).cert_store_stats()["x509_ca"] == base + 1
    assert trusting_context(None).cert_store_stats()["x509_ca"] == base
