"""Series booked up to a horizon and extended as time passes, within a pass, on virtual time.

A daily series without end, ``series_horizon`` ten days: booked for the occurrences of the next
ten days; once less than five days are booked ahead, the next pass books up to ten days from its
clock again, keeping the edits and cancellations read meanwhile. Expected windows are written out
as days after the first occurrence, never computed with the product's expansion.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from service_support import (
    FakeMailbox,
    ManualClock,
    meeting,
    reserve,
    rules,
    token_body,
)

from vmrsched.adapters.db import SqlStore
from vmrsched.domain.actions import Outcome
from vmrsched.domain.meetings import MessageKind
from vmrsched.domain.recurrence import (
    DailyPattern,
    NoEndRange,
    NumberedRange,
    Recurrence,
)
from vmrsched.ports.store import StoreUnavailableError
from vmrsched.service.sync import sync_mailbox

if TYPE_CHECKING:
    from collections.abc import Iterator

    from vmrsched.domain.meetings import MeetingMessage
    from vmrsched.service.sync import PassReport

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 11, 24)  # the day after NOW (2026-11-23 08:00 UTC)
EIGHT = time(8)  # 07:00 UTC in winter: an hour before NOW's time of day, off every boundary
HORIZON = rules(series_horizon=timedelta(days=10))


def _at(day: int, hour: time = EIGHT) -> datetime:
    """Occurrence ``day`` (0 = the first) at ``hour`` Berlin time, in UTC."""
    return datetime.combine(FIRST_DAY + timedelta(days=day), hour, tzinfo=BERLIN).astimezone(UTC)


def _windows(days: list[int]) -> list[tuple[datetime, datetime]]:
    """The windows of the occurrences on ``days``: 30 minutes before, 60 after, one hour long."""
    return [(_at(d) - timedelta(minutes=30), _at(d) + timedelta(hours=2)) for d in days]


@pytest.fixture
def store() -> Iterator[SqlStore]:
    """An empty in-memory store."""
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


def _series(store: SqlStore, message_id: str = "s1", **recurrence: Any) -> MeetingMessage:
    series = Recurrence(DailyPattern(1), recurrence.pop("range", NoEndRange(FIRST_DAY)))
    return meeting(
        message_id,
        body_html=token_body(reserve(store)),
        start=_at(0),
        recurrence=series,
    )


def _booked(store: SqlStore, message: MeetingMessage) -> list[tuple[datetime, datetime]]:
    booking = store.booking_for_meeting(message.meeting_key)
    assert booking is not None
    return sorted((w.start, w.end) for w in booking.windows)


def _pass(mailbox: FakeMailbox, store: Any, clock: ManualClock) -> PassReport:
    return sync_mailbox(mailbox, store, clock, HORIZON)


def _outcomes(store: SqlStore, message: MeetingMessage) -> list[str]:
    events = store.events_for_meeting(message.meeting_key)
    return [str(e.detail["decision"]["outcome"]) for e in events if e.kind == "decision"]


def test_a_series_without_end_is_extended_once_half_its_horizon_has_passed(
    store: SqlStore,
) -> None:
    """Booked for ten days; four days on nothing changes; six days on the pass books up to ten
    days from then (the windows already held stay, the days in between are added)."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    assert _booked(store, series) == _windows(list(range(10)))

    clock.advance(timedelta(days=4))
    assert _pass(mailbox, store, clock).extended == 0
    assert _booked(store, series) == _windows(list(range(10)))

    clock.advance(timedelta(days=2))
    assert _pass(mailbox, store, clock).extended == 1
    # NOW + 16 days is 9 December 08:00 UTC: day 15 (9 December 07:00 UTC) is the last.
    assert _booked(store, series) == _windows(list(range(16)))
    assert _outcomes(store, series) == ["accept_new_recurring_series", "series_extended"]


def test_an_extension_is_recorded_once_and_sends_nothing(store: SqlStore) -> None:
    """Passes at the same moment extend once; the extension is a decision without effects."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    clock.advance(timedelta(days=6))
    assert [_pass(mailbox, store, clock).extended for _ in range(3)] == [1, 0, 0]
    assert _outcomes(store, series).count(Outcome.SERIES_EXTENDED.value) == 1
    # Only the acceptance of the series waits to be sent (no pass performs effects).
    assert [e.kind for e in store.pending_effects(clock() + timedelta(days=1))] == ["reply"]


def test_an_occurrence_cancelled_beyond_the_horizon_is_not_booked_later(store: SqlStore) -> None:
    """Day 12's cancellation arrives while only ten days are booked; the extension skips it."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    cancel = meeting(
        "c12",
        kind=MessageKind.CANCEL,
        sequence=1,
        start=_at(12),
        occurrence_original_start=_at(12),
    )
    mailbox.deliver(cancel)
    report = _pass(mailbox, store, clock)
    assert [p.outcome for p in report.processed] == [Outcome.CANCELLED]
    clock.advance(timedelta(days=6))
    _pass(mailbox, store, clock)
    assert _booked(store, series) == _windows([d for d in range(16) if d != 12])


def test_an_occurrence_moved_before_the_extension_keeps_its_new_time(store: SqlStore) -> None:
    """Day 3 moved to 15:00: after the extension it is still at 15:00, the others at 09:00."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    moved = meeting(
        "m3",
        kind=MessageKind.UPDATE,
        sequence=1,
        body_html=series.body_html,
        start=_at(3, time(15)),
        occurrence_original_start=_at(3),
    )
    mailbox.deliver(moved)
    _pass(mailbox, store, clock)
    clock.advance(timedelta(days=6))
    _pass(mailbox, store, clock)
    expected = _windows([d for d in range(16) if d != 3])
    expected.append((_at(3, time(15)) - timedelta(minutes=30), _at(3, time(17))))
    assert _booked(store, series) == sorted(expected)


def test_a_series_that_ends_within_the_horizon_is_never_extended(store: SqlStore) -> None:
    """Five occurrences, all within the horizon: nothing is left to extend."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store, range=NumberedRange(FIRST_DAY, 5))
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    clock.advance(timedelta(days=8))
    assert _pass(mailbox, store, clock).extended == 0
    assert store.bookings_to_extend(clock() + timedelta(days=365)) == []


class _FailingOnce:
    """The store, whose first extension fails as if the database went away mid-commit."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.failed = False

    def record_decision(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.key.startswith("series-extension/") and not self.failed:
            self.failed = True
            raise StoreUnavailableError("connection lost")
        return self.store.record_decision(message, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_an_extension_interrupted_before_its_commit_is_done_by_the_next_pass(
    store: SqlStore,
) -> None:
    """The database fails while the extension is recorded: nothing changed; the next pass
    extends."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    clock.advance(timedelta(days=6))
    failing = _FailingOnce(store)
    with pytest.raises(StoreUnavailableError):
        _pass(mailbox, failing, clock)
    assert _booked(store, series) == _windows(list(range(10)))
    assert _pass(mailbox, failing, clock).extended == 1
    assert _booked(store, series) == _windows(list(range(16)))


def test_the_first_pass_after_a_long_stop_books_from_its_own_clock(store: SqlStore) -> None:
    """Forty days without a pass: the next one adds the occurrences of the ten days ahead only."""
    mailbox, clock = FakeMailbox(), ManualClock()
    series = _series(store)
    mailbox.deliver(series)
    _pass(mailbox, store, clock)
    clock.advance(timedelta(days=40))
    assert _pass(mailbox, store, clock).extended == 1
    assert _booked(store, series) == _windows([*range(10), *range(40, 50)])
