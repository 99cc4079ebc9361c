"""`Rules`: everything a pass needs to decide and to write what it decided."""

from dataclasses import dataclass
from datetime import timedelta

from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.scheduling_policy import SchedulingPolicy
from vmrsched.domain.templates import TemplateSet
from vmrsched.domain.tokens import TokenKey


@dataclass(frozen=True, kw_only=True)
class Rules:
    """The planner's policy (which holds the installation key), the templates, the alias format
    and the lifetime of reservations drawn for the placeholder and allocate flows."""

    policy: SchedulingPolicy
    templates: TemplateSet
    alias_format: AliasFormat
    reservation_ttl: timedelta = timedelta(days=30)

    @property
    def key(self) -> TokenKey:
        """The installation key that signs alias tokens."""
        return self.policy.token_key
