"""The mailbox contract: one suite, run over the shipped fake and over the EWS and Graph adapters
against a live exchangesim (organizers send real meeting requests with exchangelib as their
client; under Graph the resource has the Calendar Attendant on, as ``api = "graph"`` needs).

What the service relies on: new requests are read with their meeting's facts; the cursor pages
and resumes; updates and cancellations arrive as such; a reply reaches the organizer exactly once,
also after a crash between sending it and recording it; a refused cursor says so; throttling
beyond a call's budget surfaces with ``retry_after``; a delivery wakes a waiter; instructions are
written once and come back marked.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from graph_world import GraphWorld, graph_sim
from harness import ALICE, make_sim, start_sim_server
from mailbox_worlds import START, EwsWorld, FakeWorld, World

from vmrsched.domain import recurrence as rec
from vmrsched.domain.meetings import MessageKind
from vmrsched.ports.mailbox import (
    CursorExpiredError,
    InstallationMarker,
    InstructionsUpdate,
    MailboxUnavailableError,
    MessageGoneError,
    Reply,
    ReplyKind,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from vmrsched.domain.meetings import MeetingMessage

TOKEN = "VMRS:-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.ABCDEFGHIJKLMNOPQRSTUVWX#"


#: Contract tests the Graph adapter does not pass yet, with the reason (strict xfails).
GRAPH_XFAILS: dict[str, str] = {}


@pytest.fixture(params=["fake", "ews", "graph"])
def world(
    request: pytest.FixtureRequest, adapters_cert_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A fresh world: the fake, or a fresh simulator with the EWS or the Graph adapter on it."""
    if request.param == "fake":
        fake = FakeWorld()
        yield fake
        fake.close()
        return
    graph = request.param == "graph"
    if graph and request.node.originalname in GRAPH_XFAILS:
        reason = GRAPH_XFAILS[request.node.originalname]
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    server = start_sim_server(graph_sim() if graph else make_sim(), cert_dir=adapters_cert_dir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))  # the organizers' clients
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ews = GraphWorld(server, peek_every=timedelta(milliseconds=200)) if graph else EwsWorld(server)
    try:
        yield ews
    finally:
        ews.close()
        server.stop()


def drain(world: World, cursor: str | None = None) -> tuple[list[MeetingMessage], str]:
    """Every message after `cursor`, following pages; and the last cursor."""
    messages: list[MeetingMessage] = []
    while True:
        page = world.mailbox.fetch_changes(cursor)
        messages.extend(page.messages)
        cursor = page.cursor
        if not page.more:
            return messages, cursor


def meetings(messages: list[MeetingMessage]) -> list[MeetingMessage]:
    return [m for m in messages if m.kind is not MessageKind.OTHER]


def reply_to(message: MeetingMessage, kind: ReplyKind = ReplyKind.ACCEPT) -> Reply:
    return Reply(
        message_id=message.message_id,
        kind=kind,
        body_html=f"<p>{kind.value}: your VMR is 81123456</p>",
        idempotency_key=f"reply:vmr/{message.message_id}",
    )


def test_a_new_request_is_read_with_its_meetings_facts(world: World) -> None:
    """A request arrives as NEW with UID, organizer, subject, times and the body's token."""
    world.send("Budget review", body_html=f"<p>Join with {TOKEN}</p>")
    (message,) = meetings(drain(world)[0])
    assert message.kind is MessageKind.NEW
    assert message.uid
    assert message.organizer_email.casefold() == ALICE
    assert message.subject == "Budget review"
    assert (message.start, message.end) == (START, START + timedelta(hours=1))
    assert TOKEN in message.body_html + message.body_text
    assert message.recurrence is None
    assert message.time_zone


def test_the_cursor_pages_and_resumes(world: World) -> None:
    """Pages of `limit` messages, oldest first; the last cursor sees only what came later."""
    for name in ("one", "two", "three"):
        world.send(name)
    first = world.mailbox.fetch_changes(None, limit=2)
    assert [m.subject for m in first.messages] == ["one", "two"]
    assert first.more
    second = world.mailbox.fetch_changes(first.cursor, limit=2)
    assert [m.subject for m in second.messages] == ["three"]
    assert not second.more
    assert world.mailbox.fetch_changes(second.cursor).messages == []
    world.send("four")
    assert [m.subject for m in world.mailbox.fetch_changes(second.cursor).messages] == ["four"]


