"""Fixtures for the adapter tests: a live exchangesim over HTTPS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mailbox_support  # noqa: F401 - puts the exchangesim harness on sys.path
import pytest
from harness import SimServer, make_sim, start_sim_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from exchangesim.tenant import Tenant


@pytest.fixture(scope="session")
def adapters_cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for every simulator of these tests."""
    return tmp_path_factory.mktemp("adapters-tls")


@pytest.fixture(scope="session")
def adapters_sim(adapters_cert_dir: Path) -> Iterator[SimServer]:
    """A demo-tenant simulator over HTTPS shared by the adapter tests (use `live_sim`)."""
    server = start_sim_server(make_sim(), cert_dir=adapters_cert_dir)
    yield server
    server.stop()


@pytest.fixture
def live_sim(adapters_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """The shared simulator with its knobs reset, and requests' CA variables pointing at its CA
    (the organizers' exchangelib clients rely on them; vmrsched's adapters use ``ca_bundle``)."""
    adapters_sim.knobs.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(adapters_sim.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return adapters_sim


@pytest.fixture
def serve(adapters_cert_dir: Path) -> Iterator[Callable[[str | Tenant], SimServer]]:
    """Start a simulator for a tenant (TOML text or parsed), each stopped after the test."""
    started: list[SimServer] = []

    def start(text: str | Tenant) -> SimServer:
        server = start_sim_server(make_sim(text), cert_dir=adapters_cert_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
