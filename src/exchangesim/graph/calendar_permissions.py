"""``GET /users/{id}/calendar/calendarPermissions``: who may see the default calendar.

https://learn.microsoft.com/graph/api/calendar-list-calendarpermissions (application permission
``Calendars.Read``; the page also lists ``Calendars.ReadBasic``). The calendar's ``Default``
entry is Graph's "My Organization" (id ``RGVmYXVsdA==``, base64 of ``Default``, not removable,
as in the reference's example); a person's entry carries their address. The ``Anonymous`` entry
is not listed (the reference's example has none). EWS permission levels map to
``calendarRoleType`` (https://learn.microsoft.com/graph/api/resources/calendarpermission):
``None`` none, ``FreeBusyTimeOnly`` freeBusyRead, ``FreeBusyTimeAndSubjectAndLocation``
limitedRead, ``Reviewer`` read, ``Editor`` write; any other level is ``custom``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.collection import page
from exchangesim.graph.routing import route

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall, GraphResult
    from exchangesim.store.folders import CalendarPermission

ROLES: Final = {
    "None": "none",
    "FreeBusyTimeOnly": "freeBusyRead",
    "FreeBusyTimeAndSubjectAndLocation": "limitedRead",
    "Reviewer": "read",
    "Editor": "write",
}
_DEFAULT_ALLOWED: Final = ("none", "freeBusyRead", "limitedRead", "read", "write")
_PERSON_ALLOWED: Final = ("freeBusyRead", "limitedRead", "read", "write")


def _entry(call: GraphCall, permission: CalendarPermission) -> dict[str, Any]:
    role = ROLES.get(permission.level, "custom")
    if permission.user == "Default":
        return {
            "id": base64.b64encode(b"Default").decode(),
            "isRemovable": False,
            "isInsideOrganization": True,
            "role": role,
            "allowedRoles": list(_DEFAULT_ALLOWED),
            "emailAddress": {"name": "My Organization"},
        }
    address = permission.user
    inside = call.sim.tenant.find_mailbox(address) is not None
    return {
        "id": base64.b64encode(f"ExchangePublishedUser.{address}".encode()).decode(),
        "isRemovable": True,
        "isInsideOrganization": inside,
        "role": role,
        "allowedRoles": list(_PERSON_ALLOWED),
        "emailAddress": {"name": address, "address": address},
    }


@route("GET", "calendar/calendarPermissions", "Calendars.Read")
def list_calendar_permissions(call: GraphCall) -> GraphResult:
    """GET /users/{id}/calendar/calendarPermissions."""
    folder = call.sim.store.folder(call.mailbox, "calendar")
    shown = [p for p in folder.permissions if p.user != "Anonymous"]
    return page(call, shown, lambda p: _entry(call, p), "calendar/calendarPermissions")
