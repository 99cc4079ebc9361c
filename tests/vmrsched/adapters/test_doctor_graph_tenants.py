"""`vmrsched doctor` with ``[exchange] api = "graph"`` against exchangesim tenants broken one way
each (the demo tenant with its resource at AutomateProcessing AutoUpdate, as Graph needs, and
one change): each breakage fails or warns its own check for its own reason, and the correct
tenant passes everything; the installation marker (a named extended property on the resource's
Inbox) is judged as under EWS. End to end: Graph probe adapter, checks, JSON output, exit
status."""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from harness import VMR
from mailbox_support import TENANT_ID, VMRSCHED_EXPIRED_SECRET, VMRSCHED_SECRET

from exchangesim.tenant import Tenant, parse_tenant
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.cli.doctor import DoctorOptions, run_doctor
from vmrsched.cli.main import main
from vmrsched.config import settings_from_mapping
from vmrsched.config.keys import ensure_installation_key
from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.service.doctor_addin import ADDIN_CHECK_IDS
from vmrsched.service.doctor_graph import GRAPH_CHECK_IDS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from harness import SimServer

NONE_PROCESSING = 'automate_processing = "None"'


def tenant(*changes: tuple[str, str], processing: str = "AutoUpdate") -> str:
    """The demo tenant's TOML, the resource at ``processing``, each (old, new) replaced once."""
    text = DEMO_TENANT.replace(NONE_PROCESSING, f'automate_processing = "{processing}"')
    return replace_once(text, *changes)


def assignment(name: str, role: str) -> str:
    """The demo tenant's text of one scoped RBAC for Applications role assignment."""
    return (
        f'[[apps.role_assignments]]\nname = "{name}"\nrole = "{role}"\n'
        'scope_group = "vmr-schedulers@contoso.com"\n'
    )


GRAPH_TENANT = tenant()


def not_tentatively() -> Tenant:
    """The Graph tenant with the resource's AddNewRequestsTentatively $false (AutoUpdate kept)."""
    parsed = parse_tenant(GRAPH_TENANT)
    changed = []
    for resource in parsed.resources:
        if resource.email == VMR:
            processing = dataclasses.replace(
                resource.calendar_processing, add_new_requests_tentatively=False
            )
            resource = dataclasses.replace(resource, calendar_processing=processing)  # noqa: PLW2901
        changed.append(resource)
    return dataclasses.replace(parsed, resources=tuple(changed))


@dataclass
class Case:
    """A tenant (or configuration) broken one way, and the checks that must say so."""

    tenant: str | Tenant = GRAPH_TENANT
    config: dict[str, Any] = field(default_factory=dict)
    organizer: str = ORGANIZER
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
    "secret expiring soon": Case(
        config={"client_secret_expires": "{soon}"},
        expected={"token.secret_expiry": ("warn", "expires in")},
    ),
    "missing Graph mail permission": Case(
        tenant=tenant(
            (
                assignment("vmrsched mail", "Application Mail Full Access"),
                "",
            )
        ),
        expected={"token.permission": ("fail", "lacks Mail.ReadWrite")},
    ),
    "missing Graph calendar permission": Case(
        tenant=tenant(
            (
                assignment("vmrsched calendars", "Application Calendars.ReadWrite"),
                "",
            )
        ),
        expected={"token.permission": ("fail", "lacks Calendars.ReadWrite")},
    ),
    "no Graph permission at all": Case(
        tenant=tenant(
            (assignment("vmrsched mail", "Application Mail Full Access"), ""),
            (assignment("vmrsched calendars", "Application Calendars.ReadWrite"), ""),
        ),
        expected={"token.permission": ("fail", "holds no Graph permission")},
    ),
    "v1 endpoint": Case(
        config={"token_endpoint": "{base}/" + TENANT_ID + "/oauth2/token"},
        expected={
            "token.endpoint": ("fail", "v1 endpoint"),
            "token.permission": ("fail", "not for Microsoft Graph"),
        },
    ),
    "Graph unreachable": Case(
        config={"graph_url": "https://127.0.0.1:1/v1.0"},
        expected={"graph.reachable": ("fail", "does not answer")},
    ),
    "no such resource mailbox": Case(
        config={"resource_mailbox": "nobody@contoso.com"},
        expected={"resource.mailbox": ("fail", "there is no mailbox nobody@contoso.com")},
    ),
    "organizer only in a nested group": Case(
        organizer="grace@contoso.com",
        expected={"scope.organizer": ("fail", "may not open grace@contoso.com")},
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
    "calendar processing None": Case(
        tenant=tenant(processing="None"),
        expected={
            "resource.calendar_processing": ("fail", "AutomateProcessing is None"),
            "resource.probe_meeting": ("fail", "no event on the calendar"),
        },
    ),
    "AutoUpdate without AddNewRequestsTentatively": Case(
        tenant=not_tentatively(),
        expected={
            "resource.calendar_processing": ("fail", "AddNewRequestsTentatively $false"),
            "resource.probe_meeting": ("fail", "no event on the calendar"),
        },
    ),
    "calendar processing AutoAccept": Case(
        tenant=tenant(processing="AutoAccept"),
        expected={
            "resource.calendar_processing": ("fail", "AutomateProcessing is AutoAccept"),
            "resource.probe_meeting": ("fail", "the organizer got 'Accepted:"),
        },
    ),
}


