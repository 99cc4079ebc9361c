"""What the doctor's tenant tests share, for EWS and Graph alike: the demo tenant changed one
way, the configuration an admin would write for the simulator, the doctor run with every probe,
and the assertions on its verdicts."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from harness import VMR
from mailbox_support import TENANT_ID, VMRSCHED_SECRET

from vmrsched import bootstrap
from vmrsched.cli.doctor import DoctorOptions, run_doctor
from vmrsched.config import settings_from_mapping

if TYPE_CHECKING:
    from pathlib import Path

    from harness import SimServer

    from exchangesim.store.store import Store
    from vmrsched.ports.mailbox import InstallationMarker

DEMO_TENANT = resources.files("exchangesim.data").joinpath("demo-tenant.toml").read_text()
OUTSIDER = "dave@contoso.com"
ORGANIZER = "alice@contoso.com"
#: The demo tenant's breakages both protocols' doctors must name, as (old, new) text changes.
RESOURCE_OUT_OF_GROUP = ('members = [\n  "vmr@contoso.com",\n', "members = [\n")
TENANT_WIDE_CONSENT = (
    'Mail.ReadWrite", "Mail.Send"]\nadmin_consent = false',
    'Mail.ReadWrite", "Mail.Send"]\nadmin_consent = true',
)
FREE_BUSY_DETAILS = (
    'kind = "equipment"\ncalendar_default_permission = "None"',
    'kind = "equipment"\ncalendar_default_permission = "LimitedDetails"',
)
#: Where the probe's items could be left behind.
PROBE_FOLDERS = ("calendar", "inbox", "sentitems", "deleteditems")


def replace_once(text: str, *changes: tuple[str, str]) -> str:
    """``text`` with each (old, new) replaced, each old standing in it exactly once."""
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def admin_config(
    server: SimServer, folder: Path, protocol: dict[str, str], changes: dict[str, str]
) -> dict[str, Any]:
    """The configuration an admin would write for the simulator (demo app, resource): the
    ``protocol``'s own settings (api, URL, token scope), then ``changes``."""
    exchange = {
        **protocol,
        "token_endpoint": f"{server.base_url}/{TENANT_ID}/oauth2/v2.0/token",
        "client_id": "522d29f1-c520-4cd7-bd5d-565f738f599b",
        "client_secret": VMRSCHED_SECRET,
        "client_secret_expires": "2028-06-30",
        "resource_mailbox": VMR,
        "ca_bundle": str(server.ca_file),
    }
    exchange.update(changes)
    return {
        "exchange": exchange,
        "service": {"installation_key_file": str(folder / "vmrsched.key")},
    }


def protocol_settings(server: SimServer, api: str) -> dict[str, str]:
    """The ``[exchange]`` settings of ``api`` (``ews`` or ``graph``) for the simulator."""
    if api == "graph":
        return {
            "api": "graph",
            "graph_url": f"{server.base_url}/v1.0",
            "token_scope": "https://graph.microsoft.com/.default",
        }
    return {
        "api": "ews",
        "ews_url": server.ews_url,
        "token_scope": "https://outlook.office365.com/.default",
    }


def write_marker_over(
    server: SimServer, folder: Path, api: str, marker: InstallationMarker
) -> None:
    """Write ``marker`` as an installation of the demo app on ``api`` would (its own mailbox,
    opened as `vmrsched run` opens it) configured in ``folder`` (created if need be)."""
    folder.mkdir(exist_ok=True)
    config = admin_config(server, folder, protocol_settings(server, api), {})
    mailbox = bootstrap.open_mailbox(settings_from_mapping(config, base=folder))
    try:
        mailbox.write_marker(marker)
    finally:
        mailbox.close()


def run_probing_doctor(
    server: SimServer,
    folder: Path,
    config: dict[str, Any],
    endpoint: str | None,
    *,
    organizer: str = ORGANIZER,
    as_json: bool = True,
) -> tuple[int, str]:
    """`vmrsched doctor --probe-outsider dave --probe-organizer ... --probe-meeting` on
    ``config``, its token endpoint replaced by ``endpoint`` if given; exit status and output."""
    settings = settings_from_mapping(config, base=folder)
    if endpoint is not None:
        # The configuration loader (check-config) already refuses a v1 endpoint; the doctor's
        # own check is shown on settings that bypass it.
        exchange = dataclasses.replace(
            settings.exchange, token_endpoint=endpoint.replace("{base}", server.base_url)
        )
        settings = dataclasses.replace(settings, exchange=exchange)
    options = DoctorOptions(
        as_json=as_json,
        probe_outsider=OUTSIDER,
        probe_organizer=organizer,
        probe_meeting=True,
        meeting_deadline=timedelta(seconds=10),
        meeting_settle=timedelta(0),
    )
    out = io.StringIO()
    return run_doctor(settings, options, out), out.getvalue()


def assert_expected_verdicts(
    checks: dict[str, dict[str, str]], expected: dict[str, tuple[str, str]]
) -> dict[str, str]:
    """Each expected check has its verdict, its phrase and a fix; every other check passed or
    was skipped, saying "not checked:". The other checks' statuses, by id."""
    for check_id, (verdict, phrase) in expected.items():
        assert checks[check_id]["status"] == verdict, checks[check_id]
        assert phrase in checks[check_id]["summary"], checks[check_id]
        assert checks[check_id]["fix"], checks[check_id]
    others = {i: c["status"] for i, c in checks.items() if i not in expected}
    assert set(others.values()) <= {"pass", "skip"}, {
        i: checks[i] for i in others if others[i] not in ("pass", "skip")
    }
    skipped = [c["summary"] for i, c in checks.items() if c["status"] == "skip"]
    assert all(s.startswith("not checked:") for s in skipped)
    return others


def assert_no_probe_left(store: Store) -> None:
    """No item with the probe's subject in the organizer's or the resource's `PROBE_FOLDERS`."""
    for mailbox in (ORGANIZER, VMR):
        for folder in PROBE_FOLDERS:
            subjects = [getattr(i, "subject", "") or "" for i in store.items(mailbox, folder)]
            assert not [s for s in subjects if "vmrsched doctor probe" in s], (mailbox, folder)


def write_config_file(config: dict[str, Any], path: Path) -> Path:
    """``config`` written as the TOML file ``vmrsched --config`` reads."""
    lines = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
