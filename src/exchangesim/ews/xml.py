"""EWS XML vocabulary: namespaces, element builders and value formats as Exchange writes them.

Every EWS operation builds its answer with these helpers so that prefixes, namespaces and value
formats match what Exchange Online sends (`m:` messages, `t:` types, `s:` SOAP envelope; see the
captured responses in `../shared/conformance/ews-samples/`).

    resp = m("GetFolderResponse")
    msgs = sub(resp, M_NS, "ResponseMessages")
    msg = response_message(msgs, "GetFolder")                  # ResponseClass="Success", NoError
    folders = sub(msg, M_NS, "Folders")
    folder = sub(folders, T_NS, "CalendarFolder")
    sub(folder, T_NS, "FolderId", Id=..., ChangeKey=...)
    sub(folder, T_NS, "DisplayName", text="Calendar")
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Final

from lxml import etree

SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS: Final = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS: Final = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS: Final = "http://schemas.microsoft.com/exchange/services/2006/errors"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"

#: The prefixes Exchange Online puts on a response element (see any ews-javascript-api capture).
RESPONSE_NSMAP: Final[dict[str, str]] = {
    "m": M_NS,
    "xsd": XSD_NS,
    "xsi": XSI_NS,
    "t": T_NS,
}

Element = etree._Element  # noqa: SLF001 (lxml's public element type has this name)


def qname(ns: str, tag: str) -> str:
    """The Clark name `{ns}tag` lxml uses."""
    return f"{{{ns}}}{tag}"


def _set(el: Element, text: str | None, attrs: dict[str, str | None]) -> Element:
    for key, value in attrs.items():
        if value is not None:
            el.set(key, value)
    if text is not None:
        el.text = text
    return el


def m(tag: str, text: str | None = None, **attrs: str | None) -> Element:
    """A new `m:` (messages) element that declares the `m`, `t`, `xsi`, `xsd` prefixes.

    Use it for the operation's response element; children are added with `sub`. Attributes whose
    value is None are left out.
    """
    return _set(etree.Element(qname(M_NS, tag), nsmap=RESPONSE_NSMAP), text, attrs)


def t(tag: str, text: str | None = None, **attrs: str | None) -> Element:
    """A new detached `t:` (types) element, for building a fragment before appending it."""
    return _set(etree.Element(qname(T_NS, tag), nsmap=RESPONSE_NSMAP), text, attrs)


def sub(
    parent: Element, ns: str, tag: str, text: str | None = None, **attrs: str | None
) -> Element:
    """Append a child `{ns}tag` to `parent` (with optional text and attributes) and return it."""
    return _set(etree.SubElement(parent, qname(ns, tag)), text, attrs)


def msub(parent: Element, tag: str, text: str | None = None, **attrs: str | None) -> Element:
    """`sub(parent, M_NS, ...)`."""
    return sub(parent, M_NS, tag, text, **attrs)


def tsub(parent: Element, tag: str, text: str | None = None, **attrs: str | None) -> Element:
    """`sub(parent, T_NS, ...)`."""
    return sub(parent, T_NS, tag, text, **attrs)


def set_xsi_type(el: Element, type_name: str) -> Element:
    """Set `xsi:type="t:<type_name>"`, as EWS does for abstract schema types (e.g. AlternateId)."""
    el.set(qname(XSI_NS, "type"), f"t:{type_name}")
    return el


def response_message(
    parent: Element,
    operation: str,
    *,
    response_class: str = "Success",
    code: str = "NoError",
    message_text: str | None = None,
) -> Element:
    """Append `m:<operation>ResponseMessage` with ResponseClass and ResponseCode and return it.

    Success messages carry only `m:ResponseCode` (Exchange leaves out MessageText and
    DescriptiveLinkKey); add the operation's payload to the returned element. For errors use
    `error_message` from `exchangesim.ews.faults`.
    """
    msg = msub(parent, f"{operation}ResponseMessage", ResponseClass=response_class)
    if message_text is not None:
        msub(msg, "MessageText", message_text)
    msub(msg, "ResponseCode", code)
    return msg


def child(el: Element, ns: str, tag: str) -> Element | None:
    """The first child `{ns}tag` of `el`, or None."""
    return el.find(qname(ns, tag))


def children(el: Element, ns: str, tag: str) -> list[Element]:
    """All children `{ns}tag` of `el`."""
    return el.findall(qname(ns, tag))


def child_text(el: Element, ns: str, tag: str) -> str | None:
    """The stripped text of the first child `{ns}tag`, or None when the child is absent."""
    found = el.find(qname(ns, tag))
    if found is None:
        return None
    return (found.text or "").strip()


def local_name(el: Element) -> str:
    """The element's tag without its namespace."""
    return etree.QName(el).localname


