"""Support for the placeholder, allocate, healing, forward and delegate end-to-end tests.

What an organizer, an attendee or the resource sees is read back with exchangelib from their
mailboxes; the checks count what a person reads (plain text made from the HTML) and check the
HTML's block structure with an independent parser.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from exchangelib import Attendee, CalendarItem, EWSDateTime, HTMLBody, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest, MeetingResponse

from exchangesim.server import start_in_thread
from vmrsched.cli.demo_tenant import RESOURCE
from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.instructions import placeholder_block
from vmrsched.domain.meetings import MeetingRef
from vmrsched.domain.tokens import TokenKind, placeholder_token, read_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest
    from test_end_to_end import LiveService

    from exchangesim.server import RunningServer
    from exchangesim.sim import Simulator

#: The first line of the default instructions and of the default placeholder text.
INSTRUCTIONS_HEADING = "Join the video meeting"
PLACEHOLDER_HEADING = "Video meeting details will follow"

_BLOCKS = frozenset(
    {"address", "article", "blockquote", "div", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
     "ol", "p", "pre", "section", "table", "ul"}
)  # fmt: skip
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
)


class _Structure(HTMLParser):
    """Collects nesting faults: a block inside a paragraph, end tags that close nothing open."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.faults: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS and "p" in self.stack:
            self.faults.append(f"<{tag}> inside <p> (after {'/'.join(self.stack)})")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.faults.append(f"</{tag}> while {'/'.join(self.stack) or 'nothing'} is open")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def structure_faults(html: str) -> list[str]:
    """What is wrong with the HTML's nesting ([] when every block is where HTML allows it)."""
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser.faults + [f"<{tag}> never closed" for tag in parser.stack]


def send_meeting(
    live: LiveService,
    organizer: str,
    subject: str,
    body: str,
    *,
    others: tuple[str, ...] = (),
    hours_from_now: float = 26,
) -> Any:
    """Send a one-hour meeting inviting the resource and ``others``; return the organizer's item."""
    start = EWSDateTime.now(live.zone).replace(second=0, microsecond=0) + timedelta(
        hours=hours_from_now
    )
    return invite(live, organizer, subject, body, start, start + timedelta(hours=1), others)


def invite(
    live: LiveService,
    organizer: str,
    subject: str,
    body: str,
    start: Any,
    end: Any,
    others: tuple[str, ...] = (),
    **fields: Any,
) -> Any:
    """As ``organizer``, send a meeting from ``start`` to ``end`` (exchangelib datetimes) inviting
    the resource and ``others``, with any other item ``fields`` (a recurrence); return it."""
    account = live.account(organizer)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject=subject,
        body=HTMLBody(body),
        start=start,
        end=end,
        required_attendees=[
            Attendee(mailbox=Mailbox(email_address=email)) for email in (RESOURCE, *others)
        ],
        **fields,
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.refresh()
    return item


@contextmanager
def served(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """``simulator`` over HTTPS while the block runs, requests' CA variables pointing at its CA
    (the organizers' exchangelib clients rely on them)."""
    running = start_in_thread(simulator, "127.0.0.1", 0, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    try:
        yield running
    finally:
        running.stop()


def placeholder_body(live: LiveService, before: str, after: str) -> tuple[str, str]:
    """An organizer's HTML body with the add-in's placeholder block between two paragraphs."""
    token = placeholder_token(secrets.token_hex(16).upper())
    block = placeholder_block(live.components.rules.templates, token)
    return f"<html><body><p>{before}</p>\n{block.html}\n<p>{after}</p></body></html>", token


def shown(html: str) -> str:
    """What a person reads: the HTML as plain text."""
    return html_to_text(html)


def signed_tokens(html: str) -> int:
    """How many signed alias tokens the text of ``html`` shows."""
    return shown(html).count("VMRS:-")


def requests_for(live: LiveService, person: str, subject: str) -> list[Any]:
    """The meeting requests in ``person``'s inbox and deleted items about ``subject``, oldest
    first, with their bodies."""
    account = live.account(person)
    found = []
    for folder in (account.inbox, account.trash):
        found.extend(
            item
            for item in folder.all().order_by("datetime_received")
            if isinstance(item, MeetingRequest) and str(item.subject).endswith(subject)
        )
    return sorted(found, key=lambda item: item.datetime_received)


def responses_in(live: LiveService, person: str, subject: str) -> list[Any]:
    """The meeting responses in ``person``'s inbox about ``subject``, oldest first."""
    return [
        item
        for item in live.account(person).inbox.all().order_by("datetime_received")
        if isinstance(item, MeetingResponse) and str(item.subject).endswith(subject)
    ]


def calendar_item(live: LiveService, person: str, uid: str) -> Any:
    """``person``'s calendar item of the meeting ``uid`` (with its body), or None."""
    for item in live.account(person).calendar.all():
        if getattr(item, "uid", None) == uid:
            return item
    return None


def outcomes(live: LiveService, organizer: str, uid: str) -> list[str]:
    """Every outcome the service decided for the meeting, oldest first."""
    key = MeetingRef(organizer, uid).meeting_key
    events = live.store.events_for_meeting(key)
    return [str(e.detail["decision"]["outcome"]) for e in events if e.kind == "decision"]


def token_kind(html: str) -> TokenKind:
    """What kind of alias token the body holds."""
    return read_token("", html).kind
