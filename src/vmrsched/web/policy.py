"""Pexip Infinity's external policy: the service configuration request, answered from bookings.

Infinity sends ``GET /policy/v1/service/configuration?local_alias=...&remote_alias=...&...`` for
each call when its policy profile points here, waits at most 5 seconds, and reads
``{"status": "success", "action": ..., "result": {...}}`` (built by `vmrsched.domain.policy`).
Of its parameters only ``local_alias`` (the dialled alias) decides; the others are logged.
— https://docs.pexip.com/admin/external_policy_requests.htm

What is answered:

- an alias booked by a meeting, dialled inside one of its windows → a VMR (``service_type``
  ``conference``);
- an alias in vmrsched's alias namespace (``[aliases]`` prefix + digits + domain) that is not live
  now — booked but outside its windows, released, only reserved, or never used → ``reject``;
- anything else → ``continue``: Infinity uses its own configuration (personal VMRs, gateways).

When the store does not answer within the budget the answer is ``continue``, as for an unknown
alias: Infinity then falls back to its local database, where scheduled aliases do not exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import structlog
from aiohttp import web

from vmrsched.config import PolicyAuth
from vmrsched.domain.policy import dialled_aliases, service_configuration
from vmrsched.ports.store import StoreError
from vmrsched.service.threads import in_thread

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.config import VideoSettings
    from vmrsched.domain.aliases import AliasFormat
    from vmrsched.ports.store import Store

log = structlog.get_logger(__name__)

PATH: Final = "/policy/v1/service/configuration"
#: Infinity gives up after 5 s; answer well within it.
BUDGET: Final = timedelta(seconds=4)
_REALM: Final = 'Basic realm="vmrsched policy", charset="UTF-8"'


@dataclass(frozen=True)
class AliasNamespace:
    """The aliases vmrsched hands out: ``prefix`` + digits (+ ``@domain``), and numeric ones."""

    alias: re.Pattern[str]
    numeric: re.Pattern[str] | None

    @classmethod
    def of(cls, alias_format: AliasFormat) -> AliasNamespace:
        """The namespace of ``alias_format`` (numeric aliases only with a numeric prefix, so a
        bare number never shadows Infinity's own numeric aliases)."""
        digits = rf"[0-9]{{{alias_format.suffix_length}}}"
        alias = re.escape(alias_format.prefix.casefold()) + digits
        if alias_format.domain:
            alias += "@" + re.escape(alias_format.domain.casefold())
        numeric = None
        if alias_format.numeric_prefix:
            numeric = re.compile(re.escape(alias_format.numeric_prefix) + digits)
        return cls(re.compile(alias), numeric)

    def holds(self, candidate: str) -> bool:
        """True when ``candidate`` (normalised by `dialled_aliases`) is one of ours."""
        if self.alias.fullmatch(candidate):
            return True
        return self.numeric is not None and self.numeric.fullmatch(candidate) is not None


def answer_for(
    store: Store, namespace: AliasNamespace, local_alias: str, now: datetime
) -> dict[str, Any]:
    """Infinity's answer for ``local_alias`` at ``now`` (blocking: reads the store)."""
    for candidate in dialled_aliases(local_alias):
        booking = store.live_booking_for_alias(candidate, now)
        if booking is not None:
            return service_configuration(local_alias, booking, now)
        if namespace.holds(candidate):
            return service_configuration(local_alias, None, now, reserved=True)
    return service_configuration(local_alias, None, now)


def authorized(request: web.Request, video: VideoSettings) -> bool:
    """Whether the request carries the credentials ``[video] policy_auth`` asks for."""
    if video.policy_auth is PolicyAuth.NONE:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or video.policy_password is None:
        return False
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if not sep:
        return False
    secret_ok = hmac.compare_digest(password.encode(), video.policy_password.reveal().encode())
    if video.policy_auth is PolicyAuth.SHARED_SECRET:
        return secret_ok
    user_ok = hmac.compare_digest(user.encode(), video.policy_username.encode())
    return secret_ok and user_ok


def unauthorized() -> web.Response:
    """401 with the challenge Infinity answers with its configured credentials."""
    return web.json_response(
        {"status": "error", "reason": "authentication required"},
        status=401,
        headers={"WWW-Authenticate": _REALM},
    )


async def lookup(
    store: Store,
    namespace: AliasNamespace,
    local_alias: str,
    now: datetime,
    *,
    budget: timedelta = BUDGET,
) -> dict[str, Any]:
    """`answer_for` off the event loop, within ``budget``; ``continue`` when it fails."""
    try:
        return await asyncio.wait_for(
            in_thread(lambda: answer_for(store, namespace, local_alias, now), name="policy"),
            budget.total_seconds(),
        )
    except TimeoutError:
        log.warning("policy_timeout", local_alias=local_alias, budget=str(budget))
    except StoreError as exc:
        log.warning("policy_store_error", local_alias=local_alias, error=str(exc))
    return service_configuration(local_alias, None, now)
