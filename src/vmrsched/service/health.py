"""`Health`: what the running service knows about itself, for ``/health`` and ``/ready``.

``/ready`` is answered to anyone who reaches the web port (it is public once the add-in is served),
so its reason names only the kind of the last failure (``MailboxError``); the failure's text
(host names, addresses, Entra's answer) stays in the service's log (``pass_failed``).
"""

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
    #: The kind of ``last_error`` (its exception class), the part ``/ready`` may show.
    last_error_kind: str
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
            last_error_kind="",
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
            self._state = replace(
                self._state, last_pass=at, last_pass_ok=at, last_error="", last_error_kind=""
            )

    def pass_failed(self, at: datetime, error: str, *, kind: str = "an error") -> None:
        """A pass stopped with ``error`` (its full text) of ``kind`` (what ``/ready`` shows)."""
        with self._lock:
            self._state = replace(self._state, last_pass=at, last_error=error, last_error_kind=kind)

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
        failure = ""
        if state.last_error:
            failure = f"the last pass failed ({state.last_error_kind}); the service's log says why"
        if state.last_pass_ok is None:
            return False, failure or "no pass has completed yet"
        if now - state.last_pass_ok > max_age:
            since = f"no successful pass since {state.last_pass_ok.isoformat()}"
            return False, f"{since}; {failure}" if failure else since
        return True, "ok"
