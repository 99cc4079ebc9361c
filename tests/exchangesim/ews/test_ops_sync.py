"""SyncFolderItems and SyncFolderHierarchy, through exchangelib's `sync_items()` and raw SOAP.

Mailboxes are seeded and changed through the store API; exchangelib keeps its sync state in
`folder.item_sync_state` the way vmrsched persists it between passes.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from exchangelib.errors import ErrorInvalidSyncStateData
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, SCHEMA_MISSING, EwsClient, load_schema, schema_available

from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import Address, Body, CalendarItem, Message, send_message

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import EwsReply, SimServer

    from exchangesim.store import Store

BOB = "bob@contoso.com"
T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"


def mail(store: Store, subject: str, to: str = BOB) -> str:
    """Alice mails ``to``; returns the id of the delivered copy."""
    send_message(
        store,
        ALICE,
        Message(subject=subject, body=Body("Text", "hi"), to_recipients=(Address(to),)),
    )
    return next(i.id for i in store.items(to, "inbox") if i.subject == subject)


def sync_body(
    folder: str = "inbox", state: str | None = None, max_changes: int = 100, ignore: str = ""
) -> str:
    """A SyncFolderItems body (IdOnly + subject)."""
    state_el = f"<m:SyncState>{state}</m:SyncState>" if state is not None else ""
    ignore_el = f"<m:Ignore>{ignore}</m:Ignore>" if ignore else ""
    return (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>'
        f'</m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="{folder}"/></m:SyncFolderId>'
        f"{state_el}{ignore_el}<m:MaxChangesReturned>{max_changes}</m:MaxChangesReturned>"
        "</m:SyncFolderItems>"
    )


def assert_valid(reply: EwsReply) -> None:
    """The answer's body element validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


def changes(reply: EwsReply) -> list[tuple[str, str]]:
    """(change kind, subject or item id) of a SyncFolderItems answer."""
    found = []
    holder = reply.root.find(f".//{M}Changes")
    for change in holder if holder is not None else []:
        kind = change.tag.split("}")[1]
        subject = change.findtext(f"*/{T}Subject")
        found.append((kind, subject if subject is not None else change[0].get("Id", "")))
    return found


