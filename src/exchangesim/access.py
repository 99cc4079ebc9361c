"""May this caller open this mailbox? Exchange Online's answer for app-only and delegated tokens.

Rules (Exchange Online with RBAC for Applications,
https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac):

1. The mailbox must exist (EWS ``ErrorNonExistentMailbox``; Graph ``ErrorInvalidUser``, 404).
2. An app whose token carries the permission as a role (admin consent in Entra, tenant-wide)
   reaches every mailbox: scoped grants add to consent, they never narrow it.
3. Otherwise an RBAC for Applications role assignment must grant the permission, either
   organization-wide or with a scope whose group holds the mailbox as a direct member
   (``MemberOfGroup -eq`` does not look into nested groups).
4. A delegated (user) token reaches its own mailbox only, with the scope in ``scp``.

The refusals, and the evidence for each: ``docs/exchangesim-identity.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from exchangesim.app_permissions import APPLICATION_ROLES, EWS_PERMISSION

if TYPE_CHECKING:
    from collections.abc import Mapping

    from exchangesim.identity.tokens import Principal
    from exchangesim.tenant import App, RoleAssignment, Tenant

Api = Literal["ews", "graph"]

# A broader Graph permission satisfies a narrower need.
_IMPLIED: Mapping[str, frozenset[str]] = {
    "Mail.ReadWrite": frozenset({"Mail.Read", "Mail.ReadBasic"}),
    "Mail.Read": frozenset({"Mail.ReadBasic"}),
    "Calendars.ReadWrite": frozenset({"Calendars.Read"}),
    "Contacts.ReadWrite": frozenset({"Contacts.Read"}),
    "MailboxSettings.ReadWrite": frozenset({"MailboxSettings.Read"}),
}
# Exchange Online's 401 for an app token that grants nothing Exchange understands. Seen in
# github.com/otris/ews-cpp/issues/148 and a captured EXO response quoted on stackguides.com.
NO_PERMISSIONS_DIAGNOSTIC = (
    '2000008;reason="The token contains no permissions, or permissions can not be understood.";'
    'error_category="invalid_grant"'
)


class HasTenant(Protocol):
    """Anything holding the tenant (the simulator)."""

    @property
    def tenant(self) -> Tenant: ...


class MailboxAccessError(Exception):
    """A refusal, with how Exchange words it.

    ``code`` is the Exchange response code (EWS ``ResponseCode`` or Graph ``error.code``).
    ``http_status`` says how the front-end answers: EWS 500 = a SOAP fault with ``code``;
    EWS 401/403 = a bare HTTP refusal with ``headers`` (e.g. ``x-ms-diagnostics``) and no SOAP
    body; Graph = the JSON error with ``code`` and ``message`` at this status.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int = 500,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.headers: Mapping[str, str] = dict(headers or {})


def authorize_mailbox(
    sim: HasTenant, principal: Principal, mailbox_email: str, api: Api, needs: str
) -> None:
    """Return if ``principal`` may use ``needs`` on the mailbox over ``api``; else raise.

    ``needs`` is the permission the operation requires: ``full_access_as_app`` for any EWS call
    by an app, ``EWS.AccessAsUser.All`` for EWS by a user, a Graph permission such as
    ``Calendars.ReadWrite`` or ``Mail.Send`` for Graph.
    """
    tenant = sim.tenant
    mailbox = tenant.find_mailbox(mailbox_email)
    if mailbox is None:
        raise _no_mailbox(mailbox_email, api)
    if principal.kind == "user":
        if principal.upn is None or principal.upn.casefold() != mailbox.email.casefold():
            raise _denied(api, scoped=True)
        if not _satisfies(principal.scopes, needs):
            raise _denied(api, scoped=False)
        return
    if _satisfies(principal.roles, needs):
        return
    app = tenant.app(principal.app_id)
    granting = [] if app is None else _granting_assignments(app, needs)
    if any(a.scope_group is None for a in granting):
        return
    if any(tenant.is_direct_member(a.scope_group or "", mailbox.email) for a in granting):
        return
    raise _denied(api, scoped=bool(granting) or _has_any_grant(principal, app, api))


