"""CreateItem: new messages and calendar items, and the response objects that act on items.

What each kind of ``m:Items`` child does (MS-OXWSCORE 3.1.4.2, MS-OXWSMTGS 3.1.4.2):

- ``t:Message``: ``MessageDisposition`` is required. ``SaveOnly`` saves a draft (Drafts, or
  ``SavedItemFolderId``) and answers its id; ``SendOnly`` sends; ``SendAndSaveCopy`` sends and
  keeps a copy in Sent Items (or ``SavedItemFolderId``). Sent mail answers an empty ``m:Items``
  (`CreateItem-Message-RefEmailMessage.response.xml`).
- ``t:CalendarItem``: ``SendMeetingInvitations`` is required. An item with attendees sent with
  ``SendOnlyToAll``/``SendToAllAndSaveCopy`` becomes a meeting (`store.meetings.send_meeting`).
  Answers the new item's id (`CreateItem-Meeting-RefCalendarItem.response.xml`).
- ``t:AcceptItem``/``t:TentativelyAcceptItem``/``t:DeclineItem``: respond to a meeting request or
  to the attendee's calendar item (or one occurrence). Answers the attendee's calendar item (none
  after a decline) and, for ``SaveOnly``, the draft response that SendItem sends later — the
  items the EWS Managed API's ``CalendarActionResults`` reads back from this answer.
- ``t:CancelCalendarItem``: the organizer cancels a meeting or one occurrence; answers the
  organizer's calendar item (`CreateItem-CancelCalendarItem-DeleteAppointmentsCancelMeetings`).
- ``t:RemoveItem``: an attendee takes a cancelled meeting off the calendar; answers nothing.
- ``t:ForwardItem``: a meeting request (or meeting) reaches the new people with the organizer
  kept as ``From`` and the organizer notified; other items are forwarded as mail.
  ``t:ReplyToItem``/``t:ReplyAllToItem``: a reply to the sender (and everyone).

Every item gets its own response message; a failed one carries an empty ``m:Items`` as Exchange's
do (`CreateItem-ErrorItemNotFound.response.xml`).
"""

from __future__ import annotations

import copy
import html
import re
from typing import TYPE_CHECKING, Final, Literal, cast

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import item_kind
from exchangesim.ews.ops_folders import user_permission
from exchangesim.ews.parse import FolderRef, ItemRef, Reader, body, folder_ref, item_ref, recipients
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    local_name,
    m,
    msub,
    response_message,
    tsub,
)
from exchangesim.store import meetings, transport
from exchangesim.store.errors import StoreError
from exchangesim.store.ids import id_kind, occurrence_id, split_occurrence_id
from exchangesim.store.items import (
    Address,
    Body,
    CalendarItem,
    Item,
    MeetingRequest,
    Message,
)

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import Folder

Disposition = Literal["SaveOnly", "SendOnly", "SendAndSaveCopy"]

#: Exchange's text for ErrorIrresolvableConflict (as quoted in exchangelib issue 623 and in
#: Graph's 412 answers, which pass the EWS error through).
CONFLICT_TEXT: Final = (
    "The send or update operation could not be performed because the change key passed in the "
    "request does not match the current change key for the item."
)
TEXTS: Final[dict[str, str]] = {
    "ErrorIrresolvableConflict": CONFLICT_TEXT,
    "ErrorMessageDispositionRequired": "MessageDisposition attribute is required.",
    "ErrorSendMeetingInvitationsRequired": (
        "SendMeetingInvitations attribute is required for Calendar items."
    ),
    "ErrorCalendarIsNotOrganizer": "The user is not the organizer of this meeting.",
    "ErrorSendAsDenied": (
        "The user account which was used to submit this request does not have the right to "
        "send mail on behalf of the specified sending account."
    ),
    "ErrorCalendarMeetingRequestIsOutOfDate": (
        "The meeting request is out of date. The calendar couldn't be updated."
    ),
}
_RESPONSES: Final = {
    "AcceptItem": "Accept",
    "TentativelyAcceptItem": "Tentative",
    "DeclineItem": "Decline",
}
#: Permission levels that may create items in a folder ("Set folder permissions for another
#: user by using EWS": CanCreateItems is true for these, false for Reviewer and below).
_CREATES_ITEMS: Final = frozenset(
    {"Owner", "PublishingEditor", "Editor", "PublishingAuthor", "Author", "NoneditingAuthor",
     "Contributor"}
)  # fmt: skip
_FORWARD_PREFIX: Final = "FW: "
_REPLY_PREFIX: Final = "RE: "


