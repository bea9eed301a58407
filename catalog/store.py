"""The catalog: one store shared by every stage, on SQLite (one file) or PostgreSQL.

``Catalog`` is the listing store the crawlers write through (runs, pages of
listings, errors, history: ``catalog.runs`` and ``catalog.listings``), the
scheduler's plan, the processes' locks and the crawl queue with its workers
(``catalog.schedule``, ``catalog.locks``, ``catalog.jobs``), the sources' public
configuration (``catalog.sources``), and three named parts for what later
stages derive: ``catalog.clean`` (the normalizer's output), ``catalog.entities``
(builds, merged entities, members, presence) and ``catalog.matching`` (match
state, blocking keys, review pairs and decisions). Every SQL statement on these
tables lives in those modules; callers get dicts, dataclasses and named tuples,
never a cursor or a row. Opening a catalog brings its schema up to date
(``catalog.migrate``).

Where the catalog is: a *location*, either the path of a SQLite file (the
embedded default, ``AGORA_HOME/catalog.sqlite``) or a ``postgresql://`` URL
(``catalog.postgres``); ``Catalog.open`` picks the engine from it, and
``Catalog.path`` gives it back, so that another process or thread reopens the
same catalog. ``Catalog.in_home(home)`` opens the catalog of an Agora home: the
URL in the ``AGORA_CATALOG_URL`` environment variable when set (every process
of a deployment, crawl workers included, reads the same variable, as libpq
reads ``PGHOST``), else the home's SQLite file.

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
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from catalog.clean import CleanStore
from catalog.engine import Engine, utcnow
from catalog.entities import EntityStore
from catalog.jobs import JobQueue
from catalog.listings import ListingStore, content_hash
from catalog.locks import LockStore
from catalog.matching import MatchStore
from catalog.migrate import check_current, migrate
from catalog.postgres import PostgresEngine, is_postgres_url, redact
from catalog.runs import HEARTBEAT_STALE_SECONDS, PageCounts, Run, pid_alive
from catalog.schedule import ScheduleStore
from catalog.sources import SourceRegistry
from catalog.sqlite import SQLiteEngine

__all__ = ["CATALOG_FILE", "CATALOG_URL_VARIABLE", "HEARTBEAT_STALE_SECONDS", "Catalog",
           "PageCounts", "Run", "catalog_location", "content_hash", "describe_location",
           "is_server_location", "pid_alive", "utcnow"]

CATALOG_FILE = "catalog.sqlite"
CATALOG_URL_VARIABLE = "AGORA_CATALOG_URL"
# Server catalogs found up to date by this process: a schema only ever moves forward,
# so a reader (a web request) checks it once, not at every connection.
_schema_current: set[str] = set()


def is_server_location(location: str | os.PathLike[str]) -> bool:
    """Whether the catalog at ``location`` is on a server (PostgreSQL), not in a file."""
    return is_postgres_url(str(location))


def catalog_location(home: str | os.PathLike[str]) -> str:
    """The catalog of an Agora home: ``AGORA_CATALOG_URL`` when set, else its SQLite file."""
    url = os.environ.get(CATALOG_URL_VARIABLE, "").strip()
    return url if url else str(Path(home) / CATALOG_FILE)


def describe_location(location: str | os.PathLike[str]) -> str:
    """The location as messages and pages may show it: a URL without its password."""
    return redact(str(location)) if "://" in str(location) else str(location)


def _connect(location: str, *, read_only: bool) -> Engine:
    if is_postgres_url(location):
        return PostgresEngine.connect(location, read_only=read_only)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ValueError(f"unknown catalog location {describe_location(location)!r}: a "
                         f"file path or a postgresql:// URL, not {scheme}://")
    return SQLiteEngine.connect(location, read_only=read_only)


class Catalog(ListingStore, LockStore, ScheduleStore, SourceRegistry):
    """A connection to the catalog. One per thread or process."""

    def __init__(self, db: Engine, path: str, *, read_only: bool = False) -> None:
        self.db = db
        self.path = path
        self.read_only = read_only
        self.clean = CleanStore(db)
        self.entities = EntityStore(db)
        self.matching = MatchStore(db)
        self.jobs = JobQueue(db, self)
        self._held: dict[str, str] = {}  # session locks this connection holds: name -> owner

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> Catalog:
        """Open the catalog at ``location`` (a SQLite file, created if needed, or a
        ``postgresql://`` URL); migrate its schema.

        Raises:
            CatalogError: the server cannot be reached.
            ValueError: ``location`` is a URL of another kind.
        """
        location = str(location)
        engine = _connect(location, read_only=False)
        try:
            migrate(engine)
        except BaseException:
            engine.close()
            raise
        return cls(engine, location)

    @classmethod
    def open_read_only(cls, location: str | os.PathLike[str]) -> Catalog:
        """A connection that never writes (the web app's), to an existing catalog.

        Raises:
            CatalogError: the file cannot be read, or the server reached.
            SchemaTooOld: its schema is behind this code's (a writer has not opened it yet).
        """
        location = str(location)
        if location == ":memory:":  # an empty catalog (examples, tests)
            return cls.open(location)
        engine = _connect(location, read_only=True)
        try:
            if location not in _schema_current:
                check_current(engine)
                if engine.name != "sqlite":
                    _schema_current.add(location)
        except BaseException:
            engine.close()
            raise
        return cls(engine, location, read_only=True)

    @classmethod
    def in_home(cls, home: str | os.PathLike[str]) -> Catalog:
        """The catalog of the Agora home ``home`` (see ``catalog_location``)."""
        return cls.open(catalog_location(home))

    @property
    def engine(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.db.name

    @property
    def conn(self) -> Any:
        """A DB-API style connection for the modules of ``catalog/`` that read with one
        (the search documents): SQLite's own connection, or the PostgreSQL engine, whose
        ``execute`` takes the same ``?`` statements. Nothing outside ``catalog/`` uses it."""
        if isinstance(self.db, SQLiteEngine):
            return self.db.conn
        return self.db

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

    def describe(self) -> str:
        """Where this catalog is, as messages may show it (no password)."""
        return describe_location(self.path)

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
