"""GetStreamingEvents: one chunked HTTP answer carrying a streaming subscription's events.

The answer stays open for `ConnectionTimeout` minutes: a `ConnectionStatus OK` envelope at once,
one envelope per batch of events as they happen (no watermarks, as in the docs' streaming
sample), an `OK` keep-alive every 45 s, and a final `ConnectionStatus Closed`. A bad subscription
id fails the whole request with `ErrorSubscriptionIds` (exchangelib notes that Exchange sends no
notifications for the good ids then). The subscriptions are made by `Subscribe`
(`ops_notify.py`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_message
from exchangesim.ews.notifications import Lookup, wait, write_notification
from exchangesim.ews.notify_faults import subscription_error
from exchangesim.ews.ops_notify import bounded_minutes
from exchangesim.ews.registry import operation
from exchangesim.ews.subscriptions import (
    KEEPALIVE_SECONDS,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    Connection,
    Subscription,
    SubscriptionRegistry,
    owner_of,
    registry_for,
)
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    children,
    m,
    msub,
    response_message,
    tsub,
)
from exchangesim.store.errors import ExpiredWatermark

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext
    from exchangesim.ews.event_stream import Batch

log = logging.getLogger(__name__)

_LIVENESS_POLL_S: Final = 1.0  # how often an idle stream checks that its client is still there


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
    minutes = bounded_minutes(request, M_NS, "ConnectionTimeout", 30)
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
        ids = Lookup(ctx.sim.store)
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
            await wait(connection.waker, ctx.stopping, wake_at - now)
        await ctx.send_envelope(_status_envelope("Closed"))
        await ctx.close_stream()
    except ConnectionError:
        log.info("streaming_client_went_away mailbox=%s", connection.mailbox)
    finally:
        for stop in stops:
            stop()


__all__ = ["get_streaming_events"]
