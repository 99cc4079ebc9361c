"""The EWS HTTP endpoint: `POST /EWS/Exchange.asmx`, from the bearer token to the response.

The order is Exchange Online's: HTTP authentication (401 with a Bearer challenge), the envelope
(`ErrorSchemaValidation` / `ErrorInvalidRequest` faults), the SOAP headers, schema validation,
the impersonated mailbox and the app's right to open it (faults), throttling (`ErrorServerBusy`),
then the operation. Every response body is handed to `sim.record_ews_response` so the test suite
can check it against the EWS schemas.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from typing import TYPE_CHECKING, Final

from aiohttp import web

from exchangesim.ews import faults, registry, soap
from exchangesim.ews.context import EwsContext, SoapHeaders
from exchangesim.ews.faults import EwsError, EwsFault
from exchangesim.ews.xml import Element, m, msub
from exchangesim.identity import InvalidToken, audiences
from exchangesim.store.errors import StoreError
from exchangesim.webkeys import SIM_KEY, STOPPING_KEY

if TYPE_CHECKING:
    from exchangesim.identity import Principal
    from exchangesim.knobs import FaultKind
    from exchangesim.sim import Simulator

log = logging.getLogger(__name__)

EXCHANGE_APP_ID: Final = "00000002-0000-0ff1-ce00-000000000000"
#: Token audiences Exchange Online accepts for EWS: https://outlook.office365.com,
#: https://outlook.office.com (each with or without a trailing slash) and Exchange's app id.
_AUDIENCES: Final = frozenset(audiences("ews"))

#: The Bearer challenge of Exchange Online's 401 (MS-XOAUTH 3.2.5.4 names client_id and
#: trusted_issuers; token_types, authorization_uri and error are in captured EXO answers).
CHALLENGE: Final = (
    f'Bearer client_id="{EXCHANGE_APP_ID}", '
    'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
    'token_types="app_asserted_user_v1 service_asserted_app_v1", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
)

#: IIS's answer when its request queue is full (HTTP.sys 503 page).
IIS_503_PAGE: Final = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Service Unavailable</h2>\r\n"
    "<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
    "</BODY></HTML>\r\n"
)

_PATH_RE: Final = "/" + "".join(
    f"[{c.upper()}{c.lower()}]" if c.isalpha() else ("\\." if c == "." else c)
    for c in "ews/exchange.asmx"
)


def add_routes(app: web.Application) -> None:
    """Route `/EWS/Exchange.asmx` in any letter case (IIS paths are case-insensitive)."""
    app.router.add_route("*", "/{ews_path:" + _PATH_RE[1:] + "}", handle_ews)


class Unauthorized(Exception):  # noqa: N818 (named after the HTTP status it becomes)
    """Answer 401 with the Bearer challenge; `diagnostics` fills `x-ms-diagnostics`."""

    def __init__(self, diagnostics: str | None = None) -> None:
        super().__init__(diagnostics or "no bearer token")
        self.diagnostics = diagnostics

    def response(self) -> web.Response:
        """The 401 response (empty body, like Exchange)."""
        challenge = CHALLENGE
        headers = {"request-id": str(uuid.uuid4())}
        if self.diagnostics is not None:
            challenge += ', error="invalid_token"'
            headers["x-ms-diagnostics"] = self.diagnostics
        headers["WWW-Authenticate"] = challenge
        return web.Response(status=401, headers=headers)


def _diag(code: int, reason: str, category: str) -> str:
    reason = reason.replace('"', "'")
    return f'{code};reason="{reason}";error_category="{category}"'


def authenticate(sim: Simulator, authorization: str | None) -> Principal:
    """The verified caller of a request's `Authorization` header; raises `Unauthorized`."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    try:
        return sim.issuer.verify(token, audience=_AUDIENCES)
    except InvalidToken as exc:
        if exc.category == "invalid_audience":
            # Exchange Online's words for a token minted for another resource (e.g. Graph).
            raise Unauthorized(
                _diag(2000003, f"The audience claim value is invalid: {exc}", "invalid_resource")
            ) from exc
        raise Unauthorized(_diag(2000001, str(exc), "invalid_token")) from exc


