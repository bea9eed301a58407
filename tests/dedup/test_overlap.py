"""Overlap statistics checked against the replicas' truth and small hand-made cases.

The world's truth stands in for the matcher's clusters: every count of the
report must equal what plain set operations on the truth give, exactly.
"""

from __future__ import annotations

import doctest
from collections import Counter, defaultdict
from itertools import combinations

import pytest

import dedup.overlap
from dedup.overlap import (
    Membership,
    OverlapReport,
    changes_over_time,
    compute_overlap,
    tables,
    text_tables,
)
from replicas.world import PLATFORMS, World, stable_hash

SEED, SHOPS = 5, 300


# --------------------------------------------------------------------------- truth
def phone_on(shop, platform: str) -> str:
    # Géo'local31 keeps an old number for some shops: a deterministic conflict.
    if platform == "geolocal31" and shop.index % 7 == 0:
        return "+33500000000"
    return "+33" + shop.phone[1:]


def address_on(shop, platform: str) -> str:
    key = f"{shop.street_line}|{shop.postcode}".lower()
    return key + " (ancienne)" if platform == "dansmazone" and shop.index % 5 == 0 else key


def hours_on(shop, platform: str) -> str | None:
    if platform == "clickandco":
        return None  # this platform shows no hours: never compared
    text = ";".join(f"{d[0]}-{d[1]} {a}-{b}" for d, a, b in shop.hours.spans)
    return text + "!" if platform == "toulouse_boutiques" and shop.index % 4 == 0 else text


def price_on(offer, platform: str) -> int:
    return offer.price_cents + (stable_hash(offer.entity_id, platform) % 3) * 10


def truth_memberships(world: World) -> list[Membership]:
    out = []
    for p in PLATFORMS:
        for shop in world.shops_on(p):
            shop_m = Membership(
                "shop", p, f"{p}:s{shop.index}", shop.entity_id, commune=shop.commune,
                category=shop.trade, phone=phone_on(shop, p), address_key=address_on(shop, p),
                opening_hours=hours_on(shop, p))
            out.append(shop_m)
            if p == "dansmazone" and shop.index % 25 == 0:  # listed twice by the platform
                out.append(Membership("shop", p, f"{p}:s{shop.index}bis", shop.entity_id,
                                      commune=shop.commune, category=shop.trade))
        for offer in world.offers_on(p):
            shop = world.shops[offer.shop]
            out.append(Membership(
                "offer", p, f"{p}:{offer.entity_id}", offer.entity_id,
                shop_entity_id=shop.entity_id, category=world.product(offer).trade,
                price_cents=price_on(offer, p)))  # no commune: taken from the shop
            if p == "toulouse_boutiques" and offer.product % 11 == 0:
                # A second listing with another price: the first price read counts.
                out.append(Membership("offer", p, f"{p}:{offer.entity_id}:2", offer.entity_id,
                                      shop_entity_id=shop.entity_id,
                                      price_cents=price_on(offer, p) + 990))
    return out


class Truth:
    """The expected figures, by plain set operations on the world."""

    def __init__(self, world: World, commune: str | None = None,
                 category: str | None = None) -> None:
        def keep(shop) -> bool:
            return (commune is None or shop.commune == commune) and \
                (category is None or shop.trade == category)

        self.shop = {s.entity_id: s for s in world.shops}
        self.shops_on = {p: {s.entity_id for s in world.shops_on(p) if keep(s)}
                         for p in PLATFORMS}
        # Offers carry no commune (they take their shop's) and their product's category.
        self.offers_on = {p: {o.entity_id for o in world.offers_on(p)
                              if (commune is None or world.shops[o.shop].commune == commune)
                              and (category is None or world.product(o).trade == category)}
                          for p in PLATFORMS}
        self.offer = {o.entity_id: o for o in world.offers}
        self.shop_of_offer = {o.entity_id: world.shops[o.shop] for o in world.offers}
        self.offer_trade = {o.entity_id: world.product(o).trade for o in world.offers}
        self.shop_platforms = self._by_entity(self.shops_on)
        self.offer_platforms = self._by_entity(self.offers_on)

    @staticmethod
    def _by_entity(on: dict[str, set[str]]) -> dict[str, frozenset[str]]:
        sets: dict[str, set[str]] = defaultdict(set)
        for p, ids in on.items():
            for e in ids:
                sets[e].add(p)
        return {e: frozenset(ps) for e, ps in sets.items()}


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=SEED, shops=SHOPS)


