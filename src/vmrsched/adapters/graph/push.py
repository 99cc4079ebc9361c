"""Graph change notifications for the resource's inbox (the push channel of `GraphMailbox`).

When ``[web] public_url`` is HTTPS, the adapter subscribes to
``users/{resource}/mailFolders('inbox')/messages`` with ``notificationUrl``
``{public_url}/graph/notifications`` and ``lifecycleNotificationUrl``
``{public_url}/graph/lifecycle``
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks). ``changeType`` is
``created`` only: Graph offers ``created``, ``updated`` and ``deleted`` for messages
(https://learn.microsoft.com/graph/api/resources/subscription), and the delta the service reads
asks for ``changeType=created`` (`client.GraphMailbox.fetch_changes`), so an update or a
deletion could never show it anything new; ``updated`` doubled the notifications of every
meeting (the Calendar Attendant updates each request as it files it, right after it arrives).
Graph validates both URLs while the subscription is created: the web server answers the
handshake (`vmrsched.web.notifications`). Each subscription gets a random ``clientState``
secret, never logged; a notification is trusted only when its ``subscriptionId`` is one of ours
and its ``clientState`` matches that subscription's secret (compared in constant time).

Notifications carry no meeting: they only wake the watcher, which reads the delta as always,
so a lost notification costs latency, never a meeting. A notification wakes the watcher only
while no delta read has answered it (`pending.PendingChanges`): those that arrive during a
pass share one pass, and one for a message a delta page already returned wakes nothing.
Lifecycle notifications (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
``subscriptionRemoved`` → a new subscription, then a delta pass; ``missed`` → a delta pass;
``reauthorizationRequired`` → a renewal, then a delta pass. The subscription is renewed
(``PATCH expirationDateTime``) when less than `RENEW_BEFORE` of its life is left.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import structlog

from vmrsched.adapters.graph.pending import PendingChanges
from vmrsched.ports.mailbox import MailboxError

if TYPE_CHECKING:
    from collections.abc import Callable

    from vmrsched.adapters.graph.transport import GraphTransport

log = structlog.get_logger(__name__)

#: A subscription's life (Graph allows 10070 minutes for Outlook messages).
LIFETIME: Final = timedelta(days=3)
#: Renewed when less than this is left.
RENEW_BEFORE: Final = timedelta(days=1)
#: Subscriptions whose notifications are still trusted after they were replaced.
REMEMBERED: Final = 8
#: Ignored notifications are logged at most this often (anyone can POST to the endpoints).
IGNORED_LOG_EVERY: Final = timedelta(minutes=1)
#: What the subscription asks for (see the module's docstring).
CHANGE_TYPE: Final = "created"
NOTIFICATIONS_PATH: Final = "/graph/notifications"
LIFECYCLE_PATH: Final = "/graph/lifecycle"


def push_clock() -> datetime:
    """The system clock, aware (the default)."""
    return datetime.now(UTC)


def _instant(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def push_urls(public_url: str, *, allow_http: bool = False) -> tuple[str, str] | None:
    """The notification and lifecycle URLs under ``public_url``; None when Graph could not
    reach it (not HTTPS, unless `allow_http`, which only tests use)."""
    base = public_url.strip().rstrip("/")
    if base.startswith("https://") or (allow_http and base.startswith("http://")):
        return base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH
    return None


class GraphPush:
    """One subscription to the inbox's messages, kept alive; thread-safe."""

    def __init__(
        self,
        http: GraphTransport,
        *,
        user_path: str,
        notification_url: str,
        lifecycle_url: str,
        clock: Callable[[], datetime] = push_clock,
        lifetime: timedelta = LIFETIME,
        renew_before: timedelta = RENEW_BEFORE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._resource = f"{user_path.lstrip('/')}/mailFolders('inbox')/messages"
        self._urls = notification_url, lifecycle_url
        self._clock = clock
        self._lifetime = lifetime
        self._renew_before = renew_before
        self._lock = threading.Lock()
        self.pending = PendingChanges()
        self._id: str | None = None
        self._expires: datetime | None = None
        self._secrets: OrderedDict[str, str] = OrderedDict()  # subscription id → clientState
        self._monotonic = monotonic
        self._ignored_logged: float | None = None
        self._ignored_since = 0  # entries ignored since the last log line
        self._recreate = False
        self._renew = False
        self.created = 0  # subscriptions made, for tests and measurements
        self.renewed = 0

    @property
    def subscription_id(self) -> str | None:
        """The live subscription's id (None: none yet, or it was removed)."""
        return self._id

    @property
    def healthy(self) -> bool:
        """Whether a subscription is live and nothing asks for it to be redone."""
        with self._lock:
            return self._id is not None and not self._recreate

    # --- keeping the subscription ----------------------------------------------------------

    def maintain(self) -> bool:
        """Create, recreate or renew the subscription as needed (blocking Graph calls); True
        when a subscription was (re)created, so a delta pass should follow. MailboxError when
        Graph refused (the caller keeps polling and tries again later)."""
        with self._lock:
            recreate, renew = self._recreate or self._id is None, self._renew
            due = self._expires is not None and self._expires - self._clock() < self._renew_before
        if recreate:
            self._create()
            return True
        if renew or due:
            self._extend()
        return False

    def _create(self) -> None:
        if self.created == 0:
            self._drop_stale()
        secret = secrets.token_urlsafe(32)
        expires = self._clock() + self._lifetime
        answer = self._http.request(
            "POST",
            "/subscriptions",
            what="subscribing to the inbox's change notifications",
            body={
                "changeType": CHANGE_TYPE,
                "notificationUrl": self._urls[0],
                "lifecycleNotificationUrl": self._urls[1],
                "resource": self._resource,
                "expirationDateTime": _instant(expires),
                "clientState": secret,
            },
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if not body.get("id"):
            raise MailboxError("Graph created a subscription without an id")
        with self._lock:
            self._id, self._expires = str(body["id"]), expires
            self._secrets[self._id] = secret
            while len(self._secrets) > REMEMBERED:
                self._secrets.popitem(last=False)
            self._recreate = self._renew = False
            self.created += 1
        log.info("graph_subscribed", subscription=self._id, expires=_instant(expires))

    def _drop_stale(self) -> None:
        """Before the first subscription of this process: delete the app's subscriptions to
        the same inbox and URL left by an earlier run that could not delete its own (a crash),
        whose notifications would be ignored until they expire. Best effort."""
        try:
            answer = self._http.request("GET", "/subscriptions", what="listing subscriptions")
            found = answer.body.get("value") if isinstance(answer.body, dict) else None
            for old in found if isinstance(found, list) else ():
                if (
                    isinstance(old, dict)
                    and old.get("id")
                    and old.get("notificationUrl") == self._urls[0]
                    and str(old.get("resource") or "").casefold() == self._resource.casefold()
                ):
                    self._http.request(
                        "DELETE",
                        f"/subscriptions/{old['id']}",
                        what="deleting an earlier run's subscription",
                        accept=(404,),
                    )
                    log.info("graph_stale_subscription_deleted", subscription=str(old["id"]))
        except MailboxError as exc:
            log.info("graph_stale_subscriptions_kept", error=str(exc))

    def _extend(self) -> None:
        sub_id = self._id
        if sub_id is None:
            return
        expires = self._clock() + self._lifetime
        answer = self._http.request(
            "PATCH",
            f"/subscriptions/{sub_id}",
            what="renewing the inbox's subscription",
            body={"expirationDateTime": _instant(expires)},
            accept=(404,),
        )
        with self._lock:
            if answer.status == 404:  # gone meanwhile: make a new one next time
                self._recreate = True
                log.warning("graph_subscription_gone", subscription=sub_id)
                return
            self._expires, self._renew = expires, False
            self.renewed += 1
        log.info("graph_subscription_renewed", subscription=sub_id, expires=_instant(expires))

    def close(self) -> None:
        """Delete the subscription (best effort: it expires anyway)."""
        sub_id, self._id = self._id, None
        if sub_id is None:
            return
        try:
            self._http.request(
                "DELETE",
                f"/subscriptions/{sub_id}",
                what="unsubscribing",
                accept=(404,),
            )
        except MailboxError as exc:
            log.info("graph_unsubscribe_failed", subscription=sub_id, error=str(exc))

    # --- receiving (from the web server's thread) ------------------------------------------

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` until a trusted notification is unanswered by the delta
        reads (at once when one is); True when one is."""
        return self.pending.wait(seconds)

    def wake(self) -> None:
        """End a waiting `wait` (the mailbox is closing)."""
        self.pending.interrupt()

    def _trusted(self, entry: object) -> dict[str, object] | None:
        if not isinstance(entry, dict):
            return None
        sub_id, state = entry.get("subscriptionId"), entry.get("clientState")
        with self._lock:
            secret = self._secrets.get(sub_id) if isinstance(sub_id, str) else None
        if secret is None or not isinstance(state, str):
            return None
        return entry if hmac.compare_digest(state.encode(), secret.encode()) else None

    def _entries(self, payload: object) -> tuple[list[dict[str, object]], int]:
        values = payload.get("value") if isinstance(payload, dict) else None
        entries = values if isinstance(values, list) else []
        trusted = [e for e in map(self._trusted, entries) if e is not None]
        ignored = len(entries) - len(trusted)
        if ignored or not entries:
            self._log_ignored(max(ignored, 1))
        return trusted, ignored

    def _log_ignored(self, count: int) -> None:
        """Graph's guidance: answer 202 anyway, act on nothing, log (never the secret); at
        most once per `IGNORED_LOG_EVERY`, with how many were ignored since the last line."""
        now = self._monotonic()
        with self._lock:
            self._ignored_since += count
            last = self._ignored_logged
            if last is not None and now - last < IGNORED_LOG_EVERY.total_seconds():
                return
            self._ignored_logged, ignored, self._ignored_since = now, self._ignored_since, 0
        log.warning(
            "graph_notification_ignored",
            ignored=ignored,
            detail="not from one of our subscriptions or without its clientState",
        )

    def notified(self, payload: object) -> int:
        """Change notifications: each trusted one wakes the watcher unless a delta read has
        answered it already (`PendingChanges.note`)."""
        trusted, _ = self._entries(payload)
        for entry in trusted:
            self.pending.note(_message_id(entry))
        return len(trusted)

    def lifecycle(self, payload: object) -> int:
        """Lifecycle notifications: mark what `maintain` must do, and ask for a delta pass."""
        trusted, _ = self._entries(payload)
        for entry in trusted:
            event, sub_id = entry.get("lifecycleEvent"), entry.get("subscriptionId")
            log.warning("graph_lifecycle", lifecycle_event=event, subscription=sub_id)
            with self._lock:
                if event == "subscriptionRemoved" and sub_id == self._id:
                    self._recreate = True
                elif event == "reauthorizationRequired" and sub_id == self._id:
                    self._renew = True
            self.pending.note(None)
        return len(trusted)


def _message_id(entry: dict[str, object]) -> str | None:
    """The id of the message a change notification names (``resourceData.id``), if any."""
    data = entry.get("resourceData")
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None
