"""The change journal behind SyncFolderItems/SyncFolderHierarchy, and change events.

Every folder keeps an append-only list of `JournalEntry` (store-wide increasing ``seq``); each
mailbox keeps one for its folder hierarchy. A sync state is an opaque string for a `SyncCursor`:
the watermark the client is in sync with, and while paging, the snapshot being paged and how far.
Changes since a watermark are collapsed the way SyncFolderItems reports them:

- created (and maybe changed) since → one ``Create``; created and deleted since → nothing;
- existed and deleted → ``Delete``; existed and changed → ``Update``;
- existed and only the read flag changed → ``ReadFlagChange``.

Paging walks a fixed snapshot (changes up to the journal's end when paging began), so pages never
repeat or skip a change; changes made while paging come with the next sync.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from exchangesim.store.errors import InvalidSyncState

if TYPE_CHECKING:
    from exchangesim.store.folders import Folder
    from exchangesim.store.items import Item

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

EntryKind = Literal["Create", "Update", "Delete", "ReadFlag"]
ChangeKind = Literal["Create", "Update", "Delete", "ReadFlagChange"]
EventKind = Literal["NewMail", "Created", "Modified", "Deleted", "Moved", "Copied"]

_PREFIX = "ES1"


@dataclass(frozen=True)
class JournalEntry:
    """One recorded change of an item (or, in a hierarchy journal, of a folder)."""

    seq: int
    kind: EntryKind
    key: str


@dataclass(frozen=True)
class SyncCursor:
    """Where a client stands: in sync up to ``base``; paging ``(base, snapshot]`` at ``offset``."""

    scope: str
    base: int
    snapshot: int | None = None
    offset: int = 0

    def encode(self) -> str:
        """The opaque sync state string (front-ends may wrap it, e.g. in base64)."""
        snapshot = "" if self.snapshot is None else str(self.snapshot)
        return f"{_PREFIX};{self.scope};{self.base};{snapshot};{self.offset}"

    @classmethod
    def decode(cls, text: str, *, scope: str, current: int) -> SyncCursor:
        """Parse a state issued for ``scope``; raises `InvalidSyncState` for anything else."""
        parts = text.split(";")
        if len(parts) != 5 or parts[0] != _PREFIX or parts[1] != scope:
            raise InvalidSyncState("the sync state does not belong to this folder")
        try:
            base = int(parts[2])
            snapshot = int(parts[3]) if parts[3] else None
            offset = int(parts[4])
        except ValueError:
            raise InvalidSyncState("the sync state is corrupt") from None
        top = current if snapshot is None else snapshot
        if not 0 <= base <= top <= current or offset < 0 or (snapshot is None and offset):
            raise InvalidSyncState("the sync state is corrupt")
        return cls(scope=scope, base=base, snapshot=snapshot, offset=offset)


def collapse(
    entries: Sequence[JournalEntry], after: int, upto: int
) -> list[tuple[ChangeKind, str]]:
    """Net changes of entries with ``after < seq <= upto``, ordered by each key's last change."""
    start = bisect.bisect_right(entries, after, key=lambda e: e.seq)
    created: set[str] = set()
    deleted: set[str] = set()
    updated: set[str] = set()
    read: set[str] = set()
    last: dict[str, int] = {}
    for entry in entries[start:]:
        if entry.seq > upto:
            break
        last[entry.key] = entry.seq
        {"Create": created, "Delete": deleted, "Update": updated, "ReadFlag": read}[entry.kind].add(
            entry.key
        )
    changes: list[tuple[int, ChangeKind, str]] = []
    for key, seq in last.items():
        if key in created:
            if key not in deleted:
                changes.append((seq, "Create", key))
        elif key in deleted:
            changes.append((seq, "Delete", key))
        elif key in updated:
            changes.append((seq, "Update", key))
        elif key in read:
            changes.append((seq, "ReadFlagChange", key))
    changes.sort()
    return [(kind, key) for _, kind, key in changes]


def page(
    entries: Sequence[JournalEntry], cursor: SyncCursor, current: int, max_changes: int
) -> tuple[list[tuple[ChangeKind, str]], SyncCursor, bool]:
    """One page of changes after ``cursor``: (changes, next cursor, includes last change)."""
    snapshot = current if cursor.snapshot is None else cursor.snapshot
    changes = collapse(entries, cursor.base, snapshot)
    chunk = changes[cursor.offset : cursor.offset + max(max_changes, 1)]
    end = cursor.offset + len(chunk)
    if end >= len(changes):
        return chunk, SyncCursor(scope=cursor.scope, base=snapshot), True
    following = SyncCursor(scope=cursor.scope, base=cursor.base, snapshot=snapshot, offset=end)
    return chunk, following, False


@dataclass(frozen=True)
class ChangeEvent:
    """A notification for subscribers (EWS pull/push/streaming events).

    For item events ``folder_id`` is the item's parent folder (after a move: the new one) and
    ``old_*`` name where a moved or copied item came from. For folder events ``item_id`` is None,
    ``folder_id`` is the folder and ``parent_folder_id`` its parent. ``watermark`` increases
    store-wide; `Store.events_since` replays events after a watermark.
    """

    kind: EventKind
    mailbox: str
    watermark: int
    time: datetime
    folder_id: str
    item_id: str | None = None
    old_item_id: str | None = None
    old_folder_id: str | None = None
    parent_folder_id: str | None = None

    @property
    def is_folder_event(self) -> bool:
        """Whether the event is about a folder rather than an item."""
        return self.item_id is None


@dataclass(frozen=True)
class ItemChange:
    """One SyncFolderItems change; ``item`` is a copy (None for deletes)."""

    kind: ChangeKind
    item_id: str
    item: Item | None = None
    is_read: bool | None = None


@dataclass(frozen=True)
class FolderChange:
    """One SyncFolderHierarchy change; ``folder`` is None for deletes."""

    kind: ChangeKind
    folder_id: str
    folder: Folder | None = None


@dataclass(frozen=True)
class SyncResult:
    """A page of changes, the state to pass next time, and whether it was the last page."""

    changes: tuple[ItemChange, ...]
    sync_state: str
    includes_last_item_in_range: bool


@dataclass(frozen=True)
class FolderSyncResult:
    """A page of folder hierarchy changes."""

    changes: tuple[FolderChange, ...]
    sync_state: str
    includes_last_folder_in_range: bool
