"""GetFolder and FindFolder, and what the item operations share with them: resolving a folder id
(`resolve_folder`), checking access to another mailbox's folder, writing folder elements and
paging a view (`page`).

Folder ids are `t:FolderId` (the store's ids) or `t:DistinguishedFolderId` (``inbox`` …, with an
optional `t:Mailbox` naming whose; exchangelib always names the account's own mailbox). The
request acts as the mailbox `EwsContext.mailbox` (the impersonated user): its own folders are
fully open; another mailbox's calendar opens as far as that calendar's permission set lets the
user see it (its own entry, else ``Default``), and nothing else of another mailbox opens
(``ErrorAccessDenied``), as for an Outlook user opening a colleague's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import (
    FOLDER_ALL,
    FOLDER_DEFAULT,
    FOLDER_ELEMENTS,
    FolderShape,
    extended_attributes,
    parse_folder_shape,
    property_identity,
)
from exchangesim.ews.registry import operation
from exchangesim.ews.restrictions import folder_matches, parse_restriction
from exchangesim.ews.serialize import write_effective_rights
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    child_text,
    local_name,
    m,
    msub,
    qname,
    response_message,
    tsub,
)
from exchangesim.store import folder_properties
from exchangesim.store.errors import FolderNotFound, StoreError
from exchangesim.store.folders import DISTINGUISHED_NAMES, CalendarPermission

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import Folder
    from exchangesim.store.items import PropertyKey

Access = Literal["folder", "items"]

#: Folders FindFolder never lists: the dumpster is not part of the visible hierarchy.
HIDDEN_FROM_FIND: Final = frozenset({"recoverableitemsroot", "recoverableitemsdeletions"})
#: PidTagAttributeHidden: Exchange stamps it on every folder (GetFolder-WorkHiddenFolders).
_ATTR_HIDDEN: Final = 0x10F4


# --- resolving folder ids --------------------------------------------------------------------


def _mailbox_of(el: Element) -> str | None:
    box = child(el, T_NS, "Mailbox")
    if box is None:
        return None
    return child_text(box, T_NS, "EmailAddress") or None


def resolve_folder(ctx: EwsContext, el: Element, access: Access = "folder") -> Folder:
    """The folder a `FolderId`/`DistinguishedFolderId` element names; raises `EwsError`.

    ``access`` says what the caller will do: look at the folder, or at its items.
    """
    store = ctx.sim.store
    name = local_name(el)
    own = ctx.mailbox or ""
    try:
        if name == "DistinguishedFolderId":
            folder_name = el.get("Id", "")
            if folder_name == "publicfoldersroot":
                raise EwsError(
                    "ErrorNoPublicFolderReplicaAvailable",
                    "The simulated tenant has no public folders.",
                )
            address = _mailbox_of(el) or own
            found = ctx.sim.tenant.find_mailbox(address)
            if found is None or not store.has_mailbox(found.email):
                raise EwsError("ErrorNonExistentMailbox", message_xml=[("SmtpAddress", address)])
            if folder_name not in DISTINGUISHED_NAMES:
                raise FolderNotFound(f"{found.email} has no {folder_name!r} folder")
            folder = store.folder(found.email, folder_name)
        elif name == "FolderId":
            folder = store.folder(None, el.get("Id", ""))
        else:
            raise EwsError("ErrorInvalidOperation", f"{name} does not name a mailbox folder.")
    except StoreError as exc:
        raise from_store_error(exc) from exc
    check_access(ctx, folder, access)
    return folder


def user_permission(folder: Folder, user: str) -> CalendarPermission:
    """The permission entry that applies to ``user`` on someone else's folder."""
    default = CalendarPermission("Default", "None")
    for entry in folder.permissions:
        if entry.user.casefold() == user.casefold():
            return entry
        if entry.user == "Default":
            default = entry
    return default


def check_access(ctx: EwsContext, folder: Folder, access: Access) -> None:
    """Refuse another mailbox's folder unless its permission set lets the user in."""
    if ctx.mailbox is not None and folder.mailbox.casefold() == ctx.mailbox.casefold():
        return
    entry = user_permission(folder, ctx.mailbox or "")
    allowed = entry.level != "None" if access == "folder" else entry.read_access == "FullDetails"
    if not allowed:
        raise EwsError("ErrorAccessDenied")


# --- writing folders --------------------------------------------------------------------------


