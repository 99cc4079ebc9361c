"""Check a parsed tenant file and build the :class:`~exchangesim.tenant.Tenant` it describes.

Every check appends a problem with its path instead of stopping, so one run reports all of them.
"""

from __future__ import annotations

import contextlib
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from exchangesim.tenant import (
    APPLICATION_PERMISSIONS,
    APPLICATION_ROLES,
    AUTOMATE_PROCESSING,
    CALENDAR_PERMISSIONS,
    App,
    CalendarProcessing,
    ClientSecret,
    Group,
    Organization,
    Resource,
    RoleAssignment,
    Tenant,
    User,
    derived_id,
    email_domain,
    is_domain,
    is_guid,
    member_of_group_target,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

_MISSING = object()


class _Checker:
    """Reads typed values out of TOML tables, collecting a problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def table(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, "not a table")
            return None
        return cast("Mapping[str, Any]", value)

    def tables(
        self, data: Mapping[str, Any], key: str, parent: str = ""
    ) -> list[tuple[str, Mapping[str, Any]]]:
        path = f"{parent}.{key}" if parent else key
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(path, f"not an array of tables (write [[{path}]])")
            return []
        out = []
        for i, item in enumerate(value):
            table = self.table(item, f"{path}[{i}]")
            if table is not None:
                out.append((f"{path}[{i}]", table))
        return out

    def known_keys(self, table: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})")

    def string(
        self, table: Mapping[str, Any], key: str, path: str, default: object = _MISSING
    ) -> str:
        value = table.get(key, default)
        if value is _MISSING:
            self.problem(f"{path}.{key}", "missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{path}.{key}", "not a non-empty string")
            return ""
        return value

    def boolean(self, table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", "not true or false")
            return default
        return value

    def integer(self, table: Mapping[str, Any], key: str, path: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(f"{path}.{key}", "not a whole number >= 0")
            return default
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, path: str, options: tuple[str, ...], default: str
    ) -> str:
        value = table.get(key, default)
        if value not in options:
            self.problem(f"{path}.{key}", f"{value!r} is not one of {', '.join(options)}")
            return default
        return cast("str", value)

    def guid(self, table: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(f"{path}.{key}", "missing")
            return ""
        if not is_guid(value):
            self.problem(f"{path}.{key}", f"{value!r} is not a GUID")
            return ""
        return cast("str", value).lower()

    def strings(self, table: Mapping[str, Any], key: str, path: str) -> list[tuple[str, str]]:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", "not an array of strings")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append((f"{path}.{key}[{i}]", item))
            else:
                self.problem(f"{path}.{key}[{i}]", "not a non-empty string")
        return out

    def address(self, table: Mapping[str, Any], key: str, path: str, domains: set[str]) -> str:
        value = self.string(table, key, path)
        if not value:
            return ""
        domain = email_domain(value)
        if domain is None:
            self.problem(f"{path}.{key}", f"{value!r} is not an email address")
        elif domains and domain.casefold() not in domains:
            self.problem(f"{path}.{key}", f"domain {domain!r} is not a domain of this tenant")
        return value

    def aware_datetime(self, table: Mapping[str, Any], key: str, path: str) -> datetime | None:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            self.problem(f"{path}.{key}", "missing")
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            kind = "a date without a time" if isinstance(value, date) else "not a datetime"
            self.problem(f"{path}.{key}", kind)
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.problem(f"{path}.{key}", "not a time-zone-aware datetime (add Z or an offset)")
            return None
        return value


def build_tenant(data: Mapping[str, Any]) -> tuple[Tenant | None, list[str]]:
    """The tenant ``data`` describes, and every problem found on the way."""
    check = _Checker()
    check.known_keys(
        data, "(top level)", {"tenant", "organization", "users", "resources", "groups", "apps"}
    )
    head = check.table(data.get("tenant", {}), "tenant") or {}
    check.known_keys(head, "tenant", {"id", "domain", "display_name", "other_domains"})
    tenant_id = check.guid(head, "id", "tenant", required=True)
    domain = check.string(head, "domain", "tenant")
    if domain and not is_domain(domain):
        check.problem("tenant.domain", f"{domain!r} is not a domain name")
        domain = ""
    other_domains = []
    for path, name in check.strings(head, "other_domains", "tenant"):
        if is_domain(name):
            other_domains.append(name)
        else:
            check.problem(path, f"{name!r} is not a domain name")
    display_name = head.get("display_name", "")
    if not isinstance(display_name, str):
        check.problem("tenant.display_name", "not a string")
        display_name = ""
    # Addresses are checked against the accepted domains only when those are themselves valid.
    domains = {d.casefold() for d in (domain, *other_domains) if d}

    users = [_user(check, path, t, tenant_id, domains) for path, t in check.tables(data, "users")]
    resources = [
        _resource(check, path, t, tenant_id, domains) for path, t in check.tables(data, "resources")
    ]
    group_tables = check.tables(data, "groups")
    groups = [_group(check, path, t, tenant_id, domains) for path, t in group_tables]
    _check_unique_addresses(check, users, resources, groups)
    _check_members(check, group_tables, groups, users, resources)
    apps = [_app(check, path, t, tenant_id, groups) for path, t in check.tables(data, "apps")]
    seen_apps: dict[str, int] = {}
    for i, app in enumerate(apps):
        if app.client_id and app.client_id in seen_apps:
            check.problem(
                f"apps[{i}].client_id", f"same client_id as apps[{seen_apps[app.client_id]}]"
            )
        seen_apps.setdefault(app.client_id, i)
    organization = _organization(check, data.get("organization", {}))
    if check.problems:
        return None, check.problems
    tenant = Tenant(
        tenant_id=tenant_id,
        domain=domain,
        users=tuple(users),
        resources=tuple(resources),
        groups=tuple(groups),
        apps=tuple(apps),
        organization=organization,
        display_name=display_name,
        other_domains=tuple(other_domains),
    )
    return tenant, []


def _user(
    check: _Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
) -> User:
    check.known_keys(
        t,
        path,
        {
            "email",
            "display_name",
            "object_id",
            "ews_enabled",
            "grant_send_on_behalf_to",
            "password",
        },
    )
    email = check.address(t, "email", path, domains)
    return User(
        email=email,
        display_name=check.string(t, "display_name", path),
        object_id=check.guid(t, "object_id", path, required=False)
        or derived_id(tenant_id, "user", email),
        ews_enabled=check.boolean(t, "ews_enabled", path, default=True),
        grant_send_on_behalf_to=tuple(
            name for _, name in check.strings(t, "grant_send_on_behalf_to", path)
        ),
        password=check.string(t, "password", path) if "password" in t else "",
    )


_PROCESSING_KEYS = {f.name: f for f in fields(CalendarProcessing)}


def _resource(
    check: _Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
) -> Resource:
    check.known_keys(
        t,
        path,
        {
            "email",
            "display_name",
            "kind",
            "object_id",
            "ews_enabled",
            "calendar_processing",
            "calendar_default_permission",
        },
    )
    email = check.address(t, "email", path, domains)
    processing_path = f"{path}.calendar_processing"
    table = check.table(t.get("calendar_processing", {}), processing_path) or {}
    check.known_keys(table, processing_path, set(_PROCESSING_KEYS))
    defaults = CalendarProcessing()
    values: dict[str, Any] = {}
    for name in table:
        if name not in _PROCESSING_KEYS:
            continue
        default = getattr(defaults, name)
        if name == "automate_processing":
            values[name] = check.choice(table, name, processing_path, AUTOMATE_PROCESSING, default)
        elif isinstance(default, bool):
            values[name] = check.boolean(table, name, processing_path, default)
        elif isinstance(default, int):
            values[name] = check.integer(table, name, processing_path, default)
        else:
            values[name] = table[name] if isinstance(table[name], str) else default
            if not isinstance(table[name], str):
                check.problem(f"{processing_path}.{name}", "not a string")
    kind = check.choice(t, "kind", path, ("equipment", "room"), "equipment")
    return Resource(
        email=email,
        display_name=check.string(t, "display_name", path),
        kind=cast("Any", kind),
        calendar_processing=CalendarProcessing(**values),
        calendar_default_permission=check.choice(
            t, "calendar_default_permission", path, CALENDAR_PERMISSIONS, "AvailabilityOnly"
        ),
        object_id=check.guid(t, "object_id", path, required=False)
        or derived_id(tenant_id, "resource", email),
        ews_enabled=check.boolean(t, "ews_enabled", path, default=True),
    )


def _group(
    check: _Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
) -> Group:
    check.known_keys(t, path, {"email", "display_name", "object_id", "members"})
    email = check.address(t, "email", path, domains)
    return Group(
        email=email,
        display_name=check.string(t, "display_name", path),
        members=tuple(m for _, m in check.strings(t, "members", path)),
        object_id=check.guid(t, "object_id", path, required=False)
        or derived_id(tenant_id, "group", email),
    )


def _check_unique_addresses(
    check: _Checker, users: list[User], resources: list[Resource], groups: list[Group]
) -> None:
    seen: dict[str, str] = {}
    named = [(f"users[{i}]", u.email) for i, u in enumerate(users)]
    named += [(f"resources[{i}]", r.email) for i, r in enumerate(resources)]
    named += [(f"groups[{i}]", g.email) for i, g in enumerate(groups)]
    for path, email in named:
        if not email:
            continue
        if email.casefold() in seen:
            check.problem(f"{path}.email", f"{email!r} is already used by {seen[email.casefold()]}")
        seen.setdefault(email.casefold(), path)


def _check_members(
    check: _Checker,
    group_tables: list[tuple[str, Mapping[str, Any]]],
    groups: list[Group],
    users: list[User],
    resources: list[Resource],
) -> None:
    recipients: list[User | Resource | Group] = [*users, *resources, *groups]
    known = {r.email.casefold() for r in recipients if r.email}
    by_address = {g.email.casefold(): g for g in groups if g.email}
    for (path, _), group in zip(group_tables, groups, strict=True):
        for i, member in enumerate(group.members):
            if member.casefold() not in known:
                check.problem(
                    f"{path}.members[{i}]",
                    f"{member!r} is no user, resource or group of this tenant",
                )
    # Exchange refuses to nest a group inside itself, directly or not.
    for path, group in zip((p for p, _ in group_tables), groups, strict=True):
        chain = _cycle_from(group, by_address)
        if chain:
            check.problem(f"{path}.members", "membership cycle " + " -> ".join(chain))


def _cycle_from(start: Group, by_address: Mapping[str, Group]) -> list[str]:
    stack: list[tuple[Group, list[str]]] = [(start, [start.email])]
    visited: set[str] = set()
    while stack:
        group, chain = stack.pop()
        for member in group.members:
            if member.casefold() == start.email.casefold():
                return [*chain, member]
            nested = by_address.get(member.casefold())
            if nested is not None and member.casefold() not in visited:
                visited.add(member.casefold())
                stack.append((nested, [*chain, member]))
    return []


def _app(
    check: _Checker, path: str, t: Mapping[str, Any], tenant_id: str, groups: list[Group]
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


def _api_settings(check: _Checker, path: str, t: Mapping[str, Any]) -> dict[str, Any]:
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


def _secret(check: _Checker, path: str, t: Mapping[str, Any], client_id: str) -> ClientSecret:
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
    check: _Checker, path: str, t: Mapping[str, Any], groups: list[Group]
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


def _organization(check: _Checker, value: object) -> Organization:
    table = check.table(value, "organization") or {}
    check.known_keys(table, "organization", {"ews_enabled", "ews_allowed_app_ids"})
    ews_enabled = table.get("ews_enabled")  # absent = Exchange Online's $null
    if ews_enabled is not None and not isinstance(ews_enabled, bool):
        check.problem("organization.ews_enabled", "not true or false (leave it out for $null)")
        ews_enabled = None
    app_ids = []
    for path, app_id in check.strings(table, "ews_allowed_app_ids", "organization"):
        if is_guid(app_id):
            app_ids.append(app_id.lower())
        else:
            check.problem(path, f"{app_id!r} is not a GUID")
    return Organization(ews_enabled=ews_enabled, ews_allowed_app_ids=tuple(app_ids))
