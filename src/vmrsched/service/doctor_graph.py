"""``vmrsched doctor`` for ``[exchange] api = "graph"``: the same checks, with the same ids where
the meaning is the same, over Microsoft Graph (`vmrsched.adapters.graph.probe`).

Differences from EWS (docs/reference/doctor.md, "Under Microsoft Graph"): ``graph.reachable``
replaces ``ews.reachable``/``ews.enabled`` (Graph has no per-app switch like EWSAllowedAppIDs);
``token.permission`` looks for the Graph roles; ``resource.calendar_processing`` needs
``AutoUpdate`` and is read from the probe meeting (Graph cannot read calendar processing);
``installation.marker`` reads the marker on the resource's Inbox (a named extended property,
`vmrsched.adapters.graph.marker`, which EWS installations keep too) and judges it as under EWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from vmrsched.ports.probe import Refusal
from vmrsched.service.doctor import (
    CHECK_IDS,
    Diagnosis,
    _attempt,
    meeting_sender,
    optional_check,
    read_holding,
    send_probe_meeting,
    serving_check,
    token_checks,
)
from vmrsched.service.doctor_checks import Check, Status
from vmrsched.service.doctor_graph_checks import (
    graph_meeting_check,
    graph_outsider_check,
    graph_permission_check,
    graph_processing_check,
    graph_reachable_check,
    graph_resource_check,
)
from vmrsched.service.doctor_mailbox_checks import free_busy_check, marker_check, organizer_check

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime

    from vmrsched.ports.mailbox import InstallationMarker
    from vmrsched.ports.probe import CalendarFacts, MeetingProbe, ProbeError, SetupProbe
    from vmrsched.service.doctor import DoctorRequest

#: Every check id under Graph, in the order they run.
#: EWS's, with ``graph.reachable`` for ``ews.reachable`` and ``ews.enabled``.
GRAPH_CHECK_IDS: Final = tuple(
    "graph.reachable" if check_id == "ews.reachable" else check_id
    for check_id in CHECK_IDS
    if check_id != "ews.enabled"
)
_KEPT_OUT: Final = frozenset({Refusal.UNREACHABLE, Refusal.NO_PERMISSION})


def diagnose_graph(
    request: DoctorRequest,
    probe: SetupProbe,
    read_marker: Callable[[], InstallationMarker | None],
    *,
    graph_url: str,
    today: date,
    now: datetime,
) -> Diagnosis:
    """Run every Graph check once, in `GRAPH_CHECK_IDS` order (``graph_url`` for messages)."""
    result = Diagnosis()
    add = result.checks.append
    api_line = 'exchange.api = "graph" (Microsoft Graph v1.0)'
    token = token_checks(result, request, probe, api_line, today=today)
    if token is None:
        result.checks += [
            Check(i, Status.SKIP, "not checked: the app got no token") for i in GRAPH_CHECK_IDS[4:]
        ]
        return result

    _, opened = _attempt(lambda: probe.open_mailbox(request.resource))
    add(graph_reachable_check(graph_url, opened))
    add(graph_permission_check(token, opened))
    add(graph_resource_check(request.resource, opened))
    calendar: CalendarFacts | None = None
    calendar_error = opened
    if opened is None:
        calendar, calendar_error = _attempt(lambda: probe.calendar(request.resource))
    add(free_busy_check(calendar, calendar_error))
    kept_out = opened is not None and opened.reason in _KEPT_OUT
    outsider = optional_check(
        probe,
        request.probe_outsider,
        graph_outsider_check,
        "--probe-outsider EMAIL",
        kept_out=kept_out,
        protocol="Graph",
    )
    organizer = optional_check(
        probe,
        request.probe_organizer,
        organizer_check,
        "--probe-organizer EMAIL",
        kept_out=kept_out,
        protocol="Graph",
    )
    holding, marker_error = read_holding(request, opened, read_marker, now)
    meeting, meeting_check = _meeting(
        request, probe, opened, organizer, serving_check(holding, now)
    )
    add(graph_processing_check(meeting))
    result.checks += [outsider, organizer, meeting_check]
    add(marker_check(holding, marker_error, request.installation_id, now, request.resource))
    return result


def _meeting(
    request: DoctorRequest,
    probe: SetupProbe,
    opened: ProbeError | None,
    organizer: Check,
    serving: Check | None,
) -> tuple[MeetingProbe | None, Check]:
    check_id = "resource.probe_meeting"
    sender = meeting_sender(request, opened)
    if isinstance(sender, Check):
        return None, sender
    if serving is not None:
        return None, serving
    if organizer.status is not Status.PASS:
        return None, Check(check_id, Status.SKIP, f"not checked: {sender} does not open")
    outcome = send_probe_meeting(request, probe, sender)
    if isinstance(outcome, Check):
        return None, outcome
    return outcome, graph_meeting_check(request.resource, sender, outcome)
