"""The directory operations: ResolveNames, ExpandDL, GetRoomLists, GetRooms,
GetPasswordExpirationDate and GetServerTimeZones.

They read the tenant (its users, resources and groups stand in for the global address list), not
a mailbox, so the impersonated mailbox only has to be one the caller may open (the endpoint
checks that, as Exchange Online asks app-only callers to impersonate someone even for directory
calls: ews-managed-api issue 245).

- ResolveNames: ambiguous name resolution over the directory, as Exchange's ANR does: a prefix
  of the display name, of any word of it (standing in for givenName/sn, which the tenant model
  lacks), of the alias (the address's local part) or of the address; `smtp:<address>` matches
  that address only. One match is `Success`, several are `Warning`
  `ErrorNameResolutionMultipleResults` with every candidate (at most 100,
  `IncludesLastItemInRange="false"` beyond), none is `ErrorNameResolutionNoResults`
  (`ResolveNames-*.response.xml`). The store has no contact items, so `SearchScope="Contacts"`
  finds nothing and the other scopes find what the directory finds. `ReturnFullContactData`
  adds a `t:Contact` with what the directory knows (ContactSource `ActiveDirectory`).
- ExpandDL: the direct members of a distribution group, as `t:Mailbox` with `MailboxType`
  (`Mailbox`, or `PublicDL` for a nested group, which is listed, not expanded: "A distribution
  list expansion is not recursive", ExpandDL element reference). Any other address is
  `ErrorNameResolutionNoResults` (`ExpandDL-ErrorNameResolutionNoResults.response.xml`); the
  store has no private (contact) lists, so an `ItemId` is malformed or not found.
- GetRoomLists / GetRooms: the tenant model has no room lists (a room list is a distribution
  group created with `-RoomList`; `exchangesim.tenant.Group` has no such flag), so the answer is
  the one Exchange gives an organization without any: an empty `RoomLists`, and
  `ErrorNameResolutionNoResults` for every `GetRooms` (`GetRooms-ErrorNameResolutionNoResults`).
- GetPasswordExpirationDate: the password expiry of the named mailbox's account (the caller's
  mailbox when no address is given). Cloud accounts under Microsoft's recommended policy
  ("Set passwords to never expire") never expire, which Exchange Online writes as
  `9999-12-31T23:59:59.9999999` (`GetPasswordExpirationDate-NeverExpire.response.xml`); the
  tenant model has no password policy, so every account answers that. An address that is no
  mailbox of the tenant is the `ErrorNonExistentMailbox` fault: the response schema requires a
  date, so the error cannot be a response message.
- GetServerTimeZones: the Windows time zones of `store.timezones`, with their current rule
  (`GetServerTimeZones-TimeZone.response.xml`); `ReturnFullTimeZoneData="false"` gives only
  `Id` and `Name`. An id the server does not know answers `ErrorTimeZone`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, EwsFault, error_message
from exchangesim.ews.ops_items import mailbox_type
from exchangesim.ews.registry import operation
from exchangesim.ews.serialize import write_time_zone
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    child_text,
    children,
    format_bool,
    m,
    msub,
    parse_bool,
    response_message,
    tsub,
)
from exchangesim.store import timezones
from exchangesim.store.errors import InvalidId, UnknownTimeZone
from exchangesim.store.ids import id_kind
from exchangesim.tenant import Group, Resource, User

if TYPE_CHECKING:
    from collections.abc import Iterable

    from exchangesim.ews.context import EwsContext
    from exchangesim.tenant import Tenant

#: Most candidates one ResolveNames answer holds ("at most 100 candidates", ResolveNames
#: operation reference; `maxOccurs="100"` on `t:Resolution`).
MAX_RESOLUTIONS: Final = 100
#: What Exchange Online answers for an account whose password never expires (.NET
#: `DateTime.MaxValue`, unzoned, as captured in `GetPasswordExpirationDate-NeverExpire`).
NEVER_EXPIRES: Final = "9999-12-31T23:59:59.9999999"
_TIME_ZONE_TEXT: Final = "The specified time zone isn't valid."

Recipient = User | Resource | Group


@dataclass(frozen=True)
class DirectoryEntry:
    """A directory object as the address book shows it."""

    email: str
    display_name: str
    mailbox_type: str
    object_id: str

    @property
    def alias(self) -> str:
        """The mail nickname: the address's local part, Exchange's default alias."""
        return self.email.partition("@")[0]


def directory(tenant: Tenant) -> list[DirectoryEntry]:
    """Every user, resource and group of the tenant, sorted by display name."""
    recipients: Iterable[Recipient] = (*tenant.users, *tenant.resources, *tenant.groups)
    entries = [
        DirectoryEntry(
            email=r.email,
            display_name=r.display_name or r.email,
            mailbox_type="PublicDL" if isinstance(r, Group) else "Mailbox",
            object_id=r.object_id,
        )
        for r in recipients
    ]
    return sorted(entries, key=lambda e: (e.display_name.casefold(), e.email.casefold()))


def resolves(entry: DirectoryEntry, wanted: str) -> bool:
    """Whether ambiguous name resolution of `wanted` finds `entry` (see the module docstring)."""
    text = wanted.strip().casefold()
    if not text:
        return False
    if text.startswith("smtp:"):
        return entry.email.casefold() == text[5:].strip()
    names = (entry.display_name, *entry.display_name.split(), entry.alias, entry.email)
    return any(name.casefold().startswith(text) for name in names)


def write_email_address(
    parent: Element, tag: str, email: str, name: str, mailbox_kind: str
) -> Element:
    """An `EmailAddressType` element: Name, EmailAddress, RoutingType SMTP, MailboxType."""
    box = tsub(parent, tag)
    tsub(box, "Name", name or email)
    tsub(box, "EmailAddress", email)
    tsub(box, "RoutingType", "SMTP")
    tsub(box, "MailboxType", mailbox_kind)
    return box


def _write_contact(parent: Element, entry: DirectoryEntry) -> None:
    """The directory's `t:Contact` for an entry, in `ContactItemType` order."""
    contact = tsub(parent, "Contact")
    tsub(contact, "Culture", "en-US")
    tsub(contact, "DisplayName", entry.display_name)
    addresses = tsub(contact, "EmailAddresses")
    tsub(addresses, "Entry", f"SMTP:{entry.email}", Key="EmailAddress1")
    tsub(contact, "ContactSource", "ActiveDirectory")
    tsub(contact, "Alias", entry.alias)
    if entry.object_id:
        tsub(contact, "DirectoryId", f"<GUID={entry.object_id}>")


