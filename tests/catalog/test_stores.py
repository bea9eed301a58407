"""The catalog's stores as their callers use them, on both engines: the sources registry and
source status, clean listings, match state and review decisions, builds and entities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from catalog.clean import CleanRow
from catalog.entities import Member, ProductOffer
from catalog.matching import ReviewPair
from catalog.status import source_statuses
from catalog.store import Catalog


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    base_url: str
    enabled: bool = True
    schedule: dict[str, Any] | None = None
    homepage: str | None = None


@pytest.fixture
def catalog(catalog_location: str) -> Iterator[Catalog]:
    """An empty catalog on each engine."""
    with Catalog.open(catalog_location) as cat:
        yield cat


def test_sources_are_registered_in_order_without_credentials(catalog: Catalog) -> None:
    catalog.register_sources([
        Entry("tout_toulouse", "Tout Toulouse", "https://bot:s3cret@api.tt.example:8443/v2/"
              "?token=abc#x", schedule={"interval": "6h"}, homepage="https://tt.example/"),
        Entry("clickandco", "Click'n Co", "https://clickandco.example", enabled=False),
    ])
    first, second = catalog.registered_sources()
    assert (first.key, first.position, second.key, second.position) == (
        "tout_toulouse", 0, "clickandco", 1)
    assert first.base_url == "https://api.tt.example:8443/v2/"
    assert "s3cret" not in repr(catalog.registered_sources()) and "abc" not in first.base_url
    assert first.schedule == {"interval": "6h"} and first.homepage == "https://tt.example/"
    assert second.enabled is False and second.schedule is None
    catalog.register_sources([Entry("geolocal31", "Géo'local31", "https://geo.example")])
    assert [s.key for s in catalog.registered_sources()] == ["geolocal31"]


def test_status_lists_registered_sources_then_others_with_runs(catalog: Catalog) -> None:
    catalog.register_sources([Entry("clickandco", "Click'n Co", "https://c.example",
                                    schedule={"interval": "1h"})])
    run = catalog.begin_run("legacy")
    catalog.write_page(run, [{"kind": "shop", "source": "legacy", "source_id": "1"}],
                       errors=[("https://l.example/2", "http_500", "down")])
    catalog.finish_run(run, "partial")
    catalog.save_schedule_state("clickandco", schedule={"interval": "1h"},
                                next_run_at="2030-01-01T00:00:00+00:00")
    registered, other = source_statuses(catalog)
    assert (registered.key, registered.name, registered.state) == (
        "clickandco", "Click'n Co", "never run")
    assert registered.next_run_at == "2030-01-01T00:00:00+00:00"
    assert (other.key, other.name, other.state, other.enabled) == (
        "legacy", "legacy", "partial", False)
    assert other.errors[0]["url"] == "https://l.example/2" and other.live_listings == 1
    assert catalog.crawled_sources() == ["legacy"]
    assert catalog.errors(source="legacy")[0]["kind"] == "http_500"


def test_clean_listings_follow_the_raw_content(catalog: Catalog) -> None:
    run = catalog.begin_run("demo")
    catalog.write_page(run, [{"kind": "shop", "source": "demo", "source_id": str(i),
                              "name": f"Boutique {i}"} for i in range(3)])
    todo = catalog.clean.to_normalize()
    assert sorted(r.source_id for r in todo) == ["0", "1", "2"]
    catalog.clean.save(CleanRow(r.source, r.source_id, "shop", r.content_hash,
                                {"name": r.data["name"]}, 0) for r in todo)
    assert catalog.clean.to_normalize() == [] and catalog.clean.count() == 3
    assert catalog.clean.get("demo", "1") == {"name": "Boutique 1"}
    assert [c["name"] for c in catalog.clean.load([("demo", "2"), ("demo", "0")])] == [
        "Boutique 0", "Boutique 2"]
    assert len(catalog.clean.changed_since_linked()) == 3
    catalog.clean.mark_linked([("demo", "0")])
    assert sorted(catalog.clean.changed_since_linked()) == [("demo", "1"), ("demo", "2")]
    catalog.finish_run(run, "complete")
    gone = catalog.begin_run("demo", mode="incremental")
    catalog.mark_gone(gone, "demo", ["2"])
    catalog.finish_run(gone, "complete")
    assert catalog.clean.remove_not_live() == 1 and catalog.clean.count() == 2


def test_review_pairs_and_decisions(catalog: Catalog) -> None:
    catalog.matching.replace_review_pairs([ReviewPair("shop", "a:1", "b:1", 5.5),
                                           ReviewPair("shop", "a:2", "b:2", 9.0)], 1)
    catalog.matching.record_decision("b:1", "a:1", "split", "two shops")
    assert catalog.matching.decision("a:1", "b:1") == "split"
    assert [p.a for p in catalog.matching.pending_review_pairs()] == ["a:2"]
    catalog.matching.record_decision("a:1", "b:1", "merge")
    assert [tuple(d) for d in catalog.matching.decisions()] == [("a:1", "b:1", "merge")]
    catalog.matching.replace_review_pairs([ReviewPair("shop", "a:3", "b:3", 6.0)], 2,
                                          relinked=["a:2"])
    assert {p.a for p in catalog.matching.pending_review_pairs()} == {"a:3"}
    with pytest.raises(ValueError, match="merge"):
        catalog.matching.record_decision("a:1", "b:1", "maybe")


def test_a_build_and_its_entities(catalog: Catalog) -> None:
    build_id = catalog.entities.begin_build("full")
    assert catalog.entities.last_complete_build() is None
    assert catalog.entities.last_complete_build_id() is None  # running is not complete
    catalog.entities.write_build(
        build_id, {"shop-1": {"entity_id": "shop-1", "kind": "shop", "city": "Toulouse",
                              "lat": 43.6, "lon": 1.44, "postcode": "31000",
                              "address": "3 rue du Taur"},
                   "offer-1": {"entity_id": "offer-1", "kind": "offer"}},
        [Member("clickandco", "s1", "shop", "shop-1"), Member("clickandco", "p1", "offer",
                                                               "offer-1")],
        [ProductOffer("offer-1", "product-1", "shop-1", 120, 130, ["clickandco"])],
        replace_all=True)
    catalog.entities.complete_build(build_id, "full", {"dedup": {"entities": 2}})
    last = catalog.entities.last_complete_build()
    assert last is not None and last.id == build_id and last.stats["dedup"]["entities"] == 2
    assert catalog.entities.last_complete_build_id() == build_id
    assert catalog.entities.latest_build_id() == build_id
    assert catalog.entities.entities_of(["clickandco:s1", "x:y"]) == {"clickandco:s1": "shop-1"}
    assert catalog.entities.members_of(["offer-1"]) == {"clickandco:p1"}
    assert catalog.entities.offers_of_products(["product-1"])[0].platforms == ["clickandco"]
    assert [o.product_id for o in catalog.entities.product_offers(["offer-1", "x"])] == \
        ["product-1"]
    assert catalog.entities.shop_places() == [("Toulouse", "31000", "3 rue du Taur", 43.6, 1.44)]
    assert catalog.entities.orphan_members() == [("clickandco", "p1"), ("clickandco", "s1")]
    assert not catalog.needs_build()
