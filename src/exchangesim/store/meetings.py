"""Meetings as Exchange runs them: the organizer's side (send, update, cancel), forwarding, and
the attendee's responses (re-exported from `exchangesim.store.responding`).

Sending ([MS-OXOCAL] 3.1.4.7): the organizer's calendar item becomes a meeting
(``IsMeeting``, ``MeetingRequestWasSent``, ``MyResponseType Organizer``, sequence 0); every
attendee, resources included, gets a ``MeetingRequest`` (``NewMeetingRequest``) that its
Calendar Attendant puts on its calendar as tentative (see `attendant` for ``AutomateProcessing``);
``…AndSaveCopy`` keeps the request in the organizer's Sent Items.

Updating ([MS-OXOCAL] 3.1.4.7.3, 3.1.5.4):

- A change of start, end or recurrence is *significant*: a ``FullUpdate``, and the organizer's
  tallied responses are cleared (3.1.4.7.3.2). Anything else (body, subject, location …) is an
  ``InformationalUpdate`` (3.1.4.7.3.1: location is not in the significant list) and attendees
  keep their responses.
- Every update sent gets a new sequence number, body-only ones too (3.1.5.4: "the client
  increments the sequence number" when sending a Meeting Update). The meeting's own
  ``AppointmentSequenceNumber`` takes it only when the update reaches all attendees; otherwise
  only ``appointment_last_sequence`` moves (3.1.5.4, PidLidAppointmentLastSequence).
- ``SendOnlyToAll``/``SendToAllAndSaveCopy`` reach every attendee; ``SendOnlyToChanged``/
  ``SendToChangedAndSaveCopy`` reach added attendees, plus everyone when a property other than
  the attendee lists changed (3.1.4.7.3.4). Added attendees get a ``NewMeetingRequest``, removed
  ones a cancellation. ``SendToNone`` saves only.
- Editing one occurrence makes it an exception; its request carries ``RecurrenceId`` (the
  original start) and no recurrence.
- A series update that keeps the pattern is followed by an update for each exception and a
  cancellation for each deleted occurrence still to come (3.1.4.7.3.5; see `outgoing`).

Cancelling (EWS CancelCalendarItem): attendees get a ``MeetingCancellation`` (an occurrence's with
its ``RecurrenceId``); the organizer's item moves to Deleted Items, or the occurrence is deleted
from the series.

Forwarding ([MS-OXOCAL] 3.1.4.7.5, 3.1.4.10): the new person gets a request whose ``From``
(``author``) stays the organizer and whose ``Sender`` is the forwarder; the organizer gets a
Meeting Forward Notification, and its Calendar Attendant adds the new person as an optional
attendee.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Literal, TypeVar

from exchangesim.store import calendar, outgoing, transport
from exchangesim.store.attendant import receive
from exchangesim.store.errors import InvalidOperation
from exchangesim.store.invitations import copy_calendar_fields
from exchangesim.store.items import (
    ASF_CANCELED,
    ASF_MEETING,
    FORWARD_NOTIFICATION,
    Address,
    Attendee,
    Body,
    CalendarItem,
    MeetingMessage,
    MeetingRequest,
    MeetingRequestType,
)
from exchangesim.store.responding import (
    Disposition,
    RespondResult,
    ResponseKind,
    remove_from_calendar,
    respond,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from exchangesim.store.store import Store

SendInvitations = Literal["SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy"]
SendUpdates = Literal[
    "SendToNone",
    "SendOnlyToAll",
    "SendOnlyToChanged",
    "SendToAllAndSaveCopy",
    "SendToChangedAndSaveCopy",
]
FORWARD_PREFIX = "FW: "
FORWARD_NOTIFICATION_PREFIX = "Meeting Forward Notification: "

_ATTENDEE_FIELDS = frozenset({"required_attendees", "optional_attendees", "resources"})
M = TypeVar("M", bound=MeetingMessage)


def send_meeting(
    store: Store,
    organizer: str,
    item: CalendarItem,
    *,
    send: SendInvitations = "SendToAllAndSaveCopy",
    folder: str = "calendar",
    delegate: str | None = None,
) -> CalendarItem:
    """Save a new calendar item in the organizer's calendar and invite its attendees.

    EWS CreateItem with ``SendMeetingInvitations``; with ``SendToNone`` (or no attendees) this
    only saves. ``delegate`` is the mailbox sending on the organizer's behalf (`outgoing.send`).
    Returns a copy of the organizer's item.
    """
    with store.transaction() as tx:
        owner = tx.mailbox(organizer)
        sender = None if delegate is None else tx.mailbox(delegate)
        draft = copy.deepcopy(item)
        draft.id = ""
        calendar.prepare_new(draft, tx.owner(owner), tx.now)
        stored = tx.insert(owner, tx.folder(owner, folder), draft)
        if send != "SendToNone" and stored.is_meeting:
            stored.meeting_request_was_sent = True
            sequence = stored.appointment_sequence_number
            request = outgoing.request(stored, "NewMeetingRequest", sequence)
            outgoing.send(
                tx,
                owner,
                stored,
                request,
                stored.attendees(),
                save_copy=send.endswith("SaveCopy"),
                delegate=sender,
            )
            tx.touch(owner, tx.folder(owner, folder), stored)
        return copy.deepcopy(stored)


def update_meeting(
    store: Store,
    item_id: str,
    changes: Mapping[str, object],
    *,
    send: SendUpdates = "SendToAllAndSaveCopy",
    change_key: str | None = None,
) -> CalendarItem:
    """Change a meeting, its series or one occurrence, and send updates as ``send`` says.

    EWS UpdateItem with ``SendMeetingInvitationsOrCancellations``. ``changes`` maps field names
    to new values. Returns a copy of the changed item (the exception for an occurrence).
    """
    with store.transaction() as tx:
        edit = tx.edit_calendar(item_id, dict(copy.deepcopy(changes)), change_key)
        master, target = edit.master, edit.item
        where = tx.locate(master.id)
        if master.is_organizer and target.attendees() and not target.is_meeting:
            target.is_meeting = master.is_meeting = True
            master.appointment_state |= ASF_MEETING
        if send == "SendToNone" or not master.is_meeting:
            return copy.deepcopy(target)
        if not master.is_organizer:
            raise InvalidOperation(
                "only the organizer sends updates", code="ErrorCalendarIsNotOrganizer"
            )
        save_copy = send.endswith("SaveCopy")
        if not master.meeting_request_was_sent:
            master.meeting_request_was_sent = True
            sequence = target.appointment_sequence_number
            request = outgoing.request(target, "NewMeetingRequest", sequence)
            reached = target.attendees()
            outgoing.send(tx, where.mailbox, master, request, reached, save_copy=save_copy)
            tx.touch(where.mailbox, where.folder, master)
            return copy.deepcopy(target)
        assert edit.before is not None
        old_view = (
            edit.before if edit.index is None else calendar.occurrence(edit.before, edit.index)
        )
        old = {a.mailbox.key for a in old_view.attendees()}
        now = {a.mailbox.key for a in target.attendees()}
        kept = [a for a in target.attendees() if a.mailbox.key in old]
        added = [a for a in target.attendees() if a.mailbox.key not in old]
        removed = [a for a in old_view.attendees() if a.mailbox.key not in now]
        reach_all = send in ("SendOnlyToAll", "SendToAllAndSaveCopy") or bool(
            edit.changed - _ATTENDEE_FIELDS
        )
        sequence = outgoing.next_sequence(master, target)
        if reach_all:
            target.appointment_sequence_number = sequence
        if edit.significant and target.is_response_requested:
            for name in _ATTENDEE_FIELDS:
                setattr(target, name, tuple(Attendee(a.mailbox) for a in getattr(target, name)))
        tx.touch(where.mailbox, where.folder, master)
        kind: MeetingRequestType = "FullUpdate" if edit.significant else "InformationalUpdate"
        if reach_all and kept:
            outgoing.send(
                tx,
                where.mailbox,
                master,
                outgoing.request(target, kind, sequence),
                kept,
                save_copy=save_copy,
            )
        if added:
            request = outgoing.request(target, "NewMeetingRequest", sequence)
            outgoing.send(tx, where.mailbox, master, request, added, save_copy=save_copy)
        if edit.index is None and not edit.significant:
            followers = [*(kept if reach_all else ()), *added]
            outgoing.follow_series_update(
                tx,
                where.mailbox,
                master,
                followers,
                kind=kind,
                sequence=sequence,
                save_copy=save_copy,
            )
        if removed:
            message = outgoing.cancellation(old_view, sequence, None)
            outgoing.send(tx, where.mailbox, master, message, removed, save_copy=save_copy)
        return copy.deepcopy(target)


def cancel_meeting(
    store: Store,
    item_id: str,
    *,
    body: Body | None = None,
    send: bool = True,
    save_copy: bool = True,
) -> None:
    """Cancel a meeting, its series, or one occurrence (an occurrence id), as the organizer.

    EWS CancelCalendarItem, or DeleteItem with ``SendMeetingCancellations``. The organizer's item
    moves to Deleted Items (an occurrence is deleted from its series).
    """
    with store.transaction() as tx:
        where, index = tx.locate_calendar(item_id)
        master = where.item
        assert isinstance(master, CalendarItem)
        if not master.is_organizer:
            raise InvalidOperation("only the organizer cancels", code="ErrorCalendarIsNotOrganizer")
        source = master if index is None else calendar.occurrence(master, index)
        sequence = outgoing.next_sequence(master, source)
        if index is None:
            master.is_cancelled = True
            master.appointment_state |= ASF_CANCELED
            master.appointment_sequence_number = sequence
        else:
            calendar.delete_occurrence(master, index)
        if send and master.is_meeting and master.meeting_request_was_sent:
            message = outgoing.cancellation(source, sequence, body)
            reached = source.attendees()
            outgoing.send(tx, where.mailbox, master, message, reached, save_copy=save_copy)
        if index is None:
            tx.trash(where)
        else:
            tx.touch(where.mailbox, where.folder, master)


def forward_meeting_request(
    store: Store,
    item_id: str,
    to: Sequence[Address],
    *,
    body: Body | None = None,
    save_copy: bool = True,
) -> None:
    """Forward a meeting request (or the attendee's meeting) to new people (EWS ForwardItem)."""
    with store.transaction() as tx:
        source = tx.locate(item_id)
        forwarder = tx.owner(source.mailbox)
        item = source.item
        if isinstance(item, MeetingRequest):
            forwarded = copy.deepcopy(item)
        elif isinstance(item, CalendarItem) and item.is_meeting:
            sequence = item.appointment_sequence_number
            forwarded = outgoing.request(item, "NewMeetingRequest", sequence)
        else:
            raise InvalidOperation("not a meeting", code="ErrorInvalidItemForOperationCreateItem")
        topic = forwarded.conversation_topic or forwarded.subject
        forwarded.id = ""
        forwarded.internet_message_id = None
        forwarded.sender = forwarder
        forwarded.author = forwarded.organizer
        forwarded.to_recipients, forwarded.cc_recipients, forwarded.bcc_recipients = (
            tuple(to),
            (),
            (),
        )
        forwarded.subject = FORWARD_PREFIX + topic
        forwarded.body = body or forwarded.body
        forwarded.meeting_request_type = "NewMeetingRequest"
        forwarded.response_type = forwarded.my_response_type = "NoResponseReceived"
        forwarded.is_out_of_date = forwarded.has_been_processed = False
        forwarded.associated_calendar_item_id = None
        transport.stamp_outgoing(tx, source.mailbox, forwarded)
        for mailbox in tx.recipients([a.email for a in to]):
            receive(tx, mailbox, forwarded)
        if forwarded.organizer is not None:
            note = MeetingMessage(item_class=FORWARD_NOTIFICATION)
            copy_calendar_fields(forwarded, note)
            note.optional_attendees = tuple(Attendee(a) for a in to)
            note.subject = FORWARD_NOTIFICATION_PREFIX + topic
            note.conversation_topic = topic
            note.author = note.sender = forwarder
            note.to_recipients = (forwarded.organizer,)
            transport.stamp_outgoing(tx, source.mailbox, note)
            for organizer in tx.recipients([forwarded.organizer.email]):
                receive(tx, organizer, note)
        if save_copy:
            transport.keep_sent_copy(tx, source.mailbox, forwarded)


__all__ = [
    "Disposition",
    "RespondResult",
    "ResponseKind",
    "SendInvitations",
    "SendUpdates",
    "cancel_meeting",
    "forward_meeting_request",
    "remove_from_calendar",
    "respond",
    "send_meeting",
    "update_meeting",
]
