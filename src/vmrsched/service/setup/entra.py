"""The Entra ID steps, scripted with Microsoft Graph PowerShell.

The app registration lists the application permission vmrsched needs and gets no redirect URI
(a daemon signs in with client credentials only); a client secret with an expiry; the service
principal (enterprise application). Admin consent is deliberately never granted: a tenant-wide
grant would give the app every mailbox and void the Exchange management scope (REFERENCES.md §1,
"Consent pitfall"); Exchange grants the scoped role instead.
— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/new-mgapplication
— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/add-mgapplicationpassword
— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/new-mgserviceprincipal
"""

from __future__ import annotations

from vmrsched.service.setup.permissions import APP_ROLES, EXCHANGE_ONLINE_APP_ID
from vmrsched.service.setup.steps import Step
from vmrsched.service.setup.values import SetupValues, Target

_ENTRA: str = "Entra admin center (https://entra.microsoft.com)"


def entra_steps(values: SetupValues) -> list[Step]:
    """Sign in, app registration, client secret, service principal, the no-consent check."""
    steps = [_sign_in(), _registration(values), _secret(values), _service_principal(values)]
    steps.append(_no_consent(values))
    if values.target is Target.EXCHANGE_SERVER:
        steps.append(_token_audience(values))
    return steps


def _sign_in() -> Step:
    return Step(
        "Sign in to Microsoft Graph",
        (
            "Microsoft Graph PowerShell creates the app registration: no portal click remains.",
            "Needs: Install-Module Microsoft.Graph.Applications -Scope CurrentUser, and an",
            "account that may create app registrations (Application Administrator).",
        ),
        (
            "Import-Module Microsoft.Graph.Applications",
            "Connect-MgGraph -Scopes 'Application.ReadWrite.All' -NoWelcome",
            "$TenantId = (Get-MgContext).TenantId",
        ),
        (
            f"Sign in to the {_ENTRA} as an Application Administrator.",
            "Copy Overview -> Tenant ID: it is part of [exchange] token_endpoint (step 'Paste').",
        ),
    )


def _registration(values: SetupValues) -> Step:
    roles = APP_ROLES[values.api]
    resources = sorted({role.resource_app_id for role in roles})
    access = ["$RequiredAccess = @("]
    for resource in resources:
        name = next(role.resource_name for role in roles if role.resource_app_id == resource)
        access.append(f"    @{{ ResourceAppId = '{resource}'  # {name}")
        access.append("       ResourceAccess = @(")
        access.extend(
            f"           @{{ Id = '{role.role_id}'; Type = 'Role' }}  # {role.name}"
            for role in roles
            if role.resource_app_id == resource
        )
        access.append("       ) }")
    access.append(")")
    listed = ", ".join(f"{role.resource_name} -> {role.name}" for role in roles)
    return Step(
        "Register the app (no redirect URI, permissions listed but not consented)",
        (
            f"Lists the application permission(s) {listed}.",
            "Listing is not granting: the script never grants admin consent (see below).",
            "Single tenant, no redirect URI: vmrsched signs in with client credentials only.",
            "— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/new-mgapplication",
        ),
        (
            *access,
            "$AppFilter = 'displayName eq ''{0}''' -f ($AppName -replace \"'\", \"''\")",
            "$Found = @(Get-MgApplication -Filter $AppFilter)",
            "if ($Found.Count -gt 1) {",
            (
                "    throw ('{0} app registrations are named {1}: rename or delete the extra ones, "
                "then run again' -f $Found.Count, $AppName)"
            ),
            "} elseif ($Found.Count -eq 1) {",
            (
                "    Update-MgApplication -ApplicationId $Found[0].Id -RequiredResourceAccess "
                "$RequiredAccess"
            ),
            "    $App = Get-MgApplication -ApplicationId $Found[0].Id",
            (
                "    Write-Host ('App registration {0} exists ({1}); permissions listed again' "
                "-f $AppName, $App.AppId)"
            ),
            "} else {",
            (
                "    $App = New-MgApplication -DisplayName $AppName -SignInAudience 'AzureADMyOrg' "
                "-RequiredResourceAccess $RequiredAccess"
            ),
            "    Write-Host ('Created app registration {0} ({1})' -f $AppName, $App.AppId)",
            "}",
        ),
        (
            "App registrations -> New registration.",
            (
                f"  Name: {values.app_name}; Supported account types: this organizational directory"
                " only; Redirect URI: leave empty. Register."
            ),
            "Copy Overview -> Application (client) ID into [exchange] client_id.",
            "API permissions -> Add a permission -> "
            + (
                "APIs my organization uses -> Office 365 Exchange Online -> Application "
                "permissions -> full_access_as_app."
                if values.api.value == "ews"
                else "Microsoft Graph -> Application permissions -> Calendars.ReadWrite, "
                "Mail.ReadWrite, Mail.Send."
            ),
            (
                "  Do NOT press 'Grant admin consent': the Exchange steps below grant the same "
                "permission limited to your group; consent would open every mailbox."
            ),
        ),
    )


