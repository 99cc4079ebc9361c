"""Notification envelopes and push delivery, shared by the notification operations.

`write_notification` builds the `t:Notification` of a batch of mailbox events (for GetEvents,
GetStreamingEvents and push). Push: the simulator POSTs `SendNotification` requests to the
subscription's URL: a `StatusEvent` at once and every `StatusFrequency` minutes, events as they
happen; a listener that fails is retried after 30 s, doubling, until `StatusFrequency` runs out,
then the subscription is dropped (web-service-reference/statusfrequency). A listener that answers
`Unsubscribe` ends its subscription (notification-subscriptions-mailbox-events..., table 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import aiohttp
from lxml import etree

from exchangesim.ews.event_stream import Batch, MailboxEvent, Position, encode_watermark
from exchangesim.ews.subscriptions import (
    PUSH_FIRST_RETRY_SECONDS,
    Subscription,
    SubscriptionRegistry,
    Waker,
    registry_for,
)
from exchangesim.ews.xml import (
    M_NS,
    SOAP_NS,
    T_NS,
    Element,
    format_bool,
    format_datetime,
    m,
    msub,
    qname,
    response_message,
    tsub,
)
from exchangesim.store.errors import ExpiredWatermark, StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store import Store

log = logging.getLogger(__name__)

_PUSH_HTTP_TIMEOUT_S: Final = 30.0


# --- writing notifications ----------------------------------------------------------------------


class Lookup:
    """Change keys, parents and unread counts, read once per notification from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._folders: dict[str, tuple[str, str | None, int] | None] = {}

    def folder(self, folder_id: str) -> tuple[str, str | None, int] | None:
        """(change key, parent id, unread count) of a folder, or None when it is gone."""
        if folder_id not in self._folders:
            try:
                found = self.store.folder(None, folder_id)
            except StoreError:
                self._folders[folder_id] = None
            else:
                self._folders[folder_id] = (found.change_key, found.parent_id, found.unread_count)
        return self._folders[folder_id]

    def folder_key(self, folder_id: str) -> str | None:
        found = self.folder(folder_id)
        return (found[0] or None) if found is not None else None

    def item_key(self, item_id: str) -> str | None:
        try:
            found = self.store.find_item(item_id)
        except StoreError:
            return None
        return (found[2].change_key or None) if found is not None else None


def _write_event(
    parent: Element, event: MailboxEvent, mailbox: str, ids: Lookup, *, watermarks: bool
) -> None:
    """Append one event element (`BaseObjectChangedEventType` and kin) in schema order."""
    parent_id = event.parent_id
    if parent_id is None and event.folder_id is not None:
        found = ids.folder(event.folder_id)
        parent_id = found[1] if found is not None else None
    if parent_id is None:
        return  # a folder gone (or the root): no ParentFolderId, which the schema requires
    el = tsub(parent, event.event_type)
    if watermarks:
        tsub(el, "Watermark", encode_watermark(mailbox, event.position))
    tsub(el, "TimeStamp", format_datetime(event.time))
    if event.item_id is not None:
        tsub(el, "ItemId", Id=event.item_id, ChangeKey=ids.item_key(event.item_id))
    else:
        assert event.folder_id is not None
        tsub(el, "FolderId", Id=event.folder_id, ChangeKey=ids.folder_key(event.folder_id))
    tsub(el, "ParentFolderId", Id=parent_id, ChangeKey=ids.folder_key(parent_id))
    if event.event_type in ("MovedEvent", "CopiedEvent"):
        if event.old_item_id is not None:
            tsub(el, "OldItemId", Id=event.old_item_id)
        else:
            tsub(el, "OldFolderId", Id=event.old_folder_id or "")
        old_parent = event.old_parent_id or parent_id
        tsub(el, "OldParentFolderId", Id=old_parent, ChangeKey=ids.folder_key(old_parent))
    if event.event_type == "ModifiedEvent" and event.unread_count and event.folder_id:
        found = ids.folder(event.folder_id)
        if found is not None:
            tsub(el, "UnreadCount", str(found[2]))


def write_notification(
    parent: Element,
    sub: Subscription,
    events: list[MailboxEvent],
    ids: Lookup,
    *,
    previous: Position | None,
    more: bool | None,
    status_at: Position | None = None,
    ns: str = M_NS,
) -> Element:
    """Append a `Notification` (`NotificationType`) for `sub`: `m:` in GetEvents and
    SendNotification messages, `t:` inside GetStreamingEvents' `m:Notifications`, whose type
    (`NonEmptyArrayOfNotificationsType`) lives in the types schema. (The docs' streaming sample
    shows `m:Notification`; the schema decides here, and exchangelib reads either.)

    With `previous` (pull and push) events carry watermarks and the notification its
    `PreviousWatermark`; streaming notifications have neither. No events: a `StatusEvent` at
    `status_at`.
    """
    note = etree.SubElement(parent, qname(ns, "Notification"))
    tsub(note, "SubscriptionId", sub.id)
    if previous is not None:
        tsub(note, "PreviousWatermark", encode_watermark(sub.mailbox, previous))
    if more is not None:
        tsub(note, "MoreEvents", format_bool(more))
    before = len(note)
    for event in events:
        _write_event(note, event, sub.mailbox, ids, watermarks=previous is not None)
    if len(note) == before:
        status = tsub(note, "StatusEvent")
        if status_at is not None:
            tsub(status, "Watermark", encode_watermark(sub.mailbox, status_at))
    return note


