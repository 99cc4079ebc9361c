"""`vmrsched doctor` against exchangesim tenants broken one way each (the tenant file is the demo
tenant's with one change): each breakage fails or warns its own check, for its own reason, and
the correct tenant passes everything. The doctor runs end to end: EWS probe adapter, checks,
text and JSON output, exit status."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from doctor_support import (
    DEMO_TENANT,
    FREE_BUSY_DETAILS,
    ORGANIZER,
    OUTSIDER,
    RESOURCE_OUT_OF_GROUP,
    TENANT_WIDE_CONSENT,
    admin_config,
    assert_expected_verdicts,
    assert_no_probe_left,
    replace_once,
    run_probing_doctor,
    write_config_file,
    write_marker_over,
)
from mailbox_support import TENANT_ID, VMRSCHED_EXPIRED_SECRET, VMRSCHED_SECRET

from vmrsched.cli.doctor import DoctorOptions, run_doctor
from vmrsched.cli.main import main
from vmrsched.config import settings_from_mapping
from vmrsched.config.keys import ensure_installation_key
from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.service.doctor import CHECK_IDS
from vmrsched.service.doctor_addin import ADDIN_CHECK_IDS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from harness import SimServer


def tenant(*changes: tuple[str, str]) -> str:
    """The demo tenant's TOML with each (old, new) text replaced exactly once."""
    return replace_once(DEMO_TENANT, *changes)


@dataclass
class Case:
    """A tenant (or configuration) broken one way, and the checks that must say so."""

    tenant: str = DEMO_TENANT
    config: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, phrase)


CASES = {
    "correct": Case(),
    "wrong secret": Case(
        config={"client_secret": "not-the-secret"},
        expected={"token.credentials": ("fail", "AADSTS7000215")},
    ),
    "expired secret": Case(
        config={"client_secret": VMRSCHED_EXPIRED_SECRET},
        expected={"token.credentials": ("fail", "AADSTS7000222")},
    ),
    "v1 endpoint": Case(
        config={"token_endpoint": "{base}/" + TENANT_ID + "/oauth2/token"},
        expected={
            "token.endpoint": ("fail", "v1 endpoint"),
            "token.permission": ("fail", "not for Exchange"),
        },
    ),
    "missing permission": Case(
        tenant=tenant(
            (
                (
                    '[[apps.role_assignments]]\nname = "vmrsched EWS"\n'
                    'role = "Application EWS.AccessAsApp"\n'
                    "scope_filter = \"MemberOfGroup -eq 'vmr-schedulers@contoso.com'\"\n"
                ),
                "",
            )
        ),
        expected={"token.permission": ("fail", "no Exchange permission")},
    ),
    "resource not in the scope's group": Case(
        tenant=tenant(RESOURCE_OUT_OF_GROUP),
        expected={"resource.mailbox": ("fail", "outside the app's management scope")},
    ),
    "tenant-wide consent": Case(
        tenant=tenant(TENANT_WIDE_CONSENT),
        expected={
            "scope.outsider": ("warn", "LEAST PRIVILEGE BROKEN"),
            "token.permission": ("warn", "consented tenant-wide"),
        },
    ),
    "Default calendar permission not None": Case(
        tenant=tenant(FREE_BUSY_DETAILS),
        expected={"resource.free_busy": ("warn", "FreeBusyTimeAndSubjectAndLocation")},
    ),
    "automatic processing on": Case(
        tenant=tenant(('automate_processing = "None"', 'automate_processing = "AutoAccept"')),
        expected={
            "resource.calendar_processing": ("fail", "AutomateProcessing is AutoAccept"),
            "resource.probe_meeting": ("fail", "processed the probe request on its own"),
        },
    ),
    "EWS disabled": Case(
        tenant=tenant(("ews_enabled = true\n", "ews_enabled = false\n")),
        expected={"ews.enabled": ("fail", "HTTP 403")},
    ),
    "app not on EWSAllowedAppIDs": Case(
        tenant=tenant(('  "522d29f1-c520-4cd7-bd5d-565f738f599b", # vmrsched\n', "")),
        expected={"ews.enabled": ("fail", "EWSAllowedAppIDs")},
    ),
}


def doctor_config(server: SimServer, folder: Path, **changes: str) -> dict[str, Any]:
    """The configuration an admin would write for the simulator (demo app, resource)."""
    ews = {
        "api": "ews",
        "ews_url": server.ews_url,
        "token_scope": "https://outlook.office365.com/.default",
    }
    changed = {k: v.replace("{base}", server.base_url) for k, v in changes.items()}
    return admin_config(server, folder, ews, changed)


def run(
    server: SimServer, folder: Path, *, as_json: bool = True, **changes: str
) -> tuple[int, str]:
    """`vmrsched doctor --probe-outsider dave --probe-organizer alice --probe-meeting`."""
    endpoint = changes.pop("token_endpoint", None)
    config = doctor_config(server, folder, **changes)
    return run_probing_doctor(server, folder, config, endpoint, as_json=as_json)