def test_a_series_arrives_with_its_pattern(world: World) -> None:
    """A weekly series of five arrives as one request carrying its recurrence."""
    world.send("Weekly sync", weekly=5)
    (message,) = meetings(drain(world)[0])
    assert message.recurrence is not None
    assert isinstance(message.recurrence.pattern, rec.WeeklyPattern)
    assert message.recurrence.range == rec.NumberedRange(START.date(), 5)


def test_an_edited_occurrence_arrives_about_that_occurrence(world: World) -> None:
    """Moving the third occurrence of a series: an UPDATE naming its original start, no series."""
    meeting = world.send("Weekly with an exception", weekly=5)
    cursor = drain(world)[1]
    world.move_occurrence(meeting, 3, timedelta(hours=2))
    (update,) = meetings(drain(world, cursor)[0])
    original = START + timedelta(weeks=2)
    assert update.kind is MessageKind.UPDATE
    assert update.occurrence_original_start == original
    assert update.recurrence is None
    assert update.start == original + timedelta(hours=2)


def test_an_update_and_a_cancellation_arrive_as_such_with_rising_sequences(world: World) -> None:
    """A new time is an UPDATE with a higher sequence; a cancellation is a CANCEL above it."""
    meeting = world.send("Moving target")
    (new,), cursor = drain(world)
    world.reschedule(meeting, START + timedelta(hours=2), START + timedelta(hours=3))
    updates, cursor = drain(world, cursor)
    (update,) = meetings(updates)
    assert update.kind is MessageKind.UPDATE
    assert update.uid == new.uid
    assert update.sequence > new.sequence
    assert update.start == START + timedelta(hours=2)
    world.cancel(meeting)
    (cancel,) = meetings(drain(world, cursor)[0])
    assert cancel.kind is MessageKind.CANCEL
    assert cancel.uid == new.uid
    assert cancel.sequence > update.sequence


def test_a_reply_reaches_the_organizer_once(world: World) -> None:
    """Accepting sends one response; the same reply again sends nothing."""
    world.send("Accept me")
    (message,) = meetings(drain(world)[0])
    assert world.mailbox.reply(reply_to(message)) is True
    assert world.mailbox.reply(reply_to(message)) is False
    responses = world.responses()
    assert [kind for kind, _ in responses] == [ReplyKind.ACCEPT]
    assert "81123456" in responses[0][1]


def test_a_first_attempt_at_a_reply_sends_it_once(world: World) -> None:
    """A reply no attempt was begun for (maybe_sent False) goes out once, as one answer."""
    world.send("First try")
    (message,) = meetings(drain(world)[0])
    first = dataclasses.replace(reply_to(message), maybe_sent=False)
    assert world.mailbox.reply(first) is True
    assert world.mailbox.reply(reply_to(message)) is False
    assert [kind for kind, _ in world.responses()] == [ReplyKind.ACCEPT]


def test_a_reply_is_not_sent_again_after_a_crash_before_it_was_recorded(world: World) -> None:
    """Sent, then the service died before recording it: after a restart the reply is found."""
    world.send("Crash in between")
    (message,) = meetings(drain(world)[0])
    assert world.mailbox.reply(reply_to(message, ReplyKind.DECLINE)) is True
    restarted = world.restart()
    assert restarted.reply(reply_to(message, ReplyKind.DECLINE)) is False
    assert [kind for kind, _ in world.responses()] == [ReplyKind.DECLINE]


def test_a_reply_to_a_request_that_is_gone_says_so(world: World) -> None:
    """A request deleted from the inbox cannot be answered: MessageGoneError, nothing sent."""
    world.send("Deleted before answered")
    (message,) = meetings(drain(world)[0])
    world.delete_request(message.message_id)
    with pytest.raises(MessageGoneError):
        world.mailbox.reply(reply_to(message))
    assert world.responses() == []


def test_a_refused_cursor_raises_cursor_expired(world: World) -> None:
    """A cursor Exchange no longer accepts raises CursorExpiredError; None starts again."""
    world.send("Still here")
    cursor = world.refused_cursor()
    with pytest.raises(CursorExpiredError):
        world.mailbox.fetch_changes(cursor)
    assert [m.subject for m in meetings(drain(world)[0])] == ["Still here"]