# --- shared with ops_update --------------------------------------------------------------------


def store_error(exc: StoreError) -> EwsError:
    """The per-item error for a store error, with Exchange's text where we know it."""
    err = from_store_error(exc)
    text = TEXTS.get(exc.code)
    return EwsError(exc.code, text) if text else err


def error(messages: Element, name: str, err: EwsError) -> None:
    """An error message of CreateItem/UpdateItem: the error plus the empty ``m:Items``."""
    msub(error_from(messages, name, err), "Items")


def mailbox_of(ctx: EwsContext) -> str:
    """The mailbox the request acts on."""
    if ctx.mailbox is None:
        raise EwsError("ErrorNonExistentMailbox", "The request names no mailbox.")
    return ctx.mailbox


def reader(ctx: EwsContext) -> Reader:
    """A `Reader` for this request: its ``TimeZoneContext`` and the tenant's display names."""

    def display_name(email: str) -> str | None:
        found = ctx.sim.tenant.find_mailbox(email) or ctx.sim.tenant.group(email)
        return None if found is None else found.display_name

    return Reader(context_zone=ctx.time_zone_id, resolve=display_name)


def target_id(ctx: EwsContext, ref: ItemRef) -> str:
    """The store id an item reference names, if the item is in the request's mailbox.

    Ids of other mailboxes answer ``ErrorItemNotFound``, as Exchange does for items the caller
    cannot see.
    """
    if ref.kind == "occurrence":
        assert ref.index is not None
        owned, wanted = ref.id, occurrence_id(ref.id, ref.index)
    else:
        wanted = ref.id
        owned = split_occurrence_id(ref.id)[0] if id_kind(ref.id) == "occurrence" else ref.id
    found = ctx.sim.store.find_item(owned)
    if found is None or found[0].address.casefold() != mailbox_of(ctx).casefold():
        raise EwsError("ErrorItemNotFound")
    if ref.kind == "master":
        return ctx.sim.store.master_of(ref.id).id
    return wanted


def target_folder(ctx: EwsContext, ref: FolderRef) -> Folder:
    """The folder a ``SavedItemFolderId`` names; another mailbox must be open to the caller."""
    store = ctx.sim.store
    if ref.distinguished:
        owner = mailbox_of(ctx) if ref.mailbox is None else ctx.authorize(ref.mailbox)
        return store.folder(owner, ref.ref)
    folder = store.folder(None, ref.ref)
    if folder.mailbox.casefold() != mailbox_of(ctx).casefold():
        ctx.authorize(folder.mailbox)
    return folder


def element_name(item: Item) -> str:
    """The ``t:`` element EWS uses for this item's class."""
    return item_kind(item)


def append_item_id(parent: Element, item: Item) -> None:
    """``<t:CalendarItem><t:ItemId Id ChangeKey/></t:CalendarItem>`` (or the item's kind)."""
    tsub(tsub(parent, element_name(item)), "ItemId", Id=item.id, ChangeKey=item.change_key)


def disposition_of(request: Element, *, required: bool = True) -> Disposition | None:
    """``MessageDisposition``; ``ErrorMessageDispositionRequired`` when missing but needed."""
    value = request.get("MessageDisposition")
    if value is None:
        if required:
            raise EwsError(
                "ErrorMessageDispositionRequired", TEXTS["ErrorMessageDispositionRequired"]
            )
        return None
    return cast("Disposition", value)


# --- CreateItem --------------------------------------------------------------------------------


