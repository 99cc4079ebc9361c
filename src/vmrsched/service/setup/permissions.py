"""The identifiers and settings each API needs: app roles, Exchange roles, calendar processing.

Sources (checked 2026-11):
- Office 365 Exchange Online's app id ``00000002-0000-0ff1-ce00-000000000000`` and its
  ``full_access_as_app`` app role ``dc890d15-9560-4a4c-9b7f-a736ec74ec40``:
  https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth
- Microsoft Graph's app id ``00000003-0000-0000-c000-000000000000`` and the application (not
  delegated) permission ids: https://learn.microsoft.com/graph/permissions-reference
- RBAC for Applications roles (``Application EWS.AccessAsApp``, ``Application Calendars.ReadWrite``,
  ...): https://learn.microsoft.com/exchange/permissions-exo/application-rbac
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from vmrsched.service.setup.values import Api

EXCHANGE_ONLINE_APP_ID: Final = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_APP_ID: Final = "00000003-0000-0000-c000-000000000000"


@dataclass(frozen=True)
class AppRole:
    """One application permission an app registration lists (never consented by the script)."""

    resource_app_id: str
    resource_name: str
    role_id: str
    name: str


FULL_ACCESS_AS_APP: Final = AppRole(
    EXCHANGE_ONLINE_APP_ID,
    "Office 365 Exchange Online",
    "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
    "full_access_as_app",
)
GRAPH_ROLES: Final = (
    AppRole(
        GRAPH_APP_ID,
        "Microsoft Graph",
        "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        "Calendars.ReadWrite",
    ),
    AppRole(
        GRAPH_APP_ID, "Microsoft Graph", "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"
    ),
    AppRole(GRAPH_APP_ID, "Microsoft Graph", "b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"),
)

#: The application permissions the app registration lists, per API.
APP_ROLES: Final[dict[Api, tuple[AppRole, ...]]] = {
    Api.EWS: (FULL_ACCESS_AS_APP,),
    Api.GRAPH: GRAPH_ROLES,
}

#: The RBAC for Applications roles assigned in Exchange Online, scoped to the management scope.
EXCHANGE_ROLES: Final[dict[Api, tuple[str, ...]]] = {
    Api.EWS: ("Application EWS.AccessAsApp",),
    Api.GRAPH: (
        "Application Calendars.ReadWrite",
        "Application Mail.ReadWrite",
        "Application Mail.Send",
    ),
}

# ==================================================================================================
# CALENDAR PROCESSING — the one place that says how the resource mailbox's calendar is set up.
#
# EWS: exactly what issue 5 and DESIGN.md §1 ask: the Calendar Attendant and the Resource Booking
# Attendant leave meeting requests alone (AutomateProcessing None), so vmrsched decides every
# request itself; conflicts, any length, recurrences and a 1080-day window are allowed so nothing
# is refused before vmrsched sees it; DeleteComments/DeleteSubject off so the body (which carries
# the alias token) and the subject survive.
# — https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing
#
# Graph: AutoUpdate with AddNewRequestsTentatively $true. Graph's eventMessage has no accept or
# decline; only the event the Calendar Attendant puts on the calendar does, and with None there is
# no such event. AutoUpdate puts it there tentatively and sends nothing, so vmrsched still decides.
# The comment/subject settings only matter under AutoAccept; they are kept for symmetry.
# — docs/explanation/graph-calendar-processing.md (issue 7 part 3, verified on exchangesim);
#   https://learn.microsoft.com/graph/api/resources/eventmessage
# ==================================================================================================
_COMMON_PROCESSING: Final = (
    ("AllowConflicts", "$true"),
    ("BookingWindowInDays", "1080"),
    ("MaximumDurationInMinutes", "0"),
    ("AllowRecurringMeetings", "$true"),
    ("EnforceSchedulingHorizon", "$false"),
    ("ScheduleOnlyDuringWorkHours", "$false"),
    ("ConflictPercentageAllowed", "100"),
    ("MaximumConflictInstances", "2147483647"),
    ("DeleteComments", "$false"),
    ("DeleteSubject", "$false"),
)
CALENDAR_PROCESSING: Final[dict[Api, tuple[tuple[str, str], ...]]] = {
    Api.EWS: (("AutomateProcessing", "None"), *_COMMON_PROCESSING),
    Api.GRAPH: (
        ("AutomateProcessing", "AutoUpdate"),
        ("AddNewRequestsTentatively", "$true"),
        *_COMMON_PROCESSING,
    ),
}


def calendar_processing_arguments(api: Api) -> str:
    """``-AutomateProcessing None -AllowConflicts $true ...`` for ``api``."""
    return " ".join(f"-{name} {value}" for name, value in CALENDAR_PROCESSING[api])
