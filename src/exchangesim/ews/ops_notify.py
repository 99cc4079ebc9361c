"""Notifications: Subscribe, GetEvents, GetStreamingEvents, Unsubscribe, and push delivery.

- `Subscribe` makes a pull, push or streaming subscription (`subscriptions.py` holds them) on
  some folders (`FolderIds`) or the whole mailbox (`SubscribeToAllFolders`), for some
  `EventTypes`, optionally resuming at a `Watermark`. Pull and push answers carry the starting
  watermark; streaming answers only the id (`Subscribe-Streaming.response.xml`).
- `GetEvents` (pull) returns up to 50 events after the given watermark with `PreviousWatermark`
  and `MoreEvents`, or one `StatusEvent` when nothing happened, and restarts the subscription's
  `Timeout` (web-service-reference/getevents-operation, "Remarks").
- `GetStreamingEvents` keeps one chunked HTTP answer open for `ConnectionTimeout` minutes: a
  `ConnectionStatus OK` envelope at once, one envelope per batch of events as they happen (no
  watermarks, as in the docs' streaming sample), an `OK` keep-alive every 45 s, and a final
  `ConnectionStatus Closed`. A bad subscription id fails the whole request with
  `ErrorSubscriptionIds` (exchangelib notes that Exchange sends no notifications for the good
  ids then).
- `Unsubscribe` ends a pull or streaming subscription; a push subscription ends when its listener
  answers `Unsubscribe` (notification-subscriptions-mailbox-events..., table 4).
- Push: the simulator POSTs `SendNotification` requests to the subscription's URL: a
  `StatusEvent` at once and every `StatusFrequency` minutes, events as they happen; a listener
  that fails is retried after 30 s, doubling, until `StatusFrequency` runs out, then the
  subscription is dropped (web-service-reference/statusfrequency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp
from lxml import etree

from exchangesim.ews.faults import (
    EwsError,
    error_from,
    error_message,
    from_store_error,
    schema_validation,
)
from exchangesim.ews.registry import operation
from exchangesim.ews.subscriptions import (
    KEEPALIVE_SECONDS,
    MAX_EVENTS_PER_NOTIFICATION,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    PUSH_FIRST_RETRY_SECONDS,
    Batch,
    Connection,
    MailboxEvent,
    Position,
    Subscription,
    SubscriptionKind,
    SubscriptionRegistry,
    Waker,
    decode_watermark,
    encode_watermark,
    owner_of,
    registry_for,
    subscription_error,
)
from exchangesim.ews.xml import (
    M_NS,
    SOAP_NS,
    T_NS,
    Element,
    child,
    child_text,
    children,
    format_bool,
    format_datetime,
    local_name,
    m,
    msub,
    parse_bool,
    qname,
    response_message,
    tsub,
)
from exchangesim.store.errors import ExpiredWatermark, StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.store import Store

log = logging.getLogger(__name__)

_REQUEST_KINDS: Final[dict[str, SubscriptionKind]] = {
    "PullSubscriptionRequest": "pull",
    "PushSubscriptionRequest": "push",
    "StreamingSubscriptionRequest": "streaming",
}
_MAX_URL_LENGTH: Final = 2083  # Exchange refuses push URLs of 2083 characters or more.
_PUSH_HTTP_TIMEOUT_S: Final = 30.0
_LIVENESS_POLL_S: Final = 1.0  # how often an idle stream checks that its client is still there


# --- writing notifications ----------------------------------------------------------------------


class _Lookup:
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
    parent: Element, event: MailboxEvent, mailbox: str, ids: _Lookup, *, watermarks: bool
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
    ids: _Lookup,
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


def _minutes(parent: Element, ns: str, tag: str, most: int, default: int | None = None) -> int:
    """A minutes value the schema bounds to 1..`most`; out of range (possible only when request
    validation is off) it is refused as Exchange's schema check would."""
    text = child_text(parent, ns, tag)
    if text is None and default is not None:
        return default
    try:
        value = int(text or "")
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise schema_validation(f"The '{tag}' element is invalid: '{text}' is not 1 to {most}.")
    return value


# --- Subscribe ----------------------------------------------------------------------------------


