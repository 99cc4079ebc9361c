"""A message delta page handed out in slices of one ``$batch``, so a backlog's first answers
need not wait for the whole page to be read.

A page of the inbox's message delta lists up to 100 new messages by id; each meeting message
is then read with its event, 20 to a ``$batch`` (about a second each under Exchange Online's
limits). `GraphMailbox.fetch_changes` hands a page out one ``$batch`` at a time (``SLICE``
messages at most): the service decides and answers the first slice while the rest of the page
is still unread. The requests are the same as for whole pages (one delta request per page, one
``$batch`` per 20 meeting messages).

A slice that ends inside its page gets a cursor of its own: the link the page came from, with a
fragment (``#vmrsched-slice-N``) that no Graph link carries. The rest of the page (its entries
and the page's own next or delta link) is kept in memory under that cursor. When the rest is
not there (the service restarted, or a later pass stored another cursor meanwhile), the cursor
reads its page again from the start: the messages already decided are found decided by their
message key, so exactly-once holds, at the cost of reading them again.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vmrsched.adapters.graph.transport import BATCH_LIMIT
from vmrsched.ports.mailbox import MailboxError

if TYPE_CHECKING:
    from vmrsched.adapters.graph.transport import GraphTransport

#: The most messages one slice holds: one ``$batch`` of reads.
SLICE: Final = BATCH_LIMIT
#: A round's first request: new messages only, their ids and arrival times.
ROUND_QUERY: Final = "changeType=created&$select=id,receivedDateTime"
#: Marks a cursor that points inside a page: a URL fragment, which Graph's links never carry.
MARK: Final = "#vmrsched-slice-"


@dataclass(frozen=True)
class Rest:
    """The entries of a page not handed out yet, and the page's own cursor and ``more``."""

    entries: tuple[dict[str, Any], ...]
    cursor: str
    more: bool


def page_link(cursor: str) -> str:
    """The link of the page a cursor points into (the cursor itself for a page's cursor)."""
    return cursor.split(MARK, 1)[0]


class Slices:
    """The one page being handed out in slices (thread-safe; a pass reads one page at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: tuple[str, Rest] | None = None
        self._numbers = itertools.count(1)

    def take(self, cursor: str | None) -> Rest | None:
        """The rest of the page that ``cursor`` points into, if it is still held."""
        with self._lock:
            held = self._held
            if cursor is None or held is None or held[0] != cursor:
                return None
            self._held = None
            return held[1]

    def keep(self, link: str, rest: Rest) -> str:
        """Hold ``rest`` of the page read from ``link``; the cursor that points to it."""
        cursor = f"{page_link(link)}{MARK}{next(self._numbers)}"
        with self._lock:
            self._held = (cursor, rest)
        return cursor


def delta_page(http: GraphTransport, link: str, size: int) -> Rest:
    """One page of the message delta at ``link``: its new messages' entries and its cursor."""
    answer = http.request(
        "GET",
        link,
        what="reading the inbox (delta)",
        headers={"Prefer": f"odata.maxpagesize={size}"},
    )
    body = answer.body if isinstance(answer.body, dict) else {}
    seen = tuple(
        entry
        for entry in body.get("value") or ()
        if isinstance(entry, dict) and "@removed" not in entry and entry.get("id")
    )
    following = body.get("@odata.nextLink")
    cursor = str(following or body.get("@odata.deltaLink") or "")
    if not cursor:
        raise MailboxError("Graph answered a delta query without a next or delta link")
    return Rest(seen, cursor, bool(following))
