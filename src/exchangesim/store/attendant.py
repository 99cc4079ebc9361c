"""The receiving side of meetings: the Calendar Attendant and the Resource Booking Attendant.

What a mailbox does with an arriving meeting message depends on its ``AutomateProcessing``
(https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing):

- ``None``: nothing. The message waits in the inbox; no tentative calendar item is made
  (KB 2212449: with ``None`` "the meeting does not appear automatically on your calendar in a
  tentative state"). Responding later creates or updates the calendar item.
- ``AutoUpdate`` (every user): the Calendar Attendant puts requests on the calendar as tentative
  (unless ``AddNewRequestsTentatively`` is false for a new meeting), applies updates, marks older
  requests out of date, marks cancelled meetings cancelled, and on the organizer's side records
  attendees' responses.
- ``AutoAccept``: the Calendar Attendant, then the Resource Booking Attendant, which accepts or
  declines (`exchangesim.store.booking`), strips the calendar item per ``DeleteComments``,
  ``DeleteSubject``, ``AddOrganizerToSubject``, ``RemovePrivateProperty``, and deletes the
  processed messages.

The attendee's own actions (respond, remove a cancelled meeting) are in `responding.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# `responding` imports this module too (a response is delivered to the organizer's attendant,
# and the booking attendant responds for its resource): both import the other as a module, so
# either may be imported first.
from exchangesim.store import booking, calendar, invitations, responding, transport
from exchangesim.store.items import (
    ASF_CANCELED,
    FORWARD_NOTIFICATION,
    Address,
    Attendee,
    Body,
    CalendarItem,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
)
from exchangesim.store.transaction import Located, Transaction

if TYPE_CHECKING:
    from datetime import datetime

    from exchangesim.store.mailbox import MailboxState

CANCELED_PREFIX = "Canceled: "


# --- receiving -------------------------------------------------------------------------------


def receive(tx: Transaction, mailbox: MailboxState, message: MeetingMessage) -> MeetingMessage:
    """Deliver a meeting message to the inbox and let the mailbox's attendants act on it."""
    stored = transport.deliver(tx, mailbox, message)
    if mailbox.processing.automate_processing == "None":
        return stored
    if isinstance(stored, MeetingRequest):
        _on_request(tx, mailbox, stored)
    elif isinstance(stored, MeetingCancellation):
        _on_cancellation(tx, mailbox, stored)
    elif isinstance(stored, MeetingResponse):
        _on_response(tx, mailbox, stored)
    elif stored.item_class == FORWARD_NOTIFICATION:
        _on_forward_notification(tx, mailbox, stored)
    return stored


def _on_request(tx: Transaction, mailbox: MailboxState, request: MeetingRequest) -> None:
    invitations.mark_outdated(tx, mailbox, request)
    processing = mailbox.processing
    known = tx.find_by_uid(mailbox, request.uid) is not None
    if (
        not known
        and not processing.add_new_requests_tentatively
        and (processing.automate_processing == "AutoUpdate")
    ):
        return
    applied = invitations.apply_request(tx, mailbox, request)
    if applied is None:
        return
    where, target = applied
    if request.appointment_sequence_number < target.appointment_sequence_number:
        request.is_out_of_date = True
    invitations.mark_processed(tx, mailbox, request, target)
    if processing.automate_processing == "AutoAccept" and not request.is_out_of_date:
        _book(tx, mailbox, request, where, target)


def _busy(
    tx: Transaction, mailbox: MailboxState, uid: str, lo: datetime, hi: datetime
) -> list[booking.Span]:
    spans: list[booking.Span] = []
    for _, item in tx.calendar_items(mailbox):
        if item.uid == uid or item.start is None or item.end is None:
            continue
        views = calendar.expand(item, lo, hi, 10_000) if item.recurrence else [item]
        for view in views:
            if view.is_cancelled or view.legacy_free_busy_status in ("Free", "WorkingElsewhere"):
                continue
            assert view.start is not None
            assert view.end is not None
            spans.append((view.start, view.end))
    return spans


