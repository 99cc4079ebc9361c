"""Fixtures for exchangesim tests: live HTTPS servers, an EWS client, and the session-wide
collector of EWS responses that `test_schema_conformance.py` checks at the end of the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from harness import COLLECTOR, EwsClient, SimServer, make_sim, start_sim_server

from exchangesim.sim import add_response_listener

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

# Every EWS response any simulator of this test process emits is collected from here on.
add_response_listener(COLLECTOR.add)

#: The test that validates everything collected; it is moved to the end of the session.
SESSION_END_TEST = "test_schema_conformance.py::test_every_ews_response_of_the_session_conforms"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the collected-responses check after every other test of the session."""
    last = [item for item in items if item.nodeid.endswith(SESSION_END_TEST)]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for every server of the session."""
    return tmp_path_factory.mktemp("exchangesim-tls")


@pytest.fixture(scope="session")
def shared_server(cert_dir: Path) -> Iterator[SimServer]:
    """A demo-tenant simulator over HTTPS, shared by the whole session (use `sim_server`)."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    yield server
    server.stop()


@pytest.fixture
def sim_server(shared_server: SimServer) -> SimServer:
    """The shared server with every knob and counter back to its default."""
    shared_server.knobs.reset()
    shared_server.knobs.reset_counters()
    return shared_server


@pytest.fixture
def fresh_server(cert_dir: Path) -> Iterator[SimServer]:
    """A server of its own (fresh store), stopped after the test."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    yield server
    server.stop()


@pytest.fixture
async def ews(sim_server: SimServer) -> AsyncIterator[EwsClient]:
    """An EWS client for `sim_server`."""
    async with EwsClient(sim_server) as client:
        yield client
