"""Push for EWS: a streaming subscription on the resource mailbox's inbox, held by one thread on
a connection of its own, that raises a flag when something arrives.

Streaming notifications only say *that* something changed; SyncFolderItems stays the source of
truth, and the service's poll interval stays the safety net (notifications are not durable).
The thread reconnects when a stream ends (``ConnectionStatus Closed`` after ``ConnectionTimeout``
minutes) or drops, and makes a new subscription, without the old watermark, when Exchange says the
subscription is gone or broken. After any gap it raises the flag, so a pass catches what the gap
may have hidden.

The first subscription is made before the first read (`EwsMailbox.fetch_changes` arms the
watcher): a message that lands after that read is then on the stream, and one that lands before
it is in the read. Subscribing only at the first wait left a window between the first pass and the
subscription in which a new request waited a whole poll interval. Arming first costs no call; a
"changed" flag raised on every arm would cost a SyncFolderItems per start instead.
— https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/notification-subscriptions-mailbox-events-and-ews-in-exchange
— https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/handling-notification-related-errors-in-ews-in-exchange
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import structlog
from exchangelib.properties import DistinguishedFolderId, Mailbox
from exchangelib.services import GetStreamingEvents, SubscribeToStreaming, Unsubscribe

from vmrsched.adapters.ews.connection import CALL_ERRORS
from vmrsched.adapters.ews.errors import SUBSCRIPTION

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vmrsched.adapters.ews.connection import Connection

log = structlog.get_logger(__name__)

#: What wakes a pass: new items, and items moved or copied into the inbox. Modified, deleted
#: and free/busy events change nothing vmrsched reads (our own replies cause some of them).
EVENT_TYPES: Final = ("NewMailEvent", "CreatedEvent", "MovedEvent", "CopiedEvent")
#: Longest stream Exchange allows (ConnectionTimeout 1-30 minutes): fewest reconnects.
STREAM_MINUTES: Final = 30
RETRY_DELAYS: Final = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
#: A stream shorter than this ended abnormally (a normal one lasts STREAM_MINUTES).
MIN_STREAM_SECONDS: Final = 10.0


class InboxWatcher:
    """A streaming subscription on one inbox, followed by a background thread.

    `arm` starts the thread and waits for the first subscription; `wait` blocks until a change
    (or a gap) was seen; `healthy` says whether the stream is up. `close` ends it all.
    """

    def __init__(
        self,
        connection: Connection,
        mailbox: str,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._connection = connection
        self.mailbox = mailbox
        self._retry_delays = tuple(retry_delays) or RETRY_DELAYS
        self._changed = threading.Event()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stream: Any = None
        self._subscription: str | None = None
        self.healthy = False
        self.last_error = ""
        self.reconnects = 0

    @property
    def started(self) -> bool:
        """Whether `arm` has started the thread (it may still be subscribing)."""
        return self._thread is not None

    def arm(self, timeout: timedelta) -> None:
        """Start following the inbox (once); wait up to `timeout` for the first subscription.

        When the first attempt fails, the thread raises the flag once a later one succeeds, so the
        change that the gap may have hidden is caught by a pass.
        """
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"ews-stream-{self.mailbox}", daemon=True
                )
                self._thread.start()
        self._ready.wait(timeout.total_seconds())

    def wait(self, timeout: timedelta) -> bool:
        """Whether something changed within `timeout` (the flag is cleared on return)."""
        changed = self._changed.wait(max(0.0, timeout.total_seconds()))
        if changed:
            # A change flagged right after this is caught by the pass the caller runs now.
            self._changed.clear()
        return changed

    def close(self, grace: timedelta = timedelta(seconds=5)) -> None:
        """Stop the thread: end the stream, drop the subscription, close the connection."""
        self._stop.set()
        self._changed.set()  # wake a waiter
        thread = self._thread
        deadline = time.monotonic() + grace.total_seconds()
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            # The thread may be opening a stream right now: interrupt whatever is current.
            _interrupt(getattr(self._stream, "_streaming_response", None))
            thread.join(0.05)
        if self._subscription is not None:
            with suppress(*CALL_ERRORS):
                Unsubscribe(account=self._account()).get(subscription_id=self._subscription)
        self._connection.close()

    # --- the thread ---------------------------------------------------------------------------

    def _account(self) -> Any:
        return self._connection.account(self.mailbox)

    def _subscribe(self) -> str:
        inbox = DistinguishedFolderId(id="inbox", mailbox=Mailbox(email_address=self.mailbox))
        subscription: str = SubscribeToStreaming(account=self._account()).get(
            folders=[inbox], event_types=EVENT_TYPES
        )
        return subscription

    def _follow(self, subscription: str, started: float) -> None:
        """Read one stream to its end; ShortStreamError when it ended much too soon."""
        stream = GetStreamingEvents(account=self._account())
        self._stream = stream
        try:
            for notification in stream.call(
                subscription_ids=[subscription], connection_timeout=STREAM_MINUTES
            ):
                if self._stop.is_set():
                    return
                if any(type(e).__name__ != "StatusEvent" for e in notification.events):
                    self._changed.set()
        finally:
            self._stream = None
        if not self._stop.is_set() and time.monotonic() - started < MIN_STREAM_SECONDS:
            raise ShortStreamError("the stream ended right after it opened")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self._subscription is None:
                    self._subscription = self._subscribe()
                    log.info("push_subscribed", mailbox=self.mailbox)
                self.healthy = True
                self._ready.set()
                if failures:
                    self._changed.set()  # the gap may have hidden a change
                self._follow(self._subscription, started)
                if self._stop.is_set():
                    return
                failures = 0
                self.reconnects += 1
            except SUBSCRIPTION as exc:
                # Gone, expired or broken: a new one, without the old watermark.
                log.warning("push_resubscribing", mailbox=self.mailbox, error=type(exc).__name__)
                self._subscription = None
                failures += 1
            except Exception as exc:  # a side task reports and retries; it must never die
                if self._stop.is_set():
                    return
                failures += 1
                self.healthy = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._ready.set()
                delay = self._retry_delays[min(failures, len(self._retry_delays)) - 1]
                log.warning(
                    "push_stream_lost",
                    mailbox=self.mailbox,
                    error=self.last_error,
                    retry_in_s=delay,
                    failures=failures,
                )
                self._stop.wait(delay)


class ShortStreamError(Exception):
    """A stream that ended much sooner than its ConnectionTimeout: treated as a failure, so a
    server that keeps cutting streams is not hammered with reconnects."""


def _interrupt(response: Any) -> None:
    """End a blocked streaming read at once by shutting its socket down.

    ``Response.close()`` would wait for the reading thread's lock until the server's next
    keep-alive (45 s); a socket shutdown wakes the read with an error instead.
    """
    raw = getattr(response, "raw", None)
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with suppress(OSError):  # already closed by the server or the other thread
            sock.shutdown(socket.SHUT_RDWR)
