"""A mailbox's EWS event stream: positions, watermarks, and the events a store change fires.

A subscription never copies events: it is a filter plus a cursor (a `Position`) into the
store's event log (`Store.events_since`); `expand` turns each store change into the EWS events
Exchange would send, and a watermark is the base64 form of a position.

Exchange's rules kept here (Microsoft sources in docs/exchangesim.md, "Subscribe"):

- one `ChangeEvent` becomes several EWS events, as on Exchange: an item created in a folder is a
  `CreatedEvent` (+ `NewMailEvent` for delivered mail) and a `ModifiedEvent` of the folder with
  its `UnreadCount`; a change of a calendar item also fires `FreeBusyChangedEvent`
  ("how-to-stream-notifications..." sample; "a single user action often results in the creation
  of multiple notifications");
- a watermark names a position in one mailbox's event stream: 29 bytes like Exchange Online's
  (`01000000` + mailbox GUID + 8-byte sequence + 1-byte sub-event), base64.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exchangesim.ews.notify_faults import subscription_error
from exchangesim.ews.ops_misc import mailbox_guid

if TYPE_CHECKING:
    from datetime import datetime

    from exchangesim.store import ChangeEvent

Position = tuple[int, int]
"""(store event sequence, sub-event index): where an EWS event sits in a mailbox's stream."""

EVENT_TYPES: Final = (
    "CopiedEvent",
    "CreatedEvent",
    "DeletedEvent",
    "ModifiedEvent",
    "MovedEvent",
    "NewMailEvent",
    "FreeBusyChangedEvent",
)

#: Sub-event indexes: a store event's own EWS event, then the ones derived from it.
_MAIN, _FREE_BUSY, _FOLDER, _OLD_FOLDER = 0, 1, 2, 3
#: The sub-event index of a position after every EWS event of its store event.
AFTER_ALL: Final = 255
_WATERMARK_HEAD: Final = b"\x01\x00\x00\x00"


# --- watermarks ---------------------------------------------------------------------------------


def encode_watermark(mailbox: str, position: Position) -> str:
    """The watermark of `position` in `mailbox`'s event stream."""
    seq, sub = position
    raw = (
        _WATERMARK_HEAD + mailbox_guid(mailbox).bytes_le + seq.to_bytes(8, "little") + bytes([sub])
    )
    return base64.b64encode(raw).decode("ascii")


def decode_watermark(mailbox: str, text: str) -> Position:
    """The position a watermark names; `ErrorInvalidWatermark` for anything not issued for
    `mailbox` by this simulator."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise subscription_error("ErrorInvalidWatermark") from exc
    guid = mailbox_guid(mailbox).bytes_le
    if len(raw) != 29 or not raw.startswith(_WATERMARK_HEAD) or raw[4:20] != guid:
        raise subscription_error("ErrorInvalidWatermark")
    return int.from_bytes(raw[20:28], "little"), raw[28]


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxEvent:
    """One EWS notification event, before it is written as XML.

    Item events carry `item_id`; folder events `folder_id` (the folder itself). `parent_id` is
    the parent folder (None: look it up when writing, for derived folder events). Moved and
    copied events also carry where the object was.
    """

    event_type: str
    position: Position
    time: datetime
    item_id: str | None = None
    folder_id: str | None = None
    parent_id: str | None = None
    old_item_id: str | None = None
    old_folder_id: str | None = None
    old_parent_id: str | None = None
    unread_count: bool = False

    def folders(self) -> tuple[str, ...]:
        """The folders a folder filter compares with: parent, former parent, the folder itself."""
        found = (self.parent_id, self.old_parent_id, self.folder_id)
        return tuple(f for f in found if f is not None)


def expand(
    change: ChangeEvent, calendar_id: str | None, *, new_mail_follows: bool = False
) -> list[MailboxEvent]:
    """The EWS events one store change fires, in position order.

    Delivered mail is a `Created` store event followed by a `NewMail` one; the folder's
    `ModifiedEvent` then comes after the `NewMailEvent`, as in Exchange's streaming sample
    (CreatedEvent, NewMailEvent, ModifiedEvent of the folder).
    """
    seq, when = change.watermark, change.time
    if change.item_id is None:  # a folder was created, changed or deleted
        if change.parent_folder_id is None:
            return []  # the root has no parent to report
        return [
            MailboxEvent(
                f"{change.kind}Event",
                (seq, _MAIN),
                when,
                folder_id=change.folder_id,
                parent_id=change.parent_folder_id,
                unread_count=change.kind == "Modified",
            )
        ]
    events = [
        MailboxEvent(
            f"{change.kind}Event",
            (seq, _MAIN),
            when,
            item_id=change.item_id,
            parent_id=change.folder_id,
            old_item_id=change.old_item_id if change.kind in ("Moved", "Copied") else None,
            old_parent_id=change.old_folder_id if change.kind in ("Moved", "Copied") else None,
        )
    ]
    in_calendar = calendar_id is not None and calendar_id in (
        change.folder_id,
        change.old_folder_id,
    )
    if in_calendar and change.kind in ("Created", "Modified", "Deleted", "Moved"):
        events.append(
            MailboxEvent(
                "FreeBusyChangedEvent",
                (seq, _FREE_BUSY),
                when,
                item_id=change.item_id,
                parent_id=change.folder_id,
            )
        )
    counts_changed = change.kind in ("Deleted", "Moved", "Copied", "NewMail") or (
        change.kind == "Created" and not new_mail_follows
    )
    if counts_changed:
        # The folder's counts changed: Exchange reports the folder as modified too.
        events.append(
            MailboxEvent(
                "ModifiedEvent", (seq, _FOLDER), when, folder_id=change.folder_id, unread_count=True
            )
        )
        if change.kind == "Moved" and change.old_folder_id:
            events.append(
                MailboxEvent(
                    "ModifiedEvent",
                    (seq, _OLD_FOLDER),
                    when,
                    folder_id=change.old_folder_id,
                    unread_count=True,
                )
            )
    return events


@dataclass(frozen=True)
class Batch:
    """What a subscription has to hear next: `events` (at most one notification's worth),
    whether `more` wait, and `upto`, where the next read starts (the last event given, or, when
    nothing is left, everything read so far, so filtered-out changes are not read again)."""

    events: list[MailboxEvent]
    more: bool
    upto: Position


__all__ = [
    "AFTER_ALL",
    "EVENT_TYPES",
    "Batch",
    "MailboxEvent",
    "Position",
    "decode_watermark",
    "encode_watermark",
    "expand",
]
