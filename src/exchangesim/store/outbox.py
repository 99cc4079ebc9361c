"""Sending saved drafts (EWS SendItem): messages and draft meeting responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchangesim.store import transport
from exchangesim.store.attendant import receive
from exchangesim.store.errors import InvalidOperation
from exchangesim.store.items import MeetingResponse, Message

if TYPE_CHECKING:
    from exchangesim.store.store import Store


def send_item(store: Store, item_id: str, *, save_copy: bool = True) -> None:
    """Send a draft; it then moves to Sent Items (``save_copy``) or is deleted.

    A draft meeting response (left by ``respond(..., disposition="SaveOnly")``) reaches the
    organizer's Calendar Attendant like a directly sent one.
    """
    with store.transaction() as tx:
        found = tx.locate(item_id)
        draft = found.item
        if not isinstance(draft, Message) or not draft.is_draft:
            raise InvalidOperation(
                "only drafts can be sent", code="ErrorInvalidItemForOperationSendItem"
            )
        addresses = transport.recipient_addresses(draft)
        if not addresses:
            raise InvalidOperation("the message has no recipients", code="ErrorInvalidRecipients")
        transport.stamp_outgoing(tx, found.mailbox, draft)
        for mailbox in tx.recipients(addresses):
            if isinstance(draft, MeetingResponse):
                receive(tx, mailbox, draft)
            else:
                transport.deliver(tx, mailbox, draft)
        if save_copy:
            draft.is_read = True
            tx.move(found.mailbox, found.folder, draft, tx.folder(found.mailbox, "sentitems"))
        else:
            tx.remove(found.mailbox, found.folder, draft)