# --- ResolveNames ------------------------------------------------------------------------------


@operation("ResolveNames")
async def resolve_names(ctx: EwsContext, request: Element) -> Element:
    """ResolveNames: one response message per `m:UnresolvedEntry`."""
    full_contact = parse_bool(request.get("ReturnFullContactData", "false"))
    scope = request.get("SearchScope", "ActiveDirectoryContacts")
    entries = [] if scope == "Contacts" else directory(ctx.sim.tenant)
    response = m("ResolveNamesResponse")
    messages = msub(response, "ResponseMessages")
    for unresolved in children(request, M_NS, "UnresolvedEntry"):
        found = [e for e in entries if resolves(e, unresolved.text or "")]
        if not found:
            error_message(messages, "ResolveNames", "ErrorNameResolutionNoResults")
            continue
        if len(found) == 1:
            msg = response_message(messages, "ResolveNames")
        else:
            msg = response_message(
                messages,
                "ResolveNames",
                response_class="Warning",
                code="ErrorNameResolutionMultipleResults",
                message_text="Multiple results were found.",
            )
            # MessageText, ResponseCode, DescriptiveLinkKey: the order of the captured warning.
            msub(msg, "DescriptiveLinkKey", "0")
        shown = found[:MAX_RESOLUTIONS]
        resolution_set = msub(
            msg,
            "ResolutionSet",
            TotalItemsInView=str(len(found)),
            IncludesLastItemInRange=format_bool(len(shown) == len(found)),
        )
        for entry in shown:
            resolution = tsub(resolution_set, "Resolution")
            write_email_address(
                resolution, "Mailbox", entry.email, entry.display_name, entry.mailbox_type
            )
            if full_contact:
                _write_contact(resolution, entry)
    return response


# --- ExpandDL ----------------------------------------------------------------------------------


def _members(ctx: EwsContext, group: Group) -> list[tuple[str, str, str]]:
    """(address, display name, MailboxType) of the group's direct members, by display name."""
    tenant = ctx.sim.tenant
    kind = mailbox_type(ctx)
    found = []
    for address in group.members:
        recipient: Recipient | None = tenant.find_mailbox(address) or tenant.group(address)
        email = recipient.email if recipient is not None else address
        name = recipient.display_name if recipient is not None else address
        found.append((email, name, kind(email)))
    return sorted(found, key=lambda member: (member[1].casefold(), member[0].casefold()))


def _group_of(ctx: EwsContext, mailbox: Element | None) -> Group:
    """The distribution group an `EmailAddressType` names; raises `EwsError`."""
    if mailbox is None:
        raise EwsError("ErrorNameResolutionNoResults")
    item_id = child(mailbox, T_NS, "ItemId")
    if item_id is not None:
        # A private distribution list is a contact item; the store has none.
        try:
            id_kind(item_id.get("Id", ""))
        except InvalidId as exc:
            raise EwsError("ErrorInvalidIdMalformed") from exc
        raise EwsError("ErrorItemNotFound")
    address = (child_text(mailbox, T_NS, "EmailAddress") or "").strip()
    if address.casefold().startswith("smtp:"):
        address = address[5:]
    group = ctx.sim.tenant.group(address) if address else None
    if group is None:
        raise EwsError("ErrorNameResolutionNoResults")
    return group


