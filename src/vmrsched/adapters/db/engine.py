"""Engines set up the same way for the service, the CLI, migrations and tests.

SQLite (the default): WAL journal so readers never block the writer; ``busy_timeout`` so a second
process (the CLI while the service runs) waits instead of failing; foreign keys on (off by default
in SQLite); ``synchronous=FULL`` because a commit must survive a power cut, not only a crash
(every effect we perform is preceded by a commit, see docs/reference/database.md). The Python
driver's own transaction handling is switched off and we emit ``BEGIN`` ourselves: a write
transaction starts with ``BEGIN IMMEDIATE``, taking the write lock up front, so two writers queue on
``busy_timeout`` instead of one failing with "database is locked" when it upgrades a read lock.
https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions

An in-memory SQLite database lives in one connection shared by every thread (``StaticPool``);
transactions on it are serialised by a lock in the client.

PostgreSQL: psycopg 3, session time zone UTC, ``pool_pre_ping`` so a restarted server costs one
failed checkout instead of one failed transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 15_000
# Execution option naming the kind of transaction a connection is about to begin on SQLite.
SQLITE_BEGIN = "vmrsched_sqlite_begin"


def is_memory(url: URL) -> bool:
    """True for an in-memory SQLite URL (``sqlite://`` or ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def normalize_url(url: str | URL) -> URL:
    """Accept the URLs users write: ``postgresql://`` means psycopg 3 (not psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str | URL) -> Engine:
    """An engine for the store's database, with the settings described in this module."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _sqlite_engine(url: URL) -> Engine:
    kwargs: dict[str, Any] = {}
    if is_memory(url):
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Switch off pysqlite's implicit BEGIN; `_on_begin` emits ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not is_memory(url):
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
