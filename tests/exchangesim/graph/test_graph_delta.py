"""Graph delta queries: messages per folder and calendarView, paging, removals, expiry (410)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from graph_harness import GraphClient, assert_shape_like, meeting_body, sample_body, tomorrow_at
from harness import ALICE

from exchangesim.store import Address, Message, send_message

if TYPE_CHECKING:
    from graph_harness import GraphReply
    from harness import SimServer

BOB = "bob@contoso.com"
PAGE_OF_TWO = {"Prefer": "odata.maxpagesize=2"}


async def _round(
    graph: GraphClient, first: str
) -> tuple[list[dict[str, Any]], list[GraphReply], str]:
    """Follow nextLinks from `first` to the deltaLink: (items, pages, deltaLink)."""
    items: list[dict[str, Any]] = []
    pages: list[GraphReply] = []
    reply = await graph.get(first, headers=PAGE_OF_TWO)
    while True:
        assert reply.status == 200, reply.body
        pages.append(reply)
        items.extend(reply.body["value"])
        assert not ("@odata.nextLink" in reply.body and "@odata.deltaLink" in reply.body)
        if "@odata.deltaLink" in reply.body:
            return items, pages, reply.body["@odata.deltaLink"]
        reply = await graph.get(reply.body["@odata.nextLink"], headers=PAGE_OF_TWO)


def _mail(server: SimServer, subject: str) -> Message:
    return send_message(
        server.sim.store, ALICE, Message(subject=subject, to_recipients=(Address(BOB),))
    )


async def test_message_delta_pages_then_reports_new_changed_and_removed(
    fresh_server: SimServer,
) -> None:
    """Round 1 returns the folder's messages in pages of two; the next round returns exactly a new
    message, a message marked read, and a deleted one as @removed."""
    for n in range(5):
        _mail(fresh_server, f"m{n}")
    store = fresh_server.sim.store
    async with GraphClient(fresh_server) as graph:
        items, pages, delta_link = await _round(
            graph, f"/users/{BOB}/mailFolders/inbox/messages/delta"
        )
        assert sorted(i["subject"] for i in items) == [f"m{n}" for n in range(5)]
        assert [len(p.body["value"]) for p in pages] == [2, 2, 1]
        assert all(i["@odata.type"] == "#microsoft.graph.message" for i in items)
        assert_shape_like(pages[0].body, sample_body("message-delta-round1-nextLink.json"))
        by_subject = {i["subject"]: i["id"] for i in items}
        store.set_read(by_subject["m1"].replace("-", "/").replace("_", "+"), True)
        store.delete_item(by_subject["m2"].replace("-", "/").replace("_", "+"))
        _mail(fresh_server, "m5")
        changes, _, _ = await _round(graph, delta_link)
    removed = [c["id"] for c in changes if "@removed" in c]
    present = {c["subject"]: c for c in changes if "@removed" not in c}
    assert removed == [by_subject["m2"]]
    assert changes[[c["id"] for c in changes].index(by_subject["m2"])]["@removed"] == {
        "reason": "deleted"
    }
    assert set(present) == {"m1", "m5"}
    assert present["m1"]["isRead"] is True


async def test_message_delta_honours_select_across_pages(fresh_server: SimServer) -> None:
    """$select on the first request is kept in the links: later pages carry only those keys."""
    for n in range(3):
        _mail(fresh_server, f"s{n}")
    async with GraphClient(fresh_server) as graph:
        items, _, _ = await _round(
            graph, f"/users/{BOB}/mailFolders/inbox/messages/delta?$select=subject,isRead"
        )
    assert len(items) == 3
    for item in items:
        assert set(item) <= {"@odata.type", "@odata.etag", "id", "subject", "isRead"}


async def test_an_unknown_or_expired_delta_token_is_410_sync_state_not_found(
    fresh_server: SimServer,
) -> None:
    """A token the server never issued, or one issued before the graph_delta_epoch knob changed,
    answers 410 syncStateNotFound; a new round works."""
    _mail(fresh_server, "e0")
    async with GraphClient(fresh_server) as graph:
        junk = await graph.get(f"/users/{BOB}/mailFolders/inbox/messages/delta?$deltatoken=bogus")
        _, _, delta_link = await _round(graph, f"/users/{BOB}/mailFolders/inbox/messages/delta")
        fresh_server.knobs.update(graph_delta_epoch=1)
        expired = await graph.get(delta_link)
        again, _, _ = await _round(graph, f"/users/{BOB}/mailFolders/inbox/messages/delta")
    for reply in (junk, expired):
        assert reply.status == 410
        assert reply.error_code == "syncStateNotFound"
    assert [i["subject"] for i in again] == ["e0"]


def _window(hours_from: int = -24, days: int = 30) -> str:
    start = tomorrow_at(0) + timedelta(hours=hours_from)
    end = start + timedelta(days=days)
    return f"startDateTime={start.isoformat()}&endDateTime={end.isoformat()}".replace("+00:00", "Z")


async def test_calendar_view_delta_reports_changes_and_removals(fresh_server: SimServer) -> None:
    """calendarView/delta: round 1 returns the window's events; after one is changed, one
    cancelled and one occurrence of a series deleted, the next round returns the changed event
    and @removed for the cancelled event and for the deleted occurrence."""
    start = tomorrow_at(9)
    async with GraphClient(fresh_server) as graph:
        ids = []
        for n in range(3):
            reply = await graph.post(
                f"/users/{ALICE}/events",
                meeting_body(f"e{n}", start + timedelta(hours=n), [(BOB, "required")]),
            )
            ids.append(reply.body["id"])
        series = meeting_body("daily", start + timedelta(hours=5), [])
        series["recurrence"] = {
            "pattern": {"type": "daily", "interval": 1},
            "range": {
                "type": "numbered",
                "startDate": start.date().isoformat(),
                "numberOfOccurrences": 3,
            },
        }
        master = (await graph.post(f"/users/{ALICE}/events", series)).body
        items, pages, delta_link = await _round(
            graph, f"/users/{ALICE}/calendarView/delta?{_window()}"
        )
        assert sorted(i["subject"] for i in items) == ["daily", "daily", "daily", "e0", "e1", "e2"]
        assert all(p.body["@odata.context"].endswith("$metadata#Collection(event)") for p in pages)
        occurrence = next(i for i in items if i["subject"] == "daily" and i["type"] == "occurrence")
        assert occurrence["seriesMasterId"] == master["id"]
        assert (
            await graph.patch(f"/users/{ALICE}/events/{ids[0]}", {"subject": "e0 moved"})
        ).status == 200
        assert (await graph.delete(f"/users/{ALICE}/events/{ids[1]}")).status == 204
        assert (await graph.delete(f"/users/{ALICE}/events/{occurrence['id']}")).status == 204
        changes, _, next_link = await _round(graph, delta_link)
        quiet, _, _ = await _round(graph, next_link)
    removed = sorted(c["id"] for c in changes if "@removed" in c)
    assert removed == sorted([ids[1], occurrence["id"]])
    assert [c["subject"] for c in changes if "@removed" not in c] == ["e0 moved"]
    assert quiet == []
    sample = sample_body("event-delta-nextRound-removed.json")["value"][0]
    assert_shape_like(next(c for c in changes if "@removed" in c), sample)


async def test_calendar_view_delta_token_of_another_mailbox_is_refused(
    fresh_server: SimServer,
) -> None:
    """A calendarView delta token is bound to its mailbox: used for another, 410."""
    async with GraphClient(fresh_server) as graph:
        _, _, delta_link = await _round(graph, f"/users/{ALICE}/calendarView/delta?{_window()}")
        other = await graph.get(delta_link.replace(ALICE, BOB))
    assert other.status == 410
    assert other.error_code == "syncStateNotFound"
