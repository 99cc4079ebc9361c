"""Writing instructions exactly once, proven by killing the service in the middle of the write.

The service runs as a real process (`vmrsched run`) against a live exchangesim, as in
`test_exactly_once`. Two placeholder meetings wait in the resource mailbox. The first run is
killed right after the first instructions update went out and before it was marked done
(``write_instructions:1``); the second just before its second write (``write_instructions:before:2``);
a third run finishes. Every attendee then holds exactly one update per meeting, each organizer's
meeting shows the instructions once, and each organizer has one acceptance.
"""

# The process fixtures come from test_exactly_once, so their names come back as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import signal
import subprocess
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest, MeetingResponse
from flows_support import INSTRUCTIONS_HEADING, shown, signed_tokens
from test_exactly_once import (  # noqa: F401  (fixtures used by name)
    api,
    config,
    server,
    start_service,
    wait_for_health,
    wait_until,
)

from vmrsched.adapters.db import SqlStore
from vmrsched.adapters.db.tables import effects
from vmrsched.cli.demo_tenant import RESOURCE, organizer_account
from vmrsched.config import compile_templates
from vmrsched.domain.instructions import placeholder_block
from vmrsched.domain.tokens import placeholder_token

if TYPE_CHECKING:
    from pathlib import Path

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

ALICE, BOB, CAROL = "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"
MEETINGS = {"Placeholder one": ALICE, "Placeholder two": CAROL}
CRASHES = ("write_instructions:1", "write_instructions:before:2")


def _send(server: RunningServer, organizer: str, subject: str, number: int) -> None:
    account = organizer_account(server, organizer)
    token = placeholder_token(f"CRASHTEST{number:07d}ABCDEFGH")
    block = placeholder_block(compile_templates({}), token).html
    zone = EWSTimeZone("Europe/Berlin")
    start = EWSDateTime.now(zone).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject=subject,
        body=HTMLBody(f"<p>Before</p>{block}<p>After</p>"),
        start=start + timedelta(hours=number),
        end=start + timedelta(hours=number, minutes=30),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=e)) for e in (RESOURCE, BOB)],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def _of(account: Any, kind: type, subject: str) -> list[Any]:
    found = []
    for folder in (account.inbox, account.trash):
        found += [
            item
            for item in folder.all()
            if isinstance(item, kind) and str(item.subject).endswith(subject)
        ]
    return found


def _settled(server: RunningServer) -> bool:
    bob = organizer_account(server, BOB)
    for subject, organizer in MEETINGS.items():
        if len(_of(organizer_account(server, organizer), MeetingResponse, subject)) < 1:
            return False
        if len(_of(bob, MeetingRequest, subject)) < 2:
            return False
    return True


def test_a_crash_while_writing_instructions_sends_each_update_once(
    server: RunningServer, config: Path, tmp_path: Path
) -> None:
    """Killed after a write and before it was recorded, and again just before a write: one
    update per meeting reaches the attendee, one acceptance reaches each organizer."""
    for number, (subject, organizer) in enumerate(MEETINGS.items()):
        _send(server, organizer, subject, number)
    log = tmp_path / "service.log"
    for crash_at in CRASHES:
        process = start_service(config, crash_at, log)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            pytest.fail(f"never reached {crash_at}: {log.read_text()[-3000:]}")
        assert process.returncode == -signal.SIGKILL, log.read_text()[-3000:]

    final = start_service(config, None, log)
    try:
        assert wait_for_health(final), log.read_text()[-3000:]
        done = wait_until(lambda: _settled(server), timeout=90)
    finally:
        final.send_signal(signal.SIGTERM)
        status = final.wait(timeout=30)
    assert done, log.read_text()[-3000:]
    assert status == 0, log.read_text()[-3000:]

    bob = organizer_account(server, BOB)
    for subject, organizer in MEETINGS.items():
        requests = _of(bob, MeetingRequest, subject)
        assert len(requests) == 2, subject  # the invitation and one instructions update
        account = organizer_account(server, organizer)
        assert len(_of(account, MeetingResponse, subject)) == 1, subject
        mine = next(i for i in account.calendar.all() if str(i.subject) == subject)
        for html in (str(mine.body), str(max(requests, key=lambda r: r.datetime_received).body)):
            assert shown(html).count(INSTRUCTIONS_HEADING) == 1, subject
            assert signed_tokens(html) == 1, subject
        assert len(_of(organizer_account(server, RESOURCE), MeetingRequest, subject)) == 2

    store = SqlStore.open(f"sqlite:///{config.parent / 'state.sqlite'}")
    try:
        with store.engine.connect() as conn:
            states = conn.execute(
                sa.select(effects.c.kind, effects.c.state, sa.func.count()).group_by(
                    effects.c.kind, effects.c.state
                )
            ).all()
    finally:
        store.close()
    assert sorted(states) == [("reply", "done", 2), ("write_instructions", "done", 2)]
