"""Checks of converted settings: each adds a `ConfigProblem` (where, what, the fix) to ``out``.

They run on the plain values before the dataclasses are built, so every problem of every section
is found in one pass. A message may quote a URL or a domain, never a secret or the database URL.
"""

import re
import unicodedata
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from vmrsched.config.settings import (
    AliasSettings,
    ConfigProblem,
    DatabaseSettings,
    PolicyAuth,
    ServiceSettings,
    WebSettings,
)
from vmrsched.domain.aliases import is_domain
from vmrsched.domain.instructions import join_url_problem

ENV_PREFIX: Final = "VMRSCHED_"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ENTRA_APP = "Entra admin center → App registrations → your app"
#: Control characters, surrogates, private-use and unassigned code points (U+FFFE...): no label
#: or URL needs one, and XML (the add-in's manifest) cannot hold most of them.
_UNPRINTABLE: Final = frozenset({"Cc", "Cs", "Co", "Cn"})


def _unprintable(text: str) -> str | None:
    """The first character of ``text`` no label may hold, as ``U+XXXX``; None when none."""
    for char in text:
        if unicodedata.category(char) in _UNPRINTABLE:
            return f"U+{ord(char):04X}"
    return None


def env_hint(path: str) -> str:
    """The environment variable that sets ``section.key``."""
    return ENV_PREFIX + path.upper().replace(".", "__")


def _url_problem(url: str) -> str | None:
    if any(char.isspace() for char in url) or _unprintable(url):
        return "contains a space or a control character"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an https:// URL"
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return "must use https:// (plain http is allowed only for localhost)"
    return None


def _check_url(values: dict[str, Any], key: str, section: str, out: list[ConfigProblem]) -> None:
    url = values.get(key)
    if isinstance(url, str) and url and (problem := _url_problem(url)) is not None:
        out.append(ConfigProblem(f"{section}.{key}", f"{url!r} {problem}"))


def _check_range(
    values: dict[str, Any], key: str, section: str, *, low: int, high: int, out: list[ConfigProblem]
) -> None:
    number = values.get(key)
    if isinstance(number, int) and not low <= number <= high:
        out.append(ConfigProblem(f"{section}.{key}", f"{number} is outside {low}..{high}"))


def _check_token_endpoint(url: str, out: list[ConfigProblem]) -> None:
    path = "exchange.token_endpoint"
    fix = (
        f"copy 'OAuth 2.0 token endpoint (v2)' from {_ENTRA_APP} → Endpoints; "
        "it looks like https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token"
    )
    if (problem := _url_problem(url)) is not None:
        out.append(ConfigProblem(path, f"{url!r} {problem}", fix))
        return
    url_path = urlsplit(url).path.rstrip("/")
    v2 = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", url_path)
    if re.fullmatch(r"/[^/]+/oauth2/token", url_path):
        out.append(ConfigProblem(path, "this is the v1 token endpoint; vmrsched needs v2", fix))
    elif v2 is None:
        out.append(ConfigProblem(path, f"{url!r} is not an OAuth 2.0 token endpoint", fix))
    elif v2.group(1).lower() in ("common", "organizations", "consumers"):
        out.append(
            ConfigProblem(
                path,
                f"{v2.group(1)!r} is not a tenant: app-only sign-in needs your tenant's endpoint",
                fix,
            )
        )


def check_exchange(v: dict[str, Any], out: list[ConfigProblem]) -> None:
    if isinstance(v.get("token_endpoint"), str):
        _check_token_endpoint(v["token_endpoint"], out)
    for key in ("ews_url", "graph_url"):
        _check_url(v, key, "exchange", out)
    ews = v.get("ews_url", "")
    if ews and not urlsplit(ews).path.lower().rstrip("/").endswith("/ews/exchange.asmx"):
        out.append(
            ConfigProblem(
                "exchange.ews_url",
                f"{ews!r} is not an EWS endpoint",
                "EWS URLs end in /EWS/Exchange.asmx, "
                "e.g. https://outlook.office365.com/EWS/Exchange.asmx",
            )
        )
    if "client_id" in v and not re.fullmatch(r"\S+", v["client_id"]):
        fix = f"copy 'Application (client) ID' from {_ENTRA_APP} → Overview"
        out.append(ConfigProblem("exchange.client_id", "is empty or contains spaces", fix))
    if "client_secret" in v and not v["client_secret"]:
        out.append(ConfigProblem("exchange.client_secret", "is empty"))
    mailbox = v.get("resource_mailbox")
    if isinstance(mailbox, str) and not _EMAIL.fullmatch(mailbox):
        out.append(
            ConfigProblem("exchange.resource_mailbox", f"{mailbox!r} is not an e-mail address")
        )
    ca_bundle = v.get("ca_bundle")
    if isinstance(ca_bundle, Path) and not ca_bundle.is_file():
        out.append(ConfigProblem("exchange.ca_bundle", f"no file at {ca_bundle}"))
    scope = v.get("token_scope", "")
    if scope and not scope.endswith("/.default"):
        fix = "leave it unset to derive it from the URL, or end it with /.default"
        out.append(ConfigProblem("exchange.token_scope", f"{scope!r} is not a .default scope", fix))


