"""One store suite, three databases: in-memory SQLite (the shipped fake), SQLite file, PostgreSQL.

The PostgreSQL cases use the throw-away server of tests/postgres.py; they skip (or, with
VMRSCHED_REQUIRE_POSTGRES=1, fail) when no PostgreSQL binaries are installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from vmrsched.adapters.db.client import SqlStore
from vmrsched.adapters.db.migrate import upgrade_to_head

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from postgres import PostgresServer

TEMPLATE_DB = "vmrsched_migrated"


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server: PostgresServer) -> PostgresServer:
    """The session's PostgreSQL with a template database already migrated to head."""
    url = postgres_server.new_database()
    upgrade_to_head(url)
    postgres_server.rename_database(url, TEMPLATE_DB)
    return postgres_server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (SQLite file or PostgreSQL), never migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated, empty store on each kind of database."""
    if request.param == "memory":
        opened = SqlStore.in_memory()
    elif request.param == "sqlite":
        opened = SqlStore.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    else:
        server: PostgresServer = request.getfixturevalue("migrated_postgres")
        opened = SqlStore.open(server.new_database(template=TEMPLATE_DB), migrate=False)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def shared_store(store: SqlStore) -> SqlStore:
    """The store, for tests that hit it from several threads."""
    return store
