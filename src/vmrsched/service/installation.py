"""One resource mailbox, one installation.

An equipment resource must serve exactly one integration: two installations watching the same
mailbox would both answer every meeting request (Pexip's guide: separate resources for test and
production). vmrsched therefore keeps an installation marker in the resource mailbox
(`Mailbox.read_marker`/`write_marker`): its installation id (the installation key's public
fingerprint) and a heartbeat that `run` refreshes every `HEARTBEAT_EVERY`. The EWS and Graph
adapters keep it in the same place, so the rules below hold across protocols.

A marker whose heartbeat is younger than `LIVE_FOR` belongs to a live installation. `claim`
refuses a mailbox that another live installation holds (`InstallationConflictError`, with the
fix) unless the admin says ``--take-over``; a stale marker of another installation is taken over
with a warning (that installation stopped long ago). `judge` is the same decision without side
effects, for ``vmrsched doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import structlog

from vmrsched.ports.mailbox import InstallationMarker

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.ports.mailbox import Mailbox
    from vmrsched.service.clock import Clock

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY: Final = timedelta(minutes=5)
#: Three missed heartbeats: the other installation is taken to be gone.
LIVE_FOR: Final = timedelta(minutes=15)
#: How a marker's ``api`` reads in messages (the marker is the same for both protocols).
API_NAMES: Final = {"ews": "EWS", "graph": "Microsoft Graph"}


class Holder(StrEnum):
    """Who holds the resource mailbox, as the marker says."""

    NOBODY = "nobody"
    US = "us"
    OTHER_LIVE = "other-live"
    OTHER_STALE = "other-stale"


@dataclass(frozen=True)
class Holding:
    """The marker found and what it means for installation ``ours``."""

    holder: Holder
    marker: InstallationMarker | None

    def describe(self, now: datetime) -> str:
        """The marker in plain words."""
        if self.marker is None:
            return "no installation has claimed this resource mailbox yet"
        age = max(now - self.marker.heartbeat, timedelta(0))
        minutes = int(age.total_seconds() // 60)
        where = f" on {self.marker.host}" if self.marker.host else ""
        via = f" over {API_NAMES[self.marker.api]}" if self.marker.api in API_NAMES else ""
        return (
            f"installation {self.marker.installation_id}{where}{via}, last heartbeat "
            f"{self.marker.heartbeat.isoformat(timespec='seconds')} ({minutes} min ago)"
        )


class InstallationConflictError(Exception):
    """Another live installation serves this resource mailbox; ``fix`` says what to do."""

    def __init__(self, message: str, *, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def judge(marker: InstallationMarker | None, ours: str, now: datetime) -> Holding:
    """Whose mailbox it is at ``now``, by the marker (pure)."""
    if marker is None:
        return Holding(Holder.NOBODY, None)
    if marker.installation_id == ours:
        return Holding(Holder.US, marker)
    if now - marker.heartbeat < LIVE_FOR:
        return Holding(Holder.OTHER_LIVE, marker)
    return Holding(Holder.OTHER_STALE, marker)


def conflict_fix(address: str) -> str:
    """What to do when another installation holds ``address``."""
    return (
        f"use a resource mailbox of its own for each installation (e.g. one for test, one for "
        f"production), or stop the other installation and start this one with "
        f"'vmrsched run --take-over' to move {address} to it deliberately"
    )


def claim(
    mailbox: Mailbox, ours: str, host: str, clock: Clock, *, take_over: bool = False
) -> Holding:
    """Check the marker and write ours; raise `InstallationConflictError` when another live
    installation holds the mailbox and ``take_over`` is false. Returns what was found."""
    now = clock().replace(microsecond=0)
    holding = judge(mailbox.read_marker(), ours, now)
    if holding.holder is Holder.OTHER_LIVE and not take_over:
        raise InstallationConflictError(
            f"{mailbox.address} is served by another vmrsched: {holding.describe(now)}; "
            "two installations on one resource would answer every meeting twice",
            fix=conflict_fix(mailbox.address),
        )
    if holding.holder in (Holder.OTHER_LIVE, Holder.OTHER_STALE):
        log.warning(
            "installation_taken_over",
            mailbox=mailbox.address,
            previous=holding.marker.installation_id if holding.marker else "",
            previous_host=holding.marker.host if holding.marker else "",
            deliberate=take_over,
        )
    mailbox.write_marker(InstallationMarker(ours, now, host))
    return holding


def heartbeat(mailbox: Mailbox, ours: str, host: str, clock: Clock) -> None:
    """Refresh our marker's heartbeat (a side task of `run`).

    When another installation has taken the mailbox over meanwhile (``--take-over`` there), this
    one must stop instead of writing its marker back: `InstallationConflictError` ends the
    side task, which stops the service loudly.
    """
    now = clock().replace(microsecond=0)
    holding = judge(mailbox.read_marker(), ours, now)
    if holding.holder is Holder.OTHER_LIVE:
        raise InstallationConflictError(
            f"{mailbox.address} was taken over by another vmrsched: {holding.describe(now)}",
            fix=conflict_fix(mailbox.address),
        )
    mailbox.write_marker(InstallationMarker(ours, now, host))
