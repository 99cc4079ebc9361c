"""Series and occurrences of stored calendar items.

A recurring master stores its pattern, its exceptions (full items) and its deleted occurrences;
occurrences are computed on demand as views with an occurrence id (master id + instance index).
Editing an occurrence turns it into an exception; changing the series' time or pattern drops all
exceptions and deletions, as Outlook and Exchange do ("exceptions will be lost").
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from exchangesim.store import ids, recurrence, timezones
from exchangesim.store.errors import (
    InvalidProperty,
    InvalidRecurrence,
    OccurrenceDeleted,
    OccurrenceOutOfRange,
)
from exchangesim.store.items import ASF_MEETING, Address, CalendarItem, Item

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from zoneinfo import ZoneInfo

# Never settable through an update: the store owns these.
READ_ONLY = frozenset(
    {
        "id",
        "change_key",
        "folder_id",
        "item_class",
        "size",
        "date_time_created",
        "last_modified_time",
        "exceptions",
        "deleted_occurrences",
        "master_id",
        "appointment_last_sequence",
        "calendar_item_type",
        "original_start",
        "recurrence_id",
    }
)
# A change of these is significant ([MS-OXOCAL] 3.1.4.7.3.1): start, end, recurrence.
SIGNIFICANT = frozenset({"start", "end", "recurrence", "is_all_day", "start_time_zone"})
# Occurrence edits may not touch series-level properties.
_SERIES_ONLY = frozenset({"recurrence", "uid", "start_time_zone", "end_time_zone"})


@dataclass(frozen=True)
class OccurrenceInfo:
    """EWS ``OccurrenceInfoType``: an occurrence's id, start, end and original start."""

    item_id: str
    start: datetime
    end: datetime
    original_start: datetime


@dataclass
class Edit:
    """What `apply_changes` did: the changed stored item, its master and what changed."""

    item: CalendarItem
    master: CalendarItem
    index: int | None
    changed: set[str] = field(default_factory=set)
    before: CalendarItem | None = None

    @property
    def significant(self) -> bool:
        """Whether start, end or recurrence changed (a full update)."""
        return bool(self.changed & SIGNIFICANT)