class Creator:
    """Creates one ``m:Items`` child after another for one CreateItem request."""

    def __init__(self, ctx: EwsContext, request: Element) -> None:
        self.ctx = ctx
        self.store = ctx.sim.store
        self.mailbox = mailbox_of(ctx)
        self.request = request
        self.reader = reader(ctx)
        saved = child(request, M_NS, "SavedItemFolderId")
        self.saved = None if saved is None else folder_ref(saved)

    def create(self, el: Element) -> list[Item]:
        """Act on one item element; the items the answer names."""
        name = local_name(el)
        if name == "Message":
            return self.message(el)
        if name == "CalendarItem":
            return self.calendar_item(el)
        if name in _RESPONSES:
            return self.respond(el, name)
        if name == "CancelCalendarItem":
            return self.cancel(el)
        if name == "RemoveItem":
            meetings.remove_from_calendar(self.store, self.reference(el))
            return []
        if name in ("ForwardItem", "ReplyToItem", "ReplyAllToItem"):
            return self.smart_response(el, name)
        raise EwsError(
            "ErrorInvalidItemForOperationCreateItem", f"exchangesim does not create {name} items."
        )

    def reference(self, el: Element) -> str:
        ref = child(el, T_NS, "ReferenceItemId")
        if ref is None:
            raise EwsError("ErrorItemNotFound", "The response object has no ReferenceItemId.")
        return target_id(self.ctx, item_ref(ref))

    def folder(self, default: str) -> Folder:
        return target_folder(self.ctx, self.saved or FolderRef(default, distinguished=True))

    # --- messages ------------------------------------------------------------------------------

    def message(self, el: Element) -> list[Item]:
        disposition = disposition_of(self.request)
        item = self.reader.new_item(el)
        assert isinstance(item, Message)
        return self.deliver(item, disposition)

    def deliver(self, item: Message, disposition: Disposition | None) -> list[Item]:
        """Save, send, or send and keep a copy of a new message."""
        if disposition == "SaveOnly":
            folder = self.folder("drafts")
            return [self.store.create_item(folder.mailbox, folder.id, item)]
        if disposition == "SendOnly":
            transport.send_message(self.store, self.mailbox, item, save_copy=False)
            return []
        sent = transport.send_message(self.store, self.mailbox, item, save_copy=True)
        if self.saved is not None:
            folder = self.folder("sentitems")
            if folder.distinguished != "sentitems":
                self.store.move_item(sent.id, folder.id)
        return []

    # --- calendar items ------------------------------------------------------------------------

    def calendar_item(self, el: Element) -> list[Item]:
        send = self.request.get("SendMeetingInvitations")
        if send is None:
            raise EwsError(
                "ErrorSendMeetingInvitationsRequired", TEXTS["ErrorSendMeetingInvitationsRequired"]
            )
        item = self.reader.new_item(el)
        assert isinstance(item, CalendarItem)
        folder = self.folder("calendar")
        if not (folder.folder_class or "").startswith("IPF.Appointment"):
            raise EwsError("ErrorCannotCreateCalendarItemInNonCalendarFolder")
        delegate = None
        if folder.mailbox.casefold() != self.mailbox.casefold():
            if user_permission(folder, self.mailbox).level not in _CREATES_ITEMS:
                raise EwsError("ErrorAccessDenied")
            if send != "SendToNone":
                delegate = self.on_behalf_of(folder.mailbox)
        stored = meetings.send_meeting(
            self.store,
            folder.mailbox,
            item,
            send=cast("meetings.SendInvitations", send),
            folder=folder.id,
            delegate=delegate,
        )
        return [stored]

    def on_behalf_of(self, owner: str) -> str:
        """The caller, as a delegate sending from ``owner``'s calendar; refused unless ``owner``
        granted it Send on Behalf (``Set-Mailbox -GrantSendOnBehalfTo``).

        A delegate creates the meeting in the principal's calendar with explicit access
        (CreateItem naming the owner's calendar: "Access a calendar as a delegate by using EWS in
        Exchange", learn.microsoft.com), which needs a permission level that creates items on
        that calendar (checked by the caller); Exchange refuses a sender without the right to
        send on behalf with ``ErrorSendAsDenied``.
        """
        user = self.ctx.sim.tenant.find_mailbox(owner)
        granted = getattr(user, "grant_send_on_behalf_to", ())
        if self.mailbox.casefold() not in {g.casefold() for g in granted}:
            raise EwsError("ErrorSendAsDenied", TEXTS["ErrorSendAsDenied"])
        return self.mailbox

    # --- meeting responses ---------------------------------------------------------------------

    def respond(self, el: Element, name: str) -> list[Item]:
        disposition = disposition_of(self.request)
        assert disposition is not None
        item_id = self.reference(el)
        source = self.store.get_item(item_id)
        if isinstance(source, MeetingRequest) and source.is_out_of_date:
            raise EwsError(
                "ErrorCalendarMeetingRequestIsOutOfDate",
                TEXTS["ErrorCalendarMeetingRequestIsOutOfDate"],
            )
        note = child(el, T_NS, "Body")
        times = [child(el, T_NS, tag) for tag in ("ProposedStart", "ProposedEnd")]
        zone = self.reader.default_zone()
        start, end = (None if t is None else self.reader.time(t, zone) for t in times)
        result = meetings.respond(
            self.store,
            item_id,
            cast("meetings.ResponseKind", _RESPONSES[name]),
            body=None if note is None else body(note),
            disposition=disposition,
            proposed_start=start,
            proposed_end=end,
        )
        answer: list[Item] = []
        if result.calendar_item_id is not None:
            answer.append(self.store.get_item(result.calendar_item_id))
        if disposition == "SaveOnly" and result.response_id is not None:
            answer.append(self.store.get_item(result.response_id))
        return answer

    def cancel(self, el: Element) -> list[Item]:
        disposition = disposition_of(self.request)
        if disposition == "SaveOnly":
            raise EwsError(
                "ErrorInvalidOperation",
                "exchangesim cannot save a meeting cancellation as a draft; send it instead.",
            )
        item_id = self.reference(el)
        target = self.store.get_item(item_id)
        if not isinstance(target, CalendarItem):
            raise EwsError("ErrorInvalidItemForOperationCancelItem")
        note = child(el, T_NS, "NewBodyContent")
        master_id = target.master_id or target.id
        meetings.cancel_meeting(
            self.store,
            item_id,
            body=None if note is None else body(note),
            save_copy=disposition == "SendAndSaveCopy",
        )
        if master_id != item_id:  # one occurrence: the series is still on the calendar
            return [self.store.get_item(master_id)]
        trashed: list[Item] = [
            i
            for i in self.store.items(self.mailbox, "deleteditems")
            if isinstance(i, CalendarItem) and i.uid == target.uid
        ]
        return trashed[-1:]

    # --- forward and reply ---------------------------------------------------------------------

    def smart_response(self, el: Element, name: str) -> list[Item]:
        disposition = disposition_of(self.request)
        item_id = self.reference(el)
        original = self.store.get_item(item_id)
        resolve = self.reader.resolve
        people = {
            tag: recipients(found, resolve) if (found := child(el, T_NS, tag)) is not None else ()
            for tag in ("ToRecipients", "CcRecipients", "BccRecipients")
        }
        whole = child(el, T_NS, "Body")
        new = child(el, T_NS, "NewBodyContent")
        text = body(whole) if whole is not None else combine(new, original.body)
        meeting = isinstance(original, MeetingRequest) or (
            isinstance(original, CalendarItem) and original.is_meeting
        )
        if name == "ForwardItem" and meeting:
            if disposition == "SaveOnly":
                raise EwsError(
                    "ErrorInvalidOperation",
                    "exchangesim cannot save a forwarded meeting request as a draft.",
                )
            everyone = people["ToRecipients"] + people["CcRecipients"] + people["BccRecipients"]
            meetings.forward_meeting_request(
                self.store,
                item_id,
                everyone,
                body=text,
                save_copy=disposition == "SendAndSaveCopy",
            )
            return []
        message = self.reply(original, name, el, text, people)
        return self.deliver(message, disposition)

    def reply(
        self,
        original: Item,
        name: str,
        el: Element,
        text: Body,
        people: dict[str, tuple[Address, ...]],
    ) -> Message:
        """The new message of a ForwardItem (not a meeting), ReplyToItem or ReplyAllToItem."""
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
        me = self.mailbox.casefold()
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
                message.cc_recipients = tuple(
                    a for a in original.cc_recipients if a.key not in seen
                )
        message.conversation_topic = topic
        message.conversation_id = original.conversation_id
        return message


_TAG_RE: Final = re.compile(r"<[^>]+>")


def combine(new: Element | None, original: Body) -> Body:
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


@operation("CreateItem")
async def create_item(ctx: EwsContext, request: Element) -> Element:
    """CreateItem: one response message per ``m:Items`` child, in order."""
    response = m("CreateItemResponse")
    messages = msub(response, "ResponseMessages")
    items = child(request, M_NS, "Items")
    try:
        creator = Creator(ctx, request)
    except EwsError as err:
        for _ in items if items is not None else ():
            error(messages, "CreateItem", err)
        return response
    for el in items if items is not None else ():
        try:
            created = creator.create(el)
        except EwsError as err:
            error(messages, "CreateItem", err)
            continue
        except StoreError as exc:
            error(messages, "CreateItem", store_error(exc))
            continue
        answer = msub(response_message(messages, "CreateItem"), "Items")
        for item in created:
            append_item_id(answer, item)
    return response


__all__ = [
    "CONFLICT_TEXT",
    "Creator",
    "append_item_id",
    "create_item",
    "disposition_of",
    "element_name",
    "error",
    "mailbox_of",
    "reader",
    "store_error",
    "target_folder",
    "target_id",
]
