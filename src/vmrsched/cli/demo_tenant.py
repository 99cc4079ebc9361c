"""The demo tenant as vmrsched sees it: the app registration's ids and fake secret, the resource
mailbox, the service's settings for a running simulator, and the sample organizers' mail client.

Used by ``vmrsched demo`` (`vmrsched.cli.demo`), the tests and the benchmarks. Like the demo, it
imports exchangesim, which only the CLI may do (import-linter checks that).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from exchangelib import (
    IMPERSONATION,
    OAUTH2,
    Account,
    Build,
    Configuration,
    FaultTolerance,
    Identity,
    OAuth2Credentials,
    Version,
)

from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant
from vmrsched.web.manifest import build_manifest
from vmrsched.web.server import split_listen

if TYPE_CHECKING:
    from pathlib import Path

    from exchangesim.server import RunningServer
    from exchangesim.tenant import Tenant
    from vmrsched.config import Settings

#: The vmrsched app registration of the demo tenant and its (fake, demo-only) working secret.
DEMO_APP: Final = "522d29f1-c520-4cd7-bd5d-565f738f599b"
DEMO_SECRET: Final = "demo-vmrsched-secret-2026-not-real"  # noqa: S105 - the demo tenant's fake
#: When the demo secret expires (the demo tenant's apps.secrets entry).
DEMO_SECRET_EXPIRES: Final = "2028-06-30"  # noqa: S105 - a date, not a secret
RESOURCE: Final = "vmr@contoso.com"
DEMO_ADDIN_APP: Final = "de7b0c42-b3d8-4e98-8521-6498b2ab8387"
DEMO_ADDIN_API: Final = "419b3972-c210-4c86-8bea-05f535b94611"


def tenant_for(api: str, tenant: Tenant | None = None) -> Tenant:
    """The demo tenant (or `tenant`) as ``api`` needs it. For ``"graph"`` the resource mailbox
    has the Calendar Attendant on (``AutomateProcessing AutoUpdate``,
    ``AddNewRequestsTentatively``): Graph answers a meeting on the event the attendant puts on
    the calendar (docs/explanation/graph-calendar-processing.md)."""
    tenant = tenant or demo_tenant()
    if api != "graph":
        return tenant
    resources = []
    for found in tenant.resources:
        kept = found
        if found.email == RESOURCE:
            processing = dataclasses.replace(
                found.calendar_processing,
                automate_processing="AutoUpdate",
                add_new_requests_tentatively=True,
            )
            kept = dataclasses.replace(found, calendar_processing=processing)
        resources.append(kept)
    return dataclasses.replace(tenant, resources=tuple(resources))


def demo_simulator(api: str = "ews") -> Simulator:
    """The simulator with the demo tenant set up for ``api`` (`tenant_for`)."""
    return Simulator.from_tenant(tenant_for(api))


def demo_settings(
    server: RunningServer, folder: Path, listen: str, api: str = "ews"
) -> dict[str, Any]:
    """The configuration the demo runs the service with (also written to vmrsched.toml)."""
    raw = _demo_settings(server, folder, listen)
    if api == "graph":
        raw["exchange"] |= {
            "api": "graph",
            "graph_url": f"{server.base_url}/v1.0",
            # The simulator answers for Graph's resource, whatever its own host name.
            "token_scope": "https://graph.microsoft.com/.default",
        }
    return raw


def _demo_settings(server: RunningServer, folder: Path, listen: str) -> dict[str, Any]:
    return {
        "exchange": {
            "api": "ews",
            "ews_url": server.ews_url,
            "token_endpoint": server.token_endpoint,
            "client_id": DEMO_APP,
            "client_secret": DEMO_SECRET,
            "resource_mailbox": RESOURCE,
            "ca_bundle": str(server.ca_file),
            "client_secret_expires": DEMO_SECRET_EXPIRES,
            # The simulator answers for Exchange Online's resource, whatever its own host name.
            "token_scope": "https://outlook.office365.com/.default",
        },
        "aliases": {"prefix": "81", "domain": "vmr.contoso.com"},
        "database": {"url": f"sqlite:///{folder / 'vmrsched.sqlite'}"},
        "web": {"listen": listen},
        "video": {"join_url": "https://meet.contoso.com/webapp/m/{alias}"},
        "service": {
            "poll_interval_seconds": 5,
            "installation_key_file": str(folder / "vmrsched.key"),
        },
    } | _demo_addin(server, listen)


def _demo_addin(server: RunningServer, listen: str) -> dict[str, Any]:
    """The add-in's settings for the demo tenant's registrations (users' tokens come from the
    simulator's password grant), when the web API listens on loopback (plain http is allowed
    only there)."""
    host, _ = split_listen(listen)
    if host not in ("127.0.0.1", "localhost", "::1"):
        return {}
    return {
        "web": {"listen": listen, "public_url": f"http://{listen}"},
        "addin": {
            "client_id": DEMO_ADDIN_APP,
            "api_client_id": DEMO_ADDIN_API,
            "api_id_uri": f"api://vmrsched.contoso.com/{DEMO_ADDIN_API}",
            "authority_url": server.base_url,
            # Exchange Server's sign-in too (hybrid): the simulator issues identity tokens for
            # the add-in once `install_demo_addin` has installed its manifest.
            "exchange_metadata_urls": [server.auth_metadata_url],
        },
    }


def install_demo_addin(server: RunningServer, settings: Settings) -> None:
    """Install vmrsched's manifest in the simulator as an organization add-in (``New-App``), so
    that Exchange identity tokens can be had for it; nothing without the add-in's settings."""
    if settings.addin.exchange_metadata_urls and settings.web.public_url:
        server.admin().install_addin(build_manifest(settings))


def organizer_account(server: RunningServer, email: str) -> Account:
    """An exchangelib account for a sample organizer, as their mail client would have it."""
    token_url = server.token_endpoint

    class DemoCredentials(OAuth2Credentials):  # type: ignore[misc]  # exchangelib is untyped
        @property
        def token_url(self) -> str:  # the simulator's token endpoint instead of Entra's
            return token_url

    credentials = DemoCredentials(
        client_id=DEMO_APP,
        client_secret=DEMO_SECRET,
        tenant_id=server.sim.tenant.tenant_id,
        identity=Identity(primary_smtp_address=email),
    )
    config = Configuration(
        service_endpoint=server.ews_url,
        credentials=credentials,
        auth_type=OAUTH2,
        version=Version(build=Build(15, 20)),
        retry_policy=FaultTolerance(max_wait=30),
    )
    return Account(
        primary_smtp_address=email, config=config, autodiscover=False, access_type=IMPERSONATION
    )
