"""Alembic environment: run migrations on the connection `upgrade_to_head` hands over.

Command-line use (making a new revision) goes through the same code: see
docs/reference/database.md. There is no offline (SQL script) mode: the service migrates its own
database at start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from alembic import context

from vmrsched.adapters.db.engine import create_engine
from vmrsched.adapters.db.tables import UTCDateTime, metadata

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy.engine import Connection

# Any constant works, as long as every vmrsched uses the same: it is "vmrsched" as ASCII bytes.
MIGRATION_LOCK_KEY = int.from_bytes(b"vmrsched", "big") & 0x7FFF_FFFF_FFFF_FFFF


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our UTC type as the plain column type it is in the database.

    A migration must not import code that may change after it was written.
    """
    del autogen_context
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(connection: Connection) -> None:
    """Configure the migration context the way every run and every comparison needs it."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        transaction_per_migration=False,
    )


def run() -> None:
    """Migrate inside one transaction, holding a lock so two starting processes take turns."""
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get(
            "url"
        ) or context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise SystemExit("name the database: alembic -x url=sqlite:///path ...")
        engine = create_engine(url)
        with engine.connect() as conn:
            _migrate(conn)
        engine.dispose()
        return
    _migrate(connection)


def _migrate(connection: Connection) -> None:
    configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("vmrsched migrations run online only (the service migrates at start)")
run()
