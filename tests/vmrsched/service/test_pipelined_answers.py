"""A backlog is answered while it is still being read: the first answers do not wait for the rest.

No timing: the fake mailbox holds back the read of the backlog's second page until a reply has
been sent (or the bound ``WAIT`` has passed), and counts the decisions recorded when the first
reply goes out. A service that decided the whole backlog before answering would wait out the
bound and fail. Effects of one meeting still go out one after the other, oldest first.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from service_support import (
    NOW,
    FakeMailbox,
    ManualClock,
    meeting,
    reserve,
    rules,
    token_body,
)

from vmrsched.adapters.db import SqlStore
from vmrsched.domain.meetings import MessageKind
from vmrsched.ports.mailbox import ReplyKind
from vmrsched.ports.store import StoreUnavailableError
from vmrsched.service.apply import ApplyReport, apply_effects
from vmrsched.service.health import Health
from vmrsched.service.runtime import ServiceParts, service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.service.sync import PassReport, sync_mailbox
from vmrsched.service.watch import Watcher

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from vmrsched.ports.mailbox import ChangePage, Reply
    from vmrsched.ports.store import Effect

WAIT = 10  # seconds: an upper bound for events that arrive within milliseconds
PAGE = 100  # the pass's page size (`sync_mailbox`'s default, as the service runs it)
BACKLOG = 150  # two pages: the second is held back


@pytest.fixture
def store() -> Iterator[SqlStore]:
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


class HeldBackMailbox(FakeMailbox):
    """Reads every page after the first only once a reply was sent (or ``WAIT`` passed); notes
    how many decisions the store held when the first reply went out."""

    def __init__(self, decided: Any, total: int) -> None:
        super().__init__()
        self.decided = decided
        self.total = total
        self.released_by_reply: bool | None = None
        self.decided_at_first_reply: int | None = None
        self.all_answered = threading.Event()

    def fetch_changes(self, cursor: str | None, *, limit: int = 100) -> ChangePage:
        if cursor is not None and self.released_by_reply is None:
            self.released_by_reply = self.replied.wait(WAIT)
        return super().fetch_changes(cursor, limit=limit)

    def reply(self, reply: Reply) -> bool:
        if self.decided_at_first_reply is None:
            self.decided_at_first_reply = self.decided()
        sent = super().reply(reply)
        if len(self.replies) >= self.total:
            self.all_answered.set()
        return sent


def count_decisions(store: SqlStore) -> Any:
    """Wrap ``store.record_decision`` to count the fresh decisions; the count, as a function."""
    record = store.record_decision
    lock = threading.Lock()
    fresh = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal fresh
        recorded = record(*args, **kwargs)
        if recorded.fresh:
            with lock:
                fresh += 1
        return recorded

    store.record_decision = counted  # type: ignore[method-assign]

    def decided() -> int:
        with lock:
            return fresh

    return decided


async def test_a_backlog_gets_its_first_answer_before_its_second_page_is_read(
    store: SqlStore,
) -> None:
    """With 150 requests waiting at start, the oldest is answered while the pass is still on
    the first page, before the rest is read; every request is then answered exactly once."""
    clock = ManualClock()
    decided = count_decisions(store)
    mailbox = HeldBackMailbox(decided, BACKLOG)
    for number in range(BACKLOG):
        reservation = reserve(store, seed=number)
        mailbox.deliver(
            meeting(f"m{number:03d}", uid=f"UID-{number}", body_html=token_body(reservation))
        )
    parts = ServiceParts(
        mailbox=mailbox,
        store=store,
        clock=clock,
        rules=rules(),
        health=Health(clock()),
        poll_interval=timedelta(hours=1),
        effects_every=timedelta(hours=1),
        sweep_every=timedelta(hours=1),
    )
    supervisor = Supervisor(service_tasks(parts))
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    answered = await asyncio.to_thread(mailbox.all_answered.wait, WAIT)
    supervisor.request_stop(stop, "test done")
    report = await asyncio.wait_for(running, WAIT)

    assert report.ok
    assert mailbox.released_by_reply is True  # answered before the second page was read
    assert mailbox.decided_at_first_reply is not None
    assert mailbox.decided_at_first_reply <= PAGE < BACKLOG
    assert answered
    assert mailbox.replies[0].message_id == "m000"  # the oldest first
    answers = [reply.message_id for reply in mailbox.replies]
    assert sorted(answers) == [f"m{number:03d}" for number in range(BACKLOG)]
    assert {reply.kind for reply in mailbox.replies} == {ReplyKind.ACCEPT}


def test_a_request_and_its_update_are_never_answered_side_by_side(store: SqlStore) -> None:
    """The request's acceptance and its update's go out in different rounds, request first,
    while the answers to other meetings share the rounds."""
    mailbox, clock = FakeMailbox(), ManualClock()
    first, second = reserve(store, seed=1), reserve(store, seed=2)
    later = NOW + timedelta(days=1)
    mailbox.deliver(
        meeting("other", uid="UID-OTHER", body_html=token_body(second)),
        meeting("request", uid="UID-1", body_html=token_body(first)),
        meeting(
            "update",
            uid="UID-1",
            body_html=token_body(first),
            kind=MessageKind.UPDATE,
            sequence=1,
            start=later,
        ),
    )
    sync_mailbox(mailbox, store, clock, rules())
    rounds: list[list[int]] = []
    start = store.start_effects

    def noted(effect_ids: list[int], **kwargs: Any) -> None:
        rounds.append(list(effect_ids))
        start(effect_ids, **kwargs)

    store.start_effects = noted  # type: ignore[method-assign]
    pending: list[Effect] = store.pending_effects(clock())
    by_message = {str(e.payload["message_id"]): e.effect_id for e in pending}

    report = apply_effects(mailbox, store, clock, rules().templates, in_flight=4)

    assert report.done == 3
    assert [reply.message_id for reply in mailbox.replies][-1] == "update"
    # The update's answer is not even listed before the request's is done (a meeting's later
    # effects wait in the store for its oldest): it goes out alone, in a later round.
    assert "update" not in by_message
    assert rounds[0] == [by_message["other"], by_message["request"]]
    assert len(rounds) == 2
    assert len(rounds[1]) == 1
    assert rounds[1][0] > by_message["request"]


async def test_when_the_effects_fail_during_a_pass_the_turn_waits_for_the_pass_to_end() -> None:
    """The store fails while the effects of a committed batch go out: the pass still runs to
    its end (no second pass may start beside it), then the turn reports the failure."""
    clock = ManualClock()
    health = Health(clock())
    effects_failed = threading.Event()
    ended: list[str] = []

    def run_pass(on_committed: Callable[[], None]) -> PassReport:
        on_committed()
        assert effects_failed.wait(WAIT)  # the effects failed while this pass was running
        ended.append("pass")
        return PassReport(pages=1, processed=(), resynced=False)

    def apply() -> ApplyReport:
        effects_failed.set()
        raise StoreUnavailableError("database is locked")

    watcher = Watcher(
        mailbox=FakeMailbox(), run_pass=run_pass, apply=apply, clock=clock, health=health
    )
    turned = await asyncio.wait_for(watcher.turn(), WAIT)

    assert turned is False
    assert ended == ["pass"]
    ready, why = health.ready(clock(), timedelta(minutes=5))
    assert not ready
    assert "StoreUnavailableError" in why
