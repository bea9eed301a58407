"""Rate-limit counters in the catalog, shared by every web worker: a ``limits`` storage.

The web app limits requests per client with Flask-Limiter, which keeps its
counters in a storage of the ``limits`` library. ``CatalogStorage`` is that
storage on the catalog's ``rate_limits`` table (migration 4), so every gunicorn
worker of a machine (SQLite) or of every machine (PostgreSQL) spends from the
same budget without a server to run. ``RateLimitStore`` holds its SQL: atomic
upserts (``INSERT ... ON CONFLICT ... RETURNING``), written once for both engines.

It supports the fixed-window and sliding-window-counter strategies. Each worker
thread opens its own connection on first use, and a forked process opens new ones
(the app is built before gunicorn forks). A SQLite connection here waits at most
``BUSY_TIMEOUT_MS`` for the write lock: a build holding it longer makes the call
fail, and Flask-Limiter then falls back to per-process counters until the storage
answers again (the web never waits on a build). Expired rows are purged at most
once a minute per process. This connection writes ``rate_limits`` and nothing
else; the web app reads everything else through its read-only connection.

Example:
    >>> from catalog.migrate import migrate
    >>> from catalog.sqlite import SQLiteEngine
    >>> engine = SQLiteEngine.connect(":memory:")
    >>> _ = migrate(engine)
    >>> store = RateLimitStore(engine)
    >>> [store.hit("LIMITER/1.2.3.4/api", 1, expires_at=160.0, now=100.0) for _ in range(3)]
    [1, 2, 3]
    >>> store.hit("LIMITER/1.2.3.4/api", 1, expires_at=260.0, now=200.0)  # a new window
    1
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from limits.storage import Storage
from limits.storage.base import SlidingWindowCounterSupport, TimestampedSlidingWindow

from catalog.engine import Engine, marks
from catalog.errors import CatalogError
from catalog.migrate import check_current
from catalog.postgres import PostgresEngine, is_postgres_url
from catalog.sqlite import SQLiteEngine

log = logging.getLogger(__name__)

#: The ``limits`` storage scheme: ``storage_from_string("agora+catalog://", catalog=PATH)``.
SCHEME = "agora+catalog"
#: How long a request waits for the catalog's write lock before the limiter falls back.
BUSY_TIMEOUT_MS = 200
PURGE_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Counter:
    hits: int
    expires_at: float


class RateLimitStore:
    """The ``rate_limits`` table: one counter per key, valid until ``expires_at``."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def hit(self, key: str, amount: int, *, expires_at: float, now: float) -> int:
        """Add ``amount`` to the key's live counter (a new one, valid until ``expires_at``,
        when it has none or it expired); returns the count after."""
        rows = self.db.query(
            "INSERT INTO rate_limits(key, hits, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET "
            "hits = CASE WHEN rate_limits.expires_at <= ? THEN excluded.hits "
            "ELSE rate_limits.hits + excluded.hits END, "
            "expires_at = CASE WHEN rate_limits.expires_at <= ? THEN excluded.expires_at "
            "ELSE rate_limits.expires_at END "
            "RETURNING hits", (key, amount, expires_at, now, now))
        return int(rows[0][0])

    def take_back(self, key: str, amount: int) -> int:
        """Remove ``amount`` from the key's counter (never below 0); returns the count after."""
        rows = self.db.query(
            "UPDATE rate_limits SET hits = CASE WHEN hits > ? THEN hits - ? ELSE 0 END "
            "WHERE key = ? RETURNING hits", (amount, amount, key))
        return int(rows[0][0]) if rows else 0

    def counters(self, keys: Sequence[str], now: float) -> dict[str, Counter]:
        """The live counters among ``keys`` (expired ones are absent)."""
        if not keys:
            return {}
        rows = self.db.query(
            f"SELECT key, hits, expires_at FROM rate_limits WHERE key IN ({marks(len(keys))}) "
            "AND expires_at > ?", (*keys, now))
        return {r[0]: Counter(int(r[1]), float(r[2])) for r in rows}

    def clear(self, keys: Sequence[str]) -> None:
        if keys:
            self.db.execute(f"DELETE FROM rate_limits WHERE key IN ({marks(len(keys))})",
                            tuple(keys))

    def clear_all(self) -> int:
        return int(self.db.execute("DELETE FROM rate_limits").rowcount or 0)

    def purge_expired(self, now: float) -> int:
        """Delete the counters that expired; returns how many."""
        return int(self.db.execute("DELETE FROM rate_limits WHERE expires_at <= ?",
                                   (now,)).rowcount or 0)


