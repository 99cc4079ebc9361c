"""The Exchange Server steps: vmrsched's app tokens accepted, and impersonation scoped.

What we chose, and why. vmrsched signs in one way only: an app-only token from Entra ID's v2
token endpoint (client credentials). Exchange Server accepts Entra tokens once Hybrid Modern
Authentication is configured (the EvoSTS auth server; the EWS URL as a service principal name of
Office 365 Exchange Online). RBAC for Applications does not exist on-premises, but
ApplicationImpersonation does (REFERENCES.md §1), and Exchange Server evaluates an OAuth partner
application's rights through its *linked account* ("Exchange evaluates RBAC permissions for the
linked account when authorizing a token"). So: a partner application for vmrsched's client id,
linked to the resource mailbox's own (disabled) account, which gets ApplicationImpersonation
limited to the group's management scope (CustomRecipientWriteScope).
— https://learn.microsoft.com/powershell/module/exchange/new-partnerapplication
— https://learn.microsoft.com/powershell/module/exchange/new-managementroleassignment
— https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-configure-impersonation

(inferred) Microsoft documents app-only EWS with Entra tokens for Exchange Online only; this path
is assembled from the documented pieces and has not been run against a real Exchange Server.
`vmrsched doctor` proves or disproves it on a given organization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmrsched.service.setup.exchange import scope_step, user_agent_lines
from vmrsched.service.setup.quoting import ps_string
from vmrsched.service.setup.steps import Step, command

if TYPE_CHECKING:
    from vmrsched.service.setup.values import SetupValues

_HMA = (
    "https://learn.microsoft.com/microsoft-365/enterprise/"
    "configure-exchange-server-for-hybrid-modern-authentication"
)


def server_steps(values: SetupValues) -> list[Step]:
    """Auth server check, scope, partner application, impersonation, EWS switches."""
    return [
        _auth_server(),
        scope_step(values),
        _partner_application(values),
        _impersonation(values),
        _ews_server(values),
    ]


def _auth_server() -> Step:
    return Step(
        "Check that Exchange Server trusts Entra ID tokens",
        (
            "Hybrid Modern Authentication registers Entra ID (EvoSTS) as an auth server.",
            f"Without it no app token is accepted. {_HMA}",
        ),
        (
            (
                "if (-not (Get-AuthServer | Where-Object { $_.Name -like 'EvoSts*' -and "
                "$_.Enabled }))"
                " {"
            ),
            (
                f"    throw 'No enabled EvoSts auth server: configure Hybrid Modern Authentication "
                f"first ({_HMA})'"
            ),
            "}",
        ),
        (command("Get-AuthServer | Where-Object { $_.Name -like 'EvoSts*' } | Format-List"),),
    )


def _partner_application(values: SetupValues) -> Step:
    return Step(
        "Register vmrsched as a partner application",
        (
            "Tokens carrying vmrsched's client id act with the rights of the linked account:",
            "the resource mailbox's own account, which is disabled and cannot sign in.",
            "— https://learn.microsoft.com/powershell/module/exchange/new-partnerapplication",
        ),
        (
            (
                "$Partner = Get-PartnerApplication | Where-Object { $_.ApplicationIdentifier -eq "
                "$App.AppId }"
            ),
            "if (-not $Partner) {",
            (
                "    New-PartnerApplication -Name $AppName -ApplicationIdentifier $App.AppId "
                "-LinkedAccount $Mailbox.DistinguishedName | Out-Null"
            ),
            "}",
        ),
        (
            command(
                f"New-PartnerApplication -Name {ps_string(values.app_name)} "
                "-ApplicationIdentifier '<Application (client) ID>' -LinkedAccount "
                f"(Get-Mailbox {ps_string(values.resource_mailbox)}).DistinguishedName"
            ),
        ),
    )


def _impersonation(values: SetupValues) -> Step:
    return Step(
        "Grant ApplicationImpersonation inside the scope",
        (
            "ApplicationImpersonation (gone from Exchange Online, present on-premises), limited",
            "to the group's members by CustomRecipientWriteScope.",
            (
                "— https://learn.microsoft.com/exchange/client-developer/exchange-web-services/"
                "how-to-configure-impersonation"
            ),
        ),
        (
            "$AssignmentName = '{0} ApplicationImpersonation' -f $AppName",
            (
                "if (-not (Get-ManagementRoleAssignment -Identity $AssignmentName "
                "-ErrorAction SilentlyContinue)) {"
            ),
            (
                "    New-ManagementRoleAssignment -Name $AssignmentName -Role "
                "'ApplicationImpersonation' -User $Mailbox.DistinguishedName "
                "-CustomRecipientWriteScope $ScopeName | Out-Null"
            ),
            "}",
        ),
        (
            command(
                "New-ManagementRoleAssignment -Name "
                f"{ps_string(values.assignment_name('ApplicationImpersonation'))} -Role "
                f"'ApplicationImpersonation' -User (Get-Mailbox "
                f"{ps_string(values.resource_mailbox)}).DistinguishedName "
                f"-CustomRecipientWriteScope {ps_string(values.scope_name)}"
            ),
        ),
    )


def _ews_server(values: SetupValues) -> Step:
    return Step(
        "Check that EWS is on for the resource mailbox",
        (
            "Exchange Server keeps EWS; an organization switch or a user-agent allow list can",
            "still refuse vmrsched.",
        ),
        (
            "$Org = Get-OrganizationConfig",
            "if ($Org.EwsEnabled -eq $false) {",
            (
                "    Write-Warning 'EWS is off for the whole organization (EwsEnabled $false); "
                "vmrsched needs it: Set-OrganizationConfig -EwsEnabled $true'"
            ),
            "}",
            *user_agent_lines(),
            "if ((Get-CASMailbox -Identity $ResourceMailbox).EwsEnabled -eq $false) {",
            "    Set-CASMailbox -Identity $ResourceMailbox -EwsEnabled $true",
            "}",
        ),
        (
            command(
                f"Get-CASMailbox -Identity {ps_string(values.resource_mailbox)} | Format-List Ews*"
            ),
            command("Get-OrganizationConfig | Format-List Ews*"),
        ),
    )
