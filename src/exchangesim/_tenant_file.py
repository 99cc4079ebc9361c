"""Check a parsed tenant file and build the :class:`~exchangesim.tenant.Tenant` it describes.

Every check appends a problem with its path instead of stopping, so one run reports all of them.
This module reads the tenant, its organization, users, resources and groups; app registrations
are read by `_tenant_apps.py`, typed values by `_tenant_checker.Checker`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, cast

from exchangesim._tenant_apps import read_app
from exchangesim._tenant_checker import Checker
from exchangesim.tenant import (
    AUTOMATE_PROCESSING,
    CALENDAR_PERMISSIONS,
    CalendarProcessing,
    Group,
    Organization,
    Resource,
    Tenant,
    User,
    derived_id,
    is_domain,
    is_guid,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


def build_tenant(data: Mapping[str, Any]) -> tuple[Tenant | None, list[str]]:
    """The tenant ``data`` describes, and every problem found on the way."""
    check = Checker()
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
    apps = [read_app(check, path, t, tenant_id, groups) for path, t in check.tables(data, "apps")]
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
    check: Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
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
    check: Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
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
    check: Checker, path: str, t: Mapping[str, Any], tenant_id: str, domains: set[str]
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
    check: Checker, users: list[User], resources: list[Resource], groups: list[Group]
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
    check: Checker,
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


def _organization(check: Checker, value: object) -> Organization:
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
