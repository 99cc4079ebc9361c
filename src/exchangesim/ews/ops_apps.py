"""GetClientAccessToken: Exchange user identity tokens for Outlook add-ins (MS-OXWSCEXT).

Outlook asks for a token on behalf of an add-in with
``<m:GetClientAccessToken><m:TokenRequests><t:TokenRequest><t:Id>{manifest Id}</t:Id>
<t:TokenType>CallerIdentity</t:TokenType></t:TokenRequest></m:TokenRequests>`` and hands the
token to the add-in as ``getUserIdentityTokenAsync``'s result. Each request gets one
``GetClientAccessTokenResponseMessage`` in order; a success carries ``m:Token`` with ``t:Id``,
``t:TokenType``, ``t:TokenValue`` and ``t:TTL`` (minutes the token lives).

The token is the caller's: the mailbox the request acts on, i.e. the signed-in user of a
delegated token or the mailbox an app impersonates (``ExchangeImpersonation``); the framework
has already authorized that mailbox (``exchangesim.access``). What is simulated: only
``CallerIdentity`` for add-ins installed for the organization (``exchangesim.addins``).
``ExtensionCallback``, ``ScopedToken`` and ``ExtensionRestApiCallback`` (callback tokens for
calling EWS/REST from the add-in) are not simulated and are refused per request.

Refusals use ``ErrorInvalidClientAccessTokenRequest`` (MS-OXWSCDATA ``ResponseCodeType``).
Microsoft documents no finer code for an unknown add-in, an unsupported token type or a caller
without a mailbox, so this is a best guess: it is the only response code the schema names for
this operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from exchangesim.ews.faults import EwsError, error_from
from exchangesim.ews.registry import operation
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
from exchangesim.identity.exchange_tokens import IDENTITY_TOKEN_LIFETIME, exchange_uid

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

OPERATION: Final = "GetClientAccessToken"
#: The only TokenType simulated; the schema's other three are refused.
CALLER_IDENTITY: Final = "CallerIdentity"
# Best guess (see the module docstring): the schema's only code for this operation.
_INVALID: Final = "ErrorInvalidClientAccessTokenRequest"
#: ``t:TTL``: minutes the token lives (the whole eight hours; it is fresh).
_TTL_MINUTES: Final = str(int(IDENTITY_TOKEN_LIFETIME.total_seconds() // 60))


def _text(el: Element, tag: str) -> str:
    found = child(el, T_NS, tag)
    return (found.text or "").strip() if found is not None else ""


def _token(ctx: EwsContext, token_request: Element) -> tuple[str, str]:
    """(Id as asked, signed token) for one ``t:TokenRequest``; raises `EwsError` if refused."""
    addin_id = _text(token_request, "Id")
    token_type = _text(token_request, "TokenType")
    if token_type != CALLER_IDENTITY:
        raise EwsError(_INVALID, f"The token type '{token_type}' is not supported by this server.")
    if ctx.mailbox is None:
        raise EwsError(_INVALID, "An identity token needs a caller with a mailbox.")
    mailbox = ctx.sim.tenant.find_mailbox(ctx.mailbox)
    if mailbox is None:  # the framework resolved it; kept for a tenant changed underneath
        raise EwsError(_INVALID, "An identity token needs a caller with a mailbox.")
    addin = ctx.sim.addins.get(addin_id)
    if addin is None:
        raise EwsError(_INVALID, f"The extension '{addin_id}' is not installed for this mailbox.")
    from exchangesim.autodiscover import request_metadata_url  # noqa: PLC0415 (import cycle)

    token, _expires = ctx.sim.exchange_auth.mint_identity_token(
        audience=addin.source_location,
        uid=exchange_uid(ctx.sim.tenant.tenant_id, mailbox.object_id or mailbox.email),
        amurl=request_metadata_url(ctx.request),
    )
    return addin_id, token


@operation(OPERATION)
async def get_client_access_token(ctx: EwsContext, request: Element) -> Element:
    """One response message per token request, in order."""
    response = m(f"{OPERATION}Response")
    messages = msub(response, "ResponseMessages")
    requests = child(request, M_NS, "TokenRequests")
    for token_request in children(requests, T_NS, "TokenRequest") if requests is not None else ():
        try:
            addin_id, token = _token(ctx, token_request)
        except EwsError as err:
            error_from(messages, OPERATION, err)
            continue
        element = msub(response_message(messages, OPERATION), "Token")
        tsub(element, "Id", addin_id)
        tsub(element, "TokenType", CALLER_IDENTITY)
        tsub(element, "TokenValue", token)
        tsub(element, "TTL", _TTL_MINUTES)
    return response
