"""FindItem/FindFolder restrictions and sort orders: parse `t:Restriction` and `t:SortOrder`,
and evaluate them against store items and folders as Exchange does.

Property paths and the values they read come from `exchangesim.ews.fields`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError
from exchangesim.ews.fields import (
    FOLDER_VALUES,
    ITEM_VALUES,
    NOT_QUERYABLE,
    UNSUPPORTED_PATH,
    FieldPath,
    PropertyPath,
    Value,
    folder_value,
    item_value,
    parse_path,
    parse_tag,
)
from exchangesim.ews.xml import Element, local_name, parse_datetime

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.store.folders import Folder
    from exchangesim.store.items import Item


@dataclass(frozen=True)
class Compare:
    """IsEqualTo … IsLessThanOrEqualTo: a property against a constant or another property."""

    op: str
    path: PropertyPath
    constant: str | None
    other: PropertyPath | None


@dataclass(frozen=True)
class Exists:
    """`t:Exists`."""

    path: PropertyPath


@dataclass(frozen=True)
class Contains:
    """`t:Contains` (ContainmentMode, ContainmentComparison)."""

    path: PropertyPath
    constant: str
    mode: str
    comparison: str


@dataclass(frozen=True)
class Excludes:
    """`t:Excludes`: none of the bitmask's bits are set."""

    path: PropertyPath
    bitmask: int


@dataclass(frozen=True)
class Combine:
    """`t:And`, `t:Or` (several) or `t:Not` (one)."""

    op: str
    parts: tuple[Restriction, ...]


Restriction = Compare | Exists | Contains | Excludes | Combine

_COMPARISONS: Final = frozenset(
    {
        "IsEqualTo",
        "IsNotEqualTo",
        "IsGreaterThan",
        "IsGreaterThanOrEqualTo",
        "IsLessThan",
        "IsLessThanOrEqualTo",
    }
)


def _elements(el: Element) -> list[Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _checked(path: PropertyPath, known: frozenset[str]) -> PropertyPath:
    if isinstance(path, FieldPath) and (path.uri not in known or path.uri in NOT_QUERYABLE):
        raise EwsError("ErrorUnsupportedPathForQuery", UNSUPPORTED_PATH)
    return path


def _parse_expression(el: Element, known: frozenset[str]) -> Restriction:
    name = local_name(el)
    parts = _elements(el)
    if name in {"And", "Or", "Not"}:
        return Combine(name, tuple(_parse_expression(p, known) for p in parts))
    path = _checked(parse_path(parts[0]), known)
    if name == "Exists":
        return Exists(path)
    if name == "Excludes":
        return Excludes(path, parse_tag(parts[1].get("Value", "0")))
    if name == "Contains":
        return Contains(
            path,
            parts[1].get("Value", ""),
            el.get("ContainmentMode", "Substring"),
            el.get("ContainmentComparison", "IgnoreCase"),
        )
    if name in _COMPARISONS:
        operand = _elements(parts[1])[0]
        if local_name(operand) == "Constant":
            return Compare(name, path, operand.get("Value", ""), None)
        return Compare(name, path, None, _checked(parse_path(operand), known))
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {name} is not supported.")


def parse_restriction(el: Element | None, *, folders: bool = False) -> Restriction | None:
    """A `Restriction` element as a tree (None when absent); ``folders`` for FindFolder."""
    if el is None:
        return None
    expressions = _elements(el)
    if not expressions:
        return None
    known = frozenset(FOLDER_VALUES if folders else ITEM_VALUES)
    return _parse_expression(expressions[0], known)


def _coerce(sample: object, text: str, zone: tzinfo) -> object:
    """The constant ``text`` read as the kind of value it is compared with."""
    if isinstance(sample, bool):
        return text.strip().lower() in {"true", "1"}
    if isinstance(sample, int):
        return int(text)
    if isinstance(sample, datetime):
        return parse_datetime(text, zone)
    if isinstance(sample, bytes):
        return base64.b64decode(text, validate=True)  # binascii.Error is a ValueError
    return text


def _fold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, left: object, right: object) -> bool:
    try:
        if op == "IsEqualTo":
            return bool(_fold(left) == _fold(right))
        if op == "IsNotEqualTo":
            return bool(_fold(left) != _fold(right))
        a, b = _fold(left), _fold(right)
        if op == "IsGreaterThan":
            return bool(a > b)  # type: ignore[operator]
        if op == "IsGreaterThanOrEqualTo":
            return bool(a >= b)  # type: ignore[operator]
        if op == "IsLessThan":
            return bool(a < b)  # type: ignore[operator]
        return bool(a <= b)  # type: ignore[operator]
    except TypeError:
        return False


