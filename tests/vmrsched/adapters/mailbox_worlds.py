"""The two worlds the mailbox contract runs in: the shipped fake, and the EWS adapter against a
live exchangesim where organizers use exchangelib as their Outlook.

A world owns a mailbox under test and plays everyone else: organizers send, move and cancel
meetings; someone deletes a request; the server throttles; the service restarts.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from exchangelib import Attendee, CalendarItem, EWSDateTime, HTMLBody
from exchangelib import Mailbox as ExchangelibMailbox
from exchangelib.recurrence import Recurrence as EwsRecurrence
from exchangelib.recurrence import WeeklyPattern as EwsWeekly
from exchangelib_client import make_account
from harness import ALICE, VMR
from mailbox_support import exchange_settings

from vmrsched.adapters.ews.client import EwsMailbox
from vmrsched.adapters.ews.connection import RetryBudget
from vmrsched.adapters.fake_mailbox import FakeMailbox
from vmrsched.domain import recurrence as rec
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import Mailbox, MailboxUnavailableError, ReplyKind

if TYPE_CHECKING:
    from harness import SimServer

START = datetime(2027, 3, 1, 9, tzinfo=UTC)  # a Monday


@dataclass
class Meeting:
    """An organizer's meeting, as the world tracks it."""

    organizer: str
    subject: str
    start: datetime
    end: datetime
    handle: Any = None  # the fake's message, or the organizer's exchangelib CalendarItem
    sequence: int = 0


class World(Protocol):
    """Everything a contract test needs besides the mailbox itself."""

    mailbox: Mailbox

    def send(
        self,
        subject: str,
        *,
        body_html: str = "<p>Join</p>",
        start: datetime = START,
        weekly: int | None = None,
    ) -> Meeting: ...
    def reschedule(self, meeting: Meeting, start: datetime, end: datetime) -> None: ...
    def move_occurrence(self, meeting: Meeting, index: int, shift: timedelta) -> None: ...
    def cancel(self, meeting: Meeting) -> None: ...
    def delete_request(self, message_id: str) -> None: ...
    def responses(self, organizer: str = ALICE) -> list[tuple[ReplyKind, str]]: ...
    def organizer_body(self, meeting: Meeting) -> str: ...
    def restart(self) -> Mailbox: ...
    def refused_cursor(self) -> str: ...
    def throttle(self) -> None: ...
    def close(self) -> None: ...


# --- the fake ----------------------------------------------------------------------------------


@dataclass
class FakeWorld:
    """The in-memory mailbox; organizers are the test itself."""

    mailbox: FakeMailbox = field(default_factory=lambda: FakeMailbox(VMR))
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _message(self, meeting: Meeting, kind: MessageKind, body_html: str) -> MeetingMessage:
        return MeetingMessage(
            message_id=f"msg-{next(self._ids)}",
            kind=kind,
            uid=f"uid-{meeting.subject}",
            sequence=meeting.sequence,
            organizer_email=meeting.organizer,
            organizer_name="Alice Wilber",
            sender_email=meeting.organizer,
            subject=meeting.subject
            if kind is not MessageKind.CANCEL
            else f"Canceled: {meeting.subject}",
            body_html=body_html,
            start=meeting.start,
            end=meeting.end,
            time_zone="Europe/Berlin",
            recurrence=meeting.handle,
            received=datetime.now(UTC),
        )

    def send(
        self,
        subject: str,
        *,
        body_html: str = "<p>Join</p>",
        start: datetime = START,
        weekly: int | None = None,
    ) -> Meeting:
        meeting = Meeting(ALICE, subject, start, start + timedelta(hours=1))
        if weekly is not None:
            days = frozenset({rec.Weekday(start.weekday())})
            meeting.handle = rec.Recurrence(
                rec.WeeklyPattern(days), rec.NumberedRange(start.date(), weekly)
            )
        self.mailbox.deliver(self._message(meeting, MessageKind.NEW, body_html))
        return meeting

    def reschedule(self, meeting: Meeting, start: datetime, end: datetime) -> None:
        meeting.start, meeting.end, meeting.sequence = start, end, meeting.sequence + 1
        self.mailbox.deliver(self._message(meeting, MessageKind.UPDATE, "<p>Join</p>"))

    def move_occurrence(self, meeting: Meeting, index: int, shift: timedelta) -> None:
        original = meeting.start + timedelta(weeks=index - 1)
        meeting.sequence += 1
        series = self._message(meeting, MessageKind.UPDATE, "<p>Join</p>")
        self.mailbox.deliver(
            dataclasses.replace(
                series,
                recurrence=None,
                occurrence_original_start=original,
                start=original + shift,
                end=original + shift + timedelta(hours=1),
            )
        )

    def cancel(self, meeting: Meeting) -> None:
        meeting.sequence += 1
        self.mailbox.deliver(self._message(meeting, MessageKind.CANCEL, ""))

    def delete_request(self, message_id: str) -> None:
        self.mailbox.remove(message_id)

    def responses(self, organizer: str = ALICE) -> list[tuple[ReplyKind, str]]:
        return [
            (r.kind, r.body_html) for r in self.mailbox.replies if r.organizer_email == organizer
        ]

    def organizer_body(self, meeting: Meeting) -> str:
        return self.mailbox.meeting_body(meeting.organizer, f"uid-{meeting.subject}") or ""

    def restart(self) -> Mailbox:
        return self.mailbox  # Exchange's state survives our crash; the fake is that state

    def refused_cursor(self) -> str:
        cursor = self.mailbox.fetch_changes(None).cursor
        self.mailbox.expire_cursors()
        return cursor

    def throttle(self) -> None:
        error = MailboxUnavailableError("ErrorServerBusy", retry_after=timedelta(seconds=120))
        self.mailbox.fail("fetch_changes", error)

    def close(self) -> None:
        self.mailbox.close()


