"""The linker's adapter to the catalog: merged records, a full build written, state kept."""

from __future__ import annotations

import dataclasses
import random

from catalog.entities import ProductOffer
from catalog.store import Catalog
from dedup.blocking import NEAR_ADDRESSLESS
from dedup.features import TokenStats, product_features, shop_features
from dedup.linker import link
from dedup.persist import (
    block_rows,
    entity_records,
    full_dedup,
    load_cleans,
    load_decisions,
    load_token_stats,
    members,
    product_entity_id,
    product_offers,
    product_record,
    settings_fingerprint,
    updated_product_record,
    write_build,
)
from dedup.settings import load_settings
from normalizer import normalize_listing
from tests.dedup.conftest import listings

SETTINGS = load_settings()


def _full(catalog: Catalog) -> dict:
    build_id = catalog.entities.begin_build("full")
    return full_dedup(catalog, SETTINGS, build_id, load_cleans(catalog),
                      load_decisions(catalog))


def test_ids_and_fingerprints_are_stable_digests() -> None:
    assert product_entity_id("gtin:3012345678902") == product_entity_id("gtin:3012345678902")
    assert product_entity_id("gtin:1").startswith("product-")
    assert product_entity_id("gtin:1") != product_entity_id("gtin:2")
    other = dataclasses.replace(SETTINGS, shops=dataclasses.replace(
        SETTINGS.shops, threshold=SETTINGS.shops.threshold + 1))
    assert settings_fingerprint(SETTINGS) == settings_fingerprint(load_settings())
    assert settings_fingerprint(other) != settings_fingerprint(SETTINGS)


def test_records_merge_shops_offers_and_products(normalized: Catalog) -> None:
    cleans = {f"{c.source}:{c.source_id}": c for c in load_cleans(normalized)}
    result = link(list(cleans.values()), SETTINGS)
    records = entity_records(result, cleans, SETTINGS)
    bakery = records[result.membership["clickandco:s1"]]
    assert result.membership["tout_toulouse:t1"] == bakery["entity_id"]
    assert set(bakery["platforms"]) == {"clickandco", "tout_toulouse"}
    baguette = records[result.membership["clickandco:p1"]]
    assert result.membership["tout_toulouse:q1"] == baguette["entity_id"]
    assert baguette["shop_entity_id"] == bakery["entity_id"]
    assert baguette["shop_name"] == bakery["name"] and baguette["city"] == "Toulouse"
    assert (baguette["price_min"], baguette["price_max"]) == (120, 130)
    assert baguette["entity_id"] in bakery["offer_ids"]
    comte = records[records[result.membership["clickandco:p2"]]["product_entity_id"]]
    assert comte["kind"] == "product" and comte["offers_count"] == 2
    assert (comte["price_min"], comte["price_max"]) == (790, 850)
    assert len(comte["shop_ids"]) == 2 and bakery["entity_id"] in comte["shop_ids"]
    rows = product_offers(records)
    assert {r.product_id for r in rows} == {comte["entity_id"], baguette["product_entity_id"]}
    assert all(r.offer_id in records and records[r.offer_id]["kind"] == "offer" for r in rows)
    listed = members(result, [bakery["entity_id"]])
    assert {(m.source, m.source_id, m.kind) for m in listed} == {
        ("clickandco", "s1", "shop"), ("tout_toulouse", "t1", "shop")}


def test_a_product_record_aggregates_its_offers() -> None:
    offers = [
        {"entity_id": "offer-b", "platforms": ["clickandco"], "price_min": 790,
         "price_max": 790, "shop_entity_id": "shop-2", "title": "Comté"},
        {"entity_id": "offer-a", "platforms": ["tout_toulouse", "clickandco"],
         "price_min": 850, "price_max": 900, "shop_entity_id": "shop-1", "title": "COMTÉ"},
        {"entity_id": "offer-c", "platforms": ["dansmazone"], "price_min": None,
         "price_max": None, "shop_entity_id": None},
    ]
    record = product_record("product-x", offers, SETTINGS)
    assert record["title"] == "COMTÉ"  # the offer on most platforms describes the product
    assert (record["price_min"], record["price_max"]) == (790, 900)
    assert record["offer_ids"] == ["offer-a", "offer-b", "offer-c"]
    assert record["shop_ids"] == ["shop-1", "shop-2"] and record["offers_count"] == 3
    assert set(record["platforms"]) == {"clickandco", "tout_toulouse", "dansmazone"}
    assert record["platforms"] == sorted(record["platforms"], key=SETTINGS.trust_rank)
    kept = product_record("product-x", offers, SETTINGS, representative={"title": "Comté AOP"})
    assert kept["title"] == "Comté AOP" and kept["price_min"] == 790


