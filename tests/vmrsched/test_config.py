"""Configuration: file + environment, every problem at once, secrets never shown, all documented."""

from __future__ import annotations

import dataclasses
import re
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest

from vmrsched.config import (
    SECTIONS,
    ConfigError,
    ExchangeApi,
    PolicyAuth,
    Secret,
    ensure_installation_key,
    load_installation_key,
    load_settings,
    settings_from_mapping,
)
from vmrsched.domain.scheduling_policy import MissingToken
from vmrsched.domain.templates import TEMPLATE_VARIABLES, TemplateName

REPO = Path(__file__).resolve().parents[2]
SECRET = "Zq8~very-secret-value-0xC0FFEE"
V2 = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token"
MINIMAL = f"""
[exchange]
token_endpoint = "{V2}"
client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
resource_mailbox = "vmr@contoso.com"
"""
ENV = {"VMRSCHED_EXCHANGE__CLIENT_SECRET": SECRET}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vmrsched.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(error: pytest.ExceptionInfo[ConfigError]) -> dict[str, str]:
    return {problem.path: f"{problem.message} | {problem.fix}" for problem in error.value.problems}


def test_a_minimal_file_loads_with_documented_defaults(tmp_path: Path) -> None:
    """Three exchange keys and the secret from the environment are enough."""
    settings = load_settings(write(tmp_path, MINIMAL), environ=ENV)
    assert settings.exchange.api is ExchangeApi.EWS
    assert settings.exchange.client_secret.reveal() == SECRET
    assert settings.meetings.buffer_before_minutes == 30
    assert settings.meetings.buffer_after_minutes == 60
    assert settings.meetings.missing_token is MissingToken.REJECT
    assert settings.meetings.self_heal is True
    assert settings.meetings.series_horizon_days == 365
    assert settings.reservations.ttl_days == 30
    assert settings.aliases.suffix_length == 6
    assert settings.service.poll_interval_seconds == 60
    assert settings.service.installation_key_file == tmp_path / "vmrsched.key"
    assert settings.database.url == f"sqlite:///{tmp_path / 'vmrsched.sqlite'}"
    assert settings.overridden_templates == ()


