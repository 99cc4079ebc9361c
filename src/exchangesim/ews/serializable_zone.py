"""The time zone of a GetUserAvailability request: a `t:SerializableTimeZone`.

A SerializableTimeZone is a bias plus yearly standard/daylight switches (`Switch`, "on the
n-th weekday of a month"); `SerializableZone` is that rule as a `tzinfo`, made either from the
request's legacy `t:TimeZone` or from the `TimeZoneContext`'s Windows zone definition, and
written back as the `WorkingHours` time zone (`write_time_zone`). `request_zones` picks the
request's zone: its `t:TimeZone`, else its `TimeZoneContext`, else UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsFault
from exchangesim.ews.xml import T_NS, Element, child, child_text, tsub
from exchangesim.store import timezones
from exchangesim.store.errors import StoreError
from exchangesim.store.timezones import PeriodTransition, RecurringDayTransition

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

_DAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Switch:
    """A `SerializableTimeZoneTime`: yearly on the `day_order`-th (5 = last) weekday."""

    bias: int  # minutes added to the zone's Bias in this period
    at: time
    day_order: int
    month: int  # 0: never
    day_of_week: str


def _nth_weekday(year: int, month: int, day_name: str, order: int) -> date:
    weekday = (_DAYS.index(day_name) + 6) % 7  # Python counts from Monday
    if order >= 5 or order < 0:
        last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (order - 1))


class SerializableZone(tzinfo):
    """The availability `t:TimeZone`: minutes west of UTC plus optional yearly DST switches."""

    def __init__(self, bias: int, standard: Switch, daylight: Switch) -> None:
        self.bias = bias
        self.standard = standard
        self.daylight = daylight

    @classmethod
    def from_definition(cls, definition: timezones.TimeZoneDefinition) -> SerializableZone:
        """The legacy form of a Windows zone's current rule (for `WorkingHours`)."""
        periods = {p.id: p for p in definition.periods}
        std_bias = int(periods["std"].bias.total_seconds()) // 60
        none = Switch(0, time(0), 0, 0, "Sunday")
        standard, daylight = none, none
        for group in definition.groups:
            for rule in group.transitions:
                if isinstance(rule, PeriodTransition):
                    continue
                switch = _switch_of(rule, std_bias, periods)
                if rule.to == "std":
                    standard = switch
                else:
                    daylight = switch
        return cls(std_bias, standard, daylight)

    @property
    def has_dst(self) -> bool:
        """Whether the zone switches to daylight time at all."""
        return bool(self.standard.month and self.daylight.month) and (
            self.standard.bias != self.daylight.bias
        )

    def _offsets(self) -> tuple[timedelta, timedelta]:
        return (
            timedelta(minutes=-(self.bias + self.standard.bias)),
            timedelta(minutes=-(self.bias + self.daylight.bias)),
        )

    def _switches(self, year: int) -> tuple[datetime, datetime]:
        """(to daylight, to standard) as local wall-clock times of `year`."""
        d, s = self.daylight, self.standard
        to_dst = datetime.combine(_nth_weekday(year, d.month, d.day_of_week, d.day_order), d.at)
        to_std = datetime.combine(_nth_weekday(year, s.month, s.day_of_week, s.day_order), s.at)
        return to_dst, to_std

    def _is_dst(self, wall: datetime, *, utc: bool, fold: int = 0) -> bool:
        if not self.has_dst:
            return False
        std, dst = self._offsets()
        to_dst, to_std = self._switches(wall.year)
        if utc:  # the switches happen at local standard / daylight time respectively
            to_dst, to_std = to_dst - std, to_std - dst
        elif fold and to_std - (dst - std) <= wall < to_std:
            return False  # the repeated hour, second time round: standard time again
        if to_dst < to_std:
            return to_dst <= wall < to_std
        return not to_std <= wall < to_dst

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """Minus the bias in force at the local time `dt` (`fold` picks the repeated hour)."""
        std, dst = self._offsets()
        if dt is None:
            return std
        return dst if self._is_dst(dt.replace(tzinfo=None), utc=False, fold=dt.fold) else std

    def dst(self, dt: datetime | None) -> timedelta:
        """The daylight saving adjustment at the local time `dt`."""
        std, _ = self._offsets()
        return self.utcoffset(dt) - std

    def tzname(self, dt: datetime | None) -> str | None:  # noqa: ARG002
        """No name: the availability time zone has none."""
        return None

    def fromutc(self, dt: datetime) -> datetime:
        """The local time of a UTC time carrying this zone (`fold=1` in the repeated hour)."""
        std, dst = self._offsets()
        wall = dt.replace(tzinfo=None)
        if self._is_dst(wall, utc=True):
            return (wall + dst).replace(tzinfo=self)
        local = (wall + std).replace(tzinfo=self)
        if self.has_dst and self._is_dst(local.replace(tzinfo=None), utc=False):
            return local.replace(fold=1)  # that wall time happened once already, in daylight
        return local


