"""OData query options and ``Prefer`` preferences, as Graph's Outlook resources take them.

Supported: ``$select``, ``$top``, ``$skip``, ``$orderby`` (one property), ``$expand`` (an event
message's ``event``; a message's ``singleValueExtendedProperties`` by id), and a ``$filter``
subset: comparisons (``eq ne gt ge lt le``) of a property path (``isRead``,
``receivedDateTime``, ``start/dateTime``, ``from/emailAddress/address``,
``microsoft.graph.eventMessage/meetingMessageType`` ...) with a string, number, boolean, null or
date-time literal; ``startswith``/``contains``; joined by ``and``/``or`` with parentheses and
``not``. Filters are applied to the rendered JSON, so they see what a client sees. Anything else
is refused with 400 as Graph refuses what it cannot evaluate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.errors import bad_request
from exchangesim.graph.extended import parse_expand

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: Graph's largest page for Outlook collections (``$top``), https://learn.microsoft.com/graph/paging.
MAX_TOP: Final = 1000
EXPAND_EVENT: Final = frozenset({"microsoft.graph.eventMessage/event", "event"})

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
    |(?P<dt>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?)
    |(?P<num>-?\d+(?:\.\d+)?)
    |(?P<lp>\()|(?P<rp>\))|(?P<comma>,)
    |(?P<word>[A-Za-z_][\w./]*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains"}


@dataclass(frozen=True)
class Prefer:
    """The ``Prefer`` preferences Outlook resources honour."""

    timezone: str | None = None
    body_type: str | None = None  # "text" | "html"
    max_page_size: int | None = None

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        """Read a ``Prefer`` header (several preferences, comma-separated, or several headers)."""
        values: dict[str, str] = {}
        for part in (header or "").split(","):
            name, _, value = part.strip().partition("=")
            if name:
                values[name.strip().casefold()] = value.strip().strip('"')
        size = values.get("odata.maxpagesize")
        body = values.get("outlook.body-content-type", "").casefold() or None
        return cls(
            timezone=values.get("outlook.timezone") or None,
            body_type=body if body in ("text", "html") else None,
            max_page_size=int(size) if size and size.isdigit() and int(size) > 0 else None,
        )


@dataclass(frozen=True)
class Query:
    """The query options of one request."""

    select: tuple[str, ...] = ()
    top: int | None = None
    skip: int = 0
    orderby: tuple[str, bool] | None = None  # (property path, descending)
    expand_event: bool = False
    filter: Callable[[Mapping[str, Any]], bool] | None = None
    raw: Mapping[str, str] = field(default_factory=dict)
    #: ``$expand=singleValueExtendedProperties($filter=id eq '...')``: the property ids asked for.
    extended: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """Parse ``$select``, ``$top``, ``$skip``, ``$orderby``, ``$expand`` and ``$filter``."""
        lowered = {k.casefold(): v for k, v in params.items()}
        select = tuple(s.strip() for s in lowered.get("$select", "").split(",") if s.strip())
        top = _int(lowered.get("$top"), "$top", 1, MAX_TOP)
        skip = _int(lowered.get("$skip"), "$skip", 0, 10**9) or 0
        expand = lowered.get("$expand")
        expand_event = False
        extended: tuple[str, ...] = ()
        for wanted in _top_level(expand or ""):
            ids = parse_expand(wanted)
            if ids is not None:
                extended += ids
            elif wanted in EXPAND_EVENT:
                expand_event = True
            else:
                raise bad_request(f"Unsupported $expand: {expand}", "ErrorInvalidUrlQuery")
        orderby = None
        if "$orderby" in lowered:
            words = lowered["$orderby"].split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
                raise bad_request("Unsupported $orderby.", "ErrorInvalidUrlQuery")
            orderby = (words[0], len(words) == 2 and words[1] == "desc")
        predicate = parse_filter(lowered["$filter"]) if lowered.get("$filter") else None
        return cls(select, top, skip, orderby, expand_event, predicate, dict(params), extended)


def _top_level(expand: str) -> list[str]:
    """The items of an ``$expand`` list (commas inside parentheses do not split)."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in expand:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _int(text: str | None, name: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise bad_request(
            f"Invalid value '{text}' for query option {name}.", "ErrorInvalidUrlQuery"
        )
    return int(text)


