"""The watcher: the trivial endless loop around one pass (STYLE habit 4).

Each turn runs a pass (`sync_mailbox`) and performs the due effects (`apply_effects`), then waits
for a push from the mailbox (`Mailbox.wait_for_changes`) or the poll interval, whichever comes
first: push makes the service quick, the poll interval makes it certain.

The pass and the effects are pipelined: the pass runs in its own thread and says when a batch
of decisions is committed; each time, the turn performs the effects that are due (committed,
oldest first, under the effects lock) while the pass goes on reading and deciding. So a backlog
of a thousand requests gets its first answers within a second or so instead of after the whole
backlog is decided, and sending overlaps with reading. Effects are still only ever performed on
committed decisions. When the mailbox refuses or pauses the effects, the turn stops performing
them until the pass ends (the side task and the next turn try again), so a busy server is not
pressed harder. A failed pass is logged
and tried again with a growing delay (never longer than the poll interval); the loop itself
holds no logic worth testing apart from when it wakes and when it stops.

It stops when the stop event is set, at the next turn (a pass in progress runs to its end, within
the supervisor's grace period), and returns why it stopped.
"""

import asyncio
import contextlib
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
    #: One pass; it calls its argument (from its thread) after each commit of new decisions.
    run_pass: Callable[[Callable[[], None]], PassReport]
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
        """One pass, with the effects of its decisions performed as they are committed; False
        when the mailbox or the store failed."""
        effects = _Effects(self.apply, self.effects_lock)
        try:
            report = await self.pass_while_applying(effects)
            self.passes += 1
            self.health.pass_succeeded(self.clock())
            await effects.apply_due()
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
        applied = effects.total
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

    async def pass_while_applying(self, effects: "_Effects") -> PassReport:
        """Run the pass in its thread; perform the due effects each time it commits decisions.

        The pass always runs to its end before this returns or raises: a second pass never
        starts while one is still running. An error of the effects is raised after the pass's
        own (which wins: it says why the mailbox could not be read).
        """
        loop = asyncio.get_running_loop()
        committed = asyncio.Event()

        def on_committed() -> None:  # in the pass's thread
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(committed.set)

        passing = asyncio.ensure_future(
            in_thread(lambda: self.run_pass(on_committed), name="vmrsched-pass")
        )
        problem: MailboxError | StoreError | None = None
        try:
            while not passing.done() and problem is None:
                signal = asyncio.ensure_future(committed.wait())
                try:
                    await asyncio.wait({passing, signal}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    signal.cancel()
                if committed.is_set() and not passing.done():
                    committed.clear()
                    try:
                        await effects.apply_due()
                    except (MailboxError, StoreError) as exc:
                        problem = exc  # the pass goes on; the error is raised after it
        except asyncio.CancelledError:
            passing.cancel()  # the supervisor gave up waiting: like a crash, nothing is lost
            raise
        except BaseException:
            await asyncio.wait({passing})  # a bug in the effects: let the pass end first
            raise
        report = await passing  # the pass's own error, if any, goes up first
        if problem is not None:
            raise problem
        return report

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


@dataclass
class _Effects:
    """The turn's calls of ``apply_effects``, one at a time under the lock, added up; once the
    mailbox blocked or paused them, no more are made in this turn."""

    apply: Callable[[], ApplyReport]
    lock: asyncio.Lock
    total: ApplyReport = field(default_factory=ApplyReport)

    async def apply_due(self) -> None:
        """Perform the effects due now (unless this turn's effects were blocked or paused)."""
        if self.total.blocked or self.total.paused:
            return
        async with self.lock:
            report = await in_thread(self.apply, name="vmrsched-effects")
        total = self.total
        total.done += report.done
        total.retried += report.retried
        total.failed += report.failed
        total.waiting = report.waiting
        total.blocked = report.blocked
        total.paused = report.paused
        total.errors += report.errors
