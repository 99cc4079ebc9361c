"""EWS items (as exchangelib parses them, see `models`) ⇄ our words. Pure: no IO, no clock.

Reading: `meeting_message` turns a request or cancellation into a `MeetingMessage`: its kind
from the item type and ``MeetingRequestType``, UID, sequence, organizer, sender, bodies, times,
the organizer's zone (Windows name → IANA), its series (`to_recurrence`) or the occurrence it is
about, and vmrsched's marker.

Writing: our marks travel in HTML bodies as comments (invisible when read): the write marker on
the organizer's meeting, because Exchange copies no custom property from the organizer's item
into the meeting messages it sends; and a reply's idempotency key, because a response object
may carry no extended property at all (``WellKnownResponseObjectType`` in the schema). The write
marker is also put on the organizer's item as an extended property (`models.WriteMarker`).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

from exchangelib.items import (
    AcceptItem,
    DeclineItem,
    MeetingCancellation,
    MeetingRequest,
    TentativelyAcceptItem,
)
from exchangelib.properties import HTMLBody, ReferenceItemId
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from vmrsched.domain import recurrence as rec
from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.instructions import at_body_end, insert_instructions
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import ReplyKind

if TYPE_CHECKING:
    from exchangelib.items import BaseMeetingReplyItem

#: A cancellation of a whole meeting whose sequence cannot be read is taken as newer than
#: anything seen, so it is never mistaken for a stale message (the largest value a 32-bit
#: sequence column holds). Nothing follows a cancelled meeting: Exchange gives a new meeting a new
#: UID. A cancelled *occurrence* without a sequence counts as 0: occurrence messages are not
#: compared by sequence, and a high value would make later series updates look stale.
UNKNOWN_CANCEL_SEQUENCE: Final = 2**31 - 1
_MARKER_COMMENT: Final = re.compile(r"<!--\s*vmrsched-marker:\s*(\S+?)\s*-->")
_MARKER_TEXT: Final = re.compile(r"vmrsched:[0-9a-f]{32}:\d+")
_KEY_COMMENT: Final = re.compile(r"<!--\s*vmrsched-key:\s*(\S+?)\s*-->")


# --- items → MeetingMessage ------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What SyncFolderItems told about a new item before it was read (IdOnly + ItemClass)."""

    item_id: str
    item_class: str


def is_meeting_class(item_class: str) -> bool:
    """Whether an item class is a request or cancellation (the only items GetItem reads)."""
    cls = item_class.casefold()
    return cls.startswith(("ipm.schedule.meeting.request", "ipm.schedule.meeting.canceled"))


def other_message(seen: Seen, received: datetime | None = None) -> MeetingMessage:
    """An item we do not act on (mail, responses, notifications), recorded as OTHER."""
    return MeetingMessage(
        message_id=seen.item_id,
        kind=MessageKind.OTHER,
        uid="",
        sequence=0,
        organizer_email="",
        subject=seen.item_class,
        received=received,
    )


def message_kind(item: Any) -> MessageKind:
    """NEW, UPDATE, CANCEL or OTHER from the item's type and its MeetingRequestType.

    An out-of-date request (a newer one about the same meeting or occurrence has arrived) is
    OTHER: answering it would send a reply the organizer no longer cares about, and the newer
    request is read and answered on its own.
    """
    if isinstance(item, MeetingCancellation):
        return MessageKind.CANCEL
    if not isinstance(item, MeetingRequest):
        return MessageKind.OTHER
    kind = item.meeting_request_type or "None"
    if item.is_out_of_date or kind in ("Outdated", "PrincipalWantsCopy"):
        return MessageKind.OTHER
    if kind == "NewMeetingRequest":
        return MessageKind.NEW
    if kind in ("FullUpdate", "InformationalUpdate", "SilentUpdate"):
        return MessageKind.UPDATE
    return MessageKind.NEW if _sequence(item) in (None, 0) else MessageKind.UPDATE


