"""JSON pieces shared by messages and events: times, time zones, recipients, bodies."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangesim.graph.errors import bad_request
from exchangesim.store import timezones
from exchangesim.store.errors import UnknownTimeZone

if TYPE_CHECKING:
    from exchangesim.store.items import Address, Body

#: What Graph writes for a time that was never set (``responseStatus.time`` of no response).
NEVER: Final = "0001-01-01T00:00:00Z"
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|br|li|tr|h\d)>|<br\s*/?>", re.IGNORECASE)


def instant(value: datetime | None, *, fraction: bool = False) -> str | None:
    """A DateTimeOffset as Graph writes it (UTC, ``Z``); events carry 7 fraction digits."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if fraction:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_for(name: str | None) -> tuple[str, tzinfo]:
    """The time zone a ``Prefer: outlook.timezone`` (or a dateTimeTimeZone) names.

    Windows names (``Pacific Standard Time``) and IANA names are both accepted, as Graph does;
    ``UTC`` when no name is given. An unknown name is a 400 ``TimeZoneNotSupportedException``.
    """
    if not name or name.casefold() in ("utc", "etc/utc", "coordinated universal time"):
        return "UTC", UTC
    try:
        return name, timezones.zone(name)
    except UnknownTimeZone:
        pass
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(
            f"A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{name}'.",
            "TimeZoneNotSupportedException",
        ) from None


def local(value: datetime | None, zone: tuple[str, tzinfo]) -> dict[str, str] | None:
    """A ``dateTimeTimeZone``: wall-clock time in the zone, 7 fraction digits, the zone's name."""
    if value is None:
        return None
    shown = value.astimezone(zone[1])
    text = shown.strftime("%Y-%m-%dT%H:%M:%S.") + f"{shown.microsecond:06d}0"
    return {"dateTime": text, "timeZone": zone[0]}


def parse_local(data: Any, field: str) -> tuple[datetime, str]:
    """Read a ``dateTimeTimeZone`` from a request: (aware UTC instant, zone name as given)."""
    if not isinstance(data, dict) or not isinstance(data.get("dateTime"), str):
        raise bad_request(
            f"The property '{field}' must be a dateTimeTimeZone.", "ErrorInvalidRequest"
        )
    name, zone = zone_for(data.get("timeZone") or "UTC")
    text = data["dateTime"].replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        rest = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{rest}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Cannot read '{field}.dateTime'.", "ErrorInvalidRequest") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC), name


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 instant from a query or body (up to 7 fraction digits; no offset: UTC)."""
    value = text.strip().replace(" ", "+").replace("Z", "+00:00")
    if "." in value:
        head, _, tail = value.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        value = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Cannot read {name}: '{text}'.", "ErrorInvalidParameter") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def recipient(address: Address | None) -> dict[str, Any] | None:
    """A ``recipient``: ``{"emailAddress": {"name", "address"}}``."""
    if address is None:
        return None
    return {"emailAddress": {"name": address.name or address.email, "address": address.email}}


def html_to_text(content: str) -> str:
    """The text of an HTML body (what Outlook gives for ``outlook.body-content-type="text"``)."""
    text = _BLOCK_END.sub("\r\n", content)
    text = re.sub(r"<(head|style|script)[^>]*>.*?</\1>", "", text, flags=re.DOTALL | re.IGNORECASE)
    text = html.unescape(_TAG.sub("", text))
    return "\r\n".join(line.rstrip() for line in text.strip().splitlines())


def text_to_html(content: str) -> str:
    """An HTML body for a text body (Outlook's wrapping)."""
    lines = "<br>\r\n".join(html.escape(line) for line in content.splitlines())
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f"\r\n</head>\r\n<body>\r\n{lines}\r\n</body>\r\n</html>\r\n"
    )


def body(value: Body, wanted: str | None) -> dict[str, str]:
    """An ``itemBody`` in the stored format, or the one ``Prefer`` asked for."""
    stored = "html" if value.type == "HTML" else "text"
    kind = wanted or stored
    content = value.content
    if kind != stored:
        content = html_to_text(content) if stored == "html" else text_to_html(content)
    return {"contentType": kind, "content": content}


def preview(value: Body) -> str:
    """``bodyPreview``: the first 255 characters of the body as text."""
    text = html_to_text(value.content) if value.type == "HTML" else value.content
    return " ".join(text.split())[:255]
