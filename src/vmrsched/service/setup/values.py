"""What the admin chose: the values a setup script is made of, checked before any text is made.

A value that PowerShell or Exchange could misread is refused here with the fix, so the generator
never has to make a guess: control characters anywhere, an address that is not one, a name longer
than Exchange allows (``New-ManagementScope -Name`` and ``New-ManagementRoleAssignment -Name``
take at most 64 characters), an alias with characters Exchange does not accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from vmrsched.service.setup.quoting import UnsafeValueError, refuse_unsafe


class Target(StrEnum):
    """Where the resource mailbox lives."""

    EXCHANGE_ONLINE = "exchange-online"
    EXCHANGE_SERVER = "exchange-server"


class Api(StrEnum):
    """How vmrsched talks to Exchange (``[exchange] api``)."""

    EWS = "ews"
    GRAPH = "graph"


class SetupValueError(ValueError):
    """A setup value cannot be used; ``fix`` says what would work."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


#: ``New-ManagementScope -Name`` / ``New-ManagementRoleAssignment -Name``: "up to 64 characters".
#: — https://learn.microsoft.com/powershell/module/exchange/new-managementscope
NAME_LIMIT: Final = 64
#: The app name prefixes each role assignment name; the longest role is 31 characters.
APP_NAME_LIMIT: Final = 32
DISPLAY_NAME_LIMIT: Final = 256
SECRET_MONTHS_LIMIT: Final = 24  # Entra's portal offers at most 24 months

# Exchange aliases: letters, digits and !#$%&'*+-/=?^_`{|}~ and dots that neither start, end,
# nor follow each other. — https://learn.microsoft.com/powershell/module/exchange/new-mailbox#-alias
_ALIAS_ATOM: Final = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_ALIAS: Final = re.compile(rf"{_ALIAS_ATOM}(\.{_ALIAS_ATOM})*")
_DOMAIN: Final = re.compile(r"(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}")


@dataclass(frozen=True, kw_only=True)
class SetupValues:
    """Everything a setup script depends on; construct it with `SetupValues.checked`."""

    target: Target
    api: Api
    resource_mailbox: str
    resource_display_name: str
    app_name: str
    group_name: str
    secret_months: int
    ews_url: str
    delegate_admin: str

    @classmethod
    def checked(
        cls,
        *,
        target: Target,
        api: Api,
        resource_mailbox: str,
        resource_display_name: str = "Video meeting rooms",
        app_name: str = "vmrsched",
        group_name: str = "vmrsched scheduling",
        secret_months: int = 12,
        ews_url: str = "https://outlook.office365.com/EWS/Exchange.asmx",
        delegate_admin: str = "",
    ) -> SetupValues:
        """The values, or SetupValueError saying which one is wrong and how to fix it."""
        try:
            for what, value in (
                ("the resource mailbox", resource_mailbox),
                ("the resource display name", resource_display_name),
                ("the app name", app_name),
                ("the group name", group_name),
                ("the EWS URL", ews_url),
                ("the delegate admin", delegate_admin),
            ):
                refuse_unsafe(what, value)
        except UnsafeValueError as exc:
            raise SetupValueError(str(exc), "retype the value without it") from exc
        if api is Api.GRAPH and target is Target.EXCHANGE_SERVER:
            raise SetupValueError(
                "Microsoft Graph reaches Exchange Online mailboxes only",
                'use --api ews for Exchange Server (and [exchange] api = "ews")',
            )
        _check_address("resource mailbox", resource_mailbox.strip(), "--resource-mailbox")
        if delegate_admin.strip():
            _check_address("delegate admin", delegate_admin.strip(), "--delegate-admin")
        _check_name("resource display name", resource_display_name, DISPLAY_NAME_LIMIT)
        _check_name("app name", app_name, APP_NAME_LIMIT)
        _check_name("group name", group_name, NAME_LIMIT)
        if not 1 <= secret_months <= SECRET_MONTHS_LIMIT:
            raise SetupValueError(
                f"a client secret lifetime of {secret_months} months is not possible",
                f"choose 1 to {SECRET_MONTHS_LIMIT} months (--secret-months)",
            )
        if target is Target.EXCHANGE_SERVER:
            parts = urlsplit(ews_url.strip())
            if parts.scheme != "https" or not parts.hostname:
                raise SetupValueError(
                    f"{ews_url!r} is not an https URL of your Exchange Server's EWS",
                    "set [exchange] ews_url (or --ews-url) to "
                    "https://mail.contoso.com/EWS/Exchange.asmx, your external EWS URL",
                )
        return cls(
            target=target,
            api=api,
            resource_mailbox=resource_mailbox.strip(),
            resource_display_name=resource_display_name.strip(),
            app_name=app_name.strip(),
            group_name=group_name.strip(),
            secret_months=secret_months,
            ews_url=ews_url.strip(),
            delegate_admin=delegate_admin.strip(),
        )

    @property
    def resource_alias(self) -> str:
        """The mailbox alias: the address's local part."""
        return self.resource_mailbox.rpartition("@")[0]

    @property
    def resource_name(self) -> str:
        """The mailbox's unique ``Name`` (at most 64 characters): its display name, cut."""
        return self.resource_display_name[:NAME_LIMIT].rstrip()

    @property
    def scope_name(self) -> str:
        """The management scope's name."""
        return f"{self.app_name} scope"

    def assignment_name(self, role: str) -> str:
        """The role assignment's name for ``role`` (at most 64 characters by construction)."""
        return f"{self.app_name} {role}"

    @property
    def ews_origin(self) -> str:
        """``https://host`` of the EWS URL: the token audience on Exchange Server."""
        parts = urlsplit(self.ews_url)
        return f"https://{(parts.hostname or '').lower()}"


def _check_address(what: str, value: str, option: str) -> None:
    local, at, domain = value.rpartition("@")
    if not at or not _ALIAS.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        raise SetupValueError(
            f"the {what} {value!r} is not an e-mail address Exchange accepts",
            f"give an address like vmr@contoso.com ({option}); its local part may hold letters, "
            "digits, dots and !#$%&'*+-/=?^_`{|}~",
        )


def _check_name(what: str, value: str, limit: int) -> None:
    if not value.strip():
        raise SetupValueError(f"the {what} is empty", "give a name")
    if len(value.strip()) > limit:
        raise SetupValueError(
            f"the {what} is {len(value.strip())} characters long; Exchange takes at most {limit}",
            "choose a shorter name",
        )