def check_aliases(v: dict[str, Any], out: list[ConfigProblem]) -> None:
    prefix = v.get("prefix", AliasSettings.prefix)
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,8}", prefix):
        out.append(ConfigProblem("aliases.prefix", "must be 1-8 letters, digits, '.', '_' or '-'"))
    if "numeric_prefix" not in v:
        v["numeric_prefix"] = prefix if prefix.isdigit() else ""
    elif not re.fullmatch(r"[0-9]{0,8}", v["numeric_prefix"]):
        out.append(ConfigProblem("aliases.numeric_prefix", "must be 0-8 digits"))
    domain = v.get("domain", "")
    if domain and not is_domain(domain):
        out.append(ConfigProblem("aliases.domain", f"{domain!r} is not a domain name"))
    _check_range(v, "suffix_length", "aliases", low=5, high=15, out=out)


def check_meetings(v: dict[str, Any], out: list[ConfigProblem]) -> None:
    for key in ("buffer_before_minutes", "buffer_after_minutes"):
        _check_range(v, key, "meetings", low=0, high=180, out=out)
    _check_range(v, "series_horizon_days", "meetings", low=1, high=3650, out=out)
    domains = v.get("allowed_organizer_domains", ())
    out.extend(
        ConfigProblem(
            "meetings.allowed_organizer_domains",
            f"{domain!r} is not a domain name",
            'list domains like "contoso.com", without "@"',
        )
        for domain in domains
        if not is_domain(domain.strip().lstrip("@"))
    )
    v["allowed_organizer_domains"] = tuple(d.strip().lstrip("@").lower() for d in domains)


def check_database(v: dict[str, Any], out: list[ConfigProblem], base: Path) -> None:
    url = v.get("url", DatabaseSettings.url)
    if not re.match(r"(sqlite|postgresql)(\+\w+)?://", url):
        out.append(
            ConfigProblem(
                "database.url",
                "is not a SQLite or PostgreSQL URL",  # not quoted: it may hold a password
                "use sqlite:///path/to/vmrsched.sqlite or postgresql+psycopg://user@host/db",
            )
        )
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            v["url"] = f"sqlite:///{base / relative}"


def check_web(v: dict[str, Any], out: list[ConfigProblem]) -> None:
    listen = v.get("listen", WebSettings.listen)
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):(\d{1,5})", listen)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        fix = 'write host:port, e.g. "127.0.0.1:8080" or "[::]:8443"'
        out.append(ConfigProblem("web.listen", f"{listen!r} is not host:port", fix))
    _check_url(v, "public_url", "web", out)


def check_video(v: dict[str, Any], out: list[ConfigProblem]) -> None:
    join_url = v.get("join_url", "")
    if join_url and (problem := join_url_problem(join_url)) is not None:
        fix = 'e.g. "https://meet.example.com/webapp/m/{alias}"'
        out.append(ConfigProblem("video.join_url", problem, fix))
    auth = v.get("policy_auth", PolicyAuth.NONE)
    if auth is PolicyAuth.BASIC and not v.get("policy_username"):
        out.append(ConfigProblem("video.policy_username", "basic policy auth needs a user name"))
    if auth is not PolicyAuth.NONE and not v.get("policy_password"):
        fix = f"set it in the environment: {env_hint('video.policy_password')}"
        out.append(ConfigProblem("video.policy_password", f"{auth} policy auth needs it", fix))
    password = v.get("policy_password")
    if auth is PolicyAuth.SHARED_SECRET and password and len(password.reveal()) < 16:
        fix = "use at least 16 random characters, e.g. from `openssl rand -hex 16`"
        out.append(ConfigProblem("video.policy_password", "is too short for a shared secret", fix))


def check_service(v: dict[str, Any], out: list[ConfigProblem], base: Path) -> None:
    _check_range(v, "poll_interval_seconds", "service", low=5, high=3600, out=out)
    key_file = v.setdefault("installation_key_file", base / ServiceSettings.installation_key_file)
    if key_file.exists() and not key_file.is_file():
        out.append(ConfigProblem("service.installation_key_file", f"{key_file} is not a file"))
    elif not key_file.exists() and not key_file.parent.is_dir():
        fix = "create the folder, or point the setting at an existing one"
        problem = f"its folder {key_file.parent} does not exist"
        out.append(ConfigProblem("service.installation_key_file", problem, fix))


