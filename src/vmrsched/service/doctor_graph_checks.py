"""The doctor's checks that read differently under ``[exchange] api = "graph"``, as pure
functions (facts or the probe's `ProbeError` in, one `Check` out). The checks whose meaning does
not depend on the API (token endpoint, credentials, secret expiry, free/busy, outsider,
organizer) are `vmrsched.service.doctor_checks`'. Meaning and fix: docs/reference/doctor.md."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from vmrsched.ports.probe import MeetingOutcome, Refusal
from vmrsched.service.doctor_checks import Check, Status
from vmrsched.service.doctor_mailbox_checks import cleanup_note, outsider_check
from vmrsched.service.setup.permissions import calendar_processing_arguments
from vmrsched.service.setup.values import Api

if TYPE_CHECKING:
    from vmrsched.ports.probe import MeetingProbe, ProbeError, TokenFacts

#: The Graph application permissions vmrsched needs (issue 7; the setup script grants them).
GRAPH_ROLES: Final = ("Calendars.ReadWrite", "Mail.ReadWrite", "Mail.Send")
#: Audiences of a Microsoft Graph token (by URL or by Graph's app id).
GRAPH_AUDIENCES: Final = frozenset(
    {"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}
)
_SCOPE_FIX: Final = (
    "leave [exchange] token_scope empty (vmrsched asks for https://graph.microsoft.com/.default "
    'when api = "graph") and use the v2 token endpoint'
)
_CONSENT_FIX: Final = (
    "remove the tenant-wide admin consent: Entra admin center → Enterprise applications → your "
    "app → Permissions → revoke the Microsoft Graph application permissions (keep them "
    "configured, not consented), and grant them with scoped RBAC for Applications role "
    "assignments instead (vmrsched setup-script --api graph)"
)
_KEPT_OUT: Final = frozenset({Refusal.UNREACHABLE, Refusal.NO_PERMISSION})
_SETTING: Final = f"Set-CalendarProcessing <resource> {calendar_processing_arguments(Api.GRAPH)}"


def graph_reachable_check(graph_url: str, opened: ProbeError | None) -> Check:
    """``graph.reachable``: Microsoft Graph answers at ``[exchange] graph_url``."""
    if opened is not None and opened.reason is Refusal.UNREACHABLE:
        return Check("graph.reachable", Status.FAIL, f"Graph does not answer: {opened}", opened.fix)
    return Check("graph.reachable", Status.PASS, f"Microsoft Graph answers at {graph_url}")


def graph_permission_check(token: TokenFacts, opened: ProbeError | None) -> Check:
    """``token.permission``: the app holds its Graph permissions, preferably not by tenant-wide
    consent. The token's roles are read without verifying its signature; RBAC for Applications
    grants are not in the token, so Graph's answer for the resource mailbox decides."""
    check_id = "token.permission"
    if token.audience and token.audience.rstrip("/") not in GRAPH_AUDIENCES:
        return Check(
            check_id,
            Status.FAIL,
            f"the token is for {token.audience}, not for Microsoft Graph",
            _SCOPE_FIX,
        )
    consented = [r for r in token.roles if r in GRAPH_ROLES]
    if consented:
        return Check(
            check_id,
            Status.WARN,
            f"the token's roles (read without verifying its signature) hold "
            f"{', '.join(consented)}: consented tenant-wide, they reach EVERY mailbox, whatever "
            "the management scope says",
            _CONSENT_FIX,
        )
    if opened is not None and opened.reason is Refusal.NO_PERMISSION:
        return Check(check_id, Status.FAIL, str(opened), opened.fix)
    if opened is not None and opened.reason is Refusal.UNREACHABLE:
        return Check(check_id, Status.SKIP, "not checked: Graph does not answer")
    return Check(
        check_id,
        Status.PASS,
        "Graph access comes from RBAC for Applications role assignments, not from tenant-wide "
        "consent (the token, read without verifying its signature, carries no roles); Graph "
        "lets the app read the resource's mail and calendar. The write permissions are used by "
        "--probe-meeting; Mail.Send is not tested (that would send mail)",
    )


def graph_outsider_check(address: str, error: ProbeError | None) -> Check:
    """``scope.outsider`` under Graph: as under EWS, with the Graph consent to revoke."""
    check = outsider_check(address, error)
    if check.status is Status.WARN:
        fix = (
            _CONSENT_FIX
            if error is None
            else (
                "give --probe-outsider the address of a real mailbox outside the scheduling group"
            )
        )
        return dataclasses.replace(check, fix=fix)
    return check


