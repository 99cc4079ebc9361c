"""Graph's ``patternedRecurrence`` → our `Recurrence`. Pure.

https://learn.microsoft.com/graph/api/resources/patternedrecurrence: pattern types ``daily``,
``weekly``, ``absoluteMonthly``, ``relativeMonthly``, ``absoluteYearly``, ``relativeYearly``
(``interval``, ``daysOfWeek``, ``dayOfMonth``, ``month``, ``index``, ``firstDayOfWeek``); range
types ``noEnd``, ``endDate``, ``numbered`` (``startDate``, ``endDate``, ``numberOfOccurrences``).
Graph's recurrence carries no modified or deleted occurrences (those are separate ``exception``
instances), so a series read here has none; their own messages tell about them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from vmrsched.domain import recurrence as rec

_DAYS: Final = {day.name.casefold(): day for day in rec.Weekday}
_INDEX: Final = {
    "first": rec.WeekIndex.FIRST,
    "second": rec.WeekIndex.SECOND,
    "third": rec.WeekIndex.THIRD,
    "fourth": rec.WeekIndex.FOURTH,
    "last": rec.WeekIndex.LAST,
}


def _days(pattern: dict[str, Any]) -> frozenset[rec.Weekday]:
    return frozenset(
        _DAYS[str(d).casefold()]
        for d in pattern.get("daysOfWeek") or ()
        if str(d).casefold() in _DAYS
    )


def _pattern(pattern: dict[str, Any]) -> rec.Pattern | None:
    kind = str(pattern.get("type") or "")
    interval = max(1, int(pattern.get("interval") or 1))
    index = _INDEX.get(str(pattern.get("index") or "first").casefold(), rec.WeekIndex.FIRST)
    if kind == "daily":
        return rec.DailyPattern(interval)
    if kind == "weekly":
        first = _DAYS.get(str(pattern.get("firstDayOfWeek") or "").casefold(), rec.Weekday.SUNDAY)
        return rec.WeeklyPattern(_days(pattern), interval, first)
    if kind == "absoluteMonthly":
        return rec.AbsoluteMonthlyPattern(int(pattern.get("dayOfMonth") or 0), interval)
    if kind == "relativeMonthly":
        return rec.RelativeMonthlyPattern(_days(pattern), index, interval)
    if kind == "absoluteYearly":
        return rec.AbsoluteYearlyPattern(
            int(pattern.get("month") or 0), int(pattern.get("dayOfMonth") or 0)
        )
    if kind == "relativeYearly":
        return rec.RelativeYearlyPattern(int(pattern.get("month") or 0), _days(pattern), index)
    return None


def _range(span: dict[str, Any]) -> rec.Range | None:
    kind = str(span.get("type") or "")
    start = date.fromisoformat(str(span.get("startDate")))
    if kind == "noEnd":
        return rec.NoEndRange(start)
    if kind == "endDate":
        return rec.EndDateRange(start, date.fromisoformat(str(span.get("endDate"))))
    if kind == "numbered":
        return rec.NumberedRange(start, int(span.get("numberOfOccurrences") or 0))
    return None


def to_recurrence(data: object) -> rec.Recurrence | None:
    """The series a ``patternedRecurrence`` describes; None for none or one we cannot read
    (the caller then treats the message as incomplete rather than guessing)."""
    if not isinstance(data, dict):
        return None
    pattern, span = data.get("pattern"), data.get("range")
    if not isinstance(pattern, dict) or not isinstance(span, dict):
        return None
    try:
        parsed, bounds = _pattern(pattern), _range(span)
        if parsed is None or bounds is None:
            return None
        return rec.Recurrence(parsed, bounds)
    except (TypeError, ValueError):
        return None


def time_zone(data: object) -> str:
    """The recurrence's ``recurrenceTimeZone`` ('' when absent)."""
    if isinstance(data, dict) and isinstance(data.get("range"), dict):
        return str(data["range"].get("recurrenceTimeZone") or "")
    return ""
