"""The setup script and checklist: every step, the exact settings, and values that cannot escape."""

from __future__ import annotations

import re

import pytest
from powershell_text import assignments, code_only, unbalanced

from vmrsched.service.setup import (
    Api,
    SetupValueError,
    SetupValues,
    Target,
    ps_string,
    render_checklist,
    render_script,
    setup_steps,
)
from vmrsched.service.setup.permissions import CALENDAR_PROCESSING

EWS_PROCESSING = (
    "Set-CalendarProcessing -Identity $ResourceMailbox -AutomateProcessing None "
    "-AllowConflicts $true -BookingWindowInDays 1080 -MaximumDurationInMinutes 0 "
    "-AllowRecurringMeetings $true -EnforceSchedulingHorizon $false "
    "-ScheduleOnlyDuringWorkHours $false -ConflictPercentageAllowed 100 "
    "-MaximumConflictInstances 2147483647 -DeleteComments $false -DeleteSubject $false"
)
COMBINATIONS = [
    (Target.EXCHANGE_ONLINE, Api.EWS),
    (Target.EXCHANGE_ONLINE, Api.GRAPH),
    (Target.EXCHANGE_SERVER, Api.EWS),
]


def values(target: Target = Target.EXCHANGE_ONLINE, api: Api = Api.EWS, **chosen) -> SetupValues:
    chosen.setdefault("resource_mailbox", "vmr@contoso.com")
    chosen.setdefault("ews_url", "https://mail.contoso.com/EWS/Exchange.asmx")
    return SetupValues.checked(target=target, api=api, **chosen)


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_script_has_balanced_brackets_and_stops_at_the_first_error(target, api) -> None:
    """Every bracket closes (outside strings and comments); errors stop the script."""
    script = render_script(values(target, api))
    assert unbalanced(script) == ""
    assert "$ErrorActionPreference = 'Stop'" in script
    assert "Set-StrictMode -Version Latest" in script


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_mailbox_steps_are_there_with_their_exact_parameters(target, api) -> None:
    """Equipment mailbox, calendar processing and its check, Default None, the group lookup."""
    script = render_script(values(target, api))
    assert (
        "New-Mailbox -Equipment -Name $ResourceName -Alias $ResourceAlias -DisplayName "
        "$ResourceDisplayName -PrimarySmtpAddress $ResourceMailbox"
    ) in script
    assert "Get-CalendarProcessing -Identity $ResourceMailbox | Format-List" in script
    assert (
        "Set-MailboxFolderPermission -Identity ($ResourceMailbox + ':\\Calendar') -User Default "
        "-AccessRights None"
    ) in script
    assert "Get-DistributionGroup -Identity $GroupName" in script
    assert "'MemberOfGroup -eq ''{0}''' -f ($GroupDn" in script
    assert "$GroupDn = $Group.DistinguishedName" in script
    assert "New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $ScopeFilter" in script


def test_ews_calendar_processing_is_exactly_the_issue_s_flags() -> None:
    """Exactly the listed flags plus DeleteComments and DeleteSubject off, nothing else."""
    script = render_script(values())
    [line] = [line for line in script.splitlines() if line.startswith("Set-CalendarProcessing")]
    assert line == EWS_PROCESSING


def test_graph_calendar_processing_lets_the_calendar_attendant_add_tentative_events() -> None:
    """Graph: AutoUpdate with AddNewRequestsTentatively $true; every other flag as for EWS."""
    script = render_script(values(api=Api.GRAPH))
    [line] = [line for line in script.splitlines() if line.startswith("Set-CalendarProcessing")]
    assert line == EWS_PROCESSING.replace(
        "-AutomateProcessing None",
        "-AutomateProcessing AutoUpdate -AddNewRequestsTentatively $true",
    )
    assert CALENDAR_PROCESSING[Api.GRAPH][2:] == CALENDAR_PROCESSING[Api.EWS][1:]


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_app_registration_has_no_redirect_uri_a_secret_with_expiry_and_no_consent(
    target, api
) -> None:
    """New-MgApplication without a redirect URI, a dated secret, the service principal, no grant."""
    script = render_script(values(target, api))
    assert (
        "New-MgApplication -DisplayName $AppName -SignInAudience 'AzureADMyOrg' "
        "-RequiredResourceAccess $RequiredAccess"
    ) in script
    assert not re.search(r"RedirectUri|-Web\b|-PublicClient|-Spa\b", script)
    assert "Add-MgApplicationPassword -ApplicationId $App.Id -PasswordCredential" in script
    assert "EndDateTime = $Now.AddMonths($SecretMonths)" in script
    assert "New-MgServicePrincipal -AppId $App.AppId" in script
    code = code_only(script)
    assert "New-MgServicePrincipalAppRoleAssignment" not in code  # admin consent
    assert "New-MgOauth2PermissionGrant" not in code
    assert "Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $Sp.Id" in script