def graph_resource_check(address: str, opened: ProbeError | None) -> Check:
    """``resource.mailbox``: the resource mailbox exists and Graph lets the app use it."""
    check_id = "resource.mailbox"
    if opened is None:
        return Check(
            check_id,
            Status.PASS,
            f"{address} exists and Graph lets the app read its mail and calendar (Graph does "
            "not tell an app whether it is an equipment, room or user mailbox: Get-Mailbox "
            "shows RecipientTypeDetails)",
        )
    if opened.reason is Refusal.NO_MAILBOX:
        return Check(
            check_id,
            Status.FAIL,
            f"there is no mailbox {address} (Graph: 404)",
            f"check [exchange] resource_mailbox, or create it: New-Mailbox -Equipment "
            f"-Name ... -PrimarySmtpAddress {address}",
        )
    if opened.reason is Refusal.OUT_OF_SCOPE:
        return Check(
            check_id,
            Status.FAIL,
            f"Graph refuses {address} with 403 ErrorAccessDenied: it is outside the app's "
            "management scope",
            f"add {address} to the scheduling group the scope's MemberOfGroup filter names (a "
            "direct member: nested groups do not count); changes take up to 2 hours",
        )
    if opened.reason in _KEPT_OUT:
        return Check(check_id, Status.SKIP, "not checked: Graph did not let the app in")
    return Check(check_id, Status.FAIL, f"{address} did not open: {opened}", opened.fix)


def graph_meeting_check(resource: str, organizer: str, probe: MeetingProbe) -> Check:
    """``resource.probe_meeting`` under Graph: the request reached the resource and the Calendar
    Attendant put it on the calendar, tentative and unanswered (AutoUpdate)."""
    check_id = "resource.probe_meeting"
    leftovers, cleanup_fix = cleanup_note(probe)
    if probe.outcome is MeetingOutcome.TENTATIVE:
        return Check(
            check_id,
            Status.PASS if probe.cleaned_up else Status.WARN,
            f"a probe request from {organizer} reached {resource} and {probe.detail}, as "
            f"vmrsched on Graph needs; probe removed{leftovers}",
            cleanup_fix,
        )
    if probe.outcome is MeetingOutcome.NOT_DELIVERED:
        return Check(
            check_id,
            Status.FAIL,
            f"the probe request did not reach {resource} ({probe.detail}){leftovers}",
            f"check mail flow to {resource} and that it accepts mail from {organizer}",
        )
    return Check(
        check_id,
        Status.FAIL,
        f"{probe.detail}: not what vmrsched on Graph needs{leftovers}",
        _SETTING,
    )


def graph_processing_check(probe: MeetingProbe | None) -> Check:
    """``resource.calendar_processing`` under Graph: read from the probe meeting, since Graph
    has no API for calendar processing."""
    check_id = "resource.calendar_processing"
    if probe is None or probe.outcome is MeetingOutcome.NOT_DELIVERED:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: Microsoft Graph has no API for calendar processing "
            "(Get-CalendarProcessing is Exchange PowerShell only); --probe-meeting "
            "--probe-organizer EMAIL proves it",
            "run doctor with --probe-meeting, or check that Get-CalendarProcessing <resource> "
            "shows AutomateProcessing AutoUpdate and AddNewRequestsTentatively True",
        )
    if probe.outcome is MeetingOutcome.TENTATIVE:
        return Check(
            check_id,
            Status.PASS,
            "AutomateProcessing is AutoUpdate (seen in the probe meeting: a tentative event, no "
            "answer): Graph can answer each request on its event",
        )
    if probe.outcome is MeetingOutcome.UNPROCESSED:
        return Check(
            check_id,
            Status.FAIL,
            "the probe request got no event on the resource's calendar: AutomateProcessing is "
            "None (or AutoUpdate with AddNewRequestsTentatively $false). Graph answers meetings "
            "only on their event, so vmrsched on Graph cannot answer these requests",
            _SETTING,
        )
    return Check(
        check_id,
        Status.FAIL,
        f"Exchange answered the probe request itself ({probe.detail}): AutomateProcessing is "
        "AutoAccept, so the booking attendant decides before vmrsched can (or a vmrsched that "
        "kept no installation marker answered: stop it while probing)",
        _SETTING,
    )
