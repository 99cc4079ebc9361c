"""A setup step: what it does, why, the PowerShell that does it, and the same step by hand.

One list of steps feeds both the script and the portal checklist, so the two cannot drift.
PowerShell lines refer to admin values only through the variables of the script's values block
(`variables`), where each value appears once as a single-quoted literal; checklist lines show
values as plain text and give commands with `ps_string` literals.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmrsched.service.setup.quoting import ps_string
from vmrsched.service.setup.values import SetupValues, Target


@dataclass(frozen=True)
class Step:
    """One numbered step of the setup."""

    title: str
    why: tuple[str, ...]
    code: tuple[str, ...]
    by_hand: tuple[str, ...]


def variables(values: SetupValues) -> list[tuple[str, str, str]]:
    """(variable, PowerShell literal, comment) for every admin value the script uses."""
    rows = [
        ("ResourceMailbox", ps_string(values.resource_mailbox), "the equipment mailbox's address"),
        ("ResourceAlias", ps_string(values.resource_alias), "its alias (the address's local part)"),
        (
            "ResourceName",
            ps_string(values.resource_name),
            "its unique name (64 characters at most)",
        ),
        ("ResourceDisplayName", ps_string(values.resource_display_name), "the name people see"),
        ("AppName", ps_string(values.app_name), "the app registration's display name"),
        ("GroupName", ps_string(values.group_name), "the group of the resource and organizers"),
        ("ScopeName", ps_string(values.scope_name), "the management scope's name"),
        ("SecretMonths", str(values.secret_months), "the client secret's lifetime in months"),
        ("DelegateAdmin", ps_string(values.delegate_admin), "only for the troubleshooting step"),
    ]
    if values.target is Target.EXCHANGE_SERVER:
        rows.append(("EwsOrigin", ps_string(values.ews_origin), "your Exchange Server's EWS host"))
    rows.append(("NewSecret", "$false", "$true adds a new client secret even if one is valid"))
    return rows


def command(text: str) -> str:
    """A checklist line holding a command to paste, marked as such."""
    return f"    PS> {text}"