@pytest.fixture(scope="module")
def memberships(world: World) -> list[Membership]:
    return truth_memberships(world)


@pytest.fixture(scope="module")
def report(memberships: list[Membership]) -> OverlapReport:
    return compute_overlap(memberships, platforms=PLATFORMS)


# --------------------------------------------------------------------------- against the truth
def check_counts(report: OverlapReport, truth: Truth) -> None:
    """Platforms, pairs, intersections and totals equal the truth's set operations."""
    shops_on, offers_on = truth.shops_on, truth.offers_on
    assert report.platform_keys == PLATFORMS
    assert report.total_shops == len(truth.shop_platforms)
    assert report.total_offers == len(truth.offer_platforms)
    assert report.multi_platform_shops == sum(len(ps) > 1 for ps in truth.shop_platforms.values())
    assert report.multi_platform_offers == sum(
        len(ps) > 1 for ps in truth.offer_platforms.values())

    for row in report.platforms:
        p = row.platform
        others = set().union(*(shops_on[q] for q in PLATFORMS if q != p))
        other_offers = set().union(*(offers_on[q] for q in PLATFORMS if q != p))
        assert row.shops == len(shops_on[p])
        assert row.offers == len(offers_on[p])
        assert row.exclusive_shops == len(shops_on[p] - others)
        assert row.shared_shops == len(shops_on[p] & others)
        assert row.exclusive_offers == len(offers_on[p] - other_offers)
        assert row.share_shared == (len(shops_on[p] & others) / len(shops_on[p])
                                    if shops_on[p] else 0.0)

    for rows, on in ((report.pairs_shops, shops_on), (report.pairs_offers, offers_on)):
        assert [(r.platform_a, r.platform_b) for r in rows] == list(combinations(PLATFORMS, 2))
        for r in rows:
            a, b = on[r.platform_a], on[r.platform_b]
            assert r.both == len(a & b)
            assert r.jaccard == (len(a & b) / len(a | b) if a | b else 0.0)
            assert r.a_in_b == (len(a & b) / len(a) if a else 0.0)
            assert r.b_in_a == (len(a & b) / len(b) if b else 0.0)

    assert report.intersections_shops == dict(Counter(truth.shop_platforms.values()))
    assert report.intersections_offers == dict(Counter(truth.offer_platforms.values()))
    # Exact intersections partition the entities.
    assert sum(report.intersections_shops.values()) == report.total_shops


def check_breakdowns(report: OverlapReport, truth: Truth) -> None:
    for attr, rows in (("commune", report.by_commune), ("trade", report.by_category)):
        shops_by: dict[str, set[str]] = defaultdict(set)
        for e in truth.shop_platforms:
            shops_by[getattr(truth.shop[e], attr)].add(e)
        offers_by: dict[str, set[str]] = defaultdict(set)
        for e in truth.offer_platforms:
            key = truth.shop_of_offer[e].commune if attr == "commune" else truth.offer_trade[e]
            offers_by[key].add(e)
        assert {r.key for r in rows} == set(shops_by) | set(offers_by)
        for r in rows:
            group = shops_by.get(r.key, set())
            assert r.shops == len(group)
            multi = sum(len(truth.shop_platforms[e]) > 1 for e in group)
            assert r.multi_platform_shops == multi
            assert r.share_multi == (multi / len(group) if group else 0.0)
            assert r.offers == len(offers_by.get(r.key, set()))
            assert r.multi_platform_offers == sum(
                len(truth.offer_platforms[e]) > 1 for e in offers_by.get(r.key, set()))
            assert r.per_platform == {p: len(group & truth.shops_on[p]) for p in PLATFORMS}


