"""Numbered migrations on both engines: a new catalog, a catalog made before migrations, a
read-only reader, and the two engines' schemas kept equivalent."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from catalog.errors import CatalogError, SchemaTooOld
from catalog.migrate import current_version, latest_version, migrate, migrations
from catalog.postgres import PostgresEngine
from catalog.sqlite import SQLiteEngine
from catalog.store import Catalog
from tests.conftest import ENGINE_PARAMS

BEFORE = Path(__file__).parent / "data" / "catalog_before_migrations.sql"


def test_migrations_are_numbered_and_cut_into_statements() -> None:
    found = migrations("sqlite")
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "initial" and latest_version("sqlite") == len(found) >= 2
    engine = SQLiteEngine.connect(":memory:")
    statements = engine.statements(found[0].sql)
    code = ["\n".join(line for line in s.splitlines() if not line.startswith("--")).strip()
            for s in statements]
    assert all(c.startswith(("CREATE", "DROP")) and c.endswith(";") for c in code)
    assert len(statements) == len(re.findall(r"^(?:CREATE|DROP) ", found[0].sql, re.M))
    with pytest.raises(CatalogError, match="unterminated"):
        engine.statements("CREATE TABLE t (x INTEGER);\nCREATE TABLE u (y")


def test_both_engines_have_the_same_migrations() -> None:
    assert [(m.version, m.name) for m in migrations("sqlite")] == [
        (m.version, m.name) for m in migrations("postgresql")]
    engine = PostgresEngine.__new__(PostgresEngine)  # statements() needs no connection
    for migration in migrations("postgresql"):
        assert all(s.rstrip().endswith(";") for s in engine.statements(migration.sql))


def _empty_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return str(tmp_path / "catalog.sqlite")
    return str(request.getfixturevalue("postgres_url"))  # a new database: nothing migrated


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_new_catalog_is_at_the_latest_version_and_migrating_again_does_nothing(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    location = _empty_location(engine, tmp_path, request)
    with Catalog.open(location) as catalog:
        assert catalog.engine == engine
        assert current_version(catalog.db) == latest_version(engine)
        assert migrate(catalog.db) == []
        assert catalog.registered_sources() == []
    with Catalog.open(location) as catalog:  # reopening applies nothing
        rows = catalog.db.query("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, latest_version(engine) + 1))


def _sqlite_schema(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    schema: dict[str, Any] = {}
    for table in tables:
        columns = {}
        for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})"):
            kind = {"INTEGER": "integer", "TEXT": "text", "REAL": "real"}[kind.upper()]
            columns[name] = (kind, bool(notnull or pk), bool(pk))  # a key is never null
        indexes = {r[1] for r in conn.execute(f"PRAGMA index_list({table})")
                   if not r[1].startswith("sqlite_autoindex")}
        schema[table] = (columns, indexes)
    conn.close()
    return schema


def _postgres_schema(url: str) -> dict[str, Any]:
    kinds = {"bigint": "integer", "integer": "integer", "text": "text",
             "double precision": "real"}
    schema: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        keys = {(t, c) for t, c in conn.execute(
            "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k USING (constraint_name, table_name) "
            "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public'")}
        for table, name, kind, nullable in conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM "
                "information_schema.columns WHERE table_schema = 'public'"):
            columns = schema.setdefault(table, ({}, set()))[0]
            columns[name] = (kinds[kind], nullable == "NO", (table, name) in keys)
        for table, index in conn.execute("SELECT tablename, indexname FROM pg_indexes "
                                         "WHERE schemaname = 'public'"):
            if not index.endswith("_pkey"):
                schema[table][1].add(index)
    return schema


@pytest.mark.postgres
def test_both_engines_end_with_the_same_tables_columns_and_indexes(
        tmp_path: Path, postgres_url: str) -> None:
    path = str(tmp_path / "catalog.sqlite")
    Catalog.open(path).close()
    Catalog.open(postgres_url).close()
    sqlite_schema, postgres_schema = _sqlite_schema(path), _postgres_schema(postgres_url)
    assert "crawl_jobs" in sqlite_schema and "workers" in sqlite_schema
    for table in sorted(set(sqlite_schema) | set(postgres_schema)):
        # (type, NOT NULL, primary key) of every column; then the indexes' names
        assert sqlite_schema.get(table) == postgres_schema.get(table), table


def test_a_catalog_made_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE.read_text(encoding="utf-8"))
    conn.execute("INSERT INTO runs(source, status, started_at, stats) "
                 "VALUES ('clickandco', 'complete', '2025-01-01T00:00:00+00:00', '{}')")
    conn.execute("INSERT INTO listings(source, source_id, kind, data, content_hash, first_seen, "
                 "last_seen, changed_at) VALUES ('clickandco', 's1', 'shop', "
                 "'{\"kind\": \"shop\", \"source\": \"clickandco\", \"source_id\": \"s1\"}', "
                 "'h', 't', 't', 't')")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooOld) as raised:  # a reader cannot upgrade it
        Catalog.open_read_only(path)
    assert (raised.value.current, raised.value.latest) == (0, latest_version("sqlite"))
    with Catalog.open(path) as catalog:
        assert current_version(catalog.db) == latest_version("sqlite")
        assert catalog.get_run(1).source == "clickandco"
        assert catalog.listing("clickandco", "s1") == {"kind": "shop", "source": "clickandco",
                                                       "source_id": "s1"}
        assert catalog.registered_sources() == []  # the table migration 2 adds
    with Catalog.open_read_only(path) as reader:
        assert reader.count_listings() == 1 and reader.read_only


def test_a_read_only_catalog_never_writes(catalog_location: str, tmp_path: Path) -> None:
    Catalog.open(catalog_location).close()
    with Catalog.open_read_only(catalog_location) as reader:
        assert reader.count_listings() == 0 and reader.read_only
        with pytest.raises((sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction),
                           match="readonly|read-only|query_only"):
            reader.set_meta("x", "1")
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.open_read_only(tmp_path / "missing" / "catalog.sqlite")


@pytest.mark.postgres
def test_a_postgresql_catalog_not_migrated_yet_is_refused_to_readers(postgres_url: str) -> None:
    with pytest.raises(SchemaTooOld) as raised:
        Catalog.open_read_only(postgres_url)
    assert raised.value.current == 0
    with pytest.raises(CatalogError, match=r"cannot connect .*\*\*\*@") as refused:
        Catalog.open(postgres_url.replace("://agora@", "://agora:s3cret@").rsplit(":", 1)[0]
                     + ":9/nowhere")
    assert "s3cret" not in str(refused.value)


def test_a_location_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="postgresql:// URL, not mysql://"):
        Catalog.open("mysql://user:pw@db/agora")
