"""Fixtures shared by the whole test suite."""

# The throw-away PostgreSQL server (tests/postgres.py) is a plugin so any test directory can use
# its fixtures: `postgres_server`, `postgres_url`.
pytest_plugins = ("postgres",)