def _folder_filter(ctx: EwsContext, request: Element, mailbox: str) -> frozenset[str] | None:
    """The folder ids to watch, or None for `SubscribeToAllFolders`."""
    all_folders = parse_bool(request.get("SubscribeToAllFolders") or "false")
    folder_ids = child(request, T_NS, "FolderIds")
    if all_folders == (folder_ids is not None):  # both, or neither (inferred answer)
        raise subscription_error("ErrorInvalidSubscriptionRequest")
    if folder_ids is None:
        return None
    found: set[str] = set()
    for ref in folder_ids:
        if local_name(ref) == "DistinguishedFolderId":
            box = child(ref, T_NS, "Mailbox")
            named = child_text(box, T_NS, "EmailAddress") if box is not None else None
            if named and named.casefold() != mailbox.casefold():
                raise subscription_error("ErrorSubscriptionDelegateAccessNotSupported")
        elif local_name(ref) != "FolderId":
            raise EwsError("ErrorFolderNotFound", "The folder id is not a mailbox folder.")
        try:
            folder = ctx.sim.store.folder(
                None if local_name(ref) == "FolderId" else mailbox, ref.get("Id", "")
            )
        except StoreError as exc:
            raise from_store_error(exc) from exc
        if folder.mailbox.casefold() != mailbox.casefold():
            raise subscription_error("ErrorSubscriptionDelegateAccessNotSupported")
        found.add(folder.id)
    return frozenset(found)