def test_ews_lists_full_access_as_app_of_exchange_online_and_grants_ews_access_as_app() -> None:
    """The Exchange resource app and full_access_as_app role ids; the scoped EWS.AccessAsApp."""
    script = render_script(values())
    assert "ResourceAppId = '00000002-0000-0ff1-ce00-000000000000'" in script
    assert "Id = 'dc890d15-9560-4a4c-9b7f-a736ec74ec40'; Type = 'Role'" in script
    assert "foreach ($Role in @('Application EWS.AccessAsApp'))" in script
    assert (
        "New-ManagementRoleAssignment -Name $AssignmentName -Role $Role -App $Sp.Id "
        "-CustomResourceScope $ScopeName"
    ) in script
    assert "New-ServicePrincipal -AppId $App.AppId -ObjectId $Sp.Id -DisplayName $AppName" in script
    assert (
        "Test-ServicePrincipalAuthorization -Identity $App.AppId -Resource $ResourceMailbox"
        in script
    )


def test_graph_lists_the_three_graph_roles_and_grants_their_scoped_twins() -> None:
    """Calendars.ReadWrite, Mail.ReadWrite, Mail.Send: Graph ids listed, Exchange roles scoped."""
    script = render_script(values(api=Api.GRAPH))
    assert "ResourceAppId = '00000003-0000-0000-c000-000000000000'" in script
    for role_id in (
        "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
        "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    ):
        assert f"Id = '{role_id}'; Type = 'Role'" in script
    assert (
        "foreach ($Role in @('Application Calendars.ReadWrite', 'Application Mail.ReadWrite', "
        "'Application Mail.Send'))"
    ) in script
    assert "full_access_as_app" not in code_only(script)
    assert "EwsAllowedAppIDs" not in script


def test_ews_on_exchange_online_enables_ews_and_adds_the_app_to_the_allow_list() -> None:
    """EwsEnabled $true and the app id appended to the read-back EwsAllowedAppIDs list."""
    script = render_script(values())
    assert "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy" in script
    assert (
        "Set-OrganizationConfig -EwsAllowedAppIDs ((@($AllowedIds) + $App.AppId) -join ',')"
        in script
    )
    assert "Set-OrganizationConfig -EwsEnabled $true" in code_only(script).replace('""', "")
    assert "Set-CASMailbox -Identity $ResourceMailbox -EwsEnabled $true" in script
    assert "EnforceAllowList" in script
    assert "2026-10-01" in script
    assert "2027-04-01" in script


def test_exchange_server_uses_scoped_impersonation_and_no_cloud_only_cmdlets() -> None:
    """Partner application + ApplicationImpersonation in the scope; no EXO-only cmdlets."""
    script = render_script(values(Target.EXCHANGE_SERVER))
    code = code_only(script)
    assert (
        "New-PartnerApplication -Name $AppName -ApplicationIdentifier $App.AppId "
        "-LinkedAccount $Mailbox.DistinguishedName"
    ) in script
    assert (
        "New-ManagementRoleAssignment -Name $AssignmentName -Role 'ApplicationImpersonation' "
        "-User $Mailbox.DistinguishedName -CustomRecipientWriteScope $ScopeName"
    ) in script
    assert "Get-AuthServer" in script
    assert "$EwsOrigin" in script
    assert assignments(script)["EwsOrigin"] == "https://mail.contoso.com"
    for cloud_only in (
        "Connect-ExchangeOnline",
        "New-ServicePrincipal ",
        "EwsAllowedAppIDs",
        "-App ",
    ):
        assert cloud_only not in code, cloud_only


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_every_create_is_guarded_so_the_script_can_run_again(target, api) -> None:
    """Each New-*/Add-* call sits inside a block that first looked for the object."""
    creators = re.compile(
        r"\b(New-Mailbox|New-MgApplication|New-MgServicePrincipal|Add-MgApplicationPassword|"
        r"New-DistributionGroup|Add-DistributionGroupMember|New-ServicePrincipal|"
        r"New-ManagementScope|New-ManagementRoleAssignment|New-PartnerApplication)\b"
    )
    for line in code_only(render_script(values(target, api))).splitlines():
        if creators.search(line):
            assert line.startswith(("    ", "if (")), line


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_troubleshooting_step_is_there_but_commented_out(target, api) -> None:
    """Add-MailboxPermission for a delegate admin appears only as a comment."""
    script = render_script(values(target, api))
    assert (
        "# Add-MailboxPermission -Identity $ResourceMailbox -User $DelegateAdmin -AccessRights "
        "FullAccess -InheritanceType All -AutoMapping $false"
    ) in script
    assert "Add-MailboxPermission" not in code_only(script)


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_script_ends_by_printing_the_configuration_lines(target, api) -> None:
    """client_id, the v2 token endpoint of the signed-in tenant and the secret's expiry."""
    script = render_script(values(target, api))
    tail = script[script.index("Paste the configuration") :]
    assert "'https://login.microsoftonline.com/{0}/oauth2/v2.0/token' -f $TenantId" in tail
    assert "Write-Host ('client_id = \"{0}\"' -f $App.AppId)" in tail
    assert "Write-Host ('client_secret_expires = {0}' -f $SecretExpires)" in tail
    assert f"Write-Host 'api = \"{api.value}\"'" in tail
    assert "VMRSCHED_EXCHANGE__CLIENT_SECRET" in tail


HOSTILE_NAMES = [
    "O'Brien's rooms",
    "Rooms'; Remove-Mailbox -Identity ceo@contoso.com; '",
    "$(Remove-Item -Recurse C:\\)",
    "$env:USERNAME rooms",
    "a`b`$c` d",
    "semi;colon & pipe | rooms",
    "\u2018smart\u2019 \u201aquotes\u201b",
    'double "quoted" rooms',
    "# not a comment <# nor this #>",
    "@{ hash = 'table' }",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_stay_inside_their_single_quoted_literal(name: str) -> None:
    """Quotes, $, backticks, semicolons: each value reads back exactly, and only in the values."""
    chosen = values(resource_display_name=name, group_name=name[:64], app_name=name[:32])
    for target, api in COMBINATIONS:
        script = render_script(
            SetupValues.checked(
                target=target,
                api=api,
                resource_mailbox="vmr@contoso.com",
                resource_display_name=chosen.resource_display_name,
                group_name=chosen.group_name,
                app_name=chosen.app_name,
                ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
            )
        )
        read = assignments(script)
        assert read["ResourceDisplayName"] == chosen.resource_display_name
        assert read["GroupName"] == chosen.group_name
        assert read["AppName"] == chosen.app_name
        assert read["ScopeName"] == chosen.scope_name
        assert unbalanced(script) == ""
        after_values = script.split("# Your values", 1)[1].split("\n# ---", 1)[1]
        assert name[:30] not in after_values


def test_a_hostile_mailbox_local_part_reads_back_exactly() -> None:
    """A quote, a dollar and a backtick are legal in an alias and stay literal."""
    script = render_script(values(resource_mailbox="o'bri$en`x@contoso.com"))
    read = assignments(script)
    assert read["ResourceMailbox"] == "o'bri$en`x@contoso.com"
    assert read["ResourceAlias"] == "o'bri$en`x"
    assert unbalanced(script) == ""


def test_ps_string_doubles_every_quote_character_powershell_knows() -> None:
    """ASCII and the four typographic single quotes are doubled; nothing else changes."""
    assert ps_string("it's") == "'it''s'"
    assert (
        ps_string("\u2018a\u2019\u201a\u201b")
        == "'\u2018\u2018a\u2019\u2019\u201a\u201a\u201b\u201b'"
    )
    assert ps_string('$x `y "z"') == "'$x `y \"z\"'"


@pytest.mark.parametrize(
    "bad",
    ["two\nlines", "carriage\rreturn", "tab\there", "nul\x00", "bidi\u202eevil", "line\u2028sep"],
)
def test_control_and_invisible_characters_are_refused(bad: str) -> None:
    """Newlines, control, bidi and separator characters are refused with the code point named."""
    with pytest.raises(SetupValueError, match=r"U\+[0-9A-F]{4}"):
        values(resource_display_name=bad)
    with pytest.raises(ValueError, match=r"U\+"):
        ps_string(bad)


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"resource_mailbox": "not-an-address"}, "not an e-mail address"),
        ({"resource_mailbox": "semi;colon@contoso.com"}, "not an e-mail address"),
        ({"resource_mailbox": "vmr@contoso"}, "not an e-mail address"),
        ({"app_name": "x" * 33}, "at most 32"),
        ({"group_name": "x" * 65}, "at most 64"),
        ({"group_name": "  "}, "empty"),
        ({"secret_months": 25}, "not possible"),
        ({"secret_months": 0}, "not possible"),
    ],
)
def test_unusable_values_are_refused_with_a_fix(chosen, message) -> None:
    """Each refusal says what is wrong and carries a fix."""
    with pytest.raises(SetupValueError, match=message) as caught:
        values(**chosen)
    assert caught.value.fix


