"""Extended (MAPI) properties a client sets on a folder.

Exchange keeps any MAPI property on a folder as on an item: EWS sets one with ``UpdateFolder``
and ``SetFolderField``/``ExtendedFieldURI`` ([MS-OXWSFOLD]), Graph with a ``PATCH`` of a
``mailFolder`` carrying ``singleValueExtendedProperties``
(https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties).
EWS removes one with ``DeleteFolderField`` (`update_properties`).
A property is one MAPI property whatever type word the client spells: the tag, or the property
set's GUID with the name (case-sensitive, as Graph's reference says of ``Name``) or the id.
Setting a property changes the folder's change key and is a folder ``Modified`` event, as any
folder update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from exchangesim.store.folders import Folder
    from exchangesim.store.items import ExtendedValue, PropertyKey
    from exchangesim.store.store import Store


def identity(key: PropertyKey) -> tuple[object, ...]:
    """What makes two keys the same property (the type word does not)."""
    if key.property_tag is not None:
        return ("tag", key.property_tag)
    where = key.distinguished_set or (key.property_set or "").lower()
    if key.property_name is not None:
        return ("name", where, key.property_name)
    return ("id", where, key.property_id)


def value_of(folder: Folder, key: PropertyKey) -> ExtendedValue | None:
    """The value of ``key`` on the folder (a `Store.folder` view), or None."""
    wanted = identity(key)
    for stored, value in folder.extended_properties:
        if identity(stored) == wanted:
            return value
    return None


def set_properties(
    store: Store, mailbox: str | None, ref: str, values: Mapping[PropertyKey, ExtendedValue]
) -> None:
    """Create or replace the properties on the folder; raises `FolderNotFound`."""
    update_properties(store, mailbox, ref, values)


def update_properties(
    store: Store,
    mailbox: str | None,
    ref: str,
    values: Mapping[PropertyKey, ExtendedValue],
    removed: Iterable[PropertyKey] = (),
) -> None:
    """Remove ``removed`` and create or replace ``values`` on the folder, in one change (a
    property the folder lacks is removed without complaint, as Exchange deletes an absent
    property); raises `FolderNotFound`."""
    with store.transaction() as tx:
        owner = tx.folder_owner(ref) if mailbox is None else tx.mailbox(mailbox)
        folder = tx.folder(owner, ref)
        gone = {identity(key) for key in removed} | {identity(key) for key in values}
        for stored in [k for k in folder.extended_properties if identity(k) in gone]:
            del folder.extended_properties[stored]
        folder.extended_properties.update(values)
        folder.change_key = tx.change_key()
        tx.hierarchy(owner, "Update", folder)