def _switch_of(
    rule: RecurringDayTransition, std_bias: int, periods: dict[str, timezones.Period]
) -> Switch:
    bias = int(periods[rule.to].bias.total_seconds()) // 60 - std_bias
    at = time(*divmod(int(rule.time_offset.total_seconds()) // 60, 60))
    order = 5 if rule.occurrence < 0 else rule.occurrence
    return Switch(bias, at, order, rule.month, rule.day_of_week)


def _parse_switch(el: Element | None) -> Switch:
    if el is None:
        return Switch(0, time(0), 0, 0, "Sunday")
    try:
        return Switch(
            bias=int(child_text(el, T_NS, "Bias") or "0"),
            at=time.fromisoformat(child_text(el, T_NS, "Time") or "00:00:00"),
            day_order=int(child_text(el, T_NS, "DayOrder") or "0"),
            month=int(child_text(el, T_NS, "Month") or "0"),
            day_of_week=child_text(el, T_NS, "DayOfWeek") or "Sunday",
        )
    except ValueError as exc:
        raise EwsFault("ErrorTimeZone", "The time zone of the request is not valid.") from exc


def _parse_zone(el: Element) -> SerializableZone:
    try:
        bias = int(child_text(el, T_NS, "Bias") or "0")
    except ValueError as exc:
        raise EwsFault("ErrorTimeZone", "The time zone of the request is not valid.") from exc
    zone = SerializableZone(
        bias,
        _parse_switch(child(el, T_NS, "StandardTime")),
        _parse_switch(child(el, T_NS, "DaylightTime")),
    )
    for switch in (zone.standard, zone.daylight):
        if switch.month and (
            not 1 <= switch.month <= 12 or switch.day_of_week not in _DAYS or switch.day_order < 1
        ):
            raise EwsFault("ErrorTimeZone", "The time zone of the request is not valid.")
    return zone


def request_zones(ctx: EwsContext, request: Element) -> tuple[tzinfo, SerializableZone]:
    """(zone to read and write times in, its SerializableTimeZone form for `WorkingHours`)."""
    legacy = child(request, T_NS, "TimeZone")
    if legacy is not None:
        zone = _parse_zone(legacy)
        return zone, zone
    zone_id = ctx.time_zone_id or "UTC"
    try:
        return timezones.zone(zone_id), SerializableZone.from_definition(
            timezones.timezone_definition(zone_id)
        )
    except StoreError:
        utc = Switch(0, time(0), 0, 0, "Sunday")
        return UTC, SerializableZone(0, utc, utc)


def _write_switch(parent: Element, tag: str, switch: Switch) -> None:
    el = tsub(parent, tag)
    tsub(el, "Bias", str(switch.bias))
    tsub(el, "Time", switch.at.strftime("%H:%M:%S"))
    tsub(el, "DayOrder", str(switch.day_order))
    tsub(el, "Month", str(switch.month))
    tsub(el, "DayOfWeek", switch.day_of_week)


def write_time_zone(parent: Element, zone: SerializableZone) -> None:
    """Write `zone` as a `t:TimeZone` (`t:SerializableTimeZone`) child of `parent`."""
    tz = tsub(parent, "TimeZone")
    tsub(tz, "Bias", str(zone.bias))
    _write_switch(tz, "StandardTime", zone.standard)
    _write_switch(tz, "DaylightTime", zone.daylight)


__all__ = ["SerializableZone", "Switch", "request_zones", "write_time_zone"]