def test_counts_equal_the_truth(report: OverlapReport, world: World) -> None:
    truth = Truth(world)
    check_counts(report, truth)
    # geolocal31 is a shop locator: it has shops and no offers.
    geo = next(r for r in report.platforms if r.platform == "geolocal31")
    assert geo.shops > 0 and geo.offers == 0 and geo.exclusive_offers == 0
    assert all(r.both == 0 and r.jaccard == 0.0 for r in report.pairs_offers
               if "geolocal31" in (r.platform_a, r.platform_b))


def test_breakdowns_equal_the_truth(report: OverlapReport, world: World) -> None:
    check_breakdowns(report, Truth(world))
    assert sum(r.shops for r in report.by_commune) == report.total_shops
    assert sum(r.offers for r in report.by_category) == report.total_offers


@pytest.mark.parametrize("commune, category", [
    ("Toulouse", None), ("toulouse", None), (None, "boulangerie"),
    ("Toulouse", "boulangerie"), ("Castanet-Tolosan", None), ("Nowhere", None),
])
def test_filters_equal_the_truth(memberships: list[Membership], world: World,
                                 commune: str | None, category: str | None) -> None:
    report = compute_overlap(memberships, platforms=PLATFORMS, commune=commune,
                             category=category)
    truth = Truth(world, commune=commune.title() if commune else None, category=category)
    check_counts(report, truth)
    check_breakdowns(report, truth)
    if commune == "Nowhere":
        assert report.total_shops == 0 and report.by_commune == []
    if commune:
        assert f"« {commune} »" in report.methods["platforms"]


def test_duplicate_listings_count_once(report: OverlapReport, world: World) -> None:
    dup_shops = sum(1 for s in world.shops_on("dansmazone") if s.index % 25 == 0)
    dup_offers = sum(1 for o in world.offers_on("toulouse_boutiques") if o.product % 11 == 0)
    assert dup_shops and dup_offers
    by = {r.platform: r for r in report.platforms}
    assert by["dansmazone"].duplicate_shop_listings == dup_shops
    assert by["toulouse_boutiques"].duplicate_offer_listings == dup_offers
    assert by["dansmazone"].duplicate_listings == dup_shops + by[
        "dansmazone"].duplicate_offer_listings
    assert sum(r.duplicate_listings for r in report.platforms) == dup_shops + dup_offers


def test_price_differences_equal_the_truth(report: OverlapReport, world: World) -> None:
    truth = Truth(world)
    prices = {e: {p: price_on(truth.offer[e], p) for p in PLATFORMS if p in ps}
              for e, ps in truth.offer_platforms.items()}
    diff = report.price_differences
    assert diff.offers_multi_platform == sum(len(ps) > 1 for ps in prices.values())
    assert diff.offers_compared == diff.offers_multi_platform  # every listing has a price
    differing = {e for e, ps in prices.items() if len(set(ps.values())) > 1}
    assert diff.offers_differing == len(differing) > 0
    assert {r.offer_entity_id for r in diff.offers} == differing
    for r in diff.offers:
        assert r.prices == prices[r.offer_entity_id]
        assert (r.min_cents, r.max_cents) == (min(r.prices.values()), max(r.prices.values()))
        assert r.spread_pct == pytest.approx((r.max_cents - r.min_cents) / r.min_cents * 100)
        assert set(r.cheapest) == {p for p, v in r.prices.items() if v == r.min_cents}
    for r in diff.pairs:
        a, b = r.platform_a, r.platform_b
        both = [(ps[a], ps[b]) for ps in prices.values() if a in ps and b in ps]
        gaps = [abs(x - y) for x, y in both if x != y]
        pcts = [abs(x - y) / min(x, y) * 100 for x, y in both if x != y]
        assert r.both == len(both)
        assert r.differing == len(gaps)
        assert r.a_dearer == sum(x > y for x, y in both)
        assert r.b_dearer == sum(x < y for x, y in both)
        assert r.max_abs_diff_cents == max(gaps, default=0)
        assert r.mean_abs_diff_cents == pytest.approx(sum(gaps) / len(gaps) if gaps else 0.0)
        assert r.mean_abs_diff_pct == pytest.approx(sum(pcts) / len(pcts) if pcts else 0.0)
        assert r.max_abs_diff_pct == pytest.approx(max(pcts, default=0.0))


