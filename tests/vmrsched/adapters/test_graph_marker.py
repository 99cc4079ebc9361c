"""The installation marker under ``api = "graph"``: a named extended property on the resource's
Inbox that `vmrsched run`'s claim reads and writes, so a second installation on the same
resource mailbox is refused (unless ``--take-over``), as under EWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from graph_world import autoupdate_tenant, graph_settings
from harness import VMR

from vmrsched.adapters.graph import marker
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.service import installation

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness import SimServer

    from exchangesim.tenant import Tenant

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _open(server: SimServer) -> GraphMailbox:
    return GraphMailbox.from_settings(graph_settings(server))


def test_a_second_graph_installation_is_refused_unless_it_takes_over(
    serve: Callable[[str | Tenant], SimServer],
) -> None:
    """Installation A claims the resource over Graph; B, a minute later, is refused with the
    --take-over fix; with take_over B claims it, and A's next heartbeat finds B's marker."""
    server = serve(autoupdate_tenant())
    first, second = _open(server), _open(server)
    try:
        installation.claim(first, "aaaa1111", "vm-a", lambda: NOW)
        later = NOW + timedelta(minutes=1)
        with pytest.raises(installation.InstallationConflictError) as refused:
            installation.claim(second, "bbbb2222", "vm-b", lambda: later)
        assert "--take-over" in refused.value.fix
        assert first.read_marker() == InstallationMarker("aaaa1111", NOW, "vm-a")
        installation.claim(second, "bbbb2222", "vm-b", lambda: later, take_over=True)
        assert first.read_marker() == InstallationMarker("bbbb2222", later, "vm-b")
    finally:
        first.close()
        second.close()


def test_the_marker_is_one_named_property_on_the_inbox_and_nothing_else(
    serve: Callable[[str | Tenant], SimServer],
) -> None:
    """The store holds the marker as the Inbox's named property vmrsched.installation in
    vmrsched's property set, JSON with the three fields and the writer's API; no other folder
    gets it."""
    server = serve(autoupdate_tenant())
    mailbox = _open(server)
    try:
        mailbox.write_marker(InstallationMarker("aaaa1111", NOW, "vm-a"))
    finally:
        mailbox.close()
    store = server.sim.store
    (key, value), *others = store.folder(VMR, "inbox").extended_properties
    assert others == []
    assert (key.property_set, key.property_name) == (marker.PROPERTY_SET, marker.NAME)
    assert value == (
        '{"InstallationId":"aaaa1111","Heartbeat":"2027-03-01T09:00:00Z","Host":"vm-a",'
        '"Api":"graph"}'
    )
    assert store.folder(VMR, "sentitems").extended_properties == ()


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "[]",
        '{"InstallationId": "", "Heartbeat": "2027-03-01T09:00:00Z"}',
        '{"InstallationId": "a", "Heartbeat": "yesterday"}',
        '{"InstallationId": "a", "Heartbeat": "2027-03-01T09:00:00"}',
    ],
)
def test_a_property_not_ours_in_shape_reads_as_no_marker(value: str) -> None:
    """A value that is not our JSON (or a heartbeat without a zone) is no marker, not a crash."""
    body = {"singleValueExtendedProperties": [{"id": marker.PROPERTY_ID, "value": value}]}
    assert marker.parse(body) is None


def test_the_marker_reads_back_whatever_case_graph_echoes_the_guid_in() -> None:
    """Graph may echo the id with the GUID upper-cased or without braces: still ours."""
    written = InstallationMarker("aaaa1111", NOW, "vm-a")
    value = marker.patch_body(written)["singleValueExtendedProperties"][0]["value"]
    echoed = marker.PROPERTY_ID.upper().replace("STRING", "String").replace("NAME ", "Name ")
    echoed = echoed.replace("VMRSCHED.INSTALLATION", marker.NAME)
    body = {"singleValueExtendedProperties": [{"id": echoed, "value": value}]}
    assert marker.parse(body) == written
    renamed = {"singleValueExtendedProperties": [{"id": echoed + "2", "value": value}]}
    assert marker.parse(renamed) is None
