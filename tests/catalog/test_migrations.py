"""Numbered migrations: a new catalog, a catalog made before migrations, a read-only reader."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from catalog.errors import CatalogError, SchemaTooOld
from catalog.migrate import current_version, latest_version, migrate, migrations
from catalog.sqlite import SQLiteEngine
from catalog.store import Catalog

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


def test_a_new_catalog_is_at_the_latest_version_and_migrating_again_does_nothing(
        tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        assert current_version(catalog.db) == latest_version("sqlite")
        assert migrate(catalog.db) == []
        assert catalog.registered_sources() == []
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:  # reopening applies nothing
        rows = catalog.db.query("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, latest_version("sqlite") + 1))


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


def test_a_read_only_catalog_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    with Catalog.open_read_only(path) as reader:
        with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
            reader.set_meta("x", "1")
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.open_read_only(tmp_path / "missing" / "catalog.sqlite")