def test_conflicts_equal_the_truth(report: OverlapReport, world: World) -> None:
    truth = Truth(world)
    getters = {"phone": phone_on, "address": address_on, "hours": hours_on}
    assert len(report.conflicts) == 3 * len(list(combinations(PLATFORMS, 2)))
    for r in report.conflicts:
        get = getters[r.field]
        values = [(get(truth.shop[e], r.platform_a), get(truth.shop[e], r.platform_b))
                  for e in truth.shops_on[r.platform_a] & truth.shops_on[r.platform_b]]
        values = [(x, y) for x, y in values if x is not None and y is not None]
        assert (r.compared, r.differing) == (len(values), sum(x != y for x, y in values))
    geo_phone = [r for r in report.conflicts if r.field == "phone" and "geolocal31" in
                 (r.platform_a, r.platform_b)]
    assert any(r.differing for r in geo_phone)
    assert all(r.compared == 0 for r in report.conflicts
               if r.field == "hours" and "clickandco" in (r.platform_a, r.platform_b))


def test_changes_over_time_equal_the_truth() -> None:
    worlds = [World.generate(seed=SEED, shops=SHOPS, epoch=k) for k in range(3)]
    snapshots = [(f"run{k}", truth_memberships(w)) for k, w in enumerate(worlds)]
    rows = changes_over_time(snapshots, platforms=PLATFORMS)
    assert len(rows) == 2 * len(PLATFORMS)
    moved = 0
    for row in rows:
        k = int(row.to_label[-1])
        assert row.from_label == f"run{k - 1}"
        before, after = worlds[k - 1], worlds[k]
        p = row.platform
        sb = {s.entity_id for s in before.shops_on(p)}
        sa = {s.entity_id for s in after.shops_on(p)}
        ob = {o.entity_id for o in before.offers_on(p)}
        oa = {o.entity_id for o in after.offers_on(p)}
        assert (row.shops_before, row.shops_after) == (len(sb), len(sa))
        assert (row.shops_joined, row.shops_left) == (len(sa - sb), len(sb - sa))
        assert (row.offers_before, row.offers_after) == (len(ob), len(oa))
        assert (row.offers_joined, row.offers_left) == (len(oa - ob), len(ob - oa))
        moved += row.shops_joined + row.shops_left
    assert moved > 0  # the world does move between epochs


# --------------------------------------------------------------------------- hand-made cases
def shop(p: str, sid: str, entity: str, **kw: object) -> Membership:
    return Membership("shop", p, sid, entity, **kw)  # type: ignore[arg-type]


def offer(p: str, sid: str, entity: str, shop_entity: str, price: int | None = None,
          **kw: object) -> Membership:
    return Membership("offer", p, sid, entity, shop_entity_id=shop_entity,  # type: ignore[arg-type]
                      price_cents=price, **kw)


SMALL = [
    shop("a", "a1", "s1", commune="Toulouse", category="librairie"),
    shop("b", "b1", "s1", commune="Toulouse", category="librairie"),
    shop("a", "a2", "s2", commune="Labège", category="fleuriste"),
    shop("a", "a3", "s3", commune="Toulouse", category="fleuriste"),
    shop("b", "b3", "s3", commune="Toulouse", category="fleuriste"),
    shop("c", "c3", "s3", commune="Toulouse", category="fleuriste"),
    shop("c", "c4", "s4", commune="Labège", category="librairie"),
    offer("a", "ao1", "o1", "s1", 1000),
    offer("b", "bo1", "o1", "s1", 1200),
    offer("a", "ao2", "o2", "s3", 500),
    offer("b", "bo2", "o2", "s3", 500),
    offer("c", "co2", "o2", "s3", 450),
    offer("c", "co3", "o3", "s4", 990),
]


