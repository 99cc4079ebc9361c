"""GetItem, DeleteItem, MoveItem and CopyItem, and the item ids and views every item operation
shares (FindItem: `ops_find.py`).

Item ids are `t:ItemId` (the store's ids; occurrence views carry occurrence ids),
`t:OccurrenceItemId` (series id + 1-based ``InstanceIndex``) or `t:RecurringMasterItemId` (an
occurrence's or exception's id, naming its series). These operations do not check change keys:
Exchange reads, deletes, moves and copies the current version. Another mailbox's item is
answered as missing (``ErrorItemNotFound``: "absent or forbidden", REFERENCES.md §2), except that
GetItem reads it when the user may read that calendar (`ops_folders.check_access`).

Batches answer one response message per id, in order; after an ``ErrorAccessDenied`` the rest
of the batch answers ``ErrorBatchProcessingStopped`` (REFERENCES.md §2).
"""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import item_kind, parse_item_shape
from exchangesim.ews.ops_folders import check_access, resolve_folder
from exchangesim.ews.registry import operation
from exchangesim.ews.serialize import View, item_id, write_item
from exchangesim.ews.xml import (
    M_NS,
    Element,
    local_name,
    m,
    msub,
    qname,
    response_message,
    tsub,
)
from exchangesim.store import meetings, timezones
from exchangesim.store.errors import InvalidId, StoreError
from exchangesim.store.ids import id_kind, occurrence_id, split_occurrence_id
from exchangesim.store.items import CalendarItem, Item

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.ews.context import EwsContext
    from exchangesim.ews.fields import Purpose
    from exchangesim.store.folders import Folder
    from exchangesim.store.store import DeleteMode

_STOPPED: Final = "The batch was stopped after an earlier item failed with ErrorAccessDenied."


# --- ids ---------------------------------------------------------------------------------------


def store_id(el: Element) -> str:
    """The store id an item id element names (an occurrence id for `OccurrenceItemId`)."""
    name = local_name(el)
    try:
        if name == "OccurrenceItemId":
            master = el.get("RecurringMasterId", "")
            try:
                index = int(el.get("InstanceIndex", ""))
            except ValueError:
                raise InvalidId(master) from None
            return occurrence_id(master, index)
        value = el.get("OccurrenceId" if name == "RecurringMasterItemId" else "Id", "")
        id_kind(value)
    except StoreError as exc:
        raise from_store_error(exc) from exc
    return value


def _find(ctx: EwsContext, item_id: str) -> tuple[Folder, Item]:
    try:
        found = ctx.sim.store.find_item(item_id)
    except StoreError as exc:
        raise from_store_error(exc) from exc
    if found is None:
        raise EwsError("ErrorItemNotFound")
    return found[1], found[2]


def locate(ctx: EwsContext, el: Element, *, read: bool = False) -> tuple[str, Folder, Item]:
    """(store id, folder, item copy) for an item id element; raises `EwsError`.

    `RecurringMasterItemId` names the series. Another mailbox's item is ``ErrorItemNotFound``
    unless ``read`` and the user may read its folder.
    """
    wanted = store_id(el)
    if id_kind(wanted) == "occurrence":
        master_id = split_occurrence_id(wanted)[0]
        folder, _ = _find(ctx, master_id)  # a missing series is ErrorItemNotFound
        if local_name(el) == "RecurringMasterItemId":
            wanted = master_id
        try:
            # The occurrence's own errors: deleted from the series, or out of its range.
            item = ctx.sim.store.get_item(wanted)
        except StoreError as exc:
            raise from_store_error(exc) from exc
    else:
        folder, item = _find(ctx, wanted)
        if local_name(el) == "RecurringMasterItemId" and (
            not isinstance(item, CalendarItem) or item.recurrence is None
        ):
            raise EwsError("ErrorItemNotFound")
    own = ctx.mailbox is not None and folder.mailbox.casefold() == ctx.mailbox.casefold()
    if not own:
        if not read:
            raise EwsError("ErrorItemNotFound")
        try:
            check_access(ctx, folder, "items")
        except EwsError:
            raise EwsError("ErrorItemNotFound") from None
    return wanted, folder, item


def item_id_elements(request: Element) -> list[Element]:
    """The children of the request's `m:ItemIds`."""
    holder = request.find(qname(M_NS, "ItemIds"))
    return [el for el in holder if isinstance(el.tag, str)] if holder is not None else []


