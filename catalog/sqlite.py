"""The SQLite engine: the catalog as one file in WAL mode, shared by every process.

Writers serialise on SQLite's own lock: a write transaction starts ``BEGIN
IMMEDIATE`` and a writer finding the file locked waits and retries a few times
(``retrying``) before raising ``CatalogLocked``. A read-only connection
(``read_only=True``, the web app's) can never write, not even by mistake.

Example:
    >>> engine = SQLiteEngine.connect(":memory:")
    >>> with engine.transaction():
    ...     _ = engine.execute("CREATE TABLE t (x INTEGER)")
    ...     engine.insert_id("INSERT INTO t(x) VALUES (?) RETURNING rowid", (7,))
    1
    >>> engine.json_text("data", "categories", 0)
    "json_extract(data, '$.categories[0]')"
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from catalog.errors import CatalogError, CatalogLocked

T = TypeVar("T")

# Page cache per connection (KiB): a build rewrites thousands of scattered pages in one
# transaction; with the 2 MB default they spill to the WAL before the commit.
CACHE_KIB = 65536
BUSY_TIMEOUT_MS = 60000
_PATH_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SQLiteEngine:
    """One connection to a catalog file (see the module docstring)."""

    name = "sqlite"
    session_locks = False  # the lock table's holder, pid and heartbeat decide

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._depth = 0  # nesting of transaction() blocks

    @classmethod
    def connect(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> SQLiteEngine:
        """Open the file at ``path`` (created if needed, unless ``read_only``).

        Raises:
            CatalogError: ``read_only`` and the file cannot be read.
        """
        path = str(path)
        if read_only and path != ":memory:":
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10,
                                       isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA query_only = ON")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as exc:
                raise CatalogError(f"cannot read the catalog {path}: {exc}") from exc
            conn.row_factory = sqlite3.Row
            return cls(conn)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path != ":memory:":
            _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys = ON")
        return cls(conn)

    # ------------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(sql, params).fetchone()[0])

    # ------------------------------------------------------------------ bulk loads
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
                  ) -> int:
        batch = [tuple(r) for r in rows]
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({', '.join('?' * len(columns))})", batch)
        return len(batch)

    def upsert_rows(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Iterable[Sequence[Any]]) -> int:
        batch = [tuple(r) for r in rows]
        updates = [c for c in columns if c not in key]
        conflict = (f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in updates) if updates
                    else f"ON CONFLICT ({', '.join(key)}) DO NOTHING")
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({', '.join('?' * len(columns))}) {conflict}", batch)
        return len(batch)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); nested blocks join it.

        ``lock`` needs nothing here: ``BEGIN IMMEDIATE`` already serialises every writer.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    def retrying(self, work: Callable[[], T]) -> T:
        if self._depth:  # inside a transaction: its lock is held, the outer write retries
            return work()
        return _retry(work)

    # ------------------------------------------------------------------ dialect
    def json_text(self, column: str, *path: str | int) -> str:
        parts = "$"
        for part in path:
            if isinstance(part, int):
                parts += f"[{part}]"
            elif _PATH_PART.match(part):
                parts += f".{part}"
            else:
                raise ValueError(f"not a JSON path part: {part!r}")
        return f"json_extract({column}, '{parts}')"

    def skip_locked(self) -> str:
        return ""  # a write transaction holds the whole file: no row is held by another

    def try_session_lock(self, name: str) -> bool:
        raise NotImplementedError("SQLite has no session locks: use the lock table")

    def release_session_lock(self, name: str) -> None:
        raise NotImplementedError("SQLite has no session locks: use the lock table")

    def session_lock_held(self, name: str) -> bool:
        raise NotImplementedError("SQLite has no session locks: use the lock table")

    def table_exists(self, name: str) -> bool:
        return self.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (name,)) is not None

    def statements(self, script: str) -> list[str]:
        out, current = [], ""
        for line in script.splitlines(keepends=True):
            current += line
            if sqlite3.complete_statement(current):
                if _sql_text(current):
                    out.append(current.strip())
                current = ""
        if _sql_text(current):
            raise CatalogError(f"unterminated SQL statement in a migration: {current[:80]!r}")
        return out

    def close(self) -> None:
        self.conn.close()


def _sql_text(chunk: str) -> str:
    """The chunk without comments and blanks (empty when it holds no statement)."""
    return "".join(line.split("--", 1)[0] for line in chunk.splitlines()).strip(" \t\n;")


def _retry(work: Callable[[], T], attempts: int = 8) -> T:
    """Run ``work``, waiting out another process's lock a few times before giving up."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise CatalogLocked(f"the catalog stayed locked: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")
