"""`GraphMailbox`: the resource mailbox on Microsoft Graph v1.0, implementing
`vmrsched.ports.mailbox.Mailbox` over plain HTTPS (`transport`).

The resource mailbox's calendar processing must be ``AutoUpdate`` with
``AddNewRequestsTentatively $true`` (docs/explanation/graph-calendar-processing.md): Graph
answers a meeting on the *event* the Calendar Attendant put on the resource's calendar, which
the request's ``event`` link names. What each port call costs:

- `fetch_changes`: one page of the inbox's message delta (``changeType=created``, ids only; the
  cursor is the ``@odata.nextLink``/``@odata.deltaLink``), handed out one ``$batch`` at a time
  (`slices`): a ``$batch`` reads the slice's meeting messages, each with its event and its
  sequence number (`mapping.MESSAGE_EXPAND`); a single meeting message (the usual case with
  push) is one ``GET``, not a ``$batch`` of one.
  A delta token Graph no longer knows (410 ``syncStateNotFound``) raises `CursorExpiredError`;
  the service then starts a new round from None, and its store (not this adapter) makes sure a
  message seen twice is acted on once.
- `reply` (`replies`): ``POST /events/{id}/accept`` (or ``decline``, ``tentativelyAccept``) on the
  request's event with the reply as ``comment`` and ``sendResponse: true``. A first attempt
  (``Reply.maybe_sent`` False) for a request this adapter read is that one request. Otherwise
  one GET of the request with its event first (404: `MessageGoneError`): the event's
  ``responseStatus`` says whether the resource answered after the request arrived; a declined
  event leaves the calendar, so a decline is then looked for in Sent Items.
- `write_instructions`: the organizer's event (``$filter=iCalUId eq``, or the calendar view
  around an occurrence), skipped when our marker for this update is in its body, else one
  ``PATCH`` of the body: Graph sends the update to the attendees, and it comes back to the
  resource mailbox carrying the marker (an HTML comment Exchange copies into the update).
- `wait_for_changes`: with ``push_urls`` (``[web] public_url`` is HTTPS), a subscription to the
  inbox's new messages (`push`): a trusted notification that no delta page has answered ends
  the wait (`pending`), a lifecycle notification has the subscription renewed or made again
  first; the wait otherwise lasts its timeout (the
  service's poll interval, the safety net). Without push, or while Graph refuses the
  subscription, polling with delta (`polling`): every `peek_every` one GET of the last cursor
  (its answer is not kept; `fetch_changes` reads the changes).
- `read_marker`/`write_marker`: one GET / one PATCH of the Inbox folder's extended property
  ``vmrsched.installation`` (`marker`).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Final, Self

import structlog

from vmrsched.adapters.auth.client import AppTokenClient
from vmrsched.adapters.graph import mapping, marker, organizer, replies, waiting
from vmrsched.adapters.graph.errors import translate
from vmrsched.adapters.graph.polling import MAX_PAGE, PEEK_EVERY, DeltaPolling
from vmrsched.adapters.graph.push import GraphPush, push_clock
from vmrsched.adapters.graph.slices import (
    ROUND_QUERY,
    SLICE,
    Rest,
    Slices,
    delta_page,
    page_link,
)
from vmrsched.adapters.graph.transport import GraphTransport, Part
from vmrsched.ports.mailbox import (
    ChangePage,
    CursorExpiredError,
    InstallationMarker,
    InstructionsUpdate,
    Reply,
    WatchEvents,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime, timedelta
    from pathlib import Path

    from vmrsched.adapters.ews.connection import RetryBudget
    from vmrsched.config.settings import ExchangeSettings
    from vmrsched.domain.meetings import MeetingMessage

log = structlog.get_logger(__name__)

#: Requests whose event ids are remembered between reading and replying.
REMEMBERED_EVENTS: Final = 10_000


_segment = organizer.segment


class GraphMailbox:
    """The resource mailbox on Microsoft Graph. Thread-safe; calls block."""

    def __init__(
        self,
        *,
        graph_url: str,
        resource_mailbox: str,
        tokens: AppTokenClient,
        ca_bundle: Path | None = None,
        max_in_flight: int = 4,
        budget: RetryBudget | None = None,
        sleep: Callable[[float], object] = time.sleep,
        peek_every: timedelta = PEEK_EVERY,
        owns_tokens: bool = False,
        push_urls: tuple[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._address = resource_mailbox.strip()
        self._user = f"/users/{_segment(self._address)}"
        self._tokens = tokens
        self._owns_tokens = owns_tokens
        self.http = GraphTransport(
            graph_url,
            tokens,
            ca_bundle=ca_bundle,
            max_in_flight=max_in_flight,
            budget=budget,
            sleep=sleep,
        )
        self._closed = threading.Event()
        self._polling = DeltaPolling(
            self.http, user_path=self._user, closing=self._closed, peek_every=peek_every
        )
        self._slices = Slices()
        self._next_link: str | None = None  # the last page's @odata.nextLink (a round goes on)
        self._round_began: int | None = None  # `PendingChanges.round_begins` of that round
        self._events: dict[str, str] = {}  # request id → its event's id, from `_read`
        self._events_lock = threading.Lock()
        self.push = (
            None
            if push_urls is None
            else GraphPush(
                self.http,
                user_path=self._user,
                notification_url=push_urls[0],
                lifecycle_url=push_urls[1],
                clock=clock or push_clock,
            )
        )

    @classmethod
    def from_settings(
        cls,
        exchange: ExchangeSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        **options: Any,
    ) -> Self:
        """The mailbox of ``[exchange]``: its Graph URL, resource mailbox, app and CA bundle."""
        tokens = (
            AppTokenClient.from_settings(exchange, clock=clock)
            if clock is not None
            else AppTokenClient.from_settings(exchange)
        )
        if clock is not None:
            options["clock"] = clock
        return cls(
            graph_url=exchange.graph_url,
            resource_mailbox=exchange.resource_mailbox,
            tokens=tokens,
            ca_bundle=exchange.ca_bundle,
            owns_tokens=True,
            **options,
        )

    @property
    def address(self) -> str:
        """The resource mailbox's SMTP address."""
        return self._address

    # --- reading -------------------------------------------------------------------------------

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        """New messages in the inbox since `cursor`: a slice of a delta page, meetings read."""
        size = max(1, min(limit, MAX_PAGE))
        if cursor is not None and not cursor.startswith(self.http.base_url + "/"):
            # An EWS sync state (the installation moved from EWS to Graph) or a delta link of
            # another graph_url: Graph cannot resume from it; the service starts a new round.
            raise CursorExpiredError(
                "the stored cursor is not a delta link of this Graph endpoint",
                fix="nothing: vmrsched reads the inbox again (decided meetings are not redone)",
            )
        link = page_link(cursor) if cursor is not None else self.http.url(self._round_start)
        rest = self._slices.take(cursor)
        if rest is None:
            rest = self._delta_page(cursor, link, size)
        cut = min(size, SLICE)
        now, later = rest.entries[:cut], rest.entries[cut:]
        read = self._read(
            [str(e["id"]) for e in now if e.get("@odata.type") in mapping.MEETING_TYPES]
        )
        messages = [
            read.get(str(e["id"]))
            or mapping.other_message(
                str(e["id"]),
                str(e.get("@odata.type") or "#microsoft.graph.message"),
                mapping.parse_instant(e.get("receivedDateTime")),
            )
            for e in now
            if e.get("@odata.type") not in mapping.MEETING_TYPES or str(e["id"]) in read
        ]
        page = ChangePage(messages=messages, cursor=rest.cursor, more=rest.more)
        if later:  # the rest of the page waits for the next call, under a cursor of its own
            inside = self._slices.keep(link, Rest(later, rest.cursor, rest.more))
            page = ChangePage(messages=messages, cursor=inside, more=True)
        if messages:
            log.info("inbox_read", mailbox=self._address, messages=len(messages), more=page.more)
        return page

    @property
    def _round_start(self) -> str:
        return f"{self._user}/mailFolders/inbox/messages/delta?{ROUND_QUERY}"

    def _delta_page(self, cursor: str | None, link: str, size: int) -> Rest:
        """The delta page at ``link``, noting which push notifications its round answers."""
        # Which notifications this round answers: those that came before its first request.
        continued = cursor is not None and cursor == self._next_link
        began = self._round_began if continued and self._round_began is not None else None
        if began is None and self.push is not None:
            began = self.push.pending.round_begins()
        rest = delta_page(self.http, link, size)
        self._polling.cursor = rest.cursor
        self._next_link, self._round_began = (rest.cursor, began) if rest.more else (None, None)
        if self.push is not None:
            self.push.pending.returned(str(e["id"]) for e in rest.entries)
            if not rest.more and began is not None:
                self.push.pending.round_ended(began)
        return rest

    def _read(self, ids: Sequence[str]) -> dict[str, MeetingMessage]:
        """Meeting messages with their events and sequence numbers, 20 to a ``$batch``; one
        alone is one ``GET`` (a ``$batch`` of one is two requests: itself and the ``GET``)."""
        if not ids:
            return {}
        parts = [
            Part(
                "GET",
                f"{self._user}/messages/{_segment(i)}?$expand={mapping.MESSAGE_EXPAND}",
                headers=mapping.UTC_HTML,
            )
            for i in ids
        ]
        what = "reading meeting messages"
        answers = (
            [
                self.http.request(
                    "GET", parts[0].path, what=what, headers=mapping.UTC_HTML, accept=(404,)
                )
            ]
            if len(parts) == 1
            else self.http.batch(parts, what=what)
        )
        read: dict[str, MeetingMessage] = {}
        for message_id, answer in zip(ids, answers, strict=True):
            if answer.status == 404:
                log.info("message_gone_before_read", mailbox=self._address, message=message_id)
                continue
            if not answer.ok or not isinstance(answer.body, dict):
                raise translate(
                    answer.status, answer.body, answer.headers, "reading a meeting message"
                )
            read[message_id] = mapping.meeting_message(answer.body)
            self._remember_event(message_id, answer.body.get("event"))
        return read

    def _remember_event(self, message_id: str, event: object) -> None:
        """Keep the request's event id for its reply (a bounded memory: oldest forgotten)."""
        if isinstance(event, dict) and event.get("id"):
            with self._events_lock:
                self._events[message_id] = str(event["id"])
                while len(self._events) > REMEMBERED_EVENTS:
                    del self._events[next(iter(self._events))]

    def remembered_event(self, message_id: str) -> str | None:
        """The event id remembered for a request read by this adapter (None: not read here)."""
        with self._events_lock:
            return self._events.get(message_id)

    # --- replying ------------------------------------------------------------------------------

    def reply(self, reply: Reply) -> bool:
        """Accept, tentatively accept or decline the request's event on the resource's calendar
        (``sendResponse: true``), unless the resource already answered it since it arrived."""
        return replies.send_reply(
            self.http,
            user=self._user,
            address=self._address,
            reply=reply,
            known_event=self._events.get(reply.message_id),
        )

    # --- writing as the organizer --------------------------------------------------------------

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        """PATCH the organizer's event body with the instructions and our marker (Graph sends
        the update to the attendees), unless our marker for this update is there already."""
        return organizer.write_instructions(self.http, update)

    # --- waiting -------------------------------------------------------------------------------

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        """Until a change notification (with `push`) or, without it, until a delta poll sees
        something new; at most `timeout`."""
        if self.push is None:
            return self.poll(timeout)
        return waiting.wait_pushed(self, self.push, timeout)

    @property
    def closing(self) -> threading.Event:
        """Set when the mailbox closes (ends any wait)."""
        return self._closed

    def poll(self, timeout: timedelta) -> WatchEvents:
        """Poll the last delta cursor every `peek_every` until something new is there or
        `timeout` passes (`polling.DeltaPolling`)."""
        return self._polling.poll(timeout)

    # --- the installation marker ---------------------------------------------------------------

    def read_marker(self) -> InstallationMarker | None:
        """The marker on the resource's Inbox (`marker`: a named extended property)."""
        return marker.read(self.http, self._user)

    def write_marker(self, value: InstallationMarker) -> None:
        """Create or replace the marker on the resource's Inbox (one PATCH)."""
        marker.write(self.http, self._user, value)

    def close(self) -> None:
        """Stop waiting, drop the subscription, close the HTTP session (and the token client
        if it is ours)."""
        self._closed.set()
        if self.push is not None:
            self.push.wake()
            self.push.close()
        self.http.close()
        if self._owns_tokens:
            self._tokens.close()
