"""`Store`: every mailbox of the simulated tenant, and the operations front-ends call.

One `threading.RLock` (``store.lock``) guards all state; every public method takes it, so the
store may be shared by threads and by an event loop's executor. Times come from an injectable
clock (UTC-aware, made monotonic and whole-second here). Read methods return copies.

Meetings (send, respond, update, cancel, forward) live in `exchangesim.store.meetings`; plain mail
delivery in `exchangesim.store.transport`.

This module stays one class past the usual 400 lines on purpose: `Store` is the front-ends' whole
item and folder API, and each method is a thin shell over `Transaction`, `calendar` and `journal`.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

import structlog

from exchangesim.store import calendar
from exchangesim.store.errors import (
    DistinguishedFolder,
    ExpiredWatermark,
    FolderExists,
    InvalidProperty,
    ItemNotFound,
)
from exchangesim.store.folders import (
    DISTINGUISHED,
    CalendarPermission,
    Folder,
    FolderState,
    permission_level,
)
from exchangesim.store.ids import IdFactory, id_kind
from exchangesim.store.items import CalendarItem, Item, MeetingMessage, Message
from exchangesim.store.journal import (
    ChangeEvent,
    FolderChange,
    FolderSyncResult,
    ItemChange,
    SyncCursor,
    SyncResult,
    page,
)
from exchangesim.store.mailbox import CalendarProcessing, Mailbox, MailboxKind, MailboxState
from exchangesim.store.transaction import Group, StoreState, Transaction

log = structlog.get_logger(__name__)

DeleteMode = Literal["HardDelete", "SoftDelete", "MoveToDeletedItems"]
Listener = Callable[[ChangeEvent], None]
EVENT_LOG_SIZE = 50_000


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Store:
    """All mailboxes, folders and items, with their change journals and notifications."""

    def __init__(
        self, *, clock: Callable[[], datetime] | None = None, state: StoreState | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or _system_clock
        self._state = state or StoreState(ids=IdFactory.fresh())
        self._index: dict[str, tuple[str, str]] = {}
        for key, mailbox in self._state.mailboxes.items():
            for folder in mailbox.folders.values():
                for item_id in folder.items:
                    self._index[item_id] = (key, folder.id)
        self._last_now = datetime.min.replace(tzinfo=UTC)
        self._listeners: list[Listener] = []
        self._log: deque[ChangeEvent] = deque(maxlen=EVENT_LOG_SIZE)
        self._log_floor = self._state.seq
        self._tx: Transaction | None = None
        self._pending: list[ChangeEvent] = []

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_tenant(cls, tenant: object, *, clock: Callable[[], datetime] | None = None) -> Store:
        """A store with a mailbox per user and resource of the tenant, and its groups.

        Reads only ``users`` (``email``, ``display_name``), ``resources`` (also ``kind``,
        ``calendar_processing``, ``calendar_default_permission``) and ``groups`` (``email``,
        ``display_name``, ``members``).
        """
        store = cls(clock=clock)
        for user in getattr(tenant, "users", ()):
            store.add_mailbox(user.email, user.display_name, "user")
        for res in getattr(tenant, "resources", ()):
            store.add_mailbox(
                res.email,
                res.display_name,
                res.kind,
                processing=CalendarProcessing.from_object(res.calendar_processing),
                default_calendar_permission=getattr(res, "calendar_default_permission", "None"),
            )
        for group in getattr(tenant, "groups", ()):
            store.add_group(group.email, tuple(group.members), group.display_name)
        return store

    def snapshot(self) -> StoreState:
        """A deep copy of the whole state (for `exchangesim.state.save`)."""
        with self.lock:
            return copy.deepcopy(self._state)

    # --- time, transactions, notifications -------------------------------------------------

    def now(self) -> datetime:
        """The clock's time, UTC, whole seconds, never earlier than a previous answer."""
        with self.lock:
            current = self.clock()
            if current.tzinfo is None:
                raise ValueError("the store clock must return aware datetimes")
            current = current.astimezone(UTC).replace(microsecond=0)
            self._last_now = max(self._last_now, current)
            return self._last_now

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the lock and get the `Transaction`; nested calls share the outer one."""
        with self.lock:
            if self._tx is not None:
                yield self._tx
                return
            self._tx = Transaction(self._state, self._index, self.now(), self._pending.append)
            try:
                yield self._tx
            finally:
                self._tx = None
                events, self._pending = self._pending, []
                self._dispatch(events)

    def _dispatch(self, events: list[ChangeEvent]) -> None:
        for event in events:
            if len(self._log) == self._log.maxlen:
                self._log_floor = self._log[0].watermark
            self._log.append(event)
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:  # a broken subscriber must not undo a committed change
                    log.exception(
                        "store_listener_failed", change=event.kind, watermark=event.watermark
                    )

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every `ChangeEvent` from now on; returns the unsubscriber.

        Listeners run under the store lock, in order: they must not block (hand the event to a
        queue or ``loop.call_soon_threadsafe``).
        """
        with self.lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def watermark(self) -> int:
        """The current store-wide watermark (events after it have larger watermarks)."""
        with self.lock:
            return self._state.seq

    def events_since(self, watermark: int, *, mailbox: str | None = None) -> list[ChangeEvent]:
        """Events after ``watermark`` (optionally of one mailbox); `ExpiredWatermark` if lost."""
        with self.lock:
            if watermark < self._log_floor or watermark > self._state.seq:
                raise ExpiredWatermark(f"watermark {watermark} is no longer available")
            key = None if mailbox is None else mailbox.casefold()
            return [
                e
                for e in self._log
                if e.watermark > watermark and (key is None or e.mailbox.casefold() == key)
            ]

    # --- mailboxes -------------------------------------------------------------------------

    def add_mailbox(
        self,
        address: str,
        display_name: str,
        kind: MailboxKind = "user",
        *,
        processing: CalendarProcessing | None = None,
        default_calendar_permission: str = "FreeBusyTimeOnly",
    ) -> Mailbox:
        """Create a mailbox with Exchange's distinguished folders.

        Without ``processing`` users get the Calendar Attendant (``AutoUpdate``) and resources
        ``AutoAccept``, as new Exchange mailboxes do. ``default_calendar_permission`` is the
        calendar's ``Default`` level, by its EWS or Exchange PowerShell name (`permission_level`).
        """
        if processing is None:
            processing = CalendarProcessing(
                automate_processing="AutoUpdate" if kind == "user" else "AutoAccept"
            )
        with self.transaction() as tx:
            mailbox = MailboxState(
                address=address, display_name=display_name, kind=kind, processing=processing
            )
            self._state.mailboxes[address.casefold()] = mailbox
            for spec in DISTINGUISHED:
                parent = mailbox.distinguished.get(spec.parent) if spec.parent else None
                folder = FolderState(
                    id=self._state.ids.folder_id(),
                    parent_id=parent,
                    display_name=spec.display_name,
                    folder_class=spec.folder_class,
                    distinguished=spec.name,
                    change_key=tx.change_key(),
                )
                if spec.name == "calendar":
                    folder.permissions = (
                        CalendarPermission(
                            "Default", permission_level(default_calendar_permission)
                        ),
                        CalendarPermission("Anonymous", "None"),
                    )
                mailbox.folders[folder.id] = folder
                mailbox.distinguished[spec.name] = folder.id
                tx.hierarchy(mailbox, "Create", folder)
            return Mailbox.of(mailbox)

    def add_group(self, address: str, members: Sequence[str], display_name: str = "") -> None:
        """Register a distribution group; mail and meetings to it reach its members."""
        with self.lock:
            self._state.groups[address.casefold()] = Group(address, display_name, tuple(members))

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox with this address; raises `NoSuchMailbox`."""
        with self.transaction() as tx:
            return Mailbox.of(tx.mailbox(address))

    def mailboxes(self) -> list[Mailbox]:
        """Every mailbox."""
        with self.lock:
            return [Mailbox.of(m) for m in self._state.mailboxes.values()]

    def has_mailbox(self, address: str) -> bool:
        """Whether a mailbox has this address."""
        with self.lock:
            return address.casefold() in self._state.mailboxes

    # --- folders ---------------------------------------------------------------------------

    def _resolve_folder(
        self, tx: Transaction, mailbox: str | None, ref: str
    ) -> tuple[MailboxState, FolderState]:
        owner = tx.folder_owner(ref) if mailbox is None else tx.mailbox(mailbox)
        return owner, tx.folder(owner, ref)

    def folder(self, mailbox: str | None, ref: str) -> Folder:
        """A folder by id or distinguished name (``inbox`` …); ``mailbox`` may be None for ids."""
        with self.transaction() as tx:
            return Folder.of(*self._resolve_folder(tx, mailbox, ref))

    def child_folders(self, mailbox: str | None, ref: str, *, deep: bool = False) -> list[Folder]:
        """The folders under a folder (all descendants when ``deep``), parents first."""
        with self.transaction() as tx:
            owner, parent = self._resolve_folder(tx, mailbox, ref)
            found: list[Folder] = []
            pending = [parent.id]
            while pending:
                parent_id = pending.pop(0)
                for folder in owner.folders.values():
                    if folder.parent_id == parent_id:
                        found.append(Folder.of(owner, folder))
                        if deep:
                            pending.append(folder.id)
            return found

    def create_folder(
        self,
        mailbox: str | None,
        parent: str,
        display_name: str,
        folder_class: str | None = "IPF.Note",
    ) -> Folder:
        """Create a folder; `FolderExists` if a sibling has the same name (case-insensitive)."""
        with self.transaction() as tx:
            owner, parent_folder = self._resolve_folder(tx, mailbox, parent)
            for sibling in owner.folders.values():
                if sibling.parent_id == parent_folder.id and (
                    sibling.display_name.casefold() == display_name.casefold()
                ):
                    raise FolderExists(f"{display_name!r} exists under {parent!r}")
            folder = FolderState(
                id=self._state.ids.folder_id(),
                parent_id=parent_folder.id,
                display_name=display_name,
                folder_class=folder_class,
                change_key=tx.change_key(),
            )
            owner.folders[folder.id] = folder
            tx.hierarchy(owner, "Create", folder)
            return Folder.of(owner, folder)

    def rename_folder(self, folder_id: str, display_name: str) -> Folder:
        """Change a folder's display name."""
        with self.transaction() as tx:
            owner, folder = self._resolve_folder(tx, None, folder_id)
            folder.display_name = display_name
            folder.change_key = tx.change_key()
            tx.hierarchy(owner, "Update", folder)
            return Folder.of(owner, folder)

    def set_calendar_permissions(
        self, mailbox: str, permissions: Sequence[CalendarPermission], ref: str = "calendar"
    ) -> Folder:
        """Replace a calendar folder's permission set."""
        with self.transaction() as tx:
            owner, folder = self._resolve_folder(tx, mailbox, ref)
            folder.permissions = tuple(permissions)
            folder.change_key = tx.change_key()
            tx.hierarchy(owner, "Update", folder)
            return Folder.of(owner, folder)

    def delete_folder(self, folder_id: str) -> None:
        """Delete a custom folder with its items and subfolders (hard delete)."""
        with self.transaction() as tx:
            owner, folder = self._resolve_folder(tx, None, folder_id)
            if folder.distinguished is not None:
                raise DistinguishedFolder(f"{folder.distinguished!r} cannot be deleted")
            doomed = [folder]
            doomed.extend(
                owner.folders[c.id] for c in self.child_folders(None, folder_id, deep=True)
            )
            for gone in reversed(doomed):
                for item in list(gone.items.values()):
                    tx.remove(owner, gone, item)
                del owner.folders[gone.id]
                tx.hierarchy(owner, "Delete", gone)

    # --- items -----------------------------------------------------------------------------

    def items(
        self, mailbox: str | None, ref: str, *, where: Callable[[Item], bool] | None = None
    ) -> list[Item]:
        """Copies of the items in a folder (occurrences are not items: see `calendar_view`).

        With ``where``, only the items it accepts: it reads (never changes) the stored items
        under the store's lock, so a search copies what it finds, not the whole folder.
        """
        with self.transaction() as tx:
            _, folder = self._resolve_folder(tx, mailbox, ref)
            return [copy.deepcopy(i) for i in folder.items.values() if where is None or where(i)]

    def get_item(self, item_id: str) -> Item:
        """A copy of the item; occurrence ids give the occurrence (or its exception)."""
        with self.transaction() as tx:
            if id_kind(item_id) == "occurrence":
                found, index = tx.locate_calendar(item_id)
                assert isinstance(found.item, CalendarItem)
                assert index is not None
                return calendar.occurrence(found.item, index)
            return copy.deepcopy(tx.locate(item_id).item)

    def find_item(self, item_id: str) -> tuple[Mailbox, Folder, Item] | None:
        """(mailbox, folder, item copy) for any item or occurrence id; None when nothing has it.

        Malformed ids still raise `InvalidId` (EWS ``ErrorInvalidIdMalformed``).
        """
        with self.transaction() as tx:
            try:
                item = self.get_item(item_id)
                where = tx.locate(
                    item.master_id if isinstance(item, CalendarItem) and item.master_id else item_id
                )
            except ItemNotFound:
                return None
            return (
                Mailbox.of(where.mailbox),
                Folder.of(where.mailbox, where.folder),
                item,
            )

    def occurrence(self, master_id: str, index: int) -> CalendarItem:
        """Occurrence ``index`` (1-based) of a series, as EWS ``OccurrenceItemId`` names it."""
        with self.transaction() as tx:
            found = tx.locate(master_id)
            if not isinstance(found.item, CalendarItem) or found.item.recurrence is None:
                raise ItemNotFound(f"{master_id!r} is not a recurring master")
            return calendar.occurrence(found.item, index)

    def master_of(self, item_id: str) -> CalendarItem:
        """The series of an occurrence or exception id (EWS ``RecurringMasterItemId``)."""
        with self.transaction() as tx:
            found, _ = tx.locate_calendar(item_id)
            assert isinstance(found.item, CalendarItem)
            if found.item.recurrence is None:
                raise ItemNotFound(f"{item_id!r} is not part of a series")
            return copy.deepcopy(found.item)

    def create_item(self, mailbox: str, ref: str, item: Item) -> Item:
        """Save a new item without sending it (EWS CreateItem ``SaveOnly``/``SendToNone``).

        Calendar items get a UID, their owner as organizer and their time zones and recurrence
        checked. A plain message without a sent time is a draft, as Exchange saves unsent mail.
        Mail arriving from someone is `transport.send_message`'s job.
        """
        with self.transaction() as tx:
            owner, folder = self._resolve_folder(tx, mailbox, ref)
            item = copy.deepcopy(item)
            item.id = ""
            if isinstance(item, CalendarItem):
                calendar.prepare_new(item, tx.owner(owner), tx.now)
            elif isinstance(item, Message) and not isinstance(item, MeetingMessage):
                item.is_draft = item.date_time_sent is None
            return copy.deepcopy(tx.insert(owner, folder, item))

    def update_item(
        self, item_id: str, changes: Mapping[str, object], *, change_key: str | None = None
    ) -> Item:
        """Set properties (by field name) without sending anything; returns the updated copy.

        An occurrence id turns that occurrence into an exception. A stale ``change_key`` raises
        `ChangeKeyMismatch`. To send meeting updates use `meetings.update_meeting`.
        """
        with self.transaction() as tx:
            values = dict(copy.deepcopy(changes))
            if id_kind(item_id) == "occurrence" or isinstance(
                tx.locate(item_id).item, CalendarItem
            ):
                edit = tx.edit_calendar(item_id, values, change_key)
                return copy.deepcopy(edit.item)
            found = tx.locate(item_id)
            tx.check_change_key(found.item, change_key)
            calendar.check_changes(found.item, values)
            changed = {k for k, v in values.items() if getattr(found.item, k) != v}
            for name in changed:
                setattr(found.item, name, values[name])
            if changed:
                tx.touch(found.mailbox, found.folder, found.item, read_flag=changed == {"is_read"})
            return copy.deepcopy(found.item)

    def set_read(self, item_id: str, is_read: bool) -> Item:
        """Set the read flag (a ReadFlagChange for sync)."""
        return self.update_item(item_id, {"is_read": is_read})

    def delete_item(self, item_id: str, *, mode: DeleteMode = "MoveToDeletedItems") -> None:
        """Delete an item (no cancellations or responses: see `meetings` for those).

        An occurrence id deletes that occurrence from its series.
        """
        with self.transaction() as tx:
            if id_kind(item_id) == "occurrence":
                found, index = tx.locate_calendar(item_id)
                assert isinstance(found.item, CalendarItem)
                assert index is not None
                calendar.delete_occurrence(found.item, index)
                tx.touch(found.mailbox, found.folder, found.item)
                return
            found = tx.locate(item_id)
            if mode == "HardDelete":
                tx.remove(found.mailbox, found.folder, found.item)
            elif mode == "SoftDelete":
                dumpster = tx.folder(found.mailbox, "recoverableitemsdeletions")
                tx.move(found.mailbox, found.folder, found.item, dumpster)
            else:
                tx.trash(found)

    def move_item(self, item_id: str, ref: str) -> Item:
        """Move an item to another folder of its mailbox; the moved item has a new id."""
        with self.transaction() as tx:
            found = tx.locate(item_id)
            target = tx.folder(found.mailbox, ref)
            return copy.deepcopy(tx.move(found.mailbox, found.folder, found.item, target))

    def copy_item(self, item_id: str, ref: str) -> Item:
        """Copy an item into a folder of its mailbox."""
        with self.transaction() as tx:
            found = tx.locate(item_id)
            target = tx.folder(found.mailbox, ref)
            return copy.deepcopy(tx.copy(found.mailbox, found.folder, found.item, target))

    def calendar_view(
        self, mailbox: str | None, ref: str, start: datetime, end: datetime, *, limit: int = 1000
    ) -> list[CalendarItem]:
        """Singles, occurrences and exceptions overlapping ``[start, end)``, by start (copies)."""
        if end < start:
            raise InvalidProperty("the view ends before it starts", code="ErrorInvalidRequest")
        with self.transaction() as tx:
            _, folder = self._resolve_folder(tx, mailbox, ref)
            found: list[CalendarItem] = []
            for item in folder.items.values():
                if not isinstance(item, CalendarItem) or item.start is None or item.end is None:
                    continue
                if item.recurrence is not None:
                    found.extend(calendar.expand(item, start, end, limit))
                elif item.start < end and (item.end > start or item.start >= start):
                    found.append(copy.deepcopy(item))
            found.sort(key=lambda i: (i.start, i.id))
            return found[:limit]

    # --- sync ------------------------------------------------------------------------------

    def changes_since(
        self, folder_id: str, sync_state: str | None, max_changes: int = 512
    ) -> SyncResult:
        """SyncFolderItems: item changes in a folder since ``sync_state`` (None: from scratch)."""
        with self.transaction() as tx:
            _, folder = self._resolve_folder(tx, None, folder_id)
            cursor = (
                SyncCursor.decode(sync_state, scope=folder.id, current=self._state.seq)
                if sync_state
                else SyncCursor(scope=folder.id, base=0)
            )
            found, following, done = page(folder.journal, cursor, self._state.seq, max_changes)
            changes: list[ItemChange] = []
            for kind, key in found:
                item = folder.items.get(key)
                if kind == "Delete":
                    changes.append(ItemChange(kind, key))
                elif item is not None:
                    changes.append(ItemChange(kind, key, copy.deepcopy(item), item.is_read))
            return SyncResult(tuple(changes), following.encode(), done)

    def folder_changes_since(
        self, mailbox: str, sync_state: str | None, max_changes: int = 512
    ) -> FolderSyncResult:
        """SyncFolderHierarchy: folder changes in a mailbox since ``sync_state``."""
        with self.transaction() as tx:
            owner = tx.mailbox(mailbox)
            scope = "H:" + owner.address.casefold()
            cursor = (
                SyncCursor.decode(sync_state, scope=scope, current=self._state.seq)
                if sync_state
                else SyncCursor(scope=scope, base=0)
            )
            found, following, done = page(
                owner.hierarchy_journal, cursor, self._state.seq, max_changes
            )
            changes: list[FolderChange] = []
            for kind, key in found:
                folder = owner.folders.get(key)
                if kind == "Delete":
                    changes.append(FolderChange(kind, key))
                elif folder is not None:
                    changes.append(
                        FolderChange(
                            "Update" if kind == "ReadFlagChange" else kind,
                            key,
                            Folder.of(owner, folder),
                        )
                    )
            return FolderSyncResult(tuple(changes), following.encode(), done)


__all__ = [
    "DeleteMode",
    "FolderChange",
    "FolderSyncResult",
    "ItemChange",
    "Listener",
    "Store",
    "SyncResult",
]
