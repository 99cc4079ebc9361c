"""exchangelib, unmodified, pointed at a running simulator: the real-client half of the EWS tests.

How exchangelib reaches the simulator (REFERENCES.md §4): an `OAuth2Credentials` subclass whose
`token_url` is the simulator's token endpoint, `Configuration(service_endpoint=...,
auth_type=OAUTH2, version=Version(build=Build(15, 20)))` (no ConvertId version probe), and
`Account(..., autodiscover=False, access_type=IMPERSONATION)`. requests trusts the simulator's CA
through `REQUESTS_CA_BUNDLE`, which the fixture sets (this machine sets it globally otherwise).

    from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)

    def test_something(sim_server, exchangelib_accounts):
        account = exchangelib_accounts(sim_server, ALICE)
        account.inbox.subscribe_to_pull()

exchangelib caches one protocol (and its connection pool, `max_connections` 1 by default) per
(endpoint, credentials); credentials that differ only in `identity` are different cache keys, so
accounts for different mailboxes get their own protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest
from exchangelib import (
    IMPERSONATION,
    OAUTH2,
    Account,
    Build,
    Configuration,
    FailFast,
    Identity,
    OAuth2Credentials,
    Version,
)
from exchangelib.protocol import CachingProtocol
from harness import LEGACY_APP, VMRSCHED_APP

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangelib.protocol import RetryPolicy
    from harness import SimServer

#: The working client secrets of the demo tenant's apps (src/exchangesim/data/demo-tenant.toml).
SECRETS = {
    VMRSCHED_APP: "demo-vmrsched-secret-2026-not-real",
    LEGACY_APP: "demo-legacy-room-sync-not-real",
}


def make_account(
    server: SimServer,
    mailbox: str,
    app: str = VMRSCHED_APP,
    secret: str | None = None,
    *,
    retry_policy: RetryPolicy | None = None,
    max_connections: int | None = None,
) -> Account:
    """An exchangelib `Account` impersonating `mailbox` through `app`, talking to `server`.

    The caller must make requests trust `server.ca_file` (the `exchangelib_accounts` fixture
    does). `retry_policy` defaults to exchangelib's own default, `FailFast`.
    """
    token_url = server.server.token_endpoint

    class SimCredentials(OAuth2Credentials):  # type: ignore[misc]  # exchangelib is untyped
        @property
        def token_url(self) -> str:
            return token_url

    credentials = SimCredentials(
        client_id=app,
        client_secret=secret if secret is not None else SECRETS[app],
        tenant_id=server.sim.tenant.tenant_id,
        identity=Identity(primary_smtp_address=mailbox),
    )
    config = Configuration(
        service_endpoint=server.ews_url,
        credentials=credentials,
        auth_type=OAUTH2,
        version=Version(build=Build(15, 20)),
        retry_policy=retry_policy or FailFast(),
        max_connections=max_connections,
    )
    return Account(
        primary_smtp_address=mailbox,
        config=config,
        autodiscover=False,
        access_type=IMPERSONATION,
    )


class AccountFactory(Protocol):
    """`make_account` with the CA trusted and the protocol closed after the test."""

    def __call__(
        self, server: SimServer, mailbox: str, app: str = ..., **kwargs: Any
    ) -> Account: ...


@pytest.fixture(name="exchangelib_accounts")
def exchangelib_accounts_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[AccountFactory]:
    """`exchangelib_accounts`: make exchangelib Accounts for a simulator; closes their
    protocols and exchangelib's protocol cache afterwards. Import this function to use it."""
    made: list[Account] = []
    CachingProtocol.clear_cache()

    def factory(server: SimServer, mailbox: str, app: str = VMRSCHED_APP, **kwargs: Any) -> Account:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        account = make_account(server, mailbox, app, **kwargs)
        made.append(account)
        return account

    yield factory
    for account in made:
        account.protocol.close()
    CachingProtocol.clear_cache()
