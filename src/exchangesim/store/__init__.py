"""exchangesim's protocol-neutral mailbox store, with Exchange's meeting semantics.

Front-ends (EWS now, Graph later) use:

- `Store`: mailboxes, folders, items, calendar views, sync (`Store.changes_since`) and change
  events (`Store.subscribe`, `Store.events_since`).
- `meetings`: ``send_meeting``, ``update_meeting``, ``cancel_meeting``, ``respond``,
  ``forward_meeting_request``, ``remove_from_calendar``.
- `transport.send_message` for mail, `outbox.send_item` for drafts.
- The item classes in `items`, recurrence in `recurrence`, Windows time zones in `timezones`,
  the error tree in `errors` (each error's ``code`` is the Exchange response code).

No XML, JSON or HTTP here; ids are opaque strings.
"""

from exchangesim.store.calendar import (
    OccurrenceInfo,
    first_occurrence,
    last_occurrence,
    modified_occurrences,
)
from exchangesim.store.errors import (
    ChangeKeyMismatch,
    DistinguishedFolder,
    ExpiredWatermark,
    FolderExists,
    FolderNotFound,
    InvalidId,
    InvalidOperation,
    InvalidProperty,
    InvalidRecurrence,
    InvalidSyncState,
    ItemNotFound,
    NoSuchMailbox,
    OccurrenceDeleted,
    OccurrenceOutOfRange,
    StoreError,
    UnknownTimeZone,
)
from exchangesim.store.folders import CalendarPermission, Folder
from exchangesim.store.ids import id_kind, occurrence_id, split_occurrence_id
from exchangesim.store.items import (
    Address,
    Attendee,
    Body,
    CalendarItem,
    Item,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
    Message,
    PropertyKey,
)
from exchangesim.store.journal import (
    ChangeEvent,
    FolderChange,
    FolderSyncResult,
    ItemChange,
    SyncResult,
)
from exchangesim.store.mailbox import CalendarProcessing, Mailbox
from exchangesim.store.meetings import (
    cancel_meeting,
    forward_meeting_request,
    remove_from_calendar,
    respond,
    send_meeting,
    update_meeting,
)
from exchangesim.store.outbox import send_item
from exchangesim.store.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDateRange,
    NoEndRange,
    NumberedRange,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from exchangesim.store.responding import RespondResult
from exchangesim.store.store import Store
from exchangesim.store.timezones import TimeZoneDefinition, timezone_definition
from exchangesim.store.transport import send_message

__all__ = [
    "AbsoluteMonthlyPattern",
    "AbsoluteYearlyPattern",
    "Address",
    "Attendee",
    "Body",
    "CalendarItem",
    "CalendarPermission",
    "CalendarProcessing",
    "ChangeEvent",
    "ChangeKeyMismatch",
    "DailyPattern",
    "DistinguishedFolder",
    "EndDateRange",
    "ExpiredWatermark",
    "Folder",
    "FolderChange",
    "FolderExists",
    "FolderNotFound",
    "FolderSyncResult",
    "InvalidId",
    "InvalidOperation",
    "InvalidProperty",
    "InvalidRecurrence",
    "InvalidSyncState",
    "Item",
    "ItemChange",
    "ItemNotFound",
    "Mailbox",
    "MeetingCancellation",
    "MeetingMessage",
    "MeetingRequest",
    "MeetingResponse",
    "Message",
    "NoEndRange",
    "NoSuchMailbox",
    "NumberedRange",
    "OccurrenceDeleted",
    "OccurrenceInfo",
    "OccurrenceOutOfRange",
    "PropertyKey",
    "Recurrence",
    "RelativeMonthlyPattern",
    "RelativeYearlyPattern",
    "RespondResult",
    "Store",
    "StoreError",
    "SyncResult",
    "TimeZoneDefinition",
    "UnknownTimeZone",
    "WeeklyPattern",
    "cancel_meeting",
    "first_occurrence",
    "forward_meeting_request",
    "id_kind",
    "last_occurrence",
    "modified_occurrences",
    "occurrence_id",
    "remove_from_calendar",
    "respond",
    "send_item",
    "send_meeting",
    "send_message",
    "split_occurrence_id",
    "timezone_definition",
    "update_meeting",
]
