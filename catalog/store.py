"""The catalog: one store shared by every stage (SQLite by default, one file in WAL mode).

``Catalog`` is the listing store the crawlers write through (runs, pages of
listings, errors, history: ``catalog.runs`` and ``catalog.listings``), the
scheduler's plan and the processes' locks (``catalog.schedule``,
``catalog.locks``), the sources' public configuration (``catalog.sources``),
and three named parts for what later stages derive: ``catalog.clean`` (the
normalizer's output), ``catalog.entities`` (builds, merged entities, members,
presence) and ``catalog.matching`` (match state, blocking keys, review pairs
and decisions). Every SQL statement on these tables lives in those modules;
callers get dicts, dataclasses and named tuples, never a cursor or a row.
Opening a catalog brings its schema up to date (``catalog.migrate``).

Example:
    >>> cat = Catalog.open(":memory:")
    >>> run = cat.begin_run("demo")
    >>> cat.write_page(run, [{"kind": "shop", "source": "demo", "source_id": "1"}]).new
    1
    >>> cat.entities.count(), cat.clean.count()
    (0, 0)
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from catalog.clean import CleanStore
from catalog.engine import Engine, utcnow
from catalog.entities import EntityStore
from catalog.listings import ListingStore, content_hash
from catalog.locks import LockStore
from catalog.matching import MatchStore
from catalog.migrate import check_current, migrate
from catalog.runs import HEARTBEAT_STALE_SECONDS, PageCounts, Run, pid_alive
from catalog.schedule import ScheduleStore
from catalog.sources import SourceRegistry
from catalog.sqlite import SQLiteEngine

__all__ = ["CATALOG_FILE", "HEARTBEAT_STALE_SECONDS", "Catalog", "PageCounts", "Run",
           "content_hash", "pid_alive", "utcnow"]

CATALOG_FILE = "catalog.sqlite"


class Catalog(ListingStore, LockStore, ScheduleStore, SourceRegistry):
    """A connection to the catalog. One per thread or process."""

    def __init__(self, db: Engine, path: str, *, read_only: bool = False) -> None:
        self.db = db
        self.path = path
        self.read_only = read_only
        self.clean = CleanStore(db)
        self.entities = EntityStore(db)
        self.matching = MatchStore(db)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Catalog:
        """Open (and create if needed) the catalog file at ``path``; migrate its schema."""
        engine = SQLiteEngine.connect(path)
        try:
            migrate(engine)
        except BaseException:
            engine.close()
            raise
        return cls(engine, str(path))

    @classmethod
    def open_read_only(cls, path: str | os.PathLike[str]) -> Catalog:
        """A connection that never writes (the web app's), to an existing catalog.

        Raises:
            CatalogError: the file cannot be read.
            SchemaTooOld: its schema is behind this code's (a writer has not opened it yet).
        """
        if str(path) == ":memory:":  # an empty catalog (examples, tests)
            return cls.open(path)
        engine = SQLiteEngine.connect(path, read_only=True)
        try:
            check_current(engine)
        except BaseException:
            engine.close()
            raise
        return cls(engine, str(path), read_only=True)

    @classmethod
    def in_home(cls, home: str | os.PathLike[str]) -> Catalog:
        return cls.open(Path(home) / CATALOG_FILE)

    @property
    def conn(self) -> sqlite3.Connection:
        """The SQLite connection, for the modules of ``catalog/`` built on SQLite itself
        (the embedded search index); nothing outside ``catalog/`` uses it."""
        conn: sqlite3.Connection = self.db.conn  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[None]:
        """``with catalog.transaction():`` one write transaction; the stores' writes inside it
        join it."""
        return self.db.transaction()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.retrying(lambda: self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)))

    # ------------------------------------------------------------------ builds
    def needs_build(self) -> bool:
        """Whether listings changed (or went) since the last complete build started."""
        last = self.entities.last_complete_build()
        if last is None:
            return self.has_listings()
        return self.listings_changed_since(last.started_at)
