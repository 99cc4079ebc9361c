"""``vmrsched doctor``: the setup checks (`vmrsched.service.doctor`) printed for an admin.

Text: one line per check, ``PASS``/``WARN``/``FAIL``/``SKIP``, its id and what was found, the
fix indented below. ``--json``: ``{"ok": bool, "checks": [{"id", "status", "summary", "fix"}]}``.
Exit status 1 when any check failed, else 0. The add-in's checks
(`vmrsched.service.doctor_addin`) follow the Exchange ones; the manifest is built here (the web
layer's `build_manifest`) and handed to them as facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from vmrsched import bootstrap
from vmrsched.cli.edge import FAILED, OK
from vmrsched.config import ExchangeApi, load_installation_key
from vmrsched.service.doctor import Diagnosis, DoctorRequest, diagnose
from vmrsched.service.doctor_addin import AddinRequest, ManifestFacts, diagnose_addin
from vmrsched.service.doctor_graph import diagnose_graph
from vmrsched.web.manifest import ManifestError, addin_urls, build_manifest

if TYPE_CHECKING:
    from vmrsched.config import Settings

DOCS = "docs/reference/doctor.md"
_MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


@dataclass(frozen=True, kw_only=True)
class DoctorOptions:
    """The command line's probes."""

    as_json: bool = False
    probe_outsider: str | None = None
    probe_organizer: str | None = None
    probe_meeting: bool = False
    meeting_deadline: timedelta = timedelta(seconds=60)
    meeting_settle: timedelta = timedelta(seconds=5)


def run_doctor(settings: Settings, options: DoctorOptions, out: TextIO) -> int:
    """Run every check against ``settings``; print; 1 when a check failed."""
    exchange = settings.exchange
    key_file = settings.service.installation_key_file
    ours = load_installation_key(key_file).key_id if key_file.exists() else None
    request = DoctorRequest(
        api=exchange.api.value,
        token_endpoint=exchange.token_endpoint,
        resource=exchange.resource_mailbox,
        secret_expires=exchange.client_secret_expires,
        installation_id=ours,
        probe_outsider=options.probe_outsider,
        probe_organizer=options.probe_organizer,
        probe_meeting=options.probe_meeting,
        meeting_deadline=options.meeting_deadline,
        meeting_settle=options.meeting_settle,
    )
    probe = bootstrap.open_setup_probe(settings)
    try:
        now = datetime.now(UTC)
        if exchange.api is ExchangeApi.GRAPH:
            diagnosis = diagnose_graph(
                request,
                probe,
                lambda: probe.read_marker(exchange.resource_mailbox),
                graph_url=exchange.graph_url,
                today=now.date(),
                now=now,
            )
        else:
            diagnosis = diagnose(
                request,
                probe,
                lambda: probe.read_marker(exchange.resource_mailbox),
                today=now.date(),
                now=now,
            )
    finally:
        probe.close()
    documents = bootstrap.open_document_probe(settings)
    try:
        diagnosis.checks += diagnose_addin(addin_request(settings), documents, now=now)
    finally:
        documents.close()
    print_diagnosis(diagnosis, out, as_json=options.as_json)
    return FAILED if diagnosis.failed else OK


def addin_request(settings: Settings) -> AddinRequest:
    """What the add-in's checks read: ``[addin]``, and whether the manifest builds."""
    addin = settings.addin
    try:
        build_manifest(settings)
        urls = addin_urls(settings)
    except ManifestError as exc:
        manifest = ManifestFacts(problem=str(exc), fix=exc.fix)
    else:
        # The pages' base, then the icons' and the support page's when they are elsewhere.
        elsewhere = [u for u in (urls.icons, urls.support) if not _under(u, urls.base)]
        manifest = ManifestFacts(urls=tuple(dict.fromkeys((urls.base, *elsewhere))))
    return AddinRequest(
        client_id=addin.client_id,
        tenant_id=addin.tenant_id,
        authority_url=addin.authority_url,
        metadata_urls=addin.exchange_metadata_urls,
        manifest=manifest,
    )


def _under(url: str, base: str) -> bool:
    return url == base or url.startswith(f"{base}/")


def print_diagnosis(diagnosis: Diagnosis, out: TextIO, *, as_json: bool) -> None:
    """The checks as text lines or as one JSON document."""
    if as_json:
        document: dict[str, Any] = {
            "ok": not diagnosis.failed,
            "checks": [
                {"id": c.id, "status": c.status.value, "summary": c.summary, "fix": c.fix}
                for c in diagnosis.checks
            ],
        }
        print(json.dumps(document, indent=2), file=out)
        return
    width = max(len(c.id) for c in diagnosis.checks)
    for check in diagnosis.checks:
        print(f"{_MARKS[check.status.value]}  {check.id.ljust(width)}  {check.summary}", file=out)
        if check.fix and check.status.value != "pass":
            print(f"      {' ' * width}  fix: {check.fix}", file=out)
    counts = {s: sum(c.status.value == s for c in diagnosis.checks) for s in _MARKS}
    verdict = "some checks FAILED" if diagnosis.failed else "no check failed"
    print(
        f"\n{verdict}: {counts['pass']} passed, {counts['warn']} warned, {counts['fail']} "
        f"failed, {counts['skip']} skipped. Each check is explained in {DOCS}",
        file=out,
    )
