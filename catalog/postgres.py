"""The PostgreSQL engine: the catalog on a server, shared by processes on many machines.

``PostgresEngine`` runs the stores' statements as they are written for every
engine (``?`` placeholders become psycopg's ``%s``; rows answer ``row[0]`` and
``row["column"]`` like SQLite's), on one psycopg 3 connection in autocommit
mode: a statement outside ``transaction()`` commits alone, nested transactions
join the outermost, and a transaction that loses a serialization or deadlock
race is run again by ``retrying``. Bulk loads go through ``COPY``
(``copy_rows``, ``upsert_rows``). Named locks are advisory locks: a session
lock (``try_session_lock``) belongs to the connection, so a process that dies
loses it with its connection; a transaction lock (``transaction(lock=...)``)
serialises writers that replace a whole table. A read-only connection (the web
app's) runs every transaction ``READ ONLY`` and comes from a pool kept per
process and URL (``psycopg_pool``): a web request does not pay for a new
connection, and ``close`` gives it back.

Times stay ISO 8601 text and JSON stays text, as in SQLite, so that both
engines hold and return the same values; text columns compare bytewise
(``COLLATE "C"``), as SQLite's do, whatever the database's locale.

Example:
    >>> to_pyformat("SELECT * FROM t WHERE a = ? AND b LIKE '%?%'")
    "SELECT * FROM t WHERE a = %s AND b LIKE '%%?%%'"
    >>> lock_key("crawl:clickandco") == lock_key("crawl:clickandco")
    True
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql
from psycopg_pool import ConnectionPool, PoolTimeout

from catalog.errors import CatalogError, CatalogLocked

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMES = ("postgresql", "postgres")
# Fewer rows than this go through executemany: a COPY into a staging table costs more.
COPY_MIN_ROWS = 200
RETRY_ATTEMPTS = 8
# A dead peer (a crashed host, a cut network) must not keep its locks for hours:
# TCP keepalives close its connection, which frees its advisory locks.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}
READ_POOL_SIZE = 16  # read-only connections per process (gunicorn threads share them)
_PATH_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def is_postgres_url(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL server (``postgresql://...``)."""
    return str(location).split("://", 1)[0].lower() in SCHEMES and "://" in str(location)


