"""What the item-writing operations share: the request's mailbox, targets and error texts.

CreateItem (`ops_create.py`) and UpdateItem (`ops_update.py`) both resolve item and folder
references in the request's mailbox, read ``MessageDisposition``, answer per-item errors with an
empty ``m:Items`` and use Exchange's texts for the store's error codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, cast

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.fields import item_kind
from exchangesim.ews.parse import FolderRef, ItemRef, Reader
from exchangesim.ews.xml import Element, msub, tsub
from exchangesim.store.ids import id_kind, occurrence_id, split_occurrence_id

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store.errors import StoreError
    from exchangesim.store.folders import Folder
    from exchangesim.store.items import Item

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


__all__ = [
    "CONFLICT_TEXT",
    "TEXTS",
    "Disposition",
    "append_item_id",
    "disposition_of",
    "element_name",
    "error",
    "mailbox_of",
    "reader",
    "store_error",
    "target_folder",
    "target_id",
]
