"""Delivering Graph change notifications and lifecycle notifications.

A `Notifier` runs on the server's event loop: it listens to the store's change events, matches
them to live subscriptions and POSTs Outlook-shaped notifications
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks) to each
``notificationUrl``: ``{"value": [{"subscriptionId", "subscriptionExpirationDateTime",
"changeType", "resource", "resourceData": {"@odata.type", "@odata.id", "@odata.etag", "id"},
"clientState", "tenantId"}]}``. An endpoint must answer 2xx within 3 seconds; a delivery is tried
three times, then the subscription's ``lifecycleNotificationUrl`` (if any) gets ``missed``.

Lifecycle notifications (``subscriptionRemoved``, ``missed``, ``reauthorizationRequired``,
https://learn.microsoft.com/graph/change-notifications-lifecycle-events) go to the
``lifecycleNotificationUrl``; tests and tools raise them with `send_lifecycle` and
`remove_subscriptions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import aiohttp
from aiohttp import web

from exchangesim.graph import subscriptions
from exchangesim.graph.render_common import instant
from exchangesim.store.errors import StoreError

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable
    from pathlib import Path

    from exchangesim.graph.subscriptions import Subscription
    from exchangesim.sim import Simulator
    from exchangesim.store import ChangeEvent

log = logging.getLogger(__name__)

#: Time an endpoint has to answer a notification (Graph: 3 seconds) or a validation (10 s).
DELIVERY_TIMEOUT_S: Final = 3.0
VALIDATION_TIMEOUT_S: Final = 10.0
ATTEMPTS: Final = 3
LIFECYCLE_EVENTS: Final = frozenset({"subscriptionRemoved", "missed", "reauthorizationRequired"})

_BY_SIM: weakref.WeakKeyDictionary[Simulator, Notifier] = weakref.WeakKeyDictionary()
_BY_SIM_LOCK = threading.Lock()


class Notifier:
    """Sends notifications for one simulator from the server's event loop."""

    def __init__(self, sim: Simulator, ca_file: Path | None) -> None:
        self.sim = sim
        self.ca_file = ca_file
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[ChangeEvent] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    # --- lifecycle of the notifier itself --------------------------------------------------

    async def start(self, app: web.Application) -> None:
        """Listen to the store (an aiohttp on_startup hook)."""
        del app
        self.loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        context = ssl.create_default_context()
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
        self._unsubscribe = self.sim.store.subscribe(self._on_change)
        self._worker = asyncio.create_task(self._run())
        with _BY_SIM_LOCK:
            _BY_SIM[self.sim] = self

    async def stop(self, app: web.Application) -> None:
        """Stop listening and sending (an aiohttp on_cleanup hook)."""
        del app
        self._stopping.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        tasks = [t for t in (self._worker, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
        with _BY_SIM_LOCK:
            if _BY_SIM.get(self.sim) is self:
                del _BY_SIM[self.sim]

    def _on_change(self, event: ChangeEvent) -> None:
        # Runs under the store lock, in whatever thread changed the store: hand over only.
        loop, queue = self.loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(queue.put_nowait, event)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            try:
                self._dispatch(event)
            except Exception:  # one bad event must not stop notifications
                log.exception("graph_notification_failed kind=%s", event.kind)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    # --- change notifications ----------------------------------------------------------------

    def _changes(self, event: ChangeEvent, sub: Subscription) -> list[tuple[str, str]]:
        """(changeType, item id) pairs an event means for a subscription."""
        if event.is_folder_event or event.item_id is None:
            return []
        if event.mailbox.casefold() != sub.mailbox.casefold():
            return []
        found: list[tuple[str, str]] = []
        here = subscriptions.folder_matches(sub, event.folder_id)
        if event.kind in ("Created", "Copied") and here:
            found.append(("created", event.item_id))
        elif event.kind == "Modified" and here:
            found.append(("updated", event.item_id))
        elif event.kind == "Deleted" and here:
            found.append(("deleted", event.item_id))
        elif event.kind == "Moved":
            if event.old_item_id and subscriptions.folder_matches(sub, event.old_folder_id):
                found.append(("deleted", event.old_item_id))
            if here:
                found.append(("created", event.item_id))
        return [(kind, item) for kind, item in found if kind in sub.change_types]

    def _dispatch(self, event: ChangeEvent) -> None:
        now = self.sim.now()
        for sub in subscriptions.registry(self.sim).live(now):
            for change, item_id in self._changes(event, sub):
                self._spawn(self._deliver(sub, self._notification(sub, change, item_id)))

    def _notification(self, sub: Subscription, change: str, item_id: str) -> dict[str, Any]:
        from exchangesim.graph.ids import rest_id  # noqa: PLC0415

        path = subscriptions.resource_path(sub, item_id)
        data: dict[str, Any] = {
            "@odata.type": "#Microsoft.Graph.Event"
            if sub.kind == "events"
            else "#Microsoft.Graph.Message",
            "@odata.id": path,
        }
        if change != "deleted":
            with contextlib.suppress(StoreError):
                data["@odata.etag"] = f'W/"{self.sim.store.get_item(item_id).change_key}"'
        data["id"] = rest_id(item_id)
        return {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": instant(sub.expires, fraction=True),
            "changeType": change,
            "resource": path,
            "resourceData": data,
            "clientState": sub.client_state,
            "tenantId": self.sim.tenant.tenant_id,
        }

    async def _post(self, url: str, payload: dict[str, Any]) -> bool:
        assert self._session is not None
        try:
            async with self._session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S)
            ) as response:
                await response.read()
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("graph_notification_undelivered url=%s error=%s", url, exc)
            return False

    async def _deliver(self, sub: Subscription, notification: dict[str, Any]) -> None:
        self.sim.knobs.count("graph_notifications", "attempted")
        for attempt in range(ATTEMPTS):
            if await self._post(sub.notification_url, {"value": [notification]}):
                self.sim.knobs.count("graph_notifications", "delivered")
                return
            if attempt + 1 < ATTEMPTS:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=0.5 * 2**attempt)
                if self._stopping.is_set():
                    return
        self.sim.knobs.count("graph_notifications", "missed")
        await self.lifecycle(sub, "missed")

    # --- lifecycle notifications and validation --------------------------------------------

    async def lifecycle(self, sub: Subscription, event: str) -> bool:
        """Send a lifecycle notification; False when there is no URL or it failed."""
        if sub.lifecycle_url is None:
            return False
        payload = {
            "value": [
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": instant(sub.expires, fraction=True),
                    "tenantId": self.sim.tenant.tenant_id,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                }
            ]
        }
        self.sim.knobs.count("graph_notifications", f"lifecycle_{event}")
        return await self._post(sub.lifecycle_url, payload)

    async def validate(self, url: str) -> bool:
        """The validation handshake: POST ?validationToken=...; 200 with the token as text."""
        assert self._session is not None
        token = subscriptions.validation_token()
        separator = "&" if "?" in url else "?"
        try:
            async with self._session.post(
                f"{url}{separator}validationToken={quote(token)}",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=VALIDATION_TIMEOUT_S),
            ) as response:
                text = await response.text()
                return response.status == 200 and text == token
        except (aiohttp.ClientError, TimeoutError, OSError, UnicodeDecodeError) as exc:
            log.info("graph_validation_failed url=%s error=%s", url, exc)
            return False


