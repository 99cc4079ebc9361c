"""The scheduling policy: the planner's rules as the configuration sets them. Pure.

`SchedulingPolicy` carries the token key, the buffers around each meeting, what to do with a
meeting that arrives without an alias token (`MissingToken`), which organizer domains may book,
how far ahead a series is planned, self-healing, and the join URL and add-in server the reply
texts name. `vmrsched.config` builds it; `vmrsched.domain.planner` reads it.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from vmrsched.domain.meetings import organizer_domain
from vmrsched.domain.tokens import TokenKey


class MissingToken(StrEnum):
    """What to do with a meeting that reaches us without an alias token."""

    REJECT = "reject"  # decline it (Pexip's behaviour)
    ALLOCATE = "allocate"  # book a VMR anyway and write the instructions into the meeting


@dataclass(frozen=True, kw_only=True)
class SchedulingPolicy:
    """The planner's rules, built from the configuration."""

    token_key: TokenKey
    buffer_before: timedelta = timedelta(minutes=30)
    buffer_after: timedelta = timedelta(minutes=60)
    missing_token: MissingToken = MissingToken.REJECT
    allowed_organizer_domains: frozenset[str] = field(default_factory=frozenset)  # empty: any
    series_horizon: timedelta = timedelta(days=365)
    self_heal: bool = True
    join_url_format: str = ""
    addin_server_domain: str = ""

    def organizer_allowed(self, email: str) -> bool:
        """True when ``email``'s domain may book (every domain when the list is empty)."""
        if not self.allowed_organizer_domains:
            return True
        return organizer_domain(email) in self.allowed_organizer_domains


__all__ = ["MissingToken", "SchedulingPolicy"]
