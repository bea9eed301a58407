"""The PostgreSQL test server starts, isolates each test's database, and is real."""

from __future__ import annotations

import psycopg
import pytest

from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.postgres


def test_each_test_gets_an_empty_database_of_its_own(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_schema = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE probe (id integer PRIMARY KEY)")
        conn.execute("INSERT INTO probe VALUES (1)")


def test_a_database_is_dropped_after_its_test(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    name = url.rsplit("/", 1)[1]
    postgres_server.drop_database(url)
    with psycopg.connect(postgres_server.url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is None


def test_the_server_is_a_real_postgresql_with_skip_locked(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 120000
        conn.execute("CREATE TABLE jobs (id integer PRIMARY KEY, taken boolean DEFAULT false)")
        conn.execute("INSERT INTO jobs (id) VALUES (1), (2)")
    with psycopg.connect(postgres_url) as first, psycopg.connect(postgres_url) as second:
        a = first.execute("SELECT id FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1")
        b = second.execute("SELECT id FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1")
        assert (a.fetchone(), b.fetchone()) == ((1,), (2,))
