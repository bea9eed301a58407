"""The rate-limit counters in the catalog (``catalog.ratelimit``), on SQLite and PostgreSQL.

The SQL is written once for both engines; ``open_rate_limits`` opens either from
the catalog's location, as the web app does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from catalog.errors import SchemaTooOld
from catalog.ratelimit import SCHEME, CatalogStorage, RateLimitStore, open_rate_limits
from catalog.sqlite import SQLiteEngine
from catalog.store import Catalog

STRATEGIES = [FixedWindowRateLimiter, SlidingWindowCounterRateLimiter]


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    return path


@pytest.fixture
def sqlite_connect(catalog_path: Path) -> Callable[[str], RateLimitStore]:
    return open_rate_limits


@pytest.fixture
def postgresql_connect(postgres_url: str) -> Callable[[str], RateLimitStore]:
    Catalog.open(postgres_url).close()  # migrated by a writer, as `agora build` does
    return lambda _location: open_rate_limits(postgres_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, catalog_path: Path) -> Iterator[CatalogStorage]:
    connect = request.getfixturevalue(f"{request.param}_connect")
    store = storage_from_string(f"{SCHEME}://", catalog=str(catalog_path), connect=connect)
    assert isinstance(store, CatalogStorage)
    yield store
    store.close()


def test_counters_upsert_expire_and_are_purged(catalog_path: Path) -> None:
    store = open_rate_limits(str(catalog_path))
    assert [store.hit("k", 2, expires_at=160.0, now=100.0) for _ in range(2)] == [2, 4]
    assert store.counters(["k", "other"], now=150.0)["k"].hits == 4
    assert store.counters(["k"], now=160.0) == {}  # expired at 160
    assert store.take_back("k", 3) == 1 and store.take_back("k", 5) == 0
    assert store.hit("k", 1, expires_at=300.0, now=200.0) == 1  # a new window starts over
    assert store.counters(["k"], now=250.0)["k"].expires_at == 300.0
    store.hit("old", 1, expires_at=10.0, now=5.0)
    assert store.purge_expired(now=100.0) == 1 and store.counters(["k"], now=250.0)
    store.db.close()


def test_the_connection_never_migrates(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    engine = SQLiteEngine.connect(path)
    engine.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, "
                   "applied_at TEXT)")
    engine.execute("INSERT INTO schema_version VALUES (1, 'initial', 'now')")
    engine.close()
    with pytest.raises(SchemaTooOld):
        open_rate_limits(str(path))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_limits_strategies_on_the_catalog(storage: CatalogStorage,
                                          strategy: type[RateLimiter]) -> None:
    limiter = strategy(storage)
    item = parse("5/day")
    assert [limiter.hit(item, "1.2.3.4", "api") for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.hit(item, "5.6.7.8", "api")  # another client
    assert limiter.hit(item, "1.2.3.4", "pages")  # another route class
    stats = limiter.get_window_stats(item, "1.2.3.4", "api")
    assert stats.remaining == 0 and stats.reset_time > 0
    assert not limiter.test(item, "1.2.3.4", "api") and limiter.test(item, "9.9.9.9", "api")
    limiter.clear(item, "1.2.3.4", "api")
    assert limiter.hit(item, "1.2.3.4", "api")
    assert storage.check()
    assert (storage.reset() or 0) >= 3


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_threads_with_their_own_connections_share_one_budget(
        storage: CatalogStorage, strategy: type[RateLimiter]) -> None:
    limiter = strategy(storage)
    item = parse("40/day")
    allowed: list[bool] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(15):
            ok = limiter.hit(item, "10.0.0.1", "api")
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 90 and allowed.count(True) == 40
    assert len(storage._opened) == 6  # one connection per thread


def test_a_locked_catalog_fails_fast(catalog_path: Path) -> None:
    """A build holding the write lock makes the call fail within the short busy timeout
    (Flask-Limiter then falls back to its in-process counters) instead of waiting."""
    storage = CatalogStorage(f"{SCHEME}://", catalog=str(catalog_path))
    holder = SQLiteEngine.connect(catalog_path)
    with holder.transaction():
        holder.execute("INSERT INTO meta(key, value) VALUES ('busy', '1')")
        with pytest.raises(Exception, match="locked"):
            storage.incr("k", 60)
        assert not storage.check()
    assert storage.check() and storage.incr("k", 60) == 1
    holder.close()
    storage.close()


def test_the_storage_needs_a_catalog() -> None:
    with pytest.raises(Exception, match="catalog"):
        storage_from_string(f"{SCHEME}://")
