"""The watcher and the supervisor: wake on push or poll, stop on purpose, die loudly."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from service_support import FakeMailbox, ManualClock, meeting, reserve, rules, token_body
from structlog.testing import capture_logs

from vmrsched.adapters.db import SqlStore
from vmrsched.ports.mailbox import MailboxUnavailableError, ReplyKind
from vmrsched.ports.store import StoreUnavailableError
from vmrsched.service.health import Health
from vmrsched.service.runtime import ServiceParts, service_tasks, sweep_reservations
from vmrsched.service.supervisor import Supervisor, Task, periodic

if TYPE_CHECKING:
    from collections.abc import Iterator

WAIT = 10  # seconds: an upper bound for events that arrive within milliseconds


@pytest.fixture
def store() -> Iterator[SqlStore]:
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


def parts(mailbox: FakeMailbox, store: SqlStore, clock: ManualClock, **changes) -> ServiceParts:
    values = {
        "mailbox": mailbox,
        "store": store,
        "clock": clock,
        "rules": rules(),
        "health": Health(clock()),
        "poll_interval": timedelta(hours=1),  # only push (or stop) wakes the watcher in tests
        "effects_every": timedelta(hours=1),
        "sweep_every": timedelta(hours=1),
    } | changes
    return ServiceParts(**values)


async def wait_for(event) -> bool:
    return await asyncio.to_thread(event.wait, WAIT)


async def test_a_pushed_meeting_is_decided_and_answered_then_the_service_stops_on_request(
    store: SqlStore,
) -> None:
    """Push wakes the watcher; the reply goes out; the stop event ends every task cleanly."""
    mailbox, clock = FakeMailbox(), ManualClock()
    reservation = reserve(store)
    supervisor = Supervisor(service_tasks(parts(mailbox, store, clock)))
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))

    mailbox.deliver(meeting("m1", body_html=token_body(reservation)))
    assert await wait_for(mailbox.replied)
    supervisor.request_stop(stop, "test done")
    report = await asyncio.wait_for(running, WAIT)

    assert report.ok
    assert report.reason == "test done"
    [reply] = mailbox.replies_to("m1")
    assert reply.kind is ReplyKind.ACCEPT


async def test_the_watcher_stops_while_waiting_for_a_push(store: SqlStore) -> None:
    """A stop during a long push wait ends the watcher at once, not at the poll interval."""
    mailbox, clock = FakeMailbox(), ManualClock()
    supervisor = Supervisor(service_tasks(parts(mailbox, store, clock)))
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(supervisor.run(stop))
        assert await wait_for(mailbox.fetched)
        supervisor.request_stop(stop, "SIGTERM")
        report = await asyncio.wait_for(running, WAIT)
    assert report.reason == "SIGTERM"
    stopped = [entry for entry in logs if entry["event"] == "service_stopped"]
    assert stopped[0]["reason"] == "SIGTERM"
    assert stopped[0]["cancelled"] == []


async def test_a_failed_pass_is_retried_and_reported_in_health(store: SqlStore) -> None:
    """A mailbox outage marks the service unready; the next try answers the meeting."""
    mailbox, clock = FakeMailbox(), ManualClock()
    mailbox.fail("fetch_changes", MailboxUnavailableError("HTTP 503"))
    mailbox.deliver(meeting("m1"))
    health = Health(clock())
    the_parts = parts(mailbox, store, clock, health=health, first_retry=timedelta(0))
    [watcher, *_] = service_tasks(the_parts)
    stop = asyncio.Event()
    watch_task = asyncio.create_task(watcher.body(stop))
    assert await wait_for(mailbox.replied)
    stop.set()
    assert await asyncio.wait_for(watch_task, WAIT) == "stop requested"
    ready, why = health.ready(clock(), timedelta(minutes=5))
    assert ready, why


def test_health_is_not_ready_before_a_pass_and_after_a_long_failure() -> None:
    """Readiness needs a recent successful pass; the last error's kind explains why not (its
    text stays in the log: ``/ready`` is public)."""
    clock = ManualClock()
    health = Health(clock())
    assert health.ready(clock(), timedelta(minutes=5)) == (False, "no pass has completed yet")
    health.pass_succeeded(clock())
    clock.advance(timedelta(minutes=10))
    health.pass_failed(clock(), "MailboxAuthError: secret expired", kind="MailboxAuthError")
    ready, why = health.ready(clock(), timedelta(minutes=5))
    assert not ready
    assert "MailboxAuthError" in why
    assert "secret expired" not in why


async def test_a_dead_side_task_stops_the_service_loudly() -> None:
    """A task that raises sets the stop event; the report names it; the others end."""
    seen_stop = asyncio.Event()

    async def steady(stop: asyncio.Event) -> str:
        await stop.wait()
        seen_stop.set()
        return "stopped"

    async def broken(_: asyncio.Event) -> str:
        raise RuntimeError("disk on fire")

    supervisor = Supervisor([Task("steady", steady), Task("broken", broken)])
    with capture_logs() as logs:
        report = await asyncio.wait_for(supervisor.run(asyncio.Event()), WAIT)
    assert not report.ok
    assert report.failed == "broken"
    assert report.error == "RuntimeError: disk on fire"
    assert seen_stop.is_set()
    died = [entry for entry in logs if entry["event"] == "task_died"]
    assert died[0]["log_level"] == "error"


async def test_a_task_that_ignores_stop_is_cancelled_after_the_grace() -> None:
    """The grace period bounds shutdown; a late task is cancelled and named."""

    async def stubborn(_: asyncio.Event) -> None:
        await asyncio.Event().wait()

    supervisor = Supervisor([Task("stubborn", stubborn)], grace=timedelta(milliseconds=20))
    stop = asyncio.Event()
    stop.set()
    with capture_logs() as logs:
        report = await asyncio.wait_for(supervisor.run(stop), WAIT)
    assert report.ok
    assert [e["task"] for e in logs if e["event"] == "task_cancelled"] == ["stubborn"]


async def test_a_periodic_task_survives_transient_errors_and_dies_on_bugs() -> None:
    """Retryable store errors are logged and retried; anything else ends the task."""
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailableError("locked")
        if len(calls) == 2:
            raise KeyError("bug")

    task = periodic("chore", timedelta(0), work)
    with capture_logs() as logs, pytest.raises(KeyError):
        await asyncio.wait_for(task.body(asyncio.Event()), WAIT)
    assert len(calls) == 2
    assert [e["event"] for e in logs] == ["side_task_failed"]


def test_the_sweep_frees_aliases_of_reservations_expired_long_enough(store: SqlStore) -> None:
    """An expired reservation is kept for a while (to decline its late meeting), then deleted."""
    reserve(store)  # expires 30 days after NOW - 1 hour
    clock = ManualClock()
    clock.advance(timedelta(days=31))
    assert sweep_reservations(store, clock, kept=timedelta(days=2)) == 0
    clock.advance(timedelta(days=2))
    assert sweep_reservations(store, clock, kept=timedelta(days=2)) == 1
