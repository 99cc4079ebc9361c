"""A throw-away PostgreSQL server for the test session (a pytest plugin).

Loaded from ``tests/conftest.py``. The session fixture ``postgres_server`` finds the server
binaries (``initdb``, ``pg_ctl``: on PATH, or Debian's ``/usr/lib/postgresql/*/bin``), creates a
cluster in a fresh temporary directory, starts it on a free port of 127.0.0.1 with its unix socket
in that directory, and stops and removes it when the session ends. ``postgres_server.new_database()``
gives each test its own database, as a SQLAlchemy URL ``postgresql+psycopg://...``.

PostgreSQL refuses to run as root. When the tests run as root (CI containers, this machine), the
cluster is created and run as the ``postgres`` system user (which Debian's ``postgresql`` package
creates) through ``runuser``; the temporary directory is handed to that user.

Without the binaries the PostgreSQL tests are skipped with the reason, unless the environment sets
``VMRSCHED_REQUIRE_POSTGRES=1`` (CI does), in which case they fail: a CI run must not pass by
silently skipping them. Debian/Ubuntu: ``apt-get install postgresql``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

try:
    import psycopg
except ImportError:  # the PostgreSQL tests then skip (or fail in CI), saying so
    psycopg = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUIRE_ENV = "VMRSCHED_REQUIRE_POSTGRES"
SUPERUSER = "postgres"
# Durability is worthless for a server that lives as long as a test session; speed is not.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "timezone": "UTC",
}


class PostgresUnavailableError(RuntimeError):
    """The throw-away server cannot be started here; the message says why and what to install."""


def find_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: PATH first, then Debian's versioned directories."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One running cluster. ``new_database()`` creates an empty database and returns its URL."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="vmrsched-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root
        self.log_file = self.root / "server.log"
        self._run_as: str | None = None
        self._names = itertools.count(1)
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(SUPERUSER)
            except KeyError as exc:
                raise PostgresUnavailableError(
                    "running as root and there is no 'postgres' system user to run the server as "
                    "(initdb refuses root); install Debian's postgresql package, which creates it"
                ) from exc
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError("running as root and 'runuser' is missing")
            self._run_as = entry.pw_name
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        options += f" -p {self.port} -k {self.socket_dir}"
        self._run(
            "pg_ctl",
            "start",
            "--wait",
            "--timeout",
            "60",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--options",
            options,
        )
        self._started = True

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(
                    "pg_ctl",
                    "stop",
                    "--wait",
                    "--mode",
                    "immediate",
                    "--pgdata",
                    str(self.data_dir),
                )
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        result = subprocess.run(  # noqa: PLW1510 - the return code is checked below, with the log
            command, capture_output=True, text=True, cwd=self.root, timeout=120
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise PostgresUnavailableError(
                f"{program} failed ({result.returncode}): {result.stdout}{result.stderr}{log}"
            )

    # -- databases -------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, template: str | None = None) -> str:
        """Create a fresh database (a copy of ``template`` if given) and return its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{template}" STRATEGY FILE_COPY'
        self.execute(sql)
        return self.url(name)

    def rename_database(self, url: str, name: str) -> str:
        """Rename the database of ``url`` (no one may be connected) and return the new URL."""
        self.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" RENAME TO "{name}"')
        return self.url(name)

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser in the ``postgres`` database, outside transactions."""
        assert psycopg is not None
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running throw-away PostgreSQL server for the whole session."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _unavailable(
            "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin "
            "(Debian/Ubuntu: apt-get install postgresql)"
        )
        raise AssertionError  # unreachable: skip and fail raise
    if psycopg is None:
        _unavailable("the psycopg driver is not installed (pip install '.[dev]')")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except PostgresUnavailableError as exc:
        server.stop()
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's throw-away server."""
    return postgres_server.new_database()
