"""Setup probes: what ``vmrsched doctor`` asks the identity platform and Exchange, in our words.

The doctor's checks (`vmrsched.service.doctor`) are pure evaluations of these facts; an adapter
(`vmrsched.adapters.ews.probe` for EWS, `vmrsched.adapters.graph.probe` for Graph) gathers them
with the app's own credentials and translates every refusal into a `ProbeError` whose `reason`
says what kind of refusal it was (the message and fix are the adapter's plain words).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from vmrsched.ports.mailbox import MailboxError


class Refusal(StrEnum):
    """Why a probe failed."""

    WRONG_SECRET = "wrong-secret"  # noqa: S105 - a reason name; AADSTS7000215
    EXPIRED_SECRET = "expired-secret"  # noqa: S105 - a reason name; AADSTS7000222
    TOKEN_REFUSED = "token-refused"  # noqa: S105 - any other refusal of the token endpoint
    UNREACHABLE = "unreachable"  # no answer (network, TLS, 5xx)
    EWS_BLOCKED = "ews-blocked"  # HTTP 403: EWS switched off for the org, app or mailbox
    NO_PERMISSION = "no-permission"  # the token (or RBAC) grants nothing, or not all, it needs
    OUT_OF_SCOPE = "out-of-scope"  # the app may not act as this mailbox (management scope)
    NO_MAILBOX = "no-mailbox"  # no mailbox with this address
    OTHER = "other"


class ProbeError(MailboxError):
    """A probe was refused or failed; ``reason`` classifies it, ``fix`` says what to do."""

    def __init__(self, message: str, *, reason: Refusal, fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.reason = reason


@dataclass(frozen=True)
class TokenFacts:
    """What the access token says about itself (decoded without verifying its signature:
    only the issuer can verify it, and the doctor only reads what the token claims)."""

    audience: str
    roles: tuple[str, ...]
    expires_in: timedelta | None = None


@dataclass(frozen=True)
class CalendarFacts:
    """A mailbox's calendar as the app sees it: the ``Default`` permission level (EWS names:
    ``None``, ``FreeBusyTimeOnly``, ...) and the calendar processing mode (``None``,
    ``AutoUpdate``, ``AutoAccept``; empty when unknown)."""

    default_permission: str
    automate_processing: str


class MeetingOutcome(StrEnum):
    """What became of a probe meeting request sent to the resource mailbox."""

    UNPROCESSED = "unprocessed"  # it arrived and stayed unanswered, with no calendar entry
    TENTATIVE = "tentative"  # it arrived, is on the calendar as tentative, unanswered (AutoUpdate)
    PROCESSED = "processed"  # Exchange answered or removed it on its own
    NOT_DELIVERED = "not-delivered"  # it never arrived in time


@dataclass(frozen=True)
class MeetingProbe:
    """The probe meeting's outcome, and whether every trace of it was removed afterwards."""

    outcome: MeetingOutcome
    detail: str
    cleaned_up: bool
    leftovers: Sequence[str] = ()


class SetupProbe(Protocol):
    """The calls the doctor makes, each with the app's own credentials."""

    def token(self) -> TokenFacts:
        """Ask the token endpoint for the app's token (raises `ProbeError`)."""
        ...

    def open_mailbox(self, address: str) -> None:
        """Open ``address``'s mailbox as the app (raises `ProbeError`)."""
        ...

    def calendar(self, address: str) -> CalendarFacts:
        """Read ``address``'s calendar permissions and calendar processing (`ProbeError`)."""
        ...

    def probe_meeting(
        self, organizer: str, resource: str, *, deadline: timedelta, settle: timedelta
    ) -> MeetingProbe:
        """As ``organizer``, invite ``resource``; watch what happens to the request for up to
        ``deadline`` (and ``settle`` more once it arrived); then delete every trace."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class DocumentProbe(Protocol):
    """Fetches the public JSON documents the add-in's sign-ins read (Entra ID's OpenID metadata
    and key set, Exchange's authentication metadata), as vmrsched's web server does: anonymous
    GET, no redirects followed, server certificates checked against ``[exchange] ca_bundle``."""

    def json_document(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url``; `ProbeError` with reason ``UNREACHABLE`` when there is no
        answer (network, TLS, timeout, HTTP 5xx), ``OTHER`` when the answer is another status
        than 200 (the message names it) or not a JSON object."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


__all__ = [
    "CalendarFacts",
    "DocumentProbe",
    "MeetingOutcome",
    "MeetingProbe",
    "ProbeError",
    "Refusal",
    "SetupProbe",
    "TokenFacts",
]
