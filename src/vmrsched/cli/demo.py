"""``vmrsched demo``: the whole flow on this machine, against the local Exchange simulator.

It starts `exchangesim` with its demo tenant (Contoso: organizers Alice, Bob and Carol, the
equipment mailbox ``vmr@contoso.com`` and the vmrsched app registration scoped to them), writes a
configuration into a temporary folder and runs the real service on it (EWS adapter, SQLite, web
API). Then the sample organizers use exchangelib — an independent EWS client — as their mail
client and send real meeting requests to the resource mailbox:

1. a single meeting carrying a reservation from ``reserve`` (what the add-in inserts);
2. a weekly series with a reservation;
3. one occurrence of that series moved to another time;
4. a meeting that is accepted and then cancelled;
5. a meeting sent without the add-in (no alias token).

Each step waits for its outcome where the organizer sees it — the response in the organizer's
inbox (a cancellation gets none: it waits for the released booking) — and a table shows what
happened to each. ``--once`` exits afterwards; otherwise the service keeps running until Ctrl-C.

It and `vmrsched.cli.demo_tenant` (the demo tenant's ids, settings and organizers' client) are the
only modules of vmrsched that import exchangesim (import-linter checks that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
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

from exchangesim.server import start_in_thread
from vmrsched import bootstrap
from vmrsched.cli import logs
from vmrsched.cli.commands import web_options
from vmrsched.cli.demo_tenant import (
    RESOURCE,
    demo_settings,
    demo_simulator,
    install_demo_addin,
    organizer_account,
)
from vmrsched.cli.edge import FAILED, OK
from vmrsched.cli.meetings import recent_meetings
from vmrsched.config import settings_from_mapping
from vmrsched.domain.meetings import MeetingRef
from vmrsched.service.reserve import reserve
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.service.threads import in_thread
from vmrsched.web.app import build_app
from vmrsched.web.server import split_listen, web_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.server import RunningServer
    from vmrsched.ports.store import Store

ZONE: Final = "Europe/Berlin"
#: How long a step waits for its outcome before the demo calls it a failure.
OUTCOME_TIMEOUT: Final = timedelta(seconds=60)


def _toml(settings: dict[str, Any]) -> str:
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            shown = "**********" if key == "client_secret" else value
            text = str(shown).lower() if isinstance(shown, bool) else shown
            lines.append(f"{key} = {text}" if isinstance(shown, int) else f'{key} = "{text}"')
        lines.append("")
    return "\n".join(lines)


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


def run_demo(
    *, once: bool, listen: str, out: TextIO, log_level: str = "info", api: str = "ews"
) -> int:
    """Run the demo; see the module docstring. The service's log goes to a file in the demo's
    folder (its last lines are shown when something fails)."""
    with tempfile.TemporaryDirectory(prefix="vmrsched-demo-") as temp:
        folder = Path(temp)
        log_file = folder / "service.log"
        with (
            log_file.open("a", encoding="utf-8") as log_stream,
            logs.redirected(log_stream, level=log_level),
        ):
            status = _run_demo(folder, once=once, listen=listen, out=out, api=api)
        if status != OK:
            tail = log_file.read_text(encoding="utf-8").splitlines()[-15:]
            print("\nThe service's last log lines:", file=out)
            for line in tail:
                print(f"  {line[:400]}", file=out)
        return status


def _run_demo(folder: Path, *, once: bool, listen: str, out: TextIO, api: str = "ews") -> int:
    server = start_in_thread(demo_simulator(api), "127.0.0.1", 0, tls=True)
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    # The organizers' exchangelib trusts the simulator's private CA through requests.
    os.environ["REQUESTS_CA_BUNDLE"] = str(server.ca_file)
    os.environ.pop("CURL_CA_BUNDLE", None)
    try:
        return asyncio.run(_demo(server, folder, listen=listen, once=once, out=out, api=api))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def run_demo_doctor(*, out: TextIO, log_level: str = "warning", api: str = "ews") -> int:
    """``vmrsched demo [--api graph] --doctor``: ``vmrsched doctor`` with every probe against the
    demo tenant set up for ``api`` (outsider Dave, organizer Alice, a probe meeting), as an admin
    would run it on a tenant."""
    from vmrsched.cli.doctor import DoctorOptions, run_doctor  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="vmrsched-demo-") as temp:
        folder = Path(temp)
        with (
            (folder / "service.log").open("a", encoding="utf-8") as log_stream,
            logs.redirected(log_stream, level=log_level),
        ):
            server = start_in_thread(demo_simulator(api), "127.0.0.1", 0, tls=True)
            try:
                settings = settings_from_mapping(
                    demo_settings(server, folder, "127.0.0.1:8080", api), base=folder
                )
                command = (
                    "vmrsched doctor --probe-outsider dave@contoso.com "
                    "--probe-organizer alice@contoso.com --probe-meeting"
                )
                print(f"exchangesim (demo tenant Contoso) at {server.base_url}", file=out)
                print(f"$ {command}\n", file=out)
                options = DoctorOptions(
                    probe_outsider="dave@contoso.com",
                    probe_organizer="alice@contoso.com",
                    probe_meeting=True,
                    meeting_settle=timedelta(seconds=1),
                )
                return run_doctor(settings, options, out)
            finally:
                server.stop()


def free_listen(listen: str) -> str:
    """``listen`` with port 0 replaced by a port that is free now."""
    host, port = split_listen(listen)
    if port != 0:
        return listen
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _demo(
    server: RunningServer, folder: Path, *, listen: str, once: bool, out: TextIO, api: str = "ews"
) -> int:
    listen = free_listen(listen)
    raw = demo_settings(server, folder, listen, api)
    (folder / "vmrsched.toml").write_text(_toml(raw), encoding="utf-8")
    settings = settings_from_mapping(raw, base=folder)
    install_demo_addin(server, settings)
    components = bootstrap.build(settings)
    mailbox = bootstrap.open_mailbox(settings)
    web_url: list[str] = []
    tasks = service_tasks(components.service_parts(mailbox))
    tasks.append(web_task(build_app(web_options(components)), listen, on_ready=web_url.append))
    supervisor = Supervisor(tasks, grace=timedelta(seconds=5))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, supervisor.request_stop, stop, signal.Signals(signum).name)
    service = asyncio.create_task(supervisor.run(stop))
    print(f"exchangesim (local Exchange, demo tenant Contoso) at {server.base_url}", file=out)
    print(f"vmrsched watching {RESOURCE}; state in {folder}\n", file=out)

    def make_offer(organizer: str) -> str:
        offer = reserve(components.store, components.rules, components.clock, organizer)
        return f"<p>Agenda to follow.</p>{offer.instructions.html}"

    scenario = Scenario(server, components.store, make_offer, out)
    status = OK
    try:
        rows = await _race(in_thread(scenario.run, name="demo-scenario"), service)
        print(file=out)
        print_table(rows, out)
        if not once:
            address = web_url[0] if web_url else listen
            print(f"\nThe service keeps running (web API at {address}); Ctrl-C stops it.", file=out)
            print(
                f"Try: curl '{address}/policy/v1/service/configuration?local_alias=<ALIAS>'",
                file=out,
            )
            await service
    except DemoError as exc:
        print(f"\nvmrsched demo: {exc}\n  fix: {exc.fix}", file=out)
        status = FAILED
    finally:
        supervisor.request_stop(stop, "demo finished")
        report = await service
        with contextlib.suppress(Exception):
            mailbox.close()
        components.close()
    if not report.ok:
        print(f"vmrsched demo: the service stopped: {report.reason}: {report.error}", file=out)
        return FAILED
    return status


async def _race(work: Any, service: asyncio.Task[Any]) -> list[Row]:
    """The scenario's rows, unless the service stops first (then its reason is the error)."""
    scenario = asyncio.ensure_future(work)
    await asyncio.wait({scenario, service}, return_when=asyncio.FIRST_COMPLETED)
    if scenario.done():
        rows: list[Row] = scenario.result()
        return rows
    scenario.cancel()
    report = service.result()
    raise DemoError(f"the service stopped: {report.reason}", fix=str(report.error or ""))
