"""Opaque ids for folders, items and occurrences, and change keys.

Ids are base64 like Exchange's (``AAMk…``) and mean nothing to clients. Inside they hold a kind
byte, the store's 8-byte namespace and a counter, so they are unique and stable across restarts
(the namespace and counter are saved with the state). An occurrence id wraps its series' (master)
id and a 1-based instance index, as EWS ``OccurrenceItemId`` (``RecurringMasterId`` +
``InstanceIndex``) does, so either form resolves to the same occurrence.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Literal

from exchangesim.store.errors import InvalidId

IdKind = Literal["folder", "item", "occurrence"]

_HEADER = b"\x00\x03\x24"  # base64 "AAMk", the prefix of Exchange ids
_CHANGE_KEY_HEADER = b"\x0f\x00\x00\x00"  # base64 "DwAAA", as Exchange change keys start
_KINDS: dict[int, IdKind] = {ord("F"): "folder", ord("I"): "item", ord("O"): "occurrence"}
_RAW_LEN = len(_HEADER) + 1 + 8 + 8
_MAX_INDEX = 2**31 - 1


@dataclass
class IdFactory:
    """Makes ids and change keys; ``namespace`` and ``counter`` are saved with the store."""

    namespace: str  # 16 hex digits, unique per store
    counter: int = 0

    @classmethod
    def fresh(cls) -> IdFactory:
        """A factory with a new random namespace."""
        return cls(namespace=secrets.token_hex(8))

    def _next(self) -> bytes:
        self.counter += 1
        return bytes.fromhex(self.namespace) + self.counter.to_bytes(8, "big")

    def folder_id(self) -> str:
        """A new folder id."""
        return _encode(_HEADER + b"F" + self._next())

    def item_id(self) -> str:
        """A new item id."""
        return _encode(_HEADER + b"I" + self._next())

    def change_key(self) -> str:
        """A new change key, different from every change key made before."""
        return _encode(_CHANGE_KEY_HEADER + self._next())


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _decode(value: str) -> bytes:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidId(value) from exc
    if len(raw) < _RAW_LEN or not raw.startswith(_HEADER) or raw[3] not in _KINDS:
        raise InvalidId(value)
    return raw


def id_kind(value: str) -> IdKind:
    """Which kind of object the id names; raises `InvalidId` for anything this store never made."""
    raw = _decode(value)
    kind = _KINDS[raw[3]]
    # An occurrence id is header + kind + the master's raw id + a 4-byte index.
    expected = 4 + _RAW_LEN + 4 if kind == "occurrence" else _RAW_LEN
    if len(raw) != expected:
        raise InvalidId(value)
    return kind


def occurrence_id(master_id: str, index: int) -> str:
    """The id of occurrence ``index`` (1-based) of the series ``master_id``."""
    if id_kind(master_id) != "item":
        raise InvalidId(master_id)
    if not 1 <= index <= _MAX_INDEX:
        raise InvalidId(f"{master_id}#{index}")
    return _encode(_HEADER + b"O" + _decode(master_id) + index.to_bytes(4, "big"))


def split_occurrence_id(value: str) -> tuple[str, int]:
    """(master id, 1-based instance index) of an occurrence id."""
    if id_kind(value) != "occurrence":
        raise InvalidId(value)
    raw = _decode(value)
    return _encode(raw[4 : 4 + _RAW_LEN]), int.from_bytes(raw[4 + _RAW_LEN :], "big")
