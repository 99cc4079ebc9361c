"""One pass over the resource mailbox: read what changed, decide, record. Nothing is sent here.

``sync_mailbox`` reads the changes page by page from the stored cursor. For each message it asks
the store whether that delivery was decided before (its key: mailbox + message id); if not, it
plans (`vmrsched.service.drafts`: pure domain code and store reads) and records the decision, the
booking it leads to and its pending effects in one transaction (``Store.record_decision``). Up to
``DECISIONS_PER_COMMIT`` messages are recorded in one batch (``Store.batch``: one commit, one disk
flush, each decision still all or nothing). Only when every message of a page is committed does
the cursor move. Messages are decided one after the other in the mailbox's order, so a request
is decided before its update or cancellation.

Effects are performed by `vmrsched.service.apply`, and only ever on committed decisions: after
each committed batch the pass calls ``on_committed``, and the watcher performs that batch's
effects while the pass reads and decides the rest, so a backlog's first answers go out within
a second or two, not after the whole backlog is read and decided. (A page is what the mailbox
hands out at once: an EWS SyncFolderItems page, read in GetItem batches of 50, or one Graph
``$batch`` of a delta page, see `vmrsched.adapters.graph.slices`.) Each pass ends by extending
the series bookings whose horizon came near (`vmrsched.service.horizon`).

A crash at any line therefore loses nothing and does nothing twice: before the cursor moves, the
page is read again and its messages are found decided; after it moves, the decisions are recorded
and their effects pending. When the mailbox says the cursor expired, the pass reads the whole
folder again from the start; duplicate detection by message key keeps that exactly-once too.
"""

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog

from vmrsched.domain.actions import Decision, Outcome, correlation_id_for
from vmrsched.domain.meetings import MeetingMessage, MessageKind
from vmrsched.ports.mailbox import CursorExpiredError, Mailbox
from vmrsched.ports.store import ConflictError, IncomingMessage, Store
from vmrsched.service import crashpoints
from vmrsched.service.clock import Clock
from vmrsched.service.drafts import Drafter, general_error
from vmrsched.service.horizon import extend_series
from vmrsched.service.rules import Rules

log = structlog.get_logger(__name__)

#: The folder whose cursor a pass keeps (meeting messages arrive in the inbox).
INBOX: Final = "inbox"
#: Messages decided per commit: one disk flush for this many decisions, while the write lock
#: (SQLite) is held for a fraction of a second at a time.
DECISIONS_PER_COMMIT: Final = 25
#: How often one message is planned again after the store refused what was planned (a drawn
#: alias was taken meanwhile, a reservation was used by another meeting in between).
PLAN_ATTEMPTS: Final = 3


def message_key(mailbox: str, message_id: str) -> str:
    """The key that tells deliveries apart: the same message in the same mailbox is one key."""
    return f"{mailbox.strip().casefold()}/{message_id}"


@dataclass(frozen=True)
class Processed:
    """What a pass did with one message. ``fresh`` is False for a delivery decided before."""

    message_key: str
    meeting_key: str | None
    outcome: Outcome
    reason: str
    correlation_id: str
    fresh: bool


@dataclass(frozen=True)
class PassReport:
    """What one pass read and decided."""

    pages: int
    processed: tuple[Processed, ...]
    resynced: bool
    extended: int = 0  # series bookings extended as time passed (`horizon.extend_series`)

    @property
    def decided(self) -> int:
        """How many messages got a decision in this pass."""
        return sum(1 for item in self.processed if item.fresh)

    @property
    def duplicates(self) -> int:
        """How many messages had been decided before (re-read after a crash or a resync)."""
        return sum(1 for item in self.processed if not item.fresh)


def sync_mailbox(
    mailbox: Mailbox,
    store: Store,
    clock: Clock,
    rules: Rules,
    *,
    page_size: int = 100,
    rng: random.Random | None = None,
    on_committed: Callable[[], None] | None = None,
) -> PassReport:
    """Read every change since the stored cursor and record a decision for each new message.

    Raises the mailbox's errors (`MailboxUnavailableError`, `MailboxAuthError`, ...) and
    retryable store errors: the pass stops where it is, and the next one resumes from the last
    stored cursor. `rng` draws aliases for the allocate flow (``secrets.SystemRandom`` by default).
    `on_committed` is called (in the pass's thread) each time a batch holding new decisions is
    committed, so their effects can be performed while the pass reads and decides the rest
    (`vmrsched.service.watch`); it must not block.
    """
    drafter = Drafter(store, rules, rng if rng is not None else secrets.SystemRandom())
    one_pass = _Pass(mailbox, store, clock, rules, drafter, on_committed or _nobody)
    return one_pass.run(page_size)


