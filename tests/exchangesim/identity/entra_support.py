"""Shared test data for the simulated Entra ID: the test tenant, a hand-moved clock, a host."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

    from exchangesim.identity import TokenIssuer
    from exchangesim.tenant import Tenant

TENANT_ID = "6a1b7c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
SCOPED_APP = "0f2a4b6c-8d0e-4f1a-9b3c-5d7e9f1a3b5c"
CONSENTED_APP = "1e3c5a7b-9d1f-4e2a-8b4c-6d8e0f2a4b6c"
EXPIRED_APP = "2d4b6c8e-0f2a-4b3c-9d5e-7f9a1b3c5d7e"
BARE_APP = "3c5d7e9f-1a3b-4c4d-8e6f-0a2b4c6d8e0f"
SCOPED_SECRET = "scoped-app-secret-value"
START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

TENANT_TOML = f"""
[tenant]
id = "{TENANT_ID}"
domain = "contoso.com"
display_name = "Contoso"
other_domains = ["contoso.onmicrosoft.com"]

[[users]]
email = "alice@contoso.com"
display_name = "Alice Wilber"

[[users]]
email = "bob@contoso.com"
display_name = "Bob Kelly"

[[users]]
email = "carol@contoso.com"
display_name = "Carol Ortiz"

[[resources]]
email = "vmr@contoso.com"
display_name = "Video Meeting Room"
calendar_default_permission = "None"

[resources.calendar_processing]
automate_processing = "None"
allow_conflicts = true

[[groups]]
email = "schedulers@contoso.com"
display_name = "VMR Schedulers"
members = ["vmr@contoso.com", "alice@contoso.com", "team@contoso.com"]

[[groups]]
email = "team@contoso.com"
display_name = "Team"
members = ["carol@contoso.com"]

[[apps]]
client_id = "{SCOPED_APP}"
display_name = "vmrsched"
application_permissions = ["full_access_as_app", "Calendars.ReadWrite"]

[[apps.secrets]]
value = "{SCOPED_SECRET}"
expires = 2028-01-01T00:00:00Z

[[apps.role_assignments]]
role = "Application EWS.AccessAsApp"
scope_group = "schedulers@contoso.com"

[[apps.role_assignments]]
role = "Application Calendars.ReadWrite"
scope_filter = "MemberOfGroup -eq 'CN=VMR Schedulers,OU=contoso.onmicrosoft.com,DC=prod'"

[[apps]]
client_id = "{CONSENTED_APP}"
display_name = "Legacy Room Sync"
application_permissions = ["full_access_as_app", "Calendars.ReadWrite", "Mail.Send"]
admin_consent = true

[[apps.secrets]]
value = "consented-app-secret"
expires = 2028-01-01T00:00:00Z

[[apps]]
client_id = "{EXPIRED_APP}"
display_name = "Forgotten App"
application_permissions = ["full_access_as_app"]
admin_consent = true

[[apps.secrets]]
value = "expired-app-secret"
expires = 2026-10-01T00:00:00Z

[[apps]]
client_id = "{BARE_APP}"
display_name = "No Permissions"

[[apps.secrets]]
value = "bare-app-secret"
expires = 2028-01-01T00:00:00Z
"""


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class Host:
    """The slice of the simulator the identity routes read."""

    tenant: Tenant
    issuer: TokenIssuer
    clock: FakeClock
    knobs: Any = None


@dataclass
class Knobs:
    token_outage: object = False


@dataclass
class TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""

    ca_file: Path
    server_context: ssl.SSLContext = field(repr=False)
