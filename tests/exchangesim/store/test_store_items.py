"""Mailboxes, folders, ids and items: what a front-end's Get/Create/Update/Delete/Move rely on."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest
from store_sample import ALICE, BOB, CAROL, FakeClock

from exchangesim.store import (
    Body,
    CalendarItem,
    ChangeKeyMismatch,
    DailyPattern,
    DistinguishedFolder,
    FolderExists,
    FolderNotFound,
    InvalidId,
    InvalidProperty,
    ItemNotFound,
    Message,
    NoSuchMailbox,
    NumberedRange,
    PropertyKey,
    Recurrence,
    Store,
    id_kind,
    occurrence_id,
    send_item,
    send_message,
    split_occurrence_id,
)
from exchangesim.store.folders import permission_level


def test_new_mailbox_has_exchanges_distinguished_folders(store: Store) -> None:
    """Every mailbox gets the distinguished folder tree with folder classes and parents."""
    root = store.folder(ALICE.email, "root")
    top = store.folder(ALICE.email, "msgfolderroot")
    assert top.parent_id == root.id
    for name, folder_class in [
        ("inbox", "IPF.Note"),
        ("calendar", "IPF.Appointment"),
        ("contacts", "IPF.Contact"),
        ("tasks", "IPF.Task"),
        ("notes", "IPF.StickyNote"),
        ("journal", "IPF.Journal"),
    ]:
        folder = store.folder(ALICE.email, name)
        assert folder.folder_class == folder_class
        assert folder.parent_id == top.id
        assert folder.distinguished == name
    assert store.folder(ALICE.email, "sentitems").display_name == "Sent Items"
    assert store.folder(None, store.folder(ALICE.email, "inbox").id).mailbox == ALICE.email


def test_calendar_permissions_default_levels(store: Store) -> None:
    """Users' calendars are FreeBusyTimeOnly for Default; the vmr resource's is None."""
    user = {p.user: p.level for p in store.folder(ALICE.email, "calendar").permissions}
    resource = {p.user: p.level for p in store.folder("vmr@contoso.com", "calendar").permissions}
    assert user == {"Default": "FreeBusyTimeOnly", "Anonymous": "None"}
    assert resource["Default"] == "None"
    assert permission_level("AvailabilityOnly") == "FreeBusyTimeOnly"
    assert permission_level("LimitedDetails") == "FreeBusyTimeAndSubjectAndLocation"


def test_custom_folders_nest_count_and_refuse_duplicates(store: Store) -> None:
    """Custom folders can be created under any folder; a duplicate sibling name is refused."""
    projects = store.create_folder(ALICE.email, "inbox", "Projects")
    store.create_folder(ALICE.email, projects.id, "2026")
    assert store.folder(ALICE.email, "inbox").child_folder_count == 1
    assert [f.display_name for f in store.child_folders(ALICE.email, "inbox", deep=True)] == [
        "Projects",
        "2026",
    ]
    with pytest.raises(FolderExists):
        store.create_folder(ALICE.email, "inbox", "projects")
    with pytest.raises(DistinguishedFolder):
        store.delete_folder(store.folder(ALICE.email, "inbox").id)
    store.delete_folder(projects.id)
    assert store.child_folders(ALICE.email, "inbox") == []


def test_ids_are_opaque_unique_and_typed(store: Store) -> None:
    """Ids look like Exchange's, differ per object, and name their kind."""
    a = store.create_item(ALICE.email, "drafts", Message(subject="a"))
    b = store.create_item(ALICE.email, "drafts", Message(subject="b"))
    assert a.id != b.id
    assert a.id.startswith("AAMk")
    assert id_kind(a.id) == "item"
    assert id_kind(store.folder(ALICE.email, "inbox").id) == "folder"
    occ = occurrence_id(a.id, 3)
    assert id_kind(occ) == "occurrence"
    assert split_occurrence_id(occ) == (a.id, 3)
    for bad in ["", "not base64!", "AAAA", a.id[:-4]]:
        with pytest.raises(InvalidId):
            id_kind(bad)


def test_find_item_searches_every_mailbox(store: Store) -> None:
    """find_item returns the owning mailbox, folder and a copy; None for unknown ids."""
    item = store.create_item(BOB.email, "drafts", Message(subject="mine"))
    mailbox, folder, found = store.find_item(item.id) or (None, None, None)
    assert mailbox is not None
    assert mailbox.address == BOB.email
    assert folder is not None
    assert folder.distinguished == "drafts"
    assert found == item
    store.delete_item(item.id, mode="HardDelete")
    assert store.find_item(item.id) is None


def test_unknown_mailbox_and_folder_raise_with_exchange_codes(store: Store) -> None:
    """Missing things raise store errors carrying the Exchange response code."""
    with pytest.raises(NoSuchMailbox) as missing:
        store.folder("nobody@contoso.com", "inbox")
    assert missing.value.code == "ErrorNonExistentMailbox"
    with pytest.raises(FolderNotFound):
        store.folder(ALICE.email, store.folder(BOB.email, "inbox").id)
    with pytest.raises(ItemNotFound):
        store.get_item(store.create_item(ALICE.email, "drafts", Message()).id[:-8] + "AAAAAAA=")


def test_change_key_changes_on_every_update_and_stale_ones_conflict(
    store: Store, clock: FakeClock
) -> None:
    """Each modification gives a new change key and last-modified time; a stale key conflicts."""
    item = store.create_item(ALICE.email, "drafts", Message(subject="v1"))
    clock.advance(minutes=5)
    updated = store.update_item(item.id, {"subject": "v2"}, change_key=item.change_key)
    assert updated.change_key != item.change_key
    assert updated.last_modified_time == clock.now
    with pytest.raises(ChangeKeyMismatch) as conflict:
        store.update_item(item.id, {"subject": "v3"}, change_key=item.change_key)
    assert conflict.value.code == "ErrorIrresolvableConflict"


def test_updates_refuse_unknown_and_store_owned_properties(store: Store) -> None:
    """Unknown fields and fields the store owns (id, change key …) cannot be set."""
    item = store.create_item(ALICE.email, "drafts", Message())
    for name in ("no_such_field", "id", "change_key", "folder_id"):
        with pytest.raises(InvalidProperty):
            store.update_item(item.id, {name: "x"})


def test_extended_properties_round_trip(store: Store) -> None:
    """Extended properties keyed by property set/tag, name/id and type come back as stored."""
    named = PropertyKey("String", distinguished_set="PublicStrings", property_name="vmrsched-token")
    tagged = PropertyKey("Integer", property_tag=0x1081)
    item = store.create_item(
        ALICE.email,
        "drafts",
        Message(extended_properties={named: "PXPS:-1#", tagged: "0"}),
    )
    values = store.get_item(item.id).extended_properties
    assert values == {named: "PXPS:-1#", tagged: "0"}
    store.update_item(item.id, {"extended_properties": {**values, tagged: ("1", "2")}})
    assert store.get_item(item.id).extended_properties[tagged] == ("1", "2")


def test_items_handed_out_are_copies(store: Store) -> None:
    """Changing a returned item does not change the store."""
    item = store.create_item(ALICE.email, "drafts", Message(subject="kept"))
    item.subject = "changed behind the store's back"
    assert store.get_item(item.id).subject == "kept"


