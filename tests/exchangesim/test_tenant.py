"""The tenant file: what it describes, and how it reports every problem at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from exchangesim.app_permissions import EXCHANGE_RESOURCE_APP_ID, GRAPH_RESOURCE_APP_ID
from exchangesim.tenant import (
    Resource,
    TenantFileError,
    User,
    demo_tenant,
    load_tenant,
    parse_tenant,
)

if TYPE_CHECKING:
    from pathlib import Path

TENANT_ID = "5c8d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
APP_ID = "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b"
HEADER = f'[tenant]\nid = "{TENANT_ID}"\ndomain = "contoso.com"\n'


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(TenantFileError) as caught:
        parse_tenant(text, source="t.toml")
    return caught.value.problems


def test_demo_tenant_is_set_up_like_the_setup_guide() -> None:
    """The shipped demo tenant: VMR resource with processing off, scoped vmrsched app."""
    tenant = demo_tenant()
    vmr = tenant.find_mailbox("vmr@contoso.com")
    assert isinstance(vmr, Resource)
    assert vmr.kind == "equipment"
    assert vmr.calendar_processing.automate_processing == "None"
    assert vmr.calendar_processing.allow_conflicts is True
    assert vmr.calendar_default_permission == "None"
    vmrsched = tenant.app("522d29f1-c520-4cd7-bd5d-565f738f599b")
    assert vmrsched is not None
    assert vmrsched.admin_consent is False
    assert {a.role for a in vmrsched.role_assignments} >= {"Application EWS.AccessAsApp"}
    assert {a.scope_group for a in vmrsched.role_assignments} == {"vmr-schedulers@contoso.com"}
    assert tenant.organization.ews_enabled is True
    assert vmrsched.client_id in tenant.organization.ews_allowed_app_ids


def test_load_tenant_reads_a_file(tmp_path: Path) -> None:
    """``load_tenant`` reads TOML from a path."""
    path = tmp_path / "tenant.toml"
    path.write_text(HEADER, encoding="utf-8")
    assert load_tenant(path).tenant_id == TENANT_ID


def test_missing_file_is_a_tenant_file_error(tmp_path: Path) -> None:
    """A file that cannot be read is reported as a TenantFileError naming it."""
    with pytest.raises(TenantFileError, match=r"cannot read"):
        load_tenant(tmp_path / "absent.toml")


def test_invalid_toml_is_a_tenant_file_error() -> None:
    """Broken TOML is reported as one problem."""
    (problem,) = problems_of("[tenant\n")
    assert problem.startswith("not valid TOML")


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    """One bad file: every problem listed together, each with where it is."""
    text = f"""
[tenant]
id = "not-a-guid"
domain = "contoso"
other_domains = ["contoso.com"]
colour = "blue"

[organization]
ews_enabled = "yes"
ews_allowed_app_ids = ["nope"]

[[users]]
email = "alice"
display_name = ""

[[users]]
email = "bob@fabrikam.com"
display_name = "Bob"
ews_enabled = "no"

[[resources]]
email = "vmr@contoso.com"
display_name = "VMR"
kind = "projector"
calendar_default_permission = "Everything"

[resources.calendar_processing]
automate_processing = "Maybe"
booking_window_in_days = -1
allow_conflicts = "yes"
color = 1

[[groups]]
email = "g@contoso.com"
display_name = "G"
members = ["ghost@contoso.com"]

[[apps]]
client_id = "{APP_ID}"
display_name = "ok"

[[apps.secrets]]
value = "s"
expires = 2027-01-01T00:00:00Z

[[apps]]
client_id = "{APP_ID}"
display_name = "dup"
application_permissions = ["Calendars.ReadWriteAll"]

[[apps.secrets]]
value = "s2"
expires = "next year"

[[apps.secrets]]
value = "s3"
expires = 2027-01-01T00:00:00

[[apps.role_assignments]]
role = "ApplicationImpersonation"
scope_group = "nobody@contoso.com"

