"""Reservations: what the add-in gets before Send (alias, numeric alias, alias token)."""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmrsched.domain.aliases import AliasFormat, new_alias
from vmrsched.domain.times import require_aware, to_utc


class ReservationState(StrEnum):
    """A reservation's life: live until a meeting uses it, or until it expires or is deleted."""

    LIVE = "live"
    USED = "used"
    EXPIRED = "expired"
    DELETED = "deleted"


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """An alias held for one organizer's meeting; ``meeting_key`` is set once a meeting uses it.

    ``created`` is whole seconds (it is the token's issue time). The signed token text is not
    stored: `vmrsched.domain.tokens.issue_token` rebuilds it from these fields and the key.

    ``organizer_claimed``: the organizer was named by the client, not proven by the sign-in (an
    Exchange identity token proves a user of the organization but carries no address). Such a
    reservation may only be taken by a meeting that this organizer organizes or sends (as a
    delegate); see `vmrsched.domain.planner`.
    """

    token_id: str
    alias: str
    numeric_alias: str
    organizer: str
    created: datetime
    expires: datetime
    state: ReservationState = ReservationState.LIVE
    meeting_key: str | None = None
    organizer_claimed: bool = False

    def __post_init__(self) -> None:
        require_aware(self.created, "created")
        require_aware(self.expires, "expires")
        uuid.UUID(self.token_id)  # raises ValueError on a malformed id

    def is_expired(self, now: datetime) -> bool:
        """True when the reservation can no longer be taken by a new meeting."""
        if self.state in (ReservationState.EXPIRED, ReservationState.DELETED):
            return True
        return self.state is ReservationState.LIVE and now >= self.expires

    def honoured_for(self, organizer_email: str, sender_email: str) -> bool:
        """Whether a meeting with this organizer and Sender may take the reservation.

        A proven organizer binds nothing: any meeting may take the token, as it always could. A
        claimed one must be the meeting's organizer or its Sender (a delegate sending on the
        organizer's behalf), compared without case and surrounding spaces.
        """
        if not self.organizer_claimed:
            return True
        claimed = _address(self.organizer)
        return bool(claimed) and claimed in (_address(organizer_email), _address(sender_email))


def _address(email: str) -> str:
    return email.strip().casefold()


def new_token_id(rng: random.Random) -> str:
    """A fresh random 128-bit token id, written as a UUID (Pexip's ``alias_uuid``)."""
    return str(uuid.UUID(int=rng.getrandbits(128)))


def new_reservation(
    *,
    organizer: str,
    alias_format: AliasFormat,
    rng: random.Random,
    now: datetime,
    ttl: timedelta,
    organizer_claimed: bool = False,
) -> Reservation:
    """A live reservation with a fresh alias and token id (the store checks alias uniqueness).

    ``organizer_claimed``: True when the client named ``organizer`` without proving it.
    """
    created = to_utc(now).replace(microsecond=0)
    alias, numeric_alias = new_alias(alias_format, rng)
    return Reservation(
        token_id=new_token_id(rng),
        alias=alias,
        numeric_alias=numeric_alias,
        organizer=organizer.strip().lower(),
        created=created,
        expires=created + ttl,
        organizer_claimed=organizer_claimed,
    )