def _secret(values: SetupValues) -> Step:
    return Step(
        "Add a client secret with an expiry",
        (
            "Added only when no secret of this app lives longer than 30 more days (or when",
            "$NewSecret is $true): run again safely. Entra shows a secret's value only once.",
            "— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/add-mgapplicationpassword",
        ),
        (
            "$Now = (Get-Date).ToUniversalTime()",
            (
                "$Valid = @($App.PasswordCredentials | Where-Object { $_.DisplayName -eq $AppName "
                "-and $_.EndDateTime -gt $Now.AddDays(30) })"
            ),
            "$SecretText = $null",
            "if ($NewSecret -or $Valid.Count -eq 0) {",
            (
                "    $Secret = Add-MgApplicationPassword -ApplicationId $App.Id "
                "-PasswordCredential "
                "@{ DisplayName = $AppName; EndDateTime = $Now.AddMonths($SecretMonths) }"
            ),
            "    $SecretText = $Secret.SecretText",
            "    $SecretExpires = $Secret.EndDateTime.ToUniversalTime().ToString('yyyy-MM-dd')",
            "} else {",
            "    $Latest = $Valid | Sort-Object EndDateTime -Descending | Select-Object -First 1",
            "    $SecretExpires = $Latest.EndDateTime.ToUniversalTime().ToString('yyyy-MM-dd')",
            (
                "    Write-Host 'A valid client secret exists, so none was added; its "
                "value was shown "
                "when it was made. Set $NewSecret = $true to add another.'"
            ),
            "}",
        ),
        (
            (
                f"Certificates & secrets -> New client secret; description {values.app_name}, "
                f"expires in {values.secret_months} months."
            ),
            (
                "Copy its Value (not the Secret ID) at once into VMRSCHED_EXCHANGE__CLIENT_SECRET "
                "(or [exchange] client_secret)."
            ),
            (
                "Copy its Expires date into [exchange] client_secret_expires (e.g. 2027-11-24): "
                "vmrsched doctor warns 30 days before."
            ),
        ),
    )


def _service_principal(values: SetupValues) -> Step:
    return Step(
        "Create the service principal (enterprise application)",
        (
            "Exchange's role assignment names the app by this object's id.",
            "— https://learn.microsoft.com/powershell/module/microsoft.graph.applications/new-mgserviceprincipal",
        ),
        (
            "$Sp = Get-MgServicePrincipal -Filter ('appId eq ''{0}''' -f $App.AppId)",
            "if (-not $Sp) { $Sp = New-MgServicePrincipal -AppId $App.AppId }",
        ),
        (
            f"Enterprise applications -> {values.app_name} (the portal made it at registration).",
            "Copy its Object ID: the Exchange step New-ServicePrincipal needs it as -ObjectId"
            if values.target is Target.EXCHANGE_ONLINE
            else "Nothing to copy: Exchange Server identifies the app by its client ID.",
        ),
    )


def _no_consent(values: SetupValues) -> Step:
    return Step(
        "Check that no admin consent was granted",
        (
            "Tenant-wide consent for full_access_as_app, Calendars.* or Mail.* adds to the scoped",
            "Exchange role and opens every mailbox: the scope would mean nothing.",
        ),
        (
            "$Granted = @(Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $Sp.Id)",
            "if ($Granted.Count -gt 0) {",
            (
                "    Write-Warning ('{0} has {1} tenant-wide application permission(s) "
                "granted (admin "
                "consent): they void the management scope. Remove them: Enterprise applications -> "
                "{0} -> Permissions.' -f $AppName, $Granted.Count)"
            ),
            "}",
        ),
        (
            (
                f"Enterprise applications -> {values.app_name} -> Permissions: 'Admin "
                "consent' must "
                "list nothing. Revoke anything listed there."
            ),
        ),
    )


def _token_audience(values: SetupValues) -> Step:
    return Step(
        "Check that Entra issues tokens for your Exchange Server",
        (
            "vmrsched asks for https://<EWS host>/.default. Entra answers only when that URL is a",
            "service principal name of Office 365 Exchange Online, which Hybrid Modern",
            (
                "Authentication adds. https://learn.microsoft.com/microsoft-365/enterprise/"
                "configure-exchange-server-for-hybrid-modern-authentication"
            ),
        ),
        (
            f"$ExchangeSp = Get-MgServicePrincipal -Filter 'appId eq ''{EXCHANGE_ONLINE_APP_ID}'''",
            (
                "if ($ExchangeSp.ServicePrincipalNames -notcontains $EwsOrigin -and "
                "$ExchangeSp.ServicePrincipalNames -notcontains ($EwsOrigin + '/')) {"
            ),
            (
                "    Write-Warning ('{0} is not a service principal name of Office 365 Exchange "
                "Online: configure Hybrid Modern Authentication for Exchange Server first' "
                "-f $EwsOrigin)"
            ),
            "}",
        ),
        (
            (
                "Enterprise applications -> Office 365 Exchange Online: its service "
                "principal names "
                f"must include {values.ews_origin} (Hybrid Modern Authentication adds it)."
            ),
        ),
    )
