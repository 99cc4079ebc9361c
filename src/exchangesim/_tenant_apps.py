"""The app registrations of a tenant file: secrets, API settings, role assignments.

Part of checking a tenant file (`_tenant_file.py`): each function reads one table through a
`Checker` and records every problem instead of stopping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from exchangesim.app_permissions import APPLICATION_PERMISSIONS, APPLICATION_ROLES
from exchangesim.tenant import (
    App,
    ClientSecret,
    Group,
    RoleAssignment,
    derived_id,
    member_of_group_target,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from exchangesim._tenant_checker import Checker


def read_app(
    check: Checker, path: str, t: Mapping[str, Any], tenant_id: str, groups: list[Group]
) -> App:
    check.known_keys(
        t,
        path,
        {
            "client_id",
            "display_name",
            "service_principal_id",
            "secrets",
            "application_permissions",
            "admin_consent",
            "role_assignments",
            *_API_KEYS,
        },
    )
    client_id = check.guid(t, "client_id", path, required=True)
    secrets = [_secret(check, p, s, client_id) for p, s in check.tables(t, "secrets", path)]
    permissions = []
    for p, name in check.strings(t, "application_permissions", path):
        if name in APPLICATION_PERMISSIONS:
            permissions.append(name)
        else:
            known = ", ".join(sorted(APPLICATION_PERMISSIONS))
            check.problem(p, f"unknown permission {name!r} (known: {known})")
    assignment_tables = check.tables(t, "role_assignments", path)
    assignments = [_assignment(check, p, a, groups) for p, a in assignment_tables]
    return App(
        client_id=client_id,
        display_name=check.string(t, "display_name", path),
        secrets=tuple(secrets),
        application_permissions=tuple(permissions),
        admin_consent=check.boolean(t, "admin_consent", path, default=False),
        role_assignments=tuple(assignments),
        service_principal_id=check.guid(t, "service_principal_id", path, required=False)
        or derived_id(tenant_id, "service-principal", client_id),
        **_api_settings(check, path, t),
    )


_API_KEYS = (
    "public_client",
    "identifier_uris",
    "exposed_scopes",
    "delegated_permissions",
    "spa_redirect_uris",
)


def _api_settings(check: Checker, path: str, t: Mapping[str, Any]) -> dict[str, Any]:
    """An app's public-client, "Expose an API" and delegated-permission settings."""
    uris = tuple(uri for _, uri in check.strings(t, "identifier_uris", path))
    for i, uri in enumerate(uris):
        if not uri.startswith(("api://", "https://")) or uri.endswith("/"):
            check.problem(
                f"{path}.identifier_uris[{i}]",
                f"{uri!r} is not an Application ID URI (api://... or https://..., no trailing /)",
            )
    scopes = tuple(scope for _, scope in check.strings(t, "exposed_scopes", path))
    for i, scope in enumerate(scopes):
        if not scope.replace(".", "").replace("_", "").replace("-", "").isalnum():
            check.problem(f"{path}.exposed_scopes[{i}]", f"{scope!r} is not a scope name")
    delegated = tuple(item for _, item in check.strings(t, "delegated_permissions", path))
    for i, item in enumerate(delegated):
        if "/" not in item.strip("/"):
            check.problem(
                f"{path}.delegated_permissions[{i}]",
                f"{item!r} is not '<Application ID URI or client id>/<scope>'",
            )
    redirects = tuple(uri for _, uri in check.strings(t, "spa_redirect_uris", path))
    for i, uri in enumerate(redirects):
        if not uri.startswith(("https://", "http://localhost", "brk-multihub://")):
            check.problem(
                f"{path}.spa_redirect_uris[{i}]",
                f"{uri!r}: SPA redirect URIs are https://, http://localhost or brk-multihub://",
            )
    return {
        "public_client": check.boolean(t, "public_client", path, default=False),
        "identifier_uris": uris,
        "exposed_scopes": scopes,
        "delegated_permissions": delegated,
        "spa_redirect_uris": redirects,
    }


def _secret(check: Checker, path: str, t: Mapping[str, Any], client_id: str) -> ClientSecret:
    check.known_keys(t, path, {"value", "expires", "hint", "key_id"})
    value = check.string(t, "value", path)
    expires = check.aware_datetime(t, "expires", path)
    hint = t.get("hint", value[:3])
    if not isinstance(hint, str):
        check.problem(f"{path}.hint", "not a string")
        hint = value[:3]
    return ClientSecret(
        value=value,
        expires=expires
        or datetime.min.replace(tzinfo=UTC),  # only reached when a problem was recorded
        hint=hint,
        key_id=check.guid(t, "key_id", path, required=False)
        or derived_id(client_id, "secret", value),
    )


def _assignment(
    check: Checker, path: str, t: Mapping[str, Any], groups: list[Group]
) -> RoleAssignment:
    check.known_keys(t, path, {"role", "scope_group", "scope_filter", "name"})
    role = check.string(t, "role", path)
    if role == "ApplicationImpersonation":
        check.problem(
            f"{path}.role",
            "ApplicationImpersonation was removed from Exchange Online in February 2025",
        )
    elif role and role not in APPLICATION_ROLES:
        check.problem(
            f"{path}.role", f"unknown role {role!r} (known: {', '.join(sorted(APPLICATION_ROLES))})"
        )
    if "scope_group" in t and "scope_filter" in t:
        check.problem(path, "give scope_group or scope_filter, not both")
    target: str | None = None
    if "scope_group" in t:
        target = check.string(t, "scope_group", path) or None
    elif "scope_filter" in t:
        recipient_filter = check.string(t, "scope_filter", path)
        target = member_of_group_target(recipient_filter) if recipient_filter else None
        if recipient_filter and target is None:
            check.problem(
                f"{path}.scope_filter", "only \"MemberOfGroup -eq '<group>'\" filters are simulated"
            )
    scope_group = None
    if target is not None:
        group = _find_group(target, groups)
        if group is None:
            check.problem(
                f"{path}.{'scope_group' if 'scope_group' in t else 'scope_filter'}",
                f"no group {target!r} in this tenant",
            )
        else:
            scope_group = group.email
    name = t.get("name", "")
    if not isinstance(name, str):
        check.problem(f"{path}.name", "not a string")
        name = ""
    return RoleAssignment(role=role, scope_group=scope_group, name=name)


def _find_group(target: str, groups: list[Group]) -> Group | None:
    """A group by address, or by the CN of a distinguished name (``CN=VMR Schedulers,OU=...``)."""
    folded = target.casefold()
    if folded.startswith("cn="):
        cn = folded[3:].split(",", 1)[0].strip()
        matches = [
            g for g in groups if cn in (g.display_name.casefold(), g.email.split("@")[0].casefold())
        ]
        return matches[0] if len(matches) == 1 else None
    return next((g for g in groups if g.email.casefold() == folded), None)


__all__ = ["read_app"]
