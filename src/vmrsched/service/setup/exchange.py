"""The Exchange steps both targets share, and the Exchange Online ones.

The resource mailbox, its calendar processing, hidden free/busy, and the group that the
management scope follows; on Exchange Online the RBAC for Applications grant and the EWS
allow-listing.
— https://learn.microsoft.com/powershell/module/exchange/new-mailbox
— https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing
— https://learn.microsoft.com/powershell/module/exchange/set-mailboxfolderpermission
— https://learn.microsoft.com/powershell/module/exchange/new-managementscope
— https://learn.microsoft.com/exchange/permissions-exo/application-rbac
"""

from __future__ import annotations

from vmrsched.adapters.auth.transport import USER_AGENT
from vmrsched.service.setup.permissions import EXCHANGE_ROLES, calendar_processing_arguments
from vmrsched.service.setup.quoting import ps_string
from vmrsched.service.setup.steps import Step, command
from vmrsched.service.setup.values import Api, SetupValues, Target

#: OPATH values are single-quoted; a quote inside is written twice (PowerShell's quote
#: characters included, since Exchange reads filters with PowerShell's rules).
#: — https://learn.microsoft.com/powershell/module/exchange/new-managementscope#-recipientrestrictionfilter
_OPATH_ESCAPE = "-replace \"(['\\u2018\\u2019\\u201A\\u201B])\", '$1$1'"


def mailbox_steps(values: SetupValues) -> list[Step]:
    """Sign in, resource mailbox, calendar processing and its check, free/busy, group."""
    return [
        _sign_in(values),
        _mailbox(values),
        _processing(values),
        _processing_check(values),
        _free_busy(values),
        _group(values),
    ]


def online_steps(values: SetupValues) -> list[Step]:
    """Exchange Online: service principal, scope, role assignments, and EWS allow-listing."""
    steps = [_exchange_principal(values), scope_step(values), _roles(values)]
    if values.api is Api.EWS:
        steps.append(_ews_online(values))
    return steps


def _sign_in(values: SetupValues) -> Step:
    if values.target is Target.EXCHANGE_SERVER:
        return Step(
            "Use the Exchange Management Shell",
            (
                "Run the rest in the Exchange Management Shell of your Exchange Server (2016, 2019",
                "or SE), as a member of Organization Management.",
            ),
            ("Get-ExchangeServer | Select-Object -First 1 | Out-Null  # fails outside the shell",),
            ("Open the Exchange Management Shell as a member of Organization Management.",),
        )
    return Step(
        "Sign in to Exchange Online PowerShell",
        (
            "Needs: Install-Module ExchangeOnlineManagement -Scope CurrentUser, and an account in",
            "Organization Management (Exchange Administrator).",
        ),
        ("Import-Module ExchangeOnlineManagement", "Connect-ExchangeOnline -ShowBanner:$false"),
        (
            "Most of what follows has no portal page: run it in Exchange Online PowerShell.",
            command("Connect-ExchangeOnline"),
        ),
    )


def _mailbox(values: SetupValues) -> Step:
    return Step(
        "Create the equipment resource mailbox",
        (
            "Organizers invite this mailbox; vmrsched watches it. An existing equipment or room",
            "mailbox is kept; anything else with this address stops the script.",
            "— https://learn.microsoft.com/powershell/module/exchange/new-mailbox",
        ),
        (
            "$Mailbox = Get-Mailbox -Identity $ResourceMailbox -ErrorAction SilentlyContinue",
            "if (-not $Mailbox) {",
            (
                "    $Mailbox = New-Mailbox -Equipment -Name $ResourceName -Alias $ResourceAlias "
                "-DisplayName $ResourceDisplayName -PrimarySmtpAddress $ResourceMailbox"
            ),
            "} elseif ($Mailbox.RecipientTypeDetails -notin 'EquipmentMailbox', 'RoomMailbox') {",
            (
                "    throw ('{0} exists but is a {1}, not an equipment mailbox' "
                "-f $ResourceMailbox, $Mailbox.RecipientTypeDetails)"
            ),
            "}",
        ),
        (
            "Exchange admin center -> Recipients -> Resources -> Add a resource -> Equipment.",
            f"  Name: {values.resource_display_name}; email address: {values.resource_mailbox}.",
            "  Or:",
            command(
                f"New-Mailbox -Equipment -Name {ps_string(values.resource_name)} -Alias "
                f"{ps_string(values.resource_alias)} -DisplayName "
                f"{ps_string(values.resource_display_name)} -PrimarySmtpAddress "
                f"{ps_string(values.resource_mailbox)}"
            ),
        ),
    )


