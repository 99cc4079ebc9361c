"""``vmrsched doctor``: every setup check in one pass, each with a stable id, a status and the fix.

`diagnose` calls the probes (`vmrsched.ports.probe.SetupProbe`) once each, in order, and hands
their facts to the pure functions of `vmrsched.service.doctor_checks`, which decide each
`Check`. Nothing here speaks EWS or HTTP: the adapter did, and translated every refusal into a
`ProbeError` whose ``reason`` the checks read. Meaning and fix of each check:
docs/reference/doctor.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final, TypeVar

from vmrsched.ports.mailbox import MailboxError
from vmrsched.ports.probe import MeetingOutcome, ProbeError, Refusal
from vmrsched.service import installation
from vmrsched.service.doctor_checks import (
    Check,
    ExpiryFacts,
    Status,
    credentials_check,
    endpoint_check,
    ews_checks,
    permission_check,
    resource_check,
    secret_expiry_check,
)
from vmrsched.service.doctor_mailbox_checks import (
    calendar_processing_check,
    cleanup_note,
    free_busy_check,
    marker_check,
    organizer_check,
    outsider_check,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime

    from vmrsched.ports.mailbox import InstallationMarker
    from vmrsched.ports.probe import CalendarFacts, MeetingProbe, SetupProbe, TokenFacts

T = TypeVar("T")
#: Refusals that keep the app out of every mailbox, not just one.
_KEPT_OUT: Final = frozenset({Refusal.EWS_BLOCKED, Refusal.NO_PERMISSION, Refusal.UNREACHABLE})

#: Every check id, in the order they run (docs/reference/doctor.md documents each).
CHECK_IDS: Final = (
    "config.api",
    "token.endpoint",
    "token.credentials",
    "token.secret_expiry",
    "ews.reachable",
    "ews.enabled",
    "token.permission",
    "resource.mailbox",
    "resource.free_busy",
    "resource.calendar_processing",
    "scope.outsider",
    "scope.organizer",
    "resource.probe_meeting",
    "installation.marker",
)


@dataclass(frozen=True, kw_only=True)
class DoctorRequest:
    """What to check: the configured app and resource, and the optional probes."""

    api: str
    token_endpoint: str
    resource: str
    secret_expires: date | None
    installation_id: str | None
    probe_outsider: str | None = None
    probe_organizer: str | None = None
    probe_meeting: bool = False
    meeting_deadline: timedelta = timedelta(seconds=60)
    meeting_settle: timedelta = timedelta(seconds=5)


@dataclass
class Diagnosis:
    """Every check, in `CHECK_IDS` order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether any check failed (``doctor`` then exits non-zero)."""
        return any(c.status is Status.FAIL for c in self.checks)

    def by_id(self, check_id: str) -> Check:
        """The check with this id."""
        return next(c for c in self.checks if c.id == check_id)


def diagnose(
    request: DoctorRequest,
    probe: SetupProbe,
    read_marker: Callable[[], InstallationMarker | None],
    *,
    today: date,
    now: datetime,
) -> Diagnosis:
    """Run every EWS check once, in `CHECK_IDS` order (Graph: `doctor_graph.diagnose_graph`)."""
    if request.api != "ews":
        msg = f"diagnose checks EWS, not {request.api!r}: use doctor_graph.diagnose_graph"
        raise ValueError(msg)
    result = Diagnosis()
    add = result.checks.append
    token = token_checks(result, request, probe, 'exchange.api = "ews"', today=today)
    if token is None:
        result.checks += [
            Check(i, Status.SKIP, "not checked: the app got no token") for i in CHECK_IDS[4:]
        ]
        return result

    _, opened = _attempt(lambda: probe.open_mailbox(request.resource))
    result.checks += ews_checks(opened)
    add(permission_check(token, opened))
    add(resource_check(request.resource, opened))
    calendar: CalendarFacts | None = None
    calendar_error = opened
    if opened is None:
        calendar, calendar_error = _attempt(lambda: probe.calendar(request.resource))
    add(free_busy_check(calendar, calendar_error))
    add(calendar_processing_check(calendar, calendar_error))
    kept_out = opened is not None and opened.reason in _KEPT_OUT
    outsider, organizer = request.probe_outsider, request.probe_organizer
    add(
        optional_check(
            probe,
            outsider,
            outsider_check,
            "--probe-outsider EMAIL",
            kept_out=kept_out,
            protocol="EWS",
        )
    )
    add(
        optional_check(
            probe,
            organizer,
            organizer_check,
            "--probe-organizer EMAIL",
            kept_out=kept_out,
            protocol="EWS",
        )
    )
    holding, marker_error = read_holding(request, opened, read_marker, now)
    add(_meeting_check(request, probe, opened, holding, now))
    add(marker_check(holding, marker_error, request.installation_id, now, request.resource))
    return result


def read_holding(
    request: DoctorRequest,
    opened: ProbeError | None,
    read_marker: Callable[[], InstallationMarker | None],
    now: datetime,
) -> tuple[installation.Holding | None, ProbeError | None]:
    """Who holds the resource mailbox by its installation marker (EWS and Graph alike); not
    read when the mailbox did not open (that refusal is the error)."""
    if opened is not None:
        return None, opened
    marker, error = _attempt(read_marker)
    if error is not None:
        return None, error
    return installation.judge(marker, request.installation_id or "", now), None


def serving_check(holding: installation.Holding | None, now: datetime) -> Check | None:
    """``resource.probe_meeting`` skipped when a running vmrsched holds the mailbox (it would
    answer the probe); None when no live installation does (EWS and Graph alike)."""
    marker = holding.marker if holding is not None else None
    if marker is not None and now - marker.heartbeat < installation.LIVE_FOR:
        return Check(
            "resource.probe_meeting",
            Status.SKIP,
            "not checked: a running vmrsched serves this mailbox and would answer the probe",
            "stop the service while probing, then run doctor --probe-meeting again",
        )
    return None


def _attempt(call: Callable[[], T]) -> tuple[T | None, ProbeError | None]:
    """Run a probe; its refusal as a `ProbeError` (other mailbox errors classified OTHER)."""
    try:
        return call(), None
    except ProbeError as exc:
        return None, exc
    except MailboxError as exc:
        return None, ProbeError(str(exc), reason=Refusal.OTHER, fix=exc.fix)


def token_checks(
    result: Diagnosis, request: DoctorRequest, probe: SetupProbe, api_line: str, *, today: date
) -> TokenFacts | None:
    """Add the checks before the mailbox (EWS and Graph alike); the app's token, if it got one."""
    add = result.checks.append
    add(Check("config.api", Status.PASS, api_line))
    add(endpoint_check(request.token_endpoint))
    token, token_error = _attempt(probe.token)
    add(credentials_check(token, token_error))
    add(secret_expiry_check(ExpiryFacts(request.secret_expires, today)))
    return token


