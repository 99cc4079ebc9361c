"""`Health`: what the running service knows about itself, for ``/health`` and ``/ready``."""

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class HealthSnapshot:
    """The service's state at one moment."""

    started: datetime
    last_pass: datetime | None
    last_pass_ok: datetime | None
    last_error: str
    push_healthy: bool
    stopping: bool


class Health:
    """Updated by the watcher, read by the web server (from another thread: hence the lock)."""

    def __init__(self, started: datetime) -> None:
        self._lock = threading.Lock()
        self._state = HealthSnapshot(
            started=started,
            last_pass=None,
            last_pass_ok=None,
            last_error="",
            push_healthy=True,
            stopping=False,
        )

    def snapshot(self) -> HealthSnapshot:
        """A consistent copy of the state."""
        with self._lock:
            return self._state

    def pass_succeeded(self, at: datetime) -> None:
        """A pass read the mailbox and recorded its decisions."""
        with self._lock:
            self._state = replace(self._state, last_pass=at, last_pass_ok=at, last_error="")

    def pass_failed(self, at: datetime, error: str) -> None:
        """A pass stopped with ``error``."""
        with self._lock:
            self._state = replace(self._state, last_pass=at, last_error=error)

    def push(self, *, healthy: bool) -> None:
        """Whether push notifications work (if not, the poll interval carries the service)."""
        with self._lock:
            self._state = replace(self._state, push_healthy=healthy)

    def stopping(self) -> None:
        """The service is shutting down."""
        with self._lock:
            self._state = replace(self._state, stopping=True)

    def ready(self, now: datetime, max_age: timedelta) -> tuple[bool, str]:
        """Ready: not stopping, and a pass succeeded within ``max_age``; with the reason."""
        state = self.snapshot()
        if state.stopping:
            return False, "stopping"
        if state.last_pass_ok is None:
            why = state.last_error or "no pass has completed yet"
            return False, why
        if now - state.last_pass_ok > max_age:
            return (
                False,
                f"no successful pass since {state.last_pass_ok.isoformat()}: {state.last_error}",
            )
        return True, "ok"