def _push_url(text: str | None) -> str:
    """The listener URL, checked as Exchange checks it (http or https, under 2083 characters)."""
    url = (text or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise subscription_error("ErrorInvalidPushSubscriptionUrl") from exc
    if (
        not 0 < len(url) < _MAX_URL_LENGTH
        or parts.scheme not in ("http", "https")
        or not parts.netloc
    ):
        raise subscription_error("ErrorInvalidPushSubscriptionUrl")
    return url


def _subscribe(ctx: EwsContext, request: Element) -> tuple[Subscription, Position]:
    registry = registry_for(ctx.sim)
    spec = next((el for el in request if local_name(el) in _REQUEST_KINDS), None)
    if spec is None or ctx.mailbox is None:
        raise subscription_error("ErrorInvalidSubscriptionRequest")
    kind = _REQUEST_KINDS[local_name(spec)]
    mailbox = ctx.mailbox
    folders = _folder_filter(ctx, spec, mailbox)
    types_el = child(spec, T_NS, "EventTypes")
    event_types = (
        [(el.text or "").strip() for el in children(types_el, T_NS, "EventType")]
        if types_el is not None
        else []
    )
    start = registry.now_position()
    watermark = child_text(spec, T_NS, "Watermark") if kind != "streaming" else None
    if watermark:
        start = decode_watermark(mailbox, watermark)
        try:
            registry.check_position(start)
        except ExpiredWatermark as exc:
            raise subscription_error("ErrorEventNotFound") from exc
    extra: dict[str, Any] = {}
    if kind == "pull":
        extra["timeout"] = timedelta(minutes=_minutes(spec, T_NS, "Timeout", 1440))
    elif kind == "push":
        extra["url"] = _push_url(child_text(spec, T_NS, "URL"))
        frequency = _minutes(spec, T_NS, "StatusFrequency", 1440, default=30)
        extra["status_frequency"] = timedelta(minutes=frequency)
        extra["caller_data"] = child_text(spec, T_NS, "CallerData")
    sub = registry.create(
        kind=kind,
        owner=owner_of(ctx.principal),
        mailbox=mailbox,
        folder_ids=folders,
        event_types=event_types,
        cursor=start,
        now=ctx.now(),
        **extra,
    )
    return sub, start


@operation("Subscribe")
async def subscribe(ctx: EwsContext, request: Element) -> Element:
    """Subscribe: one response message with the new subscription (and its watermark)."""
    response = m("SubscribeResponse")
    messages = msub(response, "ResponseMessages")
    try:
        sub, start = _subscribe(ctx, request)
    except EwsError as err:
        error_from(messages, "Subscribe", err)
        return response
    msg = response_message(messages, "Subscribe")
    msub(msg, "SubscriptionId", sub.id)
    if sub.kind != "streaming":
        msub(msg, "Watermark", encode_watermark(sub.mailbox, start))
    if sub.kind == "push":
        start_push(ctx, sub)
    return response


# --- GetEvents and Unsubscribe ------------------------------------------------------------------


@operation("GetEvents")
async def get_events(ctx: EwsContext, request: Element) -> Element:
    """GetEvents: the pull subscription's events after the watermark, or a StatusEvent."""
    response = m("GetEventsResponse")
    messages = msub(response, "ResponseMessages")
    registry = registry_for(ctx.sim)
    try:
        sub = registry.get(
            child_text(request, M_NS, "SubscriptionId") or "", owner_of(ctx.principal), ctx.now()
        )
        if sub.kind != "pull":
            raise subscription_error("ErrorInvalidPullSubscriptionId")
        after = decode_watermark(sub.mailbox, child_text(request, M_NS, "Watermark") or "")
        try:
            batch = registry.pending(sub, after)
        except ExpiredWatermark as exc:
            raise subscription_error("ErrorInvalidWatermark") from exc
    except EwsError as err:
        error_from(messages, "GetEvents", err)
        return response
    sub.last_activity = ctx.now()
    sub.cursor = batch.upto
    msg = response_message(messages, "GetEvents")
    write_notification(
        msg,
        sub,
        batch.events,
        _Lookup(ctx.sim.store),
        previous=after,
        more=batch.more,
        status_at=batch.upto,
    )
    return response


@operation("Unsubscribe")
async def unsubscribe(ctx: EwsContext, request: Element) -> Element:
    """Unsubscribe: end a pull or streaming subscription."""
    response = m("UnsubscribeResponse")
    messages = msub(response, "ResponseMessages")
    registry = registry_for(ctx.sim)
    try:
        sub = registry.get(
            child_text(request, M_NS, "SubscriptionId") or "", owner_of(ctx.principal), ctx.now()
        )
        if sub.kind == "push":
            raise subscription_error("ErrorInvalidPullSubscriptionId")
    except EwsError as err:
        error_from(messages, "Unsubscribe", err)
        return response
    registry.remove(sub)
    response_message(messages, "Unsubscribe")
    return response


# --- GetStreamingEvents -------------------------------------------------------------------------


def _streaming_error(
    code: str, message: str | None = None, bad_ids: list[str] | tuple[str, ...] = ()
) -> Element:
    """The one-message error answer: code, the failing ids, `ConnectionStatus Closed`."""
    response = m("GetStreamingEventsResponse")
    messages = msub(response, "ResponseMessages")
    err = subscription_error(code, message)
    msg = error_message(messages, "GetStreamingEvents", err.code, err.message)
    if bad_ids:
        ids = msub(msg, "ErrorSubscriptionIds")
        for sub_id in bad_ids:
            tsub(ids, "SubscriptionId", sub_id)
    msub(msg, "ConnectionStatus", "Closed")
    return response


def _status_envelope(status: str) -> Element:
    response = m("GetStreamingEventsResponse")
    msg = response_message(msub(response, "ResponseMessages"), "GetStreamingEvents")
    msub(msg, "ConnectionStatus", status)
    return response


@operation("GetStreamingEvents", streaming=True)
async def get_streaming_events(ctx: EwsContext, request: Element) -> Element | None:
    """GetStreamingEvents: hold the connection and stream the subscriptions' events."""
    registry = registry_for(ctx.sim)
    ids_el = child(request, M_NS, "SubscriptionIds")
    sub_ids = (
        [(el.text or "").strip() for el in children(ids_el, T_NS, "SubscriptionId")]
        if ids_el is not None
        else []
    )
    minutes = _minutes(request, M_NS, "ConnectionTimeout", 30)
    if len(sub_ids) > MAX_SUBSCRIPTIONS_PER_CONNECTION:
        return _streaming_error(
            "ErrorInvalidRequest",
            f"A GetStreamingEvents request can name at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} "
            "subscriptions.",
        )
    subs: list[Subscription] = []
    bad: list[tuple[str, str]] = []
    now = ctx.now()
    for sub_id in dict.fromkeys(sub_ids):
        try:
            sub = registry.get(sub_id, owner_of(ctx.principal), now)
            if sub.kind != "streaming":
                raise subscription_error("ErrorInvalidSubscription")
        except EwsError as err:
            bad.append((sub_id, err.code))
            continue
        subs.append(sub)
    if bad:
        return _streaming_error(bad[0][1], None, [sub_id for sub_id, _ in bad])
    try:
        connection = registry.open_connection(ctx.mailbox or subs[0].mailbox, subs)
    except EwsError as err:
        return _streaming_error(err.code, err.message)
    try:
        await _stream(ctx, registry, connection, timedelta(minutes=minutes))
    finally:
        registry.close_connection(connection, ctx.now())
    return None


async def _deliver(ctx: EwsContext, registry: SubscriptionRegistry, connection: Connection) -> None:
    """Send every pending event of the connection's subscriptions, 50 per notification."""
    while True:
        ready: list[tuple[Subscription, Batch]] = []
        for sub in list(connection.subscriptions.values()):
            try:
                batch = registry.pending(sub, sub.cursor)
            except ExpiredWatermark:
                log.warning("streaming_events_lost subscription=%s", sub.id)
                sub.cursor = registry.now_position()
                continue
            if batch.events:
                ready.append((sub, batch))
            else:
                sub.cursor = batch.upto
        if not ready:
            return
        response = m("GetStreamingEventsResponse")
        msg = response_message(msub(response, "ResponseMessages"), "GetStreamingEvents")
        notifications = msub(msg, "Notifications")
        ids = _Lookup(ctx.sim.store)
        for sub, batch in ready:
            write_notification(
                notifications, sub, batch.events, ids, previous=None, more=None, ns=T_NS
            )
        await ctx.send_envelope(response)
        for sub, batch in ready:
            sub.cursor = batch.upto


def _client_gone(ctx: EwsContext) -> bool:
    transport = ctx.request.transport
    return transport is None or transport.is_closing()


async def _stream(
    ctx: EwsContext, registry: SubscriptionRegistry, connection: Connection, lifetime: timedelta
) -> None:
    """The connection's life: OK, events as they come, keep-alives, then Closed (or a cut)."""
    loop = asyncio.get_running_loop()
    scale = registry.time_scale
    deadline = loop.time() + lifetime.total_seconds() * scale
    drop_after = ctx.streaming_drop_after()
    drop_at = None if drop_after is None else loop.time() + drop_after
    mailboxes = {sub.mailbox.casefold(): sub.mailbox for sub in connection.subscriptions.values()}
    stops = [registry.listen(mailbox, connection.waker) for mailbox in mailboxes.values()]
    try:
        await ctx.send_envelope(_status_envelope("OK"))
        next_keepalive = loop.time() + KEEPALIVE_SECONDS * scale
        while True:
            await _deliver(ctx, registry, connection)
            now = loop.time()
            if drop_at is not None and now >= drop_at:
                log.info("streaming_connection_dropped mailbox=%s", connection.mailbox)
                ctx.drop_connection()
                return
            if ctx.stopping.is_set() or now >= deadline or not connection.subscriptions:
                break
            if _client_gone(ctx):
                return
            if now >= next_keepalive:
                await ctx.send_envelope(_status_envelope("OK"))
                next_keepalive = now + KEEPALIVE_SECONDS * scale
            wake_at = min(deadline, next_keepalive, now + _LIVENESS_POLL_S)
            if drop_at is not None:
                wake_at = min(wake_at, drop_at)
            await _wait(connection.waker, ctx.stopping, wake_at - now)
        await ctx.send_envelope(_status_envelope("Closed"))
        await ctx.close_stream()
    except ConnectionError:
        log.info("streaming_client_went_away mailbox=%s", connection.mailbox)
    finally:
        for stop in stops:
            stop()


async def _wait(waker: Waker, stopping: asyncio.Event, seconds: float) -> None:
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
                    await _wait(waker, job.stopping, status_due - loop.time())
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
        _Lookup(job.store),
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


__all__ = [
    "MAX_EVENTS_PER_NOTIFICATION",
    "get_events",
    "get_streaming_events",
    "start_push",
    "subscribe",
    "unsubscribe",
    "write_notification",
]