_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
#: The manifest's VersionNumber: up to four dot-separated numbers of up to five digits.
_VERSION = re.compile(r"\d{1,5}(\.\d{1,5}){0,3}")
#: The manifest's ShortString (names, labels) and LongString (description) limits.
_SHORT, _LONG = 125, 250


def _tenant_of(endpoint: object) -> str:
    """The tenant GUID in a v2 token endpoint URL, or ''."""
    if not isinstance(endpoint, str):
        return ""
    match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", urlsplit(endpoint).path.rstrip("/"))
    return match.group(1).lower() if match and _GUID.fullmatch(match.group(1)) else ""


def check_addin(v: dict[str, Any], exchange: dict[str, Any], out: list[ConfigProblem]) -> None:
    """``[addin]``; fills in the API's client id, its Application ID URI and the tenant."""
    fix = f"copy 'Application (client) ID' from {_ENTRA_APP} → Overview"
    for key in ("client_id", "api_client_id", "manifest_id", "tenant_id"):
        value = v.get(key, "")
        if value and not _GUID.fullmatch(value):
            out.append(ConfigProblem(f"addin.{key}", f"{value!r} is not a GUID", fix))
    v.setdefault("api_client_id", v.get("client_id", ""))
    if v["api_client_id"] and not v.get("api_id_uri"):
        v["api_id_uri"] = f"api://{v['api_client_id']}"
    uri = v.get("api_id_uri", "")
    if uri and (not re.fullmatch(r"(api|https)://\S+", uri) or uri.endswith("/")):
        hint = "copy 'Application ID URI' from the API app → Expose an API (api://...)"
        out.append(ConfigProblem("addin.api_id_uri", f"{uri!r} is not an Application ID URI", hint))
    if not v.get("tenant_id"):
        v["tenant_id"] = _tenant_of(exchange.get("token_endpoint"))
    # A missing [web] public_url is no error here: the API works without it (a benchmark serves no
    # pages); `vmrsched addin-manifest` and /addin/manifest.xml say what is missing.
    if v.get("client_id") and not v["tenant_id"]:
        hint = "set [addin] tenant_id to your Directory (tenant) ID"
        out.append(ConfigProblem("addin.tenant_id", "is needed to check users' tokens", hint))
    if not re.fullmatch(r"[a-z][a-z0-9_.-]{0,39}", v.get("scope", "access_as_user")):
        out.append(ConfigProblem("addin.scope", "is not a scope name such as access_as_user"))
    for key in ("authority_url", "support_url", "icon_url"):
        _check_url(v, key, "addin", out)
    version = v.get("version", "1.0.0.0")
    if not _VERSION.fullmatch(version):
        out.append(ConfigProblem("addin.version", f"{version!r} is not like 1.0.0.0"))
    for key in ("provider_name", "display_name", "button_label", "taskpane_label"):
        _check_text(v, key, _SHORT, out)
    for key in ("group_label", "pane_title"):
        _check_text(v, key, _SHORT, out)
    _check_text(v, "description", _LONG, out)
    for key in ("frame_ancestors", "cors_origins"):
        for origin in v.get(key, ()):
            if origin != "'self'" and not re.fullmatch(r"https://[A-Za-z0-9*.:-]+", origin):
                problem = f"{origin!r} is not an origin like https://outlook.office.com"
                out.append(ConfigProblem(f"addin.{key}", problem))
            elif key == "cors_origins" and ("*" in origin or origin == "'self'"):
                # The API compares the Origin header with each entry exactly: a pattern would
                # silently never match.
                problem = f"{origin!r}: CORS origins are matched exactly, list each one"
                out.append(ConfigProblem(f"addin.{key}", problem))
    _check_range(v, "rate_limit_per_minute", "addin", low=1, high=600, out=out)
    for url in v.get("exchange_metadata_urls", ()):
        if not _metadata_url(url):
            fix = "list it as https://mail.contoso.com/autodiscover/metadata/json/1"
            problem = (
                f"{url!r} is not the https URL of an Exchange authentication metadata document"
            )
            out.append(ConfigProblem("addin.exchange_metadata_urls", problem, fix))


def _metadata_url(url: object) -> bool:
    """An absolute https URL (http only on the loopback host, for tests and trials)."""
    if not isinstance(url, str) or _unprintable(url):
        return False
    parts = urlsplit(url)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme, loopback) == ("http", True)
    )


def _check_text(v: dict[str, Any], key: str, limit: int, out: list[ConfigProblem]) -> None:
    text = v.get(key)
    if isinstance(text, str) and not 1 <= len(text.strip()) <= limit:
        out.append(ConfigProblem(f"addin.{key}", f"must be 1-{limit} characters"))
    elif isinstance(text, str) and (char := _unprintable(text)):
        out.append(ConfigProblem(f"addin.{key}", f"contains the control character {char}"))
