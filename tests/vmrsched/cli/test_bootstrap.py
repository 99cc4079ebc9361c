"""Bootstrap: the one place that turns settings into a store, rules, key and mailbox."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from vmrsched.adapters.db import SqlStore
from vmrsched.adapters.ews.client import EwsMailbox
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.bootstrap import build, open_mailbox
from vmrsched.config import settings_from_mapping

if TYPE_CHECKING:
    from pathlib import Path

EXCHANGE = {
    "token_endpoint": "https://login.microsoftonline.com/d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5/oauth2/v2.0/token",
    "client_id": "522d29f1-c520-4cd7-bd5d-565f738f599b",
    "client_secret": "not-a-real-secret",
    "resource_mailbox": "vmr@contoso.com",
}


def settings(tmp_path: Path, **sections):
    raw = {"exchange": dict(EXCHANGE), "database": {"url": "sqlite:///state.sqlite"}} | sections
    return settings_from_mapping(raw, base=tmp_path)


def test_build_opens_the_configured_store_and_creates_the_installation_key(tmp_path: Path) -> None:
    """The SQLite file and an owner-only key file appear next to the configuration."""
    components = build(
        settings(
            tmp_path, meetings={"buffer_before_minutes": 10}, service={"poll_interval_seconds": 30}
        )
    )
    try:
        assert isinstance(components.store, SqlStore)
        assert (tmp_path / "state.sqlite").exists()
        key_file = tmp_path / "vmrsched.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert components.rules.policy.buffer_before == timedelta(minutes=10)
        assert components.rules.alias_format.prefix == "81"
        parts = components.service_parts(mailbox=None)  # type: ignore[arg-type]
        assert parts.poll_interval == timedelta(seconds=30)
    finally:
        components.close()


def test_the_key_survives_a_restart(tmp_path: Path) -> None:
    """A second build reads the same key: tokens issued before a restart stay valid."""
    first = build(settings(tmp_path))
    second = build(settings(tmp_path))
    try:
        assert first.rules.key == second.rules.key
    finally:
        first.close()
        second.close()


def test_graph_opens_the_graph_adapter_at_graph_url(tmp_path: Path) -> None:
    """api = graph gives the Microsoft Graph adapter for the resource mailbox, on graph_url,
    asking for Graph's token scope."""
    graph = settings(
        tmp_path, exchange=EXCHANGE | {"api": "graph", "graph_url": "https://graph.example/v1.0"}
    )
    mailbox = open_mailbox(graph)
    try:
        assert isinstance(mailbox, GraphMailbox)
        assert mailbox.address == "vmr@contoso.com"
        assert mailbox.http.base_url == "https://graph.example/v1.0"
        assert graph.exchange.scope == "https://graph.example/.default"
    finally:
        mailbox.close()


def test_ews_opens_the_ews_adapter(tmp_path: Path) -> None:
    """api = ews (the default) gives the EWS adapter."""
    mailbox = open_mailbox(settings(tmp_path))
    try:
        assert isinstance(mailbox, EwsMailbox)
    finally:
        mailbox.close()
