"""EWS notification subscriptions: who listens to which mailbox, from where, over what.

One `SubscriptionRegistry` per simulator (`registry_for(sim)`) holds every pull, push and
streaming subscription and every open streaming connection. It never copies events: a
subscription is a filter (folders, event types) plus a cursor into the mailbox's event stream
(`event_stream.py`: positions, watermarks, the EWS events of a store change), so resuming from a
watermark, re-reading after a lost answer and catching up after a reconnect are the same
operation. The store's change listener only wakes the connections (and push senders) of the
mailbox that changed.

Exchange's rules kept here (Microsoft sources in docs/exchangesim.md, "Subscribe"):

- limits as Exchange Online has them: 20 subscriptions per mailbox
  (`ErrorExceededSubscriptionCount`), 10 open streaming connections per mailbox
  (`ErrorExceededConnectionCount`), 200 subscriptions per connection, 50 events per
  notification;
- lifetimes: a pull subscription dies when not polled for `Timeout` minutes; a streaming
  subscription without a connection for 30 minutes (inferred); a push subscription when its
  listener stops answering for `StatusFrequency` minutes.

Times: expiry reads the simulator's clock (tests inject one); waits inside a connection use real
time multiplied by `registry.time_scale` (1.0 = Exchange's minutes; tests shrink it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Literal

from exchangesim.ews.event_stream import AFTER_ALL, Batch, MailboxEvent, Position, expand
from exchangesim.ews.notify_faults import subscription_error
from exchangesim.store.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator
    from exchangesim.store import ChangeEvent, Store

SubscriptionKind = Literal["pull", "push", "streaming"]
MAX_SUBSCRIPTIONS_PER_MAILBOX: Final = 20
MAX_CONNECTIONS_PER_MAILBOX: Final = 10
MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 200
MAX_EVENTS_PER_NOTIFICATION: Final = 50
STREAMING_IDLE_LIFETIME: Final = timedelta(minutes=30)
#: How often a streaming connection says `ConnectionStatus OK` when nothing happens: the EWS
#: Managed API expects a heartbeat every 45 s (ews-java-api `HeartbeatFrequencyDefault`; issue
#: OfficeDev/ews-java-api#497).
KEEPALIVE_SECONDS: Final = 45.0
#: First push retry after 30 s, doubling (web-service-reference/statusfrequency).
PUSH_FIRST_RETRY_SECONDS: Final = 30.0

_SERVER_NAME: Final = b"exchangesim01.prod.exchangesim.local"


def owner_of(principal: Principal) -> str:
    """Who owns what `principal` subscribes: the app, or the signed-in user.

    GetEvents compares "the SMTP address of the authenticated user" with the subscription's
    creator (web-service-reference/getevents-operation); with app-only impersonation the
    authenticated party is the app.
    """
    if principal.kind == "app":
        return f"app:{principal.app_id}"
    return f"user:{(principal.upn or principal.oid or '').casefold()}"


def _subscription_id() -> str:
    """A new id shaped like Exchange Online's: length-prefixed server name, a GUID, 8 bytes."""
    raw = (
        len(_SERVER_NAME).to_bytes(2, "little")
        + _SERVER_NAME
        + (16).to_bytes(4, "little")
        + uuid.uuid4().bytes
        + secrets.token_bytes(8)
    )
    return base64.b64encode(raw).decode("ascii")


# --- subscriptions and connections --------------------------------------------------------------


@dataclass(eq=False)
class Subscription:
    """One subscription: a filter over one mailbox's events and how far it has been delivered."""

    id: str
    kind: SubscriptionKind
    owner: str
    mailbox: str
    folder_ids: frozenset[str] | None  # None: SubscribeToAllFolders
    event_types: frozenset[str]
    cursor: Position
    last_activity: datetime
    timeout: timedelta | None = None  # pull
    status_frequency: timedelta | None = None  # push
    url: str | None = None  # push
    caller_data: str | None = None  # push
    connection: Connection | None = None  # streaming

    def wants(self, event: MailboxEvent) -> bool:
        """Whether the event passes this subscription's filter."""
        if event.event_type not in self.event_types:
            return False
        return self.folder_ids is None or any(f in self.folder_ids for f in event.folders())


class Waker:
    """Wakes a coroutine of an event loop from any thread (store listeners run in any thread)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Set the event, thread-safely; a closed loop is ignored."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> bool:
        """Wait until woken or `seconds` pass; True when woken. Clears the wake-up."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(seconds, 0))
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


@dataclass(eq=False)
class Connection:
    """An open GetStreamingEvents connection, charged to `mailbox`."""

    mailbox: str
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    waker: Waker = field(default_factory=Waker)


