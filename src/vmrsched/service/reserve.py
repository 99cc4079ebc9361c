"""Reservations: an alias, its numeric alias, a signed alias token and the joining instructions.

What the add-in asks for before Send (its HTTP face comes with the add-in, issue 6) and what
``vmrsched reserve`` prints. The store draws again until the alias is free among live reservations
and bookings; the token is signed with the installation key.
"""

import random
import re
import secrets
from dataclasses import dataclass

import structlog

from vmrsched.domain.instructions import render_instructions
from vmrsched.domain.reservations import Reservation, new_reservation
from vmrsched.domain.templates import Rendered
from vmrsched.domain.tokens import issue_token
from vmrsched.ports.store import Store
from vmrsched.service.clock import Clock
from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)

#: The longest address SMTP can carry (RFC 5321 4.5.3.1: a 256-octet path, less its brackets).
MAX_ADDRESS = 254
#: ``name@domain``: no spaces, and none of the characters of a display-name form or a URL
#: (``Alice <alice@contoso.com>``, ``mailto:``), which no Exchange address holds.
_EMAIL = re.compile(r'[^@\s<>()\[\],;:"\\]+@[^@\s<>()\[\],;:"\\]+\.[^@\s<>()\[\],;:"\\]+')


class ReservationRefusedError(ValueError):
    """The reservation cannot be made for this organizer; ``fix`` says what would work."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Offer:
    """A stored reservation with its token and rendered joining instructions."""

    reservation: Reservation
    token: str
    instructions: Rendered


def reserve(
    store: Store,
    rules: Rules,
    clock: Clock,
    organizer: str,
    *,
    rng: random.Random | None = None,
    organizer_claimed: bool = False,
) -> Offer:
    """Reserve a fresh alias for ``organizer`` and render its instructions.

    ``organizer_claimed``: the caller named ``organizer`` but its sign-in does not prove it (an
    Exchange identity token); the reservation is then honoured only for that organizer's meetings.
    """
    organizer = organizer.strip()
    # The add-in names the organizer itself with an Exchange identity token: its text is logged
    # and stored, so control and format characters (terminal escapes, NUL, bidi overrides,
    # zero-width spaces) are refused, not kept.
    # The length first: no address is longer (RFC 5321), and the pattern is slow on long text.
    if (
        len(organizer) > MAX_ADDRESS
        or not _EMAIL.fullmatch(organizer)
        or not organizer.isprintable()
    ):
        shown = organizer if len(organizer) <= 80 else f"{organizer[:80]}..."
        raise ReservationRefusedError(
            f"{shown!r} is not an e-mail address", fix="give the organizer's SMTP address"
        )
    if not rules.policy.organizer_allowed(organizer):
        allowed = ", ".join(sorted(rules.policy.allowed_organizer_domains))
        raise ReservationRefusedError(
            f"{organizer} is not in an allowed organizer domain ({allowed})",
            fix="add the domain to [meetings] allowed_organizer_domains, or use another organizer",
        )
    draw = rng if rng is not None else secrets.SystemRandom()
    now = clock()
    reservation = store.add_reservation(
        lambda: new_reservation(
            organizer=organizer,
            alias_format=rules.alias_format,
            rng=draw,
            now=now,
            ttl=rules.reservation_ttl,
            organizer_claimed=organizer_claimed,
        )
    )
    token = issue_token(rules.key, reservation.token_id, reservation.alias, reservation.created)
    instructions = render_instructions(
        rules.templates,
        reservation,
        rules.key,
        join_url_format=rules.policy.join_url_format,
        addin_server_domain=rules.policy.addin_server_domain,
    )
    log.info(
        "reservation_made",
        organizer=reservation.organizer,
        organizer_claimed=reservation.organizer_claimed,
        alias=reservation.alias,
        expires=reservation.expires.isoformat(),
    )
    return Offer(reservation=reservation, token=token, instructions=instructions)