def test_small_case_by_hand() -> None:
    r = compute_overlap(SMALL)
    assert r.platform_keys == ("a", "b", "c")
    assert (r.total_shops, r.total_offers, r.multi_platform_shops) == (4, 3, 2)
    rows = {x.platform: x for x in r.platforms}
    assert (rows["a"].shops, rows["a"].offers, rows["a"].exclusive_shops,
            rows["a"].shared_shops) == (3, 2, 1, 2)
    assert (rows["b"].shops, rows["b"].exclusive_shops, rows["b"].share_shared) == (2, 0, 1.0)
    assert (rows["c"].shops, rows["c"].exclusive_shops, rows["c"].exclusive_offers) == (2, 1, 1)
    ab, ac, bc = r.pairs_shops
    assert (ab.platform_a, ab.platform_b, ab.both, ab.jaccard, ab.a_in_b, ab.b_in_a) == \
        ("a", "b", 2, 2 / 3, 2 / 3, 1.0)
    assert (ac.both, ac.jaccard, ac.a_in_b, ac.b_in_a) == (1, 0.25, 1 / 3, 0.5)
    assert (bc.both, bc.jaccard) == (1, 1 / 3)
    assert r.intersections_shops == {frozenset("ab"): 1, frozenset("a"): 1,
                                     frozenset("abc"): 1, frozenset("c"): 1}
    assert r.intersections_offers == {frozenset("ab"): 1, frozenset("abc"): 1,
                                      frozenset("c"): 1}
    by_commune = {x.key: x for x in r.by_commune}
    assert (by_commune["Toulouse"].shops, by_commune["Toulouse"].multi_platform_shops,
            by_commune["Toulouse"].offers) == (2, 2, 2)  # offers take their shop's commune
    assert by_commune["Labège"].per_platform == {"a": 1, "b": 0, "c": 1}
    price = r.price_differences
    assert (price.offers_multi_platform, price.offers_compared, price.offers_differing) == \
        (2, 2, 2)
    pab, pac, pbc = price.pairs
    assert (pab.both, pab.differing, pab.b_dearer, pab.max_abs_diff_cents,
            pab.max_abs_diff_pct) == (2, 1, 1, 200, 20.0)
    assert (pac.both, pac.differing, pac.a_dearer, pac.mean_abs_diff_cents) == (1, 1, 1, 50.0)
    assert [o.offer_entity_id for o in price.offers] == ["o1", "o2"]  # largest spread first
    assert price.offers[1].cheapest == ("c",) and price.offers[1].dearest == ("a", "b")

    lib = compute_overlap(SMALL, category="librairie")
    assert (lib.total_shops, lib.total_offers) == (2, 2)
    assert [x.exclusive_shops for x in lib.platforms] == [0, 0, 1]
    labege = compute_overlap(SMALL, commune="LABÈGE")
    assert labege.intersections_shops == {frozenset("a"): 1, frozenset("c"): 1}


def test_only_the_given_platforms_in_their_order() -> None:
    r = compute_overlap(SMALL, platforms=["c", "a", "zzz"])
    assert r.platform_keys == ("c", "a", "zzz")
    assert [(x.platform_a, x.platform_b) for x in r.pairs_shops] == \
        [("c", "a"), ("c", "zzz"), ("a", "zzz")]
    assert r.total_shops == 4  # s1 is still on a
    rows = {x.platform: x for x in r.platforms}
    assert rows["a"].exclusive_shops == 2  # s1 and s2: b is not compared
    assert (rows["zzz"].shops, rows["zzz"].offers, rows["zzz"].share_shared) == (0, 0, 0.0)
    assert r.pairs_shops[1].jaccard == r.pairs_shops[1].a_in_b == r.pairs_shops[1].b_in_a == 0.0
    assert r.intersections_shops == {frozenset("a"): 2, frozenset("ac"): 1, frozenset("c"): 1}


