"""What the catalog's stores ask of a database engine, and the helpers they share.

Every SQL statement on catalog tables lives in ``catalog/``, written once for
every engine: ``?`` placeholders, ``ON CONFLICT`` upserts, ``RETURNING``, row
values (``(a, b) IN (VALUES (?, ?), ...)``). What cannot be written once goes
through the ``Engine``: opening and locking, transactions, JSON paths, splitting
a migration into statements. ``catalog.sqlite.SQLiteEngine`` is the embedded
default; a server engine is one more module implementing this protocol, plus
its migrations (``catalog/migrations/<engine>/``).

Example:
    >>> list(chunks(["a", "b", "c"], 2))
    [['a', 'b'], ['c']]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# Rows per statement when a list of keys becomes an IN (...) clause.
CHUNK = 400


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


def pair_marks(count: int) -> str:
    """``(?, ?), (?, ?)`` for ``count`` pairs: ``(source, source_id) IN (VALUES ...)``."""
    return ", ".join(["(?, ?)"] * count)


def split_key(key: str) -> tuple[str, str]:
    """``("clickandco", "shp_1")`` from the listing key ``clickandco:shp_1``."""
    source, _, source_id = key.partition(":")
    return source, source_id


class Engine(Protocol):
    """A connection to the catalog's database; one per thread or process.

    Rows come back as sequences that also answer ``row["column"]``.
    """

    name: str  # "sqlite"; the folder of its migrations

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the result iterates over rows and has ``rowcount``."""

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any | None: ...

    def insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the id."""

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction; nested ones join the outermost."""

    def retrying(self, work: Callable[[], T]) -> T:
        """Run a write, waiting out another process's lock a few times before giving up."""

    def json_text(self, column: str, *path: str | int) -> str:
        """An SQL expression for the text at ``path`` in a JSON column."""

    def table_exists(self, name: str) -> bool: ...

    def statements(self, script: str) -> list[str]:
        """A migration script cut into statements."""

    def close(self) -> None: ...
