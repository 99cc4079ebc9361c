"""The simulated tenant: directory objects, app registrations and their Exchange permissions.

A tenant is described by a TOML file (format and field reference: ``docs/exchangesim-tenant.md``)
and loaded into frozen dataclasses by :func:`load_tenant`. Loading checks the whole file and raises
one :class:`TenantFileError` that lists every problem with its path, e.g.
``apps[1].secrets[0].expires: not a datetime``.

Email addresses are kept as written but compare case-insensitively everywhere. The permissions
and roles an app may hold are listed in `app_permissions.py`.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from exchangesim.app_permissions import APPLICATION_PERMISSIONS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime
    from pathlib import Path

AUTOMATE_PROCESSING = ("AutoAccept", "AutoUpdate", "None")
#: ``Add-MailboxFolderPermission -AccessRights`` roles usable for a calendar's Default entry.
CALENDAR_PERMISSIONS = (
    "None",
    "AvailabilityOnly",
    "LimitedDetails",
    "Reviewer",
    "Contributor",
    "NonEditingAuthor",
    "Author",
    "PublishingAuthor",
    "Editor",
    "PublishingEditor",
    "Owner",
)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_EMAIL = re.compile(r"^[^@\s]+@(?P<domain>[^@\s]+)$")
_MEMBER_OF_GROUP = re.compile(r"^\s*MemberOfGroup\s+-eq\s+'(?P<group>[^']+)'\s*$", re.IGNORECASE)
# Object ids we make up must not change between runs: derive them from the tenant id and the name.
_ID_NAMESPACE = uuid.UUID("6f1c2a52-8a43-4f55-9a8e-3b1de1f5a0c7")


class TenantFileError(ValueError):
    """The tenant file is unreadable or invalid; ``problems`` lists every finding with its path."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the tenant file:\n{lines}")


@dataclass(frozen=True)
class CalendarProcessing:
    """A resource's ``Set-CalendarProcessing`` settings; defaults are Exchange's own."""

    automate_processing: Literal["AutoAccept", "AutoUpdate", "None"] = "AutoAccept"
    allow_conflicts: bool = False
    allow_recurring_meetings: bool = True
    booking_window_in_days: int = 180
    maximum_duration_in_minutes: int = 1440
    enforce_scheduling_horizon: bool = True
    schedule_only_during_work_hours: bool = False
    conflict_percentage_allowed: int = 0
    maximum_conflict_instances: int = 0
    delete_comments: bool = True
    delete_subject: bool = True
    add_organizer_to_subject: bool = True
    delete_attachments: bool = True
    remove_private_property: bool = True
    delete_non_calendar_items: bool = True
    remove_old_meeting_messages: bool = True
    add_new_requests_tentatively: bool = True
    process_external_meeting_messages: bool = False
    organizer_info: bool = True
    add_additional_response: bool = False
    additional_response: str = ""


@dataclass(frozen=True)
class User:
    """A user with a mailbox; users can also sign in (delegated tokens)."""

    email: str
    display_name: str
    object_id: str = ""
    ews_enabled: bool = True
    kind: Literal["user"] = "user"
    #: ``Set-Mailbox -GrantSendOnBehalfTo``: who may send meeting requests as this user's
    #: delegate (From stays this user, Sender is the delegate).
    grant_send_on_behalf_to: tuple[str, ...] = ()
    #: The sign-in password (resource owner password grant); empty = no password sign-in.
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Resource:
    """A resource (equipment or room) mailbox; its account cannot sign in."""

    email: str
    display_name: str
    kind: Literal["equipment", "room"] = "equipment"
    calendar_processing: CalendarProcessing = field(default_factory=CalendarProcessing)
    calendar_default_permission: str = "AvailabilityOnly"
    object_id: str = ""
    ews_enabled: bool = True


@dataclass(frozen=True)
class Group:
    """A distribution group; ``members`` are addresses of users, resources or other groups."""

    email: str
    display_name: str
    members: tuple[str, ...] = ()
    object_id: str = ""


