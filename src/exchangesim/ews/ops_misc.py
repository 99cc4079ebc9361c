"""ConvertId: translate item and folder ids between the EWS id formats.

exchangelib calls ConvertId as its version probe (an `EwsId` "DUMMY" in mailbox "DUMMY", to
`EntryId`) and reads only the `ServerVersionInfo` header of the answer, which is an
`ErrorInvalidSmtpAddress` message (REFERENCES.md §4; `ConvertId-ErrorInvalidSmtpAddress`).

The store's ids are the `EwsId`s. The other formats are this simulator's own byte layouts, built
like Exchange's (a MAPI-style entry id: 4 flag bytes, the mailbox GUID as provider UID, the
object type, then the store id) so that every format round-trips through ConvertId:

- `EntryId`: base64 of the entry id; `HexEntryId`: the same bytes in upper-case hex;
- `StoreId`: base64 of the entry id plus an object-type byte;
- `OwaId`: base64 of a length byte plus the entry id (the `RgAAAA...` shape of OWA 2010 ids);
- `EwsLegacyId`: base64 of the SMTP address (length-prefixed) plus the store id bytes, like the
  SMTP-address-based ids of Exchange 2007.

Ids are converted without opening the mailbox, as Exchange does; the mailbox must exist.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    local_name,
    m,
    msub,
    qname,
    response_message,
    set_xsi_type,
    sub,
)
from exchangesim.store.errors import InvalidId
from exchangesim.store.ids import id_kind

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

ID_FORMATS: Final = ("EwsLegacyId", "EwsId", "EntryId", "HexEntryId", "StoreId", "OwaId")
_MAILBOX_NAMESPACE: Final = uuid.UUID("0b5e2f4c-7d1a-4f3e-9c2b-6a8d1e0f3b71")
_ENTRY_FLAGS: Final = b"\x00\x00\x00\x00"
_TYPE_ITEM: Final = b"\x07\x00"  # eitLTPrivateMessage
_TYPE_FOLDER: Final = b"\x01\x00"  # eitLTPrivateFolder
_STORE_TYPE: Final = {_TYPE_ITEM: b"\x01", _TYPE_FOLDER: b"\x02"}


def mailbox_guid(address: str) -> uuid.UUID:
    """The stable GUID the simulator gives the mailbox `address`."""
    return uuid.uuid5(_MAILBOX_NAMESPACE, address.lower())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise EwsError("ErrorInvalidIdMalformed") from exc


def _store_id_bytes(ews_id: str) -> tuple[bytes, bytes]:
    """(raw bytes, entry-id object type) of a store id; ErrorInvalidIdMalformed otherwise."""
    try:
        kind = id_kind(ews_id)
    except InvalidId as exc:
        raise EwsError("ErrorInvalidIdMalformed") from exc
    return _unb64(ews_id), (_TYPE_FOLDER if kind == "folder" else _TYPE_ITEM)


def _entry_id(ews_id: str, mailbox: str) -> bytes:
    raw, object_type = _store_id_bytes(ews_id)
    return _ENTRY_FLAGS + mailbox_guid(mailbox).bytes_le + object_type + raw


def _from_entry_id(entry: bytes, mailbox: str) -> str:
    head = len(_ENTRY_FLAGS) + 16 + 2
    if (
        len(entry) <= head
        or not entry.startswith(_ENTRY_FLAGS)
        or entry[4:20] != mailbox_guid(mailbox).bytes_le
        or entry[20:22] not in _STORE_TYPE
    ):
        raise EwsError("ErrorInvalidIdMalformed")
    ews_id = _b64(entry[head:])
    _, object_type = _store_id_bytes(ews_id)
    if object_type != entry[20:22]:
        raise EwsError("ErrorInvalidIdMalformed")
    return ews_id


def to_ews_id(value: str, source: str, mailbox: str) -> str:
    """The `EwsId` of `value` given in format `source`; raises `EwsError`."""
    if source == "EwsId":
        _store_id_bytes(value)
        return value
    if source == "EntryId":
        return _from_entry_id(_unb64(value), mailbox)
    if source == "HexEntryId":
        try:
            return _from_entry_id(bytes.fromhex(value), mailbox)
        except ValueError as exc:
            raise EwsError("ErrorInvalidIdMalformed") from exc
    if source == "StoreId":
        data = _unb64(value)
        if not data:
            raise EwsError("ErrorInvalidIdMalformed")
        ews_id = _from_entry_id(data[:-1], mailbox)
        if _STORE_TYPE[_entry_id(ews_id, mailbox)[20:22]] != data[-1:]:
            raise EwsError("ErrorInvalidIdMalformed")
        return ews_id
    if source == "OwaId":
        data = _unb64(value)
        if not data or data[0] != len(data) - 1:
            raise EwsError("ErrorInvalidIdMalformed")
        return _from_entry_id(data[1:], mailbox)
    # EwsLegacyId
    legacy_error = EwsError(
        "ErrorInvalidIdMalformedEwsLegacyIdFormat", "Id is malformed (EwsLegacyId format)."
    )
    try:
        data = _unb64(value)
        size = int.from_bytes(data[:2], "little")
        smtp = data[2 : 2 + size].decode("ascii")
        ews_id = _b64(data[2 + size :])
        _store_id_bytes(ews_id)
    except (EwsError, UnicodeDecodeError) as exc:
        raise legacy_error from exc
    if smtp.lower() != mailbox.lower():
        raise legacy_error
    return ews_id


def from_ews_id(ews_id: str, destination: str, mailbox: str) -> str:
    """`ews_id` written in format `destination`."""
    if destination == "EwsId":
        _store_id_bytes(ews_id)
        return ews_id
    entry = _entry_id(ews_id, mailbox)
    if destination == "EntryId":
        return _b64(entry)
    if destination == "HexEntryId":
        return entry.hex().upper()
    if destination == "StoreId":
        return _b64(entry + _STORE_TYPE[entry[20:22]])
    if destination == "OwaId":
        return _b64(bytes([len(entry)]) + entry)
    smtp = mailbox.encode("ascii")
    return _b64(len(smtp).to_bytes(2, "little") + smtp + _unb64(ews_id))


def _convert_one(ctx: EwsContext, source: Element, destination: str) -> tuple[str, str]:
    name = local_name(source)
    if name != "AlternateId":
        raise EwsError(
            "ErrorNoPublicFolderReplicaAvailable", "The simulated tenant has no public folders."
        )
    mailbox = (source.get("Mailbox") or "").strip()
    if "@" not in mailbox:
        raise EwsError("ErrorInvalidSmtpAddress")
    found = ctx.sim.tenant.find_mailbox(mailbox)
    if found is None:
        raise EwsError("ErrorNonExistentMailbox", message_xml=[("SmtpAddress", mailbox)])
    fmt = source.get("Format") or ""
    if fmt not in ID_FORMATS or destination not in ID_FORMATS:
        raise EwsError("ErrorInvalidIdMalformed")
    ews_id = to_ews_id(source.get("Id") or "", fmt, found.email)
    return from_ews_id(ews_id, destination, found.email), mailbox


@operation("ConvertId")
async def convert_id(ctx: EwsContext, request: Element) -> Element:
    """ConvertId: one response message per source id, in order."""
    destination = request.get("DestinationFormat") or ""
    response = m("ConvertIdResponse")
    messages = msub(response, "ResponseMessages")
    source_ids = request.find(qname(M_NS, "SourceIds"))
    for source in source_ids if source_ids is not None else ():  # comments are parsed away
        try:
            converted, mailbox = _convert_one(ctx, source, destination)
        except EwsError as err:
            error_from(messages, "ConvertId", err)
            continue
        msg = response_message(messages, "ConvertId")
        alternate = sub(msg, M_NS, "AlternateId", Format=destination, Id=converted, Mailbox=mailbox)
        set_xsi_type(alternate, "AlternateIdType")
    return response


__all__ = ["T_NS", "convert_id", "from_ews_id", "mailbox_guid", "to_ews_id"]
