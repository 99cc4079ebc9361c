"""Realism knobs: latency, throttling, random faults, outages, and call counters.

`KnobSettings` is the frozen set of switches; `Knobs` holds the current settings plus the run-time
state the switches act on (a seedable RNG, concurrency slots, rolling call windows, counters).
The server reads `sim.knobs` on every request, and the admin routes (`exchangesim.admin`, under
`/_exchangesim/`) change it while the server runs. Everything but Graph's mailbox limits is off
by default: a fresh simulator answers at once, never throttles EWS and never fails on purpose.

What each knob simulates, and in which shape Exchange answers, is in `docs/exchangesim.md`
("Realism knobs"). In short:

- latency: `latency` (fixed + uniform jitter, ms) for every EWS call, or per operation;
- throttling by concurrency: more than `max_concurrent` EWS calls at once for one
  (app, mailbox) → `ErrorServerBusy` fault with `BackOffMilliseconds` = `concurrency_back_off_ms`
  (Exchange Online's `EWSMaxConcurrency` is 27, REFERENCES.md §2);
- throttling by budget: more than `budget_calls` calls in a rolling `budget_window_ms` for one
  (app, mailbox) → `ErrorServerBusy` with the time until the oldest call leaves the window;
- random faults at `fault_rate` (0..1) drawn from `fault_kinds`: `http500` (SOAP fault
  `ErrorInternalServerError`), `http503` (IIS "Service Unavailable" page), `reset` (the TCP
  connection is reset), `timeout` (no answer for `timeout_hold_ms`, then the connection closes);
- `token_outage`: the token endpoint fails as Entra does in an outage: `true` or "503" → HTTP 503
  `temporarily_unavailable` (AADSTS90033), "reset" → TCP reset (`exchangesim.identity` acts on it);
- `streaming_drop`: streaming connections are cut after `streaming_drop_after_ms`;
- Graph's mailbox limits, on by default because Exchange Online always enforces them (4
  concurrent requests and 10,000 requests per 10 minutes per app and mailbox,
  https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits):
  `graph_max_concurrent`, `graph_budget_calls`, `graph_budget_window_ms` (null switches one off);
  a refusal is a 429 with `Retry-After`;
- `graph_delta_epoch`: changing it makes every Graph delta token issued before answer 410
  `syncStateNotFound` (Outlook delta tokens live in a bounded cache and do expire);
- `graph_notification_http`: accept ``http://`` notification URLs (Graph demands HTTPS).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, Self, get_args

if TYPE_CHECKING:
    from types import TracebackType

FaultKind = Literal["http500", "http503", "reset", "timeout"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)

#: Longest a `timeout` fault holds a request: the knob is bounded so a stuck client cannot keep
#: the server from stopping.
MAX_TIMEOUT_HOLD_MS: Final = 300_000
MAX_LATENCY_MS: Final = 120_000


class KnobError(ValueError):
    """A knob value that makes no sense; the message says which and why."""


@dataclass(frozen=True)
class Latency:
    """Delay added before an answer: `fixed_ms` plus a uniform random 0..`jitter_ms`."""

    fixed_ms: float = 0.0
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fixed_ms", "jitter_ms"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise KnobError(f"latency {name} must be a number of milliseconds")
            if not 0 <= value <= MAX_LATENCY_MS:
                raise KnobError(f"latency {name} must be between 0 and {MAX_LATENCY_MS} ms")


@dataclass(frozen=True)
class KnobSettings:
    """All realism switches. Defaults: everything off except Graph's mailbox limits."""

    latency: Latency = Latency()
    latency_per_operation: Mapping[str, Latency] = field(default_factory=dict)
    max_concurrent: int | None = None
    concurrency_back_off_ms: int = 1000
    budget_calls: int | None = None
    budget_window_ms: int = 60_000
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    fault_operations: tuple[str, ...] = ()
    timeout_hold_ms: int = 30_000
    seed: int | None = None
    token_outage: bool | Literal["503", "reset"] = False
    streaming_drop: bool = False
    streaming_drop_after_ms: int = 0
    graph_max_concurrent: int | None = 4
    graph_budget_calls: int | None = 10_000
    graph_budget_window_ms: int = 600_000
    graph_delta_epoch: int = 0
    graph_notification_http: bool = False

    def __post_init__(self) -> None:
        _check_optional_positive("max_concurrent", self.max_concurrent)
        _check_optional_positive("graph_max_concurrent", self.graph_max_concurrent)
        _check_optional_positive("graph_budget_calls", self.graph_budget_calls)
        _check_int_range("graph_budget_window_ms", self.graph_budget_window_ms, 1, 86_400_000)
        _check_int_range("graph_delta_epoch", self.graph_delta_epoch, 0, 2**31 - 1)
        if not isinstance(self.graph_notification_http, bool):
            raise KnobError("graph_notification_http must be true or false")
        _check_optional_positive("budget_calls", self.budget_calls)
        _check_int_range("concurrency_back_off_ms", self.concurrency_back_off_ms, 0, 86_400_000)
        _check_int_range("budget_window_ms", self.budget_window_ms, 1, 86_400_000)
        _check_int_range("timeout_hold_ms", self.timeout_hold_ms, 0, MAX_TIMEOUT_HOLD_MS)
        _check_int_range("streaming_drop_after_ms", self.streaming_drop_after_ms, 0, 86_400_000)
        if not isinstance(self.fault_rate, int | float) or not 0 <= self.fault_rate <= 1:
            raise KnobError("fault_rate must be a number between 0 and 1")
        unknown = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            raise KnobError(f"fault_kinds must be a non-empty subset of {list(FAULT_KINDS)}")
        if self.seed is not None and (
            not isinstance(self.seed, int) or isinstance(self.seed, bool)
        ):
            raise KnobError("seed must be an integer or null")
        if not isinstance(self.streaming_drop, bool):
            raise KnobError("streaming_drop must be true or false")
        if not isinstance(self.token_outage, bool) and self.token_outage not in ("503", "reset"):
            raise KnobError('token_outage must be false, true (= "503") or "reset"')

    def latency_for(self, operation: str | None) -> Latency:
        """The latency setting that applies to `operation`."""
        if operation is not None and operation in self.latency_per_operation:
            return self.latency_per_operation[operation]
        return self.latency

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json` reads it back."""
        data = asdict(self)
        data["latency_per_operation"] = {
            name: asdict(value) for name, value in self.latency_per_operation.items()
        }
        data["fault_kinds"] = list(self.fault_kinds)
        data["fault_operations"] = list(self.fault_operations)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: KnobSettings | None = None) -> KnobSettings:
        """Settings from a JSON object: keys present replace those of `base` (default: defaults).

        Raises `KnobError` naming unknown keys and bad values.
        """
        if not isinstance(data, Mapping):
            raise KnobError("knob settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KnobError(f"unknown knob(s) {unknown}; known: {sorted(known)}")
        changes: dict[str, Any] = dict(data)
        try:
            if "latency" in changes:
                changes["latency"] = _latency(changes["latency"])
            if "latency_per_operation" in changes:
                per_op = changes["latency_per_operation"] or {}
                if not isinstance(per_op, Mapping):
                    raise KnobError("latency_per_operation must map operation names to latencies")
                changes["latency_per_operation"] = {
                    str(name): _latency(value) for name, value in per_op.items()
                }
            for name in ("fault_kinds", "fault_operations"):
                if name in changes:
                    value = changes[name]
                    if not isinstance(value, list | tuple):
                        raise KnobError(f"{name} must be a list")
                    changes[name] = tuple(str(v) for v in value)
            return replace(base or cls(), **changes)
        except TypeError as exc:
            raise KnobError(str(exc)) from exc


def _latency(value: Any) -> Latency:
    if isinstance(value, Latency):
        return value
    if not isinstance(value, Mapping):
        raise KnobError("a latency is an object {fixed_ms, jitter_ms}")
    unknown = sorted(set(value) - {"fixed_ms", "jitter_ms"})
    if unknown:
        raise KnobError(f"unknown latency field(s) {unknown}")
    return Latency(**value)


def _check_optional_positive(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise KnobError(f"{name} must be a positive integer or null (off)")


def _check_int_range(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise KnobError(f"{name} must be an integer between {low} and {high}")


class Admission:
    """The answer of `Knobs.admit`: admitted (use as a context manager to free the slot) or
    refused with `back_off_ms` and the `reason` ("concurrency" or "budget")."""

    def __init__(
        self,
        release: Callable[[], None] | None,
        back_off_ms: int | None = None,
        reason: str | None = None,
    ) -> None:
        self._release = release
        self.back_off_ms = back_off_ms
        self.reason = reason

    @property
    def admitted(self) -> bool:
        """True when the call may go ahead."""
        return self.back_off_ms is None

    def release(self) -> None:
        """Free the concurrency slot (idempotent)."""
        if self._release is not None:
            self._release()
            self._release = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Knobs:
    """The current knob settings and the state they act on. Thread-safe: the server's event
    loop reads it while tests and admin calls change it."""

    def __init__(
        self,
        settings: KnobSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._settings = settings or KnobSettings()
        self._rng = random.Random(self._settings.seed)
        self._active: Counter[str] = Counter()
        self._windows: dict[str, deque[float]] = {}
        self._counters: dict[str, Counter[str]] = {}

    # --- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> KnobSettings:
        """The settings now in force (an immutable snapshot)."""
        return self._settings

    @property
    def token_outage(self) -> bool | str:
        """The `token_outage` setting (the identity endpoint reads it on every token request)."""
        return self._settings.token_outage

    def set(self, settings: KnobSettings) -> KnobSettings:
        """Replace all settings; a changed or given seed restarts the random sequence."""
        with self._lock:
            old = self._settings
            self._settings = settings
            if settings.seed is not None or old.seed != settings.seed:
                self._rng.seed(settings.seed)
            if (
                settings.budget_calls is None
                or settings.budget_window_ms != old.budget_window_ms
                or settings.graph_budget_calls is None
                or settings.graph_budget_window_ms != old.graph_budget_window_ms
            ):
                self._windows.clear()
        return settings

    def update(self, **changes: Any) -> KnobSettings:
        """Change some settings (JSON-style values allowed, e.g. `latency={"fixed_ms": 5}`)."""
        return self.set(KnobSettings.from_json(changes, base=self._settings))

    def reset(self) -> KnobSettings:
        """All knobs back to their defaults (counters are kept; see `reset_counters`)."""
        return self.set(KnobSettings())

    # --- per request --------------------------------------------------------------------------

    def latency_s(self, operation: str | None) -> float:
        """Seconds to wait before answering `operation` (0 when latency is off)."""
        latency = self._settings.latency_for(operation)
        if not latency.fixed_ms and not latency.jitter_ms:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(0, latency.jitter_ms) if latency.jitter_ms else 0.0
        return (latency.fixed_ms + jitter) / 1000

    def draw_fault(self, operation: str | None) -> FaultKind | None:
        """Roll the dice for a random fault on this call; the kind, or None for a normal call."""
        settings = self._settings
        if settings.fault_rate <= 0:
            return None
        if settings.fault_operations and operation not in settings.fault_operations:
            return None
        with self._lock:
            if self._rng.random() >= settings.fault_rate:
                return None
            kind = self._rng.choice(settings.fault_kinds)
        self.count("faults", kind)
        return kind

    def admit(self, key: str, *, api: Literal["ews", "graph"] = "ews") -> Admission:
        """Take a concurrency slot and charge the call budget for `key` (app and mailbox).

        EWS and Graph have limits (and counts) of their own. Refusals are counted under
        `throttled` (Graph's as `graph_concurrency`/`graph_budget`) and use up no budget.
        """
        settings = self._settings
        if api == "graph":
            key = "graph|" + key
            limit, budget = settings.graph_max_concurrent, settings.graph_budget_calls
            window_ms, prefix = settings.graph_budget_window_ms, "graph_"
        else:
            limit, budget = settings.max_concurrent, settings.budget_calls
            window_ms, prefix = settings.budget_window_ms, ""
        with self._lock:
            if limit is not None and self._active[key] >= limit:
                self._count_locked("throttled", prefix + "concurrency")
                return Admission(None, settings.concurrency_back_off_ms, "concurrency")
            if budget is not None:
                now = self._monotonic()
                window_s = window_ms / 1000
                calls = self._windows.setdefault(key, deque())
                while calls and calls[0] <= now - window_s:
                    calls.popleft()
                if len(calls) >= budget:
                    wait_ms = max(1, math.ceil((calls[0] + window_s - now) * 1000))
                    self._count_locked("throttled", prefix + "budget")
                    return Admission(None, wait_ms, "budget")
                calls.append(now)
            self._active[key] += 1
        return Admission(lambda: self._release(key))

    def _release(self, key: str) -> None:
        with self._lock:
            self._active[key] -= 1
            if self._active[key] <= 0:
                del self._active[key]

    def active(self, key: str | None = None) -> int:
        """EWS calls in progress for `key`, or in total."""
        with self._lock:
            return self._active[key] if key is not None else sum(self._active.values())

    # --- counters -----------------------------------------------------------------------------

    def count(self, category: str, name: str) -> None:
        """Add one to counter `category`/`name` (e.g. "ews"/"GetItem", "token"/"requests")."""
        with self._lock:
            self._count_locked(category, name)

    def _count_locked(self, category: str, name: str) -> None:
        self._counters.setdefault(category, Counter())[name] += 1

    def counters(self) -> dict[str, dict[str, int]]:
        """A copy of every counter: `{"ews": {"ConvertId": 3}, "token": {"requests": 1}, ...}`."""
        with self._lock:
            return {category: dict(values) for category, values in self._counters.items()}

    def counter(self, category: str, name: str) -> int:
        """One counter's value (0 when never counted)."""
        with self._lock:
            return self._counters.get(category, Counter())[name]

    def reset_counters(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._counters.clear()
