"""GetAttachment, DeleteAttachment and CreateAttachment, over a store that has no attachments.

The store keeps no attachments (`store.items` has no such field), so this module does not fake
them: it answers as Exchange answers for attachments that do not exist.

- An attachment id is base64 of the owning item's id plus the attachment's part (the ids in
  `GetAttachment-*.request.xml` start with the item id's `AAMk` prefix). An id that is not base64
  or does not start like an item id is `ErrorInvalidIdMalformed` ("Id is malformed.",
  `ConvertId-ErrorInvalidIdMalformed`); a well-formed one names nothing here and is
  `ErrorItemNotFound` ("The specified object was not found in the store."), the answer Exchange
  gave for a missing attachment in exchangelib issue 539.
- GetAttachment and DeleteAttachment answer one message per id, in order; GetAttachment's error
  messages carry the empty `m:Attachments` their message type requires (MS-OXWSATT).
- CreateAttachment: the parent item is checked as Exchange checks it (malformed,
  `ErrorItemNotFound` for a missing item or another mailbox's item); when the parent is fine the
  request is refused with the `ErrorInvalidOperation` fault the endpoint uses for operations the
  simulator lacks, because storing an attachment is exactly what it cannot do.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, EwsFault, error_from
from exchangesim.ews.ops_items import locate
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import M_NS, T_NS, Element, child, children, m, msub

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

#: How every Exchange mailbox item id (and so every attachment id) starts once decoded: the
#: bytes behind the `AAMk` prefix of EWS ids.
_ITEM_ID_HEADER: Final = b"\x00\x03\x24"
_NO_ATTACHMENTS: Final = (
    "exchangesim does not implement attachments: its store keeps none, so CreateAttachment "
    "cannot be served."
)


def check_attachment_id(value: str) -> EwsError:
    """The error for an attachment id: malformed, or well-formed and not found (always)."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return EwsError("ErrorInvalidIdMalformed")
    if not raw.startswith(_ITEM_ID_HEADER):
        return EwsError("ErrorInvalidIdMalformed")
    return EwsError("ErrorItemNotFound")


def _attachment_ids(request: Element) -> list[Element]:
    holder = child(request, M_NS, "AttachmentIds")
    return children(holder, T_NS, "AttachmentId") if holder is not None else []


@operation("GetAttachment")
async def get_attachment(ctx: EwsContext, request: Element) -> Element:  # noqa: ARG001
    """GetAttachment: no attachment exists, so each id is malformed or not found."""
    response = m("GetAttachmentResponse")
    messages = msub(response, "ResponseMessages")
    for el in _attachment_ids(request):
        msg = error_from(messages, "GetAttachment", check_attachment_id(el.get("Id", "")))
        msub(msg, "Attachments")
    return response


@operation("DeleteAttachment")
async def delete_attachment(ctx: EwsContext, request: Element) -> Element:  # noqa: ARG001
    """DeleteAttachment: no attachment exists, so each id is malformed or not found."""
    response = m("DeleteAttachmentResponse")
    messages = msub(response, "ResponseMessages")
    for el in _attachment_ids(request):
        error_from(messages, "DeleteAttachment", check_attachment_id(el.get("Id", "")))
    return response


def _check_parent(ctx: EwsContext, parent: Element | None) -> None:
    """Raise the `EwsError` Exchange gives for a CreateAttachment parent it cannot use."""
    if parent is None:
        raise EwsError("ErrorInvalidIdMalformed")
    locate(ctx, parent)  # reads `Id`, as for an ItemId; another mailbox's item is not found


@operation("CreateAttachment")
async def create_attachment(ctx: EwsContext, request: Element) -> Element:
    """CreateAttachment: the parent's errors as Exchange gives them, else not implemented."""
    parent = child(request, M_NS, "ParentItemId")
    holder = child(request, M_NS, "Attachments")
    attachments = [el for el in holder if isinstance(el.tag, str)] if holder is not None else []
    try:
        _check_parent(ctx, parent)
    except EwsError as err:
        response = m("CreateAttachmentResponse")
        messages = msub(response, "ResponseMessages")
        for _ in range(max(len(attachments), 1)):
            msub(error_from(messages, "CreateAttachment", err), "Attachments")
        return response
    raise EwsFault("ErrorInvalidOperation", _NO_ATTACHMENTS)


__all__ = ["check_attachment_id", "create_attachment", "delete_attachment", "get_attachment"]
