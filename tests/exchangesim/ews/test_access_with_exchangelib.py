"""Access control as exchangelib, unmodified, meets it: the four setups of issue 2.

Every case goes over real HTTPS through the simulator's token endpoint and EWS, with the demo
tenant (src/exchangesim/data/demo-tenant.toml): `vmrsched` holds `Application EWS.AccessAsApp`
scoped to the vmr-schedulers group; `Legacy Room Sync` has tenant-wide consent for
`full_access_as_app`; `Unconsented Pilot` was never granted anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from exchangelib.errors import ErrorImpersonateUserDenied, UnauthorizedError
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, DAVE, LEGACY_APP, VMR, VMRSCHED_APP
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import SimServer

UNCONSENTED_APP = "3b1f0e5c-7d2a-4c8e-9f61-2a5d8c4b7e90"
EXPIRED_SECRET = "demo-vmrsched-secret-2024-expired"


def test_a_scoped_app_opens_mailboxes_in_its_group(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """RBAC for Applications: the resource and an organizer in the scheduling group open."""
    for mailbox in (VMR, ALICE):
        account = exchangelib_accounts(sim_server, mailbox, VMRSCHED_APP)
        assert account.inbox.all().count() >= 0


def test_a_scoped_app_is_refused_a_mailbox_outside_its_group(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Outside the management scope, Exchange refuses the impersonation itself."""
    account = exchangelib_accounts(sim_server, DAVE, VMRSCHED_APP)
    with pytest.raises(ErrorImpersonateUserDenied):
        account.inbox.all().count()


def test_tenant_wide_consent_reaches_every_mailbox(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """Tenant-wide consent for full_access_as_app voids any scope: Dave's mailbox opens too."""
    account = exchangelib_accounts(sim_server, DAVE, LEGACY_APP)
    assert account.inbox.all().count() >= 0


def test_an_app_without_any_grant_is_refused(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """An app with a token but no consent and no role assignment gets HTTP 401 from EWS."""
    account = exchangelib_accounts(
        sim_server, ALICE, UNCONSENTED_APP, secret="demo-unconsented-pilot-not-real"
    )
    with pytest.raises(UnauthorizedError):
        account.inbox.all().count()


def test_an_expired_secret_gets_no_token(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """The token endpoint answers an expired client secret with AADSTS7000222."""
    account = exchangelib_accounts(sim_server, ALICE, VMRSCHED_APP, secret=EXPIRED_SECRET)
    with pytest.raises(OAuth2Error) as caught:
        account.inbox.all().count()
    assert "AADSTS7000222" in str(caught.value.description)
