"""``patternedRecurrence`` (Graph) to and from the store's EWS-shaped recurrence.

https://learn.microsoft.com/graph/api/resources/patternedrecurrence: pattern types ``daily``,
``weekly``, ``absoluteMonthly``, ``relativeMonthly``, ``absoluteYearly``, ``relativeYearly``;
range types ``noEnd``, ``endDate``, ``numbered``. Responses carry every field (``month`` 0,
``index`` "first" ... when unused), as Graph's own responses do
(../shared/conformance/graph-samples/events-list-seriesMaster-group.json). EWS's ``Day``,
``Weekday`` and ``WeekendDay`` are Graph's lists of seven, five and two days.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, cast, get_args

from exchangesim.graph.errors import bad_request
from exchangesim.store.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DayName,
    DayOfWeek,
    EndDateRange,
    MonthName,
    NoEndRange,
    NumberedRange,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeekIndex,
    WeeklyPattern,
)

_DAYS: Final[tuple[DayName, ...]] = get_args(DayName)
_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "Day": tuple(d.lower() for d in _DAYS),
    "Weekday": ("monday", "tuesday", "wednesday", "thursday", "friday"),
    "WeekendDay": ("saturday", "sunday"),
}
_MONTHS: Final[tuple[MonthName, ...]] = get_args(MonthName)
_INDEXES: Final[tuple[WeekIndex, ...]] = get_args(WeekIndex)


def _days(day: DayOfWeek) -> list[str]:
    return list(_GROUPS.get(day, (day.lower(),)))


def to_json(recurrence: Recurrence | None, zone: str) -> dict[str, Any] | None:
    """The ``patternedRecurrence`` of a series (None for anything else)."""
    if recurrence is None:
        return None
    p = recurrence.pattern
    pattern: dict[str, Any] = {
        "type": "daily",
        "interval": getattr(p, "interval", 1),
        "month": 0,
        "dayOfMonth": 0,
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    if isinstance(p, WeeklyPattern):
        pattern |= {
            "type": "weekly",
            "daysOfWeek": [d for day in p.days_of_week for d in _days(day)],
            "firstDayOfWeek": p.first_day_of_week.lower(),
        }
    elif isinstance(p, AbsoluteMonthlyPattern):
        pattern |= {"type": "absoluteMonthly", "dayOfMonth": p.day_of_month}
    elif isinstance(p, RelativeMonthlyPattern):
        pattern |= {
            "type": "relativeMonthly",
            "daysOfWeek": _days(p.day_of_week),
            "index": p.day_of_week_index.lower(),
        }
    elif isinstance(p, AbsoluteYearlyPattern):
        pattern |= {
            "type": "absoluteYearly",
            "interval": 1,
            "dayOfMonth": p.day_of_month,
            "month": _MONTHS.index(p.month) + 1,
        }
    elif isinstance(p, RelativeYearlyPattern):
        pattern |= {
            "type": "relativeYearly",
            "interval": 1,
            "daysOfWeek": _days(p.day_of_week),
            "index": p.day_of_week_index.lower(),
            "month": _MONTHS.index(p.month) + 1,
        }
    r = recurrence.range
    rng: dict[str, Any] = {
        "type": "noEnd",
        "startDate": r.start_date.isoformat(),
        "endDate": "0001-01-01",
        "recurrenceTimeZone": zone,
        "numberOfOccurrences": 0,
    }
    if isinstance(r, EndDateRange):
        rng |= {"type": "endDate", "endDate": r.end_date.isoformat()}
    elif isinstance(r, NumberedRange):
        rng |= {"type": "numbered", "numberOfOccurrences": r.number_of_occurrences}
    return {"pattern": pattern, "range": rng}


def _day_of_week(days: list[str]) -> DayOfWeek:
    wanted = tuple(sorted(d.lower() for d in days))
    for name, group in _GROUPS.items():
        if wanted == tuple(sorted(group)) and len(wanted) > 1:
            return cast("DayOfWeek", name)
    if len(wanted) != 1 or wanted[0].capitalize() not in _DAYS:
        raise bad_request("daysOfWeek must name one day (or all, the weekdays, the weekend).")
    return cast("DayOfWeek", wanted[0].capitalize())


def _index(value: Any) -> WeekIndex:
    name = str(value or "first").capitalize()
    for index in _INDEXES:
        if index == name:
            return index
    raise bad_request(f"Invalid recurrence index '{value}'.")


def _month(value: Any) -> MonthName:
    if not isinstance(value, int) or not 1 <= value <= 12:
        raise bad_request("recurrence month must be 1..12.")
    return _MONTHS[value - 1]


def from_json(data: Any) -> Recurrence | None:
    """The store recurrence of a request's ``recurrence`` (None for null); 400 when unreadable."""
    if data is None:
        return None
    try:
        p, r = data["pattern"], data["range"]
        kind = p["type"]
        interval = int(p.get("interval") or 1)
        days = [str(d) for d in p.get("daysOfWeek") or []]
        pattern: Any
        if kind == "daily":
            pattern = DailyPattern(interval=interval)
        elif kind == "weekly":
            pattern = WeeklyPattern(
                days_of_week=tuple(cast("DayOfWeek", d.capitalize()) for d in days),
                interval=interval,
                first_day_of_week=cast(
                    "DayName", str(p.get("firstDayOfWeek") or "sunday").capitalize()
                ),
            )
        elif kind == "absoluteMonthly":
            pattern = AbsoluteMonthlyPattern(day_of_month=int(p["dayOfMonth"]), interval=interval)
        elif kind == "relativeMonthly":
            pattern = RelativeMonthlyPattern(
                day_of_week=_day_of_week(days),
                day_of_week_index=_index(p.get("index")),
                interval=interval,
            )
        elif kind == "absoluteYearly":
            pattern = AbsoluteYearlyPattern(
                day_of_month=int(p["dayOfMonth"]), month=_month(p.get("month"))
            )
        elif kind == "relativeYearly":
            pattern = RelativeYearlyPattern(
                day_of_week=_day_of_week(days),
                day_of_week_index=_index(p.get("index")),
                month=_month(p.get("month")),
            )
        else:
            raise bad_request(f"Unknown recurrence pattern type '{kind}'.")
        start = date.fromisoformat(r["startDate"])
        rkind = r.get("type", "noEnd")
        rng: Any
        if rkind == "noEnd":
            rng = NoEndRange(start_date=start)
        elif rkind == "endDate":
            rng = EndDateRange(start_date=start, end_date=date.fromisoformat(r["endDate"]))
        elif rkind == "numbered":
            rng = NumberedRange(
                start_date=start, number_of_occurrences=int(r["numberOfOccurrences"])
            )
        else:
            raise bad_request(f"Unknown recurrence range type '{rkind}'.")
    except (KeyError, TypeError, ValueError) as exc:
        raise bad_request(f"The recurrence is not valid: {exc}") from exc
    return Recurrence(pattern=pattern, range=rng)
