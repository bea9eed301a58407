"""Bring a catalog's schema up to date: numbered SQL files applied once, in order.

The files are ``catalog/migrations/<engine>/NNNN_what.sql``; ``schema_version``
records each one applied (version, name, time). Opening a catalog calls
``migrate``: up to date, it costs one read; behind, it takes the write lock,
looks again (another process may have just migrated) and applies what is
missing in the same transaction, so a catalog is never half-migrated (SQLite
and PostgreSQL both run DDL in transactions). A file
is never edited once released: a change of schema is a new file, for every
engine.

Example:
    >>> from catalog.sqlite import SQLiteEngine
    >>> engine = SQLiteEngine.connect(":memory:")
    >>> migrate(engine) == [m.version for m in migrations("sqlite")]
    True
    >>> migrate(engine)
    []
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from catalog.engine import Engine, utcnow
from catalog.errors import CatalogError, SchemaTooOld

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations(engine: str) -> tuple[Migration, ...]:
    """Every migration file of ``engine``, in order."""
    folder = resources.files("catalog.migrations").joinpath(engine)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2),
                                   entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise CatalogError(f"migrations of {engine} are not numbered 1..n: {versions}")
    return tuple(found)


def latest_version(engine: str) -> int:
    return len(migrations(engine))


def current_version(engine: Engine) -> int:
    """The last migration applied to the catalog (0 for a new or pre-migration one)."""
    if not engine.table_exists("schema_version"):
        return 0
    row = engine.query_one("SELECT max(version) FROM schema_version")
    return int(row[0] or 0) if row else 0


def migrate(engine: Engine) -> list[int]:
    """Apply the migrations the catalog lacks; returns the versions applied."""
    latest = latest_version(engine.name)
    if current_version(engine) >= latest:
        return []

    def work() -> list[int]:
        applied = []
        with engine.transaction(lock="migrate"):  # two processes never migrate at once
            engine.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                           "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            current = current_version(engine)
            for migration in migrations(engine.name)[current:]:
                for statement in engine.statements(migration.sql):
                    engine.execute(statement)
                engine.execute("INSERT INTO schema_version(version, name, applied_at) "
                               "VALUES (?, ?, ?)", (migration.version, migration.name,
                                                    utcnow()))
                applied.append(migration.version)
        return applied

    applied = engine.retrying(work)
    if applied:
        log.info("catalog schema migrated to version %d (applied %s)", latest, applied)
    return applied


def check_current(engine: Engine) -> None:
    """For a connection that cannot migrate: raise ``SchemaTooOld`` when behind."""
    current, latest = current_version(engine), latest_version(engine.name)
    if current < latest:
        raise SchemaTooOld(current, latest)
