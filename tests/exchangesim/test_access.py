"""Which mailboxes an app or user may open, and how Exchange words each refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from exchangesim.access import MailboxAccessError, authorize_mailbox, check_ews_enabled
from exchangesim.identity import TokenIssuer, audiences, generate_signing_key
from exchangesim.tenant import parse_tenant

if TYPE_CHECKING:
    from exchangesim.identity import Principal, SigningKey
    from exchangesim.tenant import Tenant

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TENANT_ID = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b"
SCOPED = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
CONSENTED = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
BARE = "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f"
ORG_WIDE = "d4e5f6a7-b8c9-4d0e-9f2a-3b4c5d6e7f8a"
FULL_ACCESS = "e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8a9b"
ADDIN = "f6a7b8c9-d0e1-4f2a-9b4c-5d6e7f8a9b0c"

TENANT = f"""
[tenant]
id = "{TENANT_ID}"
domain = "contoso.com"

[organization]
ews_enabled = true
ews_allowed_app_ids = ["{SCOPED}", "{CONSENTED}"]

[[users]]
email = "alice@contoso.com"
display_name = "Alice"

[[users]]
email = "bob@contoso.com"
display_name = "Bob, not a scheduler"

[[users]]
email = "carol@contoso.com"
display_name = "Carol, in a nested group"

[[users]]
email = "erin@contoso.com"
display_name = "Erin, EWS off"
ews_enabled = false

[[resources]]
email = "vmr@contoso.com"
display_name = "VMR"

[[groups]]
email = "schedulers@contoso.com"
display_name = "Schedulers"
members = ["vmr@contoso.com", "alice@contoso.com", "erin@contoso.com", "team@contoso.com"]

[[groups]]
email = "team@contoso.com"
display_name = "Team"
members = ["carol@contoso.com"]

[[apps]]
client_id = "{SCOPED}"
display_name = "vmrsched"
application_permissions = ["full_access_as_app", "Calendars.ReadWrite", "Mail.ReadWrite"]

[[apps.role_assignments]]
role = "Application EWS.AccessAsApp"
scope_group = "schedulers@contoso.com"

[[apps.role_assignments]]
role = "Application Calendars.ReadWrite"
scope_group = "schedulers@contoso.com"

[[apps.role_assignments]]
role = "Application Mail.ReadWrite"
scope_group = "schedulers@contoso.com"

[[apps]]
client_id = "{CONSENTED}"
display_name = "Legacy Room Sync"
application_permissions = ["full_access_as_app", "Calendars.ReadWrite"]
admin_consent = true

[[apps.role_assignments]]
role = "Application EWS.AccessAsApp"
scope_group = "schedulers@contoso.com"

[[apps]]
client_id = "{BARE}"
display_name = "No permissions"

[[apps]]
client_id = "{ORG_WIDE}"
display_name = "Org-wide RBAC"

[[apps.role_assignments]]
role = "Application EWS.AccessAsApp"

[[apps]]
client_id = "{FULL_ACCESS}"
display_name = "Exchange Full Access"

[[apps.role_assignments]]
role = "Application Exchange Full Access"
scope_group = "schedulers@contoso.com"

[[apps]]
client_id = "{ADDIN}"
display_name = "VMR add-in"
"""


@dataclass
class Sim:
    tenant: Tenant


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(NOW)


@pytest.fixture
def sim() -> Sim:
    return Sim(parse_tenant(TENANT))


@pytest.fixture
def issuer(sim: Sim, key: SigningKey) -> TokenIssuer:
    return TokenIssuer(sim.tenant, lambda: NOW, key=key)


def app_principal(sim: Sim, issuer: TokenIssuer, client_id: str, api: str = "ews") -> Principal:
    """The principal Exchange sees for ``client_id``'s token, minted and verified for real."""
    app = sim.tenant.app(client_id)
    assert app is not None
    resource = "https://outlook.office365.com" if api == "ews" else "https://graph.microsoft.com"
    token = issuer.mint_app_token(app, resource)
    return issuer.verify(token, audiences("ews" if api == "ews" else "graph"))


def refusal(*args: Any) -> MailboxAccessError:
    with pytest.raises(MailboxAccessError) as caught:
        authorize_mailbox(*args)
    return caught.value


@pytest.mark.parametrize("mailbox", ["vmr@contoso.com", "alice@contoso.com", "bob@contoso.com"])
def test_consented_app_reaches_every_mailbox(sim: Sim, issuer: TokenIssuer, mailbox: str) -> None:
    """Tenant-wide consent for full_access_as_app opens every mailbox; a scope does not narrow it."""
    principal = app_principal(sim, issuer, CONSENTED)
    authorize_mailbox(sim, principal, mailbox, "ews", "full_access_as_app")


