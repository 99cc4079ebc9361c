"""exchangelib's and requests' exceptions, translated into the mailbox port's error tree."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from exchangelib import errors as ews

from vmrsched.adapters.ews.errors import translate
from vmrsched.ports.mailbox import (
    CursorExpiredError,
    MailboxAccessError,
    MailboxAuthError,
    MailboxError,
    MailboxUnavailableError,
    MessageGoneError,
)


def translated(exc: BaseException) -> MailboxError:
    return translate(exc, mailbox="vmr@contoso.com", what="reading the inbox")


def test_server_busy_carries_the_servers_back_off() -> None:
    """ErrorServerBusy's BackOffMilliseconds becomes retry_after."""
    error = translated(ews.ErrorServerBusy("busy", back_off=297.749))
    assert isinstance(error, MailboxUnavailableError)
    assert error.retry_after == timedelta(seconds=297.749)


@pytest.mark.parametrize(
    "exc",
    [
        ews.ErrorInternalServerTransientError("Caused by HTTP 503 response"),
        ews.ErrorTimeoutExpired("Reraised from ConnectionError"),
        ews.ErrorMailboxStoreUnavailable("down"),
        ews.MalformedResponseError("Unknown failure in response. Code: 502 headers: {}"),
        requests.ConnectionError("reset"),
    ],
)
def test_transient_failures_are_retryable(exc: BaseException) -> None:
    """Outages, timeouts and resets are MailboxUnavailableError."""
    error = translated(exc)
    assert isinstance(error, MailboxUnavailableError)
    assert error.retryable


@pytest.mark.parametrize(
    ("exc", "kind", "fix"),
    [
        (ews.ErrorImpersonateUserDenied("denied"), MailboxAccessError, "EWS.AccessAsApp"),
        (ews.ErrorAccessDenied("denied"), MailboxAccessError, "management scope"),
        (ews.ErrorNonExistentMailbox("none"), MailboxAccessError, "resource_mailbox"),
        (
            ews.MalformedResponseError("Unknown failure in response. Code: 403 headers: {}"),
            MailboxAccessError,
            "EwsAllowedAppIDs",
        ),
        (ews.UnauthorizedError("Invalid credentials"), MailboxAuthError, "full_access_as_app"),
    ],
)
def test_refusals_name_their_fix(exc: BaseException, kind: type[MailboxError], fix: str) -> None:
    """Impersonation, access and token refusals say what an admin can do."""
    error = translated(exc)
    assert type(error) is kind
    assert not error.retryable
    assert fix in error.fix


def test_an_invalid_sync_state_expires_the_cursor() -> None:
    """ErrorInvalidSyncStateData: start again without a cursor."""
    assert isinstance(translated(ews.ErrorInvalidSyncStateData("bad")), CursorExpiredError)


@pytest.mark.parametrize(
    "exc", [ews.ErrorItemNotFound("gone"), ews.ErrorCalendarIsCancelledForAccept("cancelled")]
)
def test_a_missing_item_or_cancelled_meeting_is_gone(exc: BaseException) -> None:
    """The request was deleted, or its meeting cancelled: MessageGoneError."""
    assert isinstance(translated(exc), MessageGoneError)


def test_an_untrusted_certificate_is_a_setup_problem() -> None:
    """A TLS failure is not retried; the fix points at ca_bundle."""
    error = translated(ews.TransportError("certificate verify failed: self-signed certificate"))
    assert type(error) is MailboxError
    assert "ca_bundle" in error.fix


def test_our_own_errors_pass_through() -> None:
    """An error already in our words is returned as it is."""
    original = MessageGoneError("no such meeting")
    assert translated(original) is original
