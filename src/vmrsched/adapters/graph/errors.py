"""Graph's HTTP answers → the mailbox port's errors, with what an admin can do about them.

Graph errors are ``{"error": {"code", "message", "innerError": {"request-id", "date"}}}``
(https://learn.microsoft.com/graph/errors). By status: 401 the token (→ `MailboxAuthError`),
403 the app's rights to the mailbox (`MailboxAccessError`), 404 the item (`MessageGoneError`),
410 a delta token Graph no longer knows (`CursorExpiredError`: ``syncStateNotFound``,
https://learn.microsoft.com/graph/delta-query-overview), 429 and 5xx transient
(`MailboxUnavailableError`, ``retry_after`` from ``Retry-After``:
https://learn.microsoft.com/graph/throttling). The request id stays in the message because
Microsoft support asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final

from vmrsched.ports.mailbox import (
    CursorExpiredError,
    MailboxAccessError,
    MailboxAuthError,
    MailboxError,
    MailboxUnavailableError,
    MessageGoneError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Statuses worth another try after a wait (Graph's throttling and service errors).
TRANSIENT: Final = frozenset({429, 500, 502, 503, 504})

_ACCESS_FIX: Final = (
    "give the app Application Calendars.ReadWrite and Application Mail.ReadWrite (RBAC for "
    "Applications, New-ManagementRoleAssignment with a management scope holding the resource "
    "mailbox and the organizers), see docs/howto/run-on-graph.md"
)
_AUTH_FIX: Final = (
    "check [exchange] client_id/client_secret/token_endpoint, and that the token is for "
    "Graph (token_scope empty or https://graph.microsoft.com/.default)"
)


@dataclass(frozen=True)
class GraphRefusal:
    """What Graph said, parsed from its error body (all fields optional)."""

    status: int
    code: str = ""
    message: str = ""
    request_id: str = ""

    @classmethod
    def parse(cls, status: int, body: object) -> GraphRefusal:
        """Read Graph's error JSON; tolerate anything else (a proxy's page, no body)."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status)
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = inner.get("request-id", "") if isinstance(inner, dict) else ""
        return cls(
            status=status,
            code=str(error.get("code") or ""),
            message=str(error.get("message") or ""),
            request_id=str(request_id or ""),
        )

    def describe(self, what: str) -> str:
        """One line: what failed, Graph's code and words, and the request id."""
        said = f"{self.code}: {self.message}" if self.code else self.message or "no details"
        ref = f" (request-id {self.request_id})" if self.request_id else ""
        return f"{what}: HTTP {self.status} {said}{ref}"


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> timedelta | None:
    """``Retry-After`` as a duration (seconds or an HTTP date), None when absent or unreadable."""
    header = next((v for k, v in headers.items() if k.casefold() == "retry-after"), "").strip()
    if not header:
        return None
    try:
        seconds = float(header)  # Graph also sends fractions ("2.128")
    except ValueError:
        pass
    else:
        return timedelta(seconds=max(seconds, 0.0))
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(when - (now or datetime.now(UTC)), timedelta(0))


def translate(status: int, body: object, headers: Mapping[str, str], what: str) -> MailboxError:
    """The port error for one refused Graph request."""
    refusal = GraphRefusal.parse(status, body)
    text = refusal.describe(what)
    if status in TRANSIENT:
        return MailboxUnavailableError(text, retry_after=retry_after(headers))
    if status == 401:
        return MailboxAuthError(text, fix=_AUTH_FIX)
    if status == 403:
        return MailboxAccessError(text, fix=_ACCESS_FIX)
    if status == 404:
        return MessageGoneError(text)
    if status == 410:
        return CursorExpiredError(text, fix="nothing: vmrsched starts a new delta round")
    return MailboxError(text)
