"""Change notifications: ``/v1.0/subscriptions`` (https://learn.microsoft.com/graph/change-notifications-overview).

- ``POST /subscriptions`` with ``changeType`` (``created``, ``updated``, ``deleted``),
  ``notificationUrl`` (HTTPS), optional ``lifecycleNotificationUrl``, ``resource``
  (``users/{id}/messages``, ``users/{id}/mailFolders('{id}')/messages``, ``users/{id}/events``,
  or the same under ``me/``), ``expirationDateTime`` (at most 10070 minutes ahead for Outlook
  resources) and ``clientState``. Before answering 201, Graph validates each URL: a POST with
  ``?validationToken=...`` that must answer 200 with the token as plain text within 10 seconds;
  otherwise 400.
- ``GET``/``PATCH`` (renew ``expirationDateTime``)/``DELETE /subscriptions/{id}``,
  ``GET /subscriptions``: an app sees the subscriptions it made.
- Notifications and lifecycle notifications are sent by `exchangesim.graph.notifier`.

Subscriptions live in memory (per simulator): a restart of exchangesim loses them, as a
subscription Graph removed would be lost, but without a ``subscriptionRemoved`` notice.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.errors import GraphError, bad_request
from exchangesim.graph.render_common import instant, parse_instant

if TYPE_CHECKING:
    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator

#: Longest lifetime of a subscription to Outlook messages or events (minutes).
MAX_MINUTES: Final = 10070
CHANGE_TYPES: Final = frozenset({"created", "updated", "deleted"})
#: Folders that do not hold mail (a mailbox-wide messages subscription ignores them).
NOT_MAIL: Final = ("calendar", "contacts", "tasks", "notes", "journal")

_RESOURCE = re.compile(
    r"^/?(?:users/(?P<user>[^/]+)|me)/"
    r"(?:(?P<events>events)|(?:mailfolders(?:\('(?P<folder1>[^']+)'\)|/(?P<folder2>[^/]+))/)?messages)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Subscription:
    """One subscription."""

    id: str
    app_id: str
    mailbox: str
    user_id: str
    resource: str
    kind: str  # "messages" | "events"
    folder_ids: frozenset[str] | None  # None: every mail folder
    excluded_folder_ids: frozenset[str]
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    creator_id: str

    def to_json(self) -> dict[str, Any]:
        """The ``subscription`` resource."""
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": instant(self.expires, fraction=True),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


@dataclass
class Registry:
    """The subscriptions of one simulator."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: dict[str, Subscription] = field(default_factory=dict)

    def live(self, now: datetime) -> list[Subscription]:
        """Subscriptions not expired at ``now`` (expired ones are dropped)."""
        with self.lock:
            for gone in [s for s in self.items.values() if s.expires <= now]:
                del self.items[gone.id]
            return list(self.items.values())

    def get(self, sub_id: str, app_id: str, now: datetime) -> Subscription:
        """An unexpired subscription of this app; 404 otherwise."""
        found = next((s for s in self.live(now) if s.id == sub_id), None)
        if found is None or found.app_id.casefold() != app_id.casefold():
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return found

    def put(self, subscription: Subscription) -> None:
        """Add or replace."""
        with self.lock:
            self.items[subscription.id] = subscription

    def remove(self, sub_id: str) -> Subscription | None:
        """Remove and return."""
        with self.lock:
            return self.items.pop(sub_id, None)


_REGISTRIES: weakref.WeakKeyDictionary[Simulator, Registry] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def registry(sim: Simulator) -> Registry:
    """The simulator's subscriptions."""
    with _REGISTRIES_LOCK:
        found = _REGISTRIES.get(sim)
        if found is None:
            found = _REGISTRIES[sim] = Registry()
        return found


def _expiry(sim: Simulator, value: Any) -> datetime:
    if not isinstance(value, str):
        raise bad_request("expirationDateTime is required.", "InvalidRequest")
    when = parse_instant(value, "expirationDateTime")
    now = sim.now()
    if when <= now:
        raise bad_request("Subscription expiration must be in the future.", "InvalidRequest")
    if when > now + timedelta(minutes=MAX_MINUTES):
        raise bad_request(
            f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
            "InvalidRequest",
        )
    return when


def _url(value: Any, name: str, *, allow_http: bool) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request(f"{name} is required.", "InvalidRequest")
    if not value.startswith("https://") and not (allow_http and value.startswith("http://")):
        raise bad_request(f"The {name} must use HTTPS.", "InvalidRequest")
    return value


