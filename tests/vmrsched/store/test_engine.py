"""How the store talks to its databases: SQLite settings, URLs, concurrent writers."""

from __future__ import annotations

import threading

import pytest
from store_factories import NOW

from vmrsched.adapters.db.client import SqlStore
from vmrsched.adapters.db.engine import create_engine, normalize_url


def test_sqlite_file_uses_wal_busy_timeout_and_foreign_keys(tmp_path):
    """A file database is opened in WAL mode, waits when busy and enforces foreign keys."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000
        assert pragma("synchronous") == 2  # FULL
    engine.dispose()


def test_plain_postgresql_urls_mean_psycopg_3():
    """`postgresql://` (as operators write it) selects psycopg 3, not psycopg2."""
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.sqlite").drivername == "sqlite"


def test_unsupported_databases_are_refused():
    """Only SQLite and PostgreSQL are supported, and the message says so."""
    with pytest.raises(ValueError, match="sqlite"):
        create_engine("mysql://u@h/db")


def test_two_processes_on_one_sqlite_file_queue_their_writes(tmp_path):
    """Two stores on one file (the CLI beside the service) write concurrently without errors."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    stores = [SqlStore.open(url), SqlStore.open(url)]
    errors: list[BaseException] = []

    def write(store: SqlStore, name: str) -> None:
        try:
            for i in range(50):
                store.set_fact(f"{name}-{i}", "v", now=NOW)
                store.ensure_fact("shared", name, now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(stores[i % 2], f"w{i}")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].get_fact("w5-49") == "v"
    for store in stores:
        store.close()


def test_each_in_memory_store_is_private():
    """Two in-memory stores never share data (each is its own fake database)."""
    a, b = SqlStore.in_memory(), SqlStore.in_memory()
    a.set_fact("k", "a", now=NOW)
    assert b.get_fact("k") is None
    a.close()
    b.close()
