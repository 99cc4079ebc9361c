"""SyncFolderItems and SyncFolderHierarchy over the store's change journals.

The sync state is the store's cursor (`Store.changes_since`) in base64, opaque like Exchange's
(``H4sIA…``). A state that does not decode, or belongs to another folder, is
``ErrorInvalidSyncStateData`` ("restart without state", REFERENCES.md §2). The answer to a failed
sync carries an empty `SyncState` and ``IncludesLast…InRange`` true, as Exchange's
(SyncFolderHierarchy-ErrorInvalidSyncStateData.response.xml).

Changes come as the store collapses them: an item created since the state is one ``Create``, an
item only marked read or unread a ``ReadFlagChange``, a deleted or moved-away item a ``Delete``.
Items listed in ``Ignore`` are left out of the page. Items are written like FindItem writes them
(SyncFolderItems-Message-AllChangeTypes sample: no bodies or recipient lists).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from, from_store_error, schema_validation
from exchangesim.ews.fields import parse_folder_shape, parse_item_shape
from exchangesim.ews.ops_folders import HIDDEN_FROM_FIND, resolve_folder, write_folder
from exchangesim.ews.ops_items import store_id, view_for
from exchangesim.ews.registry import operation
from exchangesim.ews.serialize import write_item
from exchangesim.ews.xml import M_NS, Element, m, msub, qname, response_message, tsub
from exchangesim.store.errors import StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import Folder

#: MaxChangesReturned bounds ([MS-OXWSSYNC] MaxSyncChangesReturnedType).
MAX_CHANGES: Final = 512
_INVALID_STATE: Final = EwsError("ErrorInvalidSyncStateData")


def encode_state(state: str) -> str:
    """The store's cursor as the opaque base64 `SyncState` clients keep."""
    return base64.b64encode(state.encode("utf-8")).decode("ascii")


def decode_state(text: str | None) -> str | None:
    """The store's cursor from a `SyncState` (None: sync from the start)."""
    if text is None or not text.strip():
        return None
    try:
        return base64.b64decode(text.strip().encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _INVALID_STATE from None


def _failed(messages: Element, name: str, err: EwsError, last_tag: str) -> None:
    msg = error_from(messages, name, err)
    msub(msg, "SyncState")
    msub(msg, last_tag, "true")


def _max_changes(request: Element) -> int:
    text = (request.findtext(qname(M_NS, "MaxChangesReturned")) or "").strip()
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CHANGES:
        # The schema bounds the value; Exchange refuses anything else with a schema fault.
        raise schema_validation(
            f"The value '{text}' of MaxChangesReturned is not between 1 and {MAX_CHANGES}."
        )
    return value


def _sync_folder(ctx: EwsContext, request: Element) -> Folder:
    holder = request.find(qname(M_NS, "SyncFolderId"))
    targets = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
    if not targets:
        raise EwsError("ErrorSyncFolderNotFound", "The sync folder was not found.")
    return resolve_folder(ctx, targets[0], "items")


@operation("SyncFolderItems")
async def sync_folder_items(ctx: EwsContext, request: Element) -> Element:
    """SyncFolderItems: one page of item changes in a folder since the sync state."""
    max_changes = _max_changes(request)
    response = m("SyncFolderItemsResponse")
    messages = msub(response, "ResponseMessages")
    try:
        shape = parse_item_shape(request.find(qname(M_NS, "ItemShape")))
        folder = _sync_folder(ctx, request)
        state = decode_state(request.findtext(qname(M_NS, "SyncState")))
        ignore_holder = request.find(qname(M_NS, "Ignore"))
        ignored = {
            store_id(el)
            for el in (ignore_holder if ignore_holder is not None else ())
            if isinstance(el.tag, str)
        }
        try:
            result = ctx.sim.store.changes_since(folder.id, state, max_changes)
        except StoreError as exc:
            raise from_store_error(exc) from exc
    except EwsError as err:
        if err.code == "ErrorFolderNotFound":
            err = EwsError("ErrorSyncFolderNotFound", "The sync folder was not found.")
        _failed(messages, "SyncFolderItems", err, "IncludesLastItemInRange")
        return response
    msg = response_message(messages, "SyncFolderItems")
    msub(msg, "SyncState", encode_state(result.sync_state))
    msub(msg, "IncludesLastItemInRange", "true" if result.includes_last_item_in_range else "false")
    changes = msub(msg, "Changes")
    view = view_for(ctx, folder.mailbox, "sync")
    for change in result.changes:
        if change.item_id in ignored:
            continue
        if change.kind in {"Create", "Update"} and change.item is not None:
            write_item(tsub(changes, change.kind), change.item, shape, view)
        elif change.kind == "Delete":
            tsub(tsub(changes, "Delete"), "ItemId", Id=change.item_id)
        elif change.kind == "ReadFlagChange":
            flag = tsub(changes, "ReadFlagChange")
            change_key = change.item.change_key if change.item is not None else None
            tsub(flag, "ItemId", Id=change.item_id, ChangeKey=change_key)
            tsub(flag, "IsRead", "true" if change.is_read else "false")
    return response


@operation("SyncFolderHierarchy")
async def sync_folder_hierarchy(ctx: EwsContext, request: Element) -> Element:
    """SyncFolderHierarchy: folder changes under a folder (default: the whole mailbox)."""
    response = m("SyncFolderHierarchyResponse")
    messages = msub(response, "ResponseMessages")
    try:
        shape = parse_folder_shape(request.find(qname(M_NS, "FolderShape")))
        holder = request.find(qname(M_NS, "SyncFolderId"))
        targets = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
        root = resolve_folder(ctx, targets[0]) if targets else None
        owner = root.mailbox if root is not None else ctx.mailbox or ""
        state = decode_state(request.findtext(qname(M_NS, "SyncState")))
        try:
            result = ctx.sim.store.folder_changes_since(owner, state, MAX_CHANGES)
            under = _descendants(ctx, owner, root.id if root is not None else "root")
        except StoreError as exc:
            raise from_store_error(exc) from exc
    except EwsError as err:
        _failed(messages, "SyncFolderHierarchy", err, "IncludesLastFolderInRange")
        return response
    msg = response_message(messages, "SyncFolderHierarchy")
    msub(msg, "SyncState", encode_state(result.sync_state))
    last = "true" if result.includes_last_folder_in_range else "false"
    msub(msg, "IncludesLastFolderInRange", last)
    changes = msub(msg, "Changes")
    for change in result.changes:
        if change.kind == "Delete":
            tsub(tsub(changes, "Delete"), "FolderId", Id=change.folder_id)
        elif change.folder is not None and change.folder_id in under:
            write_folder(tsub(changes, change.kind), ctx, change.folder, shape)
    return response


def _descendants(ctx: EwsContext, mailbox: str, ref: str) -> set[str]:
    """The ids of the visible folders under ``ref`` (the synced subtree, root excluded)."""
    folders = ctx.sim.store.child_folders(mailbox, ref, deep=True)
    return {f.id for f in folders if f.distinguished not in HIDDEN_FROM_FIND}


__all__ = ["decode_state", "encode_state", "sync_folder_hierarchy", "sync_folder_items"]