[[apps.role_assignments]]
role = "Application Calendars.ReadWrite"
scope_filter = "Department -eq 'Sales'"
"""
    problems = problems_of(text)
    expected = [
        "tenant.colour: unknown key",
        "tenant.id: 'not-a-guid' is not a GUID",
        "tenant.domain: 'contoso' is not a domain name",
        "organization.ews_enabled: not true or false",
        "organization.ews_allowed_app_ids[0]: 'nope' is not a GUID",
        "users[0].email: 'alice' is not an email address",
        "users[0].display_name: not a non-empty string",
        "users[1].email: domain 'fabrikam.com' is not a domain of this tenant",
        "users[1].ews_enabled: not true or false",
        "resources[0].kind: 'projector' is not one of equipment, room",
        "resources[0].calendar_default_permission: 'Everything' is not one of",
        "resources[0].calendar_processing.automate_processing: 'Maybe' is not one of",
        "resources[0].calendar_processing.booking_window_in_days: not a whole number",
        "resources[0].calendar_processing.allow_conflicts: not true or false",
        "resources[0].calendar_processing.color: unknown key",
        "groups[0].members[0]: 'ghost@contoso.com' is no user, resource or group",
        "apps[1].client_id: same client_id as apps[0]",
        "apps[1].application_permissions[0]: unknown permission 'Calendars.ReadWriteAll'",
        "apps[1].secrets[0].expires: not a datetime",
        "apps[1].secrets[1].expires: not a time-zone-aware datetime",
        "apps[1].role_assignments[0].role: ApplicationImpersonation was removed",
        "apps[1].role_assignments[0].scope_group: no group 'nobody@contoso.com'",
        "apps[1].role_assignments[1].scope_filter: only \"MemberOfGroup -eq '<group>'\"",
    ]
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), (fragment, problems)
    assert len(problems) == len(expected)


def test_error_message_lists_the_source_and_every_problem() -> None:
    """The exception text names the file and shows one problem per line."""
    with pytest.raises(TenantFileError) as caught:
        parse_tenant('[tenant]\nid = "x"\n', source="my-tenant.toml")
    text = str(caught.value)
    assert text.startswith("my-tenant.toml: 2 problem(s)")
    assert "\n  - tenant.id: 'x' is not a GUID" in text
    assert "\n  - tenant.domain: missing" in text


def test_duplicate_addresses_and_group_cycles_are_reported() -> None:
    """Two recipients with one address, and groups nested in themselves, are errors."""
    problems = problems_of(
        HEADER
        + """
[[users]]
email = "a@contoso.com"
display_name = "A"
[[resources]]
email = "A@CONTOSO.COM"
display_name = "A again"
[[groups]]
email = "g1@contoso.com"
display_name = "G1"
members = ["g2@contoso.com"]
[[groups]]
email = "g2@contoso.com"
display_name = "G2"
members = ["g1@contoso.com"]
"""
    )
    assert "resources[0].email: 'A@CONTOSO.COM' is already used by users[0]" in problems
    assert any(p.startswith("groups[0].members: membership cycle") for p in problems)


def test_scope_filter_may_name_the_group_by_distinguished_name() -> None:
    """``MemberOfGroup -eq '<DN>'`` resolves the group by the DN's CN (display name or alias)."""
    tenant = parse_tenant(
        HEADER
        + f"""
[[groups]]
email = "vmr-schedulers@contoso.com"
display_name = "VMR Schedulers"
[[apps]]
client_id = "{APP_ID}"
display_name = "a"
[[apps.role_assignments]]
role = "Application EWS.AccessAsApp"
scope_filter = "MemberOfGroup -eq 'CN=VMR Schedulers,OU=contoso.onmicrosoft.com,DC=prod'"
[[apps.role_assignments]]
role = "Application Mail.Send"
scope_filter = "memberofgroup -EQ 'CN=vmr-schedulers,OU=x'"
"""
    )
    app = tenant.app(APP_ID)
    assert app is not None
    assert [a.scope_group for a in app.role_assignments] == ["vmr-schedulers@contoso.com"] * 2


def test_object_ids_are_derived_stably_unless_given() -> None:
    """Missing object ids are derived from tenant and address: same every load, unique."""
    text = (
        HEADER
        + """
[[users]]
email = "a@contoso.com"
display_name = "A"
[[users]]
email = "b@contoso.com"
display_name = "B"
object_id = "ABCDEF01-2345-4678-9abc-def012345678"
[[users]]
email = "c@contoso.com"
display_name = "C"
"""
    )
    first, second = parse_tenant(text), parse_tenant(text)
    assert first.users[0].object_id == second.users[0].object_id
    assert first.users[0].object_id != first.users[2].object_id
    assert first.users[1].object_id == "abcdef01-2345-4678-9abc-def012345678"


def test_defaults_are_exchanges() -> None:
    """Omitted settings take Exchange's defaults (AutoAccept, 180 days, AvailabilityOnly...)."""
    tenant = parse_tenant(
        HEADER
        + """
[[resources]]
email = "room@contoso.com"
display_name = "Room"
kind = "room"
"""
    )
    room = tenant.find_mailbox("room@contoso.com")
    assert isinstance(room, Resource)
    assert room.calendar_processing.automate_processing == "AutoAccept"
    assert room.calendar_processing.booking_window_in_days == 180
    assert room.calendar_processing.delete_comments is True
    assert room.calendar_default_permission == "AvailabilityOnly"
    assert room.ews_enabled is True
    assert tenant.organization.ews_enabled is None
    assert tenant.name == "contoso.com"


