"""VMR aliases: ``prefix`` + random digits (+ ``@domain``), and the numeric alias beside it.

Both share the same random digits: with prefix ``81`` and domain ``vmr.example.com`` a reservation
gets alias ``81042917@vmr.example.com`` and numeric alias ``81042917``. Uniqueness among live
reservations and bookings is the store's job (it refuses a duplicate and the caller draws again).
"""

import random
import re
from dataclasses import dataclass

_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,8}")
_NUMERIC_PREFIX = re.compile(r"[0-9]{0,8}")
# A DNS name: labels of letters, digits and inner hyphens, at least one dot.
_DOMAIN = re.compile(
    r"(?=.{1,192}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?"
)


@dataclass(frozen=True)
class AliasFormat:
    """How aliases look (Pexip's ``scheduled_alias_prefix``/``_domain``/``_suffix_length``)."""

    prefix: str
    suffix_length: int = 6
    domain: str = ""
    numeric_prefix: str = ""

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError("prefix must be 1-8 letters, digits, '.', '_' or '-'")
        if not _NUMERIC_PREFIX.fullmatch(self.numeric_prefix):
            raise ValueError("numeric prefix must be 0-8 digits")
        if not 5 <= self.suffix_length <= 15:
            raise ValueError("suffix length must be 5..15")
        if self.domain and not is_domain(self.domain):
            raise ValueError(f"{self.domain!r} is not a domain name")


def is_domain(text: str) -> bool:
    """True when ``text`` is a DNS name with at least two labels."""
    return _DOMAIN.fullmatch(text) is not None


def new_alias(alias_format: AliasFormat, rng: random.Random) -> tuple[str, str]:
    """A fresh (alias, numeric alias) pair drawn from ``rng``.

    Pass ``secrets.SystemRandom()`` in production (aliases must not be guessable) and a seeded
    ``random.Random`` in tests.
    """
    digits = "".join(str(rng.randrange(10)) for _ in range(alias_format.suffix_length))
    # Lower-cased throughout: the policy endpoint looks dialled aliases up case-folded
    # (`policy.dialled_aliases`), and SIP URIs compare their user part case-insensitively anyway.
    alias = alias_format.prefix.casefold() + digits
    if alias_format.domain:
        alias = f"{alias}@{alias_format.domain.lower()}"
    return alias, alias_format.numeric_prefix + digits
