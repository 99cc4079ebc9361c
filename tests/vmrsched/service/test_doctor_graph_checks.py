"""The Graph doctor's pure checks and flow: verdicts from facts alone (no Graph needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.ports.probe import (
    CalendarFacts,
    MeetingOutcome,
    MeetingProbe,
    ProbeError,
    Refusal,
    TokenFacts,
)
from vmrsched.service.doctor import DoctorRequest, diagnose
from vmrsched.service.doctor_checks import Status
from vmrsched.service.doctor_graph import GRAPH_CHECK_IDS, diagnose_graph
from vmrsched.service.doctor_graph_checks import (
    graph_permission_check,
    graph_processing_check,
    graph_reachable_check,
)

if TYPE_CHECKING:
    from vmrsched.service.doctor import Diagnosis

GRAPH = "https://graph.microsoft.com"
RESOURCE = "vmr@contoso.com"


def _probe(outcome: MeetingOutcome) -> MeetingProbe:
    return MeetingProbe(outcome, "detail", cleaned_up=True)


def test_the_token_must_be_for_graph_and_its_roles_reveal_tenant_wide_consent() -> None:
    """An Exchange token fails; Graph roles in the token warn (tenant-wide consent); no roles and
    Graph letting the app in passes; a missing permission Graph reported fails with its text."""
    exchange = TokenFacts(audience="https://outlook.office365.com", roles=())
    assert graph_permission_check(exchange, None).status is Status.FAIL
    consented = TokenFacts(audience=GRAPH, roles=("Mail.Send", "Calendars.ReadWrite"))
    check = graph_permission_check(consented, None)
    assert check.status is Status.WARN
    assert "Mail.Send, Calendars.ReadWrite" in check.summary
    assert "without verifying its signature" in check.summary
    scoped = TokenFacts(audience=GRAPH, roles=())
    assert graph_permission_check(scoped, None).status is Status.PASS
    missing = ProbeError("the app lacks Mail.ReadWrite", reason=Refusal.NO_PERMISSION, fix="x")
    check = graph_permission_check(scoped, missing)
    assert (check.status, check.summary) == (Status.FAIL, "the app lacks Mail.ReadWrite")


@pytest.mark.parametrize(
    ("outcome", "status", "phrase"),
    [
        (MeetingOutcome.TENTATIVE, Status.PASS, "AutoUpdate"),
        (MeetingOutcome.UNPROCESSED, Status.FAIL, "AutomateProcessing is None"),
        (MeetingOutcome.PROCESSED, Status.FAIL, "AutomateProcessing is AutoAccept"),
        (MeetingOutcome.NOT_DELIVERED, Status.SKIP, "no API for calendar processing"),
        (None, Status.SKIP, "no API for calendar processing"),
    ],
)
def test_calendar_processing_under_graph_is_read_from_the_probe_meeting(
    outcome: MeetingOutcome | None, status: Status, phrase: str
) -> None:
    """Tentative and unanswered = AutoUpdate passes; no event = None fails; an answer =
    AutoAccept fails; no probe (or no delivery) is skipped; failures name the Graph setting."""
    check = graph_processing_check(None if outcome is None else _probe(outcome))
    assert check.status is status
    assert phrase in check.summary
    if status is Status.FAIL:
        assert "-AutomateProcessing AutoUpdate -AddNewRequestsTentatively $true" in check.fix


def test_an_unreachable_graph_fails_reachability() -> None:
    """No answer from Graph fails graph.reachable with the probe's fix; otherwise it passes."""
    down = ProbeError("no answer", reason=Refusal.UNREACHABLE, fix="check graph_url")
    assert graph_reachable_check(GRAPH, down).status is Status.FAIL
    assert graph_reachable_check(GRAPH, None).status is Status.PASS


