"""The doctor's checks as pure functions: facts (or the `ProbeError` a probe raised) in, one
`Check` out. No IO, no clock: `vmrsched.service.doctor.diagnose` gathers the facts and the
time. This module holds `Check` and the checks of the token endpoint, the credentials and EWS
access; the resource mailbox's calendar, test meetings and marker are checked in
`doctor_mailbox_checks`. Each check's meaning and fix: docs/reference/doctor.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from vmrsched.ports.probe import Refusal

if TYPE_CHECKING:
    from vmrsched.ports.probe import ProbeError, TokenFacts

#: Warn this long before the client secret expires.
SECRET_WARNING: Final = timedelta(days=30)
#: The permission an app needs for EWS, as a token role (full_access_as_app).
EWS_ROLE: Final = "full_access_as_app"
#: Audiences Exchange accepts for EWS (Exchange Online's resource, by URL or by app id).
EXCHANGE_AUDIENCES: Final = frozenset(
    {
        "https://outlook.office365.com",
        "https://outlook.office.com",
        "00000002-0000-0ff1-ce00-000000000000",
    }
)
_V2_PATH: Final = re.compile(r"^/[^/]+/oauth2/v2\.0/token/?$")
_V1_PATH: Final = re.compile(r"^/[^/]+/oauth2/token/?$")
_SHARED_TENANTS: Final = frozenset({"common", "organizations", "consumers"})
_ENDPOINT_FIX: Final = (
    "copy 'OAuth 2.0 token endpoint (v2)' from Entra admin center → App registrations → your "
    "app → Endpoints into [exchange] token_endpoint "
    "(https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token)"
)
_ASSIGN_FIX: Final = (
    "grant the app EWS for the scheduling group only: New-ManagementRoleAssignment -App <app "
    "id> -Role 'Application EWS.AccessAsApp' -CustomResourceScope <scope on the group> "
    "(vmrsched setup-script prints every step); role changes take up to 2 hours"
)
#: The fix when the app has tenant-wide consent to full_access_as_app.
CONSENT_FIX: Final = (
    "remove the tenant-wide admin consent: Entra admin center → Enterprise applications → your "
    "app → Permissions → revoke full_access_as_app (keep it configured, not consented), and "
    "grant EWS with a scoped RBAC for Applications role assignment instead"
)


class Status(StrEnum):
    """A check's verdict. Any FAIL makes ``doctor`` exit non-zero."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One check's result: stable ``id``, verdict, what was found, and the fix when not PASS."""

    id: str
    status: Status
    summary: str
    fix: str = ""


def refused(check_id: str, error: ProbeError, what: str) -> Check:
    """A FAIL naming what failed, with the probe error's own fix."""
    return Check(check_id, Status.FAIL, f"{what}: {error}", error.fix)


def endpoint_check(url: str) -> Check:
    """``token.endpoint``: the v2 token URL of one tenant."""
    parts = urlsplit(url)
    tenant = parts.path.strip("/").split("/", 1)[0].casefold()
    if parts.scheme != "https":
        return Check("token.endpoint", Status.FAIL, f"{url} is not an https URL", _ENDPOINT_FIX)
    if _V1_PATH.match(parts.path):
        return Check(
            "token.endpoint",
            Status.FAIL,
            f"{url} is the v1 endpoint (/oauth2/token): it ignores the scope vmrsched asks for "
            "and issues tokens Exchange refuses",
            _ENDPOINT_FIX,
        )
    if not _V2_PATH.match(parts.path):
        return Check(
            "token.endpoint", Status.FAIL, f"{url} is not a token endpoint URL", _ENDPOINT_FIX
        )
    if tenant in _SHARED_TENANTS:
        return Check(
            "token.endpoint",
            Status.FAIL,
            f"{url} names no tenant ({tenant}); client credentials need your tenant's endpoint",
            _ENDPOINT_FIX,
        )
    return Check("token.endpoint", Status.PASS, f"{url} is a v2 token endpoint")


def credentials_check(token: TokenFacts | None, error: ProbeError | None) -> Check:
    """``token.credentials``: the token endpoint answers and accepts the client id and secret."""
    if token is not None:
        return Check(
            "token.credentials",
            Status.PASS,
            f"the token endpoint issued a token for {token.audience or 'an unnamed audience'}",
        )
    if error is None:
        return Check("token.credentials", Status.FAIL, "the token endpoint gave no token")
    what = {
        Refusal.WRONG_SECRET: "the client secret is wrong (AADSTS7000215)",
        Refusal.EXPIRED_SECRET: "the client secret has expired (AADSTS7000222)",
        Refusal.UNREACHABLE: "the token endpoint does not answer",
    }.get(error.reason, "the token endpoint refused the app's credentials")
    return refused("token.credentials", error, what)


@dataclass(frozen=True)
class ExpiryFacts:
    """``[exchange] client_secret_expires`` and today's date."""

    expires: date | None
    today: date