def _nobody() -> None:
    """No one waits for the pass's commits."""


@dataclass(frozen=True)
class _Pass:
    mailbox: Mailbox
    store: Store
    clock: Clock
    rules: Rules
    drafter: Drafter
    on_committed: Callable[[], None]

    def run(self, page_size: int) -> PassReport:
        address, store = self.mailbox.address, self.store
        cursor = store.get_cursor(address, INBOX)
        processed: list[Processed] = []
        pages = 0
        resynced = False
        while True:
            try:
                page = self.mailbox.fetch_changes(cursor, limit=page_size)
            except CursorExpiredError:
                if resynced:
                    raise
                log.warning("cursor_expired", mailbox=address, action="reading the folder again")
                store.set_cursor(address, INBOX, None, now=self.clock())
                cursor, resynced = None, True
                continue
            pages += 1
            messages = page.messages
            for first in range(0, len(messages), DECISIONS_PER_COMMIT):
                chunk = messages[first : first + DECISIONS_PER_COMMIT]
                with store.batch():
                    done = [self.process(message) for message in chunk]
                processed.extend(done)
                if any(item.fresh for item in done):
                    self.on_committed()  # committed: their effects may go out now
            store.set_cursor(address, INBOX, page.cursor, now=self.clock())
            crashpoints.reached("cursor")
            cursor = page.cursor
            if not page.more:
                break
        extended = extend_series(store, self.clock, self.rules, mailbox=address)
        report = PassReport(
            pages=pages, processed=tuple(processed), resynced=resynced, extended=extended
        )
        if report.processed:
            log.info(
                "pass_done",
                mailbox=address,
                pages=pages,
                decided=report.decided,
                duplicates=report.duplicates,
                resynced=resynced,
            )
        return report

    def process(self, message: MeetingMessage) -> Processed:
        """Decide one message and record the decision, unless this delivery was decided."""
        address, store = self.mailbox.address, self.store
        key = message_key(address, message.message_id)
        earlier = store.get_decision(key)
        if earlier is not None:
            return _processed(key, earlier.decision, earlier.message.meeting_key, fresh=False)
        meeting_key = None if message.kind is MessageKind.OTHER else message.meeting_key
        incoming = IncomingMessage(
            key=key,
            mailbox=address,
            meeting_key=meeting_key,
            correlation_id=correlation_id_for(message.message_id),
        )
        now = self.clock()
        problem = ""
        for _ in range(PLAN_ATTEMPTS):
            draft = self.drafter.draft_or_error(key, message, now)
            try:
                recorded = store.record_decision(
                    incoming,
                    draft.decision,
                    draft.effects,
                    now=now,
                    booking=draft.booking,
                    reservation=draft.reservation,
                )
            except ConflictError as exc:
                # A drawn alias was taken meanwhile, or a reservation was used by another
                # meeting in between: plan again with what the store holds now.
                problem = str(exc)
                continue
            break
        else:
            draft = general_error(key, message, self.rules, f"the store refused: {problem}")
            recorded = store.record_decision(incoming, draft.decision, draft.effects, now=now)
        if recorded.fresh:
            crashpoints.reached("decision")
            decision = recorded.decision
            log.info(
                "message_decided",
                mailbox=address,
                message_key=key,
                meeting=meeting_key,
                kind=message.kind.value,
                outcome=decision.outcome.value,
                reason=decision.reason,
                correlation_id=decision.correlation_id,
                effects=[effect.kind for effect in recorded.effects],
            )
        return _processed(key, recorded.decision, meeting_key, fresh=recorded.fresh)


def _processed(key: str, decision: Decision, meeting_key: str | None, *, fresh: bool) -> Processed:
    return Processed(
        message_key=key,
        meeting_key=meeting_key,
        outcome=decision.outcome,
        reason=decision.reason,
        correlation_id=decision.correlation_id,
        fresh=fresh,
    )
