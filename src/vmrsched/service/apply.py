"""Perform the recorded effects: replies and instructions, each once, every attempt recorded.

``apply_effects`` takes the pending effects that are due, oldest first, in rounds of ``limit``.
Each round:

1. records, in one transaction, that attempts on the round's effects begin (``start_effects``),
   before any of them acts;
2. performs them through the mailbox port, up to ``in_flight`` at a time (different meetings do
   not depend on each other; the first effect of a round runs alone, so an app the mailbox refuses
   or a server that is busy costs one call, not ``in_flight``);
3. records the effects performed, in one transaction, and each failure as it comes.

Every effect carries an idempotency key that the mailbox writes with what it sends. An effect
whose attempt was begun before (``Effect.attempt_started``: a crash, a timeout, a failed call
may have acted) is looked for before it is sent again, so it is never sent twice; an effect
never begun is sent without that look (``Reply.maybe_sent``), which saves a call per reply.

The effects of one decision run in the order the planner gave (the answer before the
instructions update, see `vmrsched.domain.planner`): an effect waits while an earlier one of its
decision is pending. A meeting's effects go out in the order they were recorded: the store lists
only a meeting's oldest pending effect as due (`Store.pending_effects`), so a request's answer
goes out before the answer to its update or cancellation, never side by side with it, and is
not overtaken while it waits for a retry.

Failures:

- the request no longer exists (`MessageGoneError`): nothing to answer; the effect is given up;
- transient (`MailboxUnavailableError`, throttling included once `Connection.call` has waited
  out the server's back-off within its budget): tried again after the server's ``retry_after``
  or an exponential backoff, up to `RetryPolicy.max_attempts`; no further effect is started in
  this call (``ApplyReport.paused``), so a busy server is not pressed harder;
- the app was refused (`MailboxAuthError`, `MailboxAccessError`): tried again with backoff (an
  admin can fix it without a restart), and the rest of the batch waits for the next round;
- anything else fails for good after `RetryPolicy.max_permanent_attempts`.

When an effect fails for good, the organizer still gets an answer: a pending acceptance behind a
failed effect, or an acceptance that could not be sent, becomes the general-error decline with the
decision's correlation ID (recorded as its own decision, ``<message key>#error``).
"""

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import structlog

from vmrsched.domain.actions import Decision, Decline, Outcome, variables
from vmrsched.domain.templates import TemplateName, TemplateSet
from vmrsched.ports.mailbox import (
    Mailbox,
    MailboxAccessError,
    MailboxAuthError,
    MailboxError,
    MailboxUnavailableError,
    MessageGoneError,
    ReplyKind,
)
from vmrsched.ports.store import Effect, EffectState, IncomingMessage, Store
from vmrsched.service import crashpoints
from vmrsched.service.clock import Clock
from vmrsched.service.effects import EffectKind, general_error_reply, reply_from, update_from
from vmrsched.service.threads import run_bounded

if TYPE_CHECKING:
    from collections.abc import Iterator

log = structlog.get_logger(__name__)

#: Suffix of the message key under which a general-error decline is recorded.
ERROR_SUFFIX: Final = "#error"
#: How many rounds one call runs at most (each takes up to ``limit`` effects).
MAX_ROUNDS: Final = 20
#: How many effects are performed at once (each one EWS call or a few, on its own connection).
IN_FLIGHT: Final = 4


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How failed effects are tried again: exponential backoff, capped, then given up."""

    first_delay: timedelta = timedelta(seconds=15)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 72  # transient failures: with the cap, about three days of trying
    max_permanent_attempts: int = 3  # errors that are not known to be transient

    def delay(self, attempts: int, retry_after: timedelta | None = None) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (at least ``retry_after``)."""
        backoff: timedelta = self.first_delay * (2 ** max(attempts - 1, 0))
        backoff = min(backoff, self.max_delay)
        return max(backoff, retry_after or timedelta(0))


