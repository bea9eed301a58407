"""The linker on the replicas' truth and on hand-made hard cases."""

from __future__ import annotations

from dedup.evaluation import pairwise_scores
from dedup.features import listing_key
from dedup.linker import link
from dedup.settings import load_settings
from normalizer import normalize_listing
from replicas.truth import expected_listings, truth_rows

SETTINGS = load_settings()


def test_replica_world_is_linked_almost_perfectly() -> None:
    listings = list(expected_listings(seed=3, shops=300))
    result = link([normalize_listing(x) for x in listings], SETTINGS)
    truth_shop, truth_offer = {}, {}
    for kind, source, source_id, entity in truth_rows(seed=3, shops=300):
        (truth_shop if kind == "shop" else truth_offer)[listing_key(source, source_id)] = entity
    shops = pairwise_scores(result.membership, truth_shop)
    offers = pairwise_scores(result.membership, truth_offer)
    assert shops.f1 >= 0.98, shops.line()
    assert offers.f1 >= 0.95, offers.line()
    stats = result.stats()
    assert stats["candidate_pairs"]["shop"] < stats["all_pairs"]["shop"] / 20


def _shop(source: str, sid: str, **fields: object) -> dict:
    return {"kind": "shop", "source": source, "source_id": sid, **fields}


def test_chain_shops_and_market_stalls_stay_apart() -> None:
    rows = [
        _shop("a", "1", name="Cave & Co", address="3 rue de Metz", postcode="31000",
              city="Toulouse", siret="84281650600013", phone="05 61 00 00 01"),
        _shop("b", "1", name="CAVE ET CO SARL", address="3 r. de Metz", postcode="31000",
              city="TOULOUSE", phone="0561000001"),
        _shop("a", "2", name="Cave & Co", address="1 place des Arts", postcode="31700",
              city="Blagnac", siret="84281650600021", phone="05 61 00 00 02"),
        _shop("a", "3", name="Poissonnerie Leclerc", address="place Victor-Hugo",
              postcode="31000", city="Toulouse", phone="05 61 00 00 03"),
        _shop("b", "3", name="Primeur Garnier", address="place Victor-Hugo", postcode="31000",
              city="Toulouse", phone="05 61 00 00 04"),
    ]
    result = link([normalize_listing(r) for r in rows], SETTINGS)
    e = result.entity_of
    assert e("a", "1") == e("b", "1")
    assert e("a", "1") != e("a", "2")
    assert e("a", "3") != e("b", "3")


def test_sizes_of_one_product_stay_apart_and_offers_need_their_shop() -> None:
    shop = [_shop(s, "s", name="Fromagerie Xavier", phone="05 61 22 33 44", postcode="31000",
                  address="6 place Victor-Hugo") for s in ("a", "b")]
    products = [
        {"kind": "product", "source": s, "source_id": f"{s}{n}", "title": title,
         "price": price, "shop_source_id": "s"}
        for s in ("a", "b") for n, (title, price) in enumerate(
            (("Roquefort AOP 100 g", "3,90 €"), ("Roquefort AOP 250 g", "8,90 €")))]
    result = link([normalize_listing(r) for r in shop + products], SETTINGS)
    e = result.entity_of
    assert e("a", "a0") == e("b", "b0") and e("a", "a1") == e("b", "b1")
    assert e("a", "a0") != e("a", "a1")
    assert result.offer_shop[e("a", "a0")] == e("a", "s")


def test_ids_are_stable_from_one_run_to_the_next() -> None:
    listings = [normalize_listing(x) for x in expected_listings(seed=4, shops=80)]
    first = link(listings, SETTINGS)
    second = link(listings[:-3], SETTINGS, previous=first.membership)
    same = sum(1 for k, v in second.membership.items() if first.membership[k] == v)
    assert same / len(second.membership) > 0.99