def optional_check(
    probe: SetupProbe,
    address: str | None,
    judge: Callable[[str, ProbeError | None], Check],
    option: str,
    *,
    kept_out: bool,
    protocol: str,
) -> Check:
    """``scope.outsider``/``scope.organizer``: skipped without ``option`` or when ``protocol``
    (EWS or Graph) kept the app out; otherwise ``judge`` of opening ``address``."""
    if not address:
        return Check(judge("", None).id, Status.SKIP, f"not checked: give {option} to check it")
    if kept_out:
        return Check(
            judge("", None).id, Status.SKIP, f"not checked: {protocol} did not let the app in"
        )
    _, error = _attempt(lambda: probe.open_mailbox(address))
    return judge(address, error)


def meeting_sender(request: DoctorRequest, opened: ProbeError | None) -> str | Check:
    """Who sends the probe meeting, or ``resource.probe_meeting`` skipped before any probe (EWS
    and Graph alike)."""
    check_id = "resource.probe_meeting"
    if not request.probe_meeting:
        return Check(check_id, Status.SKIP, "not checked: give --probe-meeting to check it")
    if not request.probe_organizer:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: --probe-meeting needs --probe-organizer EMAIL (who sends the probe)",
        )
    if opened is not None:
        return Check(check_id, Status.SKIP, "not checked: the resource mailbox did not open")
    return request.probe_organizer


def send_probe_meeting(
    request: DoctorRequest, probe: SetupProbe, organizer: str
) -> MeetingProbe | Check:
    """What happened to a probe meeting ``organizer`` sent the resource (EWS and Graph alike), or
    ``resource.probe_meeting`` failed when it could not be sent."""
    try:
        return probe.probe_meeting(
            organizer,
            request.resource,
            deadline=request.meeting_deadline,
            settle=request.meeting_settle,
        )
    except MailboxError as exc:
        return Check(
            "resource.probe_meeting",
            Status.FAIL,
            f"the probe meeting could not be sent: {exc}",
            exc.fix,
        )


def _meeting_check(
    request: DoctorRequest,
    probe: SetupProbe,
    opened: ProbeError | None,
    holding: installation.Holding | None,
    now: datetime,
) -> Check:
    check_id = "resource.probe_meeting"
    organizer = meeting_sender(request, opened)
    if isinstance(organizer, Check):
        return organizer
    serving = serving_check(holding, now)
    if serving is not None:
        return serving
    _, error = _attempt(lambda: probe.open_mailbox(organizer))
    if error is not None:
        return Check(check_id, Status.SKIP, f"not checked: {organizer} does not open ({error})")
    outcome = send_probe_meeting(request, probe, organizer)
    if isinstance(outcome, Check):
        return outcome
    leftovers, cleanup_fix = cleanup_note(outcome)
    if outcome.outcome is MeetingOutcome.UNPROCESSED:
        return Check(
            check_id,
            Status.PASS if outcome.cleaned_up else Status.WARN,
            f"a probe request from {organizer} reached {request.resource} and stayed "
            f"unanswered, as vmrsched needs; probe removed{leftovers}",
            cleanup_fix,
        )
    if outcome.outcome is MeetingOutcome.PROCESSED:
        return Check(
            check_id,
            Status.FAIL,
            f"Exchange processed the probe request on its own ({outcome.detail}){leftovers}",
            f"Set-CalendarProcessing {request.resource} -AutomateProcessing None",
        )
    return Check(
        check_id,
        Status.FAIL,
        f"the probe request did not reach {request.resource} within "
        f"{request.meeting_deadline.total_seconds():.0f} s ({outcome.detail}){leftovers}",
        f"check mail flow to {request.resource} and that it accepts mail from {organizer}",
    )