def folder_tag(folder: Folder) -> str:
    """The element a folder is written as (by its folder class)."""
    folder_class = folder.folder_class or ""
    if folder_class.startswith("IPF.Appointment"):
        return "CalendarFolder"
    if folder_class.startswith("IPF.Contact"):
        return "ContactsFolder"
    if folder_class.startswith("IPF.Task"):
        return "TasksFolder"
    return "Folder"


# Permission levels as the flags EWS spells them out with ("Set folder permissions for another
# user by using EWS": the table of permission levels and their individual permissions).
_LEVEL_FLAGS: Final[dict[str, tuple[bool, bool, bool, bool, bool, str, str]]] = {
    # level: CanCreateItems, CanCreateSubFolders, IsFolderOwner, IsFolderVisible,
    #        IsFolderContact, EditItems, DeleteItems
    "None": (False, False, False, False, False, "None", "None"),
    "Owner": (True, True, True, True, True, "All", "All"),
    "PublishingEditor": (True, True, False, True, False, "All", "All"),
    "Editor": (True, False, False, True, False, "All", "All"),
    "PublishingAuthor": (True, True, False, True, False, "Owned", "Owned"),
    "Author": (True, False, False, True, False, "Owned", "Owned"),
    "NoneditingAuthor": (True, False, False, True, False, "None", "Owned"),
    "Reviewer": (False, False, False, True, False, "None", "None"),
    "Contributor": (True, False, False, False, False, "None", "None"),
    "FreeBusyTimeOnly": (False, False, False, False, False, "None", "None"),
    "FreeBusyTimeAndSubjectAndLocation": (False, False, False, False, False, "None", "None"),
    "Custom": (False, False, False, True, False, "None", "None"),
}


def _user_id(parent: Element, ctx: EwsContext, user: str) -> None:
    user_el = tsub(parent, "UserId")
    if user in {"Default", "Anonymous"}:
        tsub(user_el, "DistinguishedUser", user)
        return
    tsub(user_el, "PrimarySmtpAddress", user)
    found = ctx.sim.tenant.find_mailbox(user)
    tsub(user_el, "DisplayName", found.display_name if found is not None else user)


def _permissions(parent: Element, ctx: EwsContext, folder: Folder, calendar: bool) -> None:
    entries = folder.permissions or (
        CalendarPermission("Default", "None"),
        CalendarPermission("Anonymous", "None"),
    )
    perm_set = tsub(parent, "PermissionSet")
    holder = tsub(perm_set, "CalendarPermissions" if calendar else "Permissions")
    for entry in entries:
        el = tsub(holder, "CalendarPermission" if calendar else "Permission")
        _user_id(el, ctx, entry.user)
        flags = _LEVEL_FLAGS[entry.level]
        for name, value in zip(
            ("CanCreateItems", "CanCreateSubFolders", "IsFolderOwner", "IsFolderVisible"),
            flags[:4],
            strict=True,
        ):
            tsub(el, name, "true" if value else "false")
        tsub(el, "IsFolderContact", "true" if flags[4] else "false")
        tsub(el, "EditItems", flags[5])
        tsub(el, "DeleteItems", flags[6])
        if calendar:
            tsub(el, "ReadItems", entry.read_access)
            tsub(el, "CalendarPermissionLevel", entry.level)
        else:
            level = entry.level if entry.level in _FOLDER_LEVELS else "Custom"
            tsub(el, "ReadItems", "FullDetails" if entry.read_access == "FullDetails" else "None")
            tsub(el, "PermissionLevel", level)


_FOLDER_LEVELS: Final = frozenset(
    {
        "None",
        "Owner",
        "PublishingEditor",
        "Editor",
        "PublishingAuthor",
        "Author",
        "NoneditingAuthor",
        "Reviewer",
        "Contributor",
    }
)


def _wanted(tag: str, shape: FolderShape) -> list[str]:
    if shape.base == "IdOnly":
        base: frozenset[str] = frozenset({"FolderId"})
    elif shape.base == "Default":
        base = FOLDER_DEFAULT
        if tag == "CalendarFolder":
            base = base - {"TotalCount"}
    else:
        base = FOLDER_ALL
    names = []
    for name, uri in FOLDER_ELEMENTS:
        asked = bool(uri) and uri in shape.field_uris
        if name in base or asked or (name == "ExtendedProperty" and shape.extended):
            names.append(name)
    # Elements the folder's type does not have ([MS-OXWSFOLD], [MS-OXWSMTGS], [MS-OXWSCONT]).
    if tag in {"CalendarFolder", "ContactsFolder"}:
        names = [n for n in names if n != "UnreadCount"]
    if tag != "CalendarFolder":
        names = [n for n in names if n != "SharingEffectiveRights"]
    if tag == "ContactsFolder":
        names = [n for n in names if n != "PermissionSet"]
    return names


