"""The crawl sink writing into a catalog on each engine: what a run stores, marks gone, keeps
live, resumes, and puts back when it is found degraded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.store import Catalog
from crawlers.listing import PageResult
from crawlers.sink import CatalogSink


def shops(ids: range, *, address: bool = True, label: str = "") -> list[dict[str, Any]]:
    return [{"kind": "shop", "source_id": f"s{i}", "url": f"https://demo.test/shop/{i}",
             "name": f"Shop {i}{label}", "city": "Toulouse",
             **({"address": f"{i} rue de Metz"} if address else {})} for i in ids]


@pytest.fixture
def catalog(catalog_location: str) -> Iterator[Catalog]:
    with Catalog.open(catalog_location) as cat:
        yield cat


def run(catalog: Catalog, *pages: list[dict[str, Any]], mode: str = "full",
        **page: Any) -> Any:
    run_id = catalog.begin_run("demo", mode=mode)
    sink = CatalogSink(catalog, run_id, "demo")
    for i, listings in enumerate(pages):
        sink.write(PageResult(url=f"https://demo.test/list?page={i}", listings=listings,
                              done=True, **page))
    return sink.finish()


def test_runs_store_mark_gone_and_keep_unusable_listings_live(catalog: Catalog) -> None:
    first = run(catalog, shops(range(20)), shops(range(20, 40)) + shops(range(5)))
    assert (first.status, first.new, first.listings, first.pages) == ("complete", 40, 40, 2)
    # a page lists s3 again, unusable (no kind): it stays live; s30..s39 went
    second = run(catalog, shops(range(0, 30)),
                 [{"source_id": "s35", "url": "https://demo.test/shop/35"}])
    assert second.status == "complete" and second.gone == 9
    assert catalog.count_listings("demo") == 31 and catalog.errors_by_kind(second.id) == {
        "invalid_listing": 1}
    tombstones = run(catalog, [], mode="incremental", gone=["s1", "s2", "s99"])
    assert tombstones.gone == 2 and catalog.count_listings("demo", status="gone") == 11
    back = run(catalog, shops(range(1, 3)), mode="incremental")
    assert back.updated == 2 and catalog.listing("demo", "s1")["name"] == "Shop 1"


def test_a_killed_run_resumes_past_the_pages_it_stored(catalog: Catalog) -> None:
    run_id = catalog.begin_run("demo")
    sink = CatalogSink(catalog, run_id, "demo")
    sink.write(PageResult(url="https://demo.test/list?page=0", listings=shops(range(10)),
                          done=True, checkpoint={"offset": 10}))
    # the process is killed here; the next one resumes the same run
    resumed = CatalogSink(catalog, run_id, "demo")
    assert catalog.done_pages(run_id) == {"https://demo.test/list?page=0"}
    assert catalog.get_run(run_id).checkpoint == {"offset": 10}
    resumed.write(PageResult(url="https://demo.test/list?page=0", listings=shops(range(10))))
    resumed.write(PageResult(url="https://demo.test/list?page=1", listings=shops(range(10, 15))))
    ended = resumed.finish()
    assert (ended.status, ended.new, ended.unchanged) == ("complete", 15, 0)
    assert catalog.count_listings("demo") == 15


def test_a_degraded_run_is_put_back_on_each_engine(catalog: Catalog) -> None:
    good = run(catalog, shops(range(30)))
    before = {i["source_id"]: i for i in catalog.listings(source="demo")}
    bad = run(catalog, shops(range(30), address=False, label=" (nouveau)"))
    assert bad.status == "degraded" and bad.stats["health"]["reverted"] == 30 and bad.gone == 0
    assert {i["source_id"]: i for i in catalog.listings(source="demo")} == before
    again = run(catalog, shops(range(30), label=" (nouveau)"))
    assert again.status == "complete" and again.stats["health"]["baseline_run"] == good.id
