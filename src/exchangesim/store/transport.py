"""Mail delivery between the store's mailboxes (the simulated transport).

Sending stamps the outgoing copy (sender, Internet message id, sent time, conversation), delivers
one unread copy to the inbox of every recipient mailbox (groups expanded; Bcc recipients are not
shown to others) and, when asked, keeps a read copy in the sender's Sent Items. Addresses outside
the store are dropped silently, as mail leaving the organization would be.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from typing import TYPE_CHECKING

from exchangesim.store.errors import InvalidOperation
from exchangesim.store.items import Message

if TYPE_CHECKING:
    from exchangesim.store.mailbox import MailboxState
    from exchangesim.store.store import Store
    from exchangesim.store.transaction import T, Transaction


def conversation_id(topic_key: str) -> str:
    """A stable conversation id for a thread key (a meeting UID or a first message id)."""
    digest = hashlib.sha256(topic_key.encode()).digest()[:16]
    return base64.b64encode(b"\x00\x04\x24" + digest).decode("ascii")


def stamp_outgoing(tx: Transaction, sender: MailboxState, message: Message) -> None:
    """Fill what the transport fills on a message being sent."""
    me = tx.owner(sender)
    message.sender = message.sender or me
    message.author = message.author or me
    message.is_draft = False
    message.date_time_sent = tx.now
    if not message.internet_message_id:
        domain = sender.address.rpartition("@")[2] or "localhost"
        message.internet_message_id = f"<{secrets.token_hex(16)}@{domain}>"
    if message.conversation_topic is None:
        message.conversation_topic = message.subject
    if message.conversation_id is None:
        message.conversation_id = conversation_id(message.internet_message_id)


def deliver(tx: Transaction, recipient: MailboxState, message: T, *, folder: str = "inbox") -> T:
    """Put an unread copy of ``message`` in a mailbox folder, as received mail (NewMail event)."""
    delivered = copy.deepcopy(message)
    delivered.id = ""
    delivered.is_read = False
    delivered.is_draft = False
    delivered.date_time_received = tx.now
    delivered.date_time_created = tx.now
    delivered.last_modified_name = None
    if isinstance(delivered, Message):
        delivered.received_by = delivered.received_representing = tx.owner(recipient)
        delivered.bcc_recipients = ()
    return tx.insert(recipient, tx.folder(recipient, folder), delivered, new_mail=True)


def recipient_addresses(message: Message) -> list[str]:
    """Everyone the message is addressed to (To, Cc, Bcc)."""
    return [a.email for a in message.to_recipients + message.cc_recipients + message.bcc_recipients]


def keep_sent_copy(tx: Transaction, sender: MailboxState, message: T) -> T:
    """Save a read copy of a sent message in the sender's Sent Items."""
    sent = copy.deepcopy(message)
    sent.id = ""
    sent.is_read = True
    sent.date_time_created = sent.date_time_received = None
    return tx.insert(sender, tx.folder(sender, "sentitems"), sent)


def send_message(store: Store, sender: str, message: Message, *, save_copy: bool = True) -> Message:
    """Send a new message (EWS CreateItem ``SendOnly``/``SendAndSaveCopy``); returns the sent copy.

    The returned copy has the id of the Sent Items copy when ``save_copy``, else no id.
    """
    with store.transaction() as tx:
        owner = tx.mailbox(sender)
        outgoing = copy.deepcopy(message)
        if not recipient_addresses(outgoing):
            raise InvalidOperation("the message has no recipients", code="ErrorInvalidRecipients")
        stamp_outgoing(tx, owner, outgoing)
        for mailbox in tx.recipients(recipient_addresses(outgoing)):
            deliver(tx, mailbox, outgoing)
        if save_copy:
            outgoing = keep_sent_copy(tx, owner, outgoing)
        else:
            outgoing.id = ""
        return copy.deepcopy(outgoing)
