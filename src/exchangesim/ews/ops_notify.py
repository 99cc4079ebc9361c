"""Notifications: Subscribe, GetEvents, Unsubscribe (GetStreamingEvents: `ops_streaming.py`).

- `Subscribe` makes a pull, push or streaming subscription (`subscriptions.py` holds them,
  `event_stream.py` their events and watermarks) on some folders (`FolderIds`) or the whole
  mailbox (`SubscribeToAllFolders`), for some `EventTypes`, optionally resuming at a
  `Watermark`. Pull and push answers carry the starting watermark; streaming answers only the
  id (`Subscribe-Streaming.response.xml`).
- `GetEvents` (pull) returns up to 50 events after the given watermark with `PreviousWatermark`
  and `MoreEvents`, or one `StatusEvent` when nothing happened, and restarts the subscription's
  `Timeout` (web-service-reference/getevents-operation, "Remarks").
- `Unsubscribe` ends a pull or streaming subscription.

Notification envelopes and push delivery live in `notifications.py`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from exchangesim.ews.event_stream import Position, decode_watermark, encode_watermark
from exchangesim.ews.faults import (
    EwsError,
    error_from,
    from_store_error,
    schema_validation,
)
from exchangesim.ews.notifications import Lookup, start_push, write_notification
from exchangesim.ews.notify_faults import subscription_error
from exchangesim.ews.registry import operation
from exchangesim.ews.subscriptions import (
    Subscription,
    SubscriptionKind,
    owner_of,
    registry_for,
)
from exchangesim.ews.xml import (
    M_NS,
    T_NS,
    Element,
    child,
    child_text,
    children,
    local_name,
    m,
    msub,
    parse_bool,
    response_message,
)
from exchangesim.store.errors import ExpiredWatermark, StoreError

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

_REQUEST_KINDS: Final[dict[str, SubscriptionKind]] = {
    "PullSubscriptionRequest": "pull",
    "PushSubscriptionRequest": "push",
    "StreamingSubscriptionRequest": "streaming",
}
_MAX_URL_LENGTH: Final = 2083  # Exchange refuses push URLs of 2083 characters or more.


def bounded_minutes(
    parent: Element, ns: str, tag: str, most: int, default: int | None = None
) -> int:
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
        extra["timeout"] = timedelta(minutes=bounded_minutes(spec, T_NS, "Timeout", 1440))
    elif kind == "push":
        extra["url"] = _push_url(child_text(spec, T_NS, "URL"))
        frequency = bounded_minutes(spec, T_NS, "StatusFrequency", 1440, default=30)
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
        Lookup(ctx.sim.store),
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


__all__ = ["bounded_minutes", "get_events", "subscribe", "unsubscribe"]
