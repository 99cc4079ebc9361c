"""Bring a database to the schema this version of vmrsched needs (Alembic, shipped migrations)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError

from vmrsched.adapters.db.engine import create_engine
from vmrsched.ports.store import SchemaMismatchError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection

SCRIPT_LOCATION = "vmrsched.adapters.db:migrations"
# Alembic keeps its running context in module globals (`alembic.context`, `alembic.op`), so two
# threads must never migrate at once. Across processes the database itself serialises (env.py).
# Re-entrant: `upgrade_to_head` holds it from the first connection on (a fresh SQLite file's
# switch to WAL needs an exclusive lock, which busy_timeout does not wait for), and
# `upgrade_connection` takes it again.
_ALEMBIC = threading.RLock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, bound to ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the shipped migrations know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations shipped")
    return head


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except AlembicCommandError:
        return False


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for a database vmrsched never touched."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: Connection) -> None:
    """Migrate through ``connection`` to head. Safe to repeat; concurrent callers take turns.

    A database at a revision these migrations do not know (a newer vmrsched migrated it) is
    refused with ``SchemaMismatchError`` and left untouched.
    """
    found = current_revision(connection)
    connection.rollback()
    if found is not None and not _known(found):
        raise SchemaMismatchError(
            f"the database is at schema revision {found!r}, which this vmrsched does not know "
            f"(it knows up to {head_revision()!r}): a newer vmrsched has used this database; "
            "run that version, or restore a backup taken before the upgrade",
            found=found,
            expected=head_revision(),
        )
    with _ALEMBIC:
        command.upgrade(alembic_config(connection), "head")


def upgrade_to_head(url: str | URL) -> str:
    """Migrate the database at ``url`` to head (idempotent) and return the head revision."""
    with _ALEMBIC:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                upgrade_connection(connection)
                connection.commit()
                revision = current_revision(connection)
        finally:
            engine.dispose()
    if revision is None:
        raise RuntimeError("migration left no revision")
    return revision
