"""Support for the recurring-series end-to-end tests: sending series and the windows they ask for.

The expected windows are written out by hand in each test (local dates and times in the
organizer's zone), so they check the product's expansion instead of repeating it.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.items import MeetingResponse
from exchangelib.recurrence import Recurrence
from flows_support import invite

from vmrsched.domain.meetings import MeetingRef

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from test_end_to_end import LiveService

#: The organizers' zone: exchangelib sends it as its Windows name, "W. Europe Standard Time".
BERLIN = "Europe/Berlin"
BEFORE, AFTER = timedelta(minutes=30), timedelta(minutes=60)  # the default buffers

Span = tuple[datetime, datetime]


def local(day: date, at: time, zone: str = BERLIN) -> datetime:
    """``day`` at wall-clock ``at`` in ``zone``, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone))


def expected_windows(
    days: Iterable[date], at: time, duration: timedelta, zone: str = BERLIN
) -> list[Span]:
    """The windows (UTC) of occurrences on ``days`` at ``at`` local time, buffers added."""
    spans = []
    for day in days:
        start = local(day, at, zone).astimezone(UTC)
        spans.append((start - BEFORE, start + duration + AFTER))
    return spans


def send_series(
    live: LiveService,
    organizer: str,
    subject: str,
    body: str,
    *,
    first: datetime,
    duration: timedelta,
    pattern: Any,
    boundary: Any,
    others: tuple[str, ...] = (),
    zone: str = BERLIN,
) -> Any:
    """Send a recurring meeting with the resource (and ``others``) invited; return it."""
    start = ews_local(first, zone)
    recurrence = Recurrence(pattern=pattern, boundary=boundary)
    return invite(
        live, organizer, subject, body, start, start + duration, others, recurrence=recurrence
    )


def ews_local(value: datetime, zone: str = BERLIN) -> Any:
    """``value`` (an aware datetime) as exchangelib's datetime in ``zone`` (sent by Windows name)."""
    wall = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return EWSDateTime.from_datetime(wall).replace(tzinfo=EWSTimeZone(zone))


def decisions(live: LiveService, organizer: str, item: Any) -> list[str]:
    """Every outcome the service decided for the organizer's meeting, oldest first."""
    key = MeetingRef(organizer, item.uid).meeting_key
    events = live.store.events_for_meeting(key)
    return [str(e.detail["decision"]["outcome"]) for e in events if e.kind == "decision"]


def booked_windows(live: LiveService, organizer: str, item: Any) -> list[Span]:
    """The booking's windows for the organizer's meeting, in UTC, sorted; [] when none/released."""
    booking = live.store.booking_for_meeting(MeetingRef(organizer, item.uid).meeting_key)
    if booking is None or not booking.is_active:
        return []
    return sorted((w.start.astimezone(UTC), w.end.astimezone(UTC)) for w in booking.windows)


def booking_of(live: LiveService, organizer: str, item: Any) -> Any:
    """The booking (any state) for the organizer's meeting, or None."""
    return live.store.booking_for_meeting(MeetingRef(organizer, item.uid).meeting_key)


def settle(live: LiveService, check: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Wait until ``check()`` holds: woken by the service's reads and replies, re-checked often.

    A decision that sends nothing (a cancellation, an ignored forward) wakes no one, so the
    condition is also re-checked every 50 ms instead of waiting for the next poll.
    """
    deadline = clock.monotonic() + timeout
    with live.changed:
        while not check():
            left = deadline - clock.monotonic()
            assert left > 0, "timed out waiting for the service to decide"
            live.changed.wait(timeout=min(left, 0.05))


def reply_texts(live: LiveService, organizer: str, subject: str) -> list[str]:
    """The plain text of each response the organizer got for ``subject``, oldest first."""
    found = [
        item
        for item in live.account(organizer).inbox.all().order_by("datetime_received")
        if isinstance(item, MeetingResponse) and str(item.subject).endswith(subject)
    ]
    return [" ".join(str(item.text_body or item.body or "").split()) for item in found]
