"""The new message of a forward or reply: subject, recipients, threading and body.

`reply_message` builds the message a ForwardItem (of anything but a meeting), ReplyToItem or
ReplyAllToItem sends (MS-OXWSCORE 3.1.4.2: the smart response items); `combined_body` puts the
request's ``NewBodyContent`` above the original body. CreateItem (`ops_create.py`) sends it.
"""

from __future__ import annotations

import copy
import html
import re
from typing import TYPE_CHECKING, Final

from exchangesim.ews.parse import body
from exchangesim.ews.xml import T_NS, Element, child
from exchangesim.store.items import Body, CalendarItem, Message

if TYPE_CHECKING:
    from exchangesim.store.items import Address, Item

_FORWARD_PREFIX: Final = "FW: "
_REPLY_PREFIX: Final = "RE: "


def reply_message(
    original: Item,
    name: str,
    el: Element,
    text: Body,
    people: dict[str, tuple[Address, ...]],
    *,
    mailbox: str,
) -> Message:
    """The new message of a ForwardItem (not a meeting), ReplyToItem or ReplyAllToItem sent
    from `mailbox`."""
    subject_el = child(el, T_NS, "Subject")
    topic = original.conversation_topic or original.subject
    prefix = _FORWARD_PREFIX if name == "ForwardItem" else _REPLY_PREFIX
    message = Message(
        subject=(subject_el.text or "") if subject_el is not None else prefix + topic,
        body=text,
        to_recipients=people["ToRecipients"],
        cc_recipients=people["CcRecipients"],
        bcc_recipients=people["BccRecipients"],
        importance=original.importance,
    )
    if name == "ForwardItem":
        return message
    me = mailbox.casefold()
    author = None
    if isinstance(original, Message):
        author = (original.reply_to[:1] or (original.author or original.sender,))[0]
        message.in_reply_to = original.internet_message_id
        message.references = " ".join(
            r for r in (original.references, original.internet_message_id) if r
        )
    elif isinstance(original, CalendarItem):
        author = original.organizer
    if author is not None and not people["ToRecipients"]:
        message.to_recipients = (author,)
    if name == "ReplyAllToItem" and isinstance(original, Message):
        seen = {a.key for a in message.to_recipients} | {me}
        for extra in original.to_recipients:
            if extra.key not in seen:
                message.to_recipients += (extra,)
                seen.add(extra.key)
        if not people["CcRecipients"]:
            message.cc_recipients = tuple(a for a in original.cc_recipients if a.key not in seen)
    message.conversation_topic = topic
    message.conversation_id = original.conversation_id
    return message


_TAG_RE: Final = re.compile(r"<[^>]+>")


def combined_body(new: Element | None, original: Body) -> Body:
    """``NewBodyContent`` above the original body, in the original's body type."""
    if new is None:
        return copy.deepcopy(original)
    added = body(new)
    if added.type == original.type:
        content = added.content
    elif original.type == "HTML":
        content = html.escape(added.content).replace("\n", "<br>")
    else:
        content = html.unescape(_TAG_RE.sub("", added.content))
    separator = "<hr>" if original.type == "HTML" else "\r\n\r\n"
    if not original.content:
        separator = ""
    return Body(original.type, content + separator + original.content)


__all__ = ["combined_body", "reply_message"]
