"""Domain values ⇄ JSON, guided by their type annotations (for decisions and audit details).

The domain's decisions are frozen dataclasses (variants of a union), enums, datetimes, tuples. We
store them as JSON so both databases keep them alike and an operator can read them. A dataclass
becomes an object with a ``"type"`` tag (its class name), which picks the variant when decoding
a union. Only what the domain uses is supported; anything else is a ``TypeError`` here, caught by
the round-trip tests, not a silent loss in production.

Annotations are read with ``typing.get_type_hints``. A domain module may import a type for its
annotations only (under ``TYPE_CHECKING``); a ``Codec`` is therefore given the names it may need
beyond each module's globals.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

TAG = "type"


def encode(value: Any) -> Any:
    """A JSON-compatible form of ``value``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return encode(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r} cannot be stored")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {TAG: type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        items = sorted(value, key=repr) if isinstance(value, frozenset | set) else value
        return [encode(v) for v in items]
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class Codec:
    """Decodes values by their type; ``names`` resolves annotation names a module lacks."""

    def __init__(self, names: Mapping[str, Any] | None = None) -> None:
        self._names = dict(names or {})
        self._cache: dict[type, dict[str, Any]] = {}

    def _hints(self, tp: type) -> dict[str, Any]:
        if tp not in self._cache:
            self._cache[tp] = get_type_hints(tp, localns=self._names, include_extras=True)
        return self._cache[tp]

    def decode(self, tp: Any, data: Any) -> Any:
        """The value of type ``tp`` that ``encode`` turned into ``data``."""
        origin = get_origin(tp)
        args = get_args(tp)
        if tp is Any:
            return data
        if tp is type(None):
            if data is not None:
                raise TypeError(f"expected null, got {data!r}")
            return None
        if origin is Union or origin is types.UnionType:
            return self._decode_union(args, data)
        if origin is Literal:
            if data not in args:
                raise TypeError(f"{data!r} is not one of {args}")
            return data
        if origin is typing.Annotated:
            return self.decode(args[0], data)
        if origin in (tuple, list, set, frozenset):
            if not isinstance(data, list):
                raise TypeError(f"expected a list for {tp}, got {data!r}")
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                return tuple(self.decode(a, d) for a, d in zip(args, data, strict=True))
            item = args[0] if args else Any
            return origin(self.decode(item, d) for d in data)
        if origin in (dict, Mapping, typing.Mapping) or tp in (dict, Mapping):
            value_type = args[1] if len(args) == 2 else Any
            if not isinstance(data, dict):
                raise TypeError(f"expected an object for {tp}, got {data!r}")
            return {k: self.decode(value_type, v) for k, v in data.items()}
        if isinstance(tp, type):
            return self._decode_class(tp, data)
        raise TypeError(f"cannot decode {tp!r}")

    def _decode_class(self, tp: type, data: Any) -> Any:
        if issubclass(tp, Enum):
            return tp(data)
        if tp is datetime:
            value = datetime.fromisoformat(data)
            if value.tzinfo is None:
                raise TypeError(f"naive datetime {data!r} in stored JSON")
            return value
        if tp is date:
            return date.fromisoformat(data)
        if tp is timedelta:
            return timedelta(seconds=data)
        if dataclasses.is_dataclass(tp):
            if not isinstance(data, dict) or data.get(TAG) != tp.__name__:
                raise TypeError(f"expected a {tp.__name__} object, got {data!r}")
            hints = self._hints(tp)
            kwargs = {
                f.name: self.decode(hints[f.name], data[f.name])
                for f in dataclasses.fields(tp)
                if f.init and f.name in data
            }
            return tp(**kwargs)
        if tp in (str, int, float, bool):
            if tp is float and isinstance(data, int) and not isinstance(data, bool):
                return float(data)
            if not isinstance(data, tp):
                raise TypeError(f"expected {tp.__name__}, got {data!r}")
            return data
        raise TypeError(f"cannot decode {tp.__name__}")

    def _decode_union(self, args: tuple[Any, ...], data: Any) -> Any:
        if data is None and type(None) in args:
            return None
        if isinstance(data, dict) and TAG in data:
            for arg in args:
                if (
                    isinstance(arg, type)
                    and dataclasses.is_dataclass(arg)
                    and arg.__name__ == data[TAG]
                ):
                    return self._decode_class(arg, data)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return self.decode(arg, data)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{data!r} matches none of {args}: {errors}")
