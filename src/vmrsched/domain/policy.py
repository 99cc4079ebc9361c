"""Pexip Infinity external policy: the answer to a service configuration request. Pure.

Infinity asks ``GET /policy/v1/service/configuration?local_alias=...`` when a call arrives and
takes a JSON answer ``{"status": "success", "action": ..., "result": {...}}``:

- a booked alias inside one of its windows gets a VMR (``service_type: conference``);
- a booked or reserved alias outside its windows is refused (``action: reject``);
- an alias we do not know passes through to Infinity's own configuration (``action: continue``).

Sources: https://docs.pexip.com/admin/external_policy_requests.htm and
https://docs.pexip.com/v11/admin/external_policy_responses.htm ("action" applies when "result"
holds no valid service configuration). Pexip's field names stay in this module and the web layer.
"""

import re
from datetime import datetime
from typing import Any

from vmrsched.domain.bookings import Booking
from vmrsched.domain.times import to_utc

_SCHEME = re.compile(r"^(?:sips?|h323|tel|mssip|rtmps?):", re.IGNORECASE)


def dialled_aliases(local_alias: str) -> tuple[str, ...]:
    """The forms under which a dialled alias may be booked, most specific first.

    ``sip:81042917@vmr.example.com;transport=tls`` → ``81042917@vmr.example.com``; a bare
    ``81042917`` (WebRTC, H.323, or the numeric alias) stays as it is. Lower-cased.
    """
    alias = local_alias.strip().strip("<>").strip()
    alias = _SCHEME.sub("", alias)
    alias = alias.split(";", 1)[0].split("?", 1)[0].strip().casefold()
    return (alias,) if alias else ()


def matches(booking: Booking, local_alias: str) -> bool:
    """True when the dialled alias is the booking's alias or numeric alias."""
    own = {booking.alias.casefold(), booking.numeric_alias.casefold()}
    return any(candidate in own for candidate in dialled_aliases(local_alias))


def _answer(action: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": "success", "action": action, "result": result or {}}


def service_configuration(
    local_alias: str,
    booking: Booking | None,
    now: datetime,
    *,
    reserved: bool = False,
) -> dict[str, Any]:
    """Infinity's answer for a call to ``local_alias`` at ``now``.

    ``booking`` is the booking the store found for the alias (None: none); ``reserved`` says the
    alias belongs to a reservation that no meeting has booked yet (refused, not passed through, so
    nobody can squat a reserved room).
    """
    if booking is None or not matches(booking, local_alias):
        return _answer("reject") if reserved else _answer("continue")
    open_window = booking.window_at(now)
    if open_window is None:
        return _answer("reject")
    until = to_utc(open_window.end)
    return _answer(
        "continue",
        {
            # One conference per booking: the alias is unique, so calls never merge meetings.
            "name": f"vmrsched {booking.alias}",
            "service_tag": f"vmrsched:{booking.booking_id}",
            "service_type": "conference",
            "description": f"Single-use VMR, open until {until:%Y-%m-%d %H:%M} UTC",
        },
    )
