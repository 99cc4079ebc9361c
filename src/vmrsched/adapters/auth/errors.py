"""Entra ID token-endpoint refusals and transport failures → the mailbox port's errors.

Entra answers a refused client-credentials request with a JSON body (``error``,
``error_description`` starting ``AADSTS<code>:``, ``error_codes``, ``trace_id``,
``correlation_id``). The AADSTS code says what is wrong; each one we know is turned into plain
words and the fix an admin can apply. The trace and correlation IDs stay in the message because
Microsoft support asks for them. The secret itself is never part of a message.

Codes: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from vmrsched.ports.mailbox import MailboxAuthError, MailboxError, MailboxUnavailableError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

_NEW_CREDENTIAL_STEPS: Final = (
    "Entra admin center → App registrations → your app → Certificates & secrets → New client "
    "secret; put its Value (not its Secret ID) in [exchange] client_secret or, better, in "
    "VMRSCHED_EXCHANGE__CLIENT_SECRET, and its expiry date in [exchange] client_secret_expires"
)
_WHERE_ENDPOINT: Final = (
    "copy 'OAuth 2.0 token endpoint (v2)' from Entra admin center → App registrations → your app "
    "→ Endpoints into [exchange] token_endpoint"
)
_AADSTS: Final = re.compile(r"AADSTS(\d+)")


@dataclass(frozen=True)
class EntraRefusal:
    """What the token endpoint said, parsed from its JSON error body (all fields optional)."""

    status: int
    error: str = ""
    code: int | None = None
    description: str = ""
    trace_id: str = ""
    correlation_id: str = ""

    @classmethod
    def parse(cls, status: int, body: Mapping[str, object] | None) -> EntraRefusal:
        """Read Entra's error JSON; tolerate anything else (a proxy's HTML page, no body)."""
        if not body:
            return cls(status)
        codes = body.get("error_codes")
        description = str(body.get("error_description") or "")
        code: int | None = None
        if isinstance(codes, list) and codes and isinstance(codes[0], int):
            code = codes[0]
        elif match := _AADSTS.search(description):
            code = int(match.group(1))
        return cls(
            status=status,
            error=str(body.get("error") or ""),
            code=code,
            description=description.split("\r\n", 1)[0].split("\n", 1)[0],
            trace_id=str(body.get("trace_id") or ""),
            correlation_id=str(body.get("correlation_id") or ""),
        )

    @property
    def reference(self) -> str:
        """The IDs Microsoft support asks for, as one parenthesis ('' when there are none)."""
        ids = [f"trace {self.trace_id}" if self.trace_id else ""]
        ids.append(f"correlation {self.correlation_id}" if self.correlation_id else "")
        shown = ", ".join(i for i in ids if i)
        return f" ({shown})" if shown else ""


def refusal_error(
    refusal: EntraRefusal, *, client_id: str, retry_after: timedelta | None = None
) -> MailboxError:
    """The port error for one refusal of the token endpoint, with the fix in plain words."""
    code = refusal.code
    said = f"Entra ID said: {refusal.description}{refusal.reference}" if refusal.description else ""
    if code == 7000215:
        return MailboxAuthError(
            f"the client secret of app {client_id} was refused: it is not one of the app's "
            f"secrets. {said}".strip(),
            fix=f"create or copy a current secret: {_NEW_CREDENTIAL_STEPS}",
        )
    if code == 7000222:
        return MailboxAuthError(
            f"the client secret of app {client_id} has expired. {said}".strip(),
            fix=f"create a new secret: {_NEW_CREDENTIAL_STEPS}",
        )
    if code == 7000218:
        return MailboxAuthError(
            "no client secret was sent with the token request",
            fix=f"set the secret: {_NEW_CREDENTIAL_STEPS}",
        )
    if code == 700016:
        return MailboxAuthError(
            f"no app with client id {client_id} in the token endpoint's tenant. {said}".strip(),
            fix=(
                "copy 'Application (client) ID' from the app registration's Overview into "
                f"[exchange] client_id, and check the tenant: {_WHERE_ENDPOINT}"
            ),
        )
    if code in (90002, 900023, 9001023):
        return MailboxAuthError(
            f"the token endpoint does not name a usable tenant. {said}".strip(),
            fix=f"use your tenant's own endpoint (not common or organizations): {_WHERE_ENDPOINT}",
        )
    if code in (1002012, 70011, 500011):
        return MailboxAuthError(
            f"the token scope was refused. {said}".strip(),
            fix=(
                "leave [exchange] token_scope unset so it is derived from the API's URL "
                "(https://outlook.office365.com/.default for Exchange Online EWS), or set it to "
                "'<resource>/.default' for your token issuer; check [exchange] ews_url's host"
            ),
        )
    if code in (901002, 900144, 70003):
        return MailboxAuthError(
            f"the token endpoint rejected the request's form. {said}".strip(),
            fix=f"the endpoint may be the v1 one; {_WHERE_ENDPOINT}",
        )
    if code == 7000112:
        return MailboxAuthError(
            f"app {client_id} is disabled in the tenant. {said}".strip(),
            fix=(
                "enable it: Entra admin center → Enterprise applications → your app → "
                "Properties → Enabled for users to sign-in: Yes"
            ),
        )
    if code == 53003:
        return MailboxAuthError(
            f"a Conditional Access policy blocked app {client_id}. {said}".strip(),
            fix="exclude the app's service principal from the policy, or allow this host",
        )
    if code == 90033 or refusal.error == "temporarily_unavailable" or refusal.status >= 500:
        return MailboxUnavailableError(
            f"the token endpoint is unavailable (HTTP {refusal.status}). {said}".strip(),
            retry_after=retry_after,
        )
    if refusal.status == 429:
        return MailboxUnavailableError(
            "the token endpoint is throttling requests (HTTP 429)", retry_after=retry_after
        )
    what = f"AADSTS{code}" if code is not None else f"HTTP {refusal.status} {refusal.error}"
    return MailboxAuthError(
        f"the token endpoint refused the app's credentials ({what}). {said}".strip(),
        fix=(
            "look the code up at https://learn.microsoft.com/entra/identity-platform/"
            "reference-error-codes and check [exchange] token_endpoint, client_id and "
            "client_secret"
        ),
    )


def transport_error(what: str, exc: BaseException, *, tls: bool = False) -> MailboxError:
    """A failure to talk to an endpoint at all: transient, except a certificate problem."""
    if tls:
        return MailboxError(
            f"{what}: the server's TLS certificate is not trusted ({type(exc).__name__})",
            fix=(
                "if the server uses a private CA, put that CA's PEM file in [exchange] "
                "ca_bundle; otherwise check the URL"
            ),
        )
    return MailboxUnavailableError(f"{what}: {type(exc).__name__}: {exc}")