# --- EWS against exchangesim -----------------------------------------------------------------


@dataclass
class Sleeps:
    """The adapter's back-off waits, recorded instead of slept; `on_sleep` lets time 'pass'."""

    waits: list[float] = field(default_factory=list)
    on_sleep: Any = None

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep()


class EwsWorld:
    """The EWS adapter on a fresh simulator; Alice's exchangelib client is her Outlook."""

    def __init__(self, sim: SimServer, **options: Any) -> None:
        self.sim = sim
        self.sleeps = Sleeps()
        self._options = {"sleep": self.sleeps, "budget": RetryBudget(), **options}
        self.mailbox: EwsMailbox = self._open()
        self._opened = [self.mailbox]
        self._clients: dict[str, Any] = {}

    def _open(self, **changes: Any) -> EwsMailbox:
        settings = dataclasses.replace(exchange_settings(self.sim), **changes)
        return EwsMailbox.from_settings(settings, **self._options)

    def client(self, email: str) -> Any:
        """A person's (or the resource's) own exchangelib client."""
        if email not in self._clients:
            self._clients[email] = make_account(self.sim, email)
        return self._clients[email]

    def send(
        self,
        subject: str,
        *,
        body_html: str = "<p>Join</p>",
        start: datetime = START,
        weekly: int | None = None,
    ) -> Meeting:
        alice = self.client(ALICE)
        meeting = Meeting(ALICE, subject, start, start + timedelta(hours=1))
        item = CalendarItem(
            account=alice,
            folder=alice.calendar,
            subject=subject,
            body=HTMLBody(body_html),
            start=EWSDateTime.from_datetime(meeting.start),
            end=EWSDateTime.from_datetime(meeting.end),
            required_attendees=[
                Attendee(mailbox=ExchangelibMailbox(email_address=VMR), response_type="Unknown")
            ],
        )
        if weekly is not None:
            item.recurrence = EwsRecurrence(
                pattern=EwsWeekly(interval=1, weekdays=[start.isoweekday()]),
                start=date(start.year, start.month, start.day),
                number=weekly,
            )
        item.save(send_meeting_invitations="SendToAllAndSaveCopy")
        meeting.handle = item
        return meeting

    def reschedule(self, meeting: Meeting, start: datetime, end: datetime) -> None:
        item = meeting.handle
        item.refresh()
        item.start, item.end = EWSDateTime.from_datetime(start), EWSDateTime.from_datetime(end)
        item.save(update_fields=["start", "end"], send_meeting_invitations="SendToAllAndSaveCopy")
        meeting.start, meeting.end = start, end

    def move_occurrence(self, meeting: Meeting, index: int, shift: timedelta) -> None:
        occurrence = meeting.handle.occurrence(index=index)
        occurrence.refresh()
        occurrence.start += shift
        occurrence.end += shift
        occurrence.save(
            update_fields=["start", "end"], send_meeting_invitations="SendToAllAndSaveCopy"
        )

    def cancel(self, meeting: Meeting) -> None:
        meeting.handle.refresh()
        meeting.handle.cancel()

    def delete_request(self, message_id: str) -> None:
        resource = self.client(VMR)
        resource.inbox.get(id=message_id).delete()

    def responses(self, organizer: str = ALICE) -> list[tuple[ReplyKind, str]]:
        kinds = {
            "IPM.Schedule.Meeting.Resp.Pos": ReplyKind.ACCEPT,
            "IPM.Schedule.Meeting.Resp.Tent": ReplyKind.TENTATIVE,
            "IPM.Schedule.Meeting.Resp.Neg": ReplyKind.DECLINE,
        }
        inbox = self.client(organizer).inbox
        return [
            (kinds[item.item_class], str(item.body or ""))
            for item in inbox.filter(item_class__startswith="IPM.Schedule.Meeting.Resp")
        ]

    def organizer_body(self, meeting: Meeting) -> str:
        meeting.handle.refresh()
        return str(meeting.handle.body or "")

    def restart(self) -> Mailbox:
        self.mailbox = self._open()
        self._opened.append(self.mailbox)
        return self.mailbox

    def refused_cursor(self) -> str:
        # A sync state of another folder (Alice's inbox): Exchange refuses it for the resource's.
        other = self._open(resource_mailbox=ALICE)
        self._opened.append(other)
        return other.fetch_changes(None).cursor

    def throttle(self) -> None:
        # Exchange's budget throttling: BackOffMilliseconds far beyond one call's wait budget.
        self.sim.knobs.update(budget_calls=1, budget_window_ms=120_000)
        self.client(VMR).root  # uses up the budget of (vmrsched, vmr@contoso.com)  # noqa: B018

    def close(self) -> None:
        for mailbox in self._opened:
            mailbox.close()
        for client in self._clients.values():
            client.protocol.close()
