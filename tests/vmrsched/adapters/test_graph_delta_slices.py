"""The Graph adapter hands a delta page out one ``$batch`` at a time: the same requests as for
whole pages, and a slice's cursor read again after a restart reads its page from the start
(decided messages are found by their key). ``SLICE`` is set to 1 so that three meetings make
several slices (it is 20, a ``$batch``, in the service).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from graph_world import GraphWorld, graph_sim
from harness import start_sim_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def world(adapters_cert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphWorld]:
    server = start_sim_server(graph_sim(), cert_dir=adapters_cert_dir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))  # the organizers' clients
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    graph = GraphWorld(server, peek_every=timedelta(milliseconds=200))
    try:
        yield graph
    finally:
        graph.close()
        server.stop()


def graph_calls(world: GraphWorld) -> dict[str, int]:
    return dict(world.sim.sim.knobs.counters().get("graph", {}))


@pytest.fixture
def slices_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vmrsched.adapters.graph.client.SLICE", 1)


@pytest.mark.usefixtures("slices_of_one")
def test_a_page_is_handed_out_in_slices_with_one_delta_request(world: GraphWorld) -> None:
    """Three meetings on one delta page: three slices, one delta request, each meeting read
    once; the last slice's cursor is the page's own and sees what came later."""
    for name in ("one", "two", "three"):
        world.send(name)
    world.sim.sim.knobs.reset_counters()

    pages = [world.mailbox.fetch_changes(None)]
    while pages[-1].more:
        pages.append(world.mailbox.fetch_changes(pages[-1].cursor))

    assert [[m.subject for m in page.messages] for page in pages] == [["one"], ["two"], ["three"]]
    calls = graph_calls(world)
    assert calls.get("message_delta") == 1
    assert calls.get("get_message") == 3
    assert "#vmrsched-slice-" not in pages[-1].cursor
    world.send("four")
    assert [m.subject for m in world.mailbox.fetch_changes(pages[-1].cursor).messages] == ["four"]


@pytest.mark.usefixtures("slices_of_one")
def test_a_slice_cursor_after_a_restart_reads_its_page_again_from_the_start(
    world: GraphWorld,
) -> None:
    """The rest of a page lives in memory only: a restarted adapter given a slice's cursor
    reads that page again, the first slice included (nothing is skipped)."""
    for name in ("one", "two"):
        world.send(name)
    first = world.mailbox.fetch_changes(None)
    assert [m.subject for m in first.messages] == ["one"]

    restarted = world.restart()
    again = [restarted.fetch_changes(first.cursor)]
    while again[-1].more:
        again.append(restarted.fetch_changes(again[-1].cursor))

    assert [m.subject for page in again for m in page.messages] == ["one", "two"]