async def handle_ews(request: web.Request) -> web.StreamResponse:
    """The EWS endpoint."""
    sim = request.app[SIM_KEY]
    # Read the body even when refusing, so the connection stays usable (aiohttp closes it
    # otherwise, and exchangelib reads `Connection: close` as "server busy").
    data = await request.read()
    try:
        principal = authenticate(sim, request.headers.get("Authorization"))
    except Unauthorized as exc:
        return exc.response()
    if request.method != "POST":
        return web.Response(status=405, headers={"Allow": "POST"})
    operation: str | None = None
    try:
        envelope = soap.parse_envelope(data)
        operation = envelope.operation
        sim.knobs.count("ews", operation)
        injected = sim.knobs.draw_fault(operation)
        if injected is not None:
            return await _inject(request, sim, operation, injected)
        headers = soap.read_headers(envelope.header, request.headers.get("X-AnchorMailbox"))
        if sim.request_schema is not None:
            sim.request_schema.validate(envelope.body)
        mailbox = resolve_mailbox(sim, principal, headers)
        admission = sim.knobs.admit(f"{principal.app_id}|{(mailbox or '').lower()}")
        if admission.back_off_ms is not None:
            raise faults.server_busy(admission.back_off_ms)
        with admission:
            delay = sim.knobs.latency_s(operation)
            if delay:
                await _sleep(request, delay)
            op = _registered(operation)
            ctx = EwsContext(
                sim=sim,
                principal=principal,
                operation=operation,
                mailbox=mailbox,
                headers=headers,
                server_version=sim.server_version,
                request=request,
                stopping=request.app[STOPPING_KEY],
                release_concurrency=admission.release,
            )
            result = await _run(op, ctx, envelope.body)
            if ctx.streamed is not None:
                return ctx.streamed
            payload = soap.serialize_envelope(result, sim.server_version)
    except EwsFault as fault:
        return fault_response(sim, operation, fault)
    except HttpRefusal as refusal:
        return refusal.response()
    sim.record_ews_response(operation, 200, payload)
    return web.Response(body=payload, status=200, headers=_response_headers())


def _registered(operation: str) -> registry.Operation:
    """The operation's handler, or the fault for an EWS operation the simulator lacks.

    `ErrorInvalidOperation` rather than Exchange's `ErrorInvalidRequest`, because exchangelib
    answers `ErrorInvalidRequest` by retrying every API version and then reports a version
    problem, which hides the real cause; see docs/exchangesim.md.
    """
    op = registry.get_operation(operation)
    if op is None:
        raise EwsFault(
            "ErrorInvalidOperation",
            f"exchangesim does not implement the EWS operation {operation}.",
        )
    return op


#: Operations whose response message is an `ItemInfoResponseMessageType` (MS-OXWSCDATA): their
#: error messages still carry an empty `m:Items`, as in `CreateItem-ErrorItemNotFound.response.xml`.
_ITEM_INFO_OPERATIONS = frozenset(
    {"ArchiveItem", "CopyItem", "CreateItem", "GetItem", "MoveItem", "UpdateItem"}
)


async def _run(op: registry.Operation, ctx: EwsContext, body: Element) -> Element:
    try:
        result = await op.func(ctx, body)
    except EwsFault:
        raise
    except (EwsError, StoreError) as exc:
        # An operation that let a per-item error escape: answer it as Exchange answers a batch
        # of one failed item.
        err = exc if isinstance(exc, EwsError) else faults.from_store_error(exc)
        response = m(f"{op.name}Response")
        message = faults.error_from(msub(response, "ResponseMessages"), op.name, err)
        if op.name in _ITEM_INFO_OPERATIONS:
            msub(message, "Items")  # required by ItemInfoResponseMessageType, empty on errors
        return response
    except Exception as exc:
        log.exception("ews_operation_failed operation=%s", op.name)
        raise faults.internal_server_error() from exc
    if result is None:
        if ctx.streamed is not None:
            return m(f"{op.name}Response")  # not sent: the stream already answered
        log.error("ews_operation_returned_nothing operation=%s", op.name)
        raise faults.internal_server_error()
    return result