def notifier_of(sim: Simulator) -> Notifier | None:
    """The running notifier of a simulator's server, if one runs."""
    with _BY_SIM_LOCK:
        return _BY_SIM.get(sim)


def send_lifecycle(
    sim: Simulator, event: str, *, mailbox: str | None = None
) -> concurrent.futures.Future[int]:
    """Send a lifecycle event to every subscription (of ``mailbox``); from any thread.

    ``subscriptionRemoved`` also removes them. The future gives how many were notified.
    """
    if event not in LIFECYCLE_EVENTS:
        raise ValueError(f"lifecycle event must be one of {sorted(LIFECYCLE_EVENTS)}")
    notifier = notifier_of(sim)
    if notifier is None or notifier.loop is None:
        raise RuntimeError("no server is running for this simulator")

    async def run() -> int:
        registry = subscriptions.registry(sim)
        chosen = [
            s
            for s in registry.live(sim.now())
            if mailbox is None or s.mailbox.casefold() == mailbox.casefold()
        ]
        if event == "subscriptionRemoved":
            for sub in chosen:
                registry.remove(sub.id)
        sent = await asyncio.gather(*(notifier.lifecycle(s, event) for s in chosen))
        return sum(1 for ok in sent if ok)

    return asyncio.run_coroutine_threadsafe(run(), notifier.loop)


def remove_subscriptions(
    sim: Simulator, *, mailbox: str | None = None
) -> concurrent.futures.Future[int]:
    """Remove subscriptions as Graph does when it drops them: ``subscriptionRemoved`` first."""
    return send_lifecycle(sim, "subscriptionRemoved", mailbox=mailbox)
