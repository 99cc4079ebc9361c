"""The configuration's shape: sections as frozen dataclasses, secrets as `Secret`.

The dataclasses are the schema: the loader reads each field's type to convert file and
environment values, and a test checks that every field is documented in
docs/reference/configuration.md. Defaults live here and nowhere else.
"""

import dataclasses
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.scheduling_policy import MissingToken, SchedulingPolicy
from vmrsched.domain.templates import TemplateSet
from vmrsched.domain.tokens import TokenKey


class Secret:
    """A secret value: ``str()`` and ``repr()`` never show it; ``reveal()`` does, on purpose."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return secrets.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: where, what, and how to fix it."""

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f"\n    fix: {self.fix}" if self.fix else "")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[ConfigProblem], source: str = "the configuration") -> None:
        self.problems = tuple(problems)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = [f"{source} has {count}:"] + [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


class ExchangeApi(StrEnum):
    """How vmrsched talks to Exchange."""

    EWS = "ews"
    GRAPH = "graph"


class VideoProvider(StrEnum):
    """The video platform that hosts the VMRs."""

    PEXIP = "pexip"


class PolicyAuth(StrEnum):
    """How the video platform authenticates its policy requests to vmrsched."""

    NONE = "none"
    BASIC = "basic"  # user name and password
    SHARED_SECRET = "shared_secret"  # noqa: S105 - a mode name: the password alone, any user


@dataclass(frozen=True, kw_only=True)
class ExchangeSettings:
    """``[exchange]``: where Exchange is and how the app signs in."""

    api: ExchangeApi = ExchangeApi.EWS
    ews_url: str = "https://outlook.office365.com/EWS/Exchange.asmx"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    token_endpoint: str
    client_id: str
    client_secret: Secret
    client_secret_expires: date | None = None
    resource_mailbox: str
    ca_bundle: Path | None = None
    token_scope: str = ""

    @property
    def ews_scope(self) -> str:
        """The token scope for EWS, from ``ews_url``'s host (Exchange Online or on-premises)."""
        return _scope_for(self.ews_url, "outlook.office365.com")

    @property
    def graph_scope(self) -> str:
        """The token scope for Microsoft Graph, from ``graph_url``'s host."""
        return _scope_for(self.graph_url, "graph.microsoft.com")

    @property
    def scope(self) -> str:
        """The scope vmrsched asks for: ``token_scope`` when set, else the one ``api`` needs."""
        if self.token_scope:
            return self.token_scope
        return self.ews_scope if self.api is ExchangeApi.EWS else self.graph_scope


def _scope_for(url: str, default_host: str) -> str:
    host = (urlsplit(url).hostname or default_host).lower()
    return f"https://{host}/.default"


@dataclass(frozen=True, kw_only=True)
class AliasSettings:
    """``[aliases]``: how VMR aliases look."""

    prefix: str = "81"
    numeric_prefix: str = ""  # when absent from the file: the prefix if it is all digits
    domain: str = ""
    suffix_length: int = 6


@dataclass(frozen=True, kw_only=True)
class MeetingSettings:
    """``[meetings]``: the processing rules."""

    buffer_before_minutes: int = 30
    buffer_after_minutes: int = 60
    missing_token: MissingToken = MissingToken.REJECT
    allowed_organizer_domains: tuple[str, ...] = ()
    series_horizon_days: int = 365
    self_heal: bool = True


@dataclass(frozen=True, kw_only=True)
class ReservationSettings:
    """``[reservations]``: unused reservations expire."""

    ttl_days: int = 30


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """``[database]``: where vmrsched keeps its state."""

    url: str = "sqlite:///vmrsched.sqlite"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for logs and ``check-config``."""
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1****@", self.url)


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    """``[web]``: the HTTP server (add-in API, policy API, health)."""

    listen: str = "127.0.0.1:8080"
    public_url: str = ""

    @property
    def addin_server_domain(self) -> str:
        """The public host name (Pexip's ``addin_server_domain`` template variable)."""
        return (urlsplit(self.public_url).hostname or "") if self.public_url else ""


@dataclass(frozen=True, kw_only=True)
class VideoSettings:
    """``[video]``: the video platform and its policy requests."""

    provider: VideoProvider = VideoProvider.PEXIP
    join_url: str = ""
    policy_auth: PolicyAuth = PolicyAuth.NONE
    policy_username: str = ""
    policy_password: Secret | None = None


#: Where Outlook on the web and new Outlook frame add-ins (Microsoft 365): its hosts, old and new
#: (outlook.cloud.microsoft since 2024; other projects had to add it, e.g. EratoLab/erato#776),
#: and Microsoft 365's domains for intermediate frames. Add your Outlook on the web host for
#: Exchange Server.
OUTLOOK_FRAME_ANCESTORS: Final = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.cloud.microsoft",
    "https://*.office.com",
    "https://*.office365.com",
    "https://*.cloud.microsoft",
    "https://*.officeapps.live.com",
)


@dataclass(frozen=True, kw_only=True)
class AddinSettings:
    """``[addin]``: the Outlook add-in: manifest, labels, sign-in and its API's limits."""

    client_id: str = ""
    api_client_id: str = ""
    api_id_uri: str = ""
    scope: str = "access_as_user"
    tenant_id: str = ""
    authority_url: str = "https://login.microsoftonline.com"
    manifest_id: str = ""
    version: str = "1.0.0.0"
    provider_name: str = "vmrsched"
    display_name: str = "VMR Scheduling"
    description: str = "Gives an Outlook meeting its own video meeting room."
    button_label: str = "Add a VMR"
    taskpane_label: str = "VMR options"
    group_label: str = "Video meeting"
    pane_title: str = "Video meeting room"
    support_url: str = ""
    icon_url: str = ""
    frame_ancestors: tuple[str, ...] = OUTLOOK_FRAME_ANCESTORS
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 10
    exchange_metadata_urls: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """``[service]``: the running service."""

    poll_interval_seconds: int = 60
    installation_key_file: Path = Path("vmrsched.key")


SECTIONS: Final[dict[str, type]] = {
    "exchange": ExchangeSettings,
    "aliases": AliasSettings,
    "meetings": MeetingSettings,
    "reservations": ReservationSettings,
    "database": DatabaseSettings,
    "web": WebSettings,
    "video": VideoSettings,
    "service": ServiceSettings,
    "addin": AddinSettings,
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The whole, checked configuration."""

    exchange: ExchangeSettings
    aliases: AliasSettings = field(default_factory=AliasSettings)
    meetings: MeetingSettings = field(default_factory=MeetingSettings)
    reservations: ReservationSettings = field(default_factory=ReservationSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    web: WebSettings = field(default_factory=WebSettings)
    video: VideoSettings = field(default_factory=VideoSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    addin: AddinSettings = field(default_factory=AddinSettings)
    templates: TemplateSet
    overridden_templates: tuple[str, ...] = ()

    def alias_format(self) -> AliasFormat:
        """How new aliases look."""
        a = self.aliases
        return AliasFormat(a.prefix, a.suffix_length, a.domain, a.numeric_prefix)

    def scheduling_policy(self, key: TokenKey) -> SchedulingPolicy:
        """The planner's rules, signed with the installation ``key``."""
        m = self.meetings
        return SchedulingPolicy(
            token_key=key,
            buffer_before=timedelta(minutes=m.buffer_before_minutes),
            buffer_after=timedelta(minutes=m.buffer_after_minutes),
            missing_token=m.missing_token,
            allowed_organizer_domains=frozenset(m.allowed_organizer_domains),
            series_horizon=timedelta(days=m.series_horizon_days),
            self_heal=m.self_heal,
            join_url_format=self.video.join_url,
            addin_server_domain=self.web.addin_server_domain,
        )

    @property
    def reservation_ttl(self) -> timedelta:
        """How long an unused reservation lives."""
        return timedelta(days=self.reservations.ttl_days)

    def display(self) -> dict[str, dict[str, str]]:
        """Every setting as text, secrets hidden (for ``vmrsched check-config``)."""
        shown: dict[str, dict[str, str]] = {}
        for name in SECTIONS:
            section = getattr(self, name)
            values = {
                f.name: _display(getattr(section, f.name)) for f in dataclasses.fields(section)
            }
            shown[name] = values
        shown["database"]["url"] = self.database.display_url
        shown["exchange"]["scope (derived)"] = self.exchange.scope
        shown["templates"] = {"overridden": ", ".join(self.overridden_templates) or "(none)"}
        return shown


def _display(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)
