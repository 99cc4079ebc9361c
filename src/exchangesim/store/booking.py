"""The Resource Booking Attendant's decision (``AutomateProcessing AutoAccept``), pure.

What Exchange checks, per ``Set-CalendarProcessing``
(https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing):

- ``AllowRecurringMeetings`` false declines any series;
- ``MaximumDurationInMinutes`` (0 = unlimited) declines longer meetings or occurrences;
- ``BookingWindowInDays``: a meeting starting after the window is declined; a series reaching
  past it is declined when ``EnforceSchedulingHorizon`` is true, else accepted;
- ``AllowConflicts`` false: conflicting busy time declines a single meeting; a series is declined
  when more than ``MaximumConflictInstances`` occurrences or more than
  ``ConflictPercentageAllowed`` percent of them conflict.

Not simulated: delegates and ``BookInPolicy``/``RequestInPolicy`` lists (everyone is in policy),
working hours, capacity, and declining only the conflicting occurrences of an accepted series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exchangesim.store.mailbox import CalendarProcessing

ACCEPTED_TEXT = "Your request was accepted."
DECLINED_TEXT = "Your request was declined."

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Decision:
    """Accept or decline, with the reasons Exchange would give for a decline."""

    accept: bool
    reasons: tuple[str, ...] = ()

    def text(self, processing: CalendarProcessing) -> str:
        """The response body the resource sends."""
        lines = [ACCEPTED_TEXT if self.accept else DECLINED_TEXT, *self.reasons]
        if processing.add_additional_response and processing.additional_response:
            lines.append(processing.additional_response)
        return "\n".join(lines)


def horizon(processing: CalendarProcessing, now: datetime) -> datetime:
    """The end of the booking window."""
    return now + timedelta(days=processing.booking_window_in_days)


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def decide(
    processing: CalendarProcessing,
    occurrences: Sequence[Span],
    *,
    recurring: bool,
    ends_after_window: bool,
    busy: Sequence[Span],
) -> Decision:
    """Decide on a meeting with these occurrence spans against the resource's busy spans.

    ``occurrences`` are the spans up to the booking window's end (a single meeting: its span);
    ``ends_after_window`` says whether a single meeting starts, or a series ends (or never
    ends), after the window; see `horizon`.
    """
    reasons: list[str] = []
    if recurring and not processing.allow_recurring_meetings:
        reasons.append("Recurring meetings aren't allowed.")
    limit = processing.maximum_duration_in_minutes
    if limit and any(end - start > timedelta(minutes=limit) for start, end in occurrences):
        reasons.append(f"The meeting is longer than the {limit}-minute limit.")
    if ends_after_window and (processing.enforce_scheduling_horizon or not recurring):
        reasons.append(
            f"The meeting is outside the {processing.booking_window_in_days}-day booking window."
        )
    if not processing.allow_conflicts and occurrences:
        conflicts = sum(1 for span in occurrences if any(_overlap(span, b) for b in busy))
        if conflicts and (
            not recurring
            or conflicts > processing.maximum_conflict_instances
            or conflicts * 100 > processing.conflict_percentage_allowed * len(occurrences)
        ):
            reasons.append("The resource is already booked at that time.")
    return Decision(accept=not reasons, reasons=tuple(dict.fromkeys(reasons)))