async def wait(waker: Waker, stopping: asyncio.Event, seconds: float) -> None:
    """Wait for a wake-up, the server's stop, or `seconds`."""
    woken = asyncio.ensure_future(waker.wait(seconds))
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (woken, stopped):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(woken, stopped, return_exceptions=True)


# --- push ---------------------------------------------------------------------------------------


@dataclass
class _PushJob:
    """What delivering one push subscription needs (the request that made it is long gone)."""

    store: Store
    registry: SubscriptionRegistry
    sub: Subscription
    stopping: asyncio.Event
    request_version: str

    @property
    def scale(self) -> float:
        return self.registry.time_scale


def start_push(ctx: EwsContext, sub: Subscription) -> None:
    """Start delivering `sub` to its URL from the server's event loop."""
    registry = registry_for(ctx.sim)
    job = _PushJob(ctx.sim.store, registry, sub, ctx.stopping, ctx.request_version)
    task = asyncio.get_running_loop().create_task(
        _push(job), name=f"exchangesim-push-{sub.id[:12]}"
    )
    registry.push_tasks.add(task)
    task.add_done_callback(registry.push_tasks.discard)


def _push_envelope(request_version: str, send_notification: Element) -> bytes:
    """The SendNotification request Exchange POSTs to a push listener."""
    env = etree.Element(qname(SOAP_NS, "Envelope"), nsmap={"soap": SOAP_NS, "t": T_NS})
    header = etree.SubElement(env, qname(SOAP_NS, "Header"))
    etree.SubElement(header, qname(T_NS, "RequestServerVersion"), Version=request_version)
    body = etree.SubElement(env, qname(SOAP_NS, "Body"))
    body.append(send_notification)
    return b'<?xml version="1.0" encoding="utf-8"?>' + etree.tostring(env, encoding="utf-8")


def _push_status(data: bytes) -> str | None:
    """`SubscriptionStatus` of a listener's `SendNotificationResult` ("OK", "Unsubscribe")."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    found = root.find(f".//{{{M_NS}}}SendNotificationResult/{{{M_NS}}}SubscriptionStatus")
    return (found.text or "").strip() if found is not None else None


async def _post(http: aiohttp.ClientSession, url: str, payload: bytes) -> str | None:
    """POST one notification; the listener's status, or None when it did not answer well."""
    try:
        async with http.post(
            url, data=payload, headers={"Content-Type": "text/xml; charset=utf-8"}
        ) as answer:
            data = await answer.read()
            if answer.status != 200:
                return None
            return _push_status(data)
    except (aiohttp.ClientError, TimeoutError):
        return None


async def _push(job: _PushJob) -> None:
    """Deliver one push subscription until it ends (Unsubscribe, a dead listener, server stop)."""
    loop = asyncio.get_running_loop()
    sub, registry = job.sub, job.registry
    frequency = sub.status_frequency or timedelta(minutes=30)
    waker = Waker()
    stop_listening = registry.listen(sub.mailbox, waker)
    status_due = loop.time()  # a status ping at once tells the listener the subscription works
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=_PUSH_HTTP_TIMEOUT_S)
        ) as http:
            while not job.stopping.is_set() and sub in registry.subscriptions():
                try:
                    batch = registry.pending(sub, sub.cursor)
                except ExpiredWatermark:
                    batch = Batch([], more=False, upto=registry.now_position())
                if not batch.events and loop.time() < status_due:
                    sub.cursor = batch.upto
                    await wait(waker, job.stopping, status_due - loop.time())
                    continue
                answer = await _push_once(job, http, batch)
                if answer != "OK":
                    log.info("push_subscription_ended subscription=%s answer=%s", sub.id, answer)
                    registry.remove(sub)
                    return
                sub.cursor = batch.upto
                status_due = loop.time() + frequency.total_seconds() * job.scale
    finally:
        stop_listening()


async def _push_once(job: _PushJob, http: aiohttp.ClientSession, batch: Batch) -> str | None:
    """Send one notification, retrying a failing listener; its answer, or None when it died."""
    sub = job.sub
    message = m("SendNotification")
    msg = response_message(msub(message, "ResponseMessages"), "SendNotification")
    write_notification(
        msg,
        sub,
        batch.events,
        Lookup(job.store),
        previous=sub.cursor,
        more=batch.more,
        status_at=batch.upto,
    )
    payload = _push_envelope(job.request_version, message)
    frequency = sub.status_frequency or timedelta(minutes=30)
    give_up_after = frequency.total_seconds() * job.scale
    waited, retry = 0.0, PUSH_FIRST_RETRY_SECONDS * job.scale
    while True:
        answer = await _post(http, sub.url or "", payload)
        if answer is not None:
            return answer
        if waited + retry > give_up_after or job.stopping.is_set():
            return None
        log.info("push_retry subscription=%s in_s=%s", sub.id, retry)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(job.stopping.wait(), timeout=retry)
        waited, retry = waited + retry, retry * 2


__all__ = ["Lookup", "start_push", "wait", "write_notification"]