class HttpRefusal(Exception):  # noqa: N818 (an HTTP answer, not an error of ours)
    """A bare HTTP refusal without a SOAP body (EWS switched off: 403; no grant at all: 401)."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers

    def response(self) -> web.Response:
        """The HTTP answer (empty body; a 401 carries the Bearer challenge)."""
        headers = {"request-id": str(uuid.uuid4()), **self.headers}
        if self.status == 401:
            headers["WWW-Authenticate"] = CHALLENGE + ', error="invalid_token"'
        return web.Response(status=self.status, headers=headers)


def resolve_mailbox(sim: Simulator, principal: Principal, headers: SoapHeaders) -> str | None:
    """The mailbox the request acts on, authorized; raises the fault Exchange sends.

    App-only tokens must name a mailbox in `ExchangeImpersonation`; delegated (user) tokens must
    not, and act on the user's own mailbox (REFERENCES.md §2; exchangelib issues 735 and 757).
    Refusals come from `exchangesim.access`: a SOAP fault (HTTP 500) with its code, or a bare
    401/403 (`HttpRefusal`).
    """
    from exchangesim.access import (  # noqa: PLC0415
        MailboxAccessError,
        authorize_mailbox,
        check_ews_enabled,
    )

    imp = headers.impersonation
    if principal.kind == "app":
        if imp is None:
            raise EwsFault("ErrorInvalidExchangeImpersonationHeaderData")
        wanted = imp.value
    else:
        if imp is not None:
            raise EwsFault(
                "ErrorInvalidExchangeImpersonationHeaderData",
                faults.IMPERSONATION_HEADER_NOT_ALLOWED,
            )
        if not principal.upn:
            return None
        wanted = principal.upn
    found = sim.tenant.find_mailbox(wanted) if "@" in wanted else None
    if found is None:
        raise faults.non_existent_mailbox(wanted)
    needs = "full_access_as_app" if principal.kind == "app" else "EWS.AccessAsUser.All"
    try:
        check_ews_enabled(sim, principal, found.email)
        authorize_mailbox(sim, principal, found.email, "ews", needs)
    except MailboxAccessError as exc:
        if exc.http_status in {401, 403}:
            raise HttpRefusal(exc.http_status, exc.message, dict(exc.headers)) from exc
        if exc.code == "ErrorNonExistentMailbox":
            raise faults.non_existent_mailbox(wanted) from exc
        raise EwsFault(exc.code, exc.message) from exc
    return found.email


def fault_response(sim: Simulator, operation: str | None, fault: EwsFault) -> web.Response:
    """The HTTP answer for an `EwsFault` (recorded for the conformance collector)."""
    payload = soap.serialize(fault.envelope())
    sim.record_ews_response(operation, fault.http_status, payload)
    headers = _response_headers()
    headers.update(fault.headers)
    return web.Response(body=payload, status=fault.http_status, headers=headers)


def _response_headers() -> dict[str, str]:
    return {
        "Content-Type": "text/xml; charset=utf-8",
        "request-id": str(uuid.uuid4()),
        "X-FEServer": "EXCHANGESIM",
    }


async def _sleep(request: web.Request, seconds: float) -> bool:
    """Sleep, waking early when the server stops; True when stopping."""
    stopping = request.app[STOPPING_KEY]
    try:
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def _inject(
    request: web.Request, sim: Simulator, operation: str, kind: FaultKind
) -> web.StreamResponse:
    """Answer with a simulated failure of the given kind (the `fault_rate` knob)."""
    log.info("ews_fault_injected operation=%s kind=%s", operation, kind)
    if kind == "http500":
        return fault_response(sim, operation, faults.internal_server_error())
    if kind == "http503":
        return web.Response(status=503, text=IIS_503_PAGE, content_type="text/html")
    if kind == "timeout":
        await _sleep(request, sim.knobs.settings.timeout_hold_ms / 1000)
    reset_connection(request)
    return web.Response(status=500)  # never reaches the client: the connection is gone


def reset_connection(request: web.Request) -> None:
    """Reset the client's TCP connection (RST, not a clean close)."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            log.debug("could not set SO_LINGER; closing without RST")
    transport.abort()
