"""Backlog benchmark: how fast vmrsched clears meeting requests waiting when it starts.

Runs everything in this process: `exchangesim` (demo tenant, HTTPS) with a fixed latency on
every EWS call, and the real service built as ``vmrsched run`` builds it (``vmrsched.bootstrap``,
EWS adapter, SQLite file in a temporary folder).

1. Backlog: N meeting requests (singles and weekly series, each with an alias token from the
   service's reservation API) are put into the resource mailbox *before* the service starts,
   through the simulator's store API as the organizers (not measured). Then the service starts
   and the clock runs until every organizer has a MeetingResponse for each meeting.
   Printed: time to clear, time to the first answer and the p50 / p95 of the answers' times
   (each from the service's start: every request was waiting before it), meetings per second,
   EWS calls per meeting (the simulator's per-operation counters), CPU time per meeting and
   peak RSS of this process.
2. Latency with push: an organizer sends meetings one by one with exchangelib (CreateItem,
   SendToAllAndSaveCopy); each is timed from the send to the acceptance in the organizer's
   inbox. Printed: p50 and p95.

``--api graph`` runs the service on Microsoft Graph (the resource with the Calendar Attendant
on, as Graph needs) and counts Graph requests (each request of a ``$batch``, and the ``$batch``)
instead of EWS calls. ``--graph-push`` (with ``--api graph``) also serves the notification
endpoints on a loopback port and lets the service subscribe to change notifications (the
simulator's ``graph_notification_http`` knob admits the plain-HTTP URL); without it the Graph
adapter polls its delta every 2 s.

The report (``backlog_report``) is a Markdown table, one column per run (``--runs``), with the
machine and its load average, ready to paste into docs/benchmarks.md. Usage::

    .venv/bin/python bench/backlog.py --n 1000 --latency-ms 50 --runs 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

from exchangesim.server import RunningServer, start_in_thread
from exchangesim.sim import Simulator
from exchangesim.store import (
    Address,
    Body,
    MeetingResponse,
    NumberedRange,
    Recurrence,
    WeeklyPattern,
    send_meeting,
)
from exchangesim.store import Attendee as SimAttendee
from exchangesim.store import CalendarItem as SimCalendarItem
from vmrsched import bootstrap
from vmrsched.cli import logs
from vmrsched.cli.demo_tenant import RESOURCE, demo_settings, organizer_account, tenant_for
from vmrsched.config import settings_from_mapping
from vmrsched.service.reserve import reserve
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.service.threads import in_thread
from vmrsched.web import notifications
from vmrsched.web.server import web_task

# bench/ is a folder of scripts: its sibling module, also when this file is loaded by path.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from backlog_report import Result, report

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.store.journal import ChangeEvent

#: Organizers of the demo tenant inside the app's management scope.
ORGANIZERS = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "erin@contoso.com")
WINDOWS_ZONE = "W. Europe Standard Time"
IANA_ZONE = "Europe/Berlin"
SERIES_OCCURRENCES = 10
POLL_S = 0.02


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    times = os.times()
    return times.user + times.system


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def subject_of(index: int, *, series: bool) -> str:
    return f"Backlog {'series' if series else 'single'} {index:05d}"


def seed_backlog(
    sim: Simulator, offer: Callable[[str], str], n: int, singles: int, now: datetime
) -> list[str]:
    """Put ``n`` meeting requests into the resource mailbox; their subjects, in order."""
    subjects = []
    for index in range(n):
        organizer = ORGANIZERS[index % len(ORGANIZERS)]
        series = index >= singles
        start = (now + timedelta(days=1 + index % 20, hours=index % 8)).replace(
            minute=0, second=0, microsecond=0
        )
        subject = subject_of(index, series=series)
        recurrence = None
        if series:
            weekday = start.strftime("%A")
            recurrence = Recurrence(
                WeeklyPattern((weekday,)),  # type: ignore[arg-type]
                NumberedRange(start.date(), SERIES_OCCURRENCES),
            )
        item = SimCalendarItem(
            subject=subject,
            body=Body("HTML", f"<p>Agenda {index}</p>{offer(organizer)}"),
            start=start,
            end=start + timedelta(minutes=30 if index % 2 else 60),
            start_time_zone=WINDOWS_ZONE,
            end_time_zone=WINDOWS_ZONE,
            recurrence=recurrence,
            required_attendees=(SimAttendee(Address(RESOURCE, "VMR")),),
        )
        send_meeting(sim.store, organizer, item)
        subjects.append(subject)
    return subjects


def responses(sim: Simulator, organizers: tuple[str, ...] = ORGANIZERS) -> Counter[str]:
    """How many MeetingResponse items each meeting subject has in its organizer's inbox
    (reads copies of whole folders: for the final count, not for polling)."""
    seen: Counter[str] = Counter()
    for organizer in organizers:
        for item in sim.store.items(organizer, "inbox"):
            if isinstance(item, MeetingResponse):
                subject = item.subject.split(": ", 1)[-1]
                seen[subject] += 1
    return seen


class InboxWatch:
    """Items arriving in the organizers' inboxes, with the time each arrived, from the store's
    change events (cheap: waiting must not slow down the simulator it measures)."""

    def __init__(self, sim: Simulator, organizers: tuple[str, ...] = ORGANIZERS) -> None:
        self._inboxes = {sim.store.folder(o, "inbox").id for o in organizers}
        self._lock = threading.Lock()
        self._arrived: dict[str, float] = {}
        self._unsubscribe = sim.store.subscribe(self._on_change)

    def _on_change(self, event: ChangeEvent) -> None:
        if (
            event.item_id
            and event.kind in ("Created", "NewMail")
            and (event.folder_id in self._inboxes)
        ):
            with self._lock:
                self._arrived.setdefault(event.item_id, time.monotonic())

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._arrived)

    def arrivals(self) -> list[float]:
        """When each item arrived so far, earliest first."""
        with self._lock:
            return sorted(self._arrived.values())

    def arrival(self, index: int) -> float | None:
        """When the ``index``-th item (from 0) arrived, or None while it has not."""
        with self._lock:
            times = sorted(self._arrived.values())
        return times[index] if index < len(times) else None

    def close(self) -> None:
        self._unsubscribe()


async def wait_until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


def send_one_by_one(
    server: RunningServer, offer: Callable[[str], str], count: int, timeout_s: float
) -> list[float]:
    """Alice sends ``count`` meetings with exchangelib, one by one, each timed to its answer."""
    organizer = ORGANIZERS[0]
    watch = InboxWatch(server.sim, (organizer,))
    account = organizer_account(server, organizer)
    zone = EWSTimeZone(IANA_ZONE)
    seconds = []
    for index in range(count):
        subject = f"Push latency {index:03d}"
        start = EWSDateTime.now(zone).replace(minute=0, second=0, microsecond=0) + timedelta(
            days=2, hours=index % 8
        )
        body = offer(organizer)
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject=subject,
            body=HTMLBody(body),
            start=start,
            end=start + timedelta(minutes=30),
            required_attendees=[Attendee(mailbox=Mailbox(email_address=RESOURCE))],
        )
        began = time.monotonic()
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        deadline = began + timeout_s
        while (arrived := watch.arrival(index)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{subject}: no answer within {timeout_s:.0f} s")
            time.sleep(POLL_S)
        seconds.append(arrived - began)
    watch.close()
    if responses(server.sim, (organizer,))[subject] != 1:
        raise RuntimeError(f"{subject}: not answered exactly once")
    return seconds


async def measure(
    server: RunningServer,
    folder: Path,
    *,
    n: int,
    singles: int,
    latency_ms: float,
    push_meetings: int,
    timeout_s: float,
    api: str = "ews",
    graph_push: bool = False,
) -> Result:
    """Seed the backlog, start the service, time both phases."""
    result = Result(n=n, singles=singles, latency_ms=latency_ms, api=api)
    result.series_occurrences = SERIES_OCCURRENCES
    raw = demo_settings(server, folder, "127.0.0.1:0", api)
    for section in ("web", "addin"):  # no web API (nor the add-in it serves) in the benchmark
        raw.pop(section, None)
    raw["service"]["poll_interval_seconds"] = 30
    listen = f"127.0.0.1:{free_port()}"
    if graph_push:
        raw["web"] = {"listen": listen, "public_url": f"http://{listen}"}
        server.sim.knobs.update(graph_notification_http=True)
    settings = settings_from_mapping(raw, base=folder)
    components = bootstrap.build(settings)

    def offer(organizer: str) -> str:
        made = reserve(components.store, components.rules, components.clock, organizer)
        return str(made.instructions.html)

    subjects = seed_backlog(server.sim, offer, n, singles, datetime.now(UTC))
    result.rss_before_mib = peak_rss_mib()
    server.sim.knobs.update(latency={"fixed_ms": latency_ms, "jitter_ms": 0})
    server.sim.knobs.reset_counters()

    watch = InboxWatch(server.sim)
    result.load_before = os.getloadavg()
    cpu_began = _cpu_seconds()
    began = time.monotonic()
    mailbox = bootstrap.open_mailbox(settings, allow_http_push=graph_push)
    tasks = service_tasks(components.service_parts(mailbox))
    receiver = bootstrap.change_notifications(mailbox)
    if graph_push and receiver is not None:
        app = web.Application()  # only the notification endpoints
        notifications.add_routes(app, receiver)
        tasks.append(web_task(app, listen))
    supervisor = Supervisor(tasks, grace=timedelta(seconds=5))
    stop = asyncio.Event()
    service = asyncio.create_task(supervisor.run(stop))
    try:
        cleared = await wait_until(lambda: watch.count >= n, timeout_s)
        result.cpu_seconds = _cpu_seconds() - cpu_began
        result.load_after = os.getloadavg()
        first = watch.arrival(0) if n else began
        result.seconds_to_first = (first if first is not None else began) - began
        last = watch.arrival(n - 1) if n else began
        result.answer_seconds = [at - began for at in watch.arrivals()[:n]]
        result.seconds_to_clear = (last if last is not None else time.monotonic()) - began
        watch.close()
        if not cleared:
            print(f"backlog not cleared within {timeout_s:.0f} s", file=sys.stderr)
        result.ews_calls = dict(server.sim.knobs.counters().get(api, {}))
        seen = responses(server.sim)
        result.answered = sum(1 for s in subjects if seen[s] >= 1)
        result.duplicates = sum(seen[s] - 1 for s in subjects if seen[s] > 1)
        if push_meetings and cleared:
            server.sim.knobs.reset_counters()
            result.push_seconds = await in_thread(
                lambda: send_one_by_one(server, offer, push_meetings, timeout_s=60),
                name="organizer",
            )
            result.push_calls = dict(server.sim.knobs.counters().get(api, {}))
            delivered = server.sim.knobs.counters().get("graph_notifications", {})
            result.push_notifications = delivered.get("delivered", 0)
        result.rss_peak_mib = peak_rss_mib()
    finally:
        supervisor.request_stop(stop, "benchmark finished")
        await service
        with contextlib.suppress(Exception):
            mailbox.close()
        components.close()
    return result


def free_port() -> int:
    """A loopback port free right now (for the notification endpoints)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    *,
    n: int,
    singles: int,
    latency_ms: float,
    push_meetings: int,
    timeout_s: float = 1800,
    log_level: str = "warning",
    api: str = "ews",
    graph_push: bool = False,
) -> Result:
    """One benchmark run with its own simulator and temporary folder."""
    server = start_in_thread(Simulator.from_tenant(tenant_for(api)), "127.0.0.1", 0, tls=True)
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    os.environ["REQUESTS_CA_BUNDLE"] = str(server.ca_file)  # the organizer's exchangelib
    os.environ.pop("CURL_CA_BUNDLE", None)
    try:
        with tempfile.TemporaryDirectory(prefix="vmrsched-bench-") as temp:
            folder = Path(temp)
            with (
                (folder / "service.log").open("a", encoding="utf-8") as log_stream,
                logs.redirected(log_stream, level=log_level),
            ):
                return asyncio.run(
                    measure(
                        server,
                        folder,
                        n=n,
                        singles=singles,
                        latency_ms=latency_ms,
                        push_meetings=push_meetings,
                        timeout_s=timeout_s,
                        api=api,
                        graph_push=graph_push,
                    )
                )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1000, help="meetings in the backlog")
    parser.add_argument("--latency-ms", type=float, default=50, help="latency per EWS call")
    parser.add_argument(
        "--singles", type=int, default=None, help="how many are singles (default: 80%%)"
    )
    parser.add_argument(
        "--push-meetings", type=int, default=50, help="meetings timed one by one (0: skip)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per phase")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--api", choices=("ews", "graph"), default="ews", help="[exchange] api")
    parser.add_argument(
        "--graph-push",
        action="store_true",
        help="with --api graph: Graph change notifications to a loopback web server",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs in a row, one table column each (default: 1)"
    )
    args = parser.parse_args(argv)
    singles = args.singles if args.singles is not None else round(args.n * 0.8)
    singles = max(0, min(singles, args.n))
    results = [
        run(
            n=args.n,
            singles=singles,
            latency_ms=args.latency_ms,
            push_meetings=args.push_meetings,
            timeout_s=args.timeout,
            log_level=args.log_level,
            api=args.api,
            graph_push=args.graph_push,
        )
        for _ in range(max(1, args.runs))
    ]
    command = " ".join([".venv/bin/python bench/backlog.py", *(argv or sys.argv[1:])]).strip()
    report(results, sys.stdout, command=command)
    exact = all(r.answered == r.n and not r.duplicates for r in results)
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
