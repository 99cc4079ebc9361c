"""The change journal: SyncFolderItems collapse rules, paging, sync states, change events."""

from __future__ import annotations

import pytest
from store_sample import ALICE, BOB, FakeClock

from exchangesim.store import (
    ChangeEvent,
    ExpiredWatermark,
    InvalidSyncState,
    Message,
    Store,
    send_message,
)
from exchangesim.store.journal import JournalEntry, collapse


def _note(subject: str) -> Message:
    return Message(subject=subject, to_recipients=(BOB,))


def _drafts(store: Store) -> str:
    return store.folder(ALICE.email, "drafts").id


def _kinds(store: Store, folder_id: str, state: str | None) -> list[tuple[str, str]]:
    result = store.changes_since(folder_id, state, 512)
    return [(c.kind, c.item_id) for c in result.changes]


def test_initial_sync_reports_every_existing_item_as_create(store: Store) -> None:
    """A sync without state lists each current item once, as Create."""
    ids = [store.create_item(ALICE.email, "drafts", _note(f"n{i}")).id for i in range(3)]
    assert _kinds(store, _drafts(store), None) == [("Create", i) for i in ids]


def test_created_then_modified_since_state_is_one_create(store: Store) -> None:
    """An item created and then changed since the state is reported once, as Create."""
    state = store.changes_since(_drafts(store), None).sync_state
    item = store.create_item(ALICE.email, "drafts", _note("x"))
    store.update_item(item.id, {"subject": "y"})
    result = store.changes_since(_drafts(store), state)
    assert [(c.kind, c.item_id) for c in result.changes] == [("Create", item.id)]
    assert result.changes[0].item is not None
    assert result.changes[0].item.subject == "y"


def test_created_then_deleted_since_state_is_nothing(store: Store) -> None:
    """An item created and deleted since the state does not appear at all."""
    state = store.changes_since(_drafts(store), None).sync_state
    item = store.create_item(ALICE.email, "drafts", _note("x"))
    store.delete_item(item.id, mode="HardDelete")
    assert _kinds(store, _drafts(store), state) == []


def test_existing_item_changes_are_update_delete_and_read_flag(store: Store) -> None:
    """Items known at the state report Update, Delete or ReadFlagChange; read+edit is Update."""
    a, b, c, d = (store.create_item(ALICE.email, "drafts", _note(n)) for n in "abcd")
    state = store.changes_since(_drafts(store), None).sync_state
    store.update_item(a.id, {"subject": "a2"})
    store.delete_item(b.id, mode="HardDelete")
    store.set_read(c.id, is_read=False)
    store.set_read(d.id, is_read=False)
    store.update_item(d.id, {"subject": "d2"})
    result = store.changes_since(_drafts(store), state)
    assert [(ch.kind, ch.item_id) for ch in result.changes] == [
        ("Update", a.id),
        ("Delete", b.id),
        ("ReadFlagChange", c.id),
        ("Update", d.id),
    ]
    assert result.changes[2].is_read is False


def test_move_is_a_delete_in_the_source_and_a_create_in_the_target(store: Store) -> None:
    """Moving changes the id: the old id is deleted where it was, the new one created."""
    item = store.create_item(ALICE.email, "drafts", _note("x"))
    drafts_state = store.changes_since(_drafts(store), None).sync_state
    inbox = store.folder(ALICE.email, "inbox").id
    inbox_state = store.changes_since(inbox, None).sync_state
    moved = store.move_item(item.id, "inbox")
    assert moved.id != item.id
    assert _kinds(store, _drafts(store), drafts_state) == [("Delete", item.id)]
    assert _kinds(store, inbox, inbox_state) == [("Create", moved.id)]


def test_paging_returns_every_change_once_and_flags_the_last_page(store: Store) -> None:
    """Pages of at most max_changes cover all changes without repeats; the last says so."""
    ids = [store.create_item(ALICE.email, "drafts", _note(f"n{i}")).id for i in range(7)]
    state, seen, pages = None, [], []
    while True:
        result = store.changes_since(_drafts(store), state, 3)
        seen += [c.item_id for c in result.changes]
        pages.append(len(result.changes))
        state = result.sync_state
        if result.includes_last_item_in_range:
            break
    assert seen == ids
    assert pages == [3, 3, 1]
    assert store.changes_since(_drafts(store), state).changes == ()


def test_changes_made_while_paging_come_with_the_next_sync(store: Store) -> None:
    """A change during paging is neither lost nor duplicated: it comes after the last page."""
    ids = [store.create_item(ALICE.email, "drafts", _note(f"n{i}")).id for i in range(4)]
    first = store.changes_since(_drafts(store), None, 2)
    store.update_item(ids[0], {"subject": "changed"})
    late = store.create_item(ALICE.email, "drafts", _note("late")).id
    second = store.changes_since(_drafts(store), first.sync_state, 2)
    assert [c.item_id for c in second.changes] == ids[2:]
    assert second.includes_last_item_in_range
    third = store.changes_since(_drafts(store), second.sync_state, 10)
    assert [(c.kind, c.item_id) for c in third.changes] == [("Update", ids[0]), ("Create", late)]


