"""Windows time zone ids (what Exchange speaks) on top of IANA zones (what Python has).

`zone` maps a Windows id such as ``W. Europe Standard Time`` to a `ZoneInfo` through the CLDR
table; `timezone_definition` describes the zone's current rule the way EWS ``TimeZoneDefinition``
does (periods with a bias, a transitions group with the yearly daylight-saving switches), built
from the POSIX TZ rule at the end of the tzdata file, so it matches what `zone` computes for
current years. Exchange sends the same shape in ``GetServerTimeZones`` and ``StartTimeZone``.
"""

from __future__ import annotations

import importlib.resources
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from exchangesim.store._windows_zones import IANA_TO_WINDOWS, WINDOWS_TO_IANA
from exchangesim.store.errors import UnknownTimeZone

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# Exchange's display names for common zones; others get "(UTC±hh:mm) <id>".
_DISPLAY_NAMES = {
    "UTC": "(UTC) Coordinated Universal Time",
    "GMT Standard Time": "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
    "W. Europe Standard Time": "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
    "Romance Standard Time": "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris",
    "Central Europe Standard Time": (
        "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague"
    ),
    "Eastern Standard Time": "(UTC-05:00) Eastern Time (US & Canada)",
    "Central Standard Time": "(UTC-06:00) Central Time (US & Canada)",
    "Mountain Standard Time": "(UTC-07:00) Mountain Time (US & Canada)",
    "Pacific Standard Time": "(UTC-08:00) Pacific Time (US & Canada)",
    "Tokyo Standard Time": "(UTC+09:00) Osaka, Sapporo, Tokyo",
    "India Standard Time": "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi",
    "AUS Eastern Standard Time": "(UTC+10:00) Canberra, Melbourne, Sydney",
}


@dataclass(frozen=True)
class Period:
    """A period of constant offset; ``bias`` is minus the UTC offset, as EWS writes it."""

    id: str
    name: str
    bias: timedelta


@dataclass(frozen=True)
class RecurringDayTransition:
    """Every year: switch to period ``to`` on the ``occurrence``-th (-1 = last) weekday of month.

    ``time_offset`` is the local time of day of the switch, in the period being left.
    """

    to: str
    time_offset: timedelta
    month: int
    day_of_week: str
    occurrence: int


@dataclass(frozen=True)
class PeriodTransition:
    """An unconditional switch to period ``to`` (a zone without daylight saving)."""

    to: str


@dataclass(frozen=True)
class TransitionsGroup:
    """A named set of transitions, referenced from `TimeZoneDefinition.transitions`."""

    id: str
    transitions: tuple[RecurringDayTransition | PeriodTransition, ...]


@dataclass(frozen=True)
class GroupTransition:
    """Switch to transitions group ``to_group``; from ``date_time`` on when given."""

    to_group: str
    date_time: datetime | None = None


@dataclass(frozen=True)
class TimeZoneDefinition:
    """EWS ``TimeZoneDefinitionType``: Id, Name, Periods, TransitionsGroups, Transitions."""

    id: str
    name: str
    periods: tuple[Period, ...]
    groups: tuple[TransitionsGroup, ...]
    transitions: tuple[GroupTransition, ...]


def known_windows_ids() -> tuple[str, ...]:
    """Every Windows time zone id the store understands, sorted."""
    return tuple(sorted(WINDOWS_TO_IANA))


def iana_name(windows_id: str) -> str:
    """The IANA zone for a Windows id; raises `UnknownTimeZone`."""
    try:
        return WINDOWS_TO_IANA[windows_id]
    except KeyError:
        raise UnknownTimeZone(f"unknown Windows time zone id {windows_id!r}") from None


def zone(windows_id: str) -> zoneinfo.ZoneInfo:
    """The `ZoneInfo` for a Windows id; raises `UnknownTimeZone`."""
    return zoneinfo.ZoneInfo(iana_name(windows_id))


