"""UpdateFolder: a folder's extended (MAPI) properties.

UpdateFolder ([MS-OXWSFOLD] 3.1.4.8, schema ``m:UpdateFolderType``): each ``t:FolderChange``
names a folder (``FolderId`` or ``DistinguishedFolderId``) and its ``t:Updates``, a list of
``SetFolderField``/``AppendToFolderField``/``DeleteFolderField``, each with a property path; a set
holds a folder element (``t:Folder``, ``t:CalendarFolder`` …) carrying exactly the one property
it names. A successful change answers with the folder's id and its new change key
(``m:UpdateFolderResponseMessage``, ``m:FolderInfoResponseMessageType``).

What exchangesim applies is the path Exchange offers applications for data of their own on a
folder: ``ExtendedFieldURI`` ([MS-OXWSXPROP] 2.2.4.7, the same MAPI property Graph's
``singleValueExtendedProperties`` reach, `exchangesim.store.folder_properties`), set or deleted
(deleting one the folder lacks is no error, as in Exchange). Appending to an extended property
is ``ErrorInvalidPropertyAppend`` (a MAPI property has no "append"). A ``FieldURI`` such as
``folder:DisplayName`` or ``folder:PermissionSet``, which Exchange does update, is refused with
``ErrorInvalidPropertySet`` and a message saying exchangesim does not keep it, rather than
ignored. The updates of one change are applied together or not at all.

UpdateFolderType has no ``ConflictResolution`` attribute: a folder update is never refused for a
stale ``ChangeKey`` (last writer wins), so the change key a ``FolderId`` carries is not checked.
Only the impersonated user's own folders can be written (another mailbox's folder is
``ErrorAccessDenied``, whatever calendar permission lets the user read it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import ExtendedPath, FieldPath, parse_path, property_identity
from exchangesim.ews.ops_folders import folder_tag, resolve_folder
from exchangesim.ews.parse import extended_property
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    local_name,
    m,
    msub,
    qname,
    response_message,
    tsub,
)
from exchangesim.store import folder_properties
from exchangesim.store.errors import StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import Folder
    from exchangesim.store.items import ExtendedValue, PropertyKey

_PATHS: Final = frozenset({"FieldURI", "IndexedFieldURI", "ExtendedFieldURI"})
_IDS: Final = frozenset({"FolderId", "DistinguishedFolderId"})
_FOLDER_ELEMENTS: Final = frozenset(
    {"Folder", "CalendarFolder", "ContactsFolder", "SearchFolder", "TasksFolder"}
)
_TEXTS: Final[dict[str, str]] = {
    "ErrorInvalidPropertyAppend": "Append action is invalid for property.",
    "ErrorInvalidPropertyDelete": "Delete action is invalid for property.",
    "ErrorIncorrectUpdatePropertyCount": (
        "An object within a change description must contain one and only one property to modify."
    ),
}

_ACTION_CODES: Final = {
    "SetFolderField": "ErrorInvalidPropertySet",
    "AppendToFolderField": "ErrorInvalidPropertyAppend",
    "DeleteFolderField": "ErrorInvalidPropertyDelete",
}


def _fail(code: str) -> EwsError:
    return EwsError(code, _TEXTS[code])


class FolderChanges:
    """The ``t:Updates`` of one ``t:FolderChange``, read into properties to set and remove."""

    def __init__(self) -> None:
        self.values: dict[tuple[object, ...], tuple[PropertyKey, ExtendedValue]] = {}
        self.removed: dict[tuple[object, ...], PropertyKey] = {}

    def read(self, updates: Element) -> None:
        """Every update, in order; a later one on the same property wins."""
        for update in updates:
            if isinstance(update.tag, str):
                self.apply(update)

    def apply(self, update: Element) -> None:
        action = local_name(update)
        parts = [p for p in update if isinstance(p.tag, str)]
        path_el = next((p for p in parts if local_name(p) in _PATHS), None)
        if path_el is None:
            raise EwsError("ErrorInvalidPropertyRequest", f"{action} has no property path.")
        path = parse_path(path_el)
        if not isinstance(path, ExtendedPath):
            uri = path.uri if isinstance(path, FieldPath) else local_name(path_el)
            raise EwsError(
                _ACTION_CODES.get(action, "ErrorInvalidPropertySet"),
                f"exchangesim does not update {uri} on a folder (only extended properties).",
            )
        if action == "AppendToFolderField":
            raise _fail("ErrorInvalidPropertyAppend")
        wanted = property_identity(path.key)
        if action == "DeleteFolderField":
            self.values.pop(wanted, None)
            self.removed[wanted] = path.key
            return
        folder_el = next((p for p in parts if local_name(p) in _FOLDER_ELEMENTS), None)
        props = [] if folder_el is None else [p for p in folder_el if isinstance(p.tag, str)]
        if len(props) != 1 or local_name(props[0]) != "ExtendedProperty":
            raise _fail("ErrorIncorrectUpdatePropertyCount")
        key, value = extended_property(props[0])
        if property_identity(key) != wanted:
            # The property in the folder element must be the one the path names.
            raise _fail("ErrorIncorrectUpdatePropertyCount")
        self.removed.pop(wanted, None)
        self.values[wanted] = (key, value)


def _change(ctx: EwsContext, change: Element) -> Folder:
    """Apply one ``t:FolderChange``; the folder as it is afterwards."""
    target = next((p for p in change if isinstance(p.tag, str) and local_name(p) in _IDS), None)
    updates = child(change, T_NS, "Updates")
    if target is None or updates is None:
        raise EwsError("ErrorInvalidRequest", "A FolderChange names a folder and its Updates.")
    folder = resolve_folder(ctx, target)
    if ctx.mailbox is None or folder.mailbox.casefold() != ctx.mailbox.casefold():
        raise EwsError("ErrorAccessDenied")
    changes = FolderChanges()
    changes.read(updates)
    store = ctx.sim.store
    try:
        folder_properties.update_properties(
            store,
            None,
            folder.id,
            dict(changes.values.values()),
            changes.removed.values(),
        )
        return store.folder(None, folder.id)
    except StoreError as exc:
        raise from_store_error(exc) from exc


@operation("UpdateFolder")
async def update_folder(ctx: EwsContext, request: Element) -> Element:
    """UpdateFolder: one response message per ``t:FolderChange``, in order."""
    response = m("UpdateFolderResponse")
    messages = msub(response, "ResponseMessages")
    holder = request.find(qname(M_NS, "FolderChanges"))
    changes = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
    for change in changes:
        try:
            folder = _change(ctx, change)
        except EwsError as err:
            error_from(messages, "UpdateFolder", err)
            continue
        msg = response_message(messages, "UpdateFolder")
        written = tsub(msub(msg, "Folders"), folder_tag(folder))
        tsub(written, "FolderId", Id=folder.id, ChangeKey=folder.change_key)
    return response


__all__ = ["FolderChanges", "update_folder"]
