"""Exactly once, proven by killing: SIGKILL the running service at many points of a batch.

The service runs as a real process (`vmrsched run --config`) on a SQLite file against a live
exchangesim; organizers send 20 meeting requests with exchangelib. The process is killed again
and again — at exact lines (``VMRSCHED_TEST_CRASH_AT``, see `vmrsched.service.crashpoints`:
after a decision before the cursor moves, right after the cursor moves, just before a reply, and
right after a reply is sent but before it is marked done) and at random times — and restarted
each time. Afterwards every request has exactly one answer in its organizer's inbox, every
accepted meeting has one booking, and no effect is pending or failed. It runs with
``[exchange] api = "ews"`` and with ``api = "graph"``.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingResponse

from exchangesim.knobs import Latency
from exchangesim.server import start_in_thread
from vmrsched.adapters.db import SqlStore
from vmrsched.adapters.db.tables import bookings, effects
from vmrsched.bootstrap import build
from vmrsched.cli.demo_tenant import (
    DEMO_APP,
    DEMO_SECRET,
    RESOURCE,
    demo_simulator,
    organizer_account,
)
from vmrsched.config import load_settings
from vmrsched.domain.meetings import MeetingRef
from vmrsched.service.reserve import reserve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

ORGANIZERS = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
REQUESTS = 20
WITHOUT_TOKEN = {3, 9, 14, 18}  # these are declined: every request needs exactly one answer
#: Crash points, one per run, in order; None is a kill at a random time.
#: The exact points use 7 of the 20 replies; a random kill comes 0.2-1.5 s after the service
#: answers /health, while about five replies go out per second (LATENCY).
CRASHES = (
    "decision:3",
    "cursor:1",
    "reply:before:1",
    "reply:1",
    None,
    "reply:2",
    "reply:before:2",
    None,
    "reply:3",
    None,
)
#: Per EWS call, so that the replies of a batch take seconds and random kills land among them.
LATENCY = Latency(fixed_ms=100)
RUN_TIMEOUT = 30.0  # seconds one run may take to reach its crash point


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


WEB_PORT = _free_port()


def wait_for_health(process: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    """True once the service answers /health (its signal handlers are then installed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/health", timeout=1) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(params=["ews", "graph"])
def api(request: pytest.FixtureRequest) -> str:
    """The protocol the service speaks: ``[exchange] api``."""
    return str(request.param)


@pytest.fixture
def server(api: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    running = start_in_thread(demo_simulator(api), "127.0.0.1", 0, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield running
    running.stop()


@pytest.fixture
def config(server: RunningServer, api: str, tmp_path: Path) -> Path:
    path = tmp_path / "vmrsched.toml"
    scope = "graph.microsoft.com" if api == "graph" else "outlook.office365.com"
    path.write_text(
        f"""
[exchange]
api = "{api}"
ews_url = "{server.ews_url}"
graph_url = "{server.base_url}/v1.0"
token_endpoint = "{server.token_endpoint}"
client_id = "{DEMO_APP}"
resource_mailbox = "{RESOURCE}"
ca_bundle = "{server.ca_file}"
token_scope = "https://{scope}/.default"

[aliases]
prefix = "81"
domain = "vmr.contoso.com"

[database]
url = "sqlite:///state.sqlite"

[web]
listen = "127.0.0.1:{WEB_PORT}"

[service]
poll_interval_seconds = 5
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Sent:
    """A meeting request the test sent."""

    organizer: str
    subject: str
    meeting_key: str
    with_token: bool


def send_batch(server: RunningServer, config: Path) -> list[Sent]:
    """20 meeting requests from three organizers, most with a reserved alias token."""
    components = build(load_settings(config, environ={"VMRSCHED_EXCHANGE__CLIENT_SECRET": "x"}))
    accounts = {email: organizer_account(server, email) for email in ORGANIZERS}
    zone = EWSTimeZone("Europe/Berlin")
    base = EWSDateTime.now(zone).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    sent = []
    try:
        for number in range(REQUESTS):
            organizer = ORGANIZERS[number % len(ORGANIZERS)]
            account = accounts[organizer]
            with_token = number not in WITHOUT_TOKEN
            body = "<p>No add-in used.</p>"
            if with_token:
                offer = reserve(components.store, components.rules, components.clock, organizer)
                body = offer.instructions.html
            subject = f"Batch meeting {number:02d}"
            start = base + timedelta(hours=number)
            item = CalendarItem(
                account=account,
                folder=account.calendar,
                subject=subject,
                body=HTMLBody(body),
                start=start,
                end=start + timedelta(minutes=30),
                required_attendees=[Attendee(mailbox=Mailbox(email_address=RESOURCE))],
            )
            item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
            item.refresh()
            key = MeetingRef(organizer, item.uid).meeting_key
            sent.append(Sent(organizer, subject, key, with_token))
    finally:
        components.close()
    return sent


def start_service(config: Path, crash_at: str | None, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["VMRSCHED_EXCHANGE__CLIENT_SECRET"] = DEMO_SECRET
    env.pop("VMRSCHED_TEST_CRASH_AT", None)
    if crash_at is not None:
        env["VMRSCHED_TEST_CRASH_AT"] = crash_at
    with log.open("ab") as out:
        out.write(f"\n=== run, crash at {crash_at}\n".encode())
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vmrsched.cli.main",
                "--log-format",
                "json",
                "run",
                "--config",
                str(config),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=config.parent,
        )


def answers(server: RunningServer, sent: list[Sent]) -> dict[str, int]:
    """How many meeting responses each sent subject got, from the organizers' inboxes."""
    counts = {item.subject: 0 for item in sent}
    for organizer in ORGANIZERS:
        account = organizer_account(server, organizer)
        for item in account.inbox.all():
            if isinstance(item, MeetingResponse):
                subject = str(item.subject).split(": ", 1)[-1]
                if subject in counts:
                    counts[subject] += 1
    return counts


def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_killing_the_service_anywhere_loses_nothing_and_sends_nothing_twice(
    server: RunningServer, config: Path, tmp_path: Path
) -> None:
    """20 requests, 10 SIGKILLs at exact and random points: one answer each, one booking each."""
    sent = send_batch(server, config)
    server.sim.knobs.update(latency=LATENCY)
    log = tmp_path / "service.log"
    rng = random.Random(20261123)
    deaths = []
    for crash_at in CRASHES:
        process = start_service(config, crash_at, log)
        try:
            if crash_at is None:
                wait_for_health(process)
            timeout = RUN_TIMEOUT if crash_at is not None else rng.uniform(0.2, 1.5)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        deaths.append((crash_at, process.returncode))
    assert all(code == -signal.SIGKILL for _, code in deaths), (deaths, log.read_text()[-3000:])

    final = start_service(config, None, log)
    try:
        assert wait_for_health(final), log.read_text()[-3000:]
        done = wait_until(lambda: all(answers(server, sent).values()), timeout=90)
    finally:
        final.send_signal(signal.SIGTERM)
        status = final.wait(timeout=30)
    assert done, log.read_text()[-3000:]
    assert status == 0, log.read_text()[-3000:]

    server.sim.knobs.reset()
    counts = answers(server, sent)
    assert counts == {item.subject: 1 for item in sent}

    store = SqlStore.open(f"sqlite:///{config.parent / 'state.sqlite'}")
    try:
        for item in sent:
            booking = store.booking_for_meeting(item.meeting_key)
            assert (booking is not None) == item.with_token, item
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(bookings)).scalar() == (
                REQUESTS - len(WITHOUT_TOKEN)
            )
            states = conn.execute(
                sa.select(effects.c.state, sa.func.count()).group_by(effects.c.state)
            ).all()
    finally:
        store.close()
    assert dict(states) == {"done": REQUESTS}
