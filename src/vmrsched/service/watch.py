"""The watcher: the trivial endless loop around one pass (STYLE habit 4).

Each turn runs a pass (`sync_mailbox`), performs the due effects (`apply_effects`), then waits
for a push from the mailbox (`Mailbox.wait_for_changes`) or the poll interval, whichever comes
first: push makes the service quick, the poll interval makes it certain. A failed pass is logged
and tried again with a growing delay (never longer than the poll interval); the loop itself
holds no logic worth testing apart from when it wakes and when it stops.

It stops when the stop event is set, at the next turn (a pass in progress runs to its end, within
the supervisor's grace period), and returns why it stopped.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from vmrsched.ports.mailbox import Mailbox, MailboxError, WatchEvents
from vmrsched.ports.store import StoreError
from vmrsched.service.apply import ApplyReport
from vmrsched.service.clock import Clock
from vmrsched.service.health import Health
from vmrsched.service.sync import PassReport
from vmrsched.service.threads import in_thread

log = structlog.get_logger(__name__)


async def wait_or_stop(stop: asyncio.Event, delay: timedelta) -> bool:
    """Wait up to ``delay``; True as soon as ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), delay.total_seconds())
    except TimeoutError:
        return stop.is_set()
    return True


@dataclass(kw_only=True)
class Watcher:
    """Watches one mailbox: pass, effects, wait; until stopped."""

    mailbox: Mailbox
    run_pass: Callable[[], PassReport]
    apply: Callable[[], ApplyReport]
    clock: Clock
    health: Health
    poll_interval: timedelta = timedelta(seconds=60)
    first_retry: timedelta = timedelta(seconds=5)
    effects_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    passes: int = 0

    async def run(self, stop: asyncio.Event) -> str:
        """Loop until ``stop`` is set; return why the loop ended."""
        failures = 0
        log.info("watcher_started", mailbox=self.mailbox.address, poll=str(self.poll_interval))
        while not stop.is_set():
            if await self.turn():
                failures = 0
                if await self.wait_for_changes(stop):
                    break
                continue
            failures += 1
            delay = min(self.first_retry * 2 ** (failures - 1), self.poll_interval)
            if await wait_or_stop(stop, delay):
                break
        log.info("watcher_stopped", mailbox=self.mailbox.address, reason="stop requested")
        return "stop requested"

    async def turn(self) -> bool:
        """One pass and one round of effects; False when the mailbox or the store failed."""
        try:
            report = await in_thread(self.run_pass, name="vmrsched-pass")
            self.passes += 1
            self.health.pass_succeeded(self.clock())
            async with self.effects_lock:
                applied = await in_thread(self.apply, name="vmrsched-effects")
        except (MailboxError, StoreError) as exc:
            fix = getattr(exc, "fix", "")
            self.health.pass_failed(
                self.clock(), f"{type(exc).__name__}: {exc}", kind=type(exc).__name__
            )
            log.warning(
                "pass_failed",
                mailbox=self.mailbox.address,
                error=f"{type(exc).__name__}: {exc}",
                fix=fix,
                retryable=exc.retryable,
            )
            return False
        if applied.blocked:
            log.warning("effects_blocked", mailbox=self.mailbox.address, error=applied.blocked)
        if report.decided or applied.done or applied.failed:
            log.info(
                "turn_done",
                decided=report.decided,
                effects_done=applied.done,
                effects_failed=applied.failed,
                effects_waiting=applied.waiting,
            )
        return True

    async def wait_for_changes(self, stop: asyncio.Event) -> bool:
        """Wait for a push or the poll interval; True when ``stop`` was set meanwhile."""
        stopper = asyncio.ensure_future(stop.wait())
        waiter = asyncio.ensure_future(
            in_thread(
                lambda: self.mailbox.wait_for_changes(self.poll_interval), name="vmrsched-wait"
            )
        )
        try:
            await asyncio.wait({stopper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if stop.is_set():
            waiter.cancel()
            return True
        try:
            events: WatchEvents = waiter.result()
        except MailboxError as exc:
            # The push channel failed: note it, and fall back on the poll interval.
            self.health.push(healthy=False)
            log.warning("push_failed", error=f"{type(exc).__name__}: {exc}")
            return await wait_or_stop(stop, self.poll_interval)
        if events.push_healthy != self.health.snapshot().push_healthy:
            log.warning("push_health", healthy=events.push_healthy, detail=list(events.detail))
        self.health.push(healthy=events.push_healthy)
        return False
