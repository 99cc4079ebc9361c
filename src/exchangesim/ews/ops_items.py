"""GetItem, FindItem, DeleteItem, MoveItem and CopyItem.

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
from exchangesim.ews.fields import item_kind, item_value, parse_item_shape
from exchangesim.ews.ops_folders import check_access, page, resolve_folder
from exchangesim.ews.registry import operation
from exchangesim.ews.restrictions import matches, parse_restriction, parse_sort, sort_items
from exchangesim.ews.serialize import View, body_as, item_id, write_item
from exchangesim.ews.xml import (
    M_NS,
    Element,
    local_name,
    m,
    msub,
    parse_datetime,
    qname,
    response_message,
    tsub,
)
from exchangesim.store import meetings, timezones
from exchangesim.store.errors import InvalidId, StoreError
from exchangesim.store.ids import id_kind, occurrence_id, split_occurrence_id
from exchangesim.store.items import CalendarItem, Item, Message

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.ews.context import EwsContext
    from exchangesim.ews.fields import Purpose
    from exchangesim.ews.restrictions import Restriction
    from exchangesim.store.folders import Folder
    from exchangesim.store.store import DeleteMode

#: EWSFindCountLimit: most items one FindItem answer holds (REFERENCES.md §2).
FIND_COUNT_LIMIT: Final = 1000
#: Longest CalendarView window: "The specified view range exceeds the maximum range of two
#: years." (ErrorCalendarViewRangeTooBig, captured in otris/ews-cpp issue 158).
MAX_VIEW_RANGE: Final = timedelta(days=2 * 365 + 1)
_MAX_ROWS_TEXT: Final = "The paging MaxEntriesReturned is not valid."
_STOPPED: Final = "The batch was stopped after an earlier item failed with ErrorAccessDenied."
_FIND_LIMIT_TEXT: Final = (
    "You have exceeded the maximum number of objects that can be returned for the find "
    "operation. Use paging to reduce the result size and try your request again."
)


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


# --- FindItem ----------------------------------------------------------------------------------


def _query_matches(item: Item, words: list[str]) -> bool:
    """A plain-words `QueryString` (AQS without property names): every word in the subject,
    body or people of the item (case-insensitive)."""
    people: list[str] = []
    if isinstance(item, Message):
        for who in (item.author, item.sender, *item.to_recipients, *item.cc_recipients):
            if who is not None:
                people += [who.email, who.name]
    text = " ".join([item.subject, body_as(item.body, "Text").content, *people]).casefold()
    return all(word.casefold().strip('"') in text for word in words)


def _satisfies(item: Item, restriction: Restriction, zone: tzinfo) -> bool:
    return matches(restriction, lambda path: item_value(item, path), zone)


def _received(item: Item) -> float:
    return item.date_time_received.timestamp() if item.date_time_received else 0.0


def _view_element(request: Element) -> Element | None:
    for tag in ("IndexedPageItemView", "FractionalPageItemView", "CalendarView"):
        found = request.find(qname(M_NS, tag))
        if found is not None:
            return found
    for tag in ("SeekToConditionPageItemView", "ContactsView"):
        if request.find(qname(M_NS, tag)) is not None:
            raise EwsError("ErrorInvalidOperation", f"exchangesim does not implement {tag}.")
    return None


def _calendar_window(
    ctx: EwsContext, folder: Folder, view: Element
) -> tuple[list[Item], dict[str, str]]:
    """The items of a CalendarView (occurrences expanded) and the RootFolder attributes."""
    if not (folder.folder_class or "").startswith("IPF.Appointment"):
        raise EwsError(
            "ErrorCalendarFolderIsInvalidForCalendarView",
            "The folder is not a calendar folder; CalendarView needs one.",
        )
    zone = request_zone(ctx)
    try:
        start = parse_datetime(view.get("StartDate", ""), zone)
        end = parse_datetime(view.get("EndDate", ""), zone)
    except ValueError:
        raise EwsError("ErrorInvalidRequest", "The CalendarView dates are not valid.") from None
    if end < start:
        raise EwsError("ErrorInvalidRequest", "The EndDate is earlier than the StartDate.")
    if end - start > MAX_VIEW_RANGE:
        raise EwsError(
            "ErrorCalendarViewRangeTooBig",
            "The specified view range exceeds the maximum range of two years.",
        )
    try:
        found: list[Item] = list(
            ctx.sim.store.calendar_view(None, folder.id, start, end, limit=FIND_COUNT_LIMIT + 1)
        )
    except StoreError as exc:
        raise from_store_error(exc) from exc
    max_text = view.get("MaxEntriesReturned")
    if max_text is not None:
        limit = int(max_text)
        if limit < 1:
            raise EwsError(
                "ErrorInvalidPagingMaxRows", "The paging MaxEntriesReturned is not valid."
            )
    else:
        limit = FIND_COUNT_LIMIT
    if len(found) > FIND_COUNT_LIMIT and limit >= FIND_COUNT_LIMIT:
        raise EwsError(
            "ErrorExceededFindCountLimit",
            _FIND_LIMIT_TEXT,
            message_xml=[("PolicyLimit", str(FIND_COUNT_LIMIT))],
        )
    attributes = {
        "TotalItemsInView": str(len(found)),
        "IncludesLastItemInRange": "true" if len(found) <= limit else "false",
    }
    return found[:limit], attributes


def _find_in(
    ctx: EwsContext, request: Element, folder: Folder
) -> tuple[list[Item], dict[str, str]]:
    """The items FindItem answers for one parent folder, and the RootFolder attributes."""
    traversal = request.get("Traversal", "Shallow")
    view = _view_element(request)
    if (
        request.find(qname(M_NS, "GroupBy")) is not None
        or request.find(qname(M_NS, "DistinguishedGroupBy")) is not None
    ):
        raise EwsError("ErrorInvalidOperation", "exchangesim does not implement grouped FindItem.")
    restriction = parse_restriction(request.find(qname(M_NS, "Restriction")))
    sort = parse_sort(request.find(qname(M_NS, "SortOrder")))
    query = request.find(qname(M_NS, "QueryString"))
    store = ctx.sim.store
    calendar_view = view is not None and local_name(view) == "CalendarView"
    attributes: dict[str, str] = {}
    zone = request_zone(ctx)
    words = (query.text or "").split() if query is not None else []

    def wanted(item: Item) -> bool:
        return (restriction is None or _satisfies(item, restriction, zone)) and (
            not words or _query_matches(item, words)
        )

    # Folders are filtered on the stored items, so only matches are copied: a search in a big
    # folder costs a scan, not a copy of every item (same result as filtering copies).
    if calendar_view:
        assert view is not None
        items, attributes = _calendar_window(ctx, folder, view)
        items = [i for i in items if wanted(i)]
    elif traversal == "SoftDeleted":
        # Soft-deleted items live in the mailbox's Recoverable Items\Deletions folder.
        items = store.items(folder.mailbox, "recoverableitemsdeletions", where=wanted)
    elif traversal == "Associated":
        items = []  # the simulator keeps no folder-associated (FAI) items
    else:
        items = store.items(None, folder.id, where=wanted)
    if sort:
        items = sort_items(items, sort)
    elif not calendar_view:
        # Without a SortOrder Exchange lists a folder newest first (its default view).
        items = sorted(items, key=_received, reverse=True)
    if calendar_view:
        return items, attributes
    if view is None and len(items) > FIND_COUNT_LIMIT:
        raise EwsError(
            "ErrorExceededFindCountLimit",
            _FIND_LIMIT_TEXT,
            message_xml=[("PolicyLimit", str(FIND_COUNT_LIMIT))],
        )
    window = page(view, len(items), cap=FIND_COUNT_LIMIT)
    return items[window.start : window.stop], window.attributes


@operation("FindItem")
async def find_item(ctx: EwsContext, request: Element) -> Element:
    """FindItem: the items of each parent folder (or a calendar view), filtered, sorted, paged."""
    response = m("FindItemResponse")
    messages = msub(response, "ResponseMessages")
    holder = request.find(qname(M_NS, "ParentFolderIds"))
    parents = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
    for folder_el in parents:
        try:
            shape = parse_item_shape(request.find(qname(M_NS, "ItemShape")))
            folder = resolve_folder(ctx, folder_el, "items")
            items, attributes = _find_in(ctx, request, folder)
        except EwsError as err:
            error_from(messages, "FindItem", err)
            continue
        msg = response_message(messages, "FindItem")
        root = msub(msg, "RootFolder", **attributes)
        found = tsub(root, "Items")
        view = view_for(ctx, folder.mailbox, "find")
        for item in items:
            write_item(found, item, shape, view)
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
    "FIND_COUNT_LIMIT",
    "copy_item",
    "delete_item",
    "find_item",
    "get_item",
    "item_id_elements",
    "locate",
    "mailbox_type",
    "move_item",
    "request_zone",
    "store_id",
    "view_for",
]
