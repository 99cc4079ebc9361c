"""Reading typed values out of a tenant file's TOML tables, one problem recorded per bad value.

`Checker` never stops at the first mistake: every check appends a problem with its path, so
one run of `build_tenant` (`_tenant_file.py`) reports all of them.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from exchangesim.tenant import email_domain, is_guid

if TYPE_CHECKING:
    from collections.abc import Mapping

_MISSING = object()


class Checker:
    """Reads typed values out of TOML tables, collecting a problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def table(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, "not a table")
            return None
        return cast("Mapping[str, Any]", value)

    def tables(
        self, data: Mapping[str, Any], key: str, parent: str = ""
    ) -> list[tuple[str, Mapping[str, Any]]]:
        path = f"{parent}.{key}" if parent else key
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(path, f"not an array of tables (write [[{path}]])")
            return []
        out = []
        for i, item in enumerate(value):
            table = self.table(item, f"{path}[{i}]")
            if table is not None:
                out.append((f"{path}[{i}]", table))
        return out

    def known_keys(self, table: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})")

    def string(
        self, table: Mapping[str, Any], key: str, path: str, default: object = _MISSING
    ) -> str:
        value = table.get(key, default)
        if value is _MISSING:
            self.problem(f"{path}.{key}", "missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{path}.{key}", "not a non-empty string")
            return ""
        return value

    def boolean(self, table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", "not true or false")
            return default
        return value

    def integer(self, table: Mapping[str, Any], key: str, path: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(f"{path}.{key}", "not a whole number >= 0")
            return default
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, path: str, options: tuple[str, ...], default: str
    ) -> str:
        value = table.get(key, default)
        if value not in options:
            self.problem(f"{path}.{key}", f"{value!r} is not one of {', '.join(options)}")
            return default
        return cast("str", value)

    def guid(self, table: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(f"{path}.{key}", "missing")
            return ""
        if not is_guid(value):
            self.problem(f"{path}.{key}", f"{value!r} is not a GUID")
            return ""
        return cast("str", value).lower()

    def strings(self, table: Mapping[str, Any], key: str, path: str) -> list[tuple[str, str]]:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", "not an array of strings")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append((f"{path}.{key}[{i}]", item))
            else:
                self.problem(f"{path}.{key}[{i}]", "not a non-empty string")
        return out

    def address(self, table: Mapping[str, Any], key: str, path: str, domains: set[str]) -> str:
        value = self.string(table, key, path)
        if not value:
            return ""
        domain = email_domain(value)
        if domain is None:
            self.problem(f"{path}.{key}", f"{value!r} is not an email address")
        elif domains and domain.casefold() not in domains:
            self.problem(f"{path}.{key}", f"domain {domain!r} is not a domain of this tenant")
        return value

    def aware_datetime(self, table: Mapping[str, Any], key: str, path: str) -> datetime | None:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            self.problem(f"{path}.{key}", "missing")
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            kind = "a date without a time" if isinstance(value, date) else "not a datetime"
            self.problem(f"{path}.{key}", kind)
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.problem(f"{path}.{key}", "not a time-zone-aware datetime (add Z or an offset)")
            return None
        return value


__all__ = ["Checker"]