def meeting_message(item: Any) -> MeetingMessage:
    """Our view of one item GetItem returned. Items that cannot name their meeting are OTHER."""
    kind = message_kind(item)
    item_id = str(item.id)
    received = _aware(getattr(item, "datetime_received", None))
    if kind is MessageKind.OTHER:
        return other_message(Seen(item_id, str(item.item_class or "")), received)
    organizer_name, organizer_email = _organizer(item)
    start, end = _aware(item.start), _aware(item.end)
    uid = str(getattr(item, "uid", None) or "").strip()
    if not uid or not organizer_email or start is None or end is None:
        return other_message(Seen(item_id, f"{item.item_class} (incomplete)"), received)
    occurrence_start = _occurrence_start(item)
    sequence = _sequence(item)
    if sequence is None:
        whole = kind is MessageKind.CANCEL and occurrence_start is None
        sequence = UNKNOWN_CANCEL_SEQUENCE if whole else 0
    time_zone = iana_zone(getattr(item, "start_timezone_id", None)) or "UTC"
    series = None if occurrence_start is not None else to_recurrence(item)
    html, text = _bodies(item)
    return MeetingMessage(
        message_id=item_id,
        kind=kind,
        uid=uid,
        sequence=sequence,
        organizer_email=organizer_email,
        organizer_name=organizer_name,
        sender_email=_address(item.sender)[1],
        subject=str(item.subject or ""),
        body_text=text,
        body_html=html,
        start=start,
        end=max(end, start),
        time_zone=time_zone,
        recurrence=series,
        occurrence_original_start=occurrence_start,
        received=received,
        marker=marker_of(item, html, text),
    )


def iana_zone(windows_id: str | None) -> str | None:
    """The IANA zone for a Windows time-zone id (``W. Europe Standard Time``), or None.

    Exchange names zones by Windows ids; display names ("(UTC+01:00) Amsterdam, …") are not
    mapped (exchangelib issue #541) and give None, as do unknown ids.
    """
    if not windows_id:
        return None
    name = MS_TIMEZONE_TO_IANA_MAP.get(windows_id.strip())
    return None if name is None else str(name)


def marker_of(item: Any, html: str, text: str) -> str | None:
    """vmrsched's write marker: the extended property, else the body's comment or text."""
    value = getattr(item, "write_marker", None)
    if value:
        return str(value)
    if match := _MARKER_COMMENT.search(html):
        return match.group(1)
    if match := _MARKER_TEXT.search(text):
        return match.group(0)
    return None


def _sequence(item: Any) -> int | None:
    for name in ("appointment_sequence_number", "appointment_sequence"):
        value = getattr(item, name, None)
        if isinstance(value, int) and value >= 0:
            return value
    return None


def _address(mailbox: Any) -> tuple[str, str]:
    if mailbox is None:
        return "", ""
    return str(mailbox.name or "").strip(), str(mailbox.email_address or "").strip()


def _organizer(item: Any) -> tuple[str, str]:
    # A request names its organizer; a cancellation is From the organizer (a delegate or a
    # forwarder shows up as Sender, never as From).
    for candidate in (getattr(item, "organizer", None), item.author, item.sender):
        name, email = _address(candidate)
        if email:
            return name, email
    return "", ""


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # EWS sends UTC; exchangelib keeps it aware, this is a safeguard
        value = value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value.timestamp(), UTC)


def _occurrence_start(item: Any) -> datetime | None:
    value = _aware(getattr(item, "recurrence_id", None))
    if value is not None:
        return value
    if getattr(item, "type", None) in ("Occurrence", "Exception"):
        return _aware(getattr(item, "original_start", None))
    return None


def _bodies(item: Any) -> tuple[str, str]:
    body = item.body
    text = str(getattr(item, "text_body", None) or "")
    if body is None:
        return "", text
    if type(body).__name__ == "HTMLBody":
        return str(body), text or html_to_text(str(body))
    return "", text or str(body)


# --- recurrence -----------------------------------------------------------------------------


def _weekdays(value: int) -> frozenset[rec.Weekday]:
    # exchangelib numbers EWS DaysOfWeek 1..7 (Monday..Sunday), then 8 Day, 9 Weekday,
    # 10 WeekendDay.
    if value == 8:
        return rec.EVERY_DAY
    if value == 9:
        return rec.WEEKDAYS
    if value == 10:
        return rec.WEEKEND_DAYS
    return frozenset({rec.Weekday(value - 1)})


def _week_index(value: int) -> rec.WeekIndex:
    return rec.WeekIndex.LAST if value == 5 else rec.WeekIndex(value)


def _pattern(pattern: Any) -> rec.Pattern | None:
    if isinstance(pattern, DailyPattern):
        return rec.DailyPattern(pattern.interval)
    if isinstance(pattern, WeeklyPattern):
        days = frozenset(rec.Weekday(day - 1) for day in pattern.weekdays)
        first = rec.Weekday((pattern.first_day_of_week or 1) - 1)
        return rec.WeeklyPattern(days, pattern.interval, first)
    if isinstance(pattern, AbsoluteMonthlyPattern):
        return rec.AbsoluteMonthlyPattern(pattern.day_of_month, pattern.interval)
    if isinstance(pattern, RelativeMonthlyPattern):
        return rec.RelativeMonthlyPattern(
            _weekdays(pattern.weekday), _week_index(pattern.week_number), pattern.interval
        )
    if isinstance(pattern, AbsoluteYearlyPattern):
        return rec.AbsoluteYearlyPattern(pattern.month, pattern.day_of_month)
    if isinstance(pattern, RelativeYearlyPattern):
        return rec.RelativeYearlyPattern(
            pattern.month, _weekdays(pattern.weekday), _week_index(pattern.week_number)
        )
    return None  # task regeneration patterns: not a meeting's