@dataclass(frozen=True)
class ClientSecret:
    """A client secret of an app registration; Entra shows only ``hint`` (first 3 characters)."""

    value: str
    expires: datetime
    hint: str = ""
    key_id: str = ""

    def expired(self, now: datetime) -> bool:
        """Whether the secret no longer works at ``now``."""
        return now >= self.expires


@dataclass(frozen=True)
class RoleAssignment:
    """An RBAC for Applications role assignment; ``scope_group`` None = the whole organization."""

    role: str
    scope_group: str | None = None
    name: str = ""


@dataclass(frozen=True)
class App:
    """An app registration and its service principal in this tenant."""

    client_id: str
    display_name: str
    secrets: tuple[ClientSecret, ...] = ()
    application_permissions: tuple[str, ...] = ()
    admin_consent: bool = False
    role_assignments: tuple[RoleAssignment, ...] = ()
    service_principal_id: str = ""
    #: "Allow public client flows": the app signs users in without a secret (ROPC, device code).
    public_client: bool = False
    #: "Expose an API": Application ID URIs (``api://...``) and the delegated scopes it defines.
    identifier_uris: tuple[str, ...] = ()
    exposed_scopes: tuple[str, ...] = ()
    #: "API permissions" of the delegated kind, as ``<Application ID URI or client id>/<scope>``;
    #: granted when ``admin_consent`` is true.
    delegated_permissions: tuple[str, ...] = ()
    #: Redirect URIs of the single-page application platform (``brk-multihub://...`` for NAA).
    spa_redirect_uris: tuple[str, ...] = ()

    def names_api(self, resource: str) -> bool:
        """Whether ``resource`` (a scope's resource part) is this app's API."""
        folded = resource.rstrip("/").casefold()
        return folded == self.client_id.casefold() or folded in (
            uri.rstrip("/").casefold() for uri in self.identifier_uris
        )

    def consented_roles(self, resource_app_id: str) -> tuple[str, ...]:
        """The app roles Entra puts in this app's tokens for ``resource_app_id``."""
        if not self.admin_consent:
            return ()
        return tuple(
            p
            for p in self.application_permissions
            if APPLICATION_PERMISSIONS.get(p) == resource_app_id
        )


