"""Bootstrap: the one place that picks implementations from `Settings` (DESIGN §2).

- ``[database] url`` → `SqlStore` (SQLite or PostgreSQL), migrated on open;
- ``[exchange] api = "ews"`` → the EWS adapter (`vmrsched.adapters.ews`), app-only auth from
  `vmrsched.adapters.auth`; ``"graph"`` → the Microsoft Graph adapter (`vmrsched.adapters.graph`);
- ``[service] installation_key_file`` → the key that signs alias tokens (created on first use);
- the rest of the settings → the service's `Rules` and the web server's options.

Everything above this module (CLI, web) receives built objects; everything below it sees ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from vmrsched.adapters.auth.documents import JsonDocuments
from vmrsched.adapters.db import SqlStore
from vmrsched.adapters.ews.client import EwsMailbox
from vmrsched.adapters.ews.probe import EwsProbe
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.adapters.graph.probe import GraphProbe
from vmrsched.adapters.graph.push import push_urls
from vmrsched.config import ExchangeApi, ensure_installation_key
from vmrsched.service.clock import Clock, system_clock
from vmrsched.service.health import Health
from vmrsched.service.rules import Rules
from vmrsched.service.runtime import ServiceParts

if TYPE_CHECKING:
    from vmrsched.config import Settings
    from vmrsched.domain.tokens import TokenKey
    from vmrsched.ports.mailbox import Mailbox
    from vmrsched.ports.notifications import ChangeNotifications
    from vmrsched.ports.store import Store


class BootstrapError(Exception):
    """The service cannot be put together from these settings; ``fix`` says what to change."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


def open_store(settings: Settings) -> SqlStore:
    """The store at ``[database] url``, migrated to this version's schema."""
    return SqlStore.open(settings.database.url)


def installation_key(settings: Settings) -> TokenKey:
    """The installation key (created, owner-only, the first time)."""
    return ensure_installation_key(settings.service.installation_key_file)


def make_rules(settings: Settings, key: TokenKey) -> Rules:
    """The service's rules from the settings and the installation key."""
    return Rules(
        policy=settings.scheduling_policy(key),
        templates=settings.templates,
        alias_format=settings.alias_format(),
        reservation_ttl=settings.reservation_ttl,
    )


def open_mailbox(settings: Settings, *, allow_http_push: bool = False) -> Mailbox:
    """The resource mailbox through the API ``[exchange] api`` names. Under Graph, with an
    HTTPS ``[web] public_url`` (or any http URL when `allow_http_push`, which only tests use),
    the mailbox subscribes to change notifications served by the web server."""
    api = settings.exchange.api
    if api is ExchangeApi.GRAPH:
        urls = push_urls(settings.web.public_url, allow_http=allow_http_push)
        return GraphMailbox.from_settings(settings.exchange, push_urls=urls)
    return EwsMailbox.from_settings(settings.exchange)


def change_notifications(mailbox: Mailbox) -> ChangeNotifications | None:
    """What receives pushed change notifications for ``mailbox`` (Graph with a public URL),
    for the web server; None when nothing is pushed over HTTP (EWS streams instead)."""
    return mailbox.push if isinstance(mailbox, GraphMailbox) else None


def open_setup_probe(settings: Settings) -> EwsProbe | GraphProbe:
    """The doctor's probes for ``[exchange]``, over the API ``api`` names."""
    if settings.exchange.api is ExchangeApi.GRAPH:
        return GraphProbe(settings.exchange)
    return EwsProbe(settings.exchange)


def open_document_probe(settings: Settings) -> JsonDocuments:
    """The doctor's reads of the add-in's sign-in documents, trusting ``[exchange] ca_bundle``
    as the web server's sign-in does."""
    return JsonDocuments(settings.exchange.ca_bundle)


@dataclass(frozen=True, kw_only=True)
class Components:
    """The built service: store, rules, clock and health, ready for the CLI and the web."""

    settings: Settings
    store: Store
    rules: Rules
    clock: Clock = system_clock
    health: Health = field(default_factory=lambda: Health(system_clock()))

    def service_parts(self, mailbox: Mailbox) -> ServiceParts:
        """What the service's tasks need, around ``mailbox``."""
        return ServiceParts(
            mailbox=mailbox,
            store=self.store,
            clock=self.clock,
            rules=self.rules,
            health=self.health,
            poll_interval=timedelta(seconds=self.settings.service.poll_interval_seconds),
        )

    def close(self) -> None:
        """Release the database connections."""
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def build(
    settings: Settings, *, store: Store | None = None, clock: Clock = system_clock
) -> Components:
    """Open the store and load the installation key; the mailbox is opened separately
    (`open_mailbox`) because commands like ``reserve`` and ``meetings`` do not need Exchange."""
    key = installation_key(settings)
    return Components(
        settings=settings,
        store=store if store is not None else open_store(settings),
        rules=make_rules(settings, key),
        clock=clock,
        health=Health(clock()),
    )
