"""One exchangelib connection to EWS: its own protocol (session pool), app-only bearer auth,
the configured CA bundle, impersonated accounts, and a bounded retry around each call.

exchangelib caches protocols by (endpoint, credentials) and gives every account of the same
pair one session pool, one connection by default (``max_connections``); a streaming
``GetStreamingEvents`` holds its connection for minutes, so a stream on a shared pool would block
every other call (exchangelib issue #1088). Each `Connection` therefore has credentials of its own
(compared by identity), hence a protocol and a pool of its own: the mailbox uses one for its
calls and another for its stream.

Authentication is ours, not exchangelib's OAuth: a requests auth hook puts the current token of
`AppTokenClient` on each request, so renewal at 80% of a token's life and Entra's errors in
plain words apply to EWS too, and a 401 is answered by asking for a new token once.

Throttling: exchangelib's default ``FailFast`` policy raises ``ErrorServerBusy`` with the
server's ``BackOffMilliseconds``; `Connection.call` waits that long and tries again while the
call's total wait stays under ``RetryBudget.max_wait``, else raises `MailboxUnavailableError`
with ``retry_after`` so that a pass stays bounded and the service decides when to come back.
(``FaultTolerance`` sleeps inside exchangelib, unbounded by our stop event, and treats HTTP 401 as
"busy" — a wrong token would be retried for the whole ``max_wait``.)
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import requests
import structlog
from exchangelib import IMPERSONATION, Account, Build, Configuration, Version
from exchangelib import errors as ews
from exchangelib.credentials import BaseCredentials
from exchangelib.ewsdatetime import UTC as EWS_UTC
from exchangelib.protocol import Protocol
from exchangelib.transport import DEFAULT_HEADERS, NOAUTH

from vmrsched.adapters.auth.client import AppTokenClient, BearerAuth
from vmrsched.adapters.auth.transport import USER_AGENT, PinnedCaAdapter
from vmrsched.adapters.ews.errors import translate
from vmrsched.ports.mailbox import MailboxAuthError, MailboxError, MailboxUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Exchange 2016 and Exchange Online: the RequestServerVersion the schema fixes (REFERENCES §2).
#: A known version also skips exchangelib's version probe (ConvertId) on the first call.
EWS_VERSION: Final = Version(build=Build(15, 20))
#: Exceptions a call may raise that are the mailbox's, not our bugs.
CALL_ERRORS: Final = (ews.EWSError, requests.RequestException, MailboxError)


@dataclass(frozen=True)
class RetryBudget:
    """How long one call may wait on back-offs, in total, before giving up for this pass."""

    max_wait: timedelta = timedelta(seconds=30)
    max_attempts: int = 6
    first_delay: timedelta = timedelta(milliseconds=500)


class AppCredentials(BaseCredentials):  # type: ignore[misc]
    """Credentials of one connection: the token client and the CA bundle.

    Equal only to themselves, so every connection gets its own exchangelib protocol.
    """

    def __init__(self, tokens: AppTokenClient, ca_bundle: Path | None, purpose: str) -> None:
        super().__init__()
        self.tokens = tokens
        self.ca_bundle = ca_bundle
        self.purpose = purpose

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"AppCredentials(client_id={self.tokens.client_id!r}, purpose={self.purpose!r})"


#: Bytes per chunk when exchangelib parses a response that is already in memory.
WHOLE_BODY_CHUNK: Final = 64 * 1024


class _WholeBodyResponse(requests.Response):
    """A response read whole (not streamed): ``iter_content()`` defaults to big chunks.

    exchangelib parses every answer from ``response.iter_content()`` with no chunk size, and
    requests' default is one byte (``Response.iter_content``,
    https://requests.readthedocs.io/en/latest/api/), so a 100 kB GetItem answer cost 100,000
    Python iterations. exchangelib's reader takes chunks
    of any size (ecederstrand/exchangelib#651). Streamed answers (GetStreamingEvents) keep the
    default: exchangelib's ``DocumentYielder`` reads those one byte at a time on purpose.
    """

    def iter_content(
        self, chunk_size: int | None = WHOLE_BODY_CHUNK, decode_unicode: bool = False
    ) -> Any:
        """The body in chunks of ``chunk_size`` (64 KiB unless asked otherwise)."""
        if decode_unicode:
            return super().iter_content(chunk_size, decode_unicode=True)
        return super().iter_content(chunk_size)


class EwsAdapter(PinnedCaAdapter):
    """The pinned-CA adapter, handing back whole (not streamed) answers as `_WholeBodyResponse`."""

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send; a response read whole gets big ``iter_content()`` chunks."""
        response = super().send(request, *args, **kwargs)
        streamed = kwargs.get("stream", args[0] if args else False)
        if not streamed and type(response) is requests.Response:
            response.__class__ = _WholeBodyResponse
        return response


class EwsSession(requests.Session):
    """A requests session with the bookkeeping fields exchangelib sets on its own."""

    session_id: int = 0
    usage_count: int = 0


class AppProtocol(Protocol):  # type: ignore[misc]
    """An exchangelib protocol whose sessions carry our bearer token and trust our CA bundle."""

    # exchangelib's default back-off for a busy answer without BackOffMilliseconds (a 503, a
    # reset): short, because our retry loop decides how long to wait in the end.
    RETRY_WAIT = 1

    def create_session(self) -> EwsSession:
        """A session with one pinned-CA connection and the app's bearer token."""
        credentials: AppCredentials = self.credentials
        session = EwsSession()
        session.headers.update(DEFAULT_HEADERS)
        session.headers["User-Agent"] = USER_AGENT
        adapter = EwsAdapter(
            credentials.ca_bundle,
            pool_block=True,
            pool_connections=self.CONNECTIONS_PER_SESSION,
            pool_maxsize=self.CONNECTIONS_PER_SESSION,
            max_retries=0,
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.auth = BearerAuth(credentials.tokens)
        session.session_id = random.randint(10000, 99999)  # a label in exchangelib's logs
        session.usage_count = 0
        return session


class Connection:
    """One protocol (session pool) to EWS, and impersonated accounts on it."""

    def __init__(
        self,
        ews_url: str,
        tokens: AppTokenClient,
        *,
        ca_bundle: Path | None = None,
        max_connections: int = 4,
        purpose: str = "calls",
        timeout: timedelta = timedelta(seconds=120),
        budget: RetryBudget | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.tokens = tokens
        self.budget = budget or RetryBudget()
        self._sleep = sleep
        self._config = Configuration(
            credentials=AppCredentials(tokens, ca_bundle, purpose),
            service_endpoint=ews_url,
            auth_type=NOAUTH,
            version=EWS_VERSION,
            max_connections=max_connections,
        )
        self.protocol: AppProtocol = AppProtocol(config=self._config)
        self.protocol.TIMEOUT = max(1, int(timeout.total_seconds()))
        self._accounts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def account(self, email: str) -> Any:
        """The exchangelib account impersonating `email` (made once; no network call)."""
        key = email.strip().casefold()
        with self._lock:
            account = self._accounts.get(key)
            if account is None:
                account = Account(
                    primary_smtp_address=email.strip(),
                    config=self._config,
                    autodiscover=False,
                    access_type=IMPERSONATION,
                    default_timezone=EWS_UTC,
                )
                # exchangelib looked our protocol up in its cache; make sure it did.
                account.protocol = self.protocol
                self._accounts[key] = account
            return account

    def call(self, what: str, mailbox: str, attempt: Callable[[], T]) -> T:
        """Run `attempt`, waiting out throttling within the budget; errors in our words.

        `attempt` must be safe to run again after a failure (check before acting). An HTTP 401
        gets one more try with a fresh token. Raises `MailboxError` subclasses.
        """
        waited = timedelta(0)
        delay = self.budget.first_delay
        renewed = False
        attempts = 0
        while True:
            attempts += 1
            try:
                # The token first, outside exchangelib: its refusal is reported as it is, not
                # logged by exchangelib as a failed request.
                self.tokens.token()
                return attempt()
            except CALL_ERRORS as exc:
                error = translate(exc, mailbox=mailbox, what=what)
                if isinstance(error, MailboxAuthError) and not renewed and _is_http_401(exc):
                    renewed = True
                    self.tokens.invalidate()
                    continue
                if error is exc and not isinstance(error, MailboxUnavailableError):
                    raise
                if not isinstance(error, MailboxUnavailableError):
                    raise error from exc
                wait = error.retry_after or delay
                delay = min(delay * 2, self.budget.max_wait)
                if attempts >= self.budget.max_attempts or waited + wait > self.budget.max_wait:
                    log.warning(
                        "ews_call_gave_up",
                        what=what,
                        mailbox=mailbox,
                        attempts=attempts,
                        retry_after_s=wait.total_seconds(),
                        error=str(error),
                    )
                    raise MailboxUnavailableError(
                        str(error), retry_after=wait, fix=error.fix
                    ) from exc
                log.info(
                    "ews_call_backing_off",
                    what=what,
                    mailbox=mailbox,
                    wait_s=wait.total_seconds(),
                    error=type(exc).__name__,
                )
                self._sleep(wait.total_seconds())
                waited += wait

    def close(self) -> None:
        """Close the sessions and forget the protocol in exchangelib's cache."""
        self.protocol.close()
        with suppress(KeyError):
            del Protocol[self._config]
        with self._lock:
            self._accounts.clear()


def _is_http_401(exc: BaseException) -> bool:
    return isinstance(exc, ews.UnauthorizedError) or "Code: 401" in str(exc)