def _row(offer: dict, product_id: str) -> ProductOffer:
    return ProductOffer(offer["entity_id"], product_id, offer["shop_entity_id"],
                        offer["price_min"], offer["price_max"], list(offer["platforms"]))


def test_a_product_updated_from_its_stored_record_equals_one_rebuilt_from_its_offers(
        ) -> None:
    """Offers replaced in a product: the update from the stored record, when it gives
    one, is the record rebuilt from every offer; it gives none when a gone offer held an
    end of the price range or a platform or shop no added offer brings back."""
    rng = random.Random(7)
    platforms = ["clickandco", "tout_toulouse", "dansmazone", "ou_acheter_local"]
    updated = refused = 0
    def offer(name: str) -> dict:
        price = rng.choice([None, rng.randrange(100, 2000)])
        return {"entity_id": name, "title": name,
                "platforms": rng.sample(platforms, rng.randint(1, 2)),
                "price_min": price, "price_max": price and price + rng.choice([0, 50]),
                "shop_entity_id": rng.choice([None, "shop-1", "shop-2", "shop-3"])}

    for trial in range(400):
        offers = [offer(f"offer-{trial}-{n}") for n in range(rng.randint(1, 12))]
        stored = product_record("product-x", offers, SETTINGS)
        gone = rng.sample(offers, rng.randint(0, len(offers)))
        # an offer linked again keeps its id, or another comes
        added = [dict(o, price_min=o["price_min"] and o["price_min"] + rng.choice([0, 10]))
                 for o in gone if rng.random() < 0.7] + [
            offer(f"offer-{trial}-new-{n}") for n in range(rng.randint(0, 2))]
        if not added:
            continue
        result = updated_product_record(stored, [_row(o, "product-x") for o in gone], added,
                                        SETTINGS)
        if result is None:
            refused += 1
            continue
        updated += 1
        kept = [o for o in offers if o not in gone]
        assert result == product_record("product-x", kept + added, SETTINGS, stored), trial
    assert updated > 50 and refused > 50  # both ways were tried


def test_a_product_update_needs_the_other_offers_when_a_gone_one_held_an_end() -> None:
    offers = [{"entity_id": f"offer-{n}", "platforms": ["clickandco"], "price_min": price,
               "price_max": price, "shop_entity_id": "shop-1"}
              for n, price in enumerate((500, 700, 900))]
    stored = product_record("product-x", offers, SETTINGS)
    again = [dict(o, price_min=o["price_min"] + 1) for o in offers]
    for n, expected in ((0, None), (2, None)):
        assert updated_product_record(stored, [_row(offers[n], "product-x")], [again[n]],
                                      SETTINGS) is expected
    middle = updated_product_record(stored, [_row(offers[1], "product-x")], [again[1]],
                                    SETTINGS)
    assert middle is not None and (middle["price_min"], middle["price_max"]) == (500, 900)


def test_a_full_build_writes_entities_state_and_presence(normalized: Catalog) -> None:
    stats = _full(normalized)
    assert stats["entities"] == {"shop": 2, "offer": 3, "product": 0}
    assert stats["products"] == 2 and stats["entities_written"] == 7
    assert normalized.entities.counts() == {"offer": 3, "product": 2, "shop": 2}
    membership = normalized.entities.membership()
    assert len(membership) == 7 and membership["clickandco:s1"] == membership["tout_toulouse:t1"]
    assert normalized.matching.state("settings") == settings_fingerprint(SETTINGS)
    assert load_token_stats(normalized, "name_stats").to_dict()  # word frequencies kept
    assert normalized.clean.changed_since_linked() == []  # everything linked as it is
    blocks = normalized.matching.block_members(["shop:clickandco:s1"], 100)
    assert blocks["shop:clickandco:s1"] == {"clickandco:p1", "clickandco:p3"}
    assert normalized.entities.presence_snapshots(5) == []  # shown once the build completes
    normalized.entities.complete_build(1, "full", stats)
    [snapshot] = normalized.entities.presence_snapshots(5)
    assert {(k, p) for k, p, _ in snapshot.rows} == {("shop", "clickandco"),
                                                     ("shop", "tout_toulouse")}


def test_a_second_full_build_keeps_ids_and_replaces_everything(normalized: Catalog) -> None:
    _full(normalized)
    before = normalized.entities.membership()
    _full(normalized)
    assert normalized.entities.membership() == before
    assert normalized.entities.count() == 7


