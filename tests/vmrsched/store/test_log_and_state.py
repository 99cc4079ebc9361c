"""The audit log, cursors, subscriptions and installation facts."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from store_factories import NOW, decline, effect, message

from vmrsched.ports.store import StoreError, Subscription


def test_a_meetings_log_tells_its_story_in_order(store):
    """Decision and effect outcomes are logged by the store itself, with correlation ids."""
    recorded = store.record_decision(message("k1"), decline(), [effect("e1")], now=NOW)
    effect_id = recorded.effects[0].effect_id
    store.mark_effect_failed(effect_id, "busy", now=NOW, retry_at=NOW + timedelta(seconds=5))
    store.mark_effect_done(effect_id, {"ok": True}, now=NOW + timedelta(seconds=6))
    log = store.events_for_meeting("m1")
    assert [e.kind for e in log] == ["decision", "effect_retry", "effect_done"]
    assert {e.correlation_id for e in log} == {"c-k1"}
    assert log[0].detail["decision"]["outcome"] == "reject_invalid_alias_id"
    assert log[0].detail["effects"][0]["effect_id"] == effect_id
    assert log[1].detail["error"] == "busy"
    assert log[2].effect_id == effect_id
    assert log[2].at == NOW + timedelta(seconds=6)


def test_events_added_by_the_service_join_the_log(store):
    """add_event appends a line; each meeting's log holds only its own lines."""
    first = store.add_event(
        "message_seen", at=NOW, meeting_key="m1", message_key="k1", detail={"subject": "Hi"}
    )
    store.add_event("message_seen", at=NOW, meeting_key="m2")
    second = store.add_event("note", at=NOW + timedelta(seconds=1), meeting_key="m1")
    assert store.events_for_meeting("m1") == [first, second]
    assert first.detail == {"subject": "Hi"}
    assert second.event_id > first.event_id


def test_cursor_is_set_replaced_and_forgotten(store):
    """A folder's cursor reads back, is replaced by the next one, and None forgets it."""
    assert store.get_cursor("vmr@contoso.com", "inbox") is None
    store.set_cursor("vmr@contoso.com", "inbox", "state-1", now=NOW)
    store.set_cursor("vmr@contoso.com", "calendar", "other", now=NOW)
    store.set_cursor("vmr@contoso.com", "inbox", "state-2" * 500, now=NOW)
    assert store.get_cursor("vmr@contoso.com", "inbox") == "state-2" * 500
    store.set_cursor("vmr@contoso.com", "inbox", None, now=NOW)
    assert store.get_cursor("vmr@contoso.com", "inbox") is None
    assert store.get_cursor("vmr@contoso.com", "calendar") == "other"


def test_subscriptions_are_saved_listed_and_deleted(store):
    """Subscriptions are kept per mailbox; saving again replaces; deleting twice is harmless."""
    a = Subscription(
        subscription_id="s1",
        mailbox="vmr@contoso.com",
        folder="inbox",
        kind="ews-streaming",
        expires=None,
        detail={"watermark": "AQ=="},
    )
    b = Subscription(
        subscription_id="s2",
        mailbox="other@contoso.com",
        folder="inbox",
        kind="graph",
        expires=NOW + timedelta(days=2),
        detail={},
    )
    store.save_subscription(a, now=NOW)
    store.save_subscription(b, now=NOW)
    assert store.subscriptions() == [a, b]
    assert store.subscriptions("vmr@contoso.com") == [a]
    renewed = Subscription(**{**a.__dict__, "expires": NOW + timedelta(days=3)})
    store.save_subscription(renewed, now=NOW)
    assert store.subscriptions("vmr@contoso.com") == [renewed]
    store.delete_subscription("s1")
    store.delete_subscription("s1")
    assert store.subscriptions() == [b]


def test_installation_facts_are_kept_and_the_first_writer_wins(store):
    """set_fact overwrites; ensure_fact keeps what is there and returns it."""
    assert store.get_fact("installation_id") is None
    assert store.ensure_fact("installation_id", "first", now=NOW) == "first"
    assert store.ensure_fact("installation_id", "second", now=NOW) == "first"
    store.set_fact("installation_id", "third", now=NOW)
    assert store.get_fact("installation_id") == "third"


def test_concurrent_ensure_fact_agrees_on_one_value(store):
    """Threads racing to create the installation id all get the same one."""
    seen: list[str] = []

    def ensure(i: int) -> None:
        seen.append(store.ensure_fact("installation_id", f"id-{i}", now=NOW))

    threads = [threading.Thread(target=ensure, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1


def test_naive_datetimes_are_refused(store):
    """A naive datetime is a bug: the store refuses it instead of guessing a zone."""
    with pytest.raises(StoreError):
        store.set_fact("k", "v", now=datetime(2026, 1, 1))