def test_lookups_ignore_case_and_groups_are_not_mailboxes() -> None:
    """Addresses and client ids match in any case; a group is no mailbox."""
    tenant = demo_tenant()
    alice = tenant.find_mailbox("ALICE@contoso.COM")
    assert isinstance(alice, User)
    assert alice.email == "alice@contoso.com"
    assert tenant.find_mailbox("vmr-schedulers@contoso.com") is None
    assert tenant.group("VMR-Schedulers@Contoso.com") is not None
    assert tenant.app("522D29F1-C520-4CD7-BD5D-565F738F599B") is not None
    assert tenant.user("vmr@contoso.com") is None


def test_group_members_are_direct_unless_transitive_asked() -> None:
    """``group_members`` lists direct members; ``transitive`` expands nested groups to people."""
    tenant = demo_tenant()
    direct = tenant.group_members("vmr-schedulers@contoso.com")
    assert "design-team@contoso.com" in direct
    assert "grace@contoso.com" not in direct
    everyone = tenant.group_members("vmr-schedulers@contoso.com", transitive=True)
    assert "grace@contoso.com" in everyone
    assert "design-team@contoso.com" not in everyone
    assert tenant.is_direct_member("vmr-schedulers@contoso.com", "ALICE@contoso.com")
    assert not tenant.is_direct_member("vmr-schedulers@contoso.com", "grace@contoso.com")
    assert tenant.group_members("nobody@contoso.com") == ()


@pytest.mark.parametrize(
    "segment", ["d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5", "CONTOSO.COM", "contoso.onmicrosoft.com"]
)
def test_tenant_answers_to_its_id_and_domains(segment: str) -> None:
    """A tenant is named by its GUID or any accepted domain, in any case."""
    assert demo_tenant().answers_to(segment)


def test_tenant_does_not_answer_to_other_names() -> None:
    """Other domains and ids do not name the tenant."""
    assert not demo_tenant().answers_to("fabrikam.com")


def test_consented_roles_need_consent_and_belong_to_a_resource() -> None:
    """Only consented permissions become token roles, each for its own API."""
    tenant = demo_tenant()
    legacy = tenant.app("c848bada-10bc-40ef-8f36-4fa35f7807cf")
    vmrsched = tenant.app("522d29f1-c520-4cd7-bd5d-565f738f599b")
    assert legacy is not None
    assert vmrsched is not None
    assert legacy.consented_roles(EXCHANGE_RESOURCE_APP_ID) == ("full_access_as_app",)
    assert legacy.consented_roles(GRAPH_RESOURCE_APP_ID) == ("Calendars.ReadWrite",)
    assert vmrsched.consented_roles(EXCHANGE_RESOURCE_APP_ID) == ()


def test_secret_expiry_and_hint() -> None:
    """A secret expires at its end (time-zone aware); its hint is its first three characters."""
    vmrsched = demo_tenant().app("522d29f1-c520-4cd7-bd5d-565f738f599b")
    assert vmrsched is not None
    old, new = vmrsched.secrets
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert old.expired(now)
    assert not new.expired(now)
    assert new.hint == new.value[:3]
    assert new.expires.tzinfo is not None


def test_tenant_can_be_given_as_a_parsed_mapping() -> None:
    """``parse_tenant`` also takes an already parsed mapping (tests, generated tenants)."""
    tenant = parse_tenant({"tenant": {"id": TENANT_ID, "domain": "contoso.com"}})
    assert tenant.tenant_id == TENANT_ID


def test_a_user_can_grant_send_on_behalf_to_delegates() -> None:
    """``grant_send_on_behalf_to`` (Set-Mailbox -GrantSendOnBehalfTo) lists the delegates."""
    tenant = parse_tenant(
        HEADER + '[[users]]\nemail = "alice@contoso.com"\ndisplay_name = "Alice"\n'
        'grant_send_on_behalf_to = ["carol@contoso.com"]\n',
        source="t.toml",
    )
    alice = tenant.find_mailbox("alice@contoso.com")
    assert isinstance(alice, User)
    assert alice.grant_send_on_behalf_to == ("carol@contoso.com",)
    assert problems_of(
        HEADER + '[[users]]\nemail = "a@contoso.com"\ndisplay_name = "A"\n'
        "grant_send_on_behalf_to = [1]\n"
    ) == ("users[0].grant_send_on_behalf_to[0]: not a non-empty string",)
