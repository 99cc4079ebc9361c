"""Reading single-value extended properties: ``$expand=singleValueExtendedProperties($filter=id
eq '...')`` on messages and events.

https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get: a property is named
``"{type} {guid} Id {0xhex}"``, ``"{type} {guid} Name {name}"`` or ``"{type} {0xtag}"``; its
``value`` is always a string (Binary in base64, Integer in decimal, SystemTime as ISO 8601,
Boolean ``true``/``false``). Only properties the item has are returned. The values are the same
MAPI properties EWS reads through ``ExtendedFieldURI`` (`exchangesim.ews.fields.extended_text`):
the ones the store derives from item fields ([MS-OXOCAL] PidLidAppointmentSequence ...) and the
ones a client stored. Writing extended properties over Graph is not supported.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from exchangesim.ews.fields import extended_text
from exchangesim.graph.errors import bad_request
from exchangesim.store import folder_properties
from exchangesim.store.items import PropertyKey

if TYPE_CHECKING:
    from exchangesim.store.folders import Folder
    from exchangesim.store.items import Item

_ID: Final = re.compile(
    r"(?P<type>\w+)\s+(?:"
    r"(?P<tag>0x[0-9a-fA-F]{1,4})"
    r"|\{?(?P<guid>[0-9a-fA-F-]{36})\}?\s+(?:Id\s+(?P<lid>0x[0-9a-fA-F]+|\d+)|Name\s+(?P<name>.+))"
    r")",
    re.IGNORECASE,
)
_EXPAND: Final = re.compile(
    r"singleValueExtendedProperties\(\s*\$filter\s*=\s*(?P<filter>.*)\)", re.IGNORECASE
)
_CLAUSE: Final = re.compile(r"\s*id\s+eq\s+'(?P<id>(?:[^']|'')*)'\s*", re.IGNORECASE)


def property_key(identifier: str) -> PropertyKey:
    """The MAPI property a Graph extended-property id names (400 when it names none)."""
    match = _ID.fullmatch(identifier.strip())
    if match is None:
        raise bad_request(f"Invalid extended property id '{identifier}'.", "ErrorInvalidProperty")
    kind = match["type"]
    if match["tag"]:
        return PropertyKey(kind, property_tag=int(match["tag"], 16))
    guid = match["guid"].lower()
    if match["name"]:
        return PropertyKey(kind, property_set=guid, property_name=match["name"].strip())
    return PropertyKey(kind, property_set=guid, property_id=int(match["lid"], 0))


def parse_expand(item: str) -> tuple[str, ...] | None:
    """The property ids of one ``$expand`` item ``singleValueExtendedProperties($filter=id eq
    '...' or id eq '...')``; None when the item is something else."""
    match = _EXPAND.fullmatch(item.strip())
    if match is None:
        return None
    ids = []
    for clause in re.split(r"\s+or\s+", match["filter"].strip(), flags=re.IGNORECASE):
        found = _CLAUSE.fullmatch(clause)
        if found is None:
            raise bad_request(
                "singleValueExtendedProperties can only be filtered by id eq '...'.",
                "ErrorInvalidUrlQuery",
            )
        ids.append(found["id"].replace("''", "'"))
    for identifier in ids:
        property_key(identifier)  # refuse a malformed id up front
    return tuple(ids)


def render(item: Item, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """``[{"id", "value"}]`` for the named properties the item has."""
    out: list[dict[str, Any]] = []
    for identifier in ids:
        value = extended_text(item, property_key(identifier))
        if value is None or isinstance(value, tuple):
            continue  # multi-value properties are multiValueExtendedProperties
        out.append({"id": identifier, "value": value})
    return out


def render_folder(folder: Folder, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """``[{"id", "value"}]`` for the named properties a client set on the folder."""
    out: list[dict[str, Any]] = []
    for identifier in ids:
        value = folder_properties.value_of(folder, property_key(identifier))
        if value is None or isinstance(value, tuple):
            continue
        out.append({"id": identifier, "value": value})
    return out


def parse_values(entries: object) -> dict[PropertyKey, str]:
    """The properties of a ``singleValueExtendedProperties`` array in a PATCH body: each entry
    an object with a string ``id`` (named as in `property_key`) and a string ``value``."""
    if not isinstance(entries, list):
        raise bad_request(
            "singleValueExtendedProperties must be an array.", "ErrorInvalidExtendedProperty"
        )
    values: dict[PropertyKey, str] = {}
    for entry in entries:
        identifier = entry.get("id") if isinstance(entry, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not isinstance(value, str):
            raise bad_request(
                "An extended property needs a string id and a string value.",
                "ErrorInvalidExtendedPropertyValue",
            )
        values[property_key(identifier)] = value
    return values