def _processing(values: SetupValues) -> Step:
    arguments = calendar_processing_arguments(values.api)
    why: tuple[str, ...] = (
        "Nothing decides for vmrsched: requests stay unprocessed until it answers them; no",
        "conflict, length, recurrence or horizon rule refuses one first; the body (with the",
        "alias token) and subject are kept.",
        "— https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing",
    )
    if values.api is Api.GRAPH:
        why = (
            *why,
            "Graph: AutoUpdate (not None) so the Calendar Attendant puts the meeting on the",
            "calendar, tentatively and without answering: Graph accepts or declines events, not",
            "messages. See docs/explanation/graph-calendar-processing.md.",
        )
    return Step(
        "Turn the resource's calendar processing over to vmrsched",
        why,
        (f"Set-CalendarProcessing -Identity $ResourceMailbox {arguments}",),
        (
            command(
                f"Set-CalendarProcessing -Identity {ps_string(values.resource_mailbox)} {arguments}"
            ),
        ),
    )


def _processing_check(values: SetupValues) -> Step:
    return Step(
        "Check the calendar processing",
        ("Compare with the step above; vmrsched doctor checks it too.",),
        ("Get-CalendarProcessing -Identity $ResourceMailbox | Format-List",),
        (
            command(
                f"Get-CalendarProcessing -Identity {ps_string(values.resource_mailbox)} | "
                "Format-List"
            ),
        ),
    )


def _free_busy(values: SetupValues) -> Step:
    return Step(
        "Hide the resource's free/busy",
        (
            "Default = None: nobody sees the VMR calendar's meetings, not even as busy times.",
            "A mailbox created in another language may call its calendar differently",
            "(':\\Kalender'): Get-MailboxFolderStatistics -FolderScope Calendar shows the name.",
            "— https://learn.microsoft.com/powershell/module/exchange/set-mailboxfolderpermission",
        ),
        (
            (
                "Set-MailboxFolderPermission -Identity ($ResourceMailbox + ':\\Calendar') -User "
                "Default -AccessRights None"
            ),
        ),
        (
            command(
                "Set-MailboxFolderPermission -Identity "
                f"{ps_string(values.resource_mailbox + ':' + chr(92) + 'Calendar')}"
                " -User Default -AccessRights None"
            ),
        ),
    )


def _group(values: SetupValues) -> Step:
    return Step(
        "Put the resource mailbox in the scheduling group",
        (
            "The management scope follows this group: vmrsched may open exactly its members.",
            "Add every organizer who schedules VMR meetings (vmrsched writes the joining",
            "instructions into their meetings). Direct members only: nested groups do not count.",
        ),
        (
            "$Group = Get-DistributionGroup -Identity $GroupName -ErrorAction SilentlyContinue",
            (
                "if (-not $Group) { $Group = New-DistributionGroup -Name $GroupName -Type "
                "Distribution }"
            ),
            (
                "$Members = @(Get-DistributionGroupMember -Identity $Group.Identity -ResultSize "
                "Unlimited | ForEach-Object { [string]$_.PrimarySmtpAddress })"
            ),
            "if ($Members -notcontains $ResourceMailbox) {",
            "    Add-DistributionGroupMember -Identity $Group.Identity -Member $ResourceMailbox",
            "}",
            "# Then add the organizers, for example:",
            "# Add-DistributionGroupMember -Identity $GroupName -Member 'alice@contoso.com'",
            "$GroupDn = $Group.DistinguishedName",
        ),
        (
            (
                "Exchange admin center -> Recipients -> Groups: find or add the "
                "distribution group "
                f"{values.group_name}."
            ),
            f"  Members: {values.resource_mailbox} and every organizer (direct members).",
            "  Copy nothing: the scope step below looks up its distinguished name.",
        ),
    )


def _exchange_principal(values: SetupValues) -> Step:
    return Step(
        "Point Exchange Online at the app (New-ServicePrincipal)",
        (
            "Exchange keeps a reference to the Entra service principal; roles are assigned to it.",
            "— https://learn.microsoft.com/powershell/module/exchange/new-serviceprincipal",
        ),
        (
            (
                "$ExchangePrincipal = Get-ServicePrincipal -ErrorAction SilentlyContinue | "
                "Where-Object { $_.AppId -eq $App.AppId }"
            ),
            "if (-not $ExchangePrincipal) {",
            (
                "    New-ServicePrincipal -AppId $App.AppId -ObjectId $Sp.Id -DisplayName $AppName "
                "| Out-Null"
            ),
            "}",
        ),
        (
            command(
                "New-ServicePrincipal -AppId '<Application (client) ID>' -ObjectId "
                f"'<enterprise application Object ID>' -DisplayName {ps_string(values.app_name)}"
            ),
        ),
    )


def scope_step(values: SetupValues) -> Step:
    """The management scope: members of the group, by its distinguished name."""
    return Step(
        "Limit the app to the group (New-ManagementScope, MemberOfGroup)",
        (
            "MemberOfGroup takes the group's distinguished name, not its display name.",
            "Run again, the scope's filter is set again (Set-ManagementScope).",
            "— https://learn.microsoft.com/powershell/module/exchange/new-managementscope",
        ),
        (
            f"$ScopeFilter = 'MemberOfGroup -eq ''{{0}}''' -f ($GroupDn {_OPATH_ESCAPE})",
            "if (Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue) {",
            "    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $ScopeFilter",
            "} else {",
            (
                "    New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $ScopeFilter "
                "| Out-Null"
            ),
            "}",
        ),
        (
            command(
                f"$GroupDn = (Get-DistributionGroup -Identity {ps_string(values.group_name)})"
                ".DistinguishedName"
            ),
            command(
                f"New-ManagementScope -Name {ps_string(values.scope_name)} "
                f"-RecipientRestrictionFilter (\"MemberOfGroup -eq '{{0}}'\" -f ($GroupDn "
                f"{_OPATH_ESCAPE}))"
            ),
        ),
    )


def _roles(values: SetupValues) -> Step:
    roles = EXCHANGE_ROLES[values.api]
    role_list = ", ".join(f"'{role}'" for role in roles)
    return Step(
        "Grant the app its role(s) inside the scope (RBAC for Applications)",
        (
            f"Roles: {', '.join(roles)}; each limited to the scope above.",
            "Takes 30 minutes to 2 hours to apply; Test-ServicePrincipalAuthorization then shows",
            "InScope True for the resource mailbox.",
            "— https://learn.microsoft.com/exchange/permissions-exo/application-rbac",
        ),
        (
            f"foreach ($Role in @({role_list})) {{",
            "    $AssignmentName = '{0} {1}' -f $AppName, $Role",
            (
                "    if (-not (Get-ManagementRoleAssignment -Identity $AssignmentName "
                "-ErrorAction SilentlyContinue)) {"
            ),
            (
                "        New-ManagementRoleAssignment -Name $AssignmentName -Role $Role "
                "-App $Sp.Id "
                "-CustomResourceScope $ScopeName | Out-Null"
            ),
            "    }",
            "}",
            (
                "Test-ServicePrincipalAuthorization -Identity $App.AppId -Resource "
                "$ResourceMailbox "
                "| Format-Table"
            ),
        ),
        tuple(
            command(
                f"New-ManagementRoleAssignment -Name {ps_string(values.assignment_name(role))} "
                f"-Role '{role}' -App '<enterprise application Object ID>' "
                f"-CustomResourceScope {ps_string(values.scope_name)}"
            )
            for role in roles
        ),
    )


def _ews_online(values: SetupValues) -> Step:
    return Step(
        "Allow the app to use EWS in Exchange Online",
        (
            "Since 2026-10-01 EWS in Exchange Online answers only apps in EwsAllowedAppIDs when",
            "EwsEnabled is $true (tenants left unset were switched to $false); on 2027-04-01 EWS",
            'in Exchange Online ends for good: move to [exchange] api = "graph" before then.',
            "Each Set replaces the whole list, so the current list is read first; changes take",
            "up to 24 hours. A user-agent allow list (EnforceAllowList) must admit vmrsched too.",
            (
                "— https://learn.microsoft.com/exchange/client-developer/exchange-web-services/"
                "how-to-control-access-to-ews-in-exchange"
            ),
        ),
        (
            "$Org = Get-OrganizationConfig",
            (
                "$AllowedIds = @(((Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy)"
                ".EwsAllowedAppIDs -join ',') -split ',' | ForEach-Object { $_.Trim() } | "
                "Where-Object { $_ })"
            ),
            "if ($AllowedIds -notcontains $App.AppId) {",
            (
                "    Set-OrganizationConfig -EwsAllowedAppIDs ((@($AllowedIds) + $App.AppId) "
                "-join ',')"
            ),
            "}",
            "if ($null -eq $Org.EwsEnabled) {",
            (
                "    Write-Warning 'EwsEnabled is unset: every app may use EWS for now. "
                "Set it to $true "
                "(only listed apps) once your other EWS apps are listed: Set-OrganizationConfig "
                "-EwsEnabled $true'"
            ),
            "} elseif (-not $Org.EwsEnabled) {",
            "    Set-OrganizationConfig -EwsEnabled $true",
            "}",
            *user_agent_lines(),
            "if ((Get-CASMailbox -Identity $ResourceMailbox).EwsEnabled -eq $false) {",
            "    Set-CASMailbox -Identity $ResourceMailbox -EwsEnabled $true",
            "}",
            "# Organizers' mailboxes need EWS as well; list those where it is off:",
            "# Get-CASMailbox -ResultSize Unlimited | Where-Object { $_.EwsEnabled -eq $false }",
        ),
        (
            command(
                "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List "
                "EwsAllowedAppIDs"
            ),
            command(
                "Set-OrganizationConfig -EwsAllowedAppIDs '<the IDs listed above>,"
                "<Application (client) ID>'"
            ),
            command("Set-OrganizationConfig -EwsEnabled $true"),
            command(
                f"Set-CASMailbox -Identity {ps_string(values.resource_mailbox)} -EwsEnabled $true"
            ),
        ),
    )


def user_agent_lines() -> tuple[str, ...]:
    """Admit vmrsched's User-Agent where an EWS user-agent allow list is enforced."""
    return (
        f"$UserAgent = '{USER_AGENT}'",
        (
            "if ($Org.EwsApplicationAccessPolicy -eq 'EnforceAllowList' -and "
            "-not ($Org.EwsAllowList | Where-Object { $UserAgent -like $_ })) {"
        ),
        "    Set-OrganizationConfig -EwsAllowList (@($Org.EwsAllowList) + ($UserAgent + '*'))",
        "}",
        (
            "if ($Org.EwsApplicationAccessPolicy -eq 'EnforceBlockList' -and "
            "($Org.EwsBlockList | Where-Object { $UserAgent -like $_ })) {"
        ),
        (
            "    Write-Warning ('EwsBlockList blocks the user agent {0}: remove that entry' "
            "-f $UserAgent)"
        ),
        "}",
    )
