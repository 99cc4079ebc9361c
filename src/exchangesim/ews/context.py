"""What an EWS operation knows about the request it answers: `EwsContext`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from aiohttp import web

from exchangesim.ews.faults import EwsError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from exchangesim.ews.xml import Element
    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator

ImpersonationKind = Literal["PrimarySmtpAddress", "SmtpAddress", "PrincipalName", "SID"]


@dataclass(frozen=True)
class ServerVersion:
    """What the response's `ServerVersionInfo` header says.

    Defaults are Exchange Online's: build 15.20.x with the API version string `V2018_01_08`
    (captured in https://github.com/OfficeDev/ews-managed-api/issues/219). exchangelib maps
    15.20 to the `Exchange2016` API and treats `V2018_01_08` as "use what you asked for".
    """

    major: int = 15
    minor: int = 20
    major_build: int = 8901
    minor_build: int = 20
    version: str = "V2018_01_08"


@dataclass(frozen=True)
class Impersonation:
    """The `ExchangeImpersonation/ConnectingSID` header: which identifier, and its value."""

    kind: ImpersonationKind
    value: str


@dataclass(frozen=True)
class SoapHeaders:
    """The SOAP and HTTP headers the framework read from the request."""

    request_version: str = "Exchange2007"
    impersonation: Impersonation | None = None
    time_zone_id: str | None = None
    time_zone_definition: Element | None = None
    anchor_mailbox: str | None = None
    date_time_precision: str | None = None


@dataclass
class EwsContext:
    """Everything an operation needs besides its request element.

    - `sim`: the simulator (tenant, store, issuer, knobs, clock);
    - `principal`: the verified caller (`kind` "app" or "user", `app_id`, `roles`, `scopes`,
      `upn`);
    - `operation`: the operation's name ("GetItem");
    - `mailbox`: the address of the mailbox the request acts on (the impersonated mailbox for
      app tokens, the user's own for delegated tokens), already authorized for EWS, in the
      tenant's spelling; `None` only for a delegated token without a mailbox;
    - `headers`: `SoapHeaders` (`request_version`, `impersonation`, `time_zone_id`,
      `time_zone_definition`, `anchor_mailbox`);
    - `server_version`: the `ServerVersionInfo` the response carries;
    - `request`: the aiohttp request (streaming operations write through `open_stream`);
    - `stopping`: set when the server stops (long waits use `sleep`, which wakes on it).
    """

    sim: Simulator
    principal: Principal
    operation: str
    mailbox: str | None
    headers: SoapHeaders
    server_version: ServerVersion
    request: web.Request
    stopping: asyncio.Event
    #: Frees the call's concurrency slot once a stream is open: Exchange does not count
    #: streaming connections against EWSMaxConcurrency (REFERENCES.md §2, EWS throttling).
    release_concurrency: Callable[[], None] | None = field(default=None, repr=False)
    _stream: web.StreamResponse | None = field(default=None, repr=False)

    @property
    def time_zone_id(self) -> str | None:
        """The Windows time-zone id of the request's `TimeZoneContext`, if any."""
        return self.headers.time_zone_id

    @property
    def request_version(self) -> str:
        """The `RequestServerVersion` the client asked for (default `Exchange2007`)."""
        return self.headers.request_version

    def now(self) -> datetime:
        """The simulator's current time (aware, UTC)."""
        return self.sim.now()

    def authorize(self, mailbox: str, needs: str | None = None) -> str:
        """Check that the caller may open `mailbox` over EWS; the tenant's spelling of it.

        Raises `EwsError` with the Exchange response code (`ErrorNonExistentMailbox`,
        `ErrorImpersonateUserDenied`, ...) so a batch operation can turn it into a per-item
        error. `needs` defaults to `full_access_as_app` for apps, `EWS.AccessAsUser.All` for
        users.
        """
        from exchangesim.access import MailboxAccessError, authorize_mailbox  # noqa: PLC0415

        if needs is None:
            app = self.principal.kind == "app"
            needs = "full_access_as_app" if app else "EWS.AccessAsUser.All"
        try:
            authorize_mailbox(self.sim, self.principal, mailbox, "ews", needs)
        except MailboxAccessError as exc:
            raise EwsError(exc.code, exc.message) from exc
        found = self.sim.tenant.find_mailbox(mailbox)
        return found.email if found is not None else mailbox

    # --- streaming ------------------------------------------------------------------------------

    async def open_stream(self) -> web.StreamResponse:
        """Start a chunked `text/xml` answer; send envelopes with `send_envelope`.

        Exchange's GetStreamingEvents answers with one HTTP response that carries one complete
        SOAP envelope per notification batch.
        """
        if self._stream is None:
            response = web.StreamResponse(
                status=200, headers={"Content-Type": "text/xml; charset=utf-8"}
            )
            response.enable_chunked_encoding()
            await response.prepare(self.request)
            self._stream = response
            if self.release_concurrency is not None:
                self.release_concurrency()
        return self._stream

    async def send_envelope(self, body: Element) -> None:
        """Write one response envelope (with the ServerVersionInfo header) to the stream."""
        from exchangesim.ews.soap import serialize_envelope  # noqa: PLC0415 (import cycle)

        stream = await self.open_stream()
        payload = serialize_envelope(body, self.server_version)
        self.sim.record_ews_response(self.operation, 200, payload)
        await stream.write(payload)

    async def close_stream(self) -> None:
        """Finish the chunked answer."""
        if self._stream is not None:
            await self._stream.write_eof()

    def drop_connection(self) -> None:
        """Cut the TCP connection at once (for `streaming_drop`)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    @property
    def streamed(self) -> web.StreamResponse | None:
        """The stream started by `open_stream`, if any."""
        return self._stream

    def streaming_drop_after(self) -> float | None:
        """Seconds after which a streaming connection must be cut (`streaming_drop` knob), or
        None when streams run normally. GetStreamingEvents reads this when it starts."""
        settings = self.sim.knobs.settings
        if not settings.streaming_drop:
            return None
        return settings.streaming_drop_after_ms / 1000

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when the server stops; True if it is stopping.

        Long polls and streaming loops wait with this so that stopping the server is prompt.
        """
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True
