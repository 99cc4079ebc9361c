"""The attendee's copy of a meeting: how a meeting message lands on a calendar.

A request creates the attendee's calendar item (tentative, ``NoResponseReceived``) or brings it
up to date: a ``NewMeetingRequest``/``FullUpdate`` resets the attendee's answer, an
``InformationalUpdate`` keeps it ([MS-OXOCAL] 3.1.4.7.3, 3.1.4.7.3.1). A request about one
occurrence (``RecurrenceId``) updates that occurrence as an exception. Older requests about the
same meeting become out of date (PidLidMeetingType mtgOutOfDate: "a newer meeting request or
meeting update was received after this one").
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import TYPE_CHECKING

from exchangesim.store import calendar
from exchangesim.store.items import (
    APPOINTMENT,
    ASF_MEETING,
    ASF_RECEIVED,
    CalendarFields,
    CalendarItem,
    MeetingMessage,
    MeetingRequest,
)
from exchangesim.store.transaction import Located

if TYPE_CHECKING:
    from exchangesim.store.mailbox import MailboxState
    from exchangesim.store.transaction import Transaction

# Copied from a request onto the attendee's calendar item (plus the calendar fields).
_MESSAGE_FIELDS = ("subject", "body", "importance", "sensitivity", "is_response_requested")
# Kept from the attendee's own item when a request updates it.
_ATTENDEE_OWN = frozenset(
    {
        "uid",
        "recurrence_id",
        "original_start",
        "calendar_item_type",
        "is_organizer",
        "meeting_request_was_sent",
        "my_response_type",
        "appointment_reply_time",
        "legacy_free_busy_status",
        "appointment_state",
        "deleted_occurrences",
    }
)


def copy_calendar_fields(source: CalendarFields, target: CalendarFields) -> None:
    """Copy every calendar field (deeply) from one object to another."""
    for f in fields(CalendarFields):
        setattr(target, f.name, copy.deepcopy(getattr(source, f.name)))


def mark_processed(
    tx: Transaction, mailbox: MailboxState, message: MeetingMessage, target: CalendarItem | None
) -> None:
    message.has_been_processed = True
    message.associated_calendar_item_id = None if target is None else target.id
    tx.touch(mailbox, tx.folder(mailbox, "inbox"), message)


def mark_outdated(tx: Transaction, mailbox: MailboxState, message: MeetingMessage) -> None:
    """Older requests about the same meeting (or occurrence) become out of date."""
    resource = mailbox.kind != "user"
    for old in tx.meeting_messages(mailbox, message.uid):
        item = old.item
        if item is message or not isinstance(item, MeetingRequest):
            continue
        if message.recurrence_id is not None and item.recurrence_id != message.recurrence_id:
            continue
        if item.appointment_sequence_number > message.appointment_sequence_number:
            continue
        if resource and mailbox.processing.remove_old_meeting_messages:
            tx.trash(old)
        elif not item.is_out_of_date:
            item.is_out_of_date = True
            tx.touch(old.mailbox, old.folder, item)


def new_calendar_item(request: MeetingRequest) -> CalendarItem:
    item = CalendarItem(item_class=APPOINTMENT)
    copy_calendar_fields(request, item)
    for name in _MESSAGE_FIELDS:
        setattr(item, name, copy.deepcopy(getattr(request, name)))
    item.calendar_item_type = "Single"
    item.is_organizer = item.meeting_request_was_sent = item.is_cancelled = False
    item.is_meeting = True
    item.my_response_type = "NoResponseReceived"
    item.legacy_free_busy_status = "Tentative"
    item.appointment_state = ASF_MEETING | ASF_RECEIVED
    calendar.normalize(item)
    return item


def update_from(target: CalendarItem, request: MeetingRequest, *, series: bool) -> None:
    """Bring the attendee's item (or exception) up to date with a request."""
    timing = (target.start, target.end, target.recurrence)
    for f in fields(CalendarFields):
        if f.name in _ATTENDEE_OWN or (not series and f.name == "recurrence"):
            continue
        setattr(target, f.name, copy.deepcopy(getattr(request, f.name)))
    for name in _MESSAGE_FIELDS:
        setattr(target, name, copy.deepcopy(getattr(request, name)))
    if series:
        # The attendee's own declined occurrences stay deleted, with the organizer's.
        target.deleted_occurrences = sorted(
            set(target.deleted_occurrences) | set(request.deleted_occurrences)
        )
    target.is_cancelled = False
    target.is_meeting = True
    target.appointment_state = ASF_MEETING | ASF_RECEIVED
    if request.meeting_request_type in ("NewMeetingRequest", "FullUpdate"):
        target.my_response_type = "NoResponseReceived"
        target.legacy_free_busy_status = "Tentative"
        target.appointment_reply_time = None
    if series:
        calendar.normalize(target)
        if (target.start, target.end, target.recurrence) != timing:
            # A new time or pattern drops exceptions and deletions, as on the organizer's side.
            target.exceptions = []
            target.deleted_occurrences = list(request.deleted_occurrences)


def apply_request(
    tx: Transaction, mailbox: MailboxState, request: MeetingRequest
) -> tuple[Located, CalendarItem] | None:
    """Create or update the calendar item a request is about: (where, master or exception).

    Returns the current item untouched when the request is older than it; None when there is no
    item and the request names an occurrence the attendee's series does not have.
    """
    existing = tx.find_by_uid(mailbox, request.uid)
    if existing is None:
        item = new_calendar_item(request)
        calendar_folder = tx.folder(mailbox, "calendar")
        tx.insert(mailbox, calendar_folder, item)
        return Located(mailbox, calendar_folder, item), item
    master = existing.item
    assert isinstance(master, CalendarItem)
    rid = request.recurrence_id
    if rid is None or master.recurrence is None:
        if request.appointment_sequence_number >= master.appointment_sequence_number:
            update_from(master, request, series=rid is None)
            tx.touch(existing.mailbox, existing.folder, master)
        return existing, master
    if rid in master.deleted_occurrences:
        master.deleted_occurrences.remove(rid)
    index = calendar.index_of(master, rid)
    if index is None:
        return None
    target = calendar.make_exception(master, index, tx.change_key())
    if request.appointment_sequence_number >= target.appointment_sequence_number:
        update_from(target, request, series=False)
        target.change_key = tx.change_key()
    tx.touch(existing.mailbox, existing.folder, master)
    return existing, target


def target_for(
    tx: Transaction, mailbox: MailboxState, message: MeetingMessage
) -> tuple[Located, CalendarItem, int | None] | None:
    """The calendar item (and occurrence index) a message is about, without changing anything."""
    existing = tx.find_by_uid(mailbox, message.uid)
    if existing is None:
        return None
    master = existing.item
    assert isinstance(master, CalendarItem)
    rid = message.recurrence_id
    if rid is None or master.recurrence is None:
        return existing, master, None
    index = calendar.index_of(master, rid)
    if index is None or rid in master.deleted_occurrences:
        return None
    return existing, calendar.exception_at(master, rid) or master, index
