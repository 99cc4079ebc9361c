"""The running service's tasks: the watcher and its side tasks, ready for the supervisor."""

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from vmrsched.ports.mailbox import Mailbox
from vmrsched.ports.store import Store
from vmrsched.service.apply import IN_FLIGHT, RetryPolicy, apply_effects
from vmrsched.service.clock import Clock
from vmrsched.service.health import Health
from vmrsched.service.rules import Rules
from vmrsched.service.supervisor import Task, periodic
from vmrsched.service.sync import PassReport, sync_mailbox
from vmrsched.service.watch import Watcher

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ServiceParts:
    """Everything the service's tasks work with (``vmrsched.bootstrap`` builds them)."""

    mailbox: Mailbox
    store: Store
    clock: Clock
    rules: Rules
    health: Health
    poll_interval: timedelta = timedelta(seconds=60)
    first_retry: timedelta = timedelta(seconds=5)  # after a failed pass; doubles up to the poll
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    effects_every: timedelta = timedelta(seconds=10)
    effects_in_flight: int = IN_FLIGHT  # effects performed at once (one EWS call each, mostly)
    sweep_every: timedelta = timedelta(hours=1)
    #: Expired, unused reservations are kept this long, so a meeting sent with one is declined
    #: as "alias deleted" (its token still verifies), not as an unknown token; then freed.
    expired_kept: timedelta = timedelta(days=30)


def sweep_reservations(store: Store, clock: Clock, *, kept: timedelta = timedelta(days=30)) -> int:
    """Delete unused reservations that expired more than ``kept`` ago (and those marked expired
    or deleted); their aliases become free again."""
    deleted = store.delete_expired_reservations(clock() - kept)
    if deleted:
        log.info("reservations_expired", deleted=deleted)
    return deleted


def service_tasks(parts: ServiceParts) -> list[Task]:
    """The watcher, the effect retries and the reservation sweep, sharing one effects lock."""
    lock = asyncio.Lock()  # effects are performed by one task at a time
    apply = functools.partial(
        apply_effects,
        parts.mailbox,
        parts.store,
        parts.clock,
        parts.rules.templates,
        retry=parts.retry,
        in_flight=parts.effects_in_flight,
    )

    def run_pass(on_committed: Callable[[], None]) -> PassReport:
        return sync_mailbox(
            parts.mailbox, parts.store, parts.clock, parts.rules, on_committed=on_committed
        )

    watcher = Watcher(
        mailbox=parts.mailbox,
        run_pass=run_pass,
        apply=apply,
        clock=parts.clock,
        health=parts.health,
        poll_interval=parts.poll_interval,
        first_retry=parts.first_retry,
        effects_lock=lock,
    )
    return [
        Task("watcher", watcher.run),
        periodic("effects", parts.effects_every, apply, lock=lock),
        periodic(
            "reservation-sweep",
            parts.sweep_every,
            functools.partial(
                sweep_reservations, parts.store, parts.clock, kept=parts.expired_kept
            ),
            first_delay=timedelta(0),
        ),
    ]