def graph_config(server: SimServer, folder: Path, **changes: str) -> dict[str, Any]:
    """The configuration an admin would write for the simulator's Graph (demo app, resource)."""
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    graph = {
        "api": "graph",
        "graph_url": f"{server.base_url}/v1.0",
        "token_scope": "https://graph.microsoft.com/.default",
    }
    changed = {k: v.replace("{soon}", soon) for k, v in changes.items()}
    return admin_config(server, folder, graph, changed)


def run(
    server: SimServer, folder: Path, *, organizer: str = ORGANIZER, **changes: str
) -> tuple[int, dict[str, Any]]:
    """`vmrsched doctor --json --probe-outsider dave --probe-organizer ... --probe-meeting`."""
    endpoint = changes.pop("token_endpoint", None)
    config = graph_config(server, folder, **changes)
    status, text = run_probing_doctor(server, folder, config, endpoint, organizer=organizer)
    return status, json.loads(text)


@pytest.mark.parametrize("name", list(CASES))
def test_each_broken_graph_tenant_fails_or_warns_its_own_check(
    name: str, serve: Callable[[str | Tenant], SimServer], tmp_path: Path
) -> None:
    """Every check the breakage touches has the expected verdict and reason (and a fix); every
    other check that ran passed; skips say why; the correct tenant passes everything, the
    marker included (no installation holds the mailbox yet)."""
    case = CASES[name]
    server = serve(case.tenant)
    status, document = run(server, tmp_path, organizer=case.organizer, **case.config)
    checks = {c["id"]: c for c in document["checks"]}
    assert list(checks) == list(GRAPH_CHECK_IDS + ADDIN_CHECK_IDS)
    others = assert_expected_verdicts(checks, case.expected)
    if name == "tenant-wide consent":
        assert "Microsoft Graph application permissions" in checks["scope.outsider"]["fix"]
        assert "full_access_as_app" not in checks["scope.outsider"]["fix"]
    if name in ("correct", "secret expiring soon", "Default calendar permission not None"):
        assert {i for i, s in others.items() if s != "pass"} == set(ADDIN_CHECK_IDS), checks
        assert "vmrsched run will claim it" in checks["installation.marker"]["summary"]
    failed = any(v == "fail" for v, _ in case.expected.values())
    assert document["ok"] is not failed
    assert status == (1 if failed else 0)