@dataclass
class ApplyReport:
    """What one call of ``apply_effects`` did."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0
    blocked: str = ""  # why the call stopped early (the mailbox refused the app), or ""
    paused: str = ""  # why no more effects were started (the mailbox was unavailable), or ""
    errors: list[str] = field(default_factory=list)


class _Blocked(Exception):  # noqa: N818 - internal signal, not an error for callers
    """The mailbox refused the app: stop this call."""


class _Paused(Exception):  # noqa: N818 - internal signal, not an error for callers
    """The mailbox is unavailable (busy, down): start nothing more in this call."""


def apply_effects(
    mailbox: Mailbox,
    store: Store,
    clock: Clock,
    templates: TemplateSet,
    *,
    retry: RetryPolicy | None = None,
    limit: int = 100,
    in_flight: int = IN_FLIGHT,
) -> ApplyReport:
    """Perform the pending effects that are due now; see the module docstring."""
    applier = _Applier(
        mailbox, store, clock, templates, retry or RetryPolicy(), ApplyReport(), max(1, in_flight)
    )
    report = applier.report
    # An effect that waited for an earlier one of its decision may run once that one is done:
    # look again while a round makes progress (bounded, in case effects keep arriving).
    for _ in range(MAX_ROUNDS):
        settled = report.done + report.failed
        report.waiting = 0
        ready = _oldest_per_meeting(
            [e for e in store.pending_effects(clock(), limit=limit) if applier.consider(e)],
            report,
        )
        try:
            applier.perform_all(ready)
        except _Blocked as exc:
            report.blocked = str(exc)
            return report
        except _Paused as exc:
            report.paused = str(exc)
            return report
        if report.done + report.failed == settled:
            break
    return report


def _oldest_per_meeting(effects: list[Effect], report: ApplyReport) -> list[Effect]:
    """The round's effects with at most one per meeting, the oldest (they run side by side): a
    request's answer goes out before its update's or cancellation's; the later waits a round."""
    seen: set[str] = set()
    kept: list[Effect] = []
    for effect in effects:
        meeting = effect.meeting_key
        if meeting is not None and meeting in seen:
            report.waiting += 1
            continue
        if meeting is not None:
            seen.add(meeting)
        kept.append(effect)
    return kept


def _perform_one(mailbox: Mailbox, effect: Effect) -> bool:
    if effect.kind == EffectKind.REPLY:
        return mailbox.reply(reply_from(effect))
    if effect.kind == EffectKind.WRITE_INSTRUCTIONS:
        return mailbox.write_instructions(update_from(effect))
    raise ValueError(f"no effect kind {effect.kind!r}")


def _text(exc: BaseException) -> str:
    fix = getattr(exc, "fix", "")
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} (fix: {fix})" if fix else text


def _is_acceptance(effect: Effect) -> bool:
    return effect.kind == EffectKind.REPLY and effect.payload.get("reply") == ReplyKind.ACCEPT


@dataclass(frozen=True)
class _Attempt:
    """How one attempt went: performed (True/False) or an error; ``started`` False when the
    call stopped before this effect's turn came."""

    effect: Effect
    started: bool = True
    performed: bool = False
    error: Exception | None = None


