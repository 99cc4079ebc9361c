"""Alembic migrations of the store, shipped with the package (`upgrade_to_head` runs them)."""