# --- views -------------------------------------------------------------------------------------


def mailbox_type(ctx: EwsContext) -> Callable[[str], str]:
    """`View.mailbox_type`: ``Mailbox`` for the tenant's mailboxes, ``PublicDL`` for its groups,
    ``OneOff`` for anyone else."""
    tenant = ctx.sim.tenant

    def kind(address: str) -> str:
        if tenant.find_mailbox(address) is not None:
            return "Mailbox"
        if tenant.group(address) is not None:
            return "PublicDL"
        return "OneOff"

    return kind


def view_for(ctx: EwsContext, owner: str, purpose: Purpose) -> View:
    """How items of ``owner``'s mailbox are written for this request."""
    store = ctx.sim.store

    def neighbours(item: CalendarItem) -> tuple[list[CalendarItem], list[CalendarItem]]:
        if item.start is None or item.end is None or not item.folder_id:
            return [], []
        start, end = item.start, item.end
        try:
            around = store.calendar_view(None, item.folder_id, start, end + timedelta(seconds=1))
        except StoreError:
            return [], []
        around = [
            o
            for o in around
            if o.uid != item.uid and o.legacy_free_busy_status != "Free" and o.start and o.end
        ]
        conflicting = [o for o in around if o.start < end and o.end > start]  # type: ignore[operator]
        adjacent = [o for o in around if o.end == start or o.start == end]
        return conflicting, adjacent

    return View(
        owner=owner,
        purpose=purpose,
        mailbox_type=mailbox_type(ctx),
        neighbours=neighbours if purpose == "get" else None,
    )


def request_zone(ctx: EwsContext) -> tzinfo:
    """The `TimeZoneContext` zone (UTC without one): how zoneless times in the request read."""
    if ctx.time_zone_id:
        try:
            return timezones.zone(ctx.time_zone_id)
        except StoreError:
            return UTC
    return UTC


def _items_error(messages: Element, name: str, err: EwsError) -> None:
    """An error message of an operation whose messages carry `m:Items` (required there)."""
    msub(error_from(messages, name, err), "Items")


# --- GetItem -----------------------------------------------------------------------------------


@operation("GetItem")
async def get_item(ctx: EwsContext, request: Element) -> Element:
    """GetItem: one response message per id, with the item in the requested shape."""
    shape = parse_item_shape(request.find(qname(M_NS, "ItemShape")))
    response = m("GetItemResponse")
    messages = msub(response, "ResponseMessages")
    stopped = False
    for el in item_id_elements(request):
        if stopped:
            _items_error(messages, "GetItem", EwsError("ErrorBatchProcessingStopped", _STOPPED))
            continue
        try:
            _, folder, item = locate(ctx, el, read=True)
        except EwsError as err:
            _items_error(messages, "GetItem", err)
            stopped = err.code == "ErrorAccessDenied"
            continue
        msg = response_message(messages, "GetItem")
        write_item(msub(msg, "Items"), item, shape, view_for(ctx, folder.mailbox, "get"))
    return response


# --- DeleteItem --------------------------------------------------------------------------------


def _delete(ctx: EwsContext, request: Element, el: Element) -> None:
    store = ctx.sim.store
    wanted, _, item = locate(ctx, el)
    mode = request.get("DeleteType", "MoveToDeletedItems")
    cancellations = request.get("SendMeetingCancellations")
    try:
        if isinstance(item, CalendarItem):
            if cancellations is None:
                raise EwsError(
                    "ErrorSendMeetingCancellationsRequired",
                    "SendMeetingCancellations attribute is required for Calendar items.",
                )
            organizer_meeting = item.is_organizer and item.is_meeting
            if (
                organizer_meeting
                and item.meeting_request_was_sent
                and cancellations != "SendToNone"
            ):
                _cancel(ctx, wanted, item, mode, save_copy=cancellations == "SendToAllAndSaveCopy")
                return
        store.delete_item(wanted, mode=_mode(mode))
    except StoreError as exc:
        raise from_store_error(exc) from exc


def _mode(text: str) -> DeleteMode:
    if text == "HardDelete":
        return "HardDelete"
    if text == "SoftDelete":
        return "SoftDelete"
    return "MoveToDeletedItems"


