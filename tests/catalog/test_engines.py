"""What each engine promises the stores: statements written once, rows by name, bulk loads
that keep the last row of a key, transactions that join and roll back, locks that die with
their connection, and the same order of text on both."""

from __future__ import annotations

import time

import psycopg
import pytest

from catalog.postgres import PostgresEngine, lock_key, to_pyformat
from catalog.store import Catalog
from tests.conftest import empty_postgres_catalog
from tests.postgres_server import PostgresServer


def eventually(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """The server frees a closed connection's locks when its backend exits: soon, not at once."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_placeholders_become_pyformat_outside_quoted_text() -> None:
    assert to_pyformat("SELECT ? WHERE a = '?' AND b = \"x?\" AND c LIKE 'a%'") == (
        "SELECT %s WHERE a = '?' AND b = \"x?\" AND c LIKE 'a%%'")
    assert to_pyformat("SELECT 10 % ?") == "SELECT 10 %% %s"
    assert lock_key("crawl:a") != lock_key("crawl:b")
    assert -2**63 <= lock_key("crawl:a") < 2**63


def test_migration_scripts_are_cut_at_semicolons_outside_quotes_and_comments() -> None:
    engine = PostgresEngine.__new__(PostgresEngine)
    script = ("-- a comment; not a statement\nCREATE TABLE t (x TEXT DEFAULT ';');\n"
              "CREATE INDEX i ON t (x); -- trailing; comment\n")
    assert engine.statements(script) == [
        "-- a comment; not a statement\nCREATE TABLE t (x TEXT DEFAULT ';');",
        "CREATE INDEX i ON t (x);"]
    with pytest.raises(Exception, match="unterminated"):
        engine.statements("CREATE TABLE t (x TEXT);\nCREATE TABLE u (y")


def test_bulk_loads_keep_the_last_row_of_a_key(catalog_location: str) -> None:
    with Catalog.open(catalog_location) as cat:
        db = cat.db
        many = [("k", str(i), f"v{i}") for i in range(300)]  # past the COPY threshold
        with db.transaction():
            db.upsert_rows("match_state", ("key", "value"), ("key",),
                           [(f"{k}{i}", v) for k, i, v in many] + [("k7", "last")])
            db.upsert_rows("match_state", ("key", "value"), ("key",), [("k8", "again")])
        assert db.query_one("SELECT value FROM match_state WHERE key = ?", ("k7",))[0] == "last"
        assert db.query_one("SELECT value FROM match_state WHERE key = 'k8'")["value"] == "again"
        assert db.query_one("SELECT count(*) FROM match_state")[0] == 300
        assert db.copy_rows("block_keys", ("block", "source", "source_id"),
                            [("b", "s", str(i)) for i in range(250)]) == 250
        row = db.query_one("SELECT block, source FROM block_keys LIMIT 1")
        assert (row[0], row["source"], dict(row)) == ("b", "s", {"block": "b", "source": "s"})


def test_nested_transactions_join_and_roll_back_together(catalog_location: str) -> None:
    with Catalog.open(catalog_location) as cat:
        with pytest.raises(RuntimeError), cat.transaction():
            cat.set_meta("a", "1")
            with cat.transaction():
                cat.set_meta("b", "2")
            raise RuntimeError("undo both")
        assert (cat.get_meta("a"), cat.get_meta("b")) == (None, None)
        cat.set_meta("c", "3")  # outside a transaction, a statement commits alone
    with Catalog.open(catalog_location) as again:
        assert again.get_meta("c") == "3"


def test_text_is_ordered_bytewise_on_both_engines(catalog_location: str) -> None:
    with Catalog.open(catalog_location) as cat:
        run = cat.begin_run("s")
        cat.write_page(run, [{"kind": "shop", "source": "s", "source_id": i}
                             for i in ("b", "B", "a", "é", "e", "Z", "10", "9")])
        assert [x["source_id"] for x in cat.listings()] == [
            "10", "9", "B", "Z", "a", "b", "e", "é"]


@pytest.mark.postgres
def test_the_order_holds_in_a_database_with_a_french_collation(
        postgres_server: PostgresServer) -> None:
    name = "agora_test_fr_collation"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                     "LOCALE_PROVIDER icu ICU_LOCALE 'fr-FR' LOCALE 'C'")
    postgres_server.databases.append(name)
    url = postgres_server.database_url(name)
    try:
        with Catalog.open(url) as cat:
            run = cat.begin_run("s")
            cat.write_page(run, [{"kind": "shop", "source": "s", "source_id": i}
                                 for i in ("b", "B", "a", "é", "e", "Z")])
            assert [x["source_id"] for x in cat.listings()] == ["B", "Z", "a", "b", "e", "é"]
    finally:
        postgres_server.drop_database(name)


@pytest.mark.postgres
def test_a_session_lock_dies_with_its_connection(shared_postgres_catalog: str) -> None:
    url = empty_postgres_catalog(shared_postgres_catalog)
    holder, other = Catalog.open(url), Catalog.open(url)
    try:
        assert holder.acquire_lock("crawl:x", "job-1") is None
        assert holder.acquire_lock("crawl:x", "job-1") is None  # the same owner again
        assert holder.acquire_lock("crawl:x", "job-2")["owner"] == "job-1"  # one owner a time
        assert other.acquire_lock("crawl:x", "job-3")["owner"] == "job-1"
        assert other.lock_is_held("crawl:x") and other.lock_holder("crawl:x") is not None
        other.release_lock("crawl:x", "job-1")  # not its connection's: nothing happens
        assert holder.refresh_lock("crawl:x", "job-1") and other.lock_is_held("crawl:x")
        holder.close()  # the process died: its connection went with it
        assert eventually(lambda: not other.lock_is_held("crawl:x"))
        assert other.lock_holder("crawl:x") is None
        assert other.acquire_lock("crawl:x", "job-3") is None
        other.release_lock("crawl:x", "job-3")
        assert not other.lock_is_held("crawl:x")
    finally:
        other.close()
