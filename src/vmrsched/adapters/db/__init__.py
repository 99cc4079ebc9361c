"""The store on SQL databases: SQLite by default, PostgreSQL for shared deployments.

``SqlStore.open(url)`` migrates the database and implements `vmrsched.ports.store.Store`;
``SqlStore.in_memory()`` is the same code on a private in-memory SQLite database (the fake that
tests and the demo use); ``upgrade_to_head(url)`` only migrates.
"""

from vmrsched.adapters.db.client import SqlStore
from vmrsched.adapters.db.migrate import upgrade_to_head

__all__ = ["SqlStore", "upgrade_to_head"]