def new_uid(now: datetime) -> str:
    """An iCalendar UID in Exchange's GlobalObjectId form ([MS-OXOCAL] 2.2.1.27), as hex."""
    filetime = int((now - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
    return (
        "040000008200E00074C5B7101A82E008"  # class id
        "00000000"  # instance date: the whole series
        + filetime.to_bytes(8, "little").hex().upper()
        + "0000000000000000"
        + "10000000"  # 16 bytes of data follow
        + secrets.token_hex(16).upper()
    )


def zone_of(item: CalendarItem) -> ZoneInfo:
    """The series' time zone (its start time zone)."""
    return timezones.zone(item.start_time_zone)


def _span(item: CalendarItem) -> tuple[datetime, datetime]:
    if item.start is None or item.end is None:
        raise InvalidProperty("a calendar item needs a start and an end")
    if item.end < item.start:
        raise InvalidProperty(
            "the end is before the start", code="ErrorCalendarEndDateIsEarlierThanStartDate"
        )
    return item.start, item.end


def pattern(master: CalendarItem) -> Iterator[recurrence.Occurrence]:
    """The master's occurrences before exceptions and deletions."""
    if master.recurrence is None:
        return iter(())
    start, end = _span(master)
    return recurrence.occurrences(master.recurrence, start, end - start, zone_of(master))


def normalize(item: CalendarItem) -> None:
    """Check time zones and recurrence; move a master's start/end to its first occurrence."""
    start, end = _span(item)
    zone_of(item)
    timezones.zone(item.end_time_zone)
    if item.recurrence is None:
        if item.calendar_item_type == "RecurringMaster":
            item.calendar_item_type = "Single"
        return
    recurrence.validate(item.recurrence)
    first = next(pattern(item), None)
    if first is None:
        raise InvalidRecurrence("the recurrence has no occurrence")
    item.start, item.end = first.start, first.start + (end - start)
    item.calendar_item_type = "RecurringMaster"


def prepare_new(item: CalendarItem, owner: Address, now: datetime) -> None:
    """Fill what Exchange fills on a new calendar item in the owner's calendar."""
    if not item.uid:
        item.uid = new_uid(now)
    if item.organizer is None:
        item.organizer = owner
    item.is_organizer = item.organizer.key == owner.key
    if item.is_organizer:
        item.my_response_type = "Organizer"
        item.is_meeting = bool(item.attendees())
        item.appointment_state = ASF_MEETING if item.is_meeting else 0
        if item.is_meeting and item.is_response_requested is None:
            item.is_response_requested = True
    item.calendar_item_type = "Single"
    item.exceptions, item.deleted_occurrences = [], []
    normalize(item)


def exception_at(master: CalendarItem, original_start: datetime) -> CalendarItem | None:
    """The stored exception for the occurrence originally at ``original_start``."""
    return next((e for e in master.exceptions if e.original_start == original_start), None)


def _occurrence_view(
    master: CalendarItem, index: int, start: datetime, end: datetime
) -> CalendarItem:
    view = copy.deepcopy(master)
    view.id = ids.occurrence_id(master.id, index)
    view.master_id = master.id
    view.calendar_item_type = "Occurrence"
    view.start, view.end = start, end
    view.original_start = view.recurrence_id = start
    view.recurrence, view.exceptions, view.deleted_occurrences = None, [], []
    return view


def _view(master: CalendarItem, occurrence: recurrence.Occurrence) -> CalendarItem:
    found = exception_at(master, occurrence.start)
    if found is not None:
        return copy.deepcopy(found)
    return _occurrence_view(master, occurrence.index, occurrence.start, occurrence.end)


def occurrence(master: CalendarItem, index: int) -> CalendarItem:
    """A copy of occurrence ``index`` (its exception if it has one)."""
    found = None
    if master.recurrence is not None and index >= 1:
        start, end = _span(master)
        found = recurrence.occurrence_at(
            master.recurrence, start, end - start, zone_of(master), index
        )
    if found is None:
        raise OccurrenceOutOfRange(f"series has no occurrence {index}")
    if found.start in master.deleted_occurrences:
        raise OccurrenceDeleted(f"occurrence {index} was deleted")
    return _view(master, found)


def index_of(master: CalendarItem, original_start: datetime) -> int | None:
    """The instance index of the occurrence originally at ``original_start``."""
    if master.recurrence is None or master.start is None:
        return None
    return recurrence.index_of(master.recurrence, master.start, zone_of(master), original_start)


def _overlaps(item: CalendarItem, lo: datetime, hi: datetime) -> bool:
    start, end = _span(item)
    return start < hi and (end > lo or start >= lo)


def expand(master: CalendarItem, lo: datetime, hi: datetime, limit: int) -> list[CalendarItem]:
    """Copies of the occurrences and exceptions overlapping ``[lo, hi)``, by start."""
    moved = {e.original_start for e in master.exceptions}
    views: list[CalendarItem] = []
    for found in pattern(master):
        if found.start >= hi or len(views) >= limit:
            break
        if found.start in moved or found.start in master.deleted_occurrences:
            continue
        if found.start < hi and (found.end > lo or found.start >= lo):
            views.append(_view(master, found))
    views.extend(copy.deepcopy(e) for e in master.exceptions if _overlaps(e, lo, hi))
    views.sort(key=lambda v: (v.start, v.id))
    return views[:limit]


def _info(master: CalendarItem, found: recurrence.Occurrence) -> OccurrenceInfo:
    view = _view(master, found)
    assert view.start is not None
    assert view.end is not None
    return OccurrenceInfo(view.id, view.start, view.end, found.start)


def first_occurrence(master: CalendarItem) -> OccurrenceInfo | None:
    """EWS ``FirstOccurrence`` (skipping deleted occurrences)."""
    for found in pattern(master):
        if found.start not in master.deleted_occurrences:
            return _info(master, found)
    return None


def last_occurrence(master: CalendarItem) -> OccurrenceInfo | None:
    """EWS ``LastOccurrence``; None for a series without end."""
    if master.recurrence is None or isinstance(master.recurrence.range, recurrence.NoEndRange):
        return None
    last = None
    for found in pattern(master):
        if found.start not in master.deleted_occurrences:
            last = found
    return None if last is None else _info(master, last)


def modified_occurrences(master: CalendarItem) -> list[OccurrenceInfo]:
    """EWS ``ModifiedOccurrences``: the exceptions by original start."""
    infos = []
    for exc in master.exceptions:
        assert exc.start is not None
        assert exc.end is not None
        assert exc.original_start is not None
        infos.append(OccurrenceInfo(exc.id, exc.start, exc.end, exc.original_start))
    return sorted(infos, key=lambda info: info.original_start)


def make_exception(master: CalendarItem, index: int, change_key: str) -> CalendarItem:
    """Turn occurrence ``index`` into a stored exception (or return the existing one)."""
    view = occurrence(master, index)
    stored = exception_at(master, view.original_start) if view.original_start else None
    if stored is not None:
        return stored
    view.calendar_item_type = "Exception"
    view.change_key = change_key
    master.exceptions.append(view)
    return view


def deleted_view(master: CalendarItem, original_start: datetime) -> CalendarItem:
    """The deleted occurrence originally at ``original_start``, as it was (to cancel it again)."""
    start, end = _span(master)
    index = index_of(master, original_start) or 0
    return _occurrence_view(master, index, original_start, original_start + (end - start))


def delete_occurrence(master: CalendarItem, index: int) -> datetime:
    """Delete occurrence ``index`` from the series; returns its original start."""
    view = occurrence(master, index)
    assert view.original_start is not None
    master.exceptions = [e for e in master.exceptions if e.original_start != view.original_start]
    master.deleted_occurrences.append(view.original_start)
    master.deleted_occurrences.sort()
    return view.original_start


def check_changes(item: Item, changes: Mapping[str, object]) -> None:
    """Refuse unknown or read-only property names."""
    names = {f.name for f in dataclasses.fields(item)}
    for name in changes:
        if name not in names or name in READ_ONLY:
            raise InvalidProperty(f"cannot set {name!r} on {type(item).__name__}")


def apply_to_series(master: CalendarItem, changes: Mapping[str, object]) -> set[str]:
    """Apply changes to a single item or master; returns the names whose value changed."""
    check_changes(master, changes)
    changed = {name for name, value in changes.items() if getattr(master, name) != value}
    old = copy.deepcopy(master)
    for name in changed:
        setattr(master, name, changes[name])
    if master.recurrence is not None and changed & {"start", "end"} and "recurrence" not in changed:
        # Moving a master to another day moves the pattern's start date with it.
        assert master.start is not None
        local_day = master.start.astimezone(zone_of(master)).date()
        master.recurrence = dataclasses.replace(
            master.recurrence,
            range=dataclasses.replace(master.recurrence.range, start_date=local_day),
        )
    normalize(master)
    if changed & SIGNIFICANT:
        master.exceptions, master.deleted_occurrences = [], []
    else:
        # Series-wide edits reach the exceptions that still had the series' old value.
        for exc in master.exceptions:
            for name in changed - {"recurrence"}:
                if getattr(exc, name) == getattr(old, name):
                    setattr(exc, name, copy.deepcopy(changes[name]))
    return changed


def apply_to_occurrence(
    master: CalendarItem, index: int, changes: Mapping[str, object], change_key: str
) -> tuple[CalendarItem, set[str]]:
    """Apply changes to one occurrence, making it an exception; returns it and what changed."""
    if set(changes) & _SERIES_ONLY:
        raise InvalidProperty(
            "series properties cannot be set on an occurrence",
            code="ErrorInvalidPropertyForOperation",
        )
    target = make_exception(master, index, change_key)
    check_changes(target, changes)
    changed = {name for name, value in changes.items() if getattr(target, name) != value}
    for name in changed:
        setattr(target, name, changes[name])
    _span(target)
    return target, changed
