"""Incremental linking: when it applies, what it re-links, and that it equals a full rebuild."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from agora.importing import import_listings
from agora.pipeline import build, normalize_stage
from catalog.store import Catalog
from dedup.incremental import FULL_SHARE, incremental_dedup, wants_full
from dedup.persist import full_dedup, load_cleans, load_decisions
from dedup.settings import load_settings
from replicas.truth import expected_listings
from tests.dedup.conftest import listings, store

SETTINGS = load_settings()


def _full(catalog: Catalog) -> None:
    build_id = catalog.entities.begin_build("full")
    full_dedup(catalog, SETTINGS, build_id, load_cleans(catalog), load_decisions(catalog))
    catalog.entities.complete_build(build_id, "full", {})


def _incremental(catalog: Catalog) -> dict[str, Any]:
    normalize_stage(catalog)
    build_id = catalog.entities.begin_build("incremental")
    stats = incremental_dedup(catalog, SETTINGS, build_id, load_decisions(catalog))
    catalog.entities.complete_build(build_id, "incremental", stats)
    return stats


def test_a_full_build_is_wanted_first_then_after_new_settings_or_many_changes(
        normalized: Catalog) -> None:
    assert wants_full(normalized, SETTINGS)  # no entity yet
    _full(normalized)
    assert not wants_full(normalized, SETTINGS)
    other = dataclasses.replace(SETTINGS, shops=dataclasses.replace(
        SETTINGS.shops, threshold=SETTINGS.shops.threshold + 0.5))
    assert wants_full(normalized, other)
    changed = [dict(item, description="nouvelle description") for item in listings()[:3]]
    assert 3 / len(listings()) > FULL_SHARE
    store(normalized, changed)
    normalize_stage(normalized)
    assert wants_full(normalized, SETTINGS)


def test_nothing_changed_relinks_nothing_but_keeps_a_presence_snapshot(
        normalized: Catalog) -> None:
    _full(normalized)
    before = normalized.entities.membership()
    stats = _incremental(normalized)
    assert stats == {"changed": 0, "removed": 0, "relinked": 0, "entities_written": 0}
    assert normalized.entities.membership() == before
    assert len(normalized.entities.presence_snapshots(10)) == 2


def test_a_new_listing_joins_its_entity_and_only_its_neighbourhood_is_relinked(
        normalized: Catalog) -> None:
    _full(normalized)
    before = normalized.entities.membership()
    bakery = before["clickandco:s1"]
    twin = dict(listings()[0], source="dansmazone", source_id="d1",
                url="https://dansmazone.example/d1", name="Boulangerie Du Capitole")
    store(normalized, [twin])
    stats = _incremental(normalized)
    assert stats["changed"] == 1 and stats["removed"] == 0
    after = normalized.entities.membership()
    assert after["dansmazone:d1"] == bakery  # the id of the entity it joined is kept
    assert {k: v for k, v in after.items() if k != "dansmazone:d1"} == before
    # the cheese shop and its offer were not in the neighbourhood: not relinked
    assert stats["relinked"] < len(after)
    assert "dansmazone" in normalized.entities.get(bakery)["platforms"]
    assert normalized.clean.changed_since_linked() == []


def test_a_gone_listing_leaves_its_entity_and_an_emptied_entity_goes(
        normalized: Catalog) -> None:
    _full(normalized)
    before = normalized.entities.membership()
    store(normalized, [], source="tout_toulouse", gone=["t1", "q1"])
    stats = _incremental(normalized)
    assert stats["removed"] == 2
    after = normalized.entities.membership()
    assert "tout_toulouse:t1" not in after and "tout_toulouse:q1" not in after
    assert after["clickandco:s1"] == before["clickandco:s1"]
    assert normalized.entities.get(before["clickandco:s1"])["platforms"] == ["clickandco"]
    store(normalized, [], source="clickandco", gone=["p2"])
    _incremental(normalized)
    assert normalized.entities.get(before["clickandco:p2"]) is None  # its only listing went


def test_a_reviewer_decision_since_the_last_build_is_applied(normalized: Catalog) -> None:
    _full(normalized)
    before = normalized.entities.membership()
    assert before["clickandco:s1"] == before["tout_toulouse:t1"]
    normalized.matching.record_decision("clickandco:s1", "tout_toulouse:t1", "split")
    stats = _incremental(normalized)
    assert stats["changed"] == 2
    after = normalized.entities.membership()
    assert after["clickandco:s1"] != after["tout_toulouse:t1"]


# --------------------------------------------------------------------------- on the replicas
def _write(path: Path, items: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def _clusters(membership: dict[str, str]) -> dict[frozenset[str], str]:
    by_entity: dict[str, set[str]] = {}
    for key, entity in membership.items():
        by_entity.setdefault(entity, set()).add(key)
    return {frozenset(keys): entity for entity, keys in by_entity.items()}


AGGREGATES = ("kind", "price_min", "price_max", "platforms", "offer_ids", "shop_ids",
              "offers_count")


def test_an_incremental_build_equals_a_full_rebuild_on_the_replicas(
        tmp_path: Path, catalog_location: str) -> None:
    """A week later (epoch 1), the incremental build gives the full rebuild's entities, on
    each engine.

    Same clusters with the same ids; the same shop and offer records (a shop lists
    its offers in another order); the same product figures (a product keeps the
    stored descriptive fields of the offer that described it, by design).
    """
    path = catalog_location
    import_listings(_write(tmp_path / "e0.jsonl", list(expected_listings(seed=8, shops=200))),
                    path)
    with Catalog.open(path) as catalog:
        assert build(catalog, index=False).mode == "full"
    import_listings(_write(tmp_path / "e1.jsonl",
                           list(expected_listings(seed=8, shops=200, epoch=1))), path)
    with Catalog.open(path) as catalog:
        report = build(catalog, index=False)
        assert report.mode == "incremental" and report.stage("dedup").figures["changed"] > 0
        incremental = catalog.entities.membership()
        inc_records = {r["entity_id"]: r for r in catalog.entities.records()}
    with Catalog.open(path) as catalog:  # the same catalog, rebuilt in full
        assert build(catalog, index=False, mode="full").mode == "full"
        full = catalog.entities.membership()
        full_records = {r["entity_id"]: r for r in catalog.entities.records()}

    assert set(incremental) == set(full)
    assert _clusters(incremental) == _clusters(full)  # same clusters, same ids
    assert set(inc_records) == set(full_records)
    for entity_id, record in full_records.items():
        mine = inc_records[entity_id]
        if record["kind"] == "product":
            assert {k: mine.get(k) for k in AGGREGATES} == \
                {k: record.get(k) for k in AGGREGATES}, entity_id
            continue
        if record["kind"] == "shop":
            assert sorted(mine.pop("offer_ids", [])) == sorted(record.pop("offer_ids", []))
        assert mine == record, entity_id