@pytest.mark.parametrize(
    "state", ["garbage", "ES1;x;1;;0", "ES1;{folder};99999;;0", "ES1;{folder};1;0;0"]
)
def test_garbage_or_foreign_sync_state_is_refused(store: Store, state: str) -> None:
    """A state this store did not issue for this folder raises InvalidSyncState."""
    folder = _drafts(store)
    with pytest.raises(InvalidSyncState) as caught:
        store.changes_since(folder, state.format(folder=folder))
    assert caught.value.code == "ErrorInvalidSyncStateData"


def test_sync_state_of_another_folder_is_refused(store: Store) -> None:
    """A valid state of one folder is not accepted for another."""
    inbox_state = store.changes_since(store.folder(ALICE.email, "inbox").id, None).sync_state
    with pytest.raises(InvalidSyncState):
        store.changes_since(_drafts(store), inbox_state)


def test_collapse_orders_by_last_change() -> None:
    """Collapsed changes are ordered by each item's latest journal entry."""
    entries = [
        JournalEntry(1, "Create", "a"),
        JournalEntry(2, "Create", "b"),
        JournalEntry(3, "Update", "a"),
        JournalEntry(4, "ReadFlag", "c"),
    ]
    assert collapse(entries, 0, 4) == [("Create", "b"), ("Create", "a"), ("ReadFlagChange", "c")]
    assert collapse(entries, 2, 4) == [("Update", "a"), ("ReadFlagChange", "c")]


def test_folder_hierarchy_sync_reports_created_renamed_and_deleted_folders(store: Store) -> None:
    """SyncFolderHierarchy starts with every folder, then reports changes since."""
    initial = store.folder_changes_since(ALICE.email, None)
    names = {c.folder.distinguished for c in initial.changes if c.folder}
    assert {"root", "inbox", "calendar", "sentitems", "deleteditems"} <= names
    projects = store.create_folder(ALICE.email, "inbox", "Projects")
    after_create = store.folder_changes_since(ALICE.email, initial.sync_state)
    assert [(c.kind, c.folder_id) for c in after_create.changes] == [("Create", projects.id)]
    store.rename_folder(projects.id, "Old projects")
    store.delete_folder(projects.id)
    after_delete = store.folder_changes_since(ALICE.email, after_create.sync_state)
    assert [(c.kind, c.folder_id) for c in after_delete.changes] == [("Delete", projects.id)]


def test_listeners_get_new_mail_created_moved_copied_deleted_with_rising_watermarks(
    store: Store,
) -> None:
    """Subscribers see each change as an event; watermarks increase."""
    events: list[ChangeEvent] = []
    unsubscribe = store.subscribe(events.append)
    send_message(store, ALICE.email, _note("hello"))
    delivered = store.items(BOB.email, "inbox")[0]
    moved = store.move_item(delivered.id, "drafts")
    store.copy_item(moved.id, "inbox")
    store.delete_item(moved.id, mode="HardDelete")
    unsubscribe()
    send_message(store, ALICE.email, _note("unseen"))
    bob_events = [(e.kind, e.item_id) for e in events if e.mailbox == BOB.email]
    assert [k for k, _ in bob_events] == ["Created", "NewMail", "Moved", "Copied", "Deleted"]
    assert bob_events[1][1] == delivered.id
    moved_event = next(e for e in events if e.kind == "Moved")
    assert moved_event.old_item_id == delivered.id
    assert moved_event.item_id == moved.id
    watermarks = [e.watermark for e in events]
    assert watermarks == sorted(watermarks)
    assert len(set(watermarks)) == len(watermarks)


def test_events_since_replays_after_a_watermark_and_expires_unknown_ones(store: Store) -> None:
    """events_since gives the events after a watermark, per mailbox; others raise."""
    mark = store.watermark()
    send_message(store, ALICE.email, _note("hello"))
    kinds = [e.kind for e in store.events_since(mark, mailbox=BOB.email)]
    assert kinds == ["Created", "NewMail"]
    with pytest.raises(ExpiredWatermark):
        store.events_since(store.watermark() + 5)


def test_a_failing_listener_does_not_undo_the_change(store: Store, clock: FakeClock) -> None:
    """A listener that raises is logged; the change stays and other listeners still run."""
    seen: list[str] = []

    def broken(event: ChangeEvent) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(lambda e: seen.append(e.kind))
    item = store.create_item(ALICE.email, "drafts", _note("x"))
    assert store.get_item(item.id).subject == "x"
    assert "Created" in seen
