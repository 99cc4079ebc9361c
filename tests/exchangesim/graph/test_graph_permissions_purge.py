"""Graph's calendarPermissions list and permanentDelete of events and messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_harness import GraphClient, meeting_body, tomorrow_at
from harness import ALICE, VMR

if TYPE_CHECKING:
    from harness import SimServer

DAVE = "dave@contoso.com"


async def test_the_default_entry_is_my_organization_with_the_calendars_role(
    fresh_server: SimServer,
) -> None:
    """The demo resource's calendar (Default None) lists "My Organization" with role none, not
    removable, id base64("Default"); a user mailbox's Default is AvailabilityOnly, i.e.
    freeBusyRead. The Anonymous entry is not listed."""
    async with GraphClient(fresh_server) as graph:
        reply = await graph.get(f"/users/{VMR}/calendar/calendarPermissions")
        assert reply.status == 200, reply.body
        (entry,) = reply.body["value"]
        assert entry["id"] == "RGVmYXVsdA=="
        assert entry["emailAddress"] == {"name": "My Organization"}
        assert entry["role"] == "none"
        assert entry["isRemovable"] is False
        assert entry["isInsideOrganization"] is True
        assert "calendarPermissions" in reply.body["@odata.context"]
        alice = await graph.get(f"/users/{ALICE}/calendar/calendarPermissions")
        assert [e["role"] for e in alice.body["value"]] == ["freeBusyRead"]


async def test_calendar_permissions_outside_the_scope_are_refused(fresh_server: SimServer) -> None:
    """The scoped demo app may not list the permissions of a mailbox outside its scope (403)."""
    async with GraphClient(fresh_server) as graph:
        reply = await graph.get(f"/users/{DAVE}/calendar/calendarPermissions")
        assert reply.status == 403
        assert reply.error_code == "ErrorAccessDenied"


async def _items(server: SimServer, mailbox: str, subject: str) -> list[str]:
    store = server.sim.store
    return [
        f"{folder}:{getattr(i, 'subject', '')}"
        for folder in ("calendar", "inbox", "sentitems", "deleteditems")
        for i in store.items(mailbox, folder)
        if subject in (getattr(i, "subject", "") or "")
    ]


async def test_permanent_delete_leaves_nothing_in_deleted_items(fresh_server: SimServer) -> None:
    """permanentDelete of the organizer's sent meeting cancels it (as DELETE does) and leaves no
    copy in Deleted Items; permanentDelete of the messages removes them from every visible
    folder; both answer 204."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            f"/users/{ALICE}/events", meeting_body("Purge me", tomorrow_at(9), [(VMR, "resource")])
        )
        assert created.status == 201, created.body
        reply = await graph.post(f"/users/{ALICE}/events/{created.body['id']}/permanentDelete")
        assert reply.status == 204, reply.body
        assert not [s for s in await _items(fresh_server, ALICE, "Purge me") if "calendar" in s]
        assert not [s for s in await _items(fresh_server, ALICE, "Purge me") if "deleted" in s]
        inbox = await graph.get(f"/users/{VMR}/messages?$select=subject")
        subjects = [m["subject"] for m in inbox.body["value"]]
        assert "Canceled: Purge me" in subjects
        for mailbox in (ALICE, VMR):
            listed = await graph.get(f"/users/{mailbox}/messages?$select=id,subject")
            for message in listed.body["value"]:
                if "Purge me" in message["subject"]:
                    purge = f"/users/{mailbox}/messages/{message['id']}/permanentDelete"
                    assert (await graph.post(purge)).status == 204
            assert await _items(fresh_server, mailbox, "Purge me") == []