@dataclass(frozen=True)
class Organization:
    """Organization settings; ``ews_enabled`` None is Exchange Online's ``$null`` (all apps)."""

    ews_enabled: bool | None = None
    ews_allowed_app_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tenant:
    """One Entra tenant with its Exchange Online organization."""

    tenant_id: str
    domain: str
    users: tuple[User, ...] = ()
    resources: tuple[Resource, ...] = ()
    groups: tuple[Group, ...] = ()
    apps: tuple[App, ...] = ()
    organization: Organization = field(default_factory=Organization)
    display_name: str = ""
    other_domains: tuple[str, ...] = ()
    _recipients: dict[str, User | Resource | Group] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _apps: dict[str, App] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        recipients: tuple[User | Resource | Group, ...] = (
            *self.users,
            *self.resources,
            *self.groups,
        )
        for recipient in recipients:
            self._recipients[recipient.email.casefold()] = recipient
        for app in self.apps:
            self._apps[app.client_id.casefold()] = app

    @property
    def name(self) -> str:
        """The directory's display name, as Entra quotes it in error messages."""
        return self.display_name or self.domain

    @property
    def domains(self) -> tuple[str, ...]:
        """Every accepted domain, the primary one first."""
        return (self.domain, *self.other_domains)

    def answers_to(self, identifier: str) -> bool:
        """Whether a URL's ``{tenant}`` segment (GUID or domain) names this tenant."""
        folded = identifier.casefold()
        return folded == self.tenant_id.casefold() or folded in (d.casefold() for d in self.domains)

    def find_mailbox(self, email: str) -> User | Resource | None:
        """The user or resource mailbox with this address (groups have no mailbox)."""
        recipient = self._recipients.get(email.casefold())
        return recipient if isinstance(recipient, User | Resource) else None

    def user(self, email: str) -> User | None:
        """The user with this address."""
        recipient = self._recipients.get(email.casefold())
        return recipient if isinstance(recipient, User) else None

    def group(self, email: str) -> Group | None:
        """The distribution group with this address."""
        recipient = self._recipients.get(email.casefold())
        return recipient if isinstance(recipient, Group) else None

    def app(self, client_id: str) -> App | None:
        """The app registration with this application (client) id."""
        return self._apps.get(client_id.casefold())

    def api_app(self, resource: str) -> App | None:
        """The app registration whose API ``resource`` names (Application ID URI or client id)."""
        return next((app for app in self.apps if app.names_api(resource)), None)

    def group_members(self, group: str, *, transitive: bool = False) -> tuple[str, ...]:
        """Member addresses of ``group``; direct members only unless ``transitive``.

        A management scope's ``MemberOfGroup -eq`` filter matches direct members only, so RBAC
        scoping uses the default; mail delivery to a group expands transitively.
        """
        found = self.group(group)
        if found is None:
            return ()
        if not transitive:
            return found.members
        seen: dict[str, str] = {}
        pending = list(found.members)
        while pending:
            address = pending.pop(0)
            if address.casefold() in seen:
                continue
            seen[address.casefold()] = address
            nested = self.group(address)
            if nested is not None:
                pending.extend(nested.members)
        return tuple(a for a in seen.values() if self.group(a) is None)

    def is_direct_member(self, group: str, address: str) -> bool:
        """Whether ``address`` is a direct member of ``group`` (what ``MemberOfGroup`` tests)."""
        return address.casefold() in (m.casefold() for m in self.group_members(group))


def load_tenant(path: Path) -> Tenant:
    """Read and validate a tenant TOML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TenantFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    return parse_tenant(text, source=str(path))


def demo_tenant() -> Tenant:
    """The sample tenant shipped with exchangesim (``exchangesim/data/demo-tenant.toml``)."""
    text = resources.files("exchangesim").joinpath("data/demo-tenant.toml").read_text("utf-8")
    return parse_tenant(text, source="demo-tenant.toml")


def parse_tenant(document: str | Mapping[str, Any], *, source: str = "<tenant>") -> Tenant:
    """Validate a tenant given as TOML text or as an already parsed mapping."""
    if isinstance(document, str):
        try:
            data: Mapping[str, Any] = tomllib.loads(document)
        except tomllib.TOMLDecodeError as exc:
            raise TenantFileError(source, [f"not valid TOML: {exc}"]) from exc
    else:
        data = document
    # Imported here: the validator module imports this one (its dataclasses).
    from exchangesim._tenant_file import build_tenant  # noqa: PLC0415

    tenant, problems = build_tenant(data)
    if problems or tenant is None:
        raise TenantFileError(source, problems or ["the file describes no tenant"])
    return tenant


def derived_id(tenant_id: str, kind: str, name: str) -> str:
    """A stable object id for an object the file gives no id for."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{tenant_id.casefold()}/{kind}/{name.casefold()}"))


def is_guid(value: object) -> bool:
    """Whether ``value`` is a GUID string in its usual 8-4-4-4-12 form."""
    return isinstance(value, str) and bool(_GUID.match(value))


def is_domain(value: object) -> bool:
    """Whether ``value`` is a DNS name with at least two labels."""
    return isinstance(value, str) and bool(_DOMAIN.match(value))


def email_domain(value: object) -> str | None:
    """The domain of an email address, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    match = _EMAIL.match(value)
    if match is None or not is_domain(match["domain"]):
        return None
    return match["domain"]


def member_of_group_target(recipient_filter: str) -> str | None:
    """The group named by ``MemberOfGroup -eq '<group>'``, or None for any other filter."""
    match = _MEMBER_OF_GROUP.match(recipient_filter)
    return match["group"] if match else None
