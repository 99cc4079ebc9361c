"""Configuration: a TOML file plus the environment, checked with every problem reported at once.

Use `load_settings` to get `Settings` (or a `ConfigError` listing every problem with its fix) and
`ensure_installation_key` for the key that signs alias tokens. Every key is documented in
docs/reference/configuration.md; a test keeps the two in step.

No dependency does this: dataclasses carry the schema, the loader reads the types off them, and
plain checks say what to fix. That keeps the messages ours (pydantic's are about Python types,
not about where to find a v2 token endpoint) and adds nothing to install.
"""

from vmrsched.config.keys import ensure_installation_key, load_installation_key
from vmrsched.config.loading import compile_templates, load_settings, settings_from_mapping
from vmrsched.config.settings import (
    SECTIONS,
    AddinSettings,
    AliasSettings,
    ConfigError,
    ConfigProblem,
    DatabaseSettings,
    ExchangeApi,
    ExchangeSettings,
    MeetingSettings,
    PolicyAuth,
    ReservationSettings,
    Secret,
    ServiceSettings,
    Settings,
    VideoProvider,
    VideoSettings,
    WebSettings,
)

__all__ = [
    "SECTIONS",
    "AddinSettings",
    "AliasSettings",
    "ConfigError",
    "ConfigProblem",
    "DatabaseSettings",
    "ExchangeApi",
    "ExchangeSettings",
    "MeetingSettings",
    "PolicyAuth",
    "ReservationSettings",
    "Secret",
    "ServiceSettings",
    "Settings",
    "VideoProvider",
    "VideoSettings",
    "WebSettings",
    "compile_templates",
    "ensure_installation_key",
    "load_installation_key",
    "load_settings",
    "settings_from_mapping",
]