def _book(
    tx: Transaction,
    mailbox: MailboxState,
    request: MeetingRequest,
    where: Located,
    target: CalendarItem,
) -> None:
    """The Resource Booking Attendant: decide, strip the calendar item, respond."""
    processing = mailbox.processing
    end_of_window = booking.horizon(processing, tx.now)
    master = where.item
    assert isinstance(master, CalendarItem)
    assert target.start is not None
    assert target.end is not None
    recurring = target is master and master.recurrence is not None
    if recurring:
        views = calendar.expand(master, master.start or target.start, end_of_window, 10_000)
        spans = [(v.start, v.end) for v in views if v.start is not None and v.end is not None]
        last = calendar.last_occurrence(master)
        ends_after = last is None or last.end > end_of_window
    else:
        spans = [(target.start, target.end)]
        ends_after = target.start > end_of_window
    lo = min((s for s, _ in spans), default=target.start)
    hi = max((e for _, e in spans), default=target.end)
    decision = booking.decide(
        processing,
        spans,
        recurring=recurring,
        ends_after_window=ends_after,
        busy=_busy(tx, mailbox, request.uid, lo, hi),
    )
    organizer = request.organizer or request.author
    for item in {id(master): master, id(target): target}.values():
        if processing.delete_comments:
            item.body = Body(item.body.type, "")
        if processing.delete_subject:
            item.subject = ""
        if processing.add_organizer_to_subject and organizer is not None:
            name = organizer.name or organizer.email
            item.subject = f"{name} {item.subject}".strip()
        if processing.remove_private_property and item.sensitivity == "Private":
            item.sensitivity = "Normal"
    tx.touch(where.mailbox, where.folder, master)
    inbox_request = Located(mailbox, tx.folder(mailbox, "inbox"), request)
    responding.respond_in(
        tx,
        inbox_request,
        "Accept" if decision.accept else "Decline",
        body=Body("Text", decision.text(processing)),
        disposition="SendOnly",
    )


def _on_cancellation(
    tx: Transaction, mailbox: MailboxState, cancellation: MeetingCancellation
) -> None:
    invitations.mark_outdated(tx, mailbox, cancellation)
    found = invitations.target_for(tx, mailbox, cancellation)
    processing = mailbox.processing
    resource = processing.automate_processing == "AutoAccept"
    target = None
    if found is not None:
        where, _, index = found
        master = where.item
        assert isinstance(master, CalendarItem)
        if resource and processing.remove_canceled_meetings:
            if index is None:
                tx.trash(where)
            else:
                calendar.delete_occurrence(master, index)
                tx.touch(where.mailbox, where.folder, master)
        else:
            target = (
                master if index is None else calendar.make_exception(master, index, tx.change_key())
            )
            target.is_cancelled = True
            target.appointment_state |= ASF_CANCELED
            target.appointment_sequence_number = max(
                target.appointment_sequence_number, cancellation.appointment_sequence_number
            )
            target.legacy_free_busy_status = "Free"
            if not target.subject.startswith(CANCELED_PREFIX):
                target.subject = CANCELED_PREFIX + target.subject
            tx.touch(where.mailbox, where.folder, master)
    invitations.mark_processed(tx, mailbox, cancellation, target)
    if resource:
        tx.trash(Located(mailbox, tx.folder(mailbox, "inbox"), cancellation))


def _record(
    attendees: tuple[Attendee, ...], responder: Address, response: MeetingResponse, now: datetime
) -> tuple[tuple[Attendee, ...], bool]:
    updated, hit = [], False
    for attendee in attendees:
        if attendee.mailbox.key == responder.key:
            hit = True
            updated.append(
                Attendee(
                    attendee.mailbox,
                    response.response_type,
                    response.date_time_sent or now,
                    response.proposed_start,
                    response.proposed_end,
                )
            )
        else:
            updated.append(attendee)
    return tuple(updated), hit


def _on_response(tx: Transaction, mailbox: MailboxState, response: MeetingResponse) -> None:
    found = invitations.target_for(tx, mailbox, response)
    responder = response.author or response.sender
    if found is None or responder is None or not found[1].is_organizer:
        return
    where, target, index = found
    master = where.item
    assert isinstance(master, CalendarItem)
    if index is not None:
        target = calendar.make_exception(master, index, tx.change_key())
    if response.appointment_sequence_number < target.appointment_sequence_number:
        response.is_out_of_date = True
    else:
        hit = False
        for name in ("required_attendees", "optional_attendees", "resources"):
            attendees, matched = _record(getattr(target, name), responder, response, tx.now)
            setattr(target, name, attendees)
            hit = hit or matched
        if not hit:  # someone the meeting was forwarded to: Exchange adds them
            target.optional_attendees += (
                Attendee(responder, response.response_type, response.date_time_sent or tx.now),
            )
        tx.touch(where.mailbox, where.folder, master)
    response.is_organizer = True
    invitations.mark_processed(tx, mailbox, response, target)


def _on_forward_notification(tx: Transaction, mailbox: MailboxState, note: MeetingMessage) -> None:
    found = invitations.target_for(tx, mailbox, note)
    target = None
    if found is not None and found[1].is_organizer:
        where, target, _ = found
        known = {a.mailbox.key for a in target.attendees()}
        added = tuple(a for a in note.optional_attendees if a.mailbox.key not in known)
        if added:
            target.optional_attendees += tuple(Attendee(a.mailbox) for a in added)
            assert isinstance(where.item, CalendarItem)
            tx.touch(where.mailbox, where.folder, where.item)
    invitations.mark_processed(tx, mailbox, note, target)
