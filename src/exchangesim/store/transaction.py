"""The store's state and the transaction through which every change goes.

A `Transaction` is the store's own tool (used by `Store` and the meeting modules): it holds the
lock, stamps ids, change keys and times, records every change in the folder journals and collects
the change events, which the store hands to listeners when the outermost transaction ends.
Front-ends use the `Store` methods instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from exchangesim.store import calendar
from exchangesim.store.errors import (
    ChangeKeyMismatch,
    FolderNotFound,
    InvalidId,
    ItemNotFound,
    NoSuchMailbox,
)
from exchangesim.store.folders import DISTINGUISHED_NAMES, FolderState
from exchangesim.store.ids import IdFactory, id_kind, split_occurrence_id
from exchangesim.store.items import Address, CalendarItem, Item, MeetingMessage, estimated_size
from exchangesim.store.journal import ChangeEvent, EntryKind, EventKind, JournalEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from exchangesim.store.mailbox import MailboxState

T = TypeVar("T", bound=Item)


@dataclass(frozen=True)
class Group:
    """A distribution group: mail to it goes to its members (which may be groups)."""

    address: str
    display_name: str
    members: tuple[str, ...]


@dataclass
class StoreState:
    """Everything the store holds; `exchangesim.state` saves and loads it."""

    ids: IdFactory
    seq: int = 0
    mailboxes: dict[str, MailboxState] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)


@dataclass
class Located:
    """Where an item lives."""

    mailbox: MailboxState
    folder: FolderState
    item: Item


class Transaction:
    """Mutations and lookups on the live state; only valid inside ``Store.transaction()``."""

    def __init__(
        self,
        state: StoreState,
        index: dict[str, tuple[str, str]],
        now: datetime,
        emit: Callable[[ChangeEvent], None],
    ) -> None:
        self.state = state
        self.now = now
        self._index = index  # item id -> (mailbox key, folder id)
        self._emit = emit

    # --- lookups ---------------------------------------------------------------------------

    def mailbox(self, address: str) -> MailboxState:
        """The mailbox with this address; raises `NoSuchMailbox`."""
        try:
            return self.state.mailboxes[address.casefold()]
        except KeyError:
            raise NoSuchMailbox(address) from None

    def owner(self, mailbox: MailboxState) -> Address:
        """The mailbox as an address."""
        return Address(mailbox.address, mailbox.display_name)

    def folder(self, mailbox: MailboxState, ref: str) -> FolderState:
        """A folder by id or distinguished name; raises `FolderNotFound`."""
        folder_id = mailbox.distinguished.get(ref, ref)
        try:
            return mailbox.folders[folder_id]
        except KeyError:
            if ref not in DISTINGUISHED_NAMES and id_kind(ref) != "folder":
                raise InvalidId(ref) from None
            raise FolderNotFound(f"no folder {ref!r} in {mailbox.address}") from None

    def folder_owner(self, folder_id: str) -> MailboxState:
        """The mailbox holding the folder id; raises `FolderNotFound`."""
        for mailbox in self.state.mailboxes.values():
            if folder_id in mailbox.folders:
                return mailbox
        if id_kind(folder_id) != "folder":
            raise InvalidId(folder_id)
        raise FolderNotFound(f"no folder {folder_id!r}")

    def locate(self, item_id: str) -> Located:
        """Where a (non-occurrence) item lives; raises `ItemNotFound`/`InvalidId`."""
        where = self._index.get(item_id)
        if where is None:
            if id_kind(item_id) == "folder":
                raise InvalidId(item_id)
            raise ItemNotFound(f"no item {item_id!r}")
        mailbox = self.state.mailboxes[where[0]]
        folder = mailbox.folders[where[1]]
        return Located(mailbox, folder, folder.items[item_id])

    def locate_calendar(self, item_id: str) -> tuple[Located, int | None]:
        """The stored calendar item (the master for an occurrence id) and the instance index."""
        index = None
        if id_kind(item_id) == "occurrence":
            item_id, index = split_occurrence_id(item_id)
        found = self.locate(item_id)
        if not isinstance(found.item, CalendarItem):
            raise ItemNotFound(f"{item_id!r} is not a calendar item")
        return found, index

    def calendar_items(self, mailbox: MailboxState) -> Iterator[tuple[FolderState, CalendarItem]]:
        """Every calendar item (single or master) in the mailbox's calendar folders."""
        for folder in list(mailbox.folders.values()):
            if folder.folder_class == "IPF.Appointment":
                for item in list(folder.items.values()):
                    if isinstance(item, CalendarItem):
                        yield folder, item

    def find_by_uid(self, mailbox: MailboxState, uid: str) -> Located | None:
        """The calendar item (single or master) with this iCalendar UID, if any."""
        for folder, item in self.calendar_items(mailbox):
            if item.uid == uid:
                return Located(mailbox, folder, item)
        return None

    def meeting_messages(self, mailbox: MailboxState, uid: str) -> list[Located]:
        """Meeting messages about ``uid`` in the inbox."""
        inbox = self.folder(mailbox, "inbox")
        return [
            Located(mailbox, inbox, item)
            for item in list(inbox.items.values())
            if isinstance(item, MeetingMessage) and item.uid == uid
        ]

    def recipients(self, addresses: list[str]) -> list[MailboxState]:
        """The mailboxes mail to these addresses reaches: groups expanded, unknowns dropped."""
        found: dict[str, MailboxState] = {}
        pending = [a.casefold() for a in addresses]
        seen: set[str] = set()
        while pending:
            key = pending.pop(0)
            if key in seen:
                continue
            seen.add(key)
            if key in self.state.mailboxes:
                found.setdefault(key, self.state.mailboxes[key])
            elif key in self.state.groups:
                pending.extend(m.casefold() for m in self.state.groups[key].members)
        return list(found.values())

    @staticmethod
    def check_change_key(item: Item, change_key: str | None) -> None:
        """Raise `ChangeKeyMismatch` when the caller's change key is stale."""
        if change_key is not None and change_key != item.change_key:
            raise ChangeKeyMismatch(f"item {item.id!r} changed since it was read")

    # --- recording -------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The next store-wide sequence number (journal entries and event watermarks)."""
        self.state.seq += 1
        return self.state.seq

    def change_key(self) -> str:
        """A fresh change key."""
        return self.state.ids.change_key()

    def _journal(self, folder: FolderState, kind: EntryKind, key: str) -> None:
        folder.journal.append(JournalEntry(self.next_seq(), kind, key))

    def hierarchy(self, mailbox: MailboxState, kind: EntryKind, folder: FolderState) -> None:
        """Record a folder change in the hierarchy journal and emit its event."""
        mailbox.hierarchy_journal.append(JournalEntry(self.next_seq(), kind, folder.id))
        event: EventKind = "Modified"
        if kind == "Create":
            event = "Created"
        elif kind == "Delete":
            event = "Deleted"
        self.event(event, mailbox, folder.id, parent_folder_id=folder.parent_id)

    def event(
        self,
        kind: EventKind,
        mailbox: MailboxState,
        folder_id: str,
        *,
        item_id: str | None = None,
        old_item_id: str | None = None,
        old_folder_id: str | None = None,
        parent_folder_id: str | None = None,
    ) -> None:
        """Emit a change event (dispatched when the outermost transaction ends)."""
        self._emit(
            ChangeEvent(
                kind=kind,
                mailbox=mailbox.address,
                watermark=self.next_seq(),
                time=self.now,
                folder_id=folder_id,
                item_id=item_id,
                old_item_id=old_item_id,
                old_folder_id=old_folder_id,
                parent_folder_id=parent_folder_id,
            )
        )

    # --- item mutations --------------------------------------------------------------------

    def _stamp(self, item: Item) -> None:
        item.change_key = self.change_key()
        item.last_modified_time = self.now
        item.size = estimated_size(item)

    def insert(
        self, mailbox: MailboxState, folder: FolderState, item: T, *, new_mail: bool = False
    ) -> T:
        """Store a new item (a fresh id unless it has an unused one) and record its creation."""
        if not item.id or item.id in self._index:
            item.id = self.state.ids.item_id()
        item.folder_id = folder.id
        if item.date_time_created is None:
            item.date_time_created = self.now
        if item.date_time_received is None:
            item.date_time_received = self.now
        item.last_modified_name = item.last_modified_name or mailbox.display_name
        self._stamp(item)
        if isinstance(item, CalendarItem):
            for exc in item.exceptions:
                exc.folder_id = folder.id
        folder.items[item.id] = item
        self._index[item.id] = (mailbox.address.casefold(), folder.id)
        self._journal(folder, "Create", item.id)
        self.event("Created", mailbox, folder.id, item_id=item.id)
        if new_mail:
            self.event("NewMail", mailbox, folder.id, item_id=item.id)
        return item

    def touch(
        self, mailbox: MailboxState, folder: FolderState, item: Item, *, read_flag: bool = False
    ) -> None:
        """Record a modification of a stored item: new change key, journal, event."""
        self._stamp(item)
        self._journal(folder, "ReadFlag" if read_flag else "Update", item.id)
        self.event("Modified", mailbox, folder.id, item_id=item.id)

    def remove(self, mailbox: MailboxState, folder: FolderState, item: Item) -> None:
        """Delete a stored item for good."""
        del folder.items[item.id]
        self._index.pop(item.id, None)
        self._journal(folder, "Delete", item.id)
        self.event("Deleted", mailbox, folder.id, item_id=item.id)

    def move(self, mailbox: MailboxState, folder: FolderState, item: T, target: FolderState) -> T:
        """Move an item to another folder of its mailbox; it gets a new id, as in Exchange."""
        if target is folder:
            return item
        old_id = item.id
        del folder.items[old_id]
        self._index.pop(old_id, None)
        self._journal(folder, "Delete", old_id)
        item.id = self.state.ids.item_id()
        item.folder_id = target.id
        self._stamp(item)
        if isinstance(item, CalendarItem):
            for exc in item.exceptions:
                exc.folder_id = target.id
        target.items[item.id] = item
        self._index[item.id] = (mailbox.address.casefold(), target.id)
        self._journal(target, "Create", item.id)
        self.event(
            "Moved",
            mailbox,
            target.id,
            item_id=item.id,
            old_item_id=old_id,
            old_folder_id=folder.id,
        )
        return item

    def copy(self, mailbox: MailboxState, folder: FolderState, item: T, target: FolderState) -> T:
        """Copy an item into a folder of its mailbox."""
        clone = copy.deepcopy(item)
        clone.id = self.state.ids.item_id()
        clone.folder_id = target.id
        self._stamp(clone)
        target.items[clone.id] = clone
        self._index[clone.id] = (mailbox.address.casefold(), target.id)
        self._journal(target, "Create", clone.id)
        self.event(
            "Copied",
            mailbox,
            target.id,
            item_id=clone.id,
            old_item_id=item.id,
            old_folder_id=folder.id,
        )
        return clone

    def trash(self, found: Located) -> Item:
        """Move an item to Deleted Items (from there: to Recoverable Items), as Exchange does."""
        deleted = self.folder(found.mailbox, "deleteditems")
        if found.folder is deleted:
            deleted = self.folder(found.mailbox, "recoverableitemsdeletions")
        return self.move(found.mailbox, found.folder, found.item, deleted)

    def edit_calendar(
        self, item_id: str, changes: dict[str, object], change_key: str | None
    ) -> calendar.Edit:
        """Apply changes to a calendar item or one occurrence (making it an exception)."""
        found, index = self.locate_calendar(item_id)
        master = found.item
        assert isinstance(master, CalendarItem)
        before = copy.deepcopy(master)
        if index is None:
            self.check_change_key(master, change_key)
            changed = calendar.apply_to_series(master, changes)
            target = master
        else:
            current = calendar.occurrence(master, index)
            self.check_change_key(current, change_key)
            target, changed = calendar.apply_to_occurrence(
                master, index, changes, self.change_key()
            )
            if changed:
                target.change_key = self.change_key()
                target.last_modified_time = self.now
        if changed:
            self.touch(found.mailbox, found.folder, master)
        edit = calendar.Edit(item=target, master=master, index=index, changed=changed)
        edit.before = before
        return edit
