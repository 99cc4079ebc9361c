"""The doctor's checks of the resource mailbox's calendar, the test meetings and the
installation marker, as pure functions: facts (or the `ProbeError` a probe raised) in, one
`Check` out. The checks of the endpoint, credentials and EWS access are in `doctor_checks`.
Each check's meaning and fix: docs/reference/doctor.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmrsched.ports.probe import Refusal
from vmrsched.service.doctor_checks import CONSENT_FIX, Check, Status, refused
from vmrsched.service.installation import LIVE_FOR, Holder, conflict_fix

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.ports.probe import CalendarFacts, MeetingProbe, ProbeError
    from vmrsched.service.installation import Holding


def _not_read(check_id: str, error: ProbeError | None) -> Check:
    if error is not None and error.reason is not Refusal.OTHER:
        return Check(check_id, Status.SKIP, "not checked: the resource mailbox did not open")
    return Check(
        check_id,
        Status.WARN,
        f"could not be read{f': {error}' if error else ''}",
        error.fix if error else "",
    )


def free_busy_check(calendar: CalendarFacts | None, error: ProbeError | None) -> Check:
    """``resource.free_busy``: the calendar's Default permission is None."""
    check_id = "resource.free_busy"
    if calendar is None:
        return _not_read(check_id, error)
    if calendar.default_permission == "None":
        return Check(check_id, Status.PASS, "the calendar's Default permission is None")
    return Check(
        check_id,
        Status.WARN,
        f"the calendar's Default permission is {calendar.default_permission}: everyone can see "
        "when VMR meetings happen (and more above FreeBusyTimeOnly)",
        "Set-MailboxFolderPermission <resource>:\\Calendar -User Default -AccessRights None",
    )


def calendar_processing_check(calendar: CalendarFacts | None, error: ProbeError | None) -> Check:
    """``resource.calendar_processing``: Exchange leaves meeting requests to vmrsched."""
    check_id = "resource.calendar_processing"
    if calendar is None:
        return _not_read(check_id, error)
    mode = calendar.automate_processing
    if mode == "None":
        return Check(check_id, Status.PASS, "AutomateProcessing is None: requests wait for us")
    if not mode:
        return Check(
            check_id,
            Status.WARN,
            "the calendar options do not say how Exchange processes requests",
            "check with Get-CalendarProcessing <resource> | Format-List, or --probe-meeting",
        )
    return Check(
        check_id,
        Status.FAIL,
        f"AutomateProcessing is {mode}: Exchange answers meeting requests before vmrsched can",
        "Set-CalendarProcessing <resource> -AutomateProcessing None -AllowConflicts $true "
        "(vmrsched setup-script prints the whole command)",
    )


def outsider_check(address: str, error: ProbeError | None) -> Check:
    """``scope.outsider``: a mailbox outside the scheduling group is refused."""
    check_id = "scope.outsider"
    if not address:
        return Check(check_id, Status.SKIP, "")
    if error is None:
        return Check(
            check_id,
            Status.WARN,
            f"LEAST PRIVILEGE BROKEN: the app opened {address}, a mailbox outside the "
            "scheduling group. Tenant-wide admin consent (or an unscoped role assignment) "
            "defeats the management scope: the app can read and send as ANY mailbox",
            CONSENT_FIX,
        )
    if error.reason is Refusal.OUT_OF_SCOPE:
        return Check(check_id, Status.PASS, f"{address} is refused: the scope holds")
    if error.reason in (Refusal.NO_MAILBOX, Refusal.EWS_BLOCKED):
        why = "there is no mailbox" if error.reason is Refusal.NO_MAILBOX else "EWS is off for"
        return Check(
            check_id,
            Status.WARN,
            f"{why} {address}, so the scope was not tested",
            "give --probe-outsider the address of a real mailbox outside the scheduling group "
            "that has EWS enabled",
        )
    return refused(check_id, error, f"{address} could not be probed")


def organizer_check(address: str, error: ProbeError | None) -> Check:
    """``scope.organizer``: an organizer's mailbox opens (placeholder and allocate flows)."""
    check_id = "scope.organizer"
    if not address:
        return Check(check_id, Status.SKIP, "")
    if error is None:
        return Check(check_id, Status.PASS, f"{address} opens as the app")
    if error.reason is Refusal.OUT_OF_SCOPE:
        return Check(
            check_id,
            Status.FAIL,
            f"the app may not open {address}: vmrsched cannot write instructions into its "
            "meetings (placeholder and missing_token = allocate flows)",
            f"add {address} (directly, not through a nested group) to the scheduling group",
        )
    if error.reason is Refusal.EWS_BLOCKED:
        return Check(
            check_id,
            Status.FAIL,
            f"EWS is switched off for {address} (HTTP 403): vmrsched cannot write instructions "
            "into its meetings",
            f"Set-CASMailbox {address} -EwsEnabled $true",
        )
    return refused(check_id, error, f"{address} could not be opened")


def marker_check(
    holding: Holding | None,
    error: ProbeError | None,
    ours: str | None,
    now: datetime,
    address: str,
) -> Check:
    """``installation.marker``: no other live installation serves the resource mailbox."""
    check_id = "installation.marker"
    if holding is None:
        return _not_read(check_id, error)
    found = holding.describe(now)
    if holding.holder is Holder.NOBODY:
        return Check(check_id, Status.PASS, f"{found}; vmrsched run will claim it")
    if holding.holder is Holder.US:
        return Check(check_id, Status.PASS, f"held by this installation ({found})")
    if holding.holder is Holder.OTHER_LIVE:
        return Check(
            check_id,
            Status.FAIL,
            f"another vmrsched serves {address}: {found}; this one's id is "
            f"{ours or '(no installation key yet)'}",
            conflict_fix(address),
        )
    return Check(
        check_id,
        Status.WARN,
        f"a stopped installation held {address} ({found}, silent for more than "
        f"{int(LIVE_FOR.total_seconds() // 60)} min); vmrsched run will take it over",
        "make sure that installation is gone for good, or give it its own resource mailbox",
    )


def cleanup_note(probe: MeetingProbe) -> tuple[str, str]:
    """What a probe meeting left behind, for a check's message, and the fix ("" when clean)."""
    if probe.cleaned_up:
        return "", ""
    return (
        f"; left behind: {', '.join(probe.leftovers)}",
        "delete the probe items named above by hand",
    )


__all__ = [
    "calendar_processing_check",
    "cleanup_note",
    "free_busy_check",
    "marker_check",
    "organizer_check",
    "outsider_check",
]