def test_disagreeing_communes_take_the_majority_then_platform_order() -> None:
    ms = [
        shop("a", "1", "s1", commune="Toulouse"),
        shop("b", "2", "s1", commune="Labège"),
        shop("c", "3", "s1", commune="Labège"),
        shop("a", "4", "s2", commune="Balma"),
        shop("b", "5", "s2", commune="Blagnac"),
        shop("c", "6", "s2"),  # no value: no vote
        offer("a", "7", "o1", "s2", commune="Muret"),
        offer("b", "8", "o2", "s2"),
    ]
    r = compute_overlap(ms)
    assert {x.key: x.shops for x in r.by_commune} == {"Labège": 1, "Balma": 1, "Muret": 0}
    assert {x.key: x.offers for x in r.by_commune} == {"Labège": 0, "Balma": 1, "Muret": 1}
    r = compute_overlap(ms, platforms=["b", "a", "c"])
    assert {x.key: x.shops for x in r.by_commune} == {"Labège": 1, "Blagnac": 1, "Muret": 0}
    assert "égalité tranchée par l'ordre des plateformes" in r.methods["by_commune"]


def test_duplicate_listing_counts_the_entity_once() -> None:
    ms = [
        shop("a", "1", "s1", phone="+33561000000"),
        shop("a", "2", "s1", phone="+33561999999"),  # same shop listed twice by a
        shop("a", "2", "s1"),  # the same listing read twice is no duplicate
        shop("b", "3", "s1", phone="+33561000000"),
        offer("a", "o1", "o1", "s1", 100),
        offer("a", "o1b", "o1", "s1", 900),  # the first price read counts
        offer("b", "o2", "o1", "s1", 100),
    ]
    r = compute_overlap(ms)
    a = r.platforms[0]
    assert (a.shops, a.offers, a.duplicate_shop_listings, a.duplicate_offer_listings,
            a.duplicate_listings) == (1, 1, 1, 1, 2)
    assert r.platforms[1].duplicate_listings == 0
    assert r.intersections_shops == {frozenset("ab"): 1}
    assert r.price_differences.offers_differing == 0
    phone = next(c for c in r.conflicts if c.field == "phone")
    assert (phone.compared, phone.differing) == (1, 0)


def test_empty_input() -> None:
    r = compute_overlap([])
    assert r.platform_keys == () and r.platforms == [] and r.pairs_shops == []
    assert (r.total_shops, r.total_offers, r.multi_platform_shops) == (0, 0, 0)
    assert r.intersections_shops == {} and r.by_commune == [] and r.conflicts == []
    r = compute_overlap([], platforms=["a", "b"])
    assert [(x.shops, x.share_shared) for x in r.platforms] == [(0, 0.0), (0, 0.0)]
    assert r.pairs_offers[0].jaccard == 0.0
    assert r.price_differences.pairs[0].mean_abs_diff_pct == 0.0
    assert changes_over_time([]) == [] and changes_over_time([("only", [])]) == []
    assert "Totaux" in text_tables(r)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        compute_overlap([Membership("product", "a", "1", "p1")])
    with pytest.raises(ValueError, match="at least one"):
        compute_overlap(SMALL, platforms=[])


def test_every_table_has_its_method_sentence(report: OverlapReport) -> None:
    all_tables = tables(report, changes=[])
    for name, table in all_tables.items():
        assert table.method == report.methods[name]
        assert table.method.endswith(".") and table.method.count(". ") == 0, name
        assert all(len(row) == len(table.columns) for row in table.rows), name
    for plot in ("upset_shops", "jaccard_shops", "exclusive_shops"):
        assert report.methods[plot]
    text = text_tables(report)
    assert "Boutiques par combinaison de plateformes" in text
    assert report.methods["pairs_shops"] in text


def test_docstring_examples() -> None:
    assert doctest.testmod(dedup.overlap).failed == 0