def _folder_extended(parent: Element, folder: Folder, keys: tuple[PropertyKey, ...]) -> None:
    """PR_ATTR_HIDDEN (no folder is hidden) and the properties a client set on the folder (over
    Graph: `exchangesim.store.folder_properties`); properties the folder lacks are left out, as
    for items."""
    for key in keys:
        value = (
            "false"
            if property_identity(key) == ("tag", _ATTR_HIDDEN)
            else folder_properties.value_of(folder, key)
        )
        if value is None:
            continue
        prop = tsub(parent, "ExtendedProperty")
        tsub(prop, "ExtendedFieldURI", **extended_attributes(key))
        if isinstance(value, tuple):
            values = tsub(prop, "Values")
            for text in value:
                tsub(values, "Value", text)
        else:
            tsub(prop, "Value", value)


def write_folder(
    parent: Element, ctx: EwsContext, folder: Folder, shape: FolderShape, tag: str | None = None
) -> Element:
    """Append the folder element with the properties the shape asks for, in schema order."""
    tag = tag or folder_tag(folder)
    el = tsub(parent, tag)
    own = ctx.mailbox is not None and folder.mailbox.casefold() == ctx.mailbox.casefold()
    for name in _wanted(tag, shape):
        if name == "FolderId":
            tsub(el, "FolderId", Id=folder.id, ChangeKey=folder.change_key)
        elif name == "ParentFolderId" and folder.parent_id:
            tsub(el, "ParentFolderId", Id=folder.parent_id, ChangeKey="AQAAAA==")
        elif name == "FolderClass" and folder.folder_class:
            tsub(el, "FolderClass", folder.folder_class)
        elif name == "DisplayName":
            tsub(el, "DisplayName", folder.display_name)
        elif name == "TotalCount":
            tsub(el, "TotalCount", str(folder.total_count))
        elif name == "ChildFolderCount":
            tsub(el, "ChildFolderCount", str(folder.child_folder_count))
        elif name == "ExtendedProperty":
            _folder_extended(el, folder, shape.extended)
        elif name == "EffectiveRights":
            write_effective_rights(el, create=own)
        elif name == "DistinguishedFolderId" and folder.distinguished:
            tsub(el, "DistinguishedFolderId", folder.distinguished)
        elif name == "SharingEffectiveRights" and not own:
            rights = user_permission(folder, ctx.mailbox or "").read_access
            tsub(el, "SharingEffectiveRights", rights)
        elif name == "PermissionSet":
            _permissions(el, ctx, folder, calendar=tag == "CalendarFolder")
        elif name == "UnreadCount":
            tsub(el, "UnreadCount", str(folder.unread_count))
    return el


# --- paging ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Which slice of a view to return, and the `FindResponsePagingAttributes` to report."""

    start: int
    stop: int
    attributes: dict[str, str]


def page(view: Element | None, total: int, cap: int | None = None) -> Page:
    """Apply an `IndexedPage*View`/`FractionalPage*View` (or none) to ``total`` results; a page
    never holds more than ``cap`` entries (EWSFindCountLimit)."""
    if view is None:
        stop = total if cap is None else min(total, cap)
        attributes = {"TotalItemsInView": str(total), "IncludesLastItemInRange": _b(stop >= total)}
        return Page(0, stop, attributes)
    max_text = view.get("MaxEntriesReturned")
    limit = int(max_text) if max_text else None
    if limit is not None and limit < 1:
        raise EwsError("ErrorInvalidPagingMaxRows", "The paging MaxEntriesReturned is not valid.")
    if cap is not None:
        limit = cap if limit is None else min(limit, cap)
    if local_name(view).startswith("Fractional"):
        numerator = int(view.get("Numerator", "0"))
        denominator = int(view.get("Denominator", "1"))
        if denominator <= 0 or numerator < 0 or numerator > denominator:
            raise EwsError(
                "ErrorInvalidFractionalPagingParameters",
                "The fractional paging parameters are not valid.",
            )
        start = total * numerator // denominator
        stop = total if limit is None else min(total, start + limit)
        return Page(
            start,
            stop,
            {
                "NumeratorOffset": str(stop),
                "AbsoluteDenominator": str(total),
                "IncludesLastItemInRange": _b(stop >= total),
                "TotalItemsInView": str(total),
            },
        )
    offset = int(view.get("Offset", "0"))
    if offset < 0:
        raise EwsError(
            "ErrorInvalidIndexedPagingParameters", "The indexed paging parameters are not valid."
        )
    if view.get("BasePoint") == "End":
        stop = max(0, total - offset)
        start = 0 if limit is None else max(0, stop - limit)
        last = start == 0
    else:
        start = min(offset, total)
        stop = total if limit is None else min(total, start + limit)
        last = stop >= total
    return Page(
        start,
        stop,
        {
            "IndexedPagingOffset": str(offset + stop - start),
            "TotalItemsInView": str(total),
            "IncludesLastItemInRange": _b(last),
        },
    )