@pytest.mark.parametrize("processing", ["AutoUpdate", "None", "AutoAccept"])
def test_the_graph_probe_meeting_leaves_nothing_behind(
    processing: str, serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """After the Graph probe meeting (and the cancellation Graph sends when the organizer's
    meeting is deleted) no item with the probe's subject is left in the organizer's or the
    resource's calendar, inbox, sent items or deleted items, whatever the calendar processing
    did with the request (tentative event, nothing, an acceptance)."""
    server = serve(tenant(processing=processing))
    status, document = run(server, tmp_path)
    checks = {c["id"]: c for c in document["checks"]}
    assert status == (0 if processing == "AutoUpdate" else 1), document
    assert "left behind" not in checks["resource.probe_meeting"]["summary"]
    assert_no_probe_left(server.sim.store)


def test_without_probe_meeting_calendar_processing_is_skipped_with_the_reason(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """Without --probe-meeting the Graph doctor cannot know the calendar processing (Graph has
    no API for it): the check is skipped, saying so and how to check it instead."""
    server = serve(tenant(processing="None"))
    settings = settings_from_mapping(graph_config(server, tmp_path), base=tmp_path)
    out = io.StringIO()
    assert run_doctor(settings, DoctorOptions(as_json=True), out) == 0
    checks = {c["id"]: c for c in json.loads(out.getvalue())["checks"]}
    processing = checks["resource.calendar_processing"]
    assert processing["status"] == "skip"
    assert "Graph has no API for calendar processing" in processing["summary"]
    assert "AutoUpdate" in processing["fix"]


def test_the_command_line_runs_the_graph_doctor_on_a_demo_like_tenant(
    serve: Callable[[str], SimServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vmrsched doctor --config FILE --json ...` with api = "graph" on the demo tenant set up
    for Graph: exit 0, every Graph check in order, the secret never printed."""
    server = serve(GRAPH_TENANT)
    path = write_config_file(graph_config(server, tmp_path), tmp_path / "vmrsched.toml")
    argv = ["doctor", "--config", str(path), "--json", "--probe-meeting"]
    argv += ["--probe-outsider", OUTSIDER, "--probe-organizer", ORGANIZER]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    document = json.loads(printed)
    assert document["ok"] is True
    assert [c["id"] for c in document["checks"]] == list(GRAPH_CHECK_IDS + ADDIN_CHECK_IDS)
    assert VMRSCHED_SECRET not in printed


def _write_marker(server: SimServer, folder: Path, marker: InstallationMarker) -> None:
    """Write ``marker`` as a Graph installation of the demo app would (its own GraphMailbox)."""
    settings = settings_from_mapping(graph_config(server, folder), base=folder)
    mailbox = GraphMailbox.from_settings(settings.exchange)
    try:
        mailbox.write_marker(marker)
    finally:
        mailbox.close()


def test_another_live_graph_installation_fails_the_marker_check(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """Another installation's marker with a fresh heartbeat on the resource's Inbox:
    installation.marker fails, names it and says --take-over; the probe meeting is not sent
    (the running service would answer it), so no probe reaches the resource."""
    server = serve(GRAPH_TENANT)
    now = datetime.now(UTC).replace(microsecond=0)
    _write_marker(server, tmp_path, InstallationMarker("0ther1d0", now, "prod-vm"))
    status, document = run(server, tmp_path)
    checks = {c["id"]: c for c in document["checks"]}
    assert status == 1
    assert checks["installation.marker"]["status"] == "fail"
    assert "0ther1d0" in checks["installation.marker"]["summary"]
    assert "--take-over" in checks["installation.marker"]["fix"]
    meeting = checks["resource.probe_meeting"]
    assert meeting["status"] == "skip"
    assert "a running vmrsched serves this mailbox" in meeting["summary"]
    subjects = [getattr(i, "subject", "") or "" for i in server.sim.store.items(VMR, "inbox")]
    assert not [s for s in subjects if "vmrsched doctor probe" in s]


def test_our_own_graph_marker_passes_and_a_stale_one_warns(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """The marker of this installation (same key file) passes; another installation's marker
    silent for an hour warns that vmrsched run will take it over."""
    server = serve(GRAPH_TENANT)
    key = ensure_installation_key(tmp_path / "vmrsched.key")
    _write_marker(server, tmp_path, InstallationMarker(key.key_id, datetime.now(UTC), "this-vm"))
    _, document = run(server, tmp_path)
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["installation.marker"]["status"] == "pass"
    assert "held by this installation" in checks["installation.marker"]["summary"]
    stale = datetime.now(UTC) - timedelta(hours=1)
    _write_marker(server, tmp_path, InstallationMarker("0ther1d0", stale, "old-vm"))
    _, document = run(server, tmp_path)
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["installation.marker"]["status"] == "warn"
    assert "will take it over" in checks["installation.marker"]["summary"]


def test_a_live_ews_installation_fails_the_marker_check_under_graph(
    serve: Callable[[str], SimServer], tmp_path: Path
) -> None:
    """An installation on EWS holding the resource (its marker written over EWS, heartbeat
    fresh): the Graph doctor's installation.marker fails, naming it and its API; no probe
    meeting is sent."""
    server = serve(GRAPH_TENANT)
    now = datetime.now(UTC).replace(microsecond=0)
    write_marker_over(
        server, tmp_path / "other", "ews", InstallationMarker("0ther1d0", now, "e-vm")
    )
    status, document = run(server, tmp_path)
    checks = {c["id"]: c for c in document["checks"]}
    assert status == 1
    assert checks["installation.marker"]["status"] == "fail"
    assert "0ther1d0 on e-vm over EWS" in checks["installation.marker"]["summary"]
    assert "--take-over" in checks["installation.marker"]["fix"]
    assert checks["resource.probe_meeting"]["status"] == "skip"