def parse(sim: Simulator, principal: Principal, body: Any) -> tuple[Subscription, str]:
    """A new subscription from a POST body, and the permission its resource needs."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a subscription.", "InvalidRequest")
    lowered = {k.casefold(): v for k, v in body.items()}
    resource = str(lowered.get("resource") or "")
    match = _RESOURCE.match(resource)
    if match is None:
        raise bad_request(f"Resource '{resource}' is not supported.", "InvalidRequest")
    user = match.group("user")
    if user is None:
        if principal.kind != "user" or not principal.upn:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        user = principal.upn
    from exchangesim.graph.endpoint import resolve_mailbox  # noqa: PLC0415

    mailbox = resolve_mailbox(sim, user)
    kinds = {c.strip() for c in str(lowered.get("changetype") or "").split(",") if c.strip()}
    if not kinds or not kinds <= CHANGE_TYPES:
        raise bad_request("changeType must list created, updated and/or deleted.", "InvalidRequest")
    allow_http = sim.knobs.settings.graph_notification_http
    notification = _url(lowered.get("notificationurl"), "notificationUrl", allow_http=allow_http)
    lifecycle = lowered.get("lifecyclenotificationurl")
    lifecycle_url = (
        None
        if lifecycle is None
        else _url(lifecycle, "lifecycleNotificationUrl", allow_http=allow_http)
    )
    client_state = lowered.get("clientstate")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
        raise bad_request(
            "clientState must be a string of at most 128 characters.", "InvalidRequest"
        )
    store = sim.store
    folder = match.group("folder1") or match.group("folder2")
    kind = "events" if match.group("events") else "messages"
    if kind == "events":
        folder_ids: frozenset[str] | None = frozenset({store.folder(mailbox, "calendar").id})
    elif folder is not None:
        from exchangesim.graph.messages import folder_ref  # noqa: PLC0415

        folder_ids = frozenset({store.folder(mailbox, folder_ref(folder)).id})
    else:
        folder_ids = None
    excluded = frozenset(store.folder(mailbox, name).id for name in NOT_MAIL)
    tenant_entry = sim.tenant.find_mailbox(mailbox)
    subscription = Subscription(
        id=str(uuid.uuid4()),
        app_id=principal.app_id,
        mailbox=mailbox,
        user_id=(tenant_entry.object_id if tenant_entry is not None else "") or mailbox,
        resource=resource,
        kind=kind,
        folder_ids=folder_ids,
        excluded_folder_ids=excluded,
        change_types=frozenset(kinds),
        notification_url=notification,
        lifecycle_url=lifecycle_url,
        client_state=client_state,
        expires=_expiry(sim, lowered.get("expirationdatetime")),
        creator_id=principal.oid or principal.app_id,
    )
    return subscription, "Calendars.Read" if kind == "events" else "Mail.Read"


def renewed(sim: Simulator, subscription: Subscription, body: Any) -> Subscription:
    """The subscription with a new ``expirationDateTime`` (PATCH)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a subscription.", "InvalidRequest")
    lowered = {k.casefold(): v for k, v in body.items()}
    unknown = set(lowered) - {"expirationdatetime", "notificationurl", "lifecyclenotificationurl"}
    if unknown:
        raise bad_request(
            f"Only expirationDateTime can be changed, not {sorted(unknown)}.", "InvalidRequest"
        )
    changed = subscription
    if "expirationdatetime" in lowered:
        changed = replace(changed, expires=_expiry(sim, lowered["expirationdatetime"]))
    return changed


def validation_token() -> str:
    """A token for the validation handshake."""
    return (
        "Validation: Testing client application reachability for subscription Request-Id: "
        + secrets.token_hex(16)
    )


def folder_matches(subscription: Subscription, folder_id: str | None) -> bool:
    """Whether a change in ``folder_id`` concerns the subscription."""
    if folder_id is None:
        return False
    if subscription.folder_ids is not None:
        return folder_id in subscription.folder_ids
    return folder_id not in subscription.excluded_folder_ids


def resource_path(subscription: Subscription, item_id: str) -> str:
    """``Users/{user id}/Messages/{id}`` (or ``Events``), as Outlook notifications name it."""
    noun = "Events" if subscription.kind == "events" else "Messages"
    from exchangesim.graph.ids import rest_id  # noqa: PLC0415

    return f"Users/{subscription.user_id}/{noun}/{rest_id(item_id)}"
