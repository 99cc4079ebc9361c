"""exchangelib and requests exceptions → the mailbox port's errors, with the fix in plain words.

Callers translate at the edge with ``raise translate(exc, ...) from exc``. What Exchange answers,
and why each code lands where it does:

- throttling and transient failures (``ErrorServerBusy`` with ``BackOffMilliseconds``, HTTP 503,
  connection resets, timeouts, ``ErrorInternalServerError``): `MailboxUnavailableError`, with
  the server's back-off as ``retry_after``;
  https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange
- a refused token (HTTP 401): `MailboxAuthError`; EWS switched off for the app or the mailbox
  (HTTP 403, which exchangelib reports as an unknown failure, exchangelib issue #1199):
  `MailboxAccessError`;
- impersonation refused, mailbox missing, access denied: `MailboxAccessError`;
  https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode
- a sync state Exchange no longer accepts: `CursorExpiredError` (sync again without it);
  https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/handling-synchronization-related-errors-in-ews-in-exchange
- the item is gone, or its meeting was cancelled: `MessageGoneError`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

import requests
from exchangelib import errors as ews

from vmrsched.ports.mailbox import (
    CursorExpiredError,
    MailboxAccessError,
    MailboxAuthError,
    MailboxError,
    MailboxUnavailableError,
    MessageGoneError,
)

_SCOPE_FIX: Final = (
    "the app must reach this mailbox: on Exchange Online give it the RBAC for Applications role "
    "'Application EWS.AccessAsApp' with a management scope that holds the mailbox (and every "
    "organizer), e.g. New-ManagementRoleAssignment -App <app id> -Role 'Application "
    "EWS.AccessAsApp' -CustomResourceScope <scope>; on Exchange Server, ApplicationImpersonation "
    "for the mailbox; role changes take up to 2 hours"
)
_EWS_BLOCKED_FIX: Final = (
    "EWS is switched off for this app or mailbox: on Exchange Online allow it with "
    "Set-OrganizationConfig -EwsEnabled $true and add the app id to -EwsAllowedAppIDs, and check "
    'Set-CASMailbox <mailbox> -EwsEnabled $true; after 2027-04-01 use [exchange] api = "graph"'
)
_REFUSED_BEARER_FIX: Final = (
    "EWS did not accept the app's token: the app needs the application permission "
    "full_access_as_app (Office 365 Exchange Online), and the token's audience must be the EWS "
    "host: leave [exchange] token_scope unset or set it to https://<ews host>/.default"
)

TRANSIENT: Final[tuple[type[Exception], ...]] = (
    ews.ErrorServerBusy,
    ews.ErrorInternalServerTransientError,
    ews.ErrorInternalServerError,
    ews.ErrorTimeoutExpired,
    ews.ErrorTooManyObjectsOpened,
    ews.ErrorExceededConnectionCount,
    ews.ErrorMailboxStoreUnavailable,
    ews.ErrorConnectionFailed,
    ews.ErrorConnectionFailedTransientError,
    ews.ErrorADUnavailable,
    ews.ErrorBatchProcessingStopped,
    ews.RateLimitError,
    ews.SessionPoolMinSizeReached,
    requests.ConnectionError,
    requests.Timeout,
)
ACCESS: Final[tuple[type[Exception], ...]] = (
    ews.ErrorImpersonateUserDenied,
    ews.ErrorImpersonationDenied,
    ews.ErrorImpersonationFailed,
    ews.ErrorInvalidExchangeImpersonationHeaderData,
    ews.ErrorAccessDenied,
    ews.ErrorNonExistentMailbox,
    ews.ErrorMailboxConfiguration,
    ews.ErrorAccountDisabled,
)
CURSOR: Final[tuple[type[Exception], ...]] = (
    ews.ErrorInvalidSyncStateData,
    ews.ErrorSyncFolderNotFound,
)
GONE: Final[tuple[type[Exception], ...]] = (
    ews.ErrorItemNotFound,
    ews.ErrorCalendarIsCancelledForAccept,
    ews.ErrorCalendarIsCancelledForDecline,
    ews.ErrorCalendarIsCancelledForTentative,
    ews.ErrorItemCorrupt,
)
#: Errors of a notification subscription: subscribe again, without the old watermark.
SUBSCRIPTION: Final[tuple[type[Exception], ...]] = (
    ews.ErrorSubscriptionNotFound,
    ews.ErrorInvalidSubscription,
    ews.ErrorExpiredSubscription,
    ews.ErrorMissedNotificationEvents,
    ews.ErrorInvalidWatermark,
    ews.ErrorReadEventsFailed,
)
_HTTP_STATUS: Final = re.compile(r"Code: (\d{3})")
_DEFAULT_BACK_OFF: Final = timedelta(seconds=1)


def back_off(exc: BaseException) -> timedelta:
    """How long the server asked us to wait (``BackOffMilliseconds``), or a short default."""
    seconds = getattr(exc, "back_off", None)
    if isinstance(seconds, int | float) and seconds > 0:
        return timedelta(seconds=seconds)
    return _DEFAULT_BACK_OFF


def http_status(exc: BaseException) -> int | None:
    """The HTTP status exchangelib put in an "Unknown failure in response" message, if any."""
    match = _HTTP_STATUS.search(str(exc))
    return int(match.group(1)) if match else None


def translate(exc: BaseException, *, mailbox: str, what: str) -> MailboxError:
    """The port error for `exc`, raised while doing `what` in `mailbox`."""
    if isinstance(exc, MailboxError):
        return exc
    name = type(exc).__name__
    detail = f"{what} in {mailbox}: {name}: {exc}"
    if isinstance(exc, CURSOR):
        return CursorExpiredError(f"{what} in {mailbox}: Exchange no longer accepts the cursor")
    if isinstance(exc, GONE):
        return MessageGoneError(f"{what} in {mailbox}: the item is gone ({name})")
    if isinstance(exc, ews.ErrorNonExistentMailbox):
        return MailboxAccessError(
            f"{what}: there is no mailbox {mailbox}",
            fix="check the address ([exchange] resource_mailbox, or the organizer's address)",
        )
    if isinstance(exc, ACCESS):
        return MailboxAccessError(
            f"{what}: the app may not open {mailbox} ({name})", fix=_SCOPE_FIX
        )
    if isinstance(exc, ews.UnauthorizedError):
        return MailboxAuthError(
            f"{what} in {mailbox}: EWS refused the token (HTTP 401)", fix=_REFUSED_BEARER_FIX
        )
    if isinstance(exc, ews.CASError):
        return MailboxUnavailableError(detail)
    status = http_status(exc) if isinstance(exc, ews.TransportError) else None
    if status == 403:
        return MailboxAccessError(
            f"{what} in {mailbox}: EWS answered HTTP 403 Forbidden", fix=_EWS_BLOCKED_FIX
        )
    if status == 401:
        return MailboxAuthError(
            f"{what} in {mailbox}: EWS refused the token (HTTP 401)", fix=_REFUSED_BEARER_FIX
        )
    if isinstance(exc, TRANSIENT) or (status is not None and status >= 500):
        return MailboxUnavailableError(detail, retry_after=back_off(exc))
    if isinstance(exc, requests.exceptions.SSLError) or (
        isinstance(exc, ews.TransportError) and "certificate" in str(exc).casefold()
    ):
        return MailboxError(
            f"{what}: the EWS server's TLS certificate is not trusted",
            fix="if Exchange uses a private CA, put its PEM file in [exchange] ca_bundle",
        )
    if isinstance(exc, ews.TransportError | requests.RequestException):
        return MailboxUnavailableError(detail, retry_after=_DEFAULT_BACK_OFF)
    return MailboxError(detail)
