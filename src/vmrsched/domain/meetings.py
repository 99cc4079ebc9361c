"""Meetings and the messages that arrive about them, in our words (not EWS's or Graph's).

A *meeting* is a calendar item with an organizer; a series is one meeting. Messages about a
meeting arrive in the resource mailbox as requests (new or updated) and cancellations; adapters
map whatever their protocol calls them into a `MeetingMessage`.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vmrsched.domain.recurrence import Recurrence
from vmrsched.domain.times import require_aware


@dataclass(frozen=True)
class MeetingRef:
    """Who organizes a meeting and its iCalendar UID: together they name the meeting.

    The UID alone is not trusted: anyone can send a request that reuses someone else's UID, so the
    organizer is part of the key. Forwards and delegate sends keep both, so they map to one key.
    For an occurrence, adapters give the series' UID (EWS ``UID``/Graph ``iCalUId`` of the master,
    never the per-instance GlobalObjectId).
    """

    organizer_email: str
    uid: str

    @property
    def meeting_key(self) -> str:
        """A stable, fixed-length key: the first 128 bits of SHA-256(organizer, UID), in hex."""
        material = f"{self.organizer_email.strip().casefold()}\x00{self.uid.strip()}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


class MessageKind(StrEnum):
    """What a message in the resource mailbox asks of us."""

    NEW = "new"  # a meeting request the adapter saw as new (we still check whether it is booked)
    UPDATE = "update"  # a meeting request that updates an earlier one (time, text, series...)
    CANCEL = "cancel"  # a cancellation of the meeting or of one occurrence
    OTHER = "other"  # anything else (responses, ordinary mail): recorded and ignored


@dataclass(frozen=True, kw_only=True)
class MeetingMessage:
    """One message that arrived in the resource mailbox, as the planner needs to see it.

    ``start``/``end`` are the meeting's (for a series: the first occurrence's, for an occurrence
    message: that occurrence's) times; ``time_zone`` is the organizer's IANA zone (adapters map
    Windows zone names), used to expand a series. ``occurrence_original_start`` is set when the
    message is about one occurrence of a series (an edited or cancelled occurrence) and is that
    occurrence's original start. ``marker`` is vmrsched's write marker as read from the item (the
    adapter writes it when it updates a meeting as its organizer; see `WriteInstructions`), or None.
    """

    message_id: str  # opaque, the adapter's id for the message (for duplicate detection and audit)
    kind: MessageKind
    uid: str
    sequence: int
    organizer_email: str
    organizer_name: str = ""
    sender_email: str = ""  # differs from the organizer for delegates and forwards
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    start: datetime | None = None
    end: datetime | None = None
    time_zone: str = "UTC"
    recurrence: Recurrence | None = None
    occurrence_original_start: datetime | None = None
    received: datetime | None = None
    marker: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "occurrence_original_start", "received"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)
        if self.kind is not MessageKind.OTHER:
            if self.start is None or self.end is None:
                raise ValueError(f"a {self.kind} message needs start and end")
            if self.end < self.start:
                raise ValueError("a meeting cannot end before it starts")
        if self.recurrence is not None and self.occurrence_original_start is not None:
            raise ValueError("a message is about a series or about one occurrence, not both")

    @property
    def ref(self) -> MeetingRef:
        """The meeting this message is about."""
        return MeetingRef(self.organizer_email, self.uid)

    @property
    def meeting_key(self) -> str:
        """The stable key of the meeting (see `MeetingRef.meeting_key`)."""
        return self.ref.meeting_key

    @property
    def sent_by_another(self) -> bool:
        """True when the Sender is somebody other than the organizer: a delegate, or an attendee
        forwarding the meeting (Exchange shows both the same way)."""
        sender = self.sender_email.strip().casefold()
        return bool(sender) and sender != self.organizer_email.strip().casefold()

    @property
    def is_series(self) -> bool:
        """True when the message describes a whole recurring series."""
        return self.recurrence is not None

    @property
    def is_occurrence(self) -> bool:
        """True when the message is about one occurrence of a series."""
        return self.occurrence_original_start is not None

    def times(self) -> tuple[datetime, datetime]:
        """Start and end; only OTHER messages may lack them."""
        if self.start is None or self.end is None:
            raise ValueError("this message has no meeting times")
        return self.start, self.end


def organizer_domain(email: str) -> str:
    """The domain part of an e-mail address, case-folded ('' when there is none)."""
    _, _, domain = email.strip().rpartition("@")
    return domain.casefold() if "@" in email else ""