def _contains_bytes(expr: Contains, value: bytes) -> bool:
    try:
        needle = base64.b64decode(expr.constant, validate=True)
    except binascii.Error:
        raise EwsError(
            "ErrorInvalidValueForProperty", "The value is invalid for the property."
        ) from None
    if expr.mode == "FullString":
        return value == needle
    if expr.mode == "Prefixed":
        return value.startswith(needle)
    return needle in value


def _contains(expr: Contains, value: str) -> bool:
    needle, hay = expr.constant, value
    if "IgnoreCase" in expr.comparison or expr.comparison.startswith("Loose"):
        needle, hay = needle.casefold(), hay.casefold()
    if expr.mode == "FullString":
        return hay == needle
    if expr.mode == "Prefixed":
        return hay.startswith(needle)
    if expr.mode in {"PrefixOnWords", "ExactPhrase"}:
        words = hay.split()
        if expr.mode == "PrefixOnWords":
            return any(w.startswith(needle) for w in words)
        return f" {needle} " in f" {' '.join(words)} "
    return needle in hay


def matches(
    expr: Restriction, value_of: Callable[[PropertyPath], Value], zone: tzinfo = UTC
) -> bool:
    """Whether an item (or folder), read through ``value_of``, satisfies the restriction.

    A property the item does not have makes every comparison false (MAPI property
    restrictions); string comparisons ignore case, as Exchange's do.
    """
    if isinstance(expr, Combine):
        if expr.op == "And":
            return all(matches(p, value_of, zone) for p in expr.parts)
        if expr.op == "Or":
            return any(matches(p, value_of, zone) for p in expr.parts)
        return not matches(expr.parts[0], value_of, zone)
    value = value_of(expr.path)
    if isinstance(expr, Exists):
        return value is not None
    if value is None:
        return False
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(expr, Excludes):
        return all(isinstance(v, int) and not v & expr.bitmask for v in values)
    if isinstance(expr, Contains):
        return any(
            _contains_bytes(expr, v) if isinstance(v, bytes) else _contains(expr, str(v))
            for v in values
        )
    for one in values:
        if expr.other is not None:
            other = value_of(expr.other)
            right: object = other
        else:
            try:
                right = _coerce(one, expr.constant or "", zone)
            except ValueError:
                raise EwsError(
                    "ErrorInvalidValueForProperty", "The value is invalid for the property."
                ) from None
        if right is not None and _compare(expr.op, one, right):
            return True
    return False


@dataclass(frozen=True)
class SortKey:
    """One `t:FieldOrder` of a `SortOrder`."""

    path: PropertyPath
    descending: bool


def parse_sort(el: Element | None) -> tuple[SortKey, ...]:
    """A `SortOrder` element (none when absent); ``ErrorUnsupportedPathForSortGroup`` for a
    property this server cannot sort on."""
    if el is None:
        return ()
    keys = []
    for order in _elements(el):
        path = parse_path(_elements(order)[0])
        if isinstance(path, FieldPath) and path.uri not in ITEM_VALUES:
            raise EwsError(
                "ErrorUnsupportedPathForSortGroup",
                "The property path is not supported for sorting or grouping.",
            )
        keys.append(SortKey(path, order.get("Order", "Ascending") == "Descending"))
    return tuple(keys)


def _sortable(value: Value) -> tuple[int, object]:
    if value is None:
        return (0, "")
    if isinstance(value, tuple):
        value = value[0] if value else ""
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)


def sort_items(items: list[Item], keys: tuple[SortKey, ...]) -> list[Item]:
    """The items in the order of the sort keys (first key most significant; missing values
    first when ascending)."""
    ordered = list(items)
    for key in reversed(keys):
        ordered.sort(
            key=lambda item, k=key: _sortable(item_value(item, k.path)),  # type: ignore[misc]
            reverse=key.descending,
        )
    return ordered


def folder_matches(expr: Restriction, folder: Folder) -> bool:
    """`matches` for a folder."""
    return matches(expr, lambda path: folder_value(folder, path))


__all__ = [
    "Combine",
    "Compare",
    "Contains",
    "Excludes",
    "Exists",
    "Restriction",
    "SortKey",
    "folder_matches",
    "matches",
    "parse_restriction",
    "parse_sort",
    "sort_items",
]
