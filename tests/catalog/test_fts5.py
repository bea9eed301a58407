"""The FTS5 engine's own guarantees: tables swapped and dropped safely, FTS5 syntax
never reaching MATCH, a failed indexing leaving the live index alone, threads."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from catalog.backends import BackendSettings, french, open_backend
from catalog.backends.base import SearchQuery
from catalog.backends.fts5 import Fts5Backend, match_expression, tables
from catalog.backends.plan import plan_query
from tests.catalog.conftest import sample_documents


def search_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'search_%' AND type = 'table'")}


def test_old_tables_are_dropped_after_the_swap(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    backend = Fts5Backend(path)
    backend.index_build(sample_documents(), 1)
    backend.index_build(sample_documents(), 2)
    names = search_tables(path)
    assert not {n for n in names if re.search(r"_1(_|$)", n)}
    assert tables(2)["docs"] in names and tables(2)["fts"] in names
    assert backend.status()["build_id"] == 2
    with sqlite3.connect(path) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM search_index_builds"))
    assert statuses == {1: "dropped", 2: "active"}


def test_a_search_under_way_survives_the_swap_and_the_drop(tmp_path: Path,
                                                            monkeypatch: Any) -> None:
    """Reader and writer on two connections: the reader's snapshot keeps the old tables."""
    path = tmp_path / "catalog.sqlite"
    writer = Fts5Backend(path)
    docs = sample_documents()
    writer.index_build(docs, 1)
    reader = Fts5Backend(path)
    started, release = threading.Event(), threading.Event()
    original = Fts5Backend._vocabulary

    def slow_vocabulary(self: Fts5Backend, conn: sqlite3.Connection, n: int) -> Any:
        started.set()  # the reader has read which tables are live, and waits there
        assert release.wait(30)
        return original(self, conn, n)

    monkeypatch.setattr(Fts5Backend, "_vocabulary", slow_vocabulary)
    out: dict[str, Any] = {}

    def search() -> None:
        try:
            out["res"] = reader.search(SearchQuery(text="fromagerie", kinds=("shop",)))
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=search)
    thread.start()
    assert started.wait(30)
    monkeypatch.setattr(Fts5Backend, "_vocabulary", original)
    renamed = [dict(d, name=d["name"] + " Nouveau") for d in docs if d["kind"] == "shop"]
    writer.index_build(renamed, 2)  # swaps in build 2 and drops build 1's tables
    assert tables(1)["fts"] not in search_tables(path)
    release.set()
    thread.join(30)
    assert "error" not in out, out.get("error")
    assert {h.entity_id for h in out["res"].hits} >= {"shop-andre", "shop-carmes"}
    assert all("Nouveau" not in h.name for h in out["res"].hits)  # the old build's answer
    after = reader.search(SearchQuery(text="fromagerie", kinds=("shop",)))
    assert all(h.name.endswith("Nouveau") for h in after.hits)
    reader.close()
    writer.close()


def test_a_failed_indexing_leaves_the_live_index_alone(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    backend = Fts5Backend(path)
    backend.index_build(sample_documents(), 1)

    def broken() -> Any:
        yield from sample_documents()[:3]
        raise RuntimeError("the catalog went away")

    with pytest.raises(RuntimeError):
        backend.index_build(broken(), 2)
    assert backend.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2
    assert not {n for n in search_tables(path) if n.endswith("_2")}
    backend.index_build(sample_documents(), 3)  # and the next one cleans up after it
    assert backend.status()["build_id"] == 3


@pytest.mark.parametrize("text", ['NEAR(a b) OR "x"*', "fromagerie*", "a:b AND NOT c",
                                  "^fromagerie", '"""', "col : fromagerie + - ( )"])
def test_match_expressions_hold_quoted_terms_only(text: str) -> None:
    vocab = french.Vocabulary.from_rows([("fromagerie", "fromager", 3), ("andre", "andre", 1)])
    plan = plan_query(text, vocab)
    if plan is None:
        assert not french.words(text)
        return
    term = r'"[a-z0-9]+"'
    group = rf"\({term}(?: OR {term})*\)"
    for groups, operator in plan.attempts:
        expression = match_expression(groups, operator)
        assert re.fullmatch(rf"{group}(?: (?:AND|OR) {group})*", expression), expression


def test_quoting_doubles_quotes() -> None:
    assert match_expression([{'a"b'}], "AND") == '("a""b")'


def test_threads_search_at_once(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path / "catalog.sqlite")
    backend.index_build(sample_documents(), 1)
    texts = ("fromagerie", "gaillac albi", "chaussure", "")

    def ask(text: str) -> list[str]:
        res = backend.search(SearchQuery(text=text, near=(43.6, 1.44), sort="distance"))
        return [h.entity_id for h in res.hits]

    expected = {text: ask(text) for text in texts}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for text in texts * 10:
                assert ask(text) == expected[text]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    backend.close()


def test_open_backend_gives_fts5_when_asked(tmp_path: Path) -> None:
    backend = open_backend(tmp_path / "catalog.sqlite", BackendSettings(embedded="fts5"))
    assert isinstance(backend, Fts5Backend) and backend.name == "fts5"
    backend.index_build(sample_documents(), 1)
    assert backend.search(SearchQuery(text="andre")).hits[0].entity_id == "shop-andre"


def test_facets_past_the_budget_are_counted_on_a_sample(tmp_path: Path) -> None:
    base = sample_documents()
    docs = [dict(d, id=f"{d['id']}-{i}") for i in range(100) for d in base]
    backend = Fts5Backend(tmp_path / "catalog.sqlite", budget_ms=1.0)
    backend.index_build(docs, 1)
    q = SearchQuery(kinds=("shop", "product", "offer"), per_page=5)
    exact = backend.search(q)
    assert not exact.approximate
    backend.budget.learned, backend.budget.cost_ms = 10, 1.0  # a millisecond per match
    estimated = backend.search(q)
    assert estimated.approximate and estimated.total == exact.total == len(docs)
    assert [h.entity_id for h in estimated.hits] == [h.entity_id for h in exact.hits]
    shops = dict(exact.facets["kind"])["shop"]
    assert dict(estimated.facets["kind"])["shop"] == pytest.approx(shops, rel=0.5)
