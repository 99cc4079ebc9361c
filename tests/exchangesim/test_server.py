"""The server shell: TLS material, load, graceful stop with state, and the command line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from harness import ALICE, VMR, EwsClient, SimServer, convert_id_body, make_sim, start_sim_server

from exchangesim import tls
from exchangesim.admin import AdminClient
from exchangesim.server import start_in_thread


async def test_two_hundred_concurrent_requests_are_all_answered(sim_server: SimServer):
    """200 EWS calls in flight at once over 200 connections: every one gets its answer."""
    sim_server.admin.set_knobs(latency={"fixed_ms": 50})
    async with EwsClient(sim_server, limit=0) as ews:
        replies = await asyncio.gather(
            *(
                ews.call(convert_id_body(), impersonate=ALICE if i % 2 else VMR, client_timeout=60)
                for i in range(200)
            )
        )
    assert [r.status for r in replies] == [200] * 200
    assert all(r.response_codes() == ["ErrorInvalidSmtpAddress"] for r in replies)
    assert sim_server.knobs.counter("ews", "ConvertId") == 200


def test_the_certificate_names_every_loopback_address_and_chains_to_the_ca(tmp_path: Path):
    """The server certificate covers localhost, 127.0.0.1 and ::1 and is signed by the CA."""
    files = tls.ensure_tls_files(tmp_path, tls.DEFAULT_HOSTS)
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert names == {"localhost", "127.0.0.1", "::1"}
    cert.verify_directly_issued_by(ca)
    assert oct(files.key_file.stat().st_mode & 0o777) == "0o600"


def test_tls_files_are_reused_while_valid_and_remade_for_a_new_host(tmp_path: Path):
    """A second start keeps the CA and certificate; a new host gets a new certificate, same CA."""
    first = tls.ensure_tls_files(tmp_path, tls.DEFAULT_HOSTS)
    ca_pem, cert_pem = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    tls.ensure_tls_files(tmp_path, tls.DEFAULT_HOSTS)
    assert (first.ca_file.read_bytes(), first.cert_file.read_bytes()) == (ca_pem, cert_pem)
    tls.ensure_tls_files(tmp_path, (*tls.DEFAULT_HOSTS, "sim.example"))
    assert first.ca_file.read_bytes() == ca_pem
    assert first.cert_file.read_bytes() != cert_pem


async def test_a_server_over_localhost_verifies_with_the_ca_file(cert_dir: Path):
    """Clients reaching https://localhost:PORT verify the certificate with the CA file alone."""
    sim = make_sim()
    running = start_in_thread(sim, "localhost", 0, tls=True, cert_dir=cert_dir)
    try:
        server = SimServer(sim=sim, server=running)
        assert running.base_url.startswith("https://localhost:")
        async with EwsClient(server) as ews:
            assert (await ews.call(convert_id_body())).status == 200
    finally:
        running.stop()


async def test_plain_http_serves_without_tls():
    """--no-tls: http:// and no CA file."""
    sim = make_sim()
    running = start_in_thread(sim, "127.0.0.1", 0, tls=False)
    try:
        assert running.base_url.startswith("http://127.0.0.1:")
        assert running.ca_file is None
        assert AdminClient(running.base_url, running.admin_key).info()["tenant_id"]
    finally:
        running.stop()


def test_stop_saves_the_state_file_and_a_new_server_loads_it(tmp_path: Path, cert_dir: Path):
    """State is written on stop; the next simulator starts from it (same folder ids)."""
    state_file = tmp_path / "state.json"
    server = start_sim_server(make_sim(state_file=state_file), cert_dir=cert_dir)
    inbox = server.sim.store.folder(ALICE, "inbox").id
    server.stop()
    assert state_file.is_file()
    again = make_sim(state_file=state_file)
    assert again.store.folder(ALICE, "inbox").id == inbox


def test_stop_is_prompt_even_with_a_request_held_by_a_timeout_fault(cert_dir: Path):
    """The stop event wakes a request the `timeout` knob holds for minutes."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    server.knobs.update(fault_rate=1, fault_kinds=["timeout"], timeout_hold_ms=300_000)

    async def held_call() -> None:
        async with EwsClient(server) as ews:
            await ews.call(convert_id_body(), client_timeout=0.3)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(held_call())
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    server.stop()  # idempotent


def test_binding_a_used_port_raises_oserror(sim_server: SimServer):
    """A port in use is an error at start, not a silent failure."""
    with pytest.raises(OSError):
        start_in_thread(make_sim(), "127.0.0.1", sim_server.server.port, tls=False)


# --- the command line ---------------------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "exchangesim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_the_command_line_prints_urls_and_ca_then_stops_on_sigterm(tmp_path: Path):
    """`python -m exchangesim --tenant F --listen HOST:0` prints what clients need; SIGTERM
    stops it cleanly and saves the state file."""
    tenant = tmp_path / "tenant.toml"
    tenant.write_text((resources.files("exchangesim") / "data" / "demo-tenant.toml").read_text())
    state = tmp_path / "state.json"
    process = _run_cli(
        "--tenant",
        str(tenant),
        "--listen",
        "127.0.0.1:0",
        "--cert-dir",
        str(tmp_path / "tls"),
        "--state-file",
        str(state),
        "--admin-key",
        "test-admin-key",
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Stop with Ctrl-C"):
            break
    text = "".join(lines)
    try:
        base_url = re.search(r"base URL:\s+(\S+)", text)
        ca_file = re.search(r"CA certificate:\s+(\S+)", text)
        assert base_url, text
        assert ca_file, text
        for label in ("EWS:", "token endpoint:", "tenant id:", "authority:"):
            assert label in text
        assert "REQUESTS_CA_BUNDLE=" in text
        admin = AdminClient(base_url.group(1), "test-admin-key", Path(ca_file.group(1)))
        assert admin.info()["ews_url"].endswith("/EWS/Exchange.asmx")
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0, text + rest
    assert "exchangesim stopped." in rest
    assert state.is_file()


def test_the_command_line_explains_a_broken_tenant_file(tmp_path: Path):
    """A tenant file with problems: exit status 2 and the problems listed."""
    tenant = tmp_path / "tenant.toml"
    tenant.write_text('[tenant]\nid = "not-a-guid"\n')
    process = _run_cli("--tenant", str(tenant), "--listen", "127.0.0.1:0", "--no-tls")
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "the tenant file is not valid" in output
