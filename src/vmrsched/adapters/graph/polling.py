"""`DeltaPolling`: waiting for new mail without change notifications (no HTTPS
``[web] public_url``, or while Graph refuses the subscription).

Every `PEEK_EVERY` one ``GET`` of the last delta cursor `GraphMailbox.fetch_changes` returned,
with ``Prefer: odata.maxpagesize=1``: something new ends the wait; the answer is not kept
(`fetch_changes` reads the changes from the stored cursor). About 300 requests per 10 minutes
of the 10,000 Graph allows per app and mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from vmrsched.ports.mailbox import CursorExpiredError, MailboxError, WatchEvents

if TYPE_CHECKING:
    import threading

    from vmrsched.adapters.graph.transport import GraphTransport

#: Graph's largest page for a message delta (``Prefer: odata.maxpagesize``).
MAX_PAGE: Final = 1000
PEEK_EVERY: Final = timedelta(seconds=2)


class DeltaPolling:
    """Polls the inbox's message delta for one mailbox. `cursor` is the last cursor read."""

    def __init__(
        self,
        http: GraphTransport,
        *,
        user_path: str,
        closing: threading.Event,
        peek_every: timedelta = PEEK_EVERY,
    ) -> None:
        self.http = http
        self._user = user_path
        self._closed = closing
        self._peek_every = peek_every
        self.cursor: str | None = None

    def poll(self, timeout: timedelta) -> WatchEvents:
        """Poll the last delta cursor every `peek_every` until something new is there or
        `timeout` passes."""
        deadline = time.monotonic() + max(timeout.total_seconds(), 0.0)
        healthy, detail = True, ("polling with delta",)
        while not self._closed.is_set():
            cursor = self.cursor
            if cursor is None:
                try:
                    self._arm()
                except MailboxError as exc:
                    healthy, detail = False, (f"delta poll failed: {exc}",)
            elif cursor is not None:
                try:
                    if self._peek(cursor):
                        return WatchEvents(changed=True, push_healthy=True, detail=detail)
                    healthy, detail = True, ("polling with delta",)
                except CursorExpiredError:
                    return WatchEvents(changed=True, push_healthy=True, detail=("cursor expired",))
                except MailboxError as exc:
                    healthy, detail = False, (f"delta poll failed: {exc}",)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._closed.wait(min(remaining, self._peek_every.total_seconds()))
        return WatchEvents(
            changed=False, push_healthy=healthy and not self._closed.is_set(), detail=detail
        )

    def _arm(self) -> None:
        """Before the first `fetch_changes`: follow a delta round of ids to its end, so the
        next peek sees only what arrives from now on (as EWS subscribes before its first read)."""
        url: str | None = (
            f"{self._user}/mailFolders/inbox/messages/delta?changeType=created&$select=id"
        )
        while url is not None and not self._closed.is_set():
            answer = self.http.request(
                "GET",
                url,
                what="polling the inbox (delta)",
                headers={"Prefer": f"odata.maxpagesize={MAX_PAGE}"},
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            following = body.get("@odata.nextLink")
            if following is None:
                if self.cursor is None and body.get("@odata.deltaLink"):
                    self.cursor = str(body["@odata.deltaLink"])
                return
            url = str(following)

    def _peek(self, cursor: str) -> bool:
        if "$skiptoken" in cursor.casefold() or "skiptoken=" in cursor.casefold():
            return True  # a page is waiting
        answer = self.http.request(
            "GET",
            cursor,
            what="polling the inbox (delta)",
            headers={"Prefer": "odata.maxpagesize=1"},
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        return any(isinstance(e, dict) and "@removed" not in e for e in body.get("value") or ())
