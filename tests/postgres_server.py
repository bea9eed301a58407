"""A real PostgreSQL for the tests: the ``postgres_server`` fixture.

No Docker here: the fixture runs Debian's PostgreSQL binaries (``initdb`` and
``pg_ctl`` from the ``postgresql`` package, which ``make test`` installs when
missing) on a data directory in a temporary folder, listening on a free
127.0.0.1 port, with durability switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``): the tests need a real server, not a durable one. PostgreSQL
refuses to run as root, so when the tests run as root the server runs as the
``postgres`` system user (or ``nobody``), and the temporary folder is given to it.

``postgres_server`` (session scope) yields a :class:`PostgresServer`;
``postgres_url`` (function scope) gives each test a new empty database and drops
it afterwards. Import them into tests/conftest.py.

Environment:

- ``AGORA_POSTGRES_URL``: use that server (a ``postgresql://`` URL whose user may
  create databases) and launch nothing.
- ``AGORA_REQUIRE_POSTGRES=1`` (set by .ci/run): a server that cannot be started
  fails the tests instead of skipping them.
- ``AGORA_POSTGRES_TIMEOUT``: seconds to wait for the server (default 60).

Also a command: ``python tests/postgres_server.py`` starts a server and prints the
``AGORA_CATALOG_URL=...`` line to use it, until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

SUPERUSER = "agora"
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
    "shared_buffers=128MB",
)


class ServerUnavailable(Exception):
    """No server could be had; the message says why and what to do."""


@dataclass
class PostgresServer:
    """One PostgreSQL server, launched by the fixture or given by the environment."""

    url: str                     # URL of its maintenance database (``postgres``)
    version: str = ""
    launched: bool = False
    data_dir: Path | None = None
    log: Path | None = None
    databases: list[str] = field(default_factory=list)

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"agora_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        self.databases.append(name)
        return self.database_url(name)

    def drop_database(self, name_or_url: str) -> None:
        name = urlsplit(name_or_url).path.lstrip("/") if "://" in name_or_url else name_or_url
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ValueError):
            self.databases.remove(name)


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
                        reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ServerUnavailable("PostgreSQL's initdb was not found: install Debian's 'postgresql' "
                            "package (`make system-deps`) or set AGORA_POSTGRES_URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerUnavailable("running as root and no 'postgres' or 'nobody' user to run "
                            "PostgreSQL as")


def launch(timeout: float | None = None) -> PostgresServer:
    """Start a throw-away server; it is stopped when the process exits."""
    timeout = timeout or float(os.environ.get("AGORA_POSTGRES_TIMEOUT", "60"))
    bin_dir = _bin_dir()
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="agora-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    uid = user.pw_uid if user is not None else None
    gid = user.pw_gid if user is not None else None
    if user is not None:
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        # The server user must reach the folder even when $TMPDIR is private.
        root.chmod(0o700)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              cwd=root, user=uid, group=gid)

    init = run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
               "-E", "UTF8", "--no-locale", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ServerUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    port = _free_port()
    options = " ".join(f"-c {s}" for s in (*SERVER_SETTINGS, f"port={port}",
                                             f"unix_socket_directories={sockets}"))
    start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                "-t", str(int(timeout)), "-o", options, "start")
    if start.returncode != 0:
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else start.stderr
        shutil.rmtree(root, ignore_errors=True)
        raise ServerUnavailable(f"pg_ctl start failed: {detail.strip()}")

    def stop() -> None:
        with contextlib.suppress(Exception):
            subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                            "stop"], capture_output=True, timeout=30, cwd="/", user=uid, group=gid)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    server = PostgresServer(url=f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres",
                            launched=True, data_dir=data, log=log)
    server.version = _version(server.url, timeout)
    return server


def _version(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]) if row else ""
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _unavailable(reason: str) -> None:
    if os.environ.get("AGORA_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL required (AGORA_REQUIRE_POSTGRES=1) but unavailable: {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (set AGORA_POSTGRES_URL, or `make system-deps`)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session."""
    given = os.environ.get("AGORA_POSTGRES_URL")
    if given:
        try:
            version = _version(given, 10)
        except Exception as exc:  # any failure to connect is reported as such
            _unavailable(f"AGORA_POSTGRES_URL={given!r}: {exc}")
        yield PostgresServer(url=given, version=version)
        return
    try:
        server = launch()
    except (ServerUnavailable, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
        return
    yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    with contextlib.suppress(Exception):
        postgres_server.drop_database(url)


if __name__ == "__main__":
    started = launch()
    print(f"PostgreSQL {started.version} (data in {started.data_dir})")
    print(f"AGORA_CATALOG_URL={started.database_url('postgres')}")
    print("Ctrl-C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