def check_ews_enabled(sim: HasTenant, principal: Principal, mailbox_email: str) -> None:
    """Raise the HTTP 403 Exchange Online gives when EWS is off for the org, the app or mailbox.

    The organization's ``EwsEnabled`` $false blocks every app; $true admits only apps in
    ``EWSAllowedAppIDs``; $null admits all. The mailbox's own ``EwsEnabled`` must not be $false.
    (REFERENCES.md section 1: since April 2025 both flags must allow EWS.)
    """
    tenant = sim.tenant
    organization = tenant.organization
    if organization.ews_enabled is False:
        raise _ews_blocked("EWS is disabled for this organization.")
    if organization.ews_enabled is True and principal.app_id.casefold() not in (
        a.casefold() for a in organization.ews_allowed_app_ids
    ):
        raise _ews_blocked(f"The app {principal.app_id} is not in EWSAllowedAppIDs.")
    mailbox = tenant.find_mailbox(mailbox_email)
    if mailbox is not None and not mailbox.ews_enabled:
        raise _ews_blocked(f"EWS is disabled for the mailbox {mailbox.email}.")


def _satisfies(granted: tuple[str, ...], needs: str) -> bool:
    return any(g == needs or needs in _IMPLIED.get(g, ()) for g in granted)


def _granting_assignments(app: App, needs: str) -> list[RoleAssignment]:
    return [
        a
        for a in app.role_assignments
        if _satisfies(tuple(APPLICATION_ROLES.get(a.role, ())), needs)
    ]


def _has_any_grant(principal: Principal, app: App | None, api: Api) -> bool:
    """Whether the app holds any permission for ``api`` (then a miss is a scope miss)."""
    if api == "ews":
        ews_roles = [a for a in (app.role_assignments if app else ()) if _is_ews_role(a.role)]
        return EWS_PERMISSION in principal.roles or bool(ews_roles)
    graph_roles = [a for a in (app.role_assignments if app else ()) if not _is_ews_role(a.role)]
    return bool([r for r in principal.roles if r != EWS_PERMISSION]) or bool(graph_roles)


def _is_ews_role(role: str) -> bool:
    return EWS_PERMISSION in APPLICATION_ROLES.get(role, frozenset())


def _no_mailbox(email: str, api: Api) -> MailboxAccessError:
    if api == "graph":
        return MailboxAccessError(
            "ErrorInvalidUser", f"The requested user '{email}' is invalid.", http_status=404
        )
    return MailboxAccessError(
        "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
    )


def _denied(api: Api, *, scoped: bool) -> MailboxAccessError:
    """The refusal for a caller that holds no grant (``scoped`` False) or one that misses."""
    if api == "graph":
        # Graph's documented answer when an access policy/scope excludes the mailbox; the plain
        # "Access is denied" when the app has no permission at all.
        message = (
            "Access to OData is disabled."
            if scoped
            else "Access is denied. Check credentials and try again."
        )
        return MailboxAccessError("ErrorAccessDenied", message, http_status=403)
    if not scoped:
        return MailboxAccessError(
            "ErrorAccessDenied",
            "The token contains no permissions, or permissions can not be understood.",
            http_status=401,
            headers={"x-ms-diagnostics": NO_PERMISSIONS_DIAGNOSTIC},
        )
    # The app may use EWS but not as this mailbox: Exchange Online's impersonation refusal
    # (captured: github.com/OfficeDev/ews-managed-api/issues/223, HTTP 500 SOAP fault).
    return MailboxAccessError(
        "ErrorImpersonateUserDenied",
        "The account does not have permission to impersonate the requested user.",
    )


def _ews_blocked(message: str) -> MailboxAccessError:
    return MailboxAccessError("ErrorAccessDenied", message, http_status=403)
