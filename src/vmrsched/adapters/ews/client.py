"""`EwsMailbox`: the resource mailbox on Exchange Web Services, implementing
`vmrsched.ports.mailbox.Mailbox` on exchangelib.

The app impersonates the resource mailbox (and, to write instructions, the organizer) with an
app-only token. What each port call costs in EWS operations:

- `fetch_changes`: one ``SyncFolderItems`` on the inbox (IdOnly + ItemClass, up to ``limit``
  changes; the cursor is the sync state), then one ``GetItem`` per ``get_item_batch`` meeting
  messages with only the fields the mapping reads. Other new items are reported as OTHER without
  being read.
- `reply`: ``CreateItem`` ``SendAndSaveCopy`` with ``AcceptItem``/``DeclineItem`` referencing
  the request. When an earlier attempt may have sent it (``Reply.maybe_sent``, or a retry inside
  the call after a CreateItem was tried), first one ``FindItem`` in Sent Items for a response
  carrying the reply's key, so a reply sent before a crash or a timeout is not sent again. The
  key travels in the body as an HTML comment: the schema allows no extended property on a
  response object (``WellKnownResponseObjectType``). Safe to call from several threads at once.
- `write_instructions`: ``FindItem`` on the organizer's calendar (by PidLidGlobalObjectId, or
  a CalendarView for one occurrence), ``GetItem`` for its body and marker, ``UpdateItem`` with
  ``SendToAllAndSaveCopy``; skipped when our marker for this update is already there.
- `read_marker`/`write_marker`: GetFolder / UpdateFolder of the Inbox's named property (the one
  the Graph adapter keeps), plus Get/UpdateUserConfiguration of the object earlier releases
  kept (`marker`).
- `wait_for_changes`: a streaming subscription on a connection of its own (`streaming`), made
  before the first `fetch_changes` reads (one ``Subscribe``, then ``GetStreamingEvents`` held
  open), so a message landing between a read and the first wait is not missed.

Every call runs through `Connection.call`: throttling waited out within a bounded budget, then
`MailboxUnavailableError` with ``retry_after``; one fresh token on HTTP 401; errors in our words.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Self

import structlog
from exchangelib import EWSDateTime
from exchangelib.fields import FieldPath
from exchangelib.items import (
    ID_ONLY,
    SEND_AND_SAVE_COPY,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_NONE,
    SHALLOW,
    Item,
)
from exchangelib.properties import CalendarView, DistinguishedFolderId, HTMLBody, ItemId, Mailbox
from exchangelib.services import CreateItem, FindItem, GetItem, SyncFolderItems

from vmrsched.adapters.auth.client import AppTokenClient
from vmrsched.adapters.ews import mapping, marker, models, restrictions
from vmrsched.adapters.ews.connection import Connection, RetryBudget
from vmrsched.adapters.ews.errors import GONE
from vmrsched.adapters.ews.streaming import RETRY_DELAYS, InboxWatcher
from vmrsched.ports.mailbox import (
    ChangePage,
    InstallationMarker,
    InstructionsUpdate,
    MessageGoneError,
    Reply,
    WatchEvents,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from vmrsched.config.settings import ExchangeSettings
    from vmrsched.domain.meetings import MeetingMessage

log = structlog.get_logger(__name__)

#: SyncFolderItems' MaxChangesReturned range.
MAX_CHANGES: Final = 512
#: Items per GetItem. Microsoft's guidance is about 10 full items per batch (REFERENCES §2); we
#: ask for a few properties per item, so 50 keeps a request small while a 1,000-message backlog
#: costs 20 GetItem calls. Tunable with ``get_item_batch``.
GET_ITEM_BATCH: Final = 50
#: How long the first `fetch_changes` (or `wait_for_changes`) waits for the stream's
#: subscription to exist.
ARM_TIMEOUT: Final = timedelta(seconds=10)
_SYNC_FIELDS: Final = frozenset({FieldPath(field=Item.get_field_by_fieldname("item_class"))})


class _GetItems(GetItem):  # type: ignore[misc]
    """GetItem that parses meeting messages into our model classes."""

    def _elem_to_obj(self, elem: Any) -> Any:
        return models.item_from_xml(elem, self.account)


class EwsMailbox:
    """The resource mailbox on EWS. Thread-safe; calls block (the service runs them in threads).

    `sleep` is how throttling back-offs wait (pass the service's stop-aware wait); `push=False`
    leaves `wait_for_changes` to the poll interval; `push_retry_delays` are the waits, in
    seconds, between attempts to bring a lost stream back.
    """

    def __init__(
        self,
        *,
        ews_url: str,
        resource_mailbox: str,
        tokens: AppTokenClient,
        ca_bundle: Path | None = None,
        max_connections: int = 4,
        budget: RetryBudget | None = None,
        sleep: Callable[[float], object] = time.sleep,
        push: bool = True,
        get_item_batch: int = GET_ITEM_BATCH,
        push_retry_delays: Sequence[float] = RETRY_DELAYS,
        owns_tokens: bool = False,
    ) -> None:
        self._address = resource_mailbox.strip()
        self._tokens = tokens
        self._owns_tokens = owns_tokens
        self._batch = max(1, get_item_batch)
        self._calls = Connection(
            ews_url,
            tokens,
            ca_bundle=ca_bundle,
            max_connections=max_connections,
            budget=budget,
            sleep=sleep,
        )
        self._watcher: InboxWatcher | None = None
        if push:
            stream = Connection(
                ews_url, tokens, ca_bundle=ca_bundle, max_connections=2, purpose="stream"
            )
            self._watcher = InboxWatcher(stream, self._address, retry_delays=push_retry_delays)
        self._closed = threading.Event()
        self._inbox = _folder("inbox", self._address)

    @classmethod
    def from_settings(
        cls,
        exchange: ExchangeSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        **options: Any,
    ) -> Self:
        """The mailbox of ``[exchange]``: its EWS URL, resource mailbox, app and CA bundle."""
        tokens = (
            AppTokenClient.from_settings(exchange, clock=clock)
            if clock is not None
            else AppTokenClient.from_settings(exchange)
        )
        return cls(
            ews_url=exchange.ews_url,
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
        """New items in the inbox since `cursor`: one SyncFolderItems page, meetings read."""
        if self._watcher is not None and not self._watcher.started and not self._closed.is_set():
            # Subscribe before the first read, so nothing that lands after it waits for the poll
            # interval (see `streaming`).
            self._watcher.arm(ARM_TIMEOUT)
        account = self._calls.account(self._address)
        wanted = max(1, min(limit, MAX_CHANGES))

        def attempt() -> ChangePage:
            sync = SyncFolderItems(account=account)
            changes = list(
                sync.call(
                    folder=self._inbox,
                    shape=ID_ONLY,
                    additional_fields=set(_SYNC_FIELDS),
                    sync_state=cursor,
                    ignore=None,
                    max_changes_returned=wanted,
                    sync_scope=None,
                )
            )
            created = [
                mapping.Seen(str(item.id), str(item.item_class or ""))
                for kind, item in changes
                if kind == SyncFolderItems.CREATE and not isinstance(item, Exception)
            ]
            read = self._read(account, [s.item_id for s in created if _is_meeting(s)])
            messages = [
                read[s.item_id] if _is_meeting(s) else mapping.other_message(s)
                for s in created
                if s.item_id in read or not _is_meeting(s)
            ]
            more = not sync.includes_last_item_in_range and sync.sync_state != cursor
            return ChangePage(messages=messages, cursor=str(sync.sync_state), more=more)

        page = self._calls.call("reading the inbox", self._address, attempt)
        if page.messages:
            log.info(
                "inbox_read", mailbox=self._address, messages=len(page.messages), more=page.more
            )
        return page

    def _read(self, account: Any, ids: Sequence[str]) -> dict[str, MeetingMessage]:
        """GetItem in batches; items gone since the sync are skipped."""
        if not ids:
            return {}
        service = _GetItems(account=account, chunk_size=self._batch)
        results = service.call(
            items=[ItemId(id=item_id) for item_id in ids],
            additional_fields=models.fetched_fields(),
            shape=ID_ONLY,
        )
        read: dict[str, MeetingMessage] = {}
        for item_id, result in zip(ids, results, strict=True):
            if isinstance(result, GONE):
                log.info("message_gone_before_read", mailbox=self._address, message=item_id)
                continue
            if isinstance(result, Exception):
                raise result
            message = mapping.meeting_message(result)
            read[message.message_id] = message
        return read

    # --- replying ------------------------------------------------------------------------------

    def reply(self, reply: Reply) -> bool:
        """Send `reply` unless Sent Items already holds a response with its key (looked for
        only when an earlier attempt may have sent it)."""
        account = self._calls.account(self._address)
        digest = mapping.key_digest(reply.idempotency_key)
        sent_by_us = False

        def attempt() -> bool:
            nonlocal sent_by_us
            if (reply.maybe_sent or sent_by_us) and self._reply_in_sent_items(account, digest):
                return sent_by_us
            response = mapping.response_item(
                reply.kind, reply.message_id, reply.body_html, reply.idempotency_key, account
            )
            sent_by_us = True  # from here on, a failure may still have sent it: look first
            created = CreateItem(account=account).call(
                items=[response],
                folder=_SentItems.of(account),
                message_disposition=SEND_AND_SAVE_COPY,
                send_meeting_invitations=SEND_TO_NONE,
            )
            for result in created:
                if isinstance(result, Exception):
                    raise result
            return True

        sent: bool = self._calls.call("replying to a meeting request", self._address, attempt)
        log.info(
            "reply_sent" if sent else "reply_already_sent",
            mailbox=self._address,
            message=reply.message_id,
            kind=reply.kind.value,
            key=reply.idempotency_key,
        )
        return sent

    def _reply_in_sent_items(self, account: Any, digest: str) -> bool:
        found = FindItem(account=account, page_size=1).call(
            folders=[_folder("sentitems", self._address)],
            additional_fields=None,
            restriction=restrictions.sent_reply(digest),
            order_fields=None,
            shape=ID_ONLY,
            query_string=None,
            depth=SHALLOW,
            calendar_view=None,
            max_items=1,
            offset=0,
        )
        return any(not isinstance(item, Exception) for item in found)

    # --- writing as the organizer (issue 4 completes this flow) ------------------------------

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        """Write the instructions into the organizer's meeting and update its attendees, unless
        our marker for this update is on it already."""
        organizer = update.organizer_email.strip()
        account = self._calls.account(organizer)

        def attempt() -> bool:
            meeting = self._organizer_meeting(account, update)
            html = mapping.body_as_html(meeting.body)
            if (
                meeting.write_marker == update.marker
                or mapping.marker_of(meeting, html, "") == update.marker
            ):
                return False
            meeting.body = HTMLBody(
                mapping.with_instructions(
                    html,
                    update.body_html,
                    update.marker,
                    replace_placeholder=update.replace_placeholder,
                    placeholder_text=update.placeholder_text,
                )
            )
            meeting.write_marker = update.marker
            meeting.save(
                update_fields=["body", "write_marker"],
                send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY,
            )
            return True

        written: bool = self._calls.call("writing instructions", organizer, attempt)
        log.info(
            "instructions_written" if written else "instructions_already_written",
            organizer=organizer,
            uid=update.uid,
            key=update.idempotency_key,
        )
        return written

    def _organizer_meeting(self, account: Any, update: InstructionsUpdate) -> Any:
        """The organizer's calendar item (or occurrence) with its body and our marker."""
        calendar = _folder("calendar", update.organizer_email.strip())
        if update.occurrence_original_start:
            item_id = self._find_occurrence(account, calendar, update)
        else:
            item_id = self._find_by_uid(account, calendar, update.uid)
        if item_id is None:
            raise MessageGoneError(
                f"no meeting with UID {update.uid} in {update.organizer_email}'s calendar"
            )
        fields = {
            FieldPath(field=models.OrganizerMeeting.get_field_by_fieldname(name))
            for name in ("body", "write_marker", "uid")
        }
        (meeting,) = list(
            _GetItems(account=account).call(
                items=[item_id], additional_fields=fields, shape=ID_ONLY
            )
        )
        if isinstance(meeting, Exception):
            raise meeting
        return meeting

    def _find_by_uid(self, account: Any, calendar: Any, uid: str) -> Any:
        # Exchange finds a meeting by PidLidGlobalObjectId; calendar:UID cannot be used in a
        # restriction there (ErrorUnsupportedPathForQuery; exchangelib issues #492 and #914).
        found = [
            item
            for item in self._find(account, calendar, restrictions.meeting_by_goid(uid))
            if not isinstance(item, Exception)
        ]
        return found[0] if found else None  # IdOnly: an (id, change key) pair

    def _find(self, account: Any, calendar: Any, restriction: Any) -> list[Any]:
        return list(
            FindItem(account=account, page_size=2).call(
                folders=[calendar],
                additional_fields=None,
                restriction=restriction,
                order_fields=None,
                shape=ID_ONLY,
                query_string=None,
                depth=SHALLOW,
                calendar_view=None,
                max_items=2,
                offset=0,
            )
        )

    def _find_occurrence(self, account: Any, calendar: Any, update: InstructionsUpdate) -> Any:
        original = datetime.fromisoformat(str(update.occurrence_original_start)).astimezone(UTC)
        # exchangelib wants its own datetime type in a view (a plain aware datetime is refused).
        view = CalendarView(
            start=EWSDateTime.from_datetime(original - timedelta(days=1)),
            end=EWSDateTime.from_datetime(original + timedelta(days=2)),
        )
        fields = {
            FieldPath(field=models.OrganizerMeeting.get_field_by_fieldname(name))
            for name in ("uid", "original_start", "start")
        }
        found = FindItem(account=account, page_size=100).call(
            folders=[calendar],
            additional_fields=fields,
            restriction=None,
            order_fields=None,
            shape=ID_ONLY,
            query_string=None,
            depth=SHALLOW,
            calendar_view=view,
            max_items=100,
            offset=0,
        )
        for item in found:
            if isinstance(item, Exception) or str(getattr(item, "uid", "")) != update.uid:
                continue
            when = item.original_start or item.start
            # Compared as instants: exchangelib's datetimes refuse a stdlib tzinfo in astimezone.
            if when is not None and when.timestamp() == original.timestamp():
                return item._id  # noqa: SLF001 - exchangelib's id object
        return None

    # --- push ----------------------------------------------------------------------------------

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        """Block until the stream reports a change (or a gap), or `timeout` passes."""
        if self._closed.is_set():
            return WatchEvents(changed=False, push_healthy=False, detail=("closed",))
        if self._watcher is None:
            self._closed.wait(timeout.total_seconds())
            return WatchEvents(changed=False, push_healthy=False, detail=("push is off",))
        self._watcher.arm(ARM_TIMEOUT)
        changed = self._watcher.wait(timeout)
        healthy = self._watcher.healthy
        detail = () if healthy else (f"stream down: {self._watcher.last_error}",)
        return WatchEvents(changed=changed, push_healthy=healthy, detail=detail)

    # --- the installation marker (`marker`) ---------------------------------------------------

    def read_marker(self) -> InstallationMarker | None:
        """The installation marker: the Inbox property or the older object, the newer one."""
        return marker.read(self._calls, self._address)

    def write_marker(self, value: InstallationMarker) -> None:
        """Create or replace the installation marker (UpdateFolder of the Inbox property)."""
        marker.write(self._calls, self._address, value)

    def close(self) -> None:
        """End the stream, close the connections (and the token client if it is ours)."""
        self._closed.set()
        if self._watcher is not None:
            self._watcher.close()
        self._calls.close()
        if self._owns_tokens:
            self._tokens.close()


class _SentItems(DistinguishedFolderId):  # type: ignore[misc]
    """Sent Items by its distinguished name, tied to an account as CreateItem wants (naming it
    saves the two GetFolder calls exchangelib makes to look the folder up)."""

    __slots__ = ("account",)

    @classmethod
    def of(cls, account: Any) -> _SentItems:
        folder = cls(id="sentitems", mailbox=Mailbox(email_address=account.primary_smtp_address))
        folder.account = account
        return folder


def _folder(name: str, mailbox: str) -> DistinguishedFolderId:
    return DistinguishedFolderId(id=name, mailbox=Mailbox(email_address=mailbox))


def _is_meeting(seen: mapping.Seen) -> bool:
    return mapping.is_meeting_class(seen.item_class)