def path_value(data: Mapping[str, Any], path: str) -> Any:
    """The value at a property path (``start/dateTime``); a type cast segment is skipped."""
    value: Any = data
    for part in path.split("/"):
        if part.startswith("microsoft.graph."):
            continue
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# --- $filter ---------------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise bad_request(f"Invalid filter clause: {text}", "ErrorInvalidUrlQueryFilter")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "dt":
        return datetime.fromisoformat(text)
    if kind == "num":
        return float(text) if "." in text else int(text)
    lowered = text.casefold()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise bad_request(f"Invalid literal {text}", "ErrorInvalidUrlQueryFilter")


def _comparable(value: Any, other: Any) -> Any:
    """Bring a JSON value to the literal's type (date-time strings become datetimes)."""
    if isinstance(other, datetime) and isinstance(value, str):
        text = value.replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text[:26] + text[27:] if "." in text else text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=other.tzinfo)
    if isinstance(value, str) and isinstance(other, str):
        return value.casefold()
    return value


def _compare(op: str, value: Any, literal: Any) -> bool:
    left = _comparable(value, literal)
    right = literal.casefold() if isinstance(literal, str) else literal
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
        )
    except TypeError:
        return False


def _either(
    a: Callable[[Mapping[str, Any]], bool], b: Callable[[Mapping[str, Any]], bool]
) -> Callable[[Mapping[str, Any]], bool]:
    return lambda d: a(d) or b(d)


def _both(
    a: Callable[[Mapping[str, Any]], bool], b: Callable[[Mapping[str, Any]], bool]
) -> Callable[[Mapping[str, Any]], bool]:
    return lambda d: a(d) and b(d)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def fail(self) -> Exception:
        return bad_request(f"Invalid filter clause: {self.text}", "ErrorInvalidUrlQueryFilter")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.fail()
        self.at += 1
        return token

    def word(self, *expected: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].casefold() in expected:
            self.at += 1
            return True
        return False

    def expression(self) -> Callable[[Mapping[str, Any]], bool]:
        left = self.conjunction()
        while self.word("or"):
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Callable[[Mapping[str, Any]], bool]:
        left = self.unary()
        while self.word("and"):
            right = self.unary()
            left = _both(left, right)
        return left

    def unary(self) -> Callable[[Mapping[str, Any]], bool]:
        if self.word("not"):
            inner = self.unary()
            return lambda d: not inner(d)
        kind, text = self.take()
        if kind == "lp":
            inner = self.expression()
            if self.take()[0] != "rp":
                raise self.fail()
            return inner
        if kind != "word":
            raise self.fail()
        if text.casefold() in _FUNCTIONS and self.peek() == ("lp", "("):
            return self.function(text.casefold())
        op_kind, op = self.take()
        if op_kind != "word" or op.casefold() not in _COMPARE:
            raise self.fail()
        literal = _literal(*self.take())
        path, operator = text, op.casefold()
        return lambda d: _compare(operator, path_value(d, path), literal)

    def function(self, name: str) -> Callable[[Mapping[str, Any]], bool]:
        self.take()
        kind, path = self.take()
        if kind != "word" or self.take()[0] != "comma":
            raise self.fail()
        kind, text = self.take()
        if kind != "str" or self.take()[0] != "rp":
            raise self.fail()
        needle = str(_literal(kind, text)).casefold()

        def test(data: Mapping[str, Any]) -> bool:
            value = path_value(data, path)
            if not isinstance(value, str):
                return False
            hay = value.casefold()
            if name == "startswith":
                return hay.startswith(needle)
            if name == "endswith":
                return hay.endswith(needle)
            return needle in hay

        # `startswith(subject,'x') eq true` is the long form of the same test.
        if self.word("eq"):
            wanted = _literal(*self.take())
            return lambda d: test(d) == wanted
        return test


def parse_filter(text: str) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate on rendered JSON for a ``$filter`` expression; 400 for what we cannot read."""
    parser = _Parser(text)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise parser.fail()
    return predicate