@operation("ExpandDL")
async def expand_dl(ctx: EwsContext, request: Element) -> Element:
    """ExpandDL: the direct members of one distribution group."""
    response = m("ExpandDLResponse")
    messages = msub(response, "ResponseMessages")
    try:
        group = _group_of(ctx, child(request, M_NS, "Mailbox"))
    except EwsError as err:
        error_message(messages, "ExpandDL", err.code, err.message)
        return response
    members = _members(ctx, group)
    msg = response_message(messages, "ExpandDL")
    expansion = msub(
        msg, "DLExpansion", TotalItemsInView=str(len(members)), IncludesLastItemInRange="true"
    )
    for email, name, kind in members:
        write_email_address(expansion, "Mailbox", email, name, kind)
    return response


# --- room lists --------------------------------------------------------------------------------


@operation("GetRoomLists")
async def get_room_lists(ctx: EwsContext, request: Element) -> Element:  # noqa: ARG001
    """GetRoomLists: the tenant has no room lists, so the list is empty."""
    response = m("GetRoomListsResponse", ResponseClass="Success")
    msub(response, "ResponseCode", "NoError")
    msub(response, "RoomLists")
    return response


@operation("GetRooms")
async def get_rooms(ctx: EwsContext, request: Element) -> Element:  # noqa: ARG001
    """GetRooms: no address is a room list here, so every answer is NoResults."""
    response = m("GetRoomsResponse", ResponseClass="Error")
    msub(response, "MessageText", "No results were found.")
    msub(response, "ResponseCode", "ErrorNameResolutionNoResults")
    msub(response, "DescriptiveLinkKey", "0")
    return response


# --- GetPasswordExpirationDate -----------------------------------------------------------------


@operation("GetPasswordExpirationDate")
async def get_password_expiration_date(ctx: EwsContext, request: Element) -> Element:
    """GetPasswordExpirationDate: never, for every account of the tenant."""
    address = (child_text(request, M_NS, "MailboxSmtpAddress") or "").strip()
    if not address:
        address = ctx.mailbox or ctx.principal.upn or ""
    if ctx.sim.tenant.find_mailbox(address) is None:
        raise EwsFault("ErrorNonExistentMailbox", message_xml=[("SmtpAddress", address)])
    response = m("GetPasswordExpirationDateResponse", ResponseClass="Success")
    msub(response, "ResponseCode", "NoError")
    msub(response, "PasswordExpirationDate", NEVER_EXPIRES)
    return response


# --- GetServerTimeZones ------------------------------------------------------------------------


@operation("GetServerTimeZones")
async def get_server_time_zones(ctx: EwsContext, request: Element) -> Element:  # noqa: ARG001
    """GetServerTimeZones: the asked-for (or every) Windows time zone, in one message."""
    full = parse_bool(request.get("ReturnFullTimeZoneData", "true"))
    ids_el = child(request, M_NS, "Ids")
    response = m("GetServerTimeZonesResponse")
    messages = msub(response, "ResponseMessages")
    definitions: list[timezones.TimeZoneDefinition] = []
    if ids_el is None:
        for zone_id in timezones.known_windows_ids():
            try:
                definitions.append(timezones.timezone_definition(zone_id))
            except UnknownTimeZone:
                continue  # a CLDR zone whose tzdata rule cannot be read: not offered
    else:
        try:
            definitions = [
                timezones.timezone_definition((el.text or "").strip())
                for el in children(ids_el, T_NS, "Id")
            ]
        except UnknownTimeZone:
            msg = error_message(messages, "GetServerTimeZones", "ErrorTimeZone", _TIME_ZONE_TEXT)
            msub(msg, "TimeZoneDefinitions")  # required by the message type, even on errors
            return response
    msg = response_message(messages, "GetServerTimeZones")
    holder = msub(msg, "TimeZoneDefinitions")
    for definition in definitions:
        if full:
            write_time_zone(holder, "TimeZoneDefinition", definition)
        else:
            tsub(holder, "TimeZoneDefinition", Id=definition.id, Name=definition.name)
    return response


__all__ = [
    "MAX_RESOLUTIONS",
    "NEVER_EXPIRES",
    "DirectoryEntry",
    "directory",
    "expand_dl",
    "get_password_expiration_date",
    "get_room_lists",
    "get_rooms",
    "get_server_time_zones",
    "resolve_names",
    "resolves",
    "write_email_address",
]