def test_write_build_replaces_only_what_it_is_given(normalized: Catalog) -> None:
    _full(normalized)
    cleans = {f"{c.source}:{c.source_id}": c for c in load_cleans(normalized)}
    result = link(list(cleans.values()), SETTINGS, previous=normalized.entities.membership())
    records = entity_records(result, cleans, SETTINGS)
    cheese = result.membership["clickandco:s2"]
    only = {cheese: records[cheese]}
    only[cheese]["name"] = "Fromagerie Xavier (rénovée)"
    write_build(normalized, result, only, 2, relinked=["clickandco:s2"])
    assert normalized.entities.get(cheese)["name"] == "Fromagerie Xavier (rénovée)"
    assert normalized.entities.count() == 7  # the others stay as they were
    bakery = result.membership["clickandco:s1"]
    write_build(normalized, result, {}, 3, relinked=[], removed_entities=[bakery])
    assert normalized.entities.get(bakery) is None
    assert "clickandco:s1" not in normalized.entities.membership()


def test_decisions_are_read_for_the_linker(small_catalog: Catalog) -> None:
    small_catalog.matching.record_decision("tout_toulouse:t1", "clickandco:s1", "split")
    small_catalog.matching.record_decision("clickandco:p1", "clickandco:p2", "merge")
    decisions = load_decisions(small_catalog)
    assert frozenset(("clickandco:s1", "tout_toulouse:t1")) in decisions.split
    assert frozenset(("clickandco:p1", "clickandco:p2")) in decisions.merge


def test_block_rows_key_shops_by_their_blocks_and_offers_by_their_shop(
        normalized: Catalog) -> None:
    cleans = load_cleans(normalized)
    names = TokenStats(shop_features(c).name_tokens for c in cleans if c.kind == "shop")
    titles = TokenStats(product_features(c).title_tokens for c in cleans if c.kind == "product")
    rows = block_rows(cleans, names, titles)
    assert len(rows) == len(set(rows))  # each block once per listing
    blocks: dict[tuple[str, str], set[str]] = {}
    for block, source, source_id in rows:
        blocks.setdefault((source, source_id), set()).add(block)
    assert set(blocks) == {(c.source, c.source_id) for c in cleans}
    # the one bakery on two platforms shares its phone, SIREN, address and place cell
    shared = blocks[("clickandco", "s1")] & blocks[("tout_toulouse", "t1")]
    assert {"ph:+33561000001", "siren:732829320", "addr:pc:31000:rue taur:3"} <= shared
    assert any(b.startswith("geo:") for b in shared)
    assert not blocks[("clickandco", "s2")] & blocks[("clickandco", "s1")]  # another shop
    # an offer is keyed by its shop, and by its product keys within that shop listing:
    # offers are compared within their shop
    for key in (("clickandco", "p1"), ("clickandco", "p3")):
        assert "shop:clickandco:s1" in blocks[key]
        assert blocks[key] - {"shop:clickandco:s1"} and all(
            b.startswith("offer:clickandco:s1|") for b in blocks[key] - {"shop:clickandco:s1"})
    assert "offer:clickandco:s1|tok:baguette" in blocks[("clickandco", "p1")]
    assert "shop:tout_toulouse:t1" in blocks[("tout_toulouse", "q1")]
    assert not {b for b in blocks[("tout_toulouse", "q1")] if b.startswith("offer:")
                and not b.startswith("offer:tout_toulouse:t1|")}


def test_block_rows_mark_the_cells_of_shops_without_a_street_number(
        normalized: Catalog) -> None:
    """Nearness pairs an addressed shop with addressless ones only: their cells are keyed
    a second time, so an incremental build reads no other shop of a dense quarter."""
    cleans = load_cleans(normalized)
    names = TokenStats(shop_features(c).name_tokens for c in cleans if c.kind == "shop")
    titles = TokenStats(product_features(c).title_tokens for c in cleans if c.kind == "product")
    addressed = {b for b, _, _ in block_rows(cleans, names, titles)}
    assert any(b.startswith("geo:") for b in addressed)
    assert not any(b.startswith(NEAR_ADDRESSLESS) for b in addressed)
    vague = normalize_listing(dict(listings()[2], source_id="s9", address="place Victor Hugo"))
    blocks = {b for b, _, _ in block_rows([vague], names, titles)}
    cell = next(b for b in blocks if b.startswith("geo:"))
    assert NEAR_ADDRESSLESS + cell in blocks
