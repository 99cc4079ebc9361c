"""HTTP to Microsoft Graph for one app: bearer tokens, the CA bundle, at most N requests in
flight, ``Retry-After`` honoured within a bounded budget, ``$batch``.

requests rather than an async client: the mailbox port is synchronous (the service runs its
calls in threads), and the token client (`vmrsched.adapters.auth`) already uses requests with
the pinned CA bundle (`https_session`), so Graph shares its TLS setup.

- In flight: Exchange Online allows 4 concurrent requests per app per mailbox
  (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits); a semaphore
  holds every thread of this transport to `max_in_flight` (default 4). The semaphore is not
  held while waiting out a back-off.
- 429 and 5xx: wait ``Retry-After`` (or a growing delay when there is none) and try again while
  the call's total wait stays under ``RetryBudget.max_wait``; then `MailboxUnavailableError`
  with ``retry_after``, so a pass stays bounded and the service decides when to come back.
- 401: one fresh token, once.
- ``$batch`` (https://learn.microsoft.com/graph/json-batching): up to 20 requests per POST;
  requests answered 429/5xx inside the batch are sent again (alone in a new batch) after their
  ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import requests
import structlog

from vmrsched.adapters.auth.errors import transport_error
from vmrsched.adapters.auth.transport import https_session
from vmrsched.adapters.ews.connection import RetryBudget
from vmrsched.adapters.graph.errors import TRANSIENT, retry_after, translate
from vmrsched.ports.mailbox import MailboxUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from vmrsched.adapters.auth.client import AppTokenClient

log = structlog.get_logger(__name__)

#: Graph's limit of requests in one ``$batch``.
BATCH_LIMIT: Final = 20
MAX_IN_FLIGHT: Final = 4


@dataclass(frozen=True)
class Answer:
    """One Graph response: status, headers and the JSON body (None when there is none)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Part:
    """One request of a ``$batch``: a path below the version root (``/users/...``)."""

    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Positions (in the list given to `GraphTransport.batch`) of parts that must succeed first
    #: (``dependsOn``: Graph runs this one after them, or answers 424 when one failed).
    depends_on: tuple[int, ...] = ()


class GraphTransport:
    """Graph requests for one app (thread-safe). `base_url` is the version root
    (``https://graph.microsoft.com/v1.0``); `sleep` waits out back-offs (tests record it)."""

    def __init__(
        self,
        base_url: str,
        tokens: AppTokenClient,
        *,
        ca_bundle: Path | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        budget: RetryBudget | None = None,
        sleep: Callable[[float], object] = time.sleep,
        timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._session = https_session(ca_bundle, pool_maxsize=max(1, max_in_flight))
        self._slots = threading.BoundedSemaphore(max(1, max_in_flight))
        self._budget = budget or RetryBudget()
        self._sleep = sleep
        self._timeout = timeout.total_seconds()
        self.calls = 0  # HTTP requests sent (a $batch counts once), for measurements

    def url(self, path: str) -> str:
        """An absolute URL for a path below the version root (absolute URLs pass through)."""
        return path if path.startswith(("https://", "http://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: Sequence[int] = (),
    ) -> Answer:
        """One request, retried on 429/5xx within the budget and once on 401. A status in
        `accept` is returned rather than raised (e.g. 404 when absence is an answer)."""
        waited = 0.0
        refreshed = False
        for attempt in range(1, self._budget.max_attempts + 1):
            answer = self._send(method, path, body, headers or {}, what)
            if answer.ok or answer.status in accept:
                return answer
            if answer.status == 401 and not refreshed:
                refreshed = True
                self._tokens.invalidate()
                continue
            error = translate(answer.status, answer.body, answer.headers, what)
            if answer.status not in TRANSIENT:
                raise error
            waited = self._back_off(answer, attempt, waited, what, error)
        raise MailboxUnavailableError(f"{what}: Graph kept refusing; try again later")

    def batch(self, parts: Sequence[Part], *, what: str) -> list[Answer]:
        """The answers to `parts`, in order, sent as few ``$batch`` requests as Graph allows.
        Throttled parts are sent again after their back-off; other failures are returned."""
        answers: list[Answer | None] = [None] * len(parts)
        waiting = list(range(len(parts)))
        waited = 0.0
        attempt = 0
        while waiting:
            attempt += 1
            throttled: list[tuple[int, Answer]] = []
            for start in range(0, len(waiting), BATCH_LIMIT):
                chunk = waiting[start : start + BATCH_LIMIT]
                for index, answer in zip(chunk, self._batch_once(parts, chunk, what), strict=True):
                    if answer.status in TRANSIENT:
                        throttled.append((index, answer))
                    else:
                        answers[index] = answer
            if not throttled:
                break
            if attempt >= self._budget.max_attempts:
                index, answer = throttled[0]
                raise translate(answer.status, answer.body, answer.headers, what)
            worst = max(throttled, key=lambda t: retry_after(t[1].headers) or timedelta(0))[1]
            error = translate(worst.status, worst.body, worst.headers, what)
            waited = self._back_off(worst, attempt, waited, what, error)
            waiting = [index for index, _ in throttled]
        return [a if a is not None else Answer(500) for a in answers]

    def _batch_once(self, parts: Sequence[Part], chunk: Sequence[int], what: str) -> list[Answer]:
        requests_json = []
        for index in chunk:
            part = parts[index]
            entry: dict[str, Any] = {"id": str(index), "method": part.method, "url": part.path}
            headers = dict(part.headers)
            if part.body is not None:
                entry["body"] = part.body
                headers.setdefault("Content-Type", "application/json")
            if headers:
                entry["headers"] = headers
            together = [str(d) for d in part.depends_on if d in chunk]  # a retry goes alone
            if together:
                entry["dependsOn"] = together
            requests_json.append(entry)
        outer = self.request("POST", "/$batch", what=what, body={"requests": requests_json})
        found: dict[str, Answer] = {}
        for item in (outer.body or {}).get("responses", []):
            found[str(item.get("id"))] = Answer(
                int(item.get("status", 500)), dict(item.get("headers") or {}), item.get("body")
            )
        return [found.get(str(index), Answer(500)) for index in chunk]

    def _back_off(
        self, answer: Answer, attempt: int, waited: float, what: str, error: Exception
    ) -> float:
        told = retry_after(answer.headers)
        delay = (
            told.total_seconds()
            if told is not None
            else self._budget.first_delay.total_seconds() * 2 ** (attempt - 1)
        )
        if waited + delay > self._budget.max_wait.total_seconds():
            raise error
        log.info("graph_back_off", what=what, status=answer.status, seconds=delay)
        self._sleep(delay)
        return waited + delay

    def _send(
        self, method: str, path: str, body: Any, headers: Mapping[str, str], what: str
    ) -> Answer:
        sent = {"Accept": "application/json", **headers}
        sent["Authorization"] = f"Bearer {self._tokens.token()}"
        with self._slots:
            self.calls += 1
            try:
                response = self._session.request(
                    method,
                    self.url(path),
                    json=body,
                    headers=sent,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise transport_error(what, exc, tls=True) from exc
            except requests.RequestException as exc:
                raise transport_error(what, exc) from exc
            with response:
                try:
                    data = response.json() if response.content else None
                except ValueError:
                    data = None
                return Answer(response.status_code, dict(response.headers), data)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
