"""The CLI: plain words and exit statuses at the edge, reservations, meetings, policy checks."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from vmrsched.adapters.db import SqlStore
from vmrsched.bootstrap import build
from vmrsched.cli.main import main
from vmrsched.config import load_settings
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import ChangePage, InstructionsUpdate, Reply, WatchEvents
from vmrsched.service.apply import apply_effects
from vmrsched.service.reserve import reserve
from vmrsched.service.sync import sync_mailbox

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = """
[exchange]
token_endpoint = "https://login.microsoftonline.com/d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5/oauth2/v2.0/token"
client_id = "522d29f1-c520-4cd7-bd5d-565f738f599b"
client_secret = "not-a-real-secret"
resource_mailbox = "vmr@contoso.com"

[aliases]
prefix = "81"
domain = "vmr.contoso.com"

[database]
url = "sqlite:///state.sqlite"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "vmrsched.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_check_config_lists_every_problem_and_exits_2(tmp_path: Path, capsys) -> None:
    """A v1 token endpoint and a bad buffer are reported together, with the fix; exit 2."""
    path = tmp_path / "bad.toml"
    path.write_text(
        CONFIG.replace("oauth2/v2.0/token", "oauth2/token")
        + "\n[meetings]\nbuffer_before_minutes = 240\n",
        encoding="utf-8",
    )
    status = main(["check-config", "--config", str(path)])
    out = capsys.readouterr().out
    assert status == 2
    assert "2 problems" in out
    assert "v1 token endpoint" in out
    assert "fix: copy 'OAuth 2.0 token endpoint (v2)'" in out
    assert "buffer_before_minutes: 240 is outside 0..180" in out


def test_check_config_shows_a_valid_configuration_without_its_secret(config: Path, capsys) -> None:
    """A good file: exit 0, the settings in effect, the secret hidden."""
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "the configuration is valid" in out
    assert "not-a-real-secret" not in out
    assert "client_secret = **********" in out


def test_a_missing_configuration_file_says_how_to_fix_it(tmp_path: Path, capsys) -> None:
    """No traceback: the message and the fix, exit 2."""
    status = main(["reserve", "--organizer", "alice@contoso.com", "--config", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert status == 2
    assert "no configuration file at" in err
    assert "fix: pass --config FILE" in err
    assert "Traceback" not in err


def test_reserve_prints_alias_numeric_alias_token_and_instructions(config: Path, capsys) -> None:
    """reserve --json: the reservation, its token and the rendered instructions."""
    assert (
        main(["reserve", "--organizer", "alice@contoso.com", "--json", "--config", str(config)])
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["alias"].startswith("81")
    assert document["alias"].endswith("@vmr.contoso.com")
    assert document["numeric_alias"] == document["alias"].split("@")[0]
    assert document["alias_token"].startswith("VMRS:-")
    assert document["alias_token"] in document["instructions"]["text"]
    assert document["alias_token"] in document["instructions"]["html"]
    store = SqlStore.open(f"sqlite:///{config.parent / 'state.sqlite'}")
    try:
        stored = store.get_reservation(document["alias_uuid"])
    finally:
        store.close()
    assert stored is not None
    assert stored.alias == document["alias"]


def test_reserve_refuses_an_organizer_outside_the_allowed_domains(config: Path, capsys) -> None:
    """An organizer the rules would decline gets no reservation, and is told why."""
    config.write_text(
        CONFIG + '\n[meetings]\nallowed_organizer_domains = ["contoso.com"]\n', encoding="utf-8"
    )
    status = main(["reserve", "--organizer", "eve@fabrikam.com", "--config", str(config)])
    err = capsys.readouterr().err
    assert status == 1
    assert "not in an allowed organizer domain" in err
    assert "fix:" in err


class Inbox:
    """Just enough of a mailbox to feed one pass."""

    address = "vmr@contoso.com"

    def __init__(self, *messages: MeetingMessage) -> None:
        self.messages = list(messages)
        self.sent: list[Reply] = []

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        return ChangePage(self.messages if cursor is None else [], "end", more=False)

    def reply(self, reply: Reply) -> bool:
        self.sent.append(reply)
        return True

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        return True

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        return WatchEvents(changed=False)

    def close(self) -> None:
        pass


def processed_meeting(config: Path) -> tuple[str, str]:
    """Reserve, then let one pass accept a meeting that carries the token; (alias, key)."""
    settings = load_settings(config)
    components = build(settings)
    try:
        offer = reserve(components.store, components.rules, components.clock, "alice@contoso.com")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        message = MeetingMessage(
            message_id="AAMkAGI-request-1",
            kind=MessageKind.NEW,
            uid="040000008200E00074C5B7101A82E008-demo",
            sequence=0,
            organizer_email="alice@contoso.com",
            organizer_name="Alice Wilber",
            subject="Design review",
            body_html=f"<p>Agenda</p>{offer.instructions.html}",
            start=start,
            end=start + timedelta(hours=1),
        )
        inbox = Inbox(message)
        sync_mailbox(
            inbox, components.store, components.clock, components.rules, rng=random.Random(1)
        )
        apply_effects(inbox, components.store, components.clock, components.rules.templates)
        return offer.reservation.alias, message.meeting_key
    finally:
        components.close()


def test_meetings_list_and_show_tell_what_happened(config: Path, capsys) -> None:
    """list shows the meeting with its outcome and alias; show lists decision and effect."""
    alias, key = processed_meeting(config)
    capsys.readouterr()  # the service's own log lines

    assert main(["meetings", "list", "--json", "--config", str(config)]) == 0
    [line] = json.loads(capsys.readouterr().out)
    assert (line["meeting"], line["alias"], line["booking"]) == (key, alias, "active")
    assert line["outcome"] == "accept_new_single_meeting"
    assert (line["organizer"], line["subject"]) == ("alice@contoso.com", "Design review")

    assert main(["meetings", "list", "--config", str(config)]) == 0
    assert "Design review" in capsys.readouterr().out

    assert main(["meetings", "show", key[:8], "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    assert f"meeting {key}" in shown
    assert "decided accept_new_single_meeting" in shown
    assert "done #1 reply" in shown
    assert line["correlation_id"] in shown

    assert main(["meetings", "show", alias, "--config", str(config)]) == 0
    assert f"meeting {key}" in capsys.readouterr().out


def test_meetings_show_of_an_unknown_id_is_a_plain_error(config: Path, capsys) -> None:
    """An unknown ID: exit 2 and what IDs work."""
    assert main(["meetings", "show", "nothing-here", "--config", str(config)]) == 2
    assert "no meeting 'nothing-here'" in capsys.readouterr().err


def test_policy_check_answers_as_infinity_would_be_answered(config: Path, capsys) -> None:
    """A booked alias is a conference inside its window and rejected long after it."""
    alias, _ = processed_meeting(config)
    capsys.readouterr()  # the service's own log lines
    inside = (datetime.now(UTC) + timedelta(days=1, minutes=10)).isoformat()
    assert main(["policy-check", alias, "--at", inside, "--config", str(config)]) == 0
    answer = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert answer["result"]["service_type"] == "conference"
    later = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    assert main(["policy-check", alias, "--at", later, "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["action"] == "reject"


def test_a_bad_time_is_a_usage_error(config: Path, capsys) -> None:
    """policy-check --at with a non-time: exit 2 and the expected format."""
    assert main(["policy-check", "81123456", "--at", "tomorrow", "--config", str(config)]) == 2
    assert "ISO 8601" in capsys.readouterr().err
