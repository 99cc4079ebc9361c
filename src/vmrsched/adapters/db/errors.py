"""SQLAlchemy and driver errors → the store's errors (`vmrsched.ports.store`).

Translated once, at the transaction boundary of the client, with ``raise ... from exc`` so the
driver's message stays in the traceback for the operator.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc

from vmrsched.ports.store import ConflictError, StoreError, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Iterator

# PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock, lock timeout, admin
# shutdown, cannot connect now. https://www.postgresql.org/docs/current/errcodes-appendix.html
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P03"})


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise database errors as ``StoreError`` subclasses; let ours pass untouched."""
    try:
        yield
    except StoreError:
        raise
    except sa_exc.IntegrityError as exc:
        raise ConflictError(f"the change breaks a database constraint: {exc.orig}") from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated or _sqlstate(exc) in RETRYABLE_SQLSTATES:
            raise StoreUnavailableError(f"database unavailable, try again: {exc.orig}") from exc
        if isinstance(exc, sa_exc.OperationalError):
            # SQLite "database is locked" (busy_timeout passed), disk I/O errors, lost servers.
            raise StoreUnavailableError(f"database unavailable, try again: {exc.orig}") from exc
        raise StoreError(f"database error: {exc.orig}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc}") from exc