def _b(value: bool) -> str:
    return "true" if value else "false"


# --- operations ------------------------------------------------------------------------------


def _folder_ids(request: Element, tag: str) -> list[Element]:
    holder = request.find(qname(M_NS, tag))
    return [el for el in holder if isinstance(el.tag, str)] if holder is not None else []


@operation("GetFolder")
async def get_folder(ctx: EwsContext, request: Element) -> Element:
    """GetFolder: one response message per folder id, in order."""
    shape = parse_folder_shape(request.find(qname(M_NS, "FolderShape")))
    response = m("GetFolderResponse")
    messages = msub(response, "ResponseMessages")
    for folder_el in _folder_ids(request, "FolderIds"):
        try:
            folder = resolve_folder(ctx, folder_el)
        except EwsError as err:
            error_from(messages, "GetFolder", err)
            continue
        msg = response_message(messages, "GetFolder")
        write_folder(msub(msg, "Folders"), ctx, folder, shape)
    return response


def _subtree(ctx: EwsContext, root: Folder, deep: bool) -> list[Folder]:
    """The folders under ``root``: depth first, siblings by name ("returned in order by name")."""
    found = ctx.sim.store.child_folders(None, root.id, deep=deep)
    by_parent: dict[str | None, list[Folder]] = {}
    for folder in found:
        if folder.distinguished not in HIDDEN_FROM_FIND:
            by_parent.setdefault(folder.parent_id, []).append(folder)
    ordered: list[Folder] = []

    def visit(parent_id: str) -> None:
        for folder in sorted(by_parent.get(parent_id, []), key=lambda f: f.display_name.casefold()):
            ordered.append(folder)
            if deep:
                visit(folder.id)

    visit(root.id)
    return ordered


@operation("FindFolder")
async def find_folder(ctx: EwsContext, request: Element) -> Element:
    """FindFolder: Shallow or Deep traversal under each parent folder, with paging."""
    shape = parse_folder_shape(request.find(qname(M_NS, "FolderShape")))
    traversal = request.get("Traversal", "Shallow")
    view = request.find(qname(M_NS, "IndexedPageFolderView"))
    if view is None:
        view = request.find(qname(M_NS, "FractionalPageFolderView"))
    response = m("FindFolderResponse")
    messages = msub(response, "ResponseMessages")
    for folder_el in _folder_ids(request, "ParentFolderIds"):
        try:
            parent = resolve_folder(ctx, folder_el)
            if traversal == "SoftDeleted":
                found: list[Folder] = []
            else:
                found = _subtree(ctx, parent, deep=traversal == "Deep")
            restriction = parse_restriction(request.find(qname(M_NS, "Restriction")), folders=True)
            if restriction is not None:
                found = [f for f in found if folder_matches(restriction, f)]
            window = page(view, len(found))
        except EwsError as err:
            error_from(messages, "FindFolder", err)
            continue
        msg = response_message(messages, "FindFolder")
        root = msub(msg, "RootFolder", **window.attributes)
        folders = tsub(root, "Folders")
        for folder in found[window.start : window.stop]:
            write_folder(folders, ctx, folder, shape)
    return response


__all__ = [
    "Page",
    "check_access",
    "find_folder",
    "folder_tag",
    "get_folder",
    "page",
    "resolve_folder",
    "user_permission",
    "write_folder",
]
