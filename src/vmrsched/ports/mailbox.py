"""The resource mailbox, as the service sees it: in our words, not EWS's or Graph's.

An adapter (EWS today, Graph later) implements `Mailbox`; `vmrsched.adapters.fake_mailbox` is the
in-memory implementation shipped with the product for tests. One contract suite runs over both.

Exception tree (adapters translate their vendor errors into these, `raise ... from exc`)::

    MailboxError                      anything the mailbox side could not do
    ├── MailboxUnavailableError       transient: network, 5xx, throttled (retryable, retry_after)
    ├── CursorExpiredError            the cursor is no longer valid: start again from None
    ├── MailboxAuthError              the app's credentials were refused (fix: secret, client id)
    ├── MailboxAccessError            the app may not open this mailbox (fix: scope, permission)
    └── MessageGoneError              the message or meeting no longer exists (not retryable)
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from vmrsched.domain.meetings import MeetingMessage


class MailboxError(Exception):
    """The mailbox side could not do what was asked. `fix` says what an admin can do about it."""

    retryable: bool = False

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


class MailboxUnavailableError(MailboxError):
    """Transient failure (network, HTTP 5xx, throttling). Try again after `retry_after`."""

    retryable = True

    def __init__(
        self, message: str, *, retry_after: timedelta | None = None, fix: str = ""
    ) -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


class CursorExpiredError(MailboxError):
    """The cursor (EWS sync state, Graph delta link) is no longer valid: sync again from None."""


class MailboxAuthError(MailboxError):
    """The identity platform refused the app's credentials (wrong or expired secret, ...)."""


class MailboxAccessError(MailboxError):
    """The app authenticated but may not open the mailbox (permission, management scope)."""


class MessageGoneError(MailboxError):
    """The message or meeting no longer exists in the mailbox."""


@dataclass(frozen=True)
class ChangePage:
    """One page of what changed in the resource mailbox's inbox since a cursor.

    `messages` are the new meeting messages, oldest first. `cursor` is the position after this
    page: store it only once every message of the page has been recorded. `more` is true when
    another page is waiting right now.
    """

    messages: Sequence[MeetingMessage]
    cursor: str
    more: bool


class ReplyKind(StrEnum):
    """How the resource answers a meeting request."""

    ACCEPT = "accept"
    TENTATIVE = "tentative"
    DECLINE = "decline"


@dataclass(frozen=True)
class Reply:
    """An answer to one meeting request, sent by the resource mailbox to the organizer.

    `idempotency_key` is written into the reply (invisibly) so that `reply()` can tell whether it
    was already sent before a crash, and does not send it twice.

    `maybe_sent` is False when the caller knows that no earlier attempt can have sent this reply
    (none was ever begun: the service records each attempt before it starts). `reply()` then
    sends without looking for it first, which saves a lookup per reply; when True (the safe
    default), it looks first.
    """

    message_id: str
    kind: ReplyKind
    body_html: str
    idempotency_key: str
    maybe_sent: bool = True


@dataclass(frozen=True)
class InstructionsUpdate:
    """Write joining instructions into the organizer's meeting, as the organizer (issue 4).

    `marker` is put on the updated meeting so that the update, when it comes back to the resource
    mailbox, is recognised as ours (`MeetingMessage.marker`).
    """

    organizer_email: str
    uid: str
    body_html: str
    marker: str
    idempotency_key: str
    occurrence_original_start: str | None = None
    replace_placeholder: bool = True
    placeholder_text: str = ""  # the placeholder template's text, removed where left standing


@dataclass(frozen=True)
class WatchEvents:
    """What a wait for changes saw: whether something changed, and whether the push channel
    is healthy (if not, the caller relies on its poll interval)."""

    changed: bool
    push_healthy: bool = True
    detail: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class InstallationMarker:
    """The note an installation keeps in the resource mailbox: "this mailbox is served by
    `installation_id` (on `host`), alive at `heartbeat`". One resource mailbox must serve
    exactly one installation (separate resources for test and production). `api` says which
    protocol the writer uses (``ews``, ``graph``; empty when unknown): the adapters set it when
    they read a marker, for messages only (it is not part of a marker's identity)."""

    installation_id: str
    heartbeat: datetime
    host: str = ""
    api: str = field(default="", compare=False)


class Mailbox(Protocol):
    """The resource mailbox. All calls are synchronous; the service runs them in threads."""

    @property
    def address(self) -> str:
        """The resource mailbox's SMTP address."""
        ...

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        """New meeting messages in the inbox since `cursor` (None: everything there now)."""
        ...

    def reply(self, reply: Reply) -> bool:
        """Send `reply` unless one with its idempotency key was already sent.

        Returns True when this call sent it, False when it had already been sent. Raises
        `MessageGoneError` when the request no longer exists. With ``reply.maybe_sent`` False
        the look for an earlier reply may be skipped (the caller vouches there was none). Safe to
        call from several threads at once, for different replies.
        """
        ...

    def write_instructions(self, update: InstructionsUpdate) -> bool:
        """Update the organizer's meeting with `update` unless already done (True: done now)."""
        ...

    def wait_for_changes(self, timeout: timedelta) -> WatchEvents:
        """Block until the mailbox changes or `timeout` passes (push where the protocol has it)."""
        ...

    def read_marker(self) -> InstallationMarker | None:
        """The installation marker kept in the resource mailbox (None: there is none)."""
        ...

    def write_marker(self, marker: InstallationMarker) -> None:
        """Create or replace the installation marker in the resource mailbox."""
        ...

    def close(self) -> None:
        """Release connections and subscriptions."""
        ...
