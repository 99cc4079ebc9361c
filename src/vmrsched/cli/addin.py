"""``vmrsched addin-manifest``: the add-in's manifest, and the commands that deploy it.

``--deploy-commands`` prints, for this installation, the Entra app registration values and the
PowerShell that makes the add-in visible to the scheduling group only: Microsoft 365 centralized
deployment (module ``O365CentralizedAddInDeployment``) and Exchange Server (``New-App
-OrganizationApp``). Every value is quoted for PowerShell (single quotes, ``'`` doubled), so a
label or address cannot break out of its string. Explained in ``docs/howto/deploy-addin.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from vmrsched.cli.edge import OK, UsageError
from vmrsched.service.setup.quoting import UnsafeValueError, ps_string
from vmrsched.web.manifest import ManifestError, build_manifest, manifest_id

if TYPE_CHECKING:
    from pathlib import Path

    from vmrsched.config import Settings

GROUP_PLACEHOLDER = "<scheduling group address>"


def ps_quote(value: str) -> str:
    """``value`` as a PowerShell single-quoted string (no expansion; ``'`` and its look-alikes
    doubled, as PowerShell treats the typographic quotes as quotes too); UnsafeValueError for a
    control or invisible character (a bidirectional override would make the script read
    differently from how it runs), as ``vmrsched setup-script`` refuses them."""
    return ps_string(value)


def addin_manifest(
    settings: Settings,
    out: TextIO,
    *,
    output: Path | None = None,
    deploy_commands: bool = False,
    group: str = "",
) -> int:
    """Print (or write to ``output``) the manifest; with ``deploy_commands`` the commands too."""
    try:
        manifest = build_manifest(settings)
    except ManifestError as exc:
        raise UsageError(str(exc), fix=exc.fix) from exc
    if deploy_commands:
        try:
            commands = deployment_commands(settings, group or GROUP_PLACEHOLDER)
        except UnsafeValueError as exc:
            raise UsageError(f"--group: {exc}", fix="give the group's e-mail address") from exc
        print(commands, file=out)
        return OK
    if output is not None:
        output.write_text(manifest, encoding="utf-8")
        print(f"wrote {output} (manifest id {manifest_id(settings)})", file=out)
        return OK
    out.write(manifest)
    return OK


def deployment_commands(settings: Settings, group: str) -> str:
    """The deployment steps for ``settings`` with every value quoted."""
    public = settings.web.public_url.rstrip("/")
    host = urlsplit(public).netloc or "<host>"  # NAA's redirect is the origin: host and port
    addin = settings.addin
    product = manifest_id(settings)
    manifest_url = f"{public}/addin/manifest.xml"
    api_uri = addin.api_id_uri or f"api://{host}/<API app's client id>"
    lines = [
        "# 1. Entra ID app registrations (Entra admin center → App registrations)",
        f"#    API app: Expose an API → Application ID URI = {api_uri}",
        f"#             add the delegated scope {addin.scope!s} (admins and users may consent);",
        "#             Manifest → accessTokenAcceptedVersion = 2 (v2.0 tokens)",
        (
            f"#    Add-in app: Authentication → Single-page application → redirect URI "
            f"brk-multihub://{host}"
        ),
        f"#             API permissions → the API app → {addin.scope} → Grant admin consent",
        "#    Then set in vmrsched.toml: [addin] client_id (add-in app), api_client_id, api_id_uri",
        "",
        "# 2a. Microsoft 365: centralized deployment (Integrated apps) to the scheduling group",
        "Install-Module -Name O365CentralizedAddInDeployment -Scope CurrentUser",
        "Import-Module -Name O365CentralizedAddInDeployment",
        "Connect-OrganizationAddInService",
        f"Invoke-WebRequest -Uri {ps_quote(manifest_url)} -OutFile 'vmrsched-manifest.xml'",
        (
            "New-OrganizationAddIn -ManifestPath (Resolve-Path 'vmrsched-manifest.xml') "
            "-Locale 'en-US'"
        ),
        (
            f"Set-OrganizationAddInAssignments -ProductId {ps_quote(product)} -Add "
            f"-Members {ps_quote(group)}"
        ),
        "",
        "# 2b. Exchange Server (Exchange Management Shell): an organization add-in, group only",
        (
            f"$members = (Get-DistributionGroupMember -Identity {ps_quote(group)}"
            " -ResultSize Unlimited).Identity"
        ),
        (
            f"New-App -OrganizationApp -Url {ps_quote(manifest_url)} "
            "-ProvidedTo SpecificUsers -UserList $members -DefaultStateForUser Enabled"
        ),
        (
            "#    or from a file: New-App -OrganizationApp -FileData "
            "([System.IO.File]::ReadAllBytes('C:\\vmrsched-manifest.xml')) "
            "-ProvidedTo SpecificUsers -UserList $members -DefaultStateForUser Enabled"
        ),
        (
            "#    members added to the group later: run Set-App -OrganizationApp -Identity "
            f"{ps_quote(product)} -ProvidedTo SpecificUsers -UserList $members again"
        ),
    ]
    return "\n".join(lines)