def test_sync_items_reports_creations_once_with_a_persisted_state(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A first sync creates every item; with the kept `item_sync_state` the next one is empty
    and a later one brings only the new mail."""
    store = fresh_server.sim.store
    mail(store, "first")
    mail(store, "second")
    bob = exchangelib_accounts(fresh_server, BOB)
    first = list(bob.inbox.sync_items())
    assert sorted((kind, item.subject) for kind, item in first) == [
        ("create", "first"),
        ("create", "second"),
    ]
    state = bob.inbox.item_sync_state
    assert state
    assert list(bob.inbox.sync_items()) == []
    mail(store, "third")
    bob.inbox.item_sync_state = state  # as vmrsched restores it from its database
    assert [(k, i.subject) for k, i in bob.inbox.sync_items()] == [("create", "third")]


def test_sync_items_reports_updates_read_flags_and_deletions(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A changed item is an update, a read flag alone a read_flag_change, a deleted or moved-away
    item a delete."""
    store = fresh_server.sim.store
    changed = mail(store, "to change")
    read = mail(store, "to read")
    deleted = mail(store, "to delete")
    moved = mail(store, "to move")
    bob = exchangelib_accounts(fresh_server, BOB)
    list(bob.inbox.sync_items())
    store.update_item(changed, {"subject": "changed"})
    store.set_read(read, True)
    store.delete_item(deleted, mode="HardDelete")
    store.move_item(moved, "deleteditems")
    seen = {}
    for kind, item in bob.inbox.sync_items():
        if kind == "update":
            seen[item.id] = (kind, item.subject)
        elif kind == "read_flag_change":
            seen[item[0].id] = (kind, item[1])
        else:
            seen[item.id] = (kind, None)
    assert seen == {
        changed: ("update", "changed"),
        read: ("read_flag_change", True),
        deleted: ("delete", None),
        moved: ("delete", None),
    }


def test_sync_items_pages_by_max_changes_returned(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """With max_changes_returned=2, exchangelib follows IncludesLastItemInRange through the pages
    and sees each of the five items once."""
    for n in range(5):
        mail(fresh_server.sim.store, f"m{n}")
    bob = exchangelib_accounts(fresh_server, BOB)
    subjects = [item.subject for _, item in bob.inbox.sync_items(max_changes_returned=2)]
    assert sorted(subjects) == [f"m{n}" for n in range(5)]


async def test_a_page_says_whether_it_holds_the_last_change(fresh_server: SimServer) -> None:
    """The first of two pages says IncludesLastItemInRange false; its state leads to the rest."""
    for n in range(3):
        mail(fresh_server.sim.store, f"m{n}")
    async with EwsClient(fresh_server) as ews:
        first = await ews.call(sync_body(max_changes=2), impersonate=BOB)
        state = first.root.findtext(f".//{M}SyncState")
        second = await ews.call(sync_body(state=state, max_changes=2), impersonate=BOB)
    assert_valid(first)
    assert first.root.findtext(f".//{M}IncludesLastItemInRange") == "false"
    assert second.root.findtext(f".//{M}IncludesLastItemInRange") == "true"
    assert [s for _, s in changes(first) + changes(second)] == ["m0", "m1", "m2"]


def test_a_bad_sync_state_is_invalid_sync_state_data(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A state this server never issued makes exchangelib raise ErrorInvalidSyncStateData."""
    bob = exchangelib_accounts(fresh_server, BOB)
    bob.inbox.item_sync_state = "H4sIAAAAAAAEAO29B2AcSZY=="
    with pytest.raises(ErrorInvalidSyncStateData):
        list(bob.inbox.sync_items())


async def test_invalid_state_answers_like_exchange(fresh_server: SimServer) -> None:
    """Undecodable states and states of another folder answer ErrorInvalidSyncStateData with an
    empty SyncState and IncludesLastItemInRange true."""
    async with EwsClient(fresh_server) as ews:
        inbox = await ews.call(sync_body(), impersonate=BOB)
        inbox_state = inbox.root.findtext(f".//{M}SyncState")
        garbage = await ews.call(sync_body(state="!!not base64!!"), impersonate=BOB)
        foreign = await ews.call(sync_body("calendar", state=inbox_state), impersonate=BOB)
        forged = base64.b64encode(b"ES1;nonsense;1;;0").decode()
        other = await ews.call(sync_body(state=forged), impersonate=BOB)
    for reply in (garbage, foreign, other):
        assert_valid(reply)
        assert reply.response_codes() == ["ErrorInvalidSyncStateData"]
        assert reply.root.findtext(f".//{M}SyncState") == ""
        assert reply.root.findtext(f".//{M}IncludesLastItemInRange") == "true"


@pytest.mark.parametrize("max_changes", [0, 513])
async def test_max_changes_outside_1_to_512_is_refused(
    fresh_server: SimServer, max_changes: int
) -> None:
    """MaxChangesReturned must be 1..512 (MaxSyncChangesReturnedType): a schema fault else."""
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(sync_body(max_changes=max_changes), impersonate=BOB)
    assert reply.status == 500
    assert reply.fault_code == "ErrorSchemaValidation"


async def test_ignored_items_are_left_out(fresh_server: SimServer) -> None:
    """Items named in Ignore do not appear among the changes."""
    store = fresh_server.sim.store
    skipped = mail(store, "skip me")
    mail(store, "keep me")
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(sync_body(ignore=f'<t:ItemId Id="{skipped}"/>'), impersonate=BOB)
    assert changes(reply) == [("Create", "keep me")]


async def test_calendar_sync_gives_series_not_occurrences(fresh_server: SimServer) -> None:
    """Syncing a calendar reports stored items (a series once), never expanded occurrences."""
    from datetime import UTC, date, datetime, timedelta  # noqa: PLC0415

    from exchangesim.store import NumberedRange, Recurrence, WeeklyPattern  # noqa: PLC0415

    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    fresh_server.sim.store.create_item(
        ALICE,
        "calendar",
        CalendarItem(
            subject="Series",
            start=start,
            end=start + timedelta(hours=1),
            recurrence=Recurrence(WeeklyPattern(("Monday",)), NumberedRange(date(2030, 3, 4), 4)),
        ),
    )
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(sync_body("calendar"))
    assert_valid(reply)
    assert changes(reply) == [("Create", "Series")]


async def test_sync_folder_hierarchy_reports_folder_changes(fresh_server: SimServer) -> None:
    """SyncFolderHierarchy: the whole tree first, then a created-and-renamed folder (one Create)
    and a deleted one; a bad state is ErrorInvalidSyncStateData, IncludesLastFolderInRange true."""
    store = fresh_server.sim.store

    def body(state: str | None) -> str:
        state_el = f"<m:SyncState>{state}</m:SyncState>" if state else ""
        return (
            "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
            f"</m:FolderShape>{state_el}</m:SyncFolderHierarchy>"
        )

    gone = store.create_folder(BOB, "inbox", "Gone")
    async with EwsClient(fresh_server) as ews:
        first = await ews.call(body(None), impersonate=BOB)
        names = [el.text for el in first.root.iter(f"{T}DisplayName")]
        state = first.root.findtext(f".//{M}SyncState")
        keep = store.create_folder(BOB, "inbox", "Keep")
        store.rename_folder(keep.id, "Kept")
        store.delete_folder(gone.id)
        second = await ews.call(body(state), impersonate=BOB)
        bad = await ews.call(body("bm9wZQ=="), impersonate=BOB)
    assert_valid(first)
    assert {"Inbox", "Calendar", "Sent Items", "Gone"} <= set(names)
    assert "Deletions" not in names
    kinds = [
        (c.tag.split("}")[1], c.findtext(f"*/{T}DisplayName"))
        for c in second.root.find(f".//{M}Changes")
    ]  # type: ignore[union-attr]
    assert ("Create", "Kept") in kinds
    assert ("Delete", None) in kinds
    assert_valid(bad)
    assert bad.response_codes() == ["ErrorInvalidSyncStateData"]
    assert bad.root.findtext(f".//{M}IncludesLastFolderInRange") == "true"
