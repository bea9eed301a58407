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
from dedup.linker import link
from dedup.persist import (
    BLOCK_KEYS_VERSION,
    brand_keys,
    entity_records,
    full_dedup,
    load_cleans,
    load_decisions,
    load_model,
    load_token_stats,
)
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
    normalized.matching.save_state({"block_keys": "0"})  # stored keys of another version
    assert wants_full(normalized, SETTINGS)
    normalized.matching.save_state({"block_keys": BLOCK_KEYS_VERSION})
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


def _assert_incremental_equals_full(path: str) -> dict[str, str]:
    """Build incrementally, then rebuild the same catalog in full: the same entities.

    Same clusters with the same ids; the same shop and offer records (a shop lists
    its offers in another order); the same product figures (a product keeps the
    stored descriptive fields of the offer that described it, by design). Returns
    the membership.
    """
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
    return full


def test_an_incremental_build_equals_a_full_rebuild_on_the_replicas(
        tmp_path: Path, catalog_location: str) -> None:
    """A week later (epoch 1), the incremental build gives the full rebuild's entities, on
    each engine."""
    path = catalog_location
    import_listings(_write(tmp_path / "e0.jsonl", list(expected_listings(seed=8, shops=200))),
                    path)
    with Catalog.open(path) as catalog:
        assert build(catalog, index=False).mode == "full"
    import_listings(_write(tmp_path / "e1.jsonl",
                           list(expected_listings(seed=8, shops=200, epoch=1))), path)
    _assert_incremental_equals_full(path)


# two listings of one shop in the replicas' world (seed 8, 200 shops, epoch 1), merged
# by the full build: the first is left as it is, the second loses what ties it to the
# first (identifiers, phone, name), then a third platform's listing bridges them
KEPT, SEVERED = "dansmazone:commerce-1189", "toulouse_boutiques:l-atelier-de-claire-toulouse"


def _severed(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("siret", "website", "email")}
    return dict(out, phone="05 99 00 00 01", name="Maison " + item["name"].split()[-1])


def _moved_offer(membership: dict[str, str], items: dict[str, dict[str, Any]],
                 ) -> tuple[str, str]:
    """(an offer listing of a two-listing offer, a listing of another offer of the same
    shop on another platform, whose offer has no listing on the first one's platform)."""
    offers: dict[str, list[str]] = {}
    for key, entity in sorted(membership.items()):
        if entity.startswith("offer-"):
            offers.setdefault(entity, []).append(key)
    shop_of = {k: membership[f"{items[k]['source']}:{items[k]['shop_source_id']}"]
               for keys in offers.values() for k in keys}
    for entity, keys in sorted(offers.items()):
        if len(keys) != 2:
            continue
        moving = keys[0]
        source = items[moving]["source"]
        for other, other_keys in sorted(offers.items()):
            if other == entity or shop_of[other_keys[0]] != shop_of[moving]:
                continue
            if all(items[k]["source"] != source for k in other_keys):
                return moving, other_keys[0]
    raise AssertionError("no offer to move in the replicas' world")


def _assert_incremental_equals_relink(path: str) -> dict[str, str]:
    """Build incrementally, then link every listing of the catalog again with what the
    incremental build used (the last full build's model, the word frequencies and
    brands kept, the ids before): the same entities and records. (A full build would
    estimate its model again, so a borderline pair may go either way there.) Returns
    the membership."""
    with Catalog.open(path) as catalog:
        before = catalog.entities.membership()
        report = build(catalog, index=False)
        assert report.mode == "incremental" and report.stage("dedup").figures["changed"] > 0
        incremental = catalog.entities.membership()
        inc_records = {r["entity_id"]: r for r in catalog.entities.records()}
        cleans = load_cleans(catalog)
        stored = load_model(catalog)
        assert stored is not None
        result = link(cleans, SETTINGS, previous=before, decisions=load_decisions(catalog),
                      name_stats=load_token_stats(catalog, "name_stats"),
                      title_stats=load_token_stats(catalog, "title_stats"),
                      model=stored[1], brands=brand_keys(catalog))
    by_key = {f"{c.source}:{c.source_id}": c for c in cleans}
    assert _clusters(incremental) == _clusters(result.membership)  # same clusters, same ids
    for entity_id, record in entity_records(result, by_key, SETTINGS).items():
        mine = dict(inc_records[entity_id])
        if record["kind"] == "product":
            assert {k: mine.get(k) for k in AGGREGATES} == \
                {k: record.get(k) for k in AGGREGATES}, entity_id
            continue
        if record["kind"] == "shop":
            assert sorted(mine.pop("offer_ids", [])) == sorted(record.pop("offer_ids", []))
        assert mine == record, entity_id
    return incremental


