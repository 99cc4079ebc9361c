"""A private certificate authority and a server certificate for serving exchangesim over HTTPS.

Real clients insist on HTTPS (exchangelib refuses OAuth over `http://`, REFERENCES.md §4), so
the simulator makes its own CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and
the host it listens on. Clients trust the CA through `REQUESTS_CA_BUNDLE` (requests, exchangelib,
msal) or `SSL_CERT_FILE` (httpx, aiohttp, azure-identity). The files are kept in a folder and
reused while they are valid and name the host, so a client configured once keeps working.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from collections.abc import Iterable

CA_FILE: Final = "exchangesim-ca.pem"
CERT_FILE: Final = "exchangesim-server.pem"
KEY_FILE: Final = "exchangesim-server-key.pem"
CA_KEY_FILE: Final = "exchangesim-ca-key.pem"

DEFAULT_HOSTS: Final = ("localhost", "127.0.0.1", "::1")
_CA_LIFETIME: Final = dt.timedelta(days=3650)
_CERT_LIFETIME: Final = dt.timedelta(days=397)  # the longest lifetime browsers accept
_RENEW_BEFORE: Final = dt.timedelta(days=7)


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files: the CA certificate clients trust, and the server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def default_cert_dir() -> Path:
    """`$XDG_CACHE_HOME/exchangesim/tls` (default `~/.cache/exchangesim/tls`)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "exchangesim" / "tls"


def hosts_for(listen_host: str) -> tuple[str, ...]:
    """Names the certificate must carry for a server listening on `listen_host`."""
    hosts = list(DEFAULT_HOSTS)
    if listen_host in {"0.0.0.0", "::", ""}:  # noqa: S104 (we only name it, we do not bind here)
        hosts.append(socket.gethostname())
    elif listen_host not in hosts:
        hosts.append(listen_host)
    return tuple(dict.fromkeys(hosts))


def ensure_tls_files(cert_dir: Path, hosts: Iterable[str] = DEFAULT_HOSTS) -> TlsFiles:
    """The CA and server certificate in `cert_dir`, made (or remade) when missing, expiring
    within a week, or not naming every host in `hosts`. The CA is kept when still valid."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert_dir / CA_FILE, cert_dir / CERT_FILE, cert_dir / KEY_FILE)
    ca_key_path = cert_dir / CA_KEY_FILE
    wanted = tuple(dict.fromkeys(hosts))
    now = dt.datetime.now(dt.UTC)

    ca_cert, ca_key = _load_ca(files.ca_file, ca_key_path, now)
    if ca_cert is None or ca_key is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _make_ca(ca_key, now)
        _write_key(ca_key_path, ca_key)
        files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    elif _server_cert_ok(files, ca_cert, wanted, now):
        return files

    key = ec.generate_private_key(ec.SECP256R1())
    cert = _make_server_cert(key, ca_cert, ca_key, wanted, now)
    _write_key(files.key_file, key)
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """An SSL context serving the server certificate (TLS 1.2 and up)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.cert_file), str(files.key_file))
    return context


def client_context(ca_file: Path) -> ssl.SSLContext:
    """A client context trusting only the simulator's CA (for tests and the admin client)."""
    return ssl.create_default_context(cafile=str(ca_file))


# --- making and checking certificates -------------------------------------------------------------


def _load_ca(
    ca_file: Path, ca_key_path: Path, now: dt.datetime
) -> tuple[x509.Certificate | None, ec.EllipticCurvePrivateKey | None]:
    if not ca_file.is_file() or not ca_key_path.is_file():
        return None, None
    try:
        cert = x509.load_pem_x509_certificate(ca_file.read_bytes())
        key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    except ValueError:
        return None, None
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey)
        or cert.not_valid_after_utc - now < _RENEW_BEFORE
    ):
        return None, None
    return cert, key


def _server_cert_ok(
    files: TlsFiles, ca_cert: x509.Certificate, hosts: tuple[str, ...], now: dt.datetime
) -> bool:
    if not files.cert_file.is_file() or not files.key_file.is_file():
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    present = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    present |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return all(_san_text(h) in present for h in hosts)


def _san_text(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _make_ca(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "exchangesim"),
            x509.NameAttribute(NameOID.COMMON_NAME, "exchangesim local CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_server_cert(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: tuple[str, ...],
    now: dt.datetime,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "exchangesim"),
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