def test_throttling_beyond_the_budget_surfaces_with_retry_after(world: World) -> None:
    """A server back-off longer than a call may wait: MailboxUnavailableError with retry_after."""
    world.throttle()
    with pytest.raises(MailboxUnavailableError) as caught:
        world.mailbox.fetch_changes(None)
    assert caught.value.retryable
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > timedelta(seconds=30)


def test_a_delivery_wakes_a_waiter(world: World) -> None:
    """Once armed, a new request ends a wait early and says push is healthy."""
    first = world.mailbox.wait_for_changes(timedelta(0))
    assert first.push_healthy
    world.send("Wake up")
    events = world.mailbox.wait_for_changes(timedelta(seconds=20))
    assert events.changed
    assert events.push_healthy


def test_instructions_are_written_once_and_come_back_marked(world: World) -> None:
    """Writing puts the instructions in the organizer's meeting and sends the update, which
    returns to the resource mailbox carrying the marker; writing again does nothing."""
    meeting = world.send("Placeholder meeting", body_html="<p>Video: VMRP:-ABCDEFGHIJKLMNOP#</p>")
    (request,), cursor = drain(world)
    marker = f"vmrsched:{request.meeting_key}:{request.sequence}"
    update = InstructionsUpdate(
        organizer_email=request.organizer_email,
        uid=request.uid,
        body_html="<p>Join 81123456</p>",
        marker=marker,
        idempotency_key=f"write:{request.message_id}",
    )
    assert world.mailbox.write_instructions(update) is True
    assert world.mailbox.write_instructions(update) is False
    assert "81123456" in world.organizer_body(meeting)
    (echo,) = meetings(drain(world, cursor)[0])
    assert echo.kind is MessageKind.UPDATE
    assert echo.marker == marker
    assert echo.sequence > request.sequence


def test_instructions_for_an_unknown_meeting_are_gone(world: World) -> None:
    """No meeting with that UID in the organizer's calendar: MessageGoneError."""
    update = InstructionsUpdate(
        organizer_email=ALICE,
        uid="040000008200E00074C5B7101A82E00800000000FFFFFFFFFFFFFFFF",
        body_html="<p>x</p>",
        marker="vmrsched:0123456789abcdef0123456789abcdef:0",
        idempotency_key="write:none",
    )
    with pytest.raises(MessageGoneError):
        world.mailbox.write_instructions(update)


def test_the_installation_marker_is_absent_then_kept_and_replaced(world: World) -> None:
    """A fresh resource mailbox has no installation marker; a written one reads back as
    written (heartbeat to the second, in UTC), and writing again replaces it."""
    assert world.mailbox.read_marker() is None
    first = InstallationMarker("a1b2c3d4", datetime(2027, 3, 1, 8, 0, 5, tzinfo=UTC), "host-a")
    world.mailbox.write_marker(first)
    assert world.mailbox.read_marker() == first
    later = InstallationMarker("a1b2c3d4", datetime(2027, 3, 1, 8, 5, 5, tzinfo=UTC), "host-a")
    world.mailbox.write_marker(later)
    assert world.mailbox.read_marker() == later


def test_the_installation_marker_is_not_a_message(world: World) -> None:
    """Writing the marker puts nothing in the inbox the service reads."""
    _, cursor = drain(world)
    world.mailbox.write_marker(
        InstallationMarker("a1b2c3d4", datetime(2027, 3, 1, 8, 0, tzinfo=UTC), "host-a")
    )
    assert drain(world, cursor)[0] == []


def test_the_placeholder_gives_way_to_the_instructions(world: World) -> None:
    """The placeholder block is replaced whole; the organizer's own text stays."""
    block = '<div class="vmrsched-placeholder"><p>Soon</p><p>VMRP:-ABCDEFGHIJKLMNOP#</p></div>'
    meeting = world.send("Placeholder block", body_html=f"<p>Agenda</p>{block}<p>Bye</p>")
    (request,), _ = drain(world)
    update = InstructionsUpdate(
        organizer_email=request.organizer_email,
        uid=request.uid,
        body_html='<div class="vmrsched-instructions"><p>Join 81123456</p></div>',
        marker=f"vmrsched:{request.meeting_key}:{request.sequence}",
        idempotency_key=f"write:{request.message_id}",
    )
    assert world.mailbox.write_instructions(update) is True
    body = world.organizer_body(meeting)
    assert "VMRP:-" not in body
    assert "Soon" not in body
    assert body.index("Agenda") < body.index("Join 81123456") < body.index("Bye")