def _built_world(tmp_path: Path, path: str,
                 ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """The 200-shop world of seed 8 imported and built in full: its listings, the same by
    key, and the membership the build gave."""
    world = list(expected_listings(seed=8, shops=200, epoch=1))
    items = {f"{x['source']}:{x['source_id']}": x for x in world}
    import_listings(_write(tmp_path / "e1.jsonl", world), path)
    with Catalog.open(path) as catalog:
        assert build(catalog, index=False).mode == "full"
        return world, items, catalog.entities.membership()


def test_moves_removals_and_a_bridging_listing_give_the_full_rebuild(
        tmp_path: Path, catalog_location: str) -> None:
    """Beyond a week's changes: an offer moving to another offer of its shop, a shop
    listing leaving its entity, an offer gone, a shop gone from a platform that still
    lists its products, then a new listing merging two shop
    entities; after each, the incremental build equals a full rebuild."""
    path = catalog_location
    world, items, before = _built_world(tmp_path, path)
    assert before[KEPT] == before[SEVERED]
    moving, target = _moved_offer(before, items)
    gone = next(k for k, e in sorted(before.items())
                if e.startswith("offer-") and k not in (moving, target)
                and sum(1 for v in before.values() if v == e) >= 2)
    # a shop listing closed on its platform while its products stay listed there
    sellers = {f"{x['source']}:{x['shop_source_id']}" for x in world
               if x["kind"] == "product" and x.get("shop_source_id")}
    closed = next(k for k, e in sorted(before.items())
                  if e.startswith("shop-") and k in sellers and e != before[KEPT]
                  and k.partition(":")[0] not in (items[moving]["source"], items[gone]["source"]))
    orphans = [f"{x['source']}:{x['source_id']}" for x in world
               if f"{x['source']}:{x.get('shop_source_id')}" == closed]
    item = items[target]
    moved = dict(items[moving], **{f: item.get(f) for f in
                                   ("title", "gtin", "price", "description", "category")})
    with Catalog.open(path) as catalog:
        store(catalog, [moved, _severed(items[SEVERED])])
        store(catalog, [], source=gone.partition(":")[0], gone=[gone.partition(":")[2]])
        store(catalog, [], source=closed.partition(":")[0], gone=[closed.partition(":")[2]])
    after = _assert_incremental_equals_relink(path)
    mate = next(k for k, e in before.items() if e == before[moving] and k != moving)
    assert after[moving] == after[target] != after[mate]  # the offer moved
    assert after[KEPT] != after[SEVERED]  # the shop listing left its entity
    assert gone not in after and closed not in after
    assert orphans and all(k in after for k in orphans)  # its products are still linked

    # a listing on a third platform with the first's phone and SIRET and the second's
    # name and address: the two entities become one
    kept = items[KEPT]
    third = next(s for s in sorted({x["source"] for x in world})
                 if s not in (kept["source"], items[SEVERED]["source"]))
    bridge = dict(_severed(items[SEVERED]), source=third, source_id="bridge-1",
                  url="https://bridge.example/1", phone=kept["phone"], siret=kept.get("siret"))
    with Catalog.open(path) as catalog:
        store(catalog, [bridge])
    merged = _assert_incremental_equals_relink(path)
    assert merged[KEPT] == merged[SEVERED] == merged[f"{third}:bridge-1"]


def test_an_offer_only_change_keeps_its_shop_as_stored_and_gives_the_relink(
        tmp_path: Path, catalog_location: str) -> None:
    """A new price on one offer of a merged shop: only offers are linked again (no shop
    listing is read or compared), the shop keeps its id, listings and record, and the
    result is what linking everything again gives."""
    path = catalog_location
    world, items, before = _built_world(tmp_path, path)
    with Catalog.open(path) as catalog:
        shop_members: dict[str, set[str]] = {}
        for key, entity in before.items():
            if entity.startswith("shop-"):
                shop_members.setdefault(entity, set()).add(key)
        offer = next(k for k, e in sorted(before.items()) if e.startswith("offer-")
                     and items[k].get("shop_source_id")
                     and len(shop_members[before[f"{items[k]['source']}:"
                                                 f"{items[k]['shop_source_id']}"]]) >= 2)
        shop = before[f"{items[offer]['source']}:{items[offer]['shop_source_id']}"]
        shop_record = catalog.entities.get(shop)
        assert shop_record is not None
        store(catalog, [dict(items[offer], price="999,99 €")])
        report = build(catalog, index=False)
        figures = report.stage("dedup").figures
        assert report.mode == "incremental" and figures["changed"] == 1
        assert figures["shops_offers_only"] == 1
        assert figures["pairs_scored"].get("shop", 0) == 0  # no shop listing compared
        assert figures["relinked"] < len(world) // 10
        after = catalog.entities.membership()
        assert {k for k, e in after.items() if e == shop} == shop_members[shop]
        stored = catalog.entities.get(shop)
        assert stored is not None
        assert sorted(stored.pop("offer_ids")) == sorted(shop_record.pop("offer_ids"))
        assert stored == shop_record
        # rebuilt twice from the same catalog: the relink below needs a change to compare
        store(catalog, [dict(items[offer], price="998,99 €")])
    _assert_incremental_equals_relink(path)