@pytest.mark.parametrize("mailbox", ["vmr@contoso.com", "ALICE@contoso.com"])
def test_scoped_app_reaches_direct_members_of_its_scope(
    sim: Sim, issuer: TokenIssuer, mailbox: str
) -> None:
    """An EWS.AccessAsApp assignment scoped to a group opens that group's direct members."""
    principal = app_principal(sim, issuer, SCOPED)
    assert principal.roles == ()
    authorize_mailbox(sim, principal, mailbox, "ews", "full_access_as_app")


def test_scoped_app_is_refused_outside_its_scope(sim: Sim, issuer: TokenIssuer) -> None:
    """Outside the scope EWS answers ErrorImpersonateUserDenied as a SOAP fault (HTTP 500)."""
    error = refusal(
        sim, app_principal(sim, issuer, SCOPED), "bob@contoso.com", "ews", "full_access_as_app"
    )
    assert error.code == "ErrorImpersonateUserDenied"
    assert error.http_status == 500
    assert (
        error.message == "The account does not have permission to impersonate the requested user."
    )


def test_scope_does_not_reach_members_of_nested_groups(sim: Sim, issuer: TokenIssuer) -> None:
    """``MemberOfGroup`` matches direct members only: a nested group's member is outside."""
    error = refusal(
        sim, app_principal(sim, issuer, SCOPED), "carol@contoso.com", "ews", "full_access_as_app"
    )
    assert error.code == "ErrorImpersonateUserDenied"


def test_app_without_any_permission_gets_401_no_permissions(sim: Sim, issuer: TokenIssuer) -> None:
    """No consent and no role assignment: EWS answers 401 with x-ms-diagnostics 2000008."""
    error = refusal(
        sim, app_principal(sim, issuer, BARE), "vmr@contoso.com", "ews", "full_access_as_app"
    )
    assert error.http_status == 401
    assert error.headers["x-ms-diagnostics"].startswith("2000008;")


def test_missing_mailbox_is_error_non_existent_mailbox(sim: Sim, issuer: TokenIssuer) -> None:
    """An address with no mailbox (or a group) answers ErrorNonExistentMailbox over EWS."""
    principal = app_principal(sim, issuer, CONSENTED)
    for address in ("ghost@contoso.com", "schedulers@contoso.com"):
        error = refusal(sim, principal, address, "ews", "full_access_as_app")
        assert error.code == "ErrorNonExistentMailbox"


def test_missing_mailbox_over_graph_is_error_invalid_user(sim: Sim, issuer: TokenIssuer) -> None:
    """Over Graph a missing mailbox is 404 ErrorInvalidUser."""
    error = refusal(
        sim,
        app_principal(sim, issuer, CONSENTED, "graph"),
        "ghost@contoso.com",
        "graph",
        "Calendars.ReadWrite",
    )
    assert (error.code, error.http_status) == ("ErrorInvalidUser", 404)


def test_org_wide_role_assignment_reaches_every_mailbox(sim: Sim, issuer: TokenIssuer) -> None:
    """A role assignment without a scope covers the whole organization."""
    authorize_mailbox(
        sim, app_principal(sim, issuer, ORG_WIDE), "bob@contoso.com", "ews", "full_access_as_app"
    )


def test_scoped_graph_permission_inside_and_outside_the_scope(
    sim: Sim, issuer: TokenIssuer
) -> None:
    """Graph: in scope passes; outside, 403 ErrorAccessDenied "Access to OData is disabled."."""
    principal = app_principal(sim, issuer, SCOPED, "graph")
    authorize_mailbox(sim, principal, "vmr@contoso.com", "graph", "Calendars.ReadWrite")
    error = refusal(sim, principal, "bob@contoso.com", "graph", "Calendars.ReadWrite")
    assert (error.code, error.http_status) == ("ErrorAccessDenied", 403)
    assert error.message == "Access to OData is disabled."


def test_broader_graph_permission_covers_a_narrower_need(sim: Sim, issuer: TokenIssuer) -> None:
    """Mail.ReadWrite (scoped) also allows what needs Mail.Read."""
    principal = app_principal(sim, issuer, SCOPED, "graph")
    authorize_mailbox(sim, principal, "alice@contoso.com", "graph", "Mail.Read")


def test_permission_the_app_lacks_is_refused_even_in_scope(sim: Sim, issuer: TokenIssuer) -> None:
    """A mailbox in scope is still refused for a permission no assignment grants (Mail.Send)."""
    error = refusal(
        sim, app_principal(sim, issuer, SCOPED, "graph"), "vmr@contoso.com", "graph", "Mail.Send"
    )
    assert error.code == "ErrorAccessDenied"


