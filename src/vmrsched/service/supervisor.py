"""The supervisor: runs the service's tasks, stops them on purpose, and says why (STYLE habit 5).

Every task is an ``async`` function of the shared stop event that returns when the event is set.
A task that returns or raises while the stop event is not set has died: the supervisor logs it
loudly, sets the stop event so the others wind down, and reports a failure (the CLI exits
non-zero, so a process manager restarts the service). After the stop event is set, the tasks get
a grace period to finish what they are doing; any still running then is cancelled.
"""

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from vmrsched.ports.mailbox import MailboxError
from vmrsched.ports.store import StoreError
from vmrsched.service.threads import in_thread
from vmrsched.service.watch import wait_or_stop

log = structlog.get_logger(__name__)

TaskBody = Callable[[asyncio.Event], Coroutine[Any, Any, object]]


@dataclass(frozen=True)
class Task:
    """A named task of the service: ``body(stop)`` runs until ``stop`` is set."""

    name: str
    body: TaskBody


@dataclass(frozen=True)
class StopReport:
    """Why the service stopped; ``failed`` names the task that died, if one did."""

    reason: str
    failed: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the service stopped because it was asked to."""
        return self.failed is None


class Supervisor:
    """Runs tasks until the stop event is set or one of them dies."""

    def __init__(self, tasks: Sequence[Task], *, grace: timedelta = timedelta(seconds=10)) -> None:
        if len({task.name for task in tasks}) != len(tasks):
            raise ValueError("task names must be unique")
        self.tasks = tuple(tasks)
        self.grace = grace
        self.stop_reason = ""

    def request_stop(self, stop: asyncio.Event, reason: str) -> None:
        """Ask every task to stop (first reason wins), e.g. from a signal handler."""
        if not self.stop_reason:
            self.stop_reason = reason
            log.info("stop_requested", reason=reason)
        stop.set()

    async def run(self, stop: asyncio.Event) -> StopReport:
        """Run every task; return when all have ended (or were cancelled after the grace)."""
        running = {
            asyncio.create_task(task.body(stop), name=task.name): task.name for task in self.tasks
        }
        log.info("service_started", tasks=sorted(running.values()))
        stopper = asyncio.create_task(stop.wait(), name="stop-event")
        await asyncio.wait({*running, stopper}, return_when=asyncio.FIRST_COMPLETED)
        report = StopReport(reason=self.stop_reason or "stop requested")
        if not stop.is_set():
            report = self._death(running)
            self.request_stop(stop, report.reason)
        stopper.cancel()
        late = await self._wind_down(running)
        emit = log.info if report.ok else log.error
        emit(
            "service_stopped",
            reason=report.reason,
            failed_task=report.failed,
            error=report.error,
            cancelled=late,
        )
        return report

    def _death(self, running: dict["asyncio.Task[object]", str]) -> StopReport:
        died = next(task for task in running if task.done())
        name = running[died]
        error = died.exception() if not died.cancelled() else None
        if error is not None:
            log.error(
                "task_died",
                task=name,
                error=f"{type(error).__name__}: {error}",
                exc_info=error,
            )
            text = f"{type(error).__name__}: {error}"
            return StopReport(reason=f"task {name} died", failed=name, error=text)
        log.error("task_ended", task=name, detail="a task returned while the service was running")
        return StopReport(reason=f"task {name} ended unexpectedly", failed=name)

    async def _wind_down(self, running: dict["asyncio.Task[object]", str]) -> list[str]:
        pending = {task for task in running if not task.done()}
        late: list[str] = []
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.grace.total_seconds())
            for task in still:
                late.append(running[task])
                log.warning("task_cancelled", task=running[task], grace=str(self.grace))
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        for task, name in running.items():
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                log.error("task_error", task=name, error=f"{type(error).__name__}: {error}")
        return sorted(late)


def periodic(
    name: str,
    every: timedelta,
    work: Callable[[], object],
    *,
    lock: asyncio.Lock | None = None,
    first_delay: timedelta | None = None,
) -> Task:
    """A side task that runs ``work()`` (blocking, in a thread) every ``every`` until stopped.

    Transient failures (retryable store and mailbox errors, refused credentials) are logged and
    tried again next time; anything else ends the task, and so stops the service loudly.
    """

    async def body(stop: asyncio.Event) -> str:
        delay = every if first_delay is None else first_delay
        while not await wait_or_stop(stop, delay):
            delay = every
            try:
                if lock is None:
                    await in_thread(work, name=f"vmrsched-{name}")
                else:
                    async with lock:
                        await in_thread(work, name=f"vmrsched-{name}")
            except (MailboxError, StoreError) as exc:
                if isinstance(exc, StoreError) and not exc.retryable:
                    raise
                log.warning("side_task_failed", task=name, error=f"{type(exc).__name__}: {exc}")
        return "stop requested"

    return Task(name, body)