class SubscriptionRegistry:
    """Every subscription and streaming connection of one simulator. Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.time_scale = 1.0
        self._lock = threading.Lock()
        self._removed = threading.Condition(self._lock)
        self._subscriptions: dict[str, Subscription] = {}
        self._connections: set[Connection] = set()
        self._wakers: dict[str, set[Waker]] = {}
        self._calendars: dict[str, str | None] = {}
        self.push_tasks: set[asyncio.Task[None]] = set()
        store.subscribe(self._on_change)

    # --- the store's listener (runs in whichever thread changed the store) ---------------------

    def _on_change(self, change: ChangeEvent) -> None:
        with self._lock:
            wakers = list(self._wakers.get(change.mailbox.casefold(), ()))
        for waker in wakers:
            waker.wake()

    def listen(self, mailbox: str, waker: Waker) -> Callable[[], None]:
        """Wake `waker` on every change of `mailbox`; returns the function that stops it."""
        key = mailbox.casefold()
        with self._lock:
            self._wakers.setdefault(key, set()).add(waker)

        def stop() -> None:
            with self._lock:
                self._wakers.get(key, set()).discard(waker)

        return stop

    # --- positions and events ------------------------------------------------------------------

    def now_position(self) -> Position:
        """The position after everything that has happened so far."""
        return self.store.watermark(), AFTER_ALL

    def check_position(self, position: Position) -> None:
        """`ExpiredWatermark` when the event log no longer reaches back to `position`."""
        seq, sub = position
        self.store.events_since(seq if sub == AFTER_ALL else max(seq - 1, 0))

    def calendar_of(self, mailbox: str) -> str | None:
        """The id of the mailbox's Calendar folder (cached: distinguished ids never change)."""
        key = mailbox.casefold()
        if key not in self._calendars:
            try:
                self._calendars[key] = self.store.folder(mailbox, "calendar").id
            except StoreError:
                self._calendars[key] = None
        return self._calendars[key]

    def pending(
        self, sub: Subscription, after: Position, limit: int = MAX_EVENTS_PER_NOTIFICATION
    ) -> Batch:
        """Up to `limit` events of `sub` after `after` (see `Batch`).

        Raises `ExpiredWatermark` when the store's event log no longer reaches back that far.
        """
        seq, sub_index = after
        base = seq if sub_index == AFTER_ALL else max(seq - 1, 0)
        calendar = self.calendar_of(sub.mailbox)
        found: list[MailboxEvent] = []
        changes = self.store.events_since(base, mailbox=sub.mailbox)
        for index, change in enumerate(changes):
            following = changes[index + 1] if index + 1 < len(changes) else None
            new_mail_follows = (
                following is not None
                and following.kind == "NewMail"
                and following.item_id == change.item_id
            )
            for event in expand(change, calendar, new_mail_follows=new_mail_follows):
                if event.position > after and sub.wants(event):
                    found.append(event)
                    if len(found) > limit:
                        return Batch(found[:limit], more=True, upto=found[limit - 1].position)
        scanned = (changes[-1].watermark, AFTER_ALL) if changes else after
        return Batch(found, more=False, upto=max(scanned, after))

    # --- subscriptions -------------------------------------------------------------------------

    def _alive(self, sub: Subscription, now: datetime) -> bool:
        if sub.kind == "pull" and sub.timeout is not None:
            return now <= sub.last_activity + sub.timeout
        if sub.kind == "streaming" and sub.connection is None:
            return now <= sub.last_activity + STREAMING_IDLE_LIFETIME
        return True

    def _sweep(self, now: datetime) -> None:
        for sub_id, sub in list(self._subscriptions.items()):
            if not self._alive(sub, now):
                del self._subscriptions[sub_id]

    def create(
        self,
        *,
        kind: SubscriptionKind,
        owner: str,
        mailbox: str,
        folder_ids: frozenset[str] | None,
        event_types: Iterable[str],
        cursor: Position,
        now: datetime,
        timeout: timedelta | None = None,
        status_frequency: timedelta | None = None,
        url: str | None = None,
        caller_data: str | None = None,
    ) -> Subscription:
        """A new subscription; `ErrorExceededSubscriptionCount` past 20 in the mailbox."""
        with self._lock:
            self._sweep(now)
            key = mailbox.casefold()
            used = sum(1 for s in self._subscriptions.values() if s.mailbox.casefold() == key)
            if used >= MAX_SUBSCRIPTIONS_PER_MAILBOX:
                raise subscription_error("ErrorExceededSubscriptionCount")
            sub = Subscription(
                id=_subscription_id(),
                kind=kind,
                owner=owner,
                mailbox=mailbox,
                folder_ids=folder_ids,
                event_types=frozenset(event_types),
                cursor=cursor,
                last_activity=now,
                timeout=timeout,
                status_frequency=status_frequency,
                url=url,
                caller_data=caller_data,
            )
            self._subscriptions[sub.id] = sub
            return sub

    def get(self, sub_id: str, owner: str, now: datetime) -> Subscription:
        """The live subscription `sub_id` of `owner`.

        `ErrorSubscriptionNotFound` when unknown or expired (Exchange forgets expired
        subscriptions: handling-notification-related-errors), `ErrorSubscriptionAccessDenied`
        when someone else made it.
        """
        with self._lock:
            sub = self._subscriptions.get(sub_id.strip())
            if sub is not None and not self._alive(sub, now):
                del self._subscriptions[sub.id]
                sub = None
            if sub is None:
                raise subscription_error("ErrorSubscriptionNotFound")
            if sub.owner != owner:
                raise subscription_error("ErrorSubscriptionAccessDenied")
            return sub

    def remove(self, sub: Subscription) -> None:
        """Forget a subscription; a connection carrying it stops carrying it."""
        with self._lock:
            self._subscriptions.pop(sub.id, None)
            self._removed.notify_all()
            connection = sub.connection
            if connection is not None:
                connection.subscriptions.pop(sub.id, None)
        if connection is not None:
            connection.waker.wake()

    def wait_removed(self, sub_id: str, timeout: float) -> bool:
        """Block until subscription `sub_id` is gone (e.g. a push listener said Unsubscribe);
        False when it is still there after `timeout` seconds."""
        with self._removed:
            return self._removed.wait_for(lambda: sub_id not in self._subscriptions, timeout)

    def subscriptions(self) -> list[Subscription]:
        """Every subscription held (live or not yet swept)."""
        with self._lock:
            return list(self._subscriptions.values())

    # --- streaming connections -----------------------------------------------------------------

    def open_connection(self, mailbox: str, subs: list[Subscription]) -> Connection:
        """Attach `subs` to a new connection charged to `mailbox`.

        `ErrorExceededConnectionCount` when the mailbox already has 10 open. A subscription
        already on another connection moves to this one, as the EWS Managed API expects when it
        reopens a connection.
        """
        connection = Connection(mailbox=mailbox)
        moved_from: list[Connection] = []
        with self._lock:
            key = mailbox.casefold()
            open_now = sum(1 for c in self._connections if c.mailbox.casefold() == key)
            if open_now >= MAX_CONNECTIONS_PER_MAILBOX:
                raise subscription_error("ErrorExceededConnectionCount")
            for sub in subs:
                previous = sub.connection
                if previous is not None and previous is not connection:
                    previous.subscriptions.pop(sub.id, None)
                    moved_from.append(previous)
                sub.connection = connection
                connection.subscriptions[sub.id] = sub
            self._connections.add(connection)
        for previous in moved_from:
            previous.waker.wake()
        return connection

    def close_connection(self, connection: Connection, now: datetime) -> None:
        """Detach a finished connection; its subscriptions start their idle lifetime."""
        with self._lock:
            self._connections.discard(connection)
            for sub in connection.subscriptions.values():
                if sub.connection is connection:
                    sub.connection = None
                    sub.last_activity = now

    def connections(self, mailbox: str | None = None) -> int:
        """Open streaming connections (of one mailbox, or all)."""
        with self._lock:
            if mailbox is None:
                return len(self._connections)
            key = mailbox.casefold()
            return sum(1 for c in self._connections if c.mailbox.casefold() == key)


_REGISTRIES: weakref.WeakKeyDictionary[Simulator, SubscriptionRegistry] = (
    weakref.WeakKeyDictionary()
)
_REGISTRIES_LOCK = threading.Lock()


def registry_for(sim: Simulator) -> SubscriptionRegistry:
    """The subscription registry of `sim` (made on first use)."""
    with _REGISTRIES_LOCK:
        registry = _REGISTRIES.get(sim)
        if registry is None or registry.store is not sim.store:
            registry = SubscriptionRegistry(sim.store)
            _REGISTRIES[sim] = registry
        return registry


__all__ = [
    "MAX_CONNECTIONS_PER_MAILBOX",
    "MAX_EVENTS_PER_NOTIFICATION",
    "MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "MAX_SUBSCRIPTIONS_PER_MAILBOX",
    "Connection",
    "Subscription",
    "SubscriptionKind",
    "SubscriptionRegistry",
    "Waker",
    "owner_of",
    "registry_for",
]