@pytest.mark.parametrize("name", list(CASES))
def test_each_broken_tenant_fails_or_warns_its_own_check(
    name: str, serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """Every check the breakage touches has the expected verdict and reason; every other check
    that ran passed (skips only where an earlier failure made a check impossible)."""
    case = CASES[name]
    server = serve(case.tenant)
    status, text = run(server, tmp_path, **case.config)
    document = json.loads(text)
    checks = {c["id"]: c for c in document["checks"]}
    others = assert_expected_verdicts(checks, case.expected)
    if name == "correct":  # no [addin]: its checks are skipped, the rest pass
        assert {i: s for i, s in others.items() if s != "pass"} == dict.fromkeys(
            ADDIN_CHECK_IDS, "skip"
        ), others
    failed = any(v == "fail" for v, _ in case.expected.values())
    assert document["ok"] is not failed
    assert status == (1 if failed else 0)


def test_the_probe_meeting_leaves_nothing_behind(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """After the probe meeting no item with the probe's subject is left in the organizer's or
    the resource's mailbox (calendar, inbox, sent items, deleted items)."""
    server = serve(DEMO_TENANT)
    status, _ = run(server, tmp_path)
    assert status == 0
    assert_no_probe_left(server.sim.store)


def test_another_live_installation_fails_the_marker_check(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """A marker of another installation with a fresh heartbeat: installation.marker fails and
    names it; the probe meeting is skipped (a running service would answer it)."""
    server = serve(DEMO_TENANT)
    from mailbox_support import exchange_settings  # noqa: PLC0415

    from vmrsched.adapters.ews.client import EwsMailbox  # noqa: PLC0415

    other = EwsMailbox.from_settings(exchange_settings(server), push=False)
    try:
        other.write_marker(
            InstallationMarker("0ther1d0", datetime.now(UTC).replace(microsecond=0), "prod-vm")
        )
    finally:
        other.close()
    status, text = run(server, tmp_path)
    checks = {c["id"]: c for c in json.loads(text)["checks"]}
    assert status == 1
    assert checks["installation.marker"]["status"] == "fail"
    assert "0ther1d0" in checks["installation.marker"]["summary"]
    assert "--take-over" in checks["installation.marker"]["fix"]
    assert checks["resource.probe_meeting"]["status"] == "skip"


def test_our_own_marker_passes(serve: Callable[[str], SimServer], tmp_path: Path) -> None:
    """The marker of this installation (same key file): installation.marker passes."""
    server = serve(DEMO_TENANT)
    key = ensure_installation_key(tmp_path / "vmrsched.key")
    from mailbox_support import exchange_settings  # noqa: PLC0415

    from vmrsched.adapters.ews.client import EwsMailbox  # noqa: PLC0415

    ours = EwsMailbox.from_settings(exchange_settings(server), push=False)
    try:
        ours.write_marker(InstallationMarker(key.key_id, datetime.now(UTC), "this-vm"))
    finally:
        ours.close()
    _, text = run(server, tmp_path)
    checks = {c["id"]: c for c in json.loads(text)["checks"]}
    assert checks["installation.marker"]["status"] == "pass"
    assert "held by this installation" in checks["installation.marker"]["summary"]


def test_a_live_graph_installation_fails_the_marker_check_under_ews(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """An installation on Microsoft Graph holding the resource (its marker written over Graph,
    heartbeat fresh): the EWS doctor's installation.marker fails, naming it and its API; the
    probe meeting is skipped."""
    server = serve(DEMO_TENANT)
    now = datetime.now(UTC).replace(microsecond=0)
    write_marker_over(
        server, tmp_path / "other", "graph", InstallationMarker("0ther1d0", now, "g-vm")
    )
    status, text = run(server, tmp_path)
    checks = {c["id"]: c for c in json.loads(text)["checks"]}
    assert status == 1
    assert checks["installation.marker"]["status"] == "fail"
    assert "0ther1d0 on g-vm over Microsoft Graph" in checks["installation.marker"]["summary"]
    assert "--take-over" in checks["installation.marker"]["fix"]
    assert checks["resource.probe_meeting"]["status"] == "skip"


def test_an_organizer_with_ews_off_fails_the_organizer_check(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """Erin (demo tenant: Set-CASMailbox -EwsEnabled $false) as the probe organizer:
    scope.organizer fails naming the mailbox switch; the probe meeting is not attempted."""
    server = serve(DEMO_TENANT)
    settings = settings_from_mapping(doctor_config(server, tmp_path), base=tmp_path)
    options = DoctorOptions(as_json=True, probe_organizer="erin@contoso.com", probe_meeting=True)
    out = io.StringIO()
    assert run_doctor(settings, options, out) == 1
    checks = {c["id"]: c for c in json.loads(out.getvalue())["checks"]}
    assert checks["scope.organizer"]["status"] == "fail"
    assert "EWS is switched off for erin@contoso.com" in checks["scope.organizer"]["summary"]
    assert "Set-CASMailbox erin@contoso.com -EwsEnabled $true" in checks["scope.organizer"]["fix"]
    assert checks["resource.probe_meeting"]["status"] == "skip"


def test_text_output_shows_each_check_with_its_fix(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """Without --json: one line per check (verdict, id, finding), the fix below a failure, and
    a closing count."""
    server = serve(CASES["automatic processing on"].tenant)
    status, text = run(server, tmp_path, as_json=False)
    assert status == 1
    line = next(x for x in text.splitlines() if "resource.calendar_processing" in x)
    assert line.startswith("FAIL")
    assert "fix: Set-CalendarProcessing" in text
    assert "some checks FAILED" in text


def test_the_command_line_runs_the_doctor_from_a_config_file(
    serve: Callable[[str], SimServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vmrsched doctor --config FILE --json --probe-outsider ... --probe-organizer ...` on the
    correct tenant: exit 0, JSON on stdout with every check, the secret never printed."""
    server = serve(DEMO_TENANT)
    path = write_config_file(doctor_config(server, tmp_path), tmp_path / "vmrsched.toml")
    argv = ["doctor", "--config", str(path), "--json"]
    argv += ["--probe-outsider", OUTSIDER, "--probe-organizer", ORGANIZER]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    document = json.loads(printed)
    assert document["ok"] is True
    assert [c["id"] for c in document["checks"]] == list(CHECK_IDS + ADDIN_CHECK_IDS)
    assert VMRSCHED_SECRET not in printed
