"""The user configuration operations ([MS-OXWSUSRCFG]): GetUserConfiguration,
CreateUserConfiguration, UpdateUserConfiguration and DeleteUserConfiguration.

Each names its object by ``UserConfigurationName``: a ``Name`` attribute and the folder
(``FolderId`` or ``DistinguishedFolderId``, resolved as GetFolder resolves it, so another
mailbox's folder is refused unless its permissions let the caller read items). The store side,
and which errors Exchange answers: `exchangesim.store.configurations`.

- Get: ``UserConfigurationProperties`` is a list of ``Id``, ``Dictionary``, ``XmlData``,
  ``BinaryData`` or ``All``; the answer carries the name and only the parts asked for.
- Create: the object must not exist (``ErrorItemSave``). Update: it must (``ErrorItemNotFound``);
  the parts sent replace the stored ones, parts not sent stay.
- Delete: ``ErrorItemNotFound`` when there is none.

Dictionary keys and values are kept with their type and text (booleans written back as
``true``/``false``, times as UTC whole seconds), so a client reads back what it wrote; a nil
value (``xsi:nil="true"``) stays nil.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from exchangesim.ews.faults import EwsError, error_from, from_store_error
from exchangesim.ews.ops_folders import resolve_folder
from exchangesim.ews.registry import operation
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    XSI_NS,
    Element,
    child,
    child_text,
    children,
    local_name,
    m,
    msub,
    qname,
    response_message,
    tsub,
)
from exchangesim.store import configurations
from exchangesim.store.configurations import DictionaryObject, UserConfiguration
from exchangesim.store.errors import StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

_PARTS = ("Id", "Dictionary", "XmlData", "BinaryData")


def _folder_element(name_el: Element) -> Element:
    for el in name_el:
        if isinstance(el.tag, str):
            return el
    raise EwsError("ErrorInvalidRequest", "UserConfigurationName names no folder.")


def _name_and_folder(ctx: EwsContext, name_el: Element | None) -> tuple[str, str, Element]:
    if name_el is None:
        raise EwsError("ErrorInvalidRequest", "The request names no user configuration.")
    folder_el = _folder_element(name_el)
    folder = resolve_folder(ctx, folder_el, access="items")
    return name_el.get("Name", ""), folder.id, folder_el


def _object(el: Element) -> DictionaryObject:
    kind = (child_text(el, T_NS, "Type") or "").strip()
    values = tuple((v.text or "").strip() for v in children(el, T_NS, "Value"))
    if kind == "Boolean":
        # Stored typed, written back canonically: xs:boolean "1" (exchangelib's form) reads back
        # as "true", which is what exchangelib's parser (and Exchange) use.
        values = tuple("true" if v in {"1", "true"} else "false" for v in values)
    if kind == "DateTime":
        values = tuple(_utc_seconds(v) for v in values)
    return DictionaryObject(kind, values)


def _utc_seconds(text: str) -> str:
    """A DateTime value as EWS writes times: UTC, whole seconds, ``Z`` (``DateTimeReceived``
    and friends; exchangelib reads dictionary times only in this form)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise EwsError("ErrorInvalidRequest", f"{text!r} is not a DateTime.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_dictionary(
    el: Element | None,
) -> tuple[tuple[DictionaryObject, DictionaryObject | None], ...] | None:
    if el is None:
        return None
    entries: list[tuple[DictionaryObject, DictionaryObject | None]] = []
    for entry in children(el, T_NS, "DictionaryEntry"):
        key_el = child(entry, T_NS, "DictionaryKey")
        value_el = child(entry, T_NS, "DictionaryValue")
        if key_el is None:
            continue
        nil = value_el is None or value_el.get(qname(XSI_NS, "nil")) in {"true", "1"}
        value = None if nil or value_el is None else _object(value_el)
        entries.append((_object(key_el), value))
    return tuple(entries)


def _text(el: Element, tag: str) -> str | None:
    found = child(el, T_NS, tag)
    return None if found is None else (found.text or "").strip()


def _parse_config(ctx: EwsContext, el: Element | None) -> UserConfiguration:
    if el is None:
        raise EwsError("ErrorInvalidRequest", "The request carries no UserConfiguration.")
    name, folder_id, _ = _name_and_folder(ctx, child(el, T_NS, "UserConfigurationName"))
    return UserConfiguration(
        item_id="",
        folder_id=folder_id,
        name=name,
        dictionary=_parse_dictionary(child(el, T_NS, "Dictionary")),
        xml_data=_text(el, "XmlData"),
        binary_data=_text(el, "BinaryData"),
    )


