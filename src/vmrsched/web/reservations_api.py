"""``POST /api/v1/reservations``: who is calling, what they may reserve, and the answer.

An Entra ID token (`signin`, Microsoft 365) names its user, who becomes the organizer; the body
cannot choose another. An Exchange identity token (`exchange_identity`, Exchange Server) proves a
user but names no address: the body's ``organizer`` is recorded as a *claim*, which the engine
honours only for meetings that address organizes or sends. The two are told apart by the
token's ``appctx`` claim (only Exchange's tokens have one); each is then checked in full.
The contract: ``docs/reference/addin-api.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import jwt
import structlog
from aiohttp import web

from vmrsched.domain.instructions import join_url
from vmrsched.ports.store import StoreError
from vmrsched.service.reserve import ReservationRefusedError, reserve
from vmrsched.service.threads import in_thread
from vmrsched.web.keycache import KeysUnavailableError
from vmrsched.web.payloads import error, read_at_most
from vmrsched.web.signin import SignInError

if TYPE_CHECKING:
    from vmrsched.service.reserve import Offer
    from vmrsched.web.addin import AddinService

log = structlog.get_logger(__name__)

_REALM: Final = 'Bearer realm="vmrsched"'
_MAX_BODY: Final = 16 * 1024
#: What may not appear inside a quoted header value (RFC 9110 quoted-string).
_HEADER_UNSAFE: Final = re.compile(r'["\\\x00-\x1f\x7f-\uffff]')


@dataclass(frozen=True)
class _Caller:
    """Who is asking: the rate limit's key, and the organizer unless the token names none."""

    key: str
    email: str
    claimed: bool  # the token proves a user but names no address: the body names the organizer


async def reservation_answer(service: AddinService, request: web.Request) -> web.Response:
    """The answer to ``POST /api/v1/reservations`` (CORS and caching headers come after)."""
    if service.verifier is None and service.exchange_verifier is None:
        return error(
            503,
            "unavailable",
            "sign-in for the add-in is not configured on the server "
            "([addin] client_id, or exchange_metadata_urls for Exchange Server)",
        )
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        challenge = {"WWW-Authenticate": _REALM}
        return error(401, "unauthorized", "sign in to reserve a VMR", challenge)
    try:
        caller = await _sign_in(service, token.strip())
    except SignInError as exc:
        log.warning("addin_token_refused", reason=exc.reason, remote=request.remote)
        reason = _HEADER_UNSAFE.sub(" ", exc.reason)
        described = f'{_REALM}, error="invalid_token", error_description="{reason}"'
        return error(401, "unauthorized", exc.reason, {"WWW-Authenticate": described})
    except KeysUnavailableError:
        return error(503, "unavailable", "the sign-in service cannot be reached; try again")
    wait = service.limiter.take(caller.key)
    if wait:
        log.warning("addin_rate_limited", caller=caller.key, retry_after=wait)
        return error(
            429,
            "rate_limited",
            f"too many reservations; try again in {wait} seconds",
            {"Retry-After": str(wait)},
        )
    body, problem = await _read_body(request)
    organizer = caller.email
    if not problem and caller.claimed:
        organizer = str(body.get("organizer", "")).strip()
        if not organizer:
            problem = (
                "organizer is required: an Exchange identity token names no e-mail address, "
                "so send the organizer's SMTP address"
            )
    if problem:
        return error(400, "bad_request", problem)
    try:
        offer = await in_thread(
            lambda: reserve(
                service.store,
                service.rules,
                service.clock,
                organizer,
                organizer_claimed=caller.claimed,
            ),
            name="reserve",
        )
    except ReservationRefusedError as exc:
        return error(403, "organizer_not_allowed", str(exc))
    except StoreError as exc:
        log.warning("addin_store_error", error=str(exc))
        return error(503, "unavailable", "the reservation could not be stored; try again")
    return web.json_response(_offer_document(service, offer), status=201)


async def _sign_in(service: AddinService, token: str) -> _Caller:
    """The caller ``token`` proves; SignInError or KeysUnavailableError when it proves nobody."""
    if _is_exchange_token(token):
        if service.exchange_verifier is None:
            raise SignInError(
                "this service does not accept Exchange identity tokens "
                "([addin] exchange_metadata_urls names no Exchange)"
            )
        exchange_user = await service.exchange_verifier.verify(token)
        return _Caller(key=exchange_user.unique_id, email="", claimed=True)
    if service.verifier is None:
        raise SignInError(
            "this service does not accept Microsoft 365 sign-in ([addin] client_id is not set)"
        )
    user = await service.verifier.verify(token)
    return _Caller(key=user.object_id, email=user.email, claimed=False)


def _is_exchange_token(token: str) -> bool:
    """True for a token shaped like an Exchange identity token (its checks come later)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, RecursionError):  # the verifier says why it is refused
        return False
    return "appctx" in claims


async def _read_body(request: web.Request) -> tuple[dict[str, Any], str]:
    """The (optional) JSON body, and why it is unusable ('' when it is fine)."""
    if not request.can_read_body:
        return {}, ""
    raw = await read_at_most(request.content, _MAX_BODY + 1)
    if len(raw) > _MAX_BODY:
        return {}, "the request body is too large"
    if not raw.strip():
        return {}, ""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return {}, "the request body is not JSON"
    if not isinstance(body, dict):
        return {}, "the request body must be a JSON object"
    for key in ("subject", "organizer"):
        if not isinstance(body.get(key, ""), str):
            return body, f"{key} must be text"
    for key in ("start", "end"):
        value = body.get(key)
        if value is None:
            continue
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            return body, f"{key} must be an ISO 8601 time with an offset"
    return body, ""


def _offer_document(service: AddinService, offer: Offer) -> dict[str, Any]:
    reservation = offer.reservation
    policy = service.rules.policy
    link = join_url(policy.join_url_format, reservation.alias, reservation.numeric_alias)
    return {
        "alias": reservation.alias,
        "numeric_alias": reservation.numeric_alias,
        "alias_uuid": reservation.token_id,
        "token": offer.token,
        "join_url": link,
        "location": link or reservation.alias,
        "instructions": {"html": offer.instructions.html, "text": offer.instructions.text},
        "resource_mailbox": service.settings.exchange.resource_mailbox,
        "expires_at": reservation.expires.isoformat(),
    }