def test_the_environment_wins_and_is_converted(tmp_path: Path) -> None:
    """VMRSCHED_<SECTION>__<KEY> overrides the file; numbers, booleans and lists are parsed."""
    path = write(tmp_path, MINIMAL + "\n[meetings]\nbuffer_after_minutes = 15\n")
    settings = load_settings(
        path,
        environ=ENV
        | {
            "VMRSCHED_MEETINGS__BUFFER_AFTER_MINUTES": "45",
            "VMRSCHED_MEETINGS__SELF_HEAL": "false",
            "VMRSCHED_MEETINGS__ALLOWED_ORGANIZER_DOMAINS": "Contoso.com, @fabrikam.com",
            "VMRSCHED_MEETINGS__MISSING_TOKEN": "ALLOCATE",
            "VMRSCHED_EXCHANGE__CLIENT_SECRET_EXPIRES": "2027-03-31",
            "VMRSCHED_REQUIRE_POSTGRES": "1",  # no double underscore: not configuration
        },
    )
    assert settings.meetings.buffer_after_minutes == 45
    assert settings.meetings.self_heal is False
    assert settings.meetings.allowed_organizer_domains == ("contoso.com", "fabrikam.com")
    assert settings.meetings.missing_token is MissingToken.ALLOCATE
    assert settings.exchange.client_secret_expires == date(2027, 3, 31)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """One load lists every wrong value, unknown key and missing key, each with its path."""
    path = write(
        tmp_path,
        """
[exchange]
token_endpoint = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token"
resource_mailbox = "not-an-address"
ews_url = "http://mail.contoso.com/EWS/Exchange.asmx"

[aliases]
prefix = "much-too-long"
suffix_length = 4

[meetings]
buffer_before_minutes = 240
missing_token = "maybe"
allowed_organizer_domains = ["@@nope"]
self_heal = "yes"

[web]
listen = "8080"

[video]
policy_auth = "basic"
join_url = "https://meet.contoso.com/{room}"

[servcie]
poll_interval_seconds = 2
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    found = problems_of(caught)
    assert set(found) == {
        "exchange.client_id",
        "exchange.client_secret",
        "exchange.token_endpoint",
        "exchange.resource_mailbox",
        "exchange.ews_url",
        "aliases.prefix",
        "aliases.suffix_length",
        "meetings.buffer_before_minutes",
        "meetings.missing_token",
        "meetings.allowed_organizer_domains",
        "meetings.self_heal",
        "web.listen",
        "video.policy_username",
        "video.policy_password",
        "video.join_url",
        "servcie",
    }
    assert "VMRSCHED_EXCHANGE__CLIENT_SECRET" in found["exchange.client_secret"]
    assert '"reject", "allocate"' in found["meetings.missing_token"]
    assert "did you mean 'service'" in found["servcie"]
    assert str(caught.value).startswith(f"{path} has 16 problems:")


def test_the_v1_token_endpoint_is_refused_with_where_to_find_v2(tmp_path: Path) -> None:
    """A v1 endpoint is refused, and the message says where Entra shows the v2 one."""
    v1 = V2.replace("/oauth2/v2.0/token", "/oauth2/token")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, MINIMAL.replace(V2, v1)), environ=ENV)
    text = problems_of(caught)["exchange.token_endpoint"]
    assert "v1" in text
    assert "App registrations → your app → Endpoints" in text
    assert "OAuth 2.0 token endpoint (v2)" in text


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize",
        "http://login.microsoftonline.com/tenant/oauth2/v2.0/token",
        "login.microsoftonline.com/tenant/oauth2/v2.0/token",
    ],
)
def test_other_wrong_token_endpoints_are_refused(tmp_path: Path, endpoint: str) -> None:
    """The shared tenants, other endpoints, plain http and non-URLs are refused."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, MINIMAL.replace(V2, endpoint)), environ=ENV)
    assert "exchange.token_endpoint" in problems_of(caught)


def test_plain_http_is_allowed_for_localhost_only(tmp_path: Path) -> None:
    """The local simulator may run without TLS; anything else must use https."""
    local = MINIMAL.replace(V2, "http://127.0.0.1:8443/tenant/oauth2/v2.0/token")
    local += 'ews_url = "http://localhost:8443/EWS/Exchange.asmx"\n'
    settings = load_settings(write(tmp_path, local), environ=ENV)
    assert settings.exchange.ews_scope == "https://localhost/.default"


@pytest.mark.parametrize(
    ("extra", "scope"),
    [
        ("", "https://outlook.office365.com/.default"),
        (
            'ews_url = "https://mail.contoso.com/EWS/Exchange.asmx"',
            "https://mail.contoso.com/.default",
        ),
        ('api = "graph"', "https://graph.microsoft.com/.default"),
        ('token_scope = "https://sim.example/.default"', "https://sim.example/.default"),
    ],
)
def test_the_token_scope_is_derived_from_the_api_url(
    tmp_path: Path, extra: str, scope: str
) -> None:
    """Exchange Online, an on-premises host, Graph, or an explicit override."""
    settings = load_settings(write(tmp_path, MINIMAL + extra + "\n"), environ=ENV)
    assert settings.exchange.scope == scope


def test_secrets_never_show_in_repr_or_errors(tmp_path: Path) -> None:
    """The client secret and policy password appear in no repr, str, display or error."""
    settings = load_settings(
        write(tmp_path, MINIMAL + '\n[video]\npolicy_auth = "shared_secret"\n'),
        environ=ENV | {"VMRSCHED_VIDEO__POLICY_PASSWORD": SECRET},
    )
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.display())
    assert settings.video.policy_password == Secret(SECRET)
    assert SECRET not in repr(Secret(SECRET)) + str(Secret(SECRET)) + f"{Secret(SECRET)}"
    bad = write(
        tmp_path,
        MINIMAL.replace('client_id = "', 'client_id = 1234 #"')
        + f'client_secret = ["{SECRET}"]\n[database]\nurl = "mysql://u:{SECRET}@h/db"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, environ={"VMRSCHED_VIDEO__POLICY_PASSWORD": SECRET[:5]})
    found = problems_of(caught)
    assert {"exchange.client_secret", "database.url", "exchange.client_id"} <= set(found)
    assert SECRET not in str(caught.value)
    assert SECRET[:5] not in str(caught.value)


def test_the_database_url_password_is_hidden_in_display(tmp_path: Path) -> None:
    """`display()` masks the password of a database URL."""
    text = MINIMAL + f'\n[database]\nurl = "postgresql+psycopg://vmr:{SECRET}@db/vmr"\n'
    settings = load_settings(write(tmp_path, text), environ=ENV)
    assert settings.display()["database"]["url"] == "postgresql+psycopg://vmr:****@db/vmr"


def test_numeric_prefix_follows_a_numeric_prefix(tmp_path: Path) -> None:
    """The numeric prefix defaults to the prefix when it is all digits, else to nothing."""
    digits = load_settings(write(tmp_path, MINIMAL + '\n[aliases]\nprefix = "77"\n'), environ=ENV)
    letters = load_settings(write(tmp_path, MINIMAL + '\n[aliases]\nprefix = "vmr"\n'), environ=ENV)
    assert digits.alias_format().numeric_prefix == "77"
    assert letters.alias_format().numeric_prefix == ""


def test_the_scheduling_policy_follows_the_settings(tmp_path: Path) -> None:
    """The planner's policy carries the buffers, rules, join URL and public host."""
    text = MINIMAL + (
        "\n[meetings]\nbuffer_before_minutes = 5\nseries_horizon_days = 30\n"
        '[web]\npublic_url = "https://vmrsched.contoso.com/"\n'
        '[video]\njoin_url = "https://meet.contoso.com/{alias}"\n'
    )
    settings = load_settings(write(tmp_path, text), environ=ENV)
    policy = settings.scheduling_policy(ensure_installation_key(tmp_path / "k"))
    assert policy.buffer_before == timedelta(minutes=5)
    assert policy.series_horizon == timedelta(days=30)
    assert policy.join_url_format == "https://meet.contoso.com/{alias}"
    assert policy.addin_server_domain == "vmrsched.contoso.com"
    assert settings.reservation_ttl == timedelta(days=30)


def test_template_overrides_in_text_table_and_file(tmp_path: Path) -> None:
    """Templates come as HTML text, as a table with a text variant, or from files."""
    (tmp_path / "ins.html.j2").write_text("<p>Dial {{ alias }} {{ alias_token }}</p>")
    text = MINIMAL + (
        '\n[templates]\nreject_general_error = "<p>Oops {{ correlation_id }}</p>"\n'
        '[templates.reject_alias_deleted]\nhtml = "<p>Gone</p>"\ntext = "Gone, {{ subject }}"\n'
        '[templates.meeting_instructions]\nhtml_file = "ins.html.j2"\n'
    )
    settings = load_settings(
        write(tmp_path, text),
        environ=ENV
        | {"VMRSCHED_TEMPLATES__REJECT_GENERAL_ERROR__TEXT": "Oops {{ correlation_id }}!"},
    )
    assert settings.overridden_templates == (
        "meeting_instructions",
        "reject_alias_deleted",
        "reject_general_error",
    )
    rendered = settings.templates.render(
        TemplateName.REJECT_GENERAL_ERROR, {"correlation_id": "c-1"}
    )
    assert rendered.html == "<p>Oops c-1</p>"
    assert rendered.text == "Oops c-1!"
    assert (
        settings.templates.render(TemplateName.REJECT_ALIAS_DELETED, {"subject": "S"}).text
        == "Gone, S"
    )


def test_bad_templates_are_reported_with_their_names(tmp_path: Path) -> None:
    """Unknown template names, unknown variables and unreadable files are config problems."""
    text = MINIMAL + (
        '\n[templates]\naccept_new_meeting = "<p>x</p>"\n'
        'reject_alias_conflict = "<p>{{ pin }}</p>"\n'
        '[templates.meeting_instructions]\nhtml_file = "missing.j2"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=ENV)
    found = problems_of(caught)
    assert "did you mean 'accept_new_single_meeting'" in found["templates.accept_new_meeting"]
    assert "unknown variable(s) pin" in found["templates.reject_alias_conflict"]
    assert "cannot read" in found["templates.meeting_instructions.html_file"]


def test_broken_toml_is_one_clear_problem(tmp_path: Path) -> None:
    """A file that is not TOML says so, with the parser's position."""
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[exchange\n"), environ=ENV)


def test_settings_can_be_built_in_code(tmp_path: Path) -> None:
    """The demo and tests build settings from a mapping, without a file."""
    settings = settings_from_mapping(
        {
            "exchange": {
                "token_endpoint": V2,
                "client_id": "x",
                "client_secret": "y",
                "resource_mailbox": "vmr@contoso.com",
            },
            "video": {"policy_auth": "none"},
        },
        base=tmp_path,
    )
    assert settings.video.policy_auth is PolicyAuth.NONE


def test_the_installation_key_is_created_once_and_kept_private(tmp_path: Path) -> None:
    """The key file is made owner-only on first use and read back unchanged afterwards."""
    path = tmp_path / "vmrsched.key"
    key = ensure_installation_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_installation_key(path) == key
    assert load_installation_key(path) == key
    assert key.material.hex() not in path.read_text()  # stored encoded, never as hex dumps


def test_a_damaged_key_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing or foreign key file is refused with a fix, not silently replaced."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_installation_key(tmp_path / "absent.key")
    other = tmp_path / "other.key"
    other.write_text("not a key\n")
    with pytest.raises(ConfigError, match="backup"):
        load_installation_key(other)


def _doc_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## `\[(\w+)\]`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_setting_is_documented() -> None:
    """docs/reference/configuration.md has a row for every field of every section."""
    sections = _doc_sections((REPO / "docs/reference/configuration.md").read_text(encoding="utf-8"))
    missing = [
        f"{name}.{field.name}"
        for name, cls in SECTIONS.items()
        for field in dataclasses.fields(cls)
        if f"| `{field.name}` |" not in sections.get(name, "")
    ]
    assert missing == []
    assert set(sections) == {*SECTIONS, "templates"}


def test_every_template_and_variable_is_documented() -> None:
    """docs/reference/templates.md names every template and every variable it may use."""
    text = (REPO / "docs/reference/templates.md").read_text(encoding="utf-8")
    for name in TemplateName:
        assert f"`{name.value}`" in text, name
        for variable in TEMPLATE_VARIABLES[name]:
            assert f"`{variable}`" in text, variable
