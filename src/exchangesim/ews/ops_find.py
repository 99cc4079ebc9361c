"""FindItem: the items of a folder, filtered, sorted and paged, or a calendar's occurrences.

A `CalendarView` lists the occurrences in a window of at most two years; otherwise the folder's
items are filtered by `Restriction` and `QueryString`, sorted by `SortOrder` and paged by the
view. At most `FIND_COUNT_LIMIT` items are answered without paging (EWSFindCountLimit). Item
ids, views and the request's zone come from `ops_items.py`.
"""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import item_value, parse_item_shape
from exchangesim.ews.ops_folders import page, resolve_folder
from exchangesim.ews.ops_items import request_zone, view_for
from exchangesim.ews.registry import operation
from exchangesim.ews.restrictions import matches, parse_restriction, parse_sort, sort_items
from exchangesim.ews.serialize import body_as, write_item
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
from exchangesim.store.errors import StoreError
from exchangesim.store.items import Item, Message

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.ews.restrictions import Restriction
    from exchangesim.store.folders import Folder

#: EWSFindCountLimit: most items one FindItem answer holds (REFERENCES.md §2).
FIND_COUNT_LIMIT: Final = 1000
#: Longest CalendarView window: "The specified view range exceeds the maximum range of two
#: years." (ErrorCalendarViewRangeTooBig, captured in otris/ews-cpp issue 158).
MAX_VIEW_RANGE: Final = timedelta(days=2 * 365 + 1)
_MAX_ROWS_TEXT: Final = "The paging MaxEntriesReturned is not valid."
_FIND_LIMIT_TEXT: Final = (
    "You have exceeded the maximum number of objects that can be returned for the find "
    "operation. Use paging to reduce the result size and try your request again."
)


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


__all__ = ["FIND_COUNT_LIMIT", "MAX_VIEW_RANGE", "find_item"]
