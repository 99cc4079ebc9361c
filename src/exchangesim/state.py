"""Save the whole mailbox store to a JSON state file, and load it back.

The file holds every mailbox, folder, item, journal entry and the id and sequence counters, so
ids, change keys and sync states issued before a restart stay valid after it (event watermarks
from before the restart expire). Writing is atomic: a temporary file in the same folder, flushed
to disk, then renamed over the old file.

Format: ``{"format": "exchangesim-state", "version": 1, "saved_at": ..., "state": ...}`` where
``state`` encodes the store's dataclasses as ``{"$": "ClassName", field: value, ...}``, with
``{"$dt": iso}``, ``{"$date": iso}``, ``{"$td": seconds}``, ``{"$tuple": [...]}`` and
``{"$map": [[key, value], ...]}`` for the values JSON lacks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exchangesim.store import (
    configurations,
    folders,
    ids,
    items,
    journal,
    mailbox,
    recurrence,
    transaction,
)
from exchangesim.store.store import Store
from exchangesim.store.transaction import StoreState

if TYPE_CHECKING:
    from collections.abc import Callable

FORMAT = "exchangesim-state"
VERSION = 1

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for module in (configurations, folders, ids, items, journal, mailbox, recurrence, transaction)
    for cls in vars(module).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
}


class StateFileError(ValueError):
    """The state file is not one this version of exchangesim wrote."""


def _encode(value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in the store")
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _CLASSES.get(name) is not type(value):
            raise TypeError(f"cannot save a {name}")
        encoded = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$": name, **encoded}
    raise TypeError(f"cannot save a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$" in value:
        cls = _CLASSES.get(value["$"])
        if cls is None:
            raise StateFileError(f"unknown object type {value['$']!r}")
        return cls(**{k: _decode(v) for k, v in value.items() if k != "$"})
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$td" in value:
        return timedelta(seconds=value["$td"])
    if "$tuple" in value:
        return tuple(_decode(v) for v in value["$tuple"])
    if "$map" in value:
        return {_decode(k): _decode(v) for k, v in value["$map"]}
    raise StateFileError(f"unexpected object with keys {sorted(value)}")


def save(store: Store, path: Path) -> None:
    """Write the store to ``path`` atomically (readers see the old or the new file, whole)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": store.now().isoformat(),
        "state": _encode(store.snapshot()),
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path, *, clock: Callable[[], datetime] | None = None) -> Store:
    """Read a state file written by `save`; raises `StateFileError` for anything else."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StateFileError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f"{path}: not an exchangesim state file")
    if document.get("version") != VERSION:
        raise StateFileError(f"{path}: state version {document.get('version')!r} is not {VERSION}")
    try:
        state = _decode(document["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path}: corrupt state ({exc})") from exc
    if not isinstance(state, StoreState):
        raise StateFileError(f"{path}: corrupt state")
    return Store(clock=clock, state=state)
