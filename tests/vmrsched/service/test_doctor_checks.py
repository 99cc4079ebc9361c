"""The doctor's pure checks: verdicts decided from facts alone (no Exchange needed)."""

from __future__ import annotations

from datetime import date

import pytest

from vmrsched.ports.probe import ProbeError, Refusal, TokenFacts
from vmrsched.service.doctor_checks import (
    ExpiryFacts,
    Status,
    endpoint_check,
    permission_check,
    secret_expiry_check,
)

TODAY = date(2027, 3, 1)


@pytest.mark.parametrize(
    ("expires", "status", "phrase"),
    [
        (date(2027, 6, 1), Status.PASS, "expires in 92 days"),
        (date(2027, 3, 30), Status.WARN, "expires in 29 days"),
        (date(2027, 3, 31), Status.PASS, "expires in 30 days"),
        (date(2027, 2, 28), Status.FAIL, "expired on 2027-02-28"),
        (None, Status.SKIP, "client_secret_expires is not set"),
    ],
)
def test_the_secret_expiry_warns_under_thirty_days(
    expires: date | None, status: Status, phrase: str
) -> None:
    """Under 30 days left: warn; past: fail; unknown: skipped with the setting to add."""
    check = secret_expiry_check(ExpiryFacts(expires, TODAY))
    assert check.status is status
    assert phrase in check.summary
    assert check.fix or status is Status.PASS


@pytest.mark.parametrize(
    ("url", "status", "phrase"),
    [
        ("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token", Status.PASS, "v2"),
        ("https://login.microsoftonline.com/contoso.com/oauth2/token", Status.FAIL, "v1"),
        ("https://login.microsoftonline.com/common/oauth2/v2.0/token", Status.FAIL, "no tenant"),
        ("http://login.microsoftonline.com/contoso.com/oauth2/v2.0/token", Status.FAIL, "https"),
        ("https://login.microsoftonline.com/contoso.com/v2.0", Status.FAIL, "not a token"),
    ],
)
def test_the_token_endpoint_must_be_one_tenants_v2_url(
    url: str, status: Status, phrase: str
) -> None:
    """v2 URL of one tenant passes; v1, common, plain http and other URLs fail."""
    check = endpoint_check(url)
    assert check.status is status
    assert phrase in check.summary


def test_roles_decide_consent_and_exchange_decides_scoped_grants() -> None:
    """full_access_as_app in roles: warn (tenant-wide); no roles and a 401: fail; no roles and
    the mailbox opened: pass (an RBAC for Applications assignment)."""
    exchange = "https://outlook.office365.com"
    consented = permission_check(TokenFacts(exchange, ("full_access_as_app",)), None)
    assert consented.status is Status.WARN
    refused = ProbeError("401", reason=Refusal.NO_PERMISSION)
    assert permission_check(TokenFacts(exchange, ()), refused).status is Status.FAIL
    assert permission_check(TokenFacts(exchange, ()), None).status is Status.PASS
    graph = TokenFacts("00000002-0000-0000-c000-000000000000", ())
    assert permission_check(graph, None).status is Status.FAIL
