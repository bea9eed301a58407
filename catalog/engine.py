"""What the catalog's stores ask of a database engine, and the helpers they share.

Every SQL statement on catalog tables lives in ``catalog/``, written once for
every engine: ``?`` placeholders, ``ON CONFLICT`` upserts, ``RETURNING``, a list
of keys joined as a table (``pair_values``). What cannot be written once goes
through the ``Engine``: opening and locking, transactions, bulk loads, JSON
paths, row locks for a queue, splitting a migration into statements.
``catalog.sqlite.SQLiteEngine`` is the embedded default and
``catalog.postgres.PostgresEngine`` the server one; each has its migrations
(``catalog/migrations/<engine>/``), which end in the same tables and columns.

Example:
    >>> list(chunks(["a", "b", "c"], 2))
    [['a', 'b'], ['c']]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson

T = TypeVar("T")

# Rows per statement when a list of keys becomes an IN (...) clause.
CHUNK = 400


def decode_json(data: str | bytes) -> Any:
    """A stored JSON document (a listing, a clean listing, an entity record): read by
    orjson (several times faster than ``json``: builds read hundreds of thousands), by
    ``json`` when it holds what only ``json`` writes (NaN)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def utcnow() -> str:
    """Now, UTC ISO 8601 to the millisecond: how the catalog stores times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(count: int) -> str:
    """``?, ?, ?`` for ``count`` values."""
    return ", ".join("?" * count)


def pair_values(count: int) -> str:
    """``(VALUES (?, ?), (?, ?)) AS pairs``: ``count`` (source, source_id) pairs as a table,
    to join on ``pairs.column1`` and ``pairs.column2``.

    Joined, both engines look each pair up in the key's index; SQLite scans the
    whole table for ``(source, source_id) IN (VALUES ...)`` instead.
    """
    return f"(VALUES {', '.join(['(?, ?)'] * count)}) AS pairs"


def split_key(key: str) -> tuple[str, str]:
    """``("clickandco", "shp_1")`` from the listing key ``clickandco:shp_1``."""
    source, _, source_id = key.partition(":")
    return source, source_id


class Engine(Protocol):
    """A connection to the catalog's database; one per thread or process.

    Rows come back as sequences that also answer ``row["column"]``.
    """

    name: str  # "sqlite" | "postgresql"; the folder of its migrations
    # Whether the engine has locks that belong to a connection and die with it
    # (PostgreSQL's advisory locks); without them (SQLite) the lock table's holder,
    # pid and heartbeat decide.
    session_locks: bool

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the result iterates over rows and has ``rowcount``."""

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any | None: ...

    def insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the id."""

    def copy_rows(self, table: str, columns: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> int:
        """Append rows in bulk (PostgreSQL: ``COPY``); returns how many."""

    def upsert_rows(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Iterable[Sequence[Any]]) -> int:
        """Insert rows in bulk, replacing the other ``columns`` where ``key`` exists."""

    def transaction(self, lock: str | None = None) -> AbstractContextManager[None]:
        """One write transaction; nested ones join the outermost.

        ``lock``: a name that writers replacing a whole table hold until the end.
        """

    def retrying(self, work: Callable[[], T]) -> T:
        """Run a write, waiting out another process's lock a few times before giving up."""

    def json_text(self, column: str, *path: str | int) -> str:
        """An SQL expression for the value at ``path`` in a JSON column (a number comes
        back as a number, a string as a string, as SQLite's ``json_extract`` gives them)."""

    def skip_locked(self) -> str:
        """What ends a ``SELECT`` taking rows no other transaction holds (a queue)."""

    def try_session_lock(self, name: str) -> bool:
        """(``session_locks`` engines) take the named lock for this connection if free."""

    def release_session_lock(self, name: str) -> None: ...

    def session_lock_held(self, name: str) -> bool:
        """(``session_locks`` engines) whether any connection holds the named lock."""

    def table_exists(self, name: str) -> bool: ...

    def statements(self, script: str) -> list[str]:
        """A migration script cut into statements."""

    def close(self) -> None: ...