def test_graph_on_exchange_server_is_refused() -> None:
    """Graph reaches only Exchange Online mailboxes."""
    with pytest.raises(SetupValueError, match="Exchange Online mailboxes only"):
        values(Target.EXCHANGE_SERVER, Api.GRAPH)


def test_exchange_server_needs_an_https_ews_url() -> None:
    """The token audience comes from the EWS URL, so it must be https with a host."""
    with pytest.raises(SetupValueError, match="not an https URL"):
        values(Target.EXCHANGE_SERVER, ews_url="http://mail.contoso.com/EWS/Exchange.asmx")


@pytest.mark.parametrize(("target", "api"), COMBINATIONS)
def test_the_checklist_has_the_script_s_steps_in_the_same_order(target, api) -> None:
    """Same numbered titles; portal directions say what to copy where; no consent."""
    chosen = values(target, api)
    script, checklist = render_script(chosen), render_checklist(chosen)
    titles = [step.title for step in setup_steps(chosen)]
    for number, title in enumerate(titles, start=1):
        assert f"# Step {number}. {title}\n" in script
        assert f"\n{number}. {title}\n" in checklist
    assert "Do NOT press 'Grant admin consent'" in checklist
    assert "Application (client) ID into [exchange] client_id" in checklist
    assert "OAuth 2.0 token endpoint (v2)" in checklist
    assert "[exchange] client_secret_expires" in checklist
    assert "Value (not the Secret ID)" in checklist


def test_the_checklist_quotes_values_in_its_commands() -> None:
    """Commands to paste carry single-quoted values, so a quote in a name cannot break them."""
    checklist = render_checklist(values(resource_display_name="O'Brien rooms"))
    assert "-DisplayName 'O''Brien rooms'" in checklist
    assert EWS_PROCESSING.replace("$ResourceMailbox", "'vmr@contoso.com'") in checklist


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_checklist_commands_stay_well_formed_with_hostile_names(name: str) -> None:
    """Every PS> line of the checklist keeps its brackets balanced and its values literal."""
    for target, api in COMBINATIONS:
        chosen = SetupValues.checked(
            target=target,
            api=api,
            resource_mailbox="o'bri$en@contoso.com",
            resource_display_name=name,
            group_name=name[:64],
            ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
        )
        commands = [
            line.split("PS> ", 1)[1]
            for line in render_checklist(chosen).splitlines()
            if line.startswith("    PS> ")
        ]
        assert commands
        for line in commands:
            assert unbalanced(line) == "", line
            assert name[:20] not in code_only(line), line
