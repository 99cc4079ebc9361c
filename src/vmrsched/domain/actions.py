"""Actions and decisions: what the planner decides, for the service to record and then perform.

A `Decision` answers one message: its outcome, and the actions in the order the service performs
them (book before answering, so an acceptance never promises a VMR that is not booked). Every
field is plain data, so a decision can be stored as JSON before any action runs.
"""

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vmrsched.domain.bookings import SeriesPlan, Window
from vmrsched.domain.templates import TemplateName

Variables = tuple[tuple[str, str], ...]


def variables(values: Mapping[str, str]) -> Variables:
    """Template variables as a sorted tuple of pairs (hashable, stable for storage)."""
    return tuple(sorted(values.items()))


class Outcome(StrEnum):
    """How a message was answered. Reply outcomes share their template's name."""

    ACCEPT_NEW_SINGLE_MEETING = TemplateName.ACCEPT_NEW_SINGLE_MEETING.value
    ACCEPT_NEW_RECURRING_SERIES = TemplateName.ACCEPT_NEW_RECURRING_SERIES.value
    ACCEPT_EDITED_SINGLE_MEETING = TemplateName.ACCEPT_EDITED_SINGLE_MEETING.value
    ACCEPT_EDITED_RECURRING_SERIES = TemplateName.ACCEPT_EDITED_RECURRING_SERIES.value
    ACCEPT_EDITED_OCCURRENCE = TemplateName.ACCEPT_EDITED_OCCURRENCE.value
    REJECT_INVALID_ALIAS_ID = TemplateName.REJECT_INVALID_ALIAS_ID.value
    REJECT_ALIAS_DELETED = TemplateName.REJECT_ALIAS_DELETED.value
    REJECT_SINGLE_MEETING_PAST = TemplateName.REJECT_SINGLE_MEETING_PAST.value
    REJECT_RECURRING_SERIES_PAST = TemplateName.REJECT_RECURRING_SERIES_PAST.value
    REJECT_ALIAS_CONFLICT = TemplateName.REJECT_ALIAS_CONFLICT.value
    REJECT_GENERAL_ERROR = TemplateName.REJECT_GENERAL_ERROR.value
    REJECT_ORGANIZER_NOT_ALLOWED = TemplateName.REJECT_ORGANIZER_NOT_ALLOWED.value
    CANCELLED = "cancelled"  # booking (or one occurrence's window) released; no reply is sent
    SERIES_EXTENDED = "series_extended"  # a series' windows extended as time passed; no reply
    INSTRUCTIONS_RESTORED = "instructions_restored"  # lost instructions written back; no reply
    IGNORED = "ignored"  # nothing to do: duplicate, stale, our own update, not a meeting...


@dataclass(frozen=True)
class Accept:
    """Accept the meeting request, with a message rendered from ``template``."""

    template: TemplateName
    variables: Variables


@dataclass(frozen=True)
class Decline:
    """Decline the meeting request, with a message rendered from ``template``."""

    template: TemplateName
    variables: Variables
    reason: str


@dataclass(frozen=True)
class Book:
    """Create the meeting's booking (or reactivate its released one) on reservation ``token_id``.

    ``new_reservation`` is True when the reservation was allocated for this message (placeholder
    and allocate flows): the service stores it along with the booking. ``series`` is what a
    series' windows were planned from (see `SeriesPlan`); it becomes the booking's.
    """

    meeting_key: str
    token_id: str
    alias: str
    numeric_alias: str
    windows: tuple[Window, ...]
    sequence: int
    new_reservation: bool = False
    series: SeriesPlan | None = None


@dataclass(frozen=True)
class MoveWindows:
    """Replace all windows of a booking (a time change, a series edit, one occurrence moved, a
    series extended as time passes); ``series`` becomes the booking's plan (see `Book`)."""

    booking_id: str
    windows: tuple[Window, ...]
    sequence: int
    series: SeriesPlan | None = None


@dataclass(frozen=True)
class Rebook:
    """Switch a booking to another reservation (the organizer added a new VMR to the meeting)."""

    booking_id: str
    token_id: str
    alias: str
    numeric_alias: str
    windows: tuple[Window, ...]
    sequence: int
    new_reservation: bool = False
    series: SeriesPlan | None = None


@dataclass(frozen=True)
class Release:
    """Release a booking: its VMR can no longer be joined."""

    booking_id: str
    reason: str
    sequence: int


@dataclass(frozen=True)
class WriteInstructions:
    """As the organizer, write the joining instructions into the meeting and update attendees.

    ``replace_placeholder`` is the placeholder token text to replace (its surrounding placeholder
    block), or None to add the instructions. ``marker`` is what the adapter stores on the item so
    that the update coming back to the resource mailbox is recognised (`MeetingMessage.marker`).
    ``sequence`` is the message's: the booking has now seen it, so a duplicate writes nothing.
    """

    organizer_email: str
    uid: str
    token_id: str
    alias: str
    numeric_alias: str
    replace_placeholder: str | None
    marker: str
    sequence: int
    occurrence_original_start: datetime | None = None  # set: write into that occurrence only


@dataclass(frozen=True)
class Ignore:
    """Do nothing but record why."""

    reason: str


Action = Accept | Decline | Book | MoveWindows | Rebook | Release | WriteInstructions | Ignore


@dataclass(frozen=True)
class Decision:
    """The planner's answer to one message."""

    message_id: str
    meeting_key: str
    outcome: Outcome
    actions: tuple[Action, ...]
    correlation_id: str
    reason: str = ""

    @property
    def reply(self) -> Accept | Decline | None:
        """The answer to the organizer, if one is sent."""
        return next((a for a in self.actions if isinstance(a, Accept | Decline)), None)


def correlation_id_for(message_id: str) -> str:
    """A short id for support, derived from the message so a re-plan gives the same one."""
    digest = hashlib.sha256(b"vmrsched correlation\x00" + message_id.encode("utf-8")).digest()
    text = base64.b32encode(digest).decode("ascii").lower()
    return f"{text[0:4]}-{text[4:8]}-{text[8:12]}"