def open_rate_limits(location: str) -> RateLimitStore:
    """A connection for the counters only, to the catalog at ``location`` (a file path
    or a ``postgresql://`` URL).

    It never migrates: the catalog must be at this code's schema (a writing command
    such as ``agora build`` brings it there).

    Raises:
        CatalogError: the catalog cannot be opened for writing.
        SchemaTooOld: the catalog lacks the ``rate_limits`` table yet.
    """
    engine: Engine
    if is_postgres_url(location):
        engine = PostgresEngine.connect(location, application="agora-rate-limits")
        engine.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        return _checked(engine)
    try:
        engine = SQLiteEngine.connect(location)
        engine.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot open the catalog {location} for rate limits: {exc}") from exc
    return _checked(engine)


def _checked(engine: Engine) -> RateLimitStore:
    try:
        check_current(engine)
    except BaseException:
        engine.close()
        raise
    return RateLimitStore(engine)


class CatalogStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """A ``limits`` storage on the catalog (see the module docstring).

    Args:
        uri: ``agora+catalog://`` (the scheme selects this class).
        catalog: where the catalog is (a file path).
        connect: opens a ``RateLimitStore`` from ``catalog`` (default ``open_rate_limits``).
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *,
                 catalog: str = "", connect: Callable[[str], RateLimitStore] | None = None,
                 **options: float | str | bool) -> None:
        if not catalog:
            raise CatalogError("the catalog rate-limit storage needs the catalog's location")
        self.location = str(catalog)
        self.connect = connect or open_rate_limits
        self._local = threading.local()
        self._opened: list[tuple[int, RateLimitStore]] = []
        self._lock = threading.Lock()
        self._purged_at = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (CatalogError, sqlite3.Error, OSError)

    # ------------------------------------------------------------------ connections
    def _store(self) -> RateLimitStore:
        pid = os.getpid()
        store: RateLimitStore | None = getattr(self._local, "store", None)
        if store is None or getattr(self._local, "pid", None) != pid:
            store = self.connect(self.location)
            self._local.store, self._local.pid = store, pid
            with self._lock:
                self._opened.append((pid, store))
        now = time.time()
        if now - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = now
            purged = store.purge_expired(now)
            if purged:
                log.debug("purged %d expired rate-limit counters", purged)
        return store

    def close(self) -> None:
        """Close this process's connections (tests; a worker's exit closes them anyway)."""
        pid = os.getpid()
        with self._lock:
            mine = [s for p, s in self._opened if p == pid]
            self._opened = [(p, s) for p, s in self._opened if p != pid]
        for store in mine:
            store.db.close()
        self._local = threading.local()

    # ------------------------------------------------------------------ fixed window
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        return self._store().hit(key, amount, expires_at=now + expiry, now=now)

    def get(self, key: str) -> int:
        counter = self._store().counters([key], time.time()).get(key)
        return counter.hits if counter else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        counter = self._store().counters([key], now).get(key)
        return counter.expires_at if counter else now

    def check(self) -> bool:
        """Whether the counters can be written now (purging the expired ones is the probe)."""
        try:
            self._store().purge_expired(time.time())
        except Exception as exc:
            log.info("rate-limit storage still unavailable: %s", exc)
            return False
        return True

    def reset(self) -> int | None:
        return self._store().clear_all()

    def clear(self, key: str) -> None:
        self._store().clear([key])

    # ------------------------------------------------------------------ sliding window
    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int,
                                     amount: int = 1) -> bool:
        """Spend ``amount`` if the weighted count of this window and the last allows it.

        Optimistic, as ``limits``' own storages: read, add, and take back the hit when
        another worker's landed first.
        """
        if amount > limit:
            return False
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        store = self._store()
        previous, previous_ttl, current, _ = self._window(store, previous_key, current_key,
                                                          expiry, now)
        if math.floor(previous * previous_ttl / expiry + current) + amount > limit:
            return False
        # a new current window lives two periods: it is the previous one for the next
        current = store.hit(current_key, amount, expires_at=now + 2 * expiry, now=now)
        if math.floor(previous * previous_ttl / expiry + current) > limit:
            store.take_back(current_key, amount)
            return False
        return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        return self._window(self._store(), previous_key, current_key, expiry, now)

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self._store().clear(self.sliding_window_keys(key, expiry, time.time()))

    @staticmethod
    def _window(store: RateLimitStore, previous_key: str, current_key: str, expiry: int,
                now: float) -> tuple[int, float, int, float]:
        """(previous count, its remaining weight in seconds, current count, current ttl)."""
        found = store.counters([previous_key, current_key], now)
        previous = found[previous_key].hits if previous_key in found else 0
        current = found[current_key].hits if current_key in found else 0
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl
