"""Saving and loading the whole store (the state file)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from store_sample import ALICE, BOB, VMR, FakeClock

from exchangesim import state
from exchangesim.store import (
    Attendee,
    Body,
    CalendarItem,
    Message,
    NumberedRange,
    PropertyKey,
    Recurrence,
    Store,
    WeeklyPattern,
    configurations,
    send_meeting,
    send_message,
    update_meeting,
)
from exchangesim.store.configurations import DictionaryObject, UserConfiguration

if TYPE_CHECKING:
    from pathlib import Path


def _busy_store(store: Store) -> Store:
    start = datetime(2026, 11, 3, 8, tzinfo=UTC)
    master = send_meeting(
        store,
        ALICE.email,
        CalendarItem(
            subject="Weekly",
            body=Body("HTML", "<p>x</p>"),
            start=start,
            end=start + timedelta(hours=1),
            start_time_zone="W. Europe Standard Time",
            end_time_zone="W. Europe Standard Time",
            recurrence=Recurrence(
                WeeklyPattern(("Tuesday", "Thursday")), NumberedRange(date(2026, 11, 3), 6)
            ),
            required_attendees=(Attendee(BOB), Attendee(VMR)),
            extended_properties={
                PropertyKey(
                    "String", property_set="00020329-0000-0000-c000-000000000046", property_name="k"
                ): "v"
            },
        ),
    )
    occurrence = store.occurrence(master.id, 2)
    assert occurrence.start is not None
    update_meeting(store, occurrence.id, {"location": "Elsewhere"})
    send_message(store, ALICE.email, Message(subject="note", to_recipients=(BOB,)))
    store.create_folder(ALICE.email, "inbox", "Archive")
    configurations.create(
        store,
        UserConfiguration(
            item_id="",
            folder_id=store.folder(VMR.email, "root").id,
            name="vmrsched.Installation",
            dictionary=(
                (DictionaryObject("String", ("Host",)), DictionaryObject("String", ("a",))),
            ),
        ),
    )
    return store


def test_save_then_load_round_trips_everything(
    store: Store, tmp_path: Path, clock: FakeClock
) -> None:
    """A loaded store equals the saved one: mailboxes, folders, items, journals, counters,
    user configuration objects."""
    _busy_store(store)
    path = tmp_path / "state" / "exchangesim.json"
    state.save(store, path)
    loaded = state.load(path, clock=clock)
    assert loaded.snapshot() == store.snapshot()
    assert [p.name for p in path.parent.iterdir()] == ["exchangesim.json"]  # no temporary left
    assert json.loads(path.read_text())["format"] == "exchangesim-state"


def test_sync_states_and_ids_stay_valid_across_a_restart(
    store: Store, tmp_path: Path, clock: FakeClock
) -> None:
    """A sync state issued before saving still works after loading; new ids stay unique."""
    _busy_store(store)
    inbox = store.folder(BOB.email, "inbox").id
    sync_state = store.changes_since(inbox, None).sync_state
    path = tmp_path / "state.json"
    state.save(store, path)
    loaded = state.load(path, clock=clock)
    send_message(loaded, ALICE.email, Message(subject="after restart", to_recipients=(BOB,)))
    changes = loaded.changes_since(inbox, sync_state).changes
    assert [(c.kind, c.item.subject if c.item else None) for c in changes] == [
        ("Create", "after restart")
    ]
    before = {i.id for m in ("alice@contoso.com", BOB.email) for i in store.items(m, "inbox")}
    assert changes[0].item_id not in before


def test_saving_replaces_the_file_atomically(store: Store, tmp_path: Path) -> None:
    """A second save replaces the first whole; a corrupt or foreign file is refused on load."""
    path = tmp_path / "state.json"
    state.save(store, path)
    store.create_item(ALICE.email, "drafts", Message(subject="later"))
    state.save(store, path)
    assert [i.subject for i in state.load(path).items(ALICE.email, "drafts")] == ["later"]
    path.write_text("{not json")
    with pytest.raises(state.StateFileError):
        state.load(path)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(state.StateFileError):
        state.load(path)
    path.write_text(
        json.dumps({"format": "exchangesim-state", "version": 1, "state": {"$": "Nope"}})
    )
    with pytest.raises(state.StateFileError):
        state.load(path)
