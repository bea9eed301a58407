"""The catalog owns its schema: no SQL on catalog tables, and no catalog connection, outside
``catalog/``.

Every string literal of the other packages is read (``ast``): one that reads or
writes a catalog table (``FROM entities``, ``INSERT INTO runs``...; the tables
are those the migrations create) is a statement that belongs in ``catalog/``,
however it is executed. So is any use of an attribute named ``conn`` (the
catalog's SQLite connection). ``PENDING`` lists the few left in files that
another part of the work owns, with their exact count: fixing one makes this
test fail until its entry goes.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agora", "crawlers", "dedup", "normalizer", "replicas", "search_ui", "benchmarks",
            "tools")
MIGRATIONS = ROOT / "catalog" / "migrations"

# (file, what) -> how many; each to move behind a catalog function when its owner merges
PENDING: dict[tuple[str, str], int] = {
    # `agora index`: catalog.entities.latest_build_id() is the catalog function for it
    ("agora/commands/search.py", "sql"): 1,
    ("agora/commands/search.py", "conn"): 1,
    # benchmarks/search.py counts entities per kind: catalog.entities.counts()
    ("benchmarks/search.py", "sql"): 1,
    ("benchmarks/search.py", "conn"): 1,
    # benchmarks/load.py samples query words from entities (ORDER BY random())
    ("benchmarks/load.py", "sql"): 2,
}


def catalog_tables() -> set[str]:
    tables = set()
    for path in MIGRATIONS.rglob("*.sql"):
        tables |= set(re.findall(r"CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                                 r"(\w+)", path.read_text(encoding="utf-8"), re.I))
    return tables


def sql_pattern(tables: set[str]) -> re.Pattern[str]:
    names = "|".join(sorted(tables))
    # SQL here is upper case: "FROM entities" is a statement, "into entities" is prose
    return re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(?:{names})\b")


def violations(source: str, pattern: re.Pattern[str]) -> Counter[str]:
    """'sql' per string literal touching a catalog table, 'conn' per ``.conn`` attribute."""
    found: Counter[str] = Counter()
    nodes = list(ast.walk(ast.parse(source)))
    parts = {id(v) for n in nodes if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in nodes:
        if id(node) in parts:  # read with its f-string
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if pattern.search(node.value):
                found["sql"] += 1
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values
                           if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if pattern.search(text):
                found["sql"] += 1
        elif isinstance(node, ast.Attribute) and node.attr == "conn":
            found["conn"] += 1
    return found


def test_the_check_finds_sql_and_connections() -> None:
    pattern = sql_pattern(catalog_tables())
    assert {"runs", "listings", "entities", "entity_members", "review_decisions",
            "sources", "schedule_state", "locks"} <= catalog_tables()
    source = ('cat.conn.execute("SELECT data FROM entities WHERE x = ?")\n'
              'db.execute(f"DELETE FROM review_pairs WHERE a IN ({marks})")\n'
              'print("the listings FROM tout_toulouse")\n'
              'x = "UPDATE  schedule_state SET a = 1"\n'
              '"""Link clean listings into entities."""\n')
    assert violations(source, pattern) == Counter({"sql": 3, "conn": 1})


def _files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("what", ["sql", "conn"])
def test_no_sql_on_catalog_tables_outside_the_catalog(what: str) -> None:
    pattern = sql_pattern(catalog_tables())
    found = {}
    for path in _files():
        count = violations(path.read_text(encoding="utf-8"), pattern)[what]
        if count:
            found[(str(path.relative_to(ROOT)), what)] = count
    pending = {k: v for k, v in PENDING.items() if k[1] == what}
    assert found == pending, (
        "SQL on catalog tables (or the catalog's connection) outside catalog/: put it "
        "behind a catalog function" if set(found) - set(pending) else
        "a pending entry is fixed or changed: update PENDING")