def _date(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _range(boundary: Any) -> rec.Range | None:
    if isinstance(boundary, NoEndPattern):
        return rec.NoEndRange(_date(boundary.start))
    if isinstance(boundary, EndDatePattern):
        return rec.EndDateRange(_date(boundary.start), _date(boundary.end))
    if isinstance(boundary, NumberedPattern):
        return rec.NumberedRange(_date(boundary.start), boundary.number)
    return None


def to_recurrence(item: Any) -> rec.Recurrence | None:
    """The series an item describes (pattern, range, exceptions), or None for a single meeting."""
    source = getattr(item, "recurrence", None)
    if source is None:
        return None
    pattern, span = _pattern(source.pattern), _range(source.boundary)
    if pattern is None or span is None:
        return None
    modified = []
    for occurrence in getattr(item, "modified_occurrences", None) or ():
        original, start, end = (
            _aware(occurrence.original_start),
            _aware(occurrence.start),
            _aware(occurrence.end),
        )
        if original is not None and start is not None and end is not None:
            modified.append(rec.ModifiedOccurrence(original, start, max(start, end)))
    deleted = [
        value
        for occurrence in getattr(item, "deleted_occurrences", None) or ()
        if (value := _aware(occurrence.start)) is not None
    ]
    return rec.Recurrence(pattern, span, tuple(modified), tuple(deleted))


# --- our marks in bodies, and responses ------------------------------------------------------


def with_marker(html: str, marker: str) -> str:
    """`html` carrying `marker` as an HTML comment at the end of its body (any earlier marker
    comment replaced)."""
    return at_body_end(_MARKER_COMMENT.sub("", html), f"<!-- vmrsched-marker: {marker} -->")


def key_digest(key: str) -> str:
    """What is written for an idempotency key: 32 hex digits of its SHA-256 (fixed length, and
    safe inside an HTML comment whatever the key holds)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def with_key(html: str, key: str) -> str:
    """A response body carrying its idempotency key's digest as an HTML comment."""
    return _KEY_COMMENT.sub("", html).rstrip() + f"\n<!-- vmrsched-key: {key_digest(key)} -->"


def key_in_body(html: str) -> str | None:
    """The idempotency key digest a response body carries, if any."""
    match = _KEY_COMMENT.search(html)
    return match.group(1) if match else None


RESPONSE_CLASSES: Final[dict[ReplyKind, type[Any]]] = {
    ReplyKind.ACCEPT: AcceptItem,
    ReplyKind.TENTATIVE: TentativelyAcceptItem,
    ReplyKind.DECLINE: DeclineItem,
}


def response_item(
    kind: ReplyKind, message_id: str, body_html: str, key: str, account: Any
) -> BaseMeetingReplyItem:
    """The CreateItem response object (AcceptItem, …) answering `message_id`, its body carrying
    the key's digest (the schema allows no extended property on a response object)."""
    return RESPONSE_CLASSES[kind](
        account=account,
        reference_item_id=ReferenceItemId(id=message_id),
        body=HTMLBody(with_key(body_html, key)),
    )


# --- writing instructions as the organizer ---------------------------------------------------


def body_as_html(body: Any) -> str:
    """An item's body as HTML: a plain-text body (a text-only client wrote it) is escaped, its
    lines kept as lines, so writing HTML instructions into it keeps the organizer's text."""
    if body is None:
        return ""
    if type(body).__name__ == "HTMLBody":
        return str(body)
    lines = html.escape(str(body)).splitlines()
    return "<html><body>" + "<br>".join(lines) + "</body></html>" if lines else ""


def with_instructions(
    html: str,
    instructions_html: str,
    marker: str,
    *,
    replace_placeholder: bool,
    placeholder_text: str = "",
) -> str:
    """The organizer's body with the instructions in it (`insert_instructions`) and our marker."""
    updated = insert_instructions(
        html,
        instructions_html,
        replace_placeholder=replace_placeholder,
        placeholder_text=placeholder_text,
    )
    return with_marker(updated, marker)