@lru_cache(maxsize=1024)
def to_pyformat(statement: str) -> str:
    """``?`` placeholders as ``%s``, and literal ``%`` doubled, outside quoted text."""
    out, quote = [], ""
    for char in statement:
        if quote:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def lock_key(name: str) -> int:
    """The advisory lock number of a named lock: 64 bits of its hash, signed."""
    digest = hashlib.blake2b(f"agora:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Row(tuple):
    """A row that answers by position and by column name, like ``sqlite3.Row``.

    Each set of column names gets its subclass, holding the names once.
    """

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    cls = _row_class(tuple(column.name for column in cursor.description or ()))
    return cls


class PostgresEngine:
    """One connection to a catalog on a PostgreSQL server (see the module docstring)."""

    name = "postgresql"
    session_locks = True

    def __init__(self, conn: psycopg.Connection[Any], *, read_only: bool = False,
                 pool: ConnectionPool | None = None) -> None:
        self.conn = conn
        self.read_only = read_only
        self.pool = pool  # where the connection goes back on close
        self._depth = 0  # nesting of transaction() blocks

    @classmethod
    def connect(cls, url: str, *, read_only: bool = False,
                application: str = "agora") -> PostgresEngine:
        """Connect to the database at ``url`` (a read-only connection: from the pool).

        Raises:
            CatalogError: the server cannot be reached or refuses the connection
                (the message never shows the password).
        """
        if read_only:
            pool = _read_pool(url)
            try:
                return cls(pool.getconn(), read_only=True, pool=pool)
            except PoolTimeout as exc:
                raise CatalogError(f"no connection to the catalog {redact(url)}: "
                                   f"{_first_line(exc)}") from None
        try:
            conn = psycopg.connect(url, **_connection_options(application))
        except psycopg.Error as exc:
            raise CatalogError(f"cannot connect to the catalog {redact(url)}: "
                               f"{_first_line(exc)}") from None
        return cls(conn)

    # ------------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        if params:
            return self.conn.execute(to_pyformat(sql), tuple(params))
        return self.conn.execute(sql)  # without parameters psycopg reads no placeholder

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            with self.conn.cursor() as cur:
                cur.executemany(to_pyformat(sql), batch)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.execute(sql, params).fetchall()
        return rows

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        row = self.execute(sql, params).fetchone()
        assert row is not None, "INSERT ... RETURNING gave no row"
        return int(row[0])

    # ------------------------------------------------------------------ bulk loads
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
                  ) -> int:
        """Append rows with ``COPY ... FROM STDIN``; returns how many."""
        if isinstance(rows, list | tuple) and not rows:
            return 0
        count = 0
        statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            pg_sql.Identifier(table), pg_sql.SQL(", ").join(map(pg_sql.Identifier, columns)))
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def upsert_rows(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Iterable[Sequence[Any]]) -> int:
        """Insert rows, replacing the non-key ``columns`` of those whose ``key`` exists.

        Many rows: ``COPY`` into a staging table dropped at commit, then one
        ``INSERT ... SELECT ... ON CONFLICT``. Few: ``executemany``.
        """
        batch = [tuple(r) for r in rows]
        if not batch:
            return 0
        updates = [c for c in columns if c not in key]
        conflict = (f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in updates) if updates
                    else f"ON CONFLICT ({', '.join(key)}) DO NOTHING")
        names = ", ".join(columns)
        if len(batch) < COPY_MIN_ROWS:
            self.executemany(f"INSERT INTO {table} ({names}) VALUES "
                             f"({', '.join('?' * len(columns))}) {conflict}", batch)
            return len(batch)
        stage = f"agora_stage_{table}"
        with self.transaction():
            self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                         f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            self.copy_rows(stage, columns, batch)
            # one row per key: the last one given wins, as with executemany
            self.execute(f"INSERT INTO {table} ({names}) SELECT DISTINCT ON ({', '.join(key)}) "
                         f"{names} FROM {stage} ORDER BY {', '.join(key)}, ctid DESC {conflict}")
            self.execute(f"TRUNCATE {stage}")  # a second load in this transaction starts empty
        return len(batch)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        """One transaction (``ROLLBACK`` on error); nested blocks join it.

        ``lock``: also hold that named lock until the transaction ends (writers that
        replace a whole table wait for each other, as SQLite's writers all do).
        """
        if self._depth:
            self._depth += 1
            try:
                if lock:
                    self.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(lock),))
                yield
            finally:
                self._depth -= 1
            return
        with self.conn.transaction():
            self._depth = 1
            try:
                if lock:
                    self.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(lock),))
                yield
            finally:
                self._depth = 0

    def retrying(self, work: Callable[[], T]) -> T:
        """Run ``work``; a transaction it loses to a concurrent one is run again."""
        if self._depth:  # inside a transaction: the outermost retries
            return work()
        delay = 0.05
        for attempt in range(RETRY_ATTEMPTS):
            try:
                return work()
            except _RETRYABLE as exc:
                if attempt == RETRY_ATTEMPTS - 1:
                    raise CatalogLocked(f"the catalog stayed busy: {_first_line(exc)}") from exc
                log.debug("retrying after %s", type(exc).__name__)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ locks
    def try_session_lock(self, name: str) -> bool:
        """Take the named lock for this connection if free; it lasts until released or
        until the connection closes (re-entrant: a second take needs a second release)."""
        row = self.query_one("SELECT pg_try_advisory_lock(?)", (lock_key(name),))
        return bool(row and row[0])

    def release_session_lock(self, name: str) -> None:
        self.execute("SELECT pg_advisory_unlock(?)", (lock_key(name),))

    def session_lock_held(self, name: str) -> bool:
        """Whether any connection holds the named session lock (this one included)."""
        key = lock_key(name) & 0xFFFFFFFFFFFFFFFF
        return self.query_one(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = ? AND objid::bigint = ?",
            (key >> 32, key & 0xFFFFFFFF)) is not None

    # ------------------------------------------------------------------ dialect
    def json_text(self, column: str, *path: str | int) -> str:
        parts = []
        for part in path:
            if isinstance(part, int) or _PATH_PART.match(part):
                parts.append(str(part))
            else:
                raise ValueError(f"not a JSON path part: {part!r}")
        # jsonb, not text: numbers come back as numbers, as SQLite's json_extract gives them
        return f"(({column})::jsonb #> '{{{','.join(parts)}}}')"

    def skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def table_exists(self, name: str) -> bool:
        row = self.query_one("SELECT to_regclass(?) IS NOT NULL", (name,))
        return bool(row and row[0])

    def statements(self, script: str) -> list[str]:
        """``;``-separated statements; quotes and ``--`` comments are respected."""
        out, current, quote, comment = [], [], "", False
        for char in script:
            current.append(char)
            if comment:
                comment = char != "\n"
            elif quote:
                quote = "" if char == quote else quote
            elif char in ("'", '"'):
                quote = char
            elif char == "-" and len(current) > 1 and current[-2] == "-":
                comment = True
            elif char == ";":
                text = "".join(current)
                if _sql_text(text):
                    out.append(text.strip())
                current = []
        rest = "".join(current)
        if _sql_text(rest):
            raise CatalogError(f"unterminated SQL statement in a migration: {rest[:80]!r}")
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.putconn(self.conn)  # rolled back if needed, discarded if broken
        else:
            self.conn.close()


def _connection_options(application: str) -> dict[str, Any]:
    return {"autocommit": True, "row_factory": row_factory, "application_name": application,
            "connect_timeout": 15, **KEEPALIVES}


def _read_only(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET default_transaction_read_only = on")


def _read_pool(url: str) -> ConnectionPool:
    """This process's pool of read-only connections to ``url`` (a forked process makes
    its own: connections are never shared across a fork)."""
    key = (os.getpid(), url)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(url, min_size=1, max_size=READ_POOL_SIZE, open=False,
                                  kwargs=_connection_options("agora-read"),
                                  configure=_read_only, check=ConnectionPool.check_connection,
                                  name="agora-read", timeout=15)
            try:
                pool.open(wait=True, timeout=15)
            except PoolTimeout:
                pool.close()
                # the pool hides why: one direct attempt says it
                try:
                    psycopg.connect(url, **_connection_options("agora-read")).close()
                except psycopg.Error as exc:
                    raise CatalogError(f"cannot connect to the catalog {redact(url)}: "
                                       f"{_first_line(exc)}") from None
                raise CatalogError(f"cannot connect to the catalog {redact(url)}") from None
            _pools[key] = pool
    return pool


@atexit.register
def close_pools() -> None:
    """Close this process's read-only pools (at exit; tests between servers)."""
    with _pools_lock:
        mine = [k for k in _pools if k[0] == os.getpid()]
        for key in mine:
            _pools.pop(key).close()


def _sql_text(chunk: str) -> str:
    """The chunk without comments and blanks (empty when it holds no statement)."""
    return "".join(line.split("--", 1)[0] for line in chunk.splitlines()).strip(" \t\n;")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", str(url))