def windows_id(iana: str) -> str:
    """The Windows id for an IANA zone name (any CLDR alias); raises `UnknownTimeZone`."""
    try:
        return IANA_TO_WINDOWS[iana]
    except KeyError:
        raise UnknownTimeZone(f"no Windows time zone for {iana!r}") from None


def _tzif_bytes(key: str) -> bytes:
    try:
        return (
            importlib.resources.files("tzdata").joinpath("zoneinfo", *key.split("/")).read_bytes()
        )
    except (ModuleNotFoundError, FileNotFoundError):
        for base in zoneinfo.TZPATH:
            path = Path(base, key)
            if path.is_file():
                return path.read_bytes()
    raise UnknownTimeZone(f"no tzdata file for {key!r}")


def posix_rule(iana: str) -> str:
    """The POSIX TZ rule at the end of the zone's TZif file, e.g. ``CET-1CEST,M3.5.0,M10.5.0/3``."""
    data = _tzif_bytes(iana)
    if not data.startswith(b"TZif") or not data.endswith(b"\n"):
        raise UnknownTimeZone(f"unreadable tzdata file for {iana!r}")
    return data[:-1].rsplit(b"\n", 1)[-1].decode("ascii")


_OFFSET = r"[+-]?\d{1,3}(?::\d{2}){0,2}"
_NAME = r"(?:[A-Za-z]{3,}|<[^>]+>)"
_RULE = r"M\d{1,2}\.\d\.\d(?:/" + _OFFSET + ")?"
_POSIX = re.compile(
    rf"^(?P<std>{_NAME})(?P<std_off>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_off>{_OFFSET})?,(?P<start>{_RULE}),(?P<end>{_RULE}))?$"
)


def _hours(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def _transition(rule: str, to: str) -> RecurringDayTransition:
    date_part, _, time_part = rule[1:].partition("/")
    month, week, day = (int(x) for x in date_part.split("."))
    at = _hours(time_part) if time_part else timedelta(hours=2)
    # Windows cannot say "hour 26" or "hour -1": move whole days onto the weekday instead.
    shift, at = divmod(at, timedelta(days=1))
    return RecurringDayTransition(
        to=to,
        time_offset=at,
        month=month,
        day_of_week=_DAY_NAMES[(day + shift) % 7],
        occurrence=-1 if week == 5 else week,
    )


def _display_name(windows: str, bias: timedelta) -> str:
    if windows in _DISPLAY_NAMES:
        return _DISPLAY_NAMES[windows]
    minutes = int(-bias.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"(UTC{sign}{hours:02d}:{mins:02d}) {windows}"


@cache
def timezone_definition(windows: str) -> TimeZoneDefinition:
    """The EWS time zone definition of a Windows id (current rule); raises `UnknownTimeZone`."""
    rule = posix_rule(iana_name(windows))
    match = _POSIX.match(rule)
    if match is None:
        raise UnknownTimeZone(f"cannot read the rule {rule!r} of {windows!r}")
    # POSIX offsets are west-positive, like EWS biases.
    std_bias = _hours(match["std_off"])
    std = Period(id="std", name="Standard", bias=std_bias)
    if match["dst"] is None:
        periods: tuple[Period, ...] = (std,)
        group = TransitionsGroup(id="0", transitions=(PeriodTransition(to="std"),))
    else:
        dst_off = match["dst_off"]
        dst_bias = _hours(dst_off) if dst_off else std_bias - timedelta(hours=1)
        periods = (std, Period(id="dlt", name="Daylight", bias=dst_bias))
        group = TransitionsGroup(
            id="0",
            transitions=(_transition(match["end"], "std"), _transition(match["start"], "dlt")),
        )
    return TimeZoneDefinition(
        id=windows,
        name=_display_name(windows, std_bias),
        periods=periods,
        groups=(group,),
        transitions=(GroupTransition(to_group="0"),),
    )
