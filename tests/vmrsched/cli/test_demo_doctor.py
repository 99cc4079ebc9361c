"""`vmrsched demo --doctor`: the doctor with every probe against the demo tenant passes (the
README's proof that a correctly set up tenant passes every check); the demo's add-in, served over
plain http on the loopback host, is the one warning."""

from __future__ import annotations

import io

from vmrsched.cli.demo import run_demo_doctor
from vmrsched.service.doctor import CHECK_IDS
from vmrsched.service.doctor_addin import ADDIN_CHECK_IDS
from vmrsched.service.doctor_graph import GRAPH_CHECK_IDS


def check_lines(text: str) -> dict[str, str]:
    """The doctor's text output: each check's line, by check id, in order."""
    return {
        line.split()[1]: line
        for line in text.splitlines()
        if line[:4] in {"PASS", "WARN", "FAIL", "skip"}
    }


def assert_only_the_manifest_warns(lines: dict[str, str], text: str) -> None:
    """Every check PASS but ``addin.manifest``: the demo serves the add-in over plain http on
    the loopback host, which the doctor calls a trial setup (Outlook needs https)."""
    manifest = lines.pop("addin.manifest")
    assert manifest.startswith("WARN"), text
    assert "http://127.0.0.1:8080" in manifest, text
    assert "trials only" in manifest, text
    assert all(line.startswith("PASS") for line in lines.values()), text


def test_the_doctor_passes_every_check_on_the_demo_tenant() -> None:
    """Exit 0, and each of the checks is printed as PASS (probes and both add-in sign-ins
    included), but the add-in's http manifest, which warns."""
    out = io.StringIO()
    status = run_demo_doctor(out=out)
    text = out.getvalue()
    assert status == 0, text
    lines = check_lines(text)
    assert list(lines) == list(CHECK_IDS + ADDIN_CHECK_IDS), text
    assert_only_the_manifest_warns(lines, text)
    assert "16 passed, 1 warned, 0 failed, 0 skipped" in text


def test_the_graph_doctor_passes_on_the_demo_tenant_set_up_for_graph() -> None:
    """`vmrsched demo --api graph --doctor`: exit 0; every Graph check PASS (the probe meeting,
    calendar processing AutoUpdate and the installation marker included), the add-in's
    sign-ins too; the http manifest warns."""
    out = io.StringIO()
    status = run_demo_doctor(out=out, api="graph")
    text = out.getvalue()
    assert status == 0, text
    lines = check_lines(text)
    assert list(lines) == list(GRAPH_CHECK_IDS + ADDIN_CHECK_IDS), text
    assert_only_the_manifest_warns(lines, text)
    assert "15 passed, 1 warned, 0 failed, 0 skipped" in text