class _Probe:
    """A probe whose every fact is fine, except what a test changes."""

    def __init__(self, open_error: ProbeError | None = None) -> None:
        self.open_error = open_error
        self.meetings = 0

    def token(self) -> TokenFacts:
        return TokenFacts(audience=GRAPH, roles=())

    def open_mailbox(self, address: str) -> None:
        if self.open_error is not None and address == RESOURCE:
            raise self.open_error
        if address == "dave@contoso.com":
            raise ProbeError("403", reason=Refusal.OUT_OF_SCOPE)

    def calendar(self, address: str) -> CalendarFacts:
        return CalendarFacts(default_permission="None", automate_processing="")

    def probe_meeting(
        self, organizer: str, resource: str, *, deadline: timedelta, settle: timedelta
    ) -> MeetingProbe:
        self.meetings += 1
        return _probe(MeetingOutcome.TENTATIVE)

    def read_marker(self, address: str) -> InstallationMarker | None:
        return None

    def close(self) -> None:
        pass


def _request(**changes: object) -> DoctorRequest:
    values: dict[str, object] = {
        "api": "graph",
        "token_endpoint": "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
        "resource": RESOURCE,
        "secret_expires": date(2027, 6, 1),
        "installation_id": None,
        "probe_outsider": "dave@contoso.com",
        "probe_organizer": "alice@contoso.com",
        "probe_meeting": True,
    } | changes
    return DoctorRequest(**values)  # type: ignore[arg-type]


NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _diagnose(
    probe: _Probe, marker: InstallationMarker | None = None, **changes: object
) -> Diagnosis:
    return diagnose_graph(
        _request(**changes), probe, lambda: marker, graph_url=GRAPH, today=NOW.date(), now=NOW
    )


def test_a_healthy_graph_setup_passes_every_check_in_order() -> None:
    """Every Graph check in GRAPH_CHECK_IDS order passes, the installation marker included (no
    installation holds the mailbox yet)."""
    diagnosis = _diagnose(_Probe())
    assert [c.id for c in diagnosis.checks] == list(GRAPH_CHECK_IDS)
    assert {c.status for c in diagnosis.checks} == {Status.PASS}
    assert not diagnosis.failed


def test_another_live_installation_fails_the_marker_and_holds_back_the_probe() -> None:
    """A marker of another installation with a fresh heartbeat: installation.marker fails
    naming it, and no probe meeting is sent (the running service would answer it)."""
    probe = _Probe()
    other = InstallationMarker("0ther1d0", NOW - timedelta(minutes=1), "prod-vm")
    diagnosis = _diagnose(probe, other, installation_id="0urs1d00")
    marker = diagnosis.by_id("installation.marker")
    assert (marker.status, "0ther1d0" in marker.summary) == (Status.FAIL, True)
    meeting = diagnosis.by_id("resource.probe_meeting")
    assert meeting.status is Status.SKIP
    assert "running vmrsched" in meeting.summary
    assert probe.meetings == 0
    assert diagnosis.failed


def test_a_marker_graph_refuses_to_read_is_reported_not_judged() -> None:
    """Reading the marker refused (e.g. no Mail.Read): installation.marker does not pass."""

    def refused() -> InstallationMarker | None:
        raise ProbeError("403 ErrorAccessDenied", reason=Refusal.NO_PERMISSION, fix="grant it")

    diagnosis = diagnose_graph(
        _request(), _Probe(), refused, graph_url=GRAPH, today=NOW.date(), now=NOW
    )
    assert diagnosis.by_id("installation.marker").status is not Status.PASS


def test_no_probe_meeting_when_the_resource_does_not_open() -> None:
    """Resource outside the scope: resource.mailbox fails, the probe meeting is not sent."""
    probe = _Probe(ProbeError("403", reason=Refusal.OUT_OF_SCOPE))
    diagnosis = _diagnose(probe)
    assert diagnosis.by_id("resource.mailbox").status is Status.FAIL
    assert diagnosis.by_id("resource.probe_meeting").status is Status.SKIP
    assert probe.meetings == 0


def test_the_ews_diagnosis_refuses_a_graph_request() -> None:
    """`diagnose` is the EWS flow: a Graph request is a programming error, not a silent pass."""
    with pytest.raises(ValueError, match="diagnose_graph"):
        diagnose(_request(), _Probe(), lambda: None, today=date(2027, 3, 1), now=None)  # type: ignore[arg-type]