def secret_expiry_check(facts: ExpiryFacts) -> Check:
    """``token.secret_expiry``: days until the configured secret expiry date."""
    check_id = "token.secret_expiry"
    if facts.expires is None:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: [exchange] client_secret_expires is not set",
            "put the secret's expiry date (Certificates & secrets → Expires) in "
            "[exchange] client_secret_expires, e.g. 2027-03-31",
        )
    days = (facts.expires - facts.today).days
    renew = (
        "create a new client secret before then (Entra admin center → App registrations → "
        "your app → Certificates & secrets), put it in [exchange] client_secret and its date "
        "in client_secret_expires, restart vmrsched, then delete the old secret"
    )
    if days < 0:
        return Check(check_id, Status.FAIL, f"the client secret expired on {facts.expires}", renew)
    if timedelta(days=days) < SECRET_WARNING:
        return Check(
            check_id,
            Status.WARN,
            f"the client secret expires in {days} days ({facts.expires})",
            renew,
        )
    return Check(check_id, Status.PASS, f"the client secret expires in {days} days")


def ews_checks(opened: ProbeError | None) -> list[Check]:
    """``ews.reachable`` and ``ews.enabled``, from opening the resource mailbox."""
    if opened is not None and opened.reason is Refusal.UNREACHABLE:
        return [
            refused("ews.reachable", opened, "EWS does not answer"),
            Check("ews.enabled", Status.SKIP, "not checked: EWS does not answer"),
        ]
    reachable = Check("ews.reachable", Status.PASS, "EWS answers")
    if opened is not None and opened.reason is Refusal.EWS_BLOCKED:
        return [
            reachable,
            Check(
                "ews.enabled",
                Status.FAIL,
                "EWS refused the app with HTTP 403: EWS is switched off for the organization, "
                "the app is not in EWSAllowedAppIDs, or the mailbox has EwsEnabled $false "
                "(Exchange Online blocks EWS by default since 2026-10-01 and ends it on "
                "2027-04-01)",
                opened.fix,
            ),
        ]
    return [reachable, Check("ews.enabled", Status.PASS, "EWS admits the app")]


def permission_check(token: TokenFacts, opened: ProbeError | None) -> Check:
    """``token.permission``: the app holds EWS access, preferably not by tenant-wide consent.

    The token's roles are read without verifying its signature. Roles hold only what an admin
    consented tenant-wide; RBAC for Applications grants are not in the token, so an empty
    ``roles`` is expected, and Exchange's answer tells whether a grant exists.
    """
    check_id = "token.permission"
    if token.audience and token.audience.rstrip("/") not in EXCHANGE_AUDIENCES:
        return Check(
            check_id,
            Status.FAIL,
            f"the token is for {token.audience}, not for Exchange (the v1 endpoint ignores the "
            "scope and issues Azure AD Graph tokens)",
            _ENDPOINT_FIX,
        )
    if EWS_ROLE in token.roles:
        return Check(
            check_id,
            Status.WARN,
            f"the token's roles (read without verifying its signature) hold {EWS_ROLE}: it "
            "was consented tenant-wide and reaches EVERY mailbox, whatever the management "
            "scope says",
            CONSENT_FIX,
        )
    if opened is not None and opened.reason is Refusal.NO_PERMISSION:
        return Check(
            check_id,
            Status.FAIL,
            "the app has no Exchange permission: no role in its token (read without verifying "
            "its signature) and Exchange found no RBAC for Applications role assignment",
            _ASSIGN_FIX,
        )
    if opened is not None and opened.reason in (Refusal.EWS_BLOCKED, Refusal.UNREACHABLE):
        return Check(check_id, Status.SKIP, "not checked: EWS did not let the app in")
    return Check(
        check_id,
        Status.PASS,
        "EWS access comes from an RBAC for Applications role assignment, not from tenant-wide "
        "consent (the token, read without verifying its signature, carries no roles)",
    )


def resource_check(address: str, opened: ProbeError | None) -> Check:
    """``resource.mailbox``: the resource mailbox exists and opens as the app."""
    check_id = "resource.mailbox"
    if opened is None:
        return Check(
            check_id,
            Status.PASS,
            f"{address} exists and opens as the app (EWS does not tell an app whether it is "
            "an equipment, room or user mailbox: Get-Mailbox shows RecipientTypeDetails)",
        )
    if opened.reason is Refusal.NO_MAILBOX:
        return Check(
            check_id,
            Status.FAIL,
            f"there is no mailbox {address}",
            f"check [exchange] resource_mailbox, or create it: New-Mailbox -Equipment "
            f"-Name ... -PrimarySmtpAddress {address}",
        )
    if opened.reason is Refusal.OUT_OF_SCOPE:
        return Check(
            check_id,
            Status.FAIL,
            f"the app may not open {address}: it is outside the app's management scope",
            f"add {address} to the scheduling group the scope's MemberOfGroup filter names (a "
            "direct member: nested groups do not count); changes take up to 2 hours",
        )
    if opened.reason in (Refusal.EWS_BLOCKED, Refusal.UNREACHABLE, Refusal.NO_PERMISSION):
        return Check(check_id, Status.SKIP, "not checked: EWS did not let the app in")
    return refused(check_id, opened, f"{address} did not open")
