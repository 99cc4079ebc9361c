"""The shipped Alembic migrations build exactly the schema of tables.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_factories import NOW, reservation

from vmrsched.adapters.db.client import SqlStore
from vmrsched.adapters.db.engine import create_engine
from vmrsched.adapters.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from vmrsched.adapters.db.tables import effects, metadata
from vmrsched.ports.store import SchemaMismatchError


def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_head_matches_table_definitions(empty_database_url):
    """Migrating an empty database to head yields exactly tables.py: autogenerate finds no diff."""
    upgrade_to_head(empty_database_url)
    assert schema_differences(empty_database_url) == []
    assert table_names(empty_database_url) == set(metadata.tables) | {"alembic_version"}


def test_comparison_notices_a_drift(empty_database_url):
    """The comparison is not vacuous: a column missing from the database is reported."""
    upgrade_to_head(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_events_correlation_id")
    engine.dispose()
    diffs = schema_differences(empty_database_url)
    assert [d[0] for d in diffs] == ["add_index"]  # type: ignore[index]


def test_upgrade_to_head_is_idempotent_and_keeps_data(empty_database_url):
    """Upgrading twice returns head both times and leaves stored data alone."""
    assert upgrade_to_head(empty_database_url) == head_revision()
    store = SqlStore.open(empty_database_url, migrate=False)
    store.set_fact("installation_id", "abc", now=NOW)
    store.close()
    assert upgrade_to_head(empty_database_url) == head_revision()
    store = SqlStore.open(empty_database_url)
    assert store.get_fact("installation_id") == "abc"
    store.close()


def test_concurrent_upgrades_take_turns(empty_database_url):
    """Four processes starting at once on a new database all end at head without error."""
    code = (
        "import sys; from vmrsched.adapters.db.migrate import upgrade_to_head as u; u(sys.argv[1])"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, empty_database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(timeout=120) != 0]  # type: ignore[union-attr]
    assert failures == []
    assert schema_differences(empty_database_url) == []


def test_threads_of_one_process_can_migrate_at_once(empty_database_url):
    """Alembic's global context is guarded: threads upgrading together do not collide."""
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_to_head(empty_database_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_open_without_migrating_refuses_an_old_schema(empty_database_url):
    """With migrations off, a database not at head is refused with both revisions named."""
    with pytest.raises(SchemaMismatchError) as info:
        SqlStore.open(empty_database_url, migrate=False)
    assert info.value.found is None
    assert info.value.expected == head_revision()


def test_downgrade_to_base_removes_everything(empty_database_url):
    """Every migration can be undone: downgrading to base leaves only Alembic's own table."""
    upgrade_to_head(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
        assert current_revision(conn) is None
    engine.dispose()
    assert table_names(empty_database_url) <= {"alembic_version"}


def test_a_database_from_a_newer_version_is_refused_untouched(empty_database_url):
    """A revision these migrations do not know is refused with the fix, and nothing changes."""
    upgrade_to_head(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(SchemaMismatchError, match="newer vmrsched") as info:
        SqlStore.open(empty_database_url)
    assert info.value.found == "9999"
    with pytest.raises(SchemaMismatchError):
        upgrade_to_head(empty_database_url)
    assert schema_differences(empty_database_url) == []


def test_effects_pending_before_0002_count_as_begun(empty_database_url):
    """Upgrading 0001 → 0002 marks unfinished effects begun (they may have acted), not done ones."""
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.commit()
    engine.dispose()
    engine = create_engine(empty_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO messages (message_key, mailbox, meeting_key, correlation_id, decision,"
            " decided_at) VALUES ('k1', 'vmr@x', NULL, 'c', '{}', '2026-11-23 09:00:00.000000')"
        )
        for number, state in ((1, "pending"), (2, "done")):
            conn.exec_driver_sql(
                "INSERT INTO effects (effect_id, idempotency_key, message_key, meeting_key,"
                " correlation_id, kind, payload, state, attempts, next_attempt_at, created,"
                f" updated) VALUES ({number}, 'e{number}', 'k1', NULL, 'c', 'reply', '{{}}',"
                f" '{state}', 0, '2026-11-23 09:00:00.000000', '2026-11-23 09:00:00.000000',"
                " '2026-11-23 09:00:05.000000')"
            )
    engine.dispose()
    store = SqlStore.open(empty_database_url)
    try:
        [pending] = store.pending_effects(NOW + timedelta(days=1))
        assert pending.attempt_started == NOW + timedelta(seconds=5)
        with store.engine.connect() as conn:
            started = conn.execute(
                sa.select(effects.c.attempt_started).order_by(effects.c.effect_id)
            ).scalars()
            assert list(started) == [NOW + timedelta(seconds=5), None]
    finally:
        store.close()


def test_reservations_made_before_0004_stay_unclaimed(empty_database_url):
    """Upgrading 0003 → 0004 keeps old reservations, each with a proven (unclaimed) organizer."""
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0003")
        conn.commit()
    engine.dispose()
    engine = create_engine(empty_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO reservations (token_id, alias, numeric_alias, organizer, created,"
            " expires, state, meeting_key) VALUES ('00000000-0000-4000-8000-000000000001',"
            " '81000001@vmr', '81000001', 'alice@contoso.com', '2026-11-23 09:00:00.000000',"
            " '2026-12-23 09:00:00.000000', 'live', NULL)"
        )
    engine.dispose()
    store = SqlStore.open(empty_database_url)
    try:
        old = store.get_reservation("00000000-0000-4000-8000-000000000001")
        assert old is not None
        assert old.organizer == "alice@contoso.com"
        assert old.organizer_claimed is False
    finally:
        store.close()


def test_downgrade_from_0004_drops_only_the_claim(empty_database_url):
    """Downgrading 0004 → 0003 removes the organizer_claimed column and keeps the reservations."""
    upgrade_to_head(empty_database_url)
    store = SqlStore.open(empty_database_url)
    store.add_reservation(lambda: reservation(organizer_claimed=True))
    store.close()
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0003")
        conn.commit()
    engine.dispose()
    engine = create_engine(empty_database_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("reservations")}
        with engine.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM reservations").scalar()
    finally:
        engine.dispose()
    assert "organizer_claimed" not in columns
    assert "meeting_key" in columns
    assert count == 1
