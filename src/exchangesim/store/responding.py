"""The attendee's own actions on a meeting: respond to it, remove a cancelled one.

Responding (EWS AcceptItem/TentativelyAcceptItem/DeclineItem): the calendar item becomes accepted
(busy as the organizer intended) or tentative; a decline moves it to Deleted Items (one occurrence:
deletes that occurrence); the request moves to Deleted Items; the response goes to the organizer,
whose Calendar Attendant (`attendant.receive`) records it on the attendee's entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

# `attendant` imports this module too (see there): imported as a module, so either may be
# imported first.
from exchangesim.store import attendant, calendar, invitations, transport
from exchangesim.store.errors import InvalidOperation
from exchangesim.store.ids import id_kind
from exchangesim.store.invitations import copy_calendar_fields
from exchangesim.store.items import (
    RESPONSE_CLASSES,
    Body,
    CalendarItem,
    MeetingCancellation,
    MeetingMessage,
    MeetingRequest,
    MeetingResponse,
)

if TYPE_CHECKING:
    from datetime import datetime

    from exchangesim.store.store import Store
    from exchangesim.store.transaction import Located, Transaction

ResponseKind = Literal["Accept", "Tentative", "Decline"]
Disposition = Literal["SendAndSaveCopy", "SendOnly", "SaveOnly", "NoResponse"]
"""Where the response goes. ``NoResponse`` (Graph's ``sendResponse: false``, Outlook's "Don't
send a response") updates the calendar only: nothing is sent and no draft is kept."""

SUBJECT_PREFIX: dict[str, str] = {
    "Accept": "Accepted: ",
    "Tentative": "Tentative: ",
    "Decline": "Declined: ",
}
CANCELED_PREFIX = "Canceled: "
_OPERATION = {"Accept": "AcceptItem", "Tentative": "Tentative", "Decline": "DeclineItem"}


@dataclass(frozen=True)
class RespondResult:
    """Ids after a response: the attendee's calendar item (None after a decline) and the
    response's draft (``SaveOnly``) or Sent Items copy (``SendAndSaveCopy``)."""

    calendar_item_id: str | None
    response_id: str | None


def respond_in(
    tx: Transaction,
    source: Located,
    response: ResponseKind,
    *,
    body: Body | None = None,
    disposition: Disposition = "SendAndSaveCopy",
    index: int | None = None,
    proposed: tuple[datetime | None, datetime | None] = (None, None),
) -> RespondResult:
    """Respond to a meeting request, or to a calendar item (``index``: one occurrence of it)."""
    mailbox, item = source.mailbox, source.item
    me = tx.owner(mailbox)
    operation = _OPERATION[response]
    if not isinstance(item, MeetingRequest | CalendarItem) or (
        isinstance(item, CalendarItem) and not item.is_meeting
    ):
        raise InvalidOperation("not a meeting", code=f"ErrorInvalidItemForOperation{operation}")
    if item.is_organizer or (item.organizer is not None and item.organizer.key == me.key):
        raise InvalidOperation(
            "organizers do not respond", code=f"ErrorCalendarIsOrganizerFor{response}"
        )
    cancelled = item.is_cancelled
    if isinstance(item, CalendarItem) and index is not None:
        cancelled = calendar.occurrence(item, index).is_cancelled
    if cancelled:
        raise InvalidOperation(
            "the meeting was cancelled", code=f"ErrorCalendarIsCancelledFor{response}"
        )
    existed = isinstance(item, CalendarItem) or tx.find_by_uid(mailbox, item.uid) is not None
    if isinstance(item, MeetingRequest):
        # A processed request is on the calendar already (maybe changed since, e.g. by the
        # booking attendant): respond to that item instead of applying the request again.
        found = invitations.target_for(tx, mailbox, item) if item.has_been_processed else None
        if found is None:
            applied = invitations.apply_request(tx, mailbox, item)
            if applied is None:
                raise InvalidOperation(
                    "the occurrence is not in the series", code="ErrorItemNotFound"
                )
            where, target = applied
        else:
            where, target, index = found
        master = where.item
        assert isinstance(master, CalendarItem)
        if target is not master and target.original_start is not None:
            index = calendar.index_of(master, target.original_start)
        elif index is not None:
            target = calendar.make_exception(master, index, tx.change_key())
    else:
        where, master = source, item
        target = (
            master if index is None else calendar.make_exception(master, index, tx.change_key())
        )
    template: MeetingMessage | CalendarItem = item
    target.appointment_reply_time = tx.now
    for each in [target, *(master.exceptions if target is master else [])]:
        each.my_response_type = response
        if response == "Accept":
            each.legacy_free_busy_status = each.intended_free_busy_status or "Busy"
        elif response == "Tentative":
            each.legacy_free_busy_status = "Tentative"
    calendar_id: str | None = target.id
    if response == "Decline":
        calendar_id = None
        if target is master and not existed:  # made only to be declined: leave no trace
            tx.remove(where.mailbox, where.folder, master)
        elif target is master:
            tx.trash(where)
        else:
            assert index is not None
            calendar.delete_occurrence(master, index)
            tx.touch(where.mailbox, where.folder, master)
    else:
        tx.touch(where.mailbox, where.folder, master)
    if isinstance(item, MeetingRequest):
        tx.trash(source)
    if disposition == "NoResponse":
        return RespondResult(calendar_id, None)
    message = _response_message(template, target, response, body, proposed)
    transport.stamp_outgoing(tx, mailbox, message)
    response_id = None
    if disposition == "SaveOnly":
        message.is_draft = True
        response_id = tx.insert(mailbox, tx.folder(mailbox, "drafts"), message).id
    else:
        for organizer in tx.recipients([a.email for a in message.to_recipients]):
            attendant.receive(tx, organizer, message)
        if disposition == "SendAndSaveCopy":
            response_id = transport.keep_sent_copy(tx, mailbox, message).id
    return RespondResult(calendar_id, response_id)


def _response_message(
    template: MeetingMessage | CalendarItem,
    target: CalendarItem,
    response: ResponseKind,
    body: Body | None,
    proposed: tuple[datetime | None, datetime | None],
) -> MeetingResponse:
    message = MeetingResponse(item_class=RESPONSE_CLASSES[response])
    copy_calendar_fields(target, message)
    # The response names the version it answers ([MS-OXOCAL] 2.2.1.1).
    message.appointment_sequence_number = template.appointment_sequence_number
    if target.calendar_item_type in ("Exception", "Occurrence"):
        message.recurrence = None
    message.subject = SUBJECT_PREFIX[response] + _original_subject(template)
    message.conversation_topic = _original_subject(template)
    message.body = body or Body()
    message.response_type = response
    message.is_organizer = False
    message.to_recipients = () if target.organizer is None else (target.organizer,)
    message.proposed_start, message.proposed_end = proposed
    message.is_response_requested = False
    return message


def _original_subject(item: MeetingMessage | CalendarItem) -> str:
    return (
        item.conversation_topic
        if isinstance(item, MeetingMessage) and item.conversation_topic
        else item.subject
    )


def respond(
    store: Store,
    item_id: str,
    response: ResponseKind,
    *,
    body: Body | None = None,
    disposition: Disposition = "SendAndSaveCopy",
    proposed_start: datetime | None = None,
    proposed_end: datetime | None = None,
) -> RespondResult:
    """Accept, tentatively accept or decline (EWS AcceptItem/TentativelyAcceptItem/DeclineItem).

    ``item_id`` is a meeting request, the attendee's calendar item, or an occurrence id (respond
    to that occurrence only). ``SaveOnly`` leaves the response in Drafts (send it with
    `outbox.send_item`); the calendar is updated in every case.
    """
    with store.transaction() as tx:
        index = None
        if id_kind(item_id) == "occurrence":
            source, index = tx.locate_calendar(item_id)
        else:
            source = tx.locate(item_id)
        return respond_in(
            tx,
            source,
            response,
            body=body,
            disposition=disposition,
            index=index,
            proposed=(proposed_start, proposed_end),
        )


def remove_from_calendar(store: Store, cancellation_id: str) -> None:
    """EWS RemoveItem: take a cancelled meeting (or occurrence) off the calendar.

    The calendar item (or the occurrence) is deleted and the cancellation moves to Deleted Items.
    """
    with store.transaction() as tx:
        source = tx.locate(cancellation_id)
        message = source.item
        if not isinstance(message, MeetingCancellation):
            raise InvalidOperation(
                "not a cancellation", code="ErrorInvalidItemForOperationRemoveItem"
            )
        found = invitations.target_for(tx, source.mailbox, message)
        if found is not None:
            where, _, index = found
            master = where.item
            assert isinstance(master, CalendarItem)
            if index is None:
                tx.trash(where)
            else:
                calendar.delete_occurrence(master, index)
                tx.touch(where.mailbox, where.folder, master)
        tx.trash(source)


__all__ = [
    "SUBJECT_PREFIX",
    "Disposition",
    "RespondResult",
    "ResponseKind",
    "remove_from_calendar",
    "respond",
    "respond_in",
]