def _write_object(parent: Element, tag: str, obj: DictionaryObject | None) -> None:
    el = tsub(parent, tag)
    if obj is None:
        el.set(qname(XSI_NS, "nil"), "true")
        return
    tsub(el, "Type", obj.type)
    for value in obj.values or ("",):
        tsub(el, "Value", value)


def _write_config(
    parent: Element, config: UserConfiguration, folder_el: Element, parts: set[str]
) -> None:
    el = msub(parent, "UserConfiguration")
    name_el = tsub(el, "UserConfigurationName", Name=config.name)
    copied = tsub(name_el, local_name(folder_el))
    for attribute, attribute_value in folder_el.attrib.items():
        copied.set(str(attribute), str(attribute_value))
    for grandchild in folder_el:
        if isinstance(grandchild.tag, str):
            box = tsub(copied, grandchild.tag.split("}")[-1])
            for part in grandchild:
                if isinstance(part.tag, str):
                    tsub(box, part.tag.split("}")[-1], part.text)
    if "Id" in parts and config.item_id:
        tsub(el, "ItemId", Id=config.item_id)
    if "Dictionary" in parts and config.dictionary is not None:
        dictionary = tsub(el, "Dictionary")
        for key, value in config.dictionary:
            entry = tsub(dictionary, "DictionaryEntry")
            _write_object(entry, "DictionaryKey", key)
            _write_object(entry, "DictionaryValue", value)
    if "XmlData" in parts and config.xml_data is not None:
        tsub(el, "XmlData", config.xml_data)
    if "BinaryData" in parts and config.binary_data is not None:
        tsub(el, "BinaryData", config.binary_data)


def _wanted_parts(request: Element) -> set[str]:
    props = child(request, M_NS, "UserConfigurationProperties")
    words = set((props.text or "").split()) if props is not None else {"All"}
    return set(_PARTS) if "All" in words else words


@operation("GetUserConfiguration")
async def get_user_configuration(ctx: EwsContext, request: Element) -> Element:
    """GetUserConfiguration: the object with the parts asked for."""
    response = m("GetUserConfigurationResponse")
    messages = msub(response, "ResponseMessages")
    try:
        name, folder_id, folder_el = _name_and_folder(
            ctx, child(request, M_NS, "UserConfigurationName")
        )
        config = configurations.get(ctx.sim.store, folder_id, name)
    except StoreError as exc:
        error_from(messages, "GetUserConfiguration", from_store_error(exc))
        return response
    except EwsError as err:
        error_from(messages, "GetUserConfiguration", err)
        return response
    msg = response_message(messages, "GetUserConfiguration")
    _write_config(msg, config, folder_el, _wanted_parts(request))
    return response


async def _write(ctx: EwsContext, request: Element, operation_name: str) -> Element:
    response = m(f"{operation_name}Response")
    messages = msub(response, "ResponseMessages")
    try:
        config = _parse_config(ctx, child(request, M_NS, "UserConfiguration"))
        if operation_name == "CreateUserConfiguration":
            configurations.create(ctx.sim.store, config)
        else:
            configurations.update(ctx.sim.store, config)
    except StoreError as exc:
        error_from(messages, operation_name, from_store_error(exc))
        return response
    except EwsError as err:
        error_from(messages, operation_name, err)
        return response
    response_message(messages, operation_name)
    return response


@operation("CreateUserConfiguration")
async def create_user_configuration(ctx: EwsContext, request: Element) -> Element:
    """CreateUserConfiguration: a new object (``ErrorItemSave`` when the name is taken)."""
    return await _write(ctx, request, "CreateUserConfiguration")


@operation("UpdateUserConfiguration")
async def update_user_configuration(ctx: EwsContext, request: Element) -> Element:
    """UpdateUserConfiguration: replace the parts sent (``ErrorItemNotFound`` when absent)."""
    return await _write(ctx, request, "UpdateUserConfiguration")


@operation("DeleteUserConfiguration")
async def delete_user_configuration(ctx: EwsContext, request: Element) -> Element:
    """DeleteUserConfiguration: remove the object (``ErrorItemNotFound`` when absent)."""
    response = m("DeleteUserConfigurationResponse")
    messages = msub(response, "ResponseMessages")
    try:
        name, folder_id, _ = _name_and_folder(ctx, child(request, M_NS, "UserConfigurationName"))
        configurations.delete(ctx.sim.store, folder_id, name)
    except StoreError as exc:
        error_from(messages, "DeleteUserConfiguration", from_store_error(exc))
        return response
    except EwsError as err:
        error_from(messages, "DeleteUserConfiguration", err)
        return response
    response_message(messages, "DeleteUserConfiguration")
    return response
