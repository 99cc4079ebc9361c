"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import structlog

if TYPE_CHECKING:
    from collections.abc import Iterator

# The throw-away PostgreSQL server (tests/postgres.py) is a plugin so any test directory can use
# its fixtures: `postgres_server`, `postgres_url`.
pytest_plugins = ("postgres",)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Any test may run ``main()``, which configures the process's logging: undo it after.

    Without this, a test that captures log events (``structlog.testing.capture_logs``) sees
    nothing when it runs after one that configured a level filter or another output.
    """
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)
