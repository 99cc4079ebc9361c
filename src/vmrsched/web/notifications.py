"""``POST /graph/notifications`` and ``POST /graph/lifecycle``: Microsoft Graph's change
notifications for the resource's inbox (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks).

- The validation handshake: a POST with ``?validationToken=...`` is answered 200 ``text/plain``
  with the token, decoded, at once (Graph waits 10 seconds, then refuses the subscription).
- A notification: its JSON goes to the receiver (`ChangeNotifications`, the Graph adapter),
  which trusts only entries with the right ``clientState``; the answer is 202 either way, as
  Graph's guidance asks (an untrusted notification is ignored and logged, not refused).
  A body that is not JSON is 400.

The endpoints need no sign-in (Graph cannot sign in); the ``clientState`` secret is what makes
a notification trusted, and a notification only ever wakes a delta read of the mailbox.
"""

from __future__ import annotations

import json
from typing import Final

import structlog
from aiohttp import web

from vmrsched.ports.notifications import ChangeNotifications
from vmrsched.web.payloads import read_at_most

log = structlog.get_logger(__name__)

NOTIFICATIONS: Final = "/graph/notifications"
LIFECYCLE: Final = "/graph/lifecycle"
#: Graph's validation tokens are short; anything much longer is not one.
MAX_TOKEN: Final = 1024
#: Notification bodies are small (no resource data is asked for).
MAX_BODY: Final = 256 * 1024
RECEIVER: Final = web.AppKey("notifications", ChangeNotifications)


def _validation(request: web.Request) -> web.Response | None:
    token = request.query.get("validationToken")
    if token is None:
        return None
    if len(token) > MAX_TOKEN:
        raise web.HTTPBadRequest(text="validationToken too long")
    log.info("graph_validation_answered", path=request.path)
    return web.Response(
        text=token,
        content_type="text/plain",
        headers={"X-Content-Type-Options": "nosniff"},
    )


async def _payload(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    raw = await read_at_most(request.content, MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # Recursion: nested too deep
        log.warning("graph_notification_unreadable", path=request.path)
        raise web.HTTPBadRequest(text="the body is not JSON") from exc


def _receiver(request: web.Request) -> ChangeNotifications:
    return request.app[RECEIVER]


async def notifications(request: web.Request) -> web.Response:
    """``POST /graph/notifications``: the handshake, or change notifications (202)."""
    answer = _validation(request)
    if answer is not None:
        return answer
    trusted = _receiver(request).notified(await _payload(request))
    log.debug("graph_notified", trusted=trusted)
    return web.Response(status=202)


async def lifecycle(request: web.Request) -> web.Response:
    """``POST /graph/lifecycle``: the handshake, or lifecycle notifications (202)."""
    answer = _validation(request)
    if answer is not None:
        return answer
    _receiver(request).lifecycle(await _payload(request))
    return web.Response(status=202)


def add_routes(app: web.Application, receiver: ChangeNotifications) -> None:
    """Serve Graph's notifications to ``receiver``."""
    app[RECEIVER] = receiver
    app.router.add_post(NOTIFICATIONS, notifications)
    app.router.add_post(LIFECYCLE, lifecycle)