def namespace(el: Element) -> str | None:
    """The element's namespace URI."""
    return etree.QName(el).namespace


# --- values -------------------------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """An aware datetime as Exchange writes it: UTC, whole seconds, `Z` (`2026-11-23T10:00:00Z`).

    Naive datetimes are a bug (STYLE habit 8) and raise ValueError.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: EWS times must be time-zone aware")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


_DT_RE = re.compile(
    r"^\s*(?P<date>-?\d{4,}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?\s*$"
)


def parse_datetime(text: str, default_tz: tzinfo = UTC) -> datetime:
    """Parse an `xs:dateTime` as clients send it (`Z`, an offset, fractions, or no zone at all).

    A value without a zone is read in `default_tz`: EWS reads such values in the request's
    TimeZoneContext, so pass that zone. Raises ValueError on anything else.
    """
    match = _DT_RE.match(text)
    if match is None:
        raise ValueError(f"not an xs:dateTime: {text!r}")
    frac = match["frac"] or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0  # .NET writes up to 7 digits
    base = datetime.fromisoformat(f"{match['date']}T{match['time']}").replace(microsecond=micro)
    tz = match["tz"]
    if tz is None:
        return base.replace(tzinfo=default_tz)
    if tz == "Z":
        return base.replace(tzinfo=UTC)
    sign = -1 if tz[0] == "-" else 1
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
    return base.replace(tzinfo=timezone(offset))


def format_date(value: date) -> str:
    """An `xs:date` (`2026-11-23`), as used by recurrence ranges."""
    return value.isoformat()


def format_duration(value: timedelta) -> str:
    """An `xs:duration` as Exchange writes time-zone biases (`PT0M`, `-PT60M`, `PT8H30M`).

    Exchange writes biases in minutes or hours and minutes (`-PT480M` or `-PT8H`); this writes
    hours and minutes, dropping a zero part, and seconds only when present.
    """
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds:
        time_part += f"{seconds}S"
    if not time_part and not days:
        time_part = "0M"
    if time_part:
        out += f"T{time_part}"
    return out


_DURATION_RE = re.compile(
    r"^(?P<sign>-)?P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse an `xs:duration` without years or months (`-PT8H`, `PT0M`, `P1DT2H`)."""
    match = _DURATION_RE.match(text.strip())
    if match is None or text.strip() in {"P", "-P", "PT", "-PT"}:
        raise ValueError(f"not a day-time xs:duration: {text!r}")
    value = timedelta(
        days=int(match["d"] or 0),
        hours=int(match["h"] or 0),
        minutes=int(match["m"] or 0),
        seconds=float(match["s"] or 0),
    )
    return -value if match["sign"] else value


def format_bool(value: bool) -> str:
    """`true` / `false`, as `xs:boolean` is written by Exchange."""
    return "true" if value else "false"


def parse_bool(text: str) -> bool:
    """Parse an `xs:boolean` (`true`, `false`, `1`, `0`)."""
    value = text.strip()
    if value in {"true", "1"}:
        return True
    if value in {"false", "0"}:
        return False
    raise ValueError(f"not an xs:boolean: {text!r}")
