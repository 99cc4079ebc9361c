"""The application permissions and RBAC roles an app registration can hold on Exchange Online.

`APPLICATION_PERMISSIONS` are the app roles (Entra application permissions) a tenant file may
request, each with the resource (API) that defines it; `APPLICATION_ROLES` are Exchange's "RBAC
for Applications" roles and the permissions each grants inside its scope. Tenant files
(`tenant.py`) name them; `access.py` and the token issuer decide with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # "Office 365 Exchange Online"
GRAPH_RESOURCE_APP_ID = "00000003-0000-0000-c000-000000000000"  # "Microsoft Graph"

EWS_PERMISSION = "full_access_as_app"

#: Application permissions (app roles) an app registration can request, and the resource
#: (API) that defines each. ``full_access_as_app`` is the only app role EWS honours.
APPLICATION_PERMISSIONS: Mapping[str, str] = {
    EWS_PERMISSION: EXCHANGE_RESOURCE_APP_ID,
    **dict.fromkeys(
        (
            "Calendars.Read",
            "Calendars.ReadWrite",
            "Contacts.Read",
            "Contacts.ReadWrite",
            "Mail.Read",
            "Mail.ReadBasic",
            "Mail.ReadBasic.All",
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.Read",
            "MailboxSettings.ReadWrite",
            "User.Read.All",
        ),
        GRAPH_RESOURCE_APP_ID,
    ),
}

#: RBAC for Applications roles and the permissions each grants inside its scope, as tabled under
#: "Supported Application Roles" in
#: https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac . Only
#: ``Application EWS.AccessAsApp`` is an EWS role; ``Application Exchange Full Access`` is a
#: Graph-only bundle there, so it does not open EWS.
APPLICATION_ROLES: Mapping[str, frozenset[str]] = {
    "Application EWS.AccessAsApp": frozenset({EWS_PERMISSION}),
    "Application Exchange Full Access": frozenset(
        {
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite",
        }
    ),
    "Application Mail Full Access": frozenset({"Mail.ReadWrite", "Mail.Send"}),
    **{
        f"Application {name}": frozenset({name})
        for name in (
            "Mail.Read",
            "Mail.ReadBasic",
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.Read",
            "MailboxSettings.ReadWrite",
            "Calendars.Read",
            "Calendars.ReadWrite",
            "Contacts.Read",
            "Contacts.ReadWrite",
        )
    },
}


__all__ = [
    "APPLICATION_PERMISSIONS",
    "APPLICATION_ROLES",
    "EWS_PERMISSION",
    "EXCHANGE_RESOURCE_APP_ID",
    "GRAPH_RESOURCE_APP_ID",
]