def test_a_filtered_listing_copies_only_the_items_it_returns(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`items(where=...)` tests the stored items and copies only the matches (a search in a big
    folder must not copy it whole); the matches are still copies."""
    for number in range(20):
        store.create_item(ALICE.email, "drafts", Message(subject=f"draft {number}"))
    copied: list[str] = []
    real = copy.deepcopy

    def counting(value: object, memo: dict[int, object] | None = None) -> object:
        if isinstance(value, Message):
            copied.append(value.subject)
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    [found] = store.items(ALICE.email, "drafts", where=lambda item: item.subject == "draft 7")
    monkeypatch.undo()

    assert copied == ["draft 7"]
    found.subject = "changed behind the store's back"
    assert [i.subject for i in store.items(ALICE.email, "drafts") if i.id == found.id] == [
        "draft 7"
    ]


def test_delete_modes_move_to_deleted_items_then_to_recoverable_items(store: Store) -> None:
    """MoveToDeletedItems goes to Deleted Items, and from there to Recoverable Items; hard delete removes."""
    item = store.create_item(ALICE.email, "drafts", Message(subject="bin me"))
    store.delete_item(item.id)
    [trashed] = store.items(ALICE.email, "deleteditems")
    assert trashed.subject == "bin me"
    store.delete_item(trashed.id)
    assert store.items(ALICE.email, "deleteditems") == []
    [dumpster] = store.items(ALICE.email, "recoverableitemsdeletions")
    store.delete_item(dumpster.id, mode="HardDelete")
    assert store.items(ALICE.email, "recoverableitemsdeletions") == []


def test_send_message_delivers_unread_copies_and_keeps_a_sent_copy(store: Store) -> None:
    """Mail reaches To/Cc/Bcc inboxes unread (Bcc hidden) and a read copy stays in Sent Items."""
    sent = send_message(
        store,
        ALICE.email,
        Message(
            subject="Hi", body=Body("Text", "hello"), to_recipients=(BOB,), bcc_recipients=(CAROL,)
        ),
    )
    [bob_copy] = store.items(BOB.email, "inbox")
    [carol_copy] = store.items(CAROL.email, "inbox")
    [sent_copy] = store.items(ALICE.email, "sentitems")
    assert bob_copy.subject == "Hi"
    assert not bob_copy.is_read
    assert isinstance(bob_copy, Message)
    assert bob_copy.author == bob_copy.sender
    assert bob_copy.sender is not None
    assert bob_copy.sender.email == ALICE.email
    assert bob_copy.bcc_recipients == ()
    assert isinstance(carol_copy, Message)
    assert carol_copy.internet_message_id == sent.internet_message_id
    assert sent_copy.id == sent.id
    assert sent_copy.is_read
    assert store.folder(BOB.email, "inbox").unread_count == 1


def test_mail_to_a_group_reaches_its_members(store: Store) -> None:
    """A distribution group expands to its member mailboxes."""
    store.add_group("team@contoso.com", [BOB.email, "nested@contoso.com"], "Team")
    store.add_group("nested@contoso.com", [CAROL.email], "Nested")
    send_message(store, ALICE.email, Message(subject="all", to_recipients=(BOB, CAROL)))
    send_message(
        store,
        ALICE.email,
        Message(subject="team", to_recipients=(type(BOB)("team@contoso.com"),)),
    )
    assert [i.subject for i in store.items(CAROL.email, "inbox")] == ["all", "team"]


def test_send_item_sends_a_draft_and_moves_it_to_sent_items(store: Store) -> None:
    """A saved draft is delivered on SendItem and moves to Sent Items."""
    draft = store.create_item(ALICE.email, "drafts", Message(subject="draft", to_recipients=(BOB,)))
    send_item(store, draft.id)
    assert store.items(ALICE.email, "drafts") == []
    assert [i.subject for i in store.items(ALICE.email, "sentitems")] == ["draft"]
    assert [i.subject for i in store.items(BOB.email, "inbox")] == ["draft"]


def test_calendar_view_lists_items_overlapping_the_window(store: Store) -> None:
    """CalendarView returns singles overlapping [start, end), sorted by start."""
    base = datetime(2026, 11, 3, 9, tzinfo=UTC)
    for offset in (0, 2, 30):
        store.create_item(
            ALICE.email,
            "calendar",
            CalendarItem(
                subject=f"+{offset}h",
                start=base + timedelta(hours=offset),
                end=base + timedelta(hours=offset + 1),
            ),
        )
    view = store.calendar_view(
        ALICE.email, "calendar", base + timedelta(minutes=30), base + timedelta(hours=3)
    )
    assert [i.subject for i in view] == ["+0h", "+2h"]


def test_plain_appointment_gets_uid_and_organizer(store: Store) -> None:
    """A saved appointment gets an Exchange-style UID and its owner as organizer."""
    start = datetime(2026, 11, 3, 9, tzinfo=UTC)
    item = store.create_item(
        ALICE.email, "calendar", CalendarItem(start=start, end=start + timedelta(hours=1))
    )
    assert isinstance(item, CalendarItem)
    assert item.uid.startswith("040000008200E00074C5B7101A82E008")
    assert item.organizer is not None
    assert item.organizer.email == ALICE.email
    assert item.my_response_type == "Organizer"
    assert not item.is_meeting
    assert item.calendar_item_type == "Single"


def test_editing_or_deleting_an_occurrence_without_sending(store: Store) -> None:
    """update_item on an occurrence id makes an exception; delete_item deletes the occurrence."""
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    master = store.create_item(
        ALICE.email,
        "calendar",
        CalendarItem(
            subject="Stand-up",
            start=start,
            end=start + timedelta(minutes=15),
            recurrence=Recurrence(DailyPattern(), NumberedRange(start.date(), 5)),
        ),
    )
    second = occurrence_id(master.id, 2)
    changed = store.update_item(second, {"subject": "Stand-up (demo)"})
    assert (changed.id, changed.subject) == (second, "Stand-up (demo)")
    assert isinstance(changed, CalendarItem)
    assert changed.calendar_item_type == "Exception"
    store.delete_item(occurrence_id(master.id, 4))
    series = store.get_item(master.id)
    assert isinstance(series, CalendarItem)
    assert [e.subject for e in series.exceptions] == ["Stand-up (demo)"]
    assert series.deleted_occurrences == [start + timedelta(days=3)]
    view = store.calendar_view(ALICE.email, "calendar", start, start + timedelta(days=7))
    assert [v.subject for v in view] == ["Stand-up", "Stand-up (demo)", "Stand-up", "Stand-up"]


def test_concurrent_writers_get_unique_ids_and_a_consistent_journal(store: Store) -> None:
    """Threads creating items at once never share an id and every creation is journaled once."""
    created: list[str] = []

    def writer(n: int) -> None:
        created.extend(
            store.create_item(ALICE.email, "drafts", Message(subject=f"{n}-{i}")).id
            for i in range(40)
        )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    changes = store.changes_since(store.folder(ALICE.email, "drafts").id, None).changes
    assert len(set(created)) == len(created) == 240
    assert sorted(c.item_id for c in changes) == sorted(created)
