"""The embedded (Tantivy) engine's own guarantees: one index folder per build switched in
atomically, older ones removed, a failed build leaving the live one alone, another
process's build seen, facet counts kept to the time budget, threads, the index stage
and the search commands."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from agora.commands.search import index_cmd, search_cmd
from catalog.backends import BackendSettings, open_backend
from catalog.backends.base import SearchQuery, haversine_km
from catalog.backends.budget import LEARN_FROM, FacetBudget, FacetCache
from catalog.backends.embedded import (
    EmbeddedBackend,
    FacetSets,
    _tantivy_document,
    cell_of,
    cells_of,
    stored_document,
)
from catalog.errors import BackendError
from catalog.indexing import index_stage
from catalog.store import Catalog
from tests.catalog.conftest import sample_documents, sample_records


def folders(backend: EmbeddedBackend) -> set[str]:
    assert backend.folder is not None
    return {p.name for p in backend.folder.glob("index-*")}


def test_each_build_is_a_folder_switched_in_and_older_ones_go(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
    assert backend.folder == tmp_path / "catalog.search"
    for build in (1, 2, 3):
        backend.index_build(sample_documents(), build)
    assert (backend.folder / "CURRENT").read_text().strip() == "3"
    assert folders(backend) == {"index-2", "index-3"}  # the live one and the one before
    status = backend.status()
    assert status["build_id"] == 3 and status["index"] == "index-3"
    assert status["documents"] == len(sample_documents())


def test_another_process_build_is_seen(tmp_path: Path) -> None:
    reader = EmbeddedBackend(tmp_path / "catalog.sqlite")
    assert reader.search(SearchQuery(text="fromagerie")).total == 0
    writer = EmbeddedBackend(tmp_path / "catalog.sqlite")
    writer.index_build(sample_documents(), 1)
    time.sleep(0.6)  # readers look at CURRENT at most twice a second
    assert reader.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2
    renamed = [dict(d, name=d["name"] + " Nouveau") for d in sample_documents()]
    writer.index_build(renamed, 2)
    time.sleep(0.6)
    hits = reader.search(SearchQuery(text="fromagerie", kinds=("shop",))).hits
    assert hits and all(h.name.endswith("Nouveau") for h in hits)


def test_a_failed_indexing_leaves_the_live_index_alone(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
    backend.index_build(sample_documents(), 1)

    def broken() -> Any:
        yield from sample_documents()[:3]
        raise RuntimeError("the catalog went away")

    with pytest.raises(RuntimeError):
        backend.index_build(broken(), 2)
    assert backend.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2
    assert folders(backend) == {"index-1"} and backend.status()["build_id"] == 1
    backend.index_build(sample_documents(), 3)
    assert backend.status()["build_id"] == 3


def test_a_product_sold_everywhere_is_stored_with_a_few_listings() -> None:
    listings = [{"source": f"p{i % 3}", "source_id": str(i), "url": None, "name": "x"}
                for i in range(100)]
    doc = {"id": "product-1", "sources": listings,
           "locations": [{"lat": 43.0 + i / 100, "lon": 1.4} for i in range(100)]}
    stored = stored_document(doc)
    assert len(stored["sources"]) == 20 and len(stored["locations"]) == 20
    assert {s["source"] for s in stored["sources"]} == {"p0", "p1", "p2"}
    assert stored_document(sample_documents()[0]) == sample_documents()[0]


def test_a_repeated_entity_is_indexed_once(tmp_path: Path) -> None:
    backend = EmbeddedBackend(":memory:")
    docs = sample_documents()
    report = backend.index_build(docs + docs[:2], 1)
    assert report.documents == len(docs)


def test_threads_search_at_once(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
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


def test_facets_past_the_budget_are_counted_on_a_sample(tmp_path: Path) -> None:
    """A large build, a budget no count fits in: the hits and total stay exact, the facet
    counts are estimates and say so."""
    base = sample_documents()
    docs = [dict(d, id=f"{d['id']}-{i}") for i in range(200) for d in base]
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite", budget_ms=1.0)
    backend.index_build(docs, 1)
    q = SearchQuery(kinds=("shop", "product", "offer"), per_page=5)
    for _ in range(6):  # the cost per match is learned from full counts first
        backend.budget.learned = 0
        exact = backend.search(q)
    assert not exact.approximate
    backend.budget.learned, backend.budget.cost_ms = 10, 1.0  # a millisecond per match
    backend.counts = FacetCache()  # the exact counts are not known yet
    estimated = backend.search(q)
    assert estimated.approximate and estimated.total == exact.total == len(docs)
    assert [h.entity_id for h in estimated.hits] == [h.entity_id for h in exact.hits]
    shops = dict(exact.facets["kind"])["shop"]
    assert dict(estimated.facets["kind"])["shop"] == pytest.approx(shops, rel=0.5)


def test_exact_counts_are_cached_per_index(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
    backend.index_build(sample_documents(), 1)
    first = backend.search(SearchQuery(text="fromagerie", per_page=2))
    second = backend.search(SearchQuery(text="fromageries", per_page=2, page=2,
                                        sort="price_asc"))  # the same terms and filters
    assert backend.counts.hits == 1 and second.facets == first.facets
    backend.search(SearchQuery(text="fromagerie", filters=(("platform", ("dansmazone",)),)))
    assert backend.counts.hits == 1  # other filters: counted
    backend.index_build(sample_documents()[:4], 2)  # a new index: counted again
    assert backend.search(SearchQuery(text="fromagerie", per_page=2)).facets != first.facets
    assert backend.counts.hits == 1


def test_an_answer_asked_again_is_the_kept_one_until_the_next_build(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
    backend.index_build(sample_documents(), 1)
    q = SearchQuery(text="fromagerie", per_page=2)
    first = backend.search(q)
    hits, misses = backend.counts.hits, backend.counts.misses
    again = backend.search(replace(q, text="fromagerie "))  # the same once normalised
    # one look-up found the kept answer: nothing planned, counted or searched again
    assert (backend.counts.hits, backend.counts.misses) == (hits + 1, misses)
    assert [(h.entity_id, h.score, h.highlights) for h in again.hits] == \
        [(h.entity_id, h.score, h.highlights) for h in first.hits]
    assert (again.total, again.facets, again.suggestion) == \
        (first.total, first.facets, first.suggestion)
    other = backend.search(replace(q, page=2))  # another page is searched
    assert {h.entity_id for h in other.hits}.isdisjoint(h.entity_id for h in first.hits)
    renamed = [dict(d, name=d["name"] + " Nouveau") for d in sample_documents()]
    backend.index_build(renamed, 2)
    assert all(h.name.endswith("Nouveau") for h in backend.search(q).hits)


def test_kept_estimated_counts_give_way_when_there_is_time(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite", budget_ms=1.0)
    backend.index_build([dict(d, id=f"{d['id']}-{i}") for i in range(50)
                         for d in sample_documents()], 1)
    q = SearchQuery(kinds=("shop", "product", "offer"), per_page=5)
    backend.budget.learned, backend.budget.cost_ms = 10, 1.0  # a millisecond per match
    assert backend.search(q).approximate
    assert backend.search(q).approximate  # kept, and still no time to count
    backend.budget.cost_ms, backend.budget.budget_ms = 0.0, 1000.0  # time enough now
    assert not backend.search(q).approximate


def test_the_budget_learns_a_cost_per_match() -> None:
    budget = FacetBudget(10.0)
    assert budget.scale(10**9, time.perf_counter()) == 1  # nothing learned yet
    for _ in range(5):
        budget.learn(1000, time.perf_counter() - 0.001, 1)  # 1 ms for 1,000 matches
    assert budget.cost_ms == pytest.approx(0.001, rel=0.5)
    assert budget.scale(1000, time.perf_counter()) == 1
    assert budget.scale(1_000_000, time.perf_counter()) == 64  # the finest sample
    budget.learn(1000, time.perf_counter() - 10, 16)  # a sampled count teaches nothing
    assert budget.cost_ms == pytest.approx(0.001, rel=0.5)


def test_a_count_of_few_matches_teaches_no_cost_per_match() -> None:
    """A count's fixed cost, divided by a handful of matches, would predict a hundredfold
    cost for the next thousand: only counts of ``LEARN_FROM`` matches or more teach."""
    budget = FacetBudget(10.0)
    for _ in range(10):
        budget.learn(3, time.perf_counter() - 0.0003, 1)  # 0.3 ms for 3 matches
    assert budget.learned == 0 and budget.scale(5000, time.perf_counter()) == 1
    for _ in range(5):
        budget.learn(LEARN_FROM, time.perf_counter() - 0.001, 1)
    assert budget.learned == 5
    assert budget.cost_ms == pytest.approx(0.001 * 1000 / LEARN_FROM, rel=0.5)


def test_index_stage_in_a_memory_catalog() -> None:
    with Catalog.open(":memory:") as cat:
        cat.conn.executemany(
            "INSERT INTO entities(entity_id, kind, data, build_id, updated_at) "
            "VALUES (?, ?, ?, 1, 'now')",
            [(r["entity_id"], r["kind"], json.dumps(r)) for r in sample_records()])
        backend = open_backend(cat)
        report = index_stage(cat, 1, backend=backend)
        assert report.name == "index"
        assert report.figures["documents"] == len(sample_records())
        assert report.figures["backend"] == "embedded"
        assert backend.get("shop-andre")["name"] == "Fromagerie André"
        assert backend.search(SearchQuery(text="andre")).hits[0].entity_id == "shop-andre"


def test_open_backend_defaults_to_the_embedded_index(tmp_path: Path) -> None:
    backend = open_backend(tmp_path / "catalog.sqlite")
    assert isinstance(backend, EmbeddedBackend)
    assert backend.path == str(tmp_path / "catalog.sqlite")
    assert backend.search(SearchQuery(text="x")).total == 0
    assert isinstance(open_backend(tmp_path / "catalog.sqlite",
                                   BackendSettings.from_mapping({})), EmbeddedBackend)


def test_the_search_and_index_commands(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("AGORA_ELASTICSEARCH_URL", raising=False)
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    with Catalog.open(tmp_path / "catalog.sqlite") as cat:
        cat.conn.executemany(
            "INSERT INTO entities(entity_id, kind, data, build_id, updated_at) "
            "VALUES (?, ?, ?, 3, 'now')",
            [(r["entity_id"], r["kind"], json.dumps(r)) for r in sample_records()])
    runner = CliRunner()
    out = runner.invoke(index_cmd, [])
    assert out.exit_code == 0, out.output
    assert f"{len(sample_records())} documents indexed" in out.output

    out = runner.invoke(search_cmd, ["fromagerie", "--filter", "platform=dansmazone",
                                     "--near", "43.6045,1.444", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert list(data)[-2:] == ["hits", "facets"]
    distances = [h["distance_km"] for h in data["hits"]]
    assert distances == sorted(distances)  # --near sorts by distance
    first = next(h for h in data["hits"] if h["entity_id"] == "shop-andre")
    assert first["kind"] == "shop"
    assert first["name"] == "Fromagerie André" and first["distance_km"] < 1
    assert {"source": "dansmazone", "source_id": "shop-andre-dansmazone",
            "url": "https://dansmazone.example/shop-andre-dansmazone"} in first["listings"]
    assert ["dansmazone", data["total"]] in data["facets"]["platform"]

    out = runner.invoke(search_cmd, ["fromagrie", "--kind", "shop"])
    assert out.exit_code == 0 and "Fromagerie André" in out.output
    assert "Résultats pour : fromagerie" in out.output
    out = runner.invoke(search_cmd, ["fromagrie", "--kind", "shop", "--as-typed", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["total"] == 0

    # the same parser and bounds as the API
    out = runner.invoke(search_cmd, ["x", "--filter", "colour=red"])
    assert out.exit_code == 1 and "parameter 'colour' is not a parameter" in out.output
    out = runner.invoke(search_cmd, ["x", "--near", "43.6,1.44", "--radius", "500"])
    assert out.exit_code == 1 and "'radius_km' must be between 0.1 and 200" in out.output
    out = runner.invoke(search_cmd, ["x"] + [f"--filter=platform=p{i}" for i in range(21)])
    assert out.exit_code == 1 and "takes at most 20 values" in out.output


def test_a_radius_is_exact_where_it_cuts_a_place_cell() -> None:
    """Shops 80 m apart on a grid around a point, many sharing a cell with one across the
    circle: a radius and the distance order agree with the distance of every shop."""
    base = sample_documents()[0]
    centre = (43.6, 1.445)
    docs = []
    for i in range(-20, 21):
        for j in range(-20, 21):
            lat, lon = centre[0] + i * 0.0007, centre[1] + j * 0.001
            docs.append(dict(base, id=f"shop-{i}-{j}", name=f"Fromagerie {i} {j}",
                             weight=(i * 41 + j) % 7, locations=[{"lat": lat, "lon": lon}]))
    docs.append(dict(base, id="shop-nowhere", name="Fromagerie Nulle Part", locations=[]))
    backend = EmbeddedBackend(":memory:")
    backend.index_build(docs, 1)
    km = {d["id"]: haversine_km(*centre, d["locations"][0]["lat"], d["locations"][0]["lon"])
          for d in docs if d["locations"]}
    for radius in (0.3, 0.77, 1.21, 1.9):
        within = {i for i, d in km.items() if d <= radius}
        q = SearchQuery(text="fromagerie", kinds=("shop",), near=centre, radius_km=radius,
                        sort="distance", per_page=50, facets=())
        found = backend.search(q)
        assert found.total == len(within)
        assert [h.distance_km for h in found.hits] == sorted(round(km[i], 3)
                                                               for i in within)[:50]
        hits = backend.search(replace(q, sort="relevance", per_page=100, page=1))
        assert {h.entity_id for h in hits.hits} <= within
    # without a radius: the nearest first, the shop without a place last
    nearest = backend.search(SearchQuery(text="fromagerie", kinds=("shop",), near=centre,
                                         sort="distance", per_page=10, page=169, facets=()))
    assert [h.entity_id for h in nearest.hits][-1] == "shop-nowhere"


def test_an_index_another_version_wrote_is_refused_with_the_way_out(tmp_path: Path) -> None:
    EmbeddedBackend(tmp_path / "catalog.sqlite").index_build(sample_documents(), 1)
    extra = tmp_path / "catalog.search" / "index-1" / "extra.json"
    older = json.loads(extra.read_text(encoding="utf-8"))
    del older["facet_sets"]  # as written before facets were counted by value sets
    extra.write_text(json.dumps(older), encoding="utf-8")
    with pytest.raises(BackendError, match="agora index"):
        EmbeddedBackend(tmp_path / "catalog.sqlite").search(SearchQuery(text="fromagerie"))


def test_documents_listing_the_same_values_in_any_order_share_a_facet_set() -> None:
    """Facet sets are numbered from the lists documents hold (each distinct list sorted
    once): the same values in another order, or repeated, are the same set."""
    sets = FacetSets()
    base = {"scope": ["offer"], "platforms": ["b", "a"], "categories": [], "communes": [],
            "services": [], "flags": [], "price_min": 950}
    first = sets.numbers(base)
    again = sets.numbers(dict(base, platforms=["a", "b", "a"], scope=("offer",)))
    other = sets.numbers(dict(base, platforms=["a"], price_min=None))
    assert again == first
    assert sets.values["platform"][first["platform"]] == ("a", "b")
    assert sets.values["platform"][other["platform"]] == ("a",)
    assert other["price"] == 0 and sets.values["price"][first["price"]] != ()
    assert FacetSets.from_json(sets.to_json()).values == sets.values


def test_a_document_keeps_its_own_terms_and_its_scope_s_alone(tmp_path: Path) -> None:
    """Documents start from a copy of their scope's terms: what one adds is not another's,
    and a list repeating a value indexes it once."""
    docs = [dict(d, platforms=[*d["platforms"], *d["platforms"]]) for d in sample_documents()]
    built = [_tantivy_document(doc, row, [], [], {}).to_dict()
             for row, doc in enumerate(docs)]
    for doc, fields in zip(docs, built, strict=True):
        assert fields["id"] == [doc["id"]]
        assert fields["scope"] == list(dict.fromkeys(doc["scope"]))
        assert fields.get("platforms", []) == list(dict.fromkeys(doc["platforms"]))
        assert len(fields["kinds_in"]) + len(fields["kinds_out"]) == 6
    backend = EmbeddedBackend(tmp_path / "catalog.sqlite")
    backend.index_build(docs, 1)
    assert backend.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2


def test_a_point_s_cell_is_the_one_its_arrays_give() -> None:
    points = [(43.6 + i * 0.0025, 1.44 - i * 0.005) for i in range(-400, 400)]
    points += [(-90.0, -180.0), (90.0, 180.0), (0.0, 0.0), (43.605, 1.445)]
    lats, lons = np.asarray([p[0] for p in points]), np.asarray([p[1] for p in points])
    assert [cell_of(*p) for p in points] == cells_of(lats, lons).tolist()


def test_the_garbage_collector_runs_again_after_a_build() -> None:
    backend = EmbeddedBackend(":memory:")
    backend.index_build(sample_documents(), 1)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        backend.index_build(_failing(sample_documents()), 2)
    assert gc.isenabled()


def _failing(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from docs
    raise RuntimeError("the catalog went away")