def _cancel(
    ctx: EwsContext, wanted: str, item: CalendarItem, mode: str, *, save_copy: bool
) -> None:
    """DeleteItem of an organizer's sent meeting: send the cancellation, then delete as asked."""
    store = ctx.sim.store
    meetings.cancel_meeting(store, wanted, send=True, save_copy=save_copy)
    if id_kind(wanted) == "occurrence" or mode == "MoveToDeletedItems":
        return  # cancel_meeting already moved the series to Deleted Items
    owner = ctx.mailbox or ""
    for trashed in store.items(owner, "deleteditems"):
        if isinstance(trashed, CalendarItem) and trashed.uid == item.uid:
            store.delete_item(trashed.id, mode=_mode(mode))


@operation("DeleteItem")
async def delete_item(ctx: EwsContext, request: Element) -> Element:
    """DeleteItem: HardDelete, SoftDelete or MoveToDeletedItems; an organizer's sent meeting
    is cancelled first as ``SendMeetingCancellations`` says; occurrence ids delete one
    occurrence from its series."""
    response = m("DeleteItemResponse")
    messages = msub(response, "ResponseMessages")
    stopped = False
    for el in item_id_elements(request):
        if stopped:
            error_from(messages, "DeleteItem", EwsError("ErrorBatchProcessingStopped", _STOPPED))
            continue
        try:
            _delete(ctx, request, el)
        except EwsError as err:
            error_from(messages, "DeleteItem", err)
            stopped = err.code == "ErrorAccessDenied"
            continue
        response_message(messages, "DeleteItem")
    return response


# --- MoveItem, CopyItem ------------------------------------------------------------------------


def _target(ctx: EwsContext, request: Element) -> Folder:
    holder = request.find(qname(M_NS, "ToFolderId"))
    targets = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
    if not targets:
        raise EwsError("ErrorFolderNotFound", "The request names no target folder.")
    return resolve_folder(ctx, targets[0], "items")


def _move_or_copy_one(ctx: EwsContext, el: Element, target: Folder | EwsError, name: str) -> Item:
    if isinstance(target, EwsError):
        raise target
    wanted, folder, _ = locate(ctx, el)
    if id_kind(wanted) == "occurrence":
        raise EwsError(
            "ErrorCalendarCannotMoveOrCopyOccurrence",
            "Occurrences cannot be moved or copied; move or copy the series.",
        )
    if folder.mailbox.casefold() != target.mailbox.casefold():
        raise EwsError(
            "ErrorCrossMailboxMoveCopy",
            "exchangesim moves and copies items within one mailbox only.",
        )
    try:
        if name == "MoveItem":
            return ctx.sim.store.move_item(wanted, target.id)
        return ctx.sim.store.copy_item(wanted, target.id)
    except StoreError as exc:
        raise from_store_error(exc) from exc


async def _move_or_copy(ctx: EwsContext, request: Element, name: str) -> Element:
    response = m(f"{name}Response")
    messages = msub(response, "ResponseMessages")
    return_ids = (request.findtext(qname(M_NS, "ReturnNewItemIds")) or "true").strip() != "false"
    try:
        target: Folder | EwsError = _target(ctx, request)
    except EwsError as err:
        target = err
    stopped = False
    for el in item_id_elements(request):
        if stopped:
            _items_error(messages, name, EwsError("ErrorBatchProcessingStopped", _STOPPED))
            continue
        try:
            moved = _move_or_copy_one(ctx, el, target, name)
        except EwsError as err:
            _items_error(messages, name, err)
            stopped = err.code == "ErrorAccessDenied"
            continue
        msg = response_message(messages, name)
        items = msub(msg, "Items")
        if return_ids:
            item_id(tsub(items, item_kind(moved)), moved)
    return response


@operation("MoveItem")
async def move_item(ctx: EwsContext, request: Element) -> Element:
    """MoveItem: the moved item gets a new id (returned unless ``ReturnNewItemIds`` is false)."""
    return await _move_or_copy(ctx, request, "MoveItem")


@operation("CopyItem")
async def copy_item(ctx: EwsContext, request: Element) -> Element:
    """CopyItem: the copy's id is returned unless ``ReturnNewItemIds`` is false."""
    return await _move_or_copy(ctx, request, "CopyItem")


__all__ = [
    "copy_item",
    "delete_item",
    "get_item",
    "item_id_elements",
    "locate",
    "mailbox_type",
    "move_item",
    "request_zone",
    "store_id",
    "view_for",
]
