"""Meeting messages the organizer's side sends: requests, updates and cancellations.

`request` and `cancellation` build a message about a meeting, a series or one of its
occurrences; `send` delivers it to attendees (and keeps the organizer's Sent Items copy).

After a series update, Exchange does not leave the series' exceptions to the attendees' guesswork:
[MS-OXOCAL] 3.1.4.7.3.5 ("Updating a Recurring Series") has the organizer's side follow the
series' Meeting Update, when the recurrence pattern did not change, with a Meeting Update for
each modified exception that has not started yet, and a Meeting Cancellation for each deleted
occurrence that has not started yet (`follow_series_update`). Exchange is that client for EWS
callers, so an EWS ``UpdateItem`` of a series with ``SendToAll…`` sends them. A change of the
pattern (times or recurrence) drops the exceptions instead (`calendar.apply_to_series`); the
cancellations the same section suggests for that case are a SHOULD that Outlook does not follow
("Any exceptions associated with this recurring appointment will be lost. If any of the
exceptions are meetings, the attendees will not be notified."), so none are sent.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, TypeVar

from exchangesim.store import calendar, transport
from exchangesim.store.attendant import CANCELED_PREFIX, receive
from exchangesim.store.invitations import copy_calendar_fields
from exchangesim.store.items import (
    ASF_CANCELED,
    ASF_MEETING,
    ASF_RECEIVED,
    Attendee,
    Body,
    CalendarItem,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingRequestType,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exchangesim.store.mailbox import MailboxState
    from exchangesim.store.transaction import Transaction

M = TypeVar("M", bound=MeetingMessage)


def _outgoing(source: CalendarItem, cls: type[M], sequence: int) -> M:
    """A meeting message about ``source`` (a meeting, or one exception/occurrence of it)."""
    message = cls()
    copy_calendar_fields(source, message)
    message.subject = source.subject
    message.body = copy.deepcopy(source.body)
    message.importance = source.importance if cls is not MeetingCancellation else "High"
    message.sensitivity = source.sensitivity
    message.is_response_requested = source.is_response_requested
    message.appointment_sequence_number = sequence
    message.author = message.sender = source.organizer
    message.to_recipients = tuple(a.mailbox for a in source.required_attendees)
    message.cc_recipients = tuple(a.mailbox for a in source.optional_attendees)
    message.bcc_recipients = tuple(a.mailbox for a in source.resources)
    message.conversation_topic = source.subject
    message.conversation_id = transport.conversation_id(source.uid)
    message.is_organizer = False
    message.is_read = False
    message.response_type = message.my_response_type = "NoResponseReceived"
    message.intended_free_busy_status = source.legacy_free_busy_status
    message.legacy_free_busy_status = "Tentative"
    message.meeting_request_was_sent = True
    message.appointment_state = ASF_MEETING | ASF_RECEIVED
    if source.calendar_item_type in ("Occurrence", "Exception"):
        message.recurrence = None
        message.deleted_occurrences = []
    return message


def send(
    tx: Transaction,
    organizer: MailboxState,
    master: CalendarItem,
    message: MeetingMessage,
    attendees: Sequence[Attendee],
    *,
    save_copy: bool,
    delegate: MailboxState | None = None,
) -> None:
    """Deliver a meeting message to some attendees' mailboxes; maybe keep it in Sent Items.

    ``delegate`` sends on the organizer's behalf: the message's ``Sender`` (PidTagSender*) is the
    delegate while ``From`` (PidTagSentRepresenting*) stays the organizer ([MS-OXOMSG] 2.2.1.51
    to 2.2.1.58; EWS maps ``From`` and ``Sender`` to those properties), and the copy is kept in
    the delegate's Sent Items (Exchange Online's default ``MessageCopyForSendOnBehalfEnabled
    $false`` keeps none in the organizer's).
    """
    if delegate is not None:
        message.sender = tx.owner(delegate)
    transport.stamp_outgoing(tx, organizer, message)
    # PidLidOwnerCriticalChange: when the organizer sent it; attendees' items take it from the
    # request, which is how a later request tells an older one apart ([MS-OXOCAL] 3.1.5.2).
    message.owner_critical_change = tx.now
    me = organizer.address.casefold()
    for mailbox in tx.recipients([a.mailbox.email for a in attendees]):
        if mailbox.address.casefold() != me:
            receive(tx, mailbox, message)
    if save_copy:
        sent = copy.deepcopy(message)
        sent.is_organizer = True
        sent.response_type = sent.my_response_type = "Organizer"
        sent.associated_calendar_item_id = master.id
        transport.keep_sent_copy(tx, delegate or organizer, sent)


def request(source: CalendarItem, kind: MeetingRequestType, sequence: int) -> MeetingRequest:
    """A request (new, or an update of ``kind``) about ``source``."""
    message = _outgoing(source, MeetingRequest, sequence)
    message.meeting_request_type = kind
    return message


def cancellation(source: CalendarItem, sequence: int, body: Body | None) -> MeetingCancellation:
    """A cancellation of ``source`` (a meeting, or one occurrence of a series)."""
    message = _outgoing(source, MeetingCancellation, sequence)
    message.subject = CANCELED_PREFIX + source.subject
    message.body = body or Body()
    message.is_cancelled = True
    message.appointment_state |= ASF_CANCELED
    message.intended_free_busy_status = message.legacy_free_busy_status = "Free"
    message.is_response_requested = False
    return message


def next_sequence(master: CalendarItem, target: CalendarItem) -> int:
    """The sequence number of the next update the organizer sends about ``target``."""
    sequence = 1 + max(
        master.appointment_last_sequence,
        master.appointment_sequence_number,
        target.appointment_sequence_number,
    )
    master.appointment_last_sequence = sequence
    return sequence


def follow_series_update(
    tx: Transaction,
    organizer: MailboxState,
    master: CalendarItem,
    reached: Sequence[Attendee],
    *,
    kind: MeetingRequestType,
    sequence: int,
    save_copy: bool,
) -> None:
    """Send, after a series update that reached ``reached``, its exceptions' own messages.

    [MS-OXOCAL] 3.1.4.7.3.5: a Meeting Update for each modified exception that has not started
    (to the attendees of that exception; the others get a cancellation of it, the section's
    SHOULD), then a Meeting Cancellation for each deleted occurrence that has not started. Past
    ones are left alone. ``master`` already holds the update (its exceptions carry the series'
    changed properties where they had the series' old value).
    """
    if master.recurrence is None or not reached:
        return
    keys = {a.mailbox.key for a in reached}
    for exception in sorted(master.exceptions, key=lambda e: e.original_start or tx.now):
        if exception.start is None or exception.start <= tx.now:
            continue
        invited = {a.mailbox.key for a in exception.attendees()}
        left_out = [a for a in reached if a.mailbox.key not in invited]
        if left_out:
            message = cancellation(exception, sequence, None)
            send(tx, organizer, master, message, left_out, save_copy=save_copy)
        kept = [a for a in exception.attendees() if a.mailbox.key in keys]
        if kept:
            update = request(exception, kind, sequence)
            send(tx, organizer, master, update, kept, save_copy=save_copy)
    for original_start in sorted(master.deleted_occurrences):
        if original_start <= tx.now:
            continue
        deleted = calendar.deleted_view(master, original_start)
        message = cancellation(deleted, sequence, None)
        send(tx, organizer, master, message, reached, save_copy=save_copy)
