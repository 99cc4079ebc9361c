"""The CLI's edge: expected errors become a plain message, the fix, and an exit status.

Never a traceback for something an admin can fix: a configuration problem, refused credentials,
a database that is not there, a port in use. A traceback is printed only for a bug.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final, TextIO

from vmrsched.bootstrap import BootstrapError
from vmrsched.config import ConfigError
from vmrsched.ports.mailbox import MailboxError
from vmrsched.ports.store import SchemaMismatchError, StoreError, StoreUnavailableError
from vmrsched.service.installation import InstallationConflictError
from vmrsched.service.reserve import ReservationRefusedError

#: Exit statuses.
OK: Final = 0
FAILED: Final = 1  # the command could not do its work (the message says why)
CONFIG: Final = 2  # the configuration (or the command line) is wrong
INTERRUPTED: Final = 130


@dataclass(frozen=True)
class Failure:
    """What the edge prints for an expected error."""

    message: str
    fix: str
    status: int


class UsageError(Exception):
    """A command was given something it cannot use; ``fix`` says what would work."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


def explain(exc: BaseException) -> Failure | None:
    """The plain-words failure for an expected error, or None for a bug."""
    if isinstance(exc, ConfigError):
        return Failure(str(exc), "correct the settings above and run the command again", CONFIG)
    fix = str(getattr(exc, "fix", "") or "")
    if isinstance(exc, UsageError | ReservationRefusedError | InstallationConflictError):
        return Failure(str(exc), fix, CONFIG if isinstance(exc, UsageError) else FAILED)
    if isinstance(exc, BootstrapError):
        return Failure(str(exc), fix, CONFIG)
    if isinstance(exc, MailboxError):
        name = type(exc).__name__.removesuffix("Error")
        return Failure(f"Exchange: {name}: {exc}", fix or "see the log for details", FAILED)
    if isinstance(exc, SchemaMismatchError):
        return Failure(str(exc), "let vmrsched migrate the database (the default)", FAILED)
    if isinstance(exc, StoreUnavailableError):
        return Failure(
            f"the database is not available: {exc}",
            "check [database] url and that the database server is running",
            FAILED,
        )
    if isinstance(exc, StoreError):
        return Failure(f"the database refused: {exc}", "see the log for details", FAILED)
    if isinstance(exc, OSError):
        return Failure(
            f"{exc.strerror or exc} ({getattr(exc, 'filename', None) or 'network'})",
            "check the address or file named, and that no other process holds it",
            FAILED,
        )
    return None


def report(failure: Failure, stream: TextIO | None = None) -> int:
    """Print ``failure`` and return its exit status."""
    out = stream if stream is not None else sys.stderr
    print(f"vmrsched: {failure.message}", file=out)
    if failure.fix:
        print(f"  fix: {failure.fix}", file=out)
    return failure.status