@dataclass(frozen=True)
class _Applier:
    mailbox: Mailbox
    store: Store
    clock: Clock
    templates: TemplateSet
    policy: RetryPolicy
    report: ApplyReport
    in_flight: int
    halt: threading.Event = field(default_factory=threading.Event)

    def consider(self, effect: Effect) -> bool:
        """True when ``effect`` may run now: no earlier effect of its decision is pending or
        failed (a failed one supersedes it here)."""
        recorded = self.store.get_decision(effect.message_key)
        siblings = () if recorded is None else recorded.effects
        earlier = [e for e in siblings if e.effect_id < effect.effect_id]
        if any(e.state is EffectState.PENDING for e in earlier):
            self.report.waiting += 1
            return False
        failed_before = next((e for e in earlier if e.state is EffectState.FAILED), None)
        if failed_before is not None:
            self.supersede(effect, failed_before)
            return False
        return True

    def perform_all(self, effects: list[Effect]) -> None:
        """Record that the effects begin, perform them (the first alone, then ``in_flight`` at
        a time), record how each went; raise `_Blocked` or `_Paused` after the last one ends.

        If recording fails (the store is down), nothing more starts and the calls in flight
        are waited for before the error goes up: no effect is left running in the background
        where a later round could perform it a second time, at once.
        """
        if not effects:
            return
        self.store.start_effects([e.effect_id for e in effects], now=self.clock())
        done: list[_Attempt] = []
        stop: Exception | None = None
        attempts: Iterator[_Attempt] = iter(())
        try:
            first = self.attempt(effects[0])
            stop = self.settle(first, done)
            if stop is None:
                attempts = run_bounded(
                    self.attempt, effects[1:], limit=self.in_flight, name="vmrsched-effect"
                )
                for attempt in attempts:
                    stop = self.settle(attempt, done) or stop
        except BaseException:
            self.halt.set()
            done += [a for a in attempts if a.started and a.error is None]
            raise
        finally:
            self.record_done(done)
        if stop is not None:
            raise stop

    def attempt(self, effect: Effect) -> _Attempt:
        """Perform one effect (in a worker thread); never raises."""
        if self.halt.is_set():
            return _Attempt(effect, started=False)
        crashpoints.reached(f"{effect.kind}:before")
        try:
            performed = _perform_one(self.mailbox, effect)
        except Exception as exc:
            return _Attempt(effect, error=exc)
        crashpoints.reached(effect.kind)
        return _Attempt(effect, performed=performed)

    def settle(self, attempt: _Attempt, done: list[_Attempt]) -> Exception | None:
        """Record a failed attempt now (a done one joins ``done``); the signal to stop, if any."""
        effect, exc = attempt.effect, attempt.error
        if not attempt.started:
            return None  # begun in the store, never tried: it stays due (and will look first)
        if exc is None:
            done.append(attempt)
            return None
        if isinstance(exc, MessageGoneError):
            self.give_up(effect, f"gone: {exc}", answer=False)
        elif isinstance(exc, MailboxUnavailableError):
            self.retry(effect, exc)
            self.halt.set()
            return _Paused(_text(exc))
        elif isinstance(exc, MailboxAuthError | MailboxAccessError):
            self.retry(effect, exc)
            self.halt.set()
            return _Blocked(_text(exc))
        elif isinstance(exc, MailboxError):
            if effect.attempts + 1 >= self.policy.max_permanent_attempts:
                self.give_up(effect, _text(exc), answer=True)
            else:
                self.retry(effect, exc)
        else:  # a bug: record it, answer the organizer, serve the rest
            log.error(
                "effect_crashed",
                effect_id=effect.effect_id,
                kind=effect.kind,
                exc_info=exc,
            )
            self.report.errors.append(_text(exc))
            self.give_up(effect, _text(exc), answer=True)
        return None

    def record_done(self, done: list[_Attempt]) -> None:
        """Mark the performed effects done, in one transaction."""
        if not done:
            return
        self.store.mark_effects_done(
            [(a.effect.effect_id, {"performed": a.performed}) for a in done], now=self.clock()
        )
        self.report.done += len(done)
        for attempt in done:
            effect = attempt.effect
            log.info(
                "effect_done",
                effect_id=effect.effect_id,
                kind=effect.kind,
                meeting=effect.meeting_key,
                correlation_id=effect.correlation_id,
                performed=attempt.performed,
            )

    def retry(self, effect: Effect, exc: MailboxError) -> None:
        """Record a failed attempt and when to try again (or give up after too many)."""
        attempts = effect.attempts + 1
        if attempts >= self.policy.max_attempts:
            self.give_up(effect, _text(exc), answer=True)
            return
        retry_after = exc.retry_after if isinstance(exc, MailboxUnavailableError) else None
        now = self.clock()
        retry_at = now + self.policy.delay(attempts, retry_after)
        self.store.mark_effect_failed(effect.effect_id, _text(exc), now=now, retry_at=retry_at)
        self.report.retried += 1
        log.warning(
            "effect_retry",
            effect_id=effect.effect_id,
            kind=effect.kind,
            attempts=attempts,
            retry_at=retry_at.isoformat(),
            error=_text(exc),
        )

    def give_up(self, effect: Effect, error: str, *, answer: bool) -> None:
        """Record the effect as failed for good; answer the organizer if it was an acceptance."""
        self.store.mark_effect_failed(effect.effect_id, error, now=self.clock(), retry_at=None)
        self.report.failed += 1
        log.error(
            "effect_failed",
            effect_id=effect.effect_id,
            kind=effect.kind,
            meeting=effect.meeting_key,
            correlation_id=effect.correlation_id,
            error=error,
        )
        if answer and _is_acceptance(effect):
            self.answer_general_error(effect, error)

    def supersede(self, effect: Effect, failed: Effect) -> None:
        """An earlier effect of the decision failed for good: this one must not run as decided."""
        reason = f"not performed: effect {failed.effect_id} ({failed.kind}) failed"
        self.store.mark_effect_failed(effect.effect_id, reason, now=self.clock(), retry_at=None)
        self.report.failed += 1
        log.warning("effect_superseded", effect_id=effect.effect_id, failed_effect=failed.effect_id)
        if _is_acceptance(effect):
            self.answer_general_error(effect, reason)

    def answer_general_error(self, effect: Effect, reason: str) -> None:
        """Record (and so schedule) the general-error decline for the effect's message."""
        if effect.message_key.endswith(ERROR_SUFFIX):
            return  # the general-error answer itself failed: nothing is left to say
        recorded = self.store.get_decision(effect.message_key)
        address = recorded.message.mailbox if recorded is not None else self.mailbox.address
        key = effect.message_key + ERROR_SUFFIX
        message_id = str(effect.payload["message_id"])
        raw = effect.payload.get("variables")
        given = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        given["correlation_id"] = effect.correlation_id
        reply = general_error_reply(key, message_id, given, self.templates)
        kept = {str(k): str(v) for k, v in dict(reply.payload["variables"]).items()}
        decision = Decision(
            message_id=message_id,
            meeting_key=effect.meeting_key or "",
            outcome=Outcome.REJECT_GENERAL_ERROR,
            actions=(Decline(TemplateName.REJECT_GENERAL_ERROR, variables(kept), reason),),
            correlation_id=effect.correlation_id,
            reason=reason,
        )
        incoming = IncomingMessage(
            key=key,
            mailbox=address,
            meeting_key=effect.meeting_key,
            correlation_id=effect.correlation_id,
        )
        self.store.record_decision(incoming, decision, [reply], now=self.clock())
        log.warning("general_error_answered", message_key=key, correlation_id=effect.correlation_id)
