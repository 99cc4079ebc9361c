"""The demo's script: what the sample organizers do, the outcomes waited for, and the table.

`Scenario.run` sends the demo's meeting requests as the organizers (exchangelib, an independent
EWS client, against the simulator) and waits for each outcome where the organizer sees it; the
steps are listed in `vmrsched.cli.demo`, which starts the simulator and the service around it.
`print_table` shows what happened to each meeting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TextIO

from exchangelib import (
    Account,
    Attendee,
    CalendarItem,
    EWSDateTime,
    EWSTimeZone,
    HTMLBody,
    Mailbox,
)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingResponse
from exchangelib.recurrence import Recurrence, WeeklyPattern

from vmrsched.cli.demo_tenant import (
    RESOURCE,
    organizer_account,
)
from vmrsched.cli.meetings import recent_meetings
from vmrsched.domain.meetings import MeetingRef

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.server import RunningServer
    from vmrsched.ports.store import Store

ZONE: Final = "Europe/Berlin"
#: How long a step waits for its outcome before the demo calls it a failure.
OUTCOME_TIMEOUT: Final = timedelta(seconds=60)


@dataclass(frozen=True)
class Row:
    """One line of the demo's table."""

    step: str
    organizer: str
    outcome: str
    reason: str
    alias: str
    seconds: float


class DemoError(Exception):
    """A step did not end as it should have; the message says which and why."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


@dataclass
class Scenario:
    """The sample organizers' actions, run in a worker thread (exchangelib is blocking)."""

    server: RunningServer
    store: Store
    make_offer: Callable[[str], str]  # organizer → the instructions HTML with the alias token
    out: TextIO

    def __post_init__(self) -> None:
        self.zone = EWSTimeZone(ZONE)
        self.accounts: dict[str, Account] = {}
        self.rows: list[Row] = []

    def account(self, email: str) -> Account:
        if email not in self.accounts:
            self.accounts[email] = organizer_account(self.server, email)
        return self.accounts[email]

    def tomorrow(self, hour: int, days: int = 1) -> EWSDateTime:
        now = EWSDateTime.now(self.zone)
        day = now + timedelta(days=days)
        return day.replace(hour=hour, minute=0, second=0, microsecond=0)

    def invite(self, email: str, subject: str, body: str, start: EWSDateTime, **extra: Any) -> Any:
        account = self.account(email)
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject=subject,
            body=HTMLBody(body),
            start=start,
            end=start + timedelta(hours=1),
            required_attendees=[Attendee(mailbox=Mailbox(email_address=RESOURCE))],
            **extra,
        )
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        return item

    def responses(self, email: str, subject: str) -> list[Any]:
        account = self.account(email)
        return [
            item
            for item in account.inbox.all().order_by("datetime_received")
            if isinstance(item, MeetingResponse) and subject in (item.subject or "")
        ]

    def wait(self, what: str, check: Callable[[], bool]) -> float:
        began = time.monotonic()
        deadline = began + OUTCOME_TIMEOUT.total_seconds()
        while not check():
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{what}: no outcome within {OUTCOME_TIMEOUT.total_seconds():.0f} s",
                    fix="run again with --log-level info to see what the service did",
                )
            time.sleep(0.25)
        return time.monotonic() - began

    def answered(self, step: str, email: str, subject: str, *, before: int) -> None:
        """Wait for a new response to ``subject`` in the organizer's inbox; add its row."""
        seconds = self.wait(step, lambda: len(self.responses(email, subject)) > before)
        response = self.responses(email, subject)[-1]
        self.add_row(step, email, subject, seconds, shown=str(response.subject).split(":")[0])

    def add_row(self, step: str, email: str, subject: str, seconds: float, *, shown: str) -> None:
        line = next(
            (
                m
                for m in recent_meetings(self.store)
                if (m.organizer, m.subject) == (email, subject)
            ),
            None,
        )
        outcome = line.outcome if line is not None else "?"
        reason = line.reason if line is not None else ""
        alias = line.alias if line is not None and line.booking == "active" else "-"
        self.rows.append(Row(step, email, f"{shown} ({outcome})", reason, alias, seconds))
        print(f"  ✓ {step}: {shown.lower()} after {seconds:.1f} s", file=self.out)

    def run(self) -> list[Row]:
        alice, bob, carol = "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"

        print("  → Alice sends 'Design review' with a VMR reserved by the add-in", file=self.out)
        self.invite(alice, "Design review", self.make_offer(alice), self.tomorrow(10))
        self.answered("single meeting with a token", alice, "Design review", before=0)

        print("  → Bob sends the weekly 'Team sync' (4 weeks) with a VMR", file=self.out)
        start = self.tomorrow(9)
        weekly = Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[start.isoweekday()]),
            start=start.date(),
            number=4,
        )
        series = self.invite(bob, "Team sync", self.make_offer(bob), start, recurrence=weekly)
        self.answered("weekly series", bob, "Team sync", before=0)

        print("  → Bob moves the second 'Team sync' one hour later", file=self.out)
        occurrence = series.occurrence(index=2)
        occurrence.refresh()
        occurrence.start += timedelta(hours=1)
        occurrence.end += timedelta(hours=1)
        occurrence.save(
            update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
        )
        self.answered("edited occurrence", bob, "Team sync", before=1)

        print("  → Carol sends 'Budget 2027', then cancels it", file=self.out)
        budget = self.invite(carol, "Budget 2027", self.make_offer(carol), self.tomorrow(14))
        self.answered("meeting before its cancellation", carol, "Budget 2027", before=0)
        budget.refresh()  # its UID names the meeting in vmrsched's store
        meeting_key = MeetingRef(carol, budget.uid).meeting_key if budget.uid else None
        budget.cancel()
        seconds = self.wait(
            "cancellation", lambda: self.released(carol, "Budget 2027", meeting_key)
        )
        self.add_row("cancellation", carol, "Budget 2027", seconds, shown="Released")

        print("  → Alice sends 'Coffee chat' without using the add-in", file=self.out)
        self.invite(
            alice, "Coffee chat", "<p>See you at the coffee machine.</p>", self.tomorrow(16)
        )
        self.answered("meeting without a token", alice, "Coffee chat", before=0)
        return self.rows

    def released(self, email: str, subject: str, meeting_key: str | None) -> bool:
        if meeting_key is not None:
            booking = self.store.booking_for_meeting(meeting_key)
            return booking is not None and not booking.is_active
        line = next(
            (
                m
                for m in recent_meetings(self.store)
                if (m.organizer, m.subject) == (email, subject)
            ),
            None,
        )
        return line is not None and line.booking == "released"


def print_table(rows: list[Row], out: TextIO) -> None:
    """The demo's summary: what happened to each sample meeting."""
    headers = ["#", "STEP", "ORGANIZER", "OUTCOME", "ALIAS", "REASON"]
    cells = [
        [str(n), row.step, row.organizer, row.outcome, row.alias, row.reason]
        for n, row in enumerate(rows, start=1)
    ]
    widths = [max(len(c) for c in column) for column in zip(headers, *cells, strict=True)]
    widths[-1] = min(widths[-1], 60)

    def line(values: list[str]) -> str:
        return "  ".join(v[:w].ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    print(line(headers), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for values in cells:
        print(line(values), file=out)


__all__ = ["OUTCOME_TIMEOUT", "ZONE", "DemoError", "Row", "Scenario", "print_table"]