def test_graph_app_without_permission_is_access_denied(sim: Sim, issuer: TokenIssuer) -> None:
    """Graph with no permission at all: 403 "Access is denied. Check credentials..."."""
    error = refusal(
        sim,
        app_principal(sim, issuer, BARE, "graph"),
        "vmr@contoso.com",
        "graph",
        "Calendars.ReadWrite",
    )
    assert error.http_status == 403
    assert error.message.startswith("Access is denied.")


def test_exchange_full_access_role_opens_graph_but_not_ews(sim: Sim, issuer: TokenIssuer) -> None:
    """``Application Exchange Full Access`` bundles Graph permissions only; EWS needs EWS.AccessAsApp."""
    authorize_mailbox(
        sim,
        app_principal(sim, issuer, FULL_ACCESS, "graph"),
        "vmr@contoso.com",
        "graph",
        "Mail.Send",
    )
    error = refusal(
        sim, app_principal(sim, issuer, FULL_ACCESS), "vmr@contoso.com", "ews", "full_access_as_app"
    )
    assert error.http_status == 401


def test_consented_graph_role_opens_graph_everywhere(sim: Sim, issuer: TokenIssuer) -> None:
    """A consented Graph role in the token opens Graph for any mailbox."""
    principal = app_principal(sim, issuer, CONSENTED, "graph")
    assert principal.roles == ("Calendars.ReadWrite",)
    authorize_mailbox(sim, principal, "bob@contoso.com", "graph", "Calendars.ReadWrite")


def test_user_token_opens_only_the_users_own_mailbox(sim: Sim, issuer: TokenIssuer) -> None:
    """A delegated token with the scope opens its own mailbox and no other."""
    token = issuer.mint_user_token(
        "alice@contoso.com", ADDIN, "https://graph.microsoft.com", ["Calendars.ReadWrite"]
    )
    principal = issuer.verify(token, "https://graph.microsoft.com")
    authorize_mailbox(sim, principal, "Alice@Contoso.com", "graph", "Calendars.ReadWrite")
    assert (
        refusal(sim, principal, "bob@contoso.com", "graph", "Calendars.ReadWrite").http_status
        == 403
    )
    assert refusal(sim, principal, "alice@contoso.com", "graph", "Mail.Send").http_status == 403


def test_ews_allowed_app_passes_the_ews_switch(sim: Sim, issuer: TokenIssuer) -> None:
    """EwsEnabled $true admits listed apps for mailboxes with EWS on."""
    check_ews_enabled(sim, app_principal(sim, issuer, SCOPED), "vmr@contoso.com")


def test_unlisted_app_is_blocked_with_403(sim: Sim, issuer: TokenIssuer) -> None:
    """EwsEnabled $true: an app missing from EWSAllowedAppIDs gets HTTP 403."""
    with pytest.raises(MailboxAccessError) as caught:
        check_ews_enabled(sim, app_principal(sim, issuer, ORG_WIDE), "vmr@contoso.com")
    assert caught.value.http_status == 403


def test_mailbox_with_ews_off_is_blocked_with_403(sim: Sim, issuer: TokenIssuer) -> None:
    """A mailbox with EwsEnabled $false refuses EWS even to an allowed app."""
    with pytest.raises(MailboxAccessError, match=r"erin@contoso\.com") as caught:
        check_ews_enabled(sim, app_principal(sim, issuer, SCOPED), "erin@contoso.com")
    assert caught.value.http_status == 403


@pytest.mark.parametrize(("setting", "blocked"), [("true", True), ("false", True), (None, False)])
def test_organization_ews_switch(
    issuer: TokenIssuer, key: SigningKey, setting: str | None, blocked: bool
) -> None:
    """Org EwsEnabled: $false blocks all, $true only unlisted apps, $null (absent) none."""
    line = f"ews_enabled = {setting}\n" if setting else ""
    sim = Sim(
        parse_tenant(
            f'[tenant]\nid = "{TENANT_ID}"\ndomain = "contoso.com"\n[organization]\n{line}'
            f'[[users]]\nemail = "a@contoso.com"\ndisplay_name = "A"\n'
            f'[[apps]]\nclient_id = "{BARE}"\ndisplay_name = "x"\n'
        )
    )
    local = TokenIssuer(sim.tenant, lambda: NOW, key=key)
    principal = app_principal(sim, local, BARE)
    if blocked:
        with pytest.raises(MailboxAccessError):
            check_ews_enabled(sim, principal, "a@contoso.com")
    else:
        check_ews_enabled(sim, principal, "a@contoso.com")
