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
do (`CreateItem-ErrorItemNotFound.response.xml`). What CreateItem shares with UpdateItem (the
request's mailbox, targets, dispositions, error texts) is in `item_writes.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from exchangesim.ews.faults import EwsError
from exchangesim.ews.item_writes import (
    TEXTS,
    Disposition,
    append_item_id,
    disposition_of,
    error,
    mailbox_of,
    reader,
    store_error,
    target_folder,
    target_id,
)
from exchangesim.ews.ops_folders import user_permission
from exchangesim.ews.parse import FolderRef, body, folder_ref, item_ref, recipients
from exchangesim.ews.registry import operation
from exchangesim.ews.replies import combined_body, reply_message
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    local_name,
    m,
    msub,
    response_message,
)
from exchangesim.store import meetings, transport
from exchangesim.store.errors import StoreError
from exchangesim.store.items import (
    CalendarItem,
    Item,
    MeetingRequest,
    Message,
)

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.folders import Folder

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
        text = body(whole) if whole is not None else combined_body(new, original.body)
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
        message = reply_message(original, name, el, text, people, mailbox=self.mailbox)
        return self.deliver(message, disposition)


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
