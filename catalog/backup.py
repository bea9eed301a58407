"""Backing up a catalog to one file and restoring it into an empty one, on either engine.

- SQLite: ``backup`` copies the file with SQLite's online backup API (a
  consistent snapshot, taken while crawls and builds write); ``restore`` copies
  the backup into a new file beside the target and renames it into place, so a
  reader never sees half a catalog.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --single-transaction``
  (the server's own tools, which must be at least the server's version: found on
  ``PATH`` or in the newest ``/usr/lib/postgresql/*/bin``, or in ``bin_dir``). The
  password never appears on a command line (where ``ps`` shows it to every user
  of the machine): it goes to the tools through ``PGPASSWORD``.

Restoring refuses a target that already holds a catalog (``force``: a SQLite
file is replaced; a PostgreSQL database is never emptied here: drop and create
it first). The restored catalog is then migrated to this code's schema. The
embedded search index is not part of the catalog: index again after restoring
(``agora catalog restore`` does).

Example:
    >>> backup_kind("postgresql://agora@db/agora"), backup_kind("/var/agora/catalog.sqlite")
    ('pg_dump custom format', 'SQLite database file')
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from catalog.errors import BackupError
from catalog.migrate import current_version
from catalog.postgres import PostgresEngine, is_postgres_url, redact

log = logging.getLogger(__name__)

TOOL_TIMEOUT_S = 6 * 3600


def backup_kind(location: str) -> str:
    """What a backup of the catalog at ``location`` is."""
    return "pg_dump custom format" if is_postgres_url(location) else "SQLite database file"


def backup(location: str | os.PathLike[str], target: str | os.PathLike[str], *,
           bin_dir: str | None = None) -> Path:
    """Write a backup of the catalog at ``location`` to the file ``target``; returns it."""
    location, target = str(location), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_postgres_url(location):
        conninfo, env = _libpq(location)
        _run([_tool("pg_dump", bin_dir), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={target}", f"--dbname={conninfo}"], env, location)
    else:
        if not Path(location).exists():
            raise BackupError(f"no catalog at {location}")
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(f"file:{location}?mode=ro", uri=True)
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest)  # online: a consistent snapshot while others write
        finally:
            dest.close()
            source.close()
        partial.replace(target)
    log.info("catalog %s backed up to %s", redact(location), target)
    return target


def restore(backup_file: str | os.PathLike[str], location: str | os.PathLike[str], *,
            force: bool = False, bin_dir: str | None = None) -> None:
    """Restore ``backup_file`` into the catalog at ``location``, which must be empty.

    Raises:
        BackupError: the backup is missing or of the other engine, the target holds
            a catalog already, or the restore tool failed.
    """
    backup_path, location = Path(backup_file), str(location)
    if not backup_path.is_file():
        raise BackupError(f"no backup file {backup_path}")
    is_sqlite_file = backup_path.read_bytes()[:16] == b"SQLite format 3\x00"
    if is_postgres_url(location):
        if is_sqlite_file:
            raise BackupError(f"{backup_path} is a SQLite catalog: restore it into a file, "
                              "or import its listings (agora export/import listings)")
        _check_empty_database(location)
        conninfo, env = _libpq(location)
        _run([_tool("pg_restore", bin_dir), "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", f"--dbname={conninfo}", str(backup_path)], env, location)
    else:
        if not is_sqlite_file:
            raise BackupError(f"{backup_path} is not a SQLite catalog (a pg_dump file is "
                              "restored into a postgresql:// catalog)")
        target = Path(location)
        if target.exists() and target.stat().st_size and not force:
            raise BackupError(f"{target} exists: restore into a new file, or --force to "
                              "replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restoring")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        for suffix in ("-wal", "-shm"):  # the old catalog's journal must not replay over it
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        partial.replace(target)
    log.info("backup %s restored into %s", backup_path, redact(location))


def _check_empty_database(url: str) -> None:
    engine = PostgresEngine.connect(url)
    try:
        if current_version(engine) or engine.table_exists("listings"):
            raise BackupError(f"the database {redact(url)} already holds a catalog: restore "
                              "into a new, empty database (createdb), then point "
                              "AGORA_CATALOG_URL at it")
    finally:
        engine.close()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and an environment carrying it."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _tool(name: str, bin_dir: str | None) -> str:
    if bin_dir:
        path = Path(bin_dir) / name
        if not path.exists():
            raise BackupError(f"{name} not found in {bin_dir}")
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    if candidates:
        return candidates[-1]
    raise BackupError(f"{name} not found: install PostgreSQL's client tools (Debian: "
                      "postgresql-client) or set AGORA_PG_BIN")


def _run(cmd: list[str], env: dict[str, str], location: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{Path(cmd[0]).name} could not run: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{Path(cmd[0]).name} failed on {redact(location)}: "
                          f"{detail[-1] if detail else done.returncode}")
