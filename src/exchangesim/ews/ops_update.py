"""UpdateItem and SendItem.

UpdateItem (MS-OXWSCORE 3.1.4.9): each ``t:ItemChange`` names an item (``ItemId``, an occurrence by
``OccurrenceItemId`` or by its own id, or a series by ``RecurringMasterItemId``) and a list of
``SetItemField``/``AppendToItemField``/``DeleteItemField``, each with a ``FieldURI``,
``IndexedFieldURI`` or ``ExtendedFieldURI`` path; the item element of a set or append holds
exactly the one property it names.

- **ConflictResolution**: a stale ``ChangeKey`` fails with ``ErrorIrresolvableConflict`` under
  ``NeverOverwrite`` and under ``AutoResolve`` (what exchangelib users meet with its default
  AutoResolve, exchangelib issue 623; the Managed API: "applied to the server unless the
  server-side copy is more recent"); ``AlwaysOverwrite`` applies the change and reports one
  conflict in ``ConflictResults``. An ``OccurrenceItemId``'s change key is the series'.
- **Calendar items** need ``SendMeetingInvitationsOrCancellations``; the change and the updates
  it sends are `store.meetings.update_meeting`'s (full or informational update, who gets what).
  Changing one occurrence makes it an exception; the answer names the exception (the occurrence
  id), as Exchange answers an update through an ``OccurrenceItemId``. Time zones sent along with
  an occurrence's new times only say how to read them: an exception keeps its series' zones.
  Changing a zone without new times keeps the local wall-clock times ("Update the time zone for
  an appointment by using EWS in Exchange").
- **Messages** need ``MessageDisposition``; ``SendOnly``/``SendAndSaveCopy`` send the updated
  draft, and the answer then names no item (what exchangelib expects).

SendItem (MS-OXWSCORE 3.1.4.7) sends drafts, meeting-response drafts included; ``SaveItemToFolder``
keeps the sent copy (in Sent Items, or ``SavedItemFolderId``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, cast

from exchangesim.ews.faults import EwsError, error_from
from exchangesim.ews.fields import ExtendedPath, FieldPath, parse_path, property_identity
from exchangesim.ews.item_writes import (
    CONFLICT_TEXT,
    append_item_id,
    disposition_of,
    error,
    mailbox_of,
    reader,
    store_error,
    target_folder,
    target_id,
)
from exchangesim.ews.parse import (
    APPENDABLE,
    CLEARED,
    ELEMENTS,
    FIELD_URIS,
    Reader,
    Values,
    all_day,
    extended_property,
    folder_ref,
    item_ref,
    tz,
)
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    local_name,
    m,
    msub,
    response_message,
    tsub,
)
from exchangesim.store import meetings, outbox
from exchangesim.store.errors import StoreError
from exchangesim.store.items import Body, CalendarItem, ExtendedValue, Item, PropertyKey

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.ews.parse import FolderRef, ItemRef

_ID_ELEMENTS: Final = frozenset({"ItemId", "OccurrenceItemId", "RecurringMasterItemId"})
_PATHS: Final = frozenset({"FieldURI", "IndexedFieldURI", "ExtendedFieldURI"})
_OCCURRENCE_TYPES: Final = frozenset({"Occurrence", "Exception"})
_SERIES_ZONES: Final = ("start_time_zone", "end_time_zone")
TEXTS: Final[dict[str, str]] = {
    "ErrorInvalidPropertySet": "Set action is invalid for property.",
    "ErrorInvalidPropertyAppend": "Append action is invalid for property.",
    "ErrorInvalidPropertyDelete": "Delete action is invalid for property.",
    "ErrorIncorrectUpdatePropertyCount": (
        "An object within a change description must contain one and only one property to modify."
    ),
    "ErrorSendMeetingInvitationsOrCancellationsRequired": (
        "SendMeetingInvitationsOrCancellations attribute is required for Calendar items."
    ),
    "ErrorInvalidSendItemSaveSettings": (
        "SavedItemFolderId is specified but SaveItemToFolder is false."
    ),
}


def _fail(code: str) -> EwsError:
    return EwsError(code, TEXTS[code])


def conflict(item_id: str) -> EwsError:
    """``ErrorIrresolvableConflict`` as Exchange words it (exchangelib issue 623)."""
    return EwsError(
        "ErrorIrresolvableConflict",
        f"{CONFLICT_TEXT}, Item could not be saved because conflicts were detected when saving. "
        f"ItemId:[{item_id}]SaveStatus: IrresolvableConflict",
    )


def current_key(ctx: EwsContext, ref: ItemRef, item: Item) -> str:
    """The change key a reference is compared with (an occurrence reference: the series')."""
    if ref.kind == "occurrence":
        return ctx.sim.store.get_item(ref.id).change_key
    return item.change_key


class Changes:
    """Reads the ``t:Updates`` of one ``t:ItemChange`` into store values for one item."""

    def __init__(self, reader: Reader, item: Item) -> None:
        self.reader = reader
        self.item = item
        self.values: Values = {}
        self.zones: dict[str, str] = {}

    def read(self, updates: Element) -> Values:
        """Every update, in order; later ones win."""
        self.zones = self.reader.item_zones(
            [part for update in updates for part in update if local_name(part) not in _PATHS]
        )
        for update in updates:
            self.apply(update)
        return self.values

    def current(self, name: str) -> object:
        return self.values.get(name, getattr(self.item, name, None))

    def apply(self, update: Element) -> None:
        action = local_name(update)
        parts = list(update)
        path_el = next((p for p in parts if local_name(p) in _PATHS), None)
        if path_el is None:
            raise EwsError("ErrorInvalidPropertyRequest", f"{action} has no property path.")
        path = parse_path(path_el)
        item_el = next((p for p in parts if local_name(p) not in _PATHS), None)
        if isinstance(path, ExtendedPath):
            self.extended(action, path, item_el)
            return
        if not isinstance(path, FieldPath):  # IndexedFieldURI: headers, contact entries
            raise _fail(_ACTION_CODES[action])
        element = FIELD_URIS.get(path.uri)
        spec = ELEMENTS.get(element or "")
        if element is None or spec is None:
            raise _fail(_ACTION_CODES[action])
        if action == "DeleteItemField":
            self.delete(spec.kind, spec.fields)
            return
        if item_el is None or len(item_el) != 1 or local_name(item_el[0]) != element:
            raise _fail("ErrorIncorrectUpdatePropertyCount")
        fallback = self.item.start_time_zone if isinstance(self.item, CalendarItem) else None
        values, ignored = self.reader.values(item_el, zones=self.zones, fallback=fallback)
        if ignored:
            return
        if action == "AppendToItemField":
            self.append(values)
        else:
            self.values.update(values)

    def append(self, values: Values) -> None:
        for name, value in values.items():
            if name not in APPENDABLE:
                raise _fail("ErrorInvalidPropertyAppend")
            base = self.current(name)
            if isinstance(value, Body) and isinstance(base, Body):
                self.values[name] = Body(base.type, base.content + value.content)
            else:
                self.values[name] = tuple(cast("tuple[object, ...]", base or ())) + value

    def delete(self, kind: str, names: tuple[str, ...]) -> None:
        if kind == "ignored":
            return
        if kind == "read-only" or any(n not in CLEARED for n in names):
            raise _fail("ErrorInvalidPropertyDelete")
        for name in names:
            self.values[name] = CLEARED[name]

    def extended(self, action: str, path: ExtendedPath, item_el: Element | None) -> None:
        if action == "AppendToItemField":
            raise _fail("ErrorInvalidPropertyAppend")
        old = cast("dict[PropertyKey, ExtendedValue]", self.current("extended_properties") or {})
        wanted = property_identity(path.key)
        props = {k: v for k, v in old.items() if property_identity(k) != wanted}
        if action == "SetItemField":
            if item_el is None or len(item_el) != 1:
                raise _fail("ErrorIncorrectUpdatePropertyCount")
            prop = child(item_el, T_NS, "ExtendedProperty")
            if prop is None:
                raise _fail("ErrorIncorrectUpdatePropertyCount")
            key, value = extended_property(prop)
            props[key] = value
        self.values["extended_properties"] = props


_ACTION_CODES: Final = {
    "SetItemField": "ErrorInvalidPropertySet",
    "AppendToItemField": "ErrorInvalidPropertyAppend",
    "DeleteItemField": "ErrorInvalidPropertyDelete",
}


def keep_wall_clock(item: CalendarItem, values: Values) -> None:
    """A new zone without new times keeps the local times (the stored UTC times move)."""
    for when, zone_field in (("start", "start_time_zone"), ("end", "end_time_zone")):
        old = getattr(item, when)
        if zone_field in values and when not in values and isinstance(old, datetime):
            local = old.astimezone(tz(getattr(item, zone_field))).replace(tzinfo=None)
            values[when] = local.replace(tzinfo=tz(values[zone_field])).astimezone(UTC)


class Updater:
    """Applies the ``t:ItemChange`` elements of one UpdateItem request."""

    def __init__(self, ctx: EwsContext, request: Element) -> None:
        self.ctx = ctx
        self.store = ctx.sim.store
        self.mailbox = mailbox_of(ctx)
        self.reader = reader(ctx)
        self.resolution = request.get("ConflictResolution", "AutoResolve")
        self.request = request
        self.send = request.get("SendMeetingInvitationsOrCancellations")
        saved = child(request, M_NS, "SavedItemFolderId")
        self.saved = None if saved is None else folder_ref(saved)

    def update(self, change: Element) -> tuple[Item | None, int]:
        """Apply one change; the item to name in the answer (None once sent) and the conflicts."""
        ref_el = next((c for c in change if local_name(c) in _ID_ELEMENTS), None)
        if ref_el is None:
            raise EwsError("ErrorInvalidIdMalformed", "The ItemChange names no item.")
        ref = item_ref(ref_el)
        store_id = target_id(self.ctx, ref)
        item = self.store.get_item(store_id)
        conflicts = 0
        if ref.change_key is not None and ref.change_key != current_key(self.ctx, ref, item):
            if self.resolution != "AlwaysOverwrite":
                raise conflict(store_id)
            conflicts = 1
        updates = child(change, T_NS, "Updates")
        values = Changes(self.reader, item).read(updates) if updates is not None else {}
        if isinstance(item, CalendarItem):
            return self.calendar(store_id, item, values), conflicts
        disposition = disposition_of(self.request)
        updated = self.store.update_item(store_id, values)
        if disposition == "SaveOnly":
            return updated, conflicts
        self.send_draft(store_id, save=disposition == "SendAndSaveCopy")
        return None, conflicts

    def calendar(self, store_id: str, item: CalendarItem, values: Values) -> CalendarItem:
        if self.send is None:
            raise _fail("ErrorSendMeetingInvitationsOrCancellationsRequired")
        if item.calendar_item_type in _OCCURRENCE_TYPES:
            for name in _SERIES_ZONES:
                values.pop(name, None)
        else:
            keep_wall_clock(item, values)
        if values.get("is_all_day", item.is_all_day) and values.keys() & {
            "start",
            "end",
            "is_all_day",
        }:
            all_day(values, {**vars(item), **values})
        return meetings.update_meeting(
            self.store, store_id, values, send=cast("meetings.SendUpdates", self.send)
        )

    def send_draft(self, store_id: str, *, save: bool) -> None:
        send_and_file(self.ctx, store_id, save=save, folder=self.saved)


def send_and_file(ctx: EwsContext, store_id: str, *, save: bool, folder: FolderRef | None) -> None:
    """Send a draft; with ``folder`` (a `FolderRef`) other than Sent Items, file the copy there."""
    store = ctx.sim.store
    mailbox = mailbox_of(ctx)
    before = {i.id for i in store.items(mailbox, "sentitems")}
    outbox.send_item(store, store_id, save_copy=save)
    if not save or folder is None:
        return
    target = target_folder(ctx, folder)
    if target.distinguished == "sentitems":
        return
    for sent in store.items(mailbox, "sentitems"):
        if sent.id not in before:
            store.move_item(sent.id, target.id)


@operation("UpdateItem")
async def update_item(ctx: EwsContext, request: Element) -> Element:
    """UpdateItem: one response message per ``t:ItemChange``, with ``ConflictResults``."""
    response = m("UpdateItemResponse")
    messages = msub(response, "ResponseMessages")
    changes = child(request, M_NS, "ItemChanges")
    for change in changes if changes is not None else ():
        try:
            item, conflicts = Updater(ctx, request).update(change)
        except EwsError as err:
            error(messages, "UpdateItem", err)
            continue
        except StoreError as exc:
            error(messages, "UpdateItem", store_error(exc))
            continue
        msg = response_message(messages, "UpdateItem")
        answer = msub(msg, "Items")
        if item is not None:
            append_item_id(answer, item)
        tsub(msub(msg, "ConflictResults"), "Count", str(conflicts))
    return response


@operation("SendItem")
async def send_item(ctx: EwsContext, request: Element) -> Element:
    """SendItem: one response message (no payload) per item id."""
    response = m("SendItemResponse")
    messages = msub(response, "ResponseMessages")
    save = request.get("SaveItemToFolder", "true").strip() in ("true", "1")
    saved_el = child(request, M_NS, "SavedItemFolderId")
    ids = child(request, M_NS, "ItemIds")
    for id_el in ids if ids is not None else ():
        try:
            if saved_el is not None and not save:
                raise _fail("ErrorInvalidSendItemSaveSettings")
            ref = item_ref(id_el)
            store_id = target_id(ctx, ref)
            item = ctx.sim.store.get_item(store_id)
            if ref.change_key is not None and ref.change_key != current_key(ctx, ref, item):
                raise conflict(store_id)
            folder = None if saved_el is None else folder_ref(saved_el)
            send_and_file(ctx, store_id, save=save, folder=folder)
        except EwsError as err:
            error_from(messages, "SendItem", err)
            continue
        except StoreError as exc:
            error_from(messages, "SendItem", store_error(exc))
            continue
        response_message(messages, "SendItem")
    return response


__all__ = ["Changes", "Updater", "conflict", "keep_wall_clock", "send_item", "update_item"]
