"""The simulator: one object holding the tenant, the mailbox store, the token issuer, the realism
knobs, the clock, the organization's add-ins and Exchange's auth certificate. Every front-end
(token endpoint, EWS, later Graph) gets it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from exchangesim.ews.context import ServerVersion
from exchangesim.knobs import Knobs

if TYPE_CHECKING:
    from exchangesim.ews.soap import RequestSchema
    from exchangesim.identity import TokenIssuer
    from exchangesim.store import Store
    from exchangesim.tenant import Tenant

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Gives the current time, aware; the system clock unless a test injects one."""

#: Environment variable naming a folder with the EWS schemas (`messages.xsd`) to validate
#: requests against; the `--ews-schema` option sets the same.
EWS_SCHEMA_ENV: Final = "EXCHANGESIM_EWS_SCHEMA"


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ResponseRecord:
    """One EWS response body as the server sent it (for the conformance collector)."""

    operation: str | None
    status: int
    body: bytes


ResponseListener = Callable[[ResponseRecord], None]

# Listeners for every simulator of the process: the test suite's response collector registers
# here once and sees every server any test starts.
_GLOBAL_LISTENERS: list[ResponseListener] = []
_LISTENERS_LOCK = threading.Lock()


def add_response_listener(listener: ResponseListener) -> Callable[[], None]:
    """Call `listener` with every EWS response body any simulator of this process emits.

    Returns a function that removes the listener.
    """
    with _LISTENERS_LOCK:
        _GLOBAL_LISTENERS.append(listener)

    def remove() -> None:
        with _LISTENERS_LOCK:
            if listener in _GLOBAL_LISTENERS:
                _GLOBAL_LISTENERS.remove(listener)

    return remove


class Simulator:
    """Tenant + store + token issuer + knobs + clock, and where state is saved."""

    def __init__(
        self,
        tenant: Tenant,
        store: Store,
        issuer: TokenIssuer,
        knobs: Knobs | None = None,
        clock: Clock = system_clock,
        *,
        state_file: Path | None = None,
        request_schema: RequestSchema | None = None,
        server_version: ServerVersion | None = None,
    ) -> None:
        self.tenant = tenant
        self.store = store
        self.issuer = issuer
        self.knobs = knobs if knobs is not None else Knobs()
        self.clock = clock
        self.state_file = state_file
        self.request_schema = request_schema
        self.server_version = server_version or ServerVersion()
        self._listeners: list[ResponseListener] = []
        from exchangesim.addins import OrgAddins  # noqa: PLC0415 (keeps import light)
        from exchangesim.identity.exchange_tokens import ExchangeAuth  # noqa: PLC0415

        #: Add-ins installed for the organization (`New-App -OrganizationApp`).
        self.addins = OrgAddins()
        #: Exchange's own OAuth identity: the auth certificate and the user identity tokens.
        self.exchange_auth = ExchangeAuth(tenant.domain, issuer.clock)

    @classmethod
    def from_tenant(
        cls,
        tenant: Tenant,
        *,
        state_file: Path | None = None,
        clock: Clock = system_clock,
        knobs: Knobs | None = None,
        ews_schema: Path | None = None,
    ) -> Simulator:
        """A simulator for `tenant`: mailboxes from the state file when it exists, else fresh.

        `ews_schema` (default: the `EXCHANGESIM_EWS_SCHEMA` environment variable) names a folder
        holding `messages.xsd`; when given, request bodies are validated as Exchange does.
        """
        from exchangesim.identity import TokenIssuer  # noqa: PLC0415 (keeps import light)
        from exchangesim.store import Store  # noqa: PLC0415

        if state_file is not None and state_file.exists():
            from exchangesim import state  # noqa: PLC0415

            store = state.load(state_file, clock=clock)
            log.info("state_loaded path=%s", state_file)
        else:
            store = Store.from_tenant(tenant, clock=clock)
        return cls(
            tenant,
            store,
            TokenIssuer(tenant, clock),
            knobs,
            clock,
            state_file=state_file,
            request_schema=load_request_schema(ews_schema),
        )

    @classmethod
    def from_tenant_file(
        cls,
        path: Path,
        state_file: Path | None = None,
        *,
        clock: Clock = system_clock,
        knobs: Knobs | None = None,
        ews_schema: Path | None = None,
    ) -> Simulator:
        """`from_tenant` for a tenant TOML file (raises `TenantFileError` listing its problems)."""
        from exchangesim.tenant import load_tenant  # noqa: PLC0415

        return cls.from_tenant(
            load_tenant(path),
            state_file=state_file,
            clock=clock,
            knobs=knobs,
            ews_schema=ews_schema,
        )

    def now(self) -> datetime:
        """The simulator's current time (the store's, so both agree)."""
        now: datetime = self.store.now()
        return now

    def save_state(self) -> bool:
        """Write the store to the state file, if there is one; True when written."""
        if self.state_file is None:
            return False
        from exchangesim import state  # noqa: PLC0415

        state.save(self.store, self.state_file)
        log.info("state_saved path=%s", self.state_file)
        return True

    # --- response listeners ---------------------------------------------------------------

    def add_response_listener(self, listener: ResponseListener) -> Callable[[], None]:
        """Call `listener` with every EWS response body this simulator emits; returns a remover."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def record_ews_response(self, operation: str | None, status: int, body: bytes) -> None:
        """Hand an emitted EWS response body to the listeners (the EWS front-end calls this)."""
        with _LISTENERS_LOCK:
            listeners = [*self._listeners, *_GLOBAL_LISTENERS]
        if not listeners:
            return
        record = ResponseRecord(operation=operation, status=status, body=body)
        for listener in listeners:
            listener(record)


def load_request_schema(folder: Path | None) -> RequestSchema | None:
    """The EWS request schema from `folder` or `$EXCHANGESIM_EWS_SCHEMA`, or None when unset."""
    if folder is None:
        env = os.environ.get(EWS_SCHEMA_ENV)
        folder = Path(env) if env else None
    if folder is None:
        return None
    from exchangesim.ews.soap import RequestSchema  # noqa: PLC0415

    schema = RequestSchema(folder)
    log.info("ews_request_schema_loaded folder=%s", folder)
    return schema
