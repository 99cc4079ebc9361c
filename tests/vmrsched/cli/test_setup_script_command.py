"""``vmrsched setup-script``: values from the file and the options, a script or a checklist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmrsched.cli.main import main

if TYPE_CHECKING:
    from pathlib import Path

ONLINE = """
[exchange]
api = "ews"
resource_mailbox = "vmr@contoso.com"
"""
SERVER = """
[exchange]
ews_url = "https://mail.contoso.com/EWS/Exchange.asmx"
resource_mailbox = "vmr@contoso.com"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vmrsched.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_partial_configuration_is_enough_to_make_the_script(tmp_path: Path, capsys) -> None:
    """Before setup there is no client id or secret; the resource mailbox suffices."""
    assert main(["setup-script", "--config", str(write(tmp_path, ONLINE))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#Requires -Version 5.1")
    assert "$ResourceMailbox     = 'vmr@contoso.com'" in out
    assert "Connect-ExchangeOnline" in out
    assert "Application EWS.AccessAsApp" in out


def test_the_target_follows_the_ews_url(tmp_path: Path, capsys) -> None:
    """An on-premises EWS URL means Exchange Server unless --target says otherwise."""
    config = str(write(tmp_path, SERVER))
    assert main(["setup-script", "--config", config]) == 0
    assert "New-PartnerApplication" in capsys.readouterr().out
    assert main(["setup-script", "--config", config, "--target", "exchange-online"]) == 0
    assert "New-PartnerApplication" not in capsys.readouterr().out


def test_options_win_over_the_file(tmp_path: Path, capsys) -> None:
    """--api graph and --resource-mailbox replace the file's values."""
    config = str(write(tmp_path, ONLINE))
    status = main(
        [
            "setup-script",
            "--config",
            config,
            "--api",
            "graph",
            "--resource-mailbox",
            "x@contoso.com",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "'x@contoso.com'" in out
    assert "Application Mail.Send" in out


def test_no_file_is_fine_with_a_resource_mailbox_option(tmp_path: Path, capsys) -> None:
    """The default ./vmrsched.toml may not exist yet."""
    missing = str(tmp_path / "absent.toml")
    assert main(["setup-script", "--config", missing, "--resource-mailbox", "v@contoso.com"]) == 0
    assert "'v@contoso.com'" in capsys.readouterr().out


def test_no_file_and_no_mailbox_says_what_to_pass(tmp_path: Path, capsys) -> None:
    """Exit 2 with the fix, no traceback."""
    assert main(["setup-script", "--config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert "no configuration file" in err
    assert "--resource-mailbox" in err


def test_the_checklist_option_prints_numbered_portal_steps(tmp_path: Path, capsys) -> None:
    """--checklist: the same steps by hand, not a script."""
    assert main(["setup-script", "--config", str(write(tmp_path, ONLINE)), "--checklist"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("vmrsched setup for Exchange Online with EWS: the steps by hand.")
    assert "\n1. Sign in to Microsoft Graph\n" in out
    assert "Set-StrictMode" not in out


def test_graph_on_exchange_server_is_a_usage_error(tmp_path: Path, capsys) -> None:
    """Exit 2 with the reason and the fix."""
    config = str(write(tmp_path, SERVER))
    assert (
        main(["setup-script", "--config", config, "--api", "graph", "--target", "exchange-server"])
        == 2
    )
    err = capsys.readouterr().err
    assert "Exchange Online mailboxes only" in err
    assert "fix:" in err


def test_a_name_with_a_newline_is_refused(tmp_path: Path, capsys) -> None:
    """A control character in an option is refused, never written into the script."""
    config = str(write(tmp_path, ONLINE))
    assert main(["setup-script", "--config", config, "--group", "a\nRemove-Mailbox x"]) == 2
    captured = capsys.readouterr()
    assert "U+000A" in captured.err
    assert captured.out == ""


def test_hostile_option_values_come_out_single_quoted(tmp_path: Path, capsys) -> None:
    """Quotes, $ and backticks from the command line are doubled or kept literal."""
    config = str(write(tmp_path, ONLINE))
    status = main(["setup-script", "--config", config, "--display-name", "O'Brien $(x) `y; z"])
    assert status == 0
    assert "= 'O''Brien $(x) `y; z'" in capsys.readouterr().out


def test_a_broken_file_is_a_usage_error(tmp_path: Path, capsys) -> None:
    """Malformed TOML and a non-text value are reported with the fix."""
    assert main(["setup-script", "--config", str(write(tmp_path, "[exchange\n"))]) == 2
    assert "cannot read" in capsys.readouterr().err
    config = str(write(tmp_path, "[exchange]\nresource_mailbox = 3\n"))
    assert main(["setup-script", "--config", config]) == 2
    assert "is not text" in capsys.readouterr().err
