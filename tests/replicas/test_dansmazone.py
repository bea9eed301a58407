"""The Dans Ma Zone replica: sitemaps (gzip too), JSON-LD pages, truth, determinism, epochs."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pytest
from lxml import etree, html
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.platforms.dansmazone import BAD_OFFSET, FOOTER_MARKER, DansMaZone
from replicas.world import World

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, shops=120)


@pytest.fixture(scope="module")
def platform(world: World) -> DansMaZone:
    return DansMaZone(world, faults=FaultProfile.parse("bad=0.05"))


@pytest.fixture(scope="module")
def client(platform: DansMaZone) -> Client:
    return Client(platform.wsgi())


def jsonld(body: bytes) -> list[dict]:
    tree = html.fromstring(body)
    return [json.loads(s.text) for s in tree.xpath('//script[@type="application/ld+json"]')]


def sitemap_locs(client: Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data()
    if path.endswith(".gz"):
        assert response.headers["Content-Type"] == "application/gzip"
        body = gzip.decompress(body)
    else:
        assert response.headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(body)
    assert all(e.text for e in root.iterfind(".//sm:lastmod", NS))
    return [e.text for e in root.iterfind(".//sm:loc", NS)]


# ---------------------------------------------------------------------- records / truth
def test_truth_has_one_row_per_record_with_unique_prefixed_ids(platform: DansMaZone,
                                                               world: World) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records)
    ids = [sid for _, _, sid, _ in truth]
    assert len(set(ids)) == len(ids)
    kinds = Counter(kind for kind, *_ in truth)
    assert kinds["shop"] == len(world.shops_on("dansmazone"))
    assert kinds["product"] == len(world.offers_on("dansmazone"))
    for kind, _, sid, entity in truth:
        assert sid.startswith("commerce-" if kind == "shop" else "produit-")
        assert entity.startswith("shop:" if kind == "shop" else "offer:")


def test_expected_listings_are_already_clean_contract_listings(platform: DansMaZone) -> None:
    shop_ids = {r.source_id for r in platform.records if r.kind == "shop"}
    for item in platform.expected_listings():
        assert validate_listing(item) == item
        assert item["url"].startswith(platform.base_url + "/")
        if item["kind"] == "product":
            assert item["shop_source_id"] in shop_ids
            assert re.fullmatch(r"\d+\.\d\d", item["price"])
            assert item["currency"] == "EUR"
            assert item["availability"] in ("InStock", "LimitedAvailability", "OutOfStock")
        else:
            assert len(item["categories"]) == 1 and " > " in item["categories"][0]


def test_noise_rates_look_like_an_old_regional_cms() -> None:
    platform = DansMaZone(World.generate(seed=3, shops=600))
    shops = [r.fields for r in platform.records if r.kind == "shop"]
    n = len(shops)
    share = lambda pred: sum(1 for f in shops if pred(f)) / n  # noqa: E731
    assert 0.55 < share(lambda f: "lat" in f) < 0.85  # ~30 % without coordinates
    assert 0.25 < share(lambda f: "siret" in f) < 0.55  # SIRET on ~40 %
    assert 0.12 < share(lambda f: f["city"].isupper() and len(f["city"]) > 3) < 0.45
    assert share(lambda f: f.get("phone", "").startswith("+33 ")) > 0.65


# ---------------------------------------------------------------------- web
def test_robots_points_to_the_sitemap_index_which_lists_every_page(
        platform: DansMaZone, client: Client) -> None:
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {platform.base_url}/sitemap_index.xml" in robots
    children = sitemap_locs(client, "/sitemap_index.xml")
    assert any(c.endswith(".xml.gz") and "/produits-" in c for c in children)
    assert any("/commerces-" in c for c in children)
    pages: list[str] = []
    for child in children:
        pages += sitemap_locs(client, child.removeprefix(platform.base_url))
    expected = {item["url"] for item in platform.expected_listings()}
    bad = {platform.base_url + path for _, path in platform.bad_pages()}
    assert bad and not bad & expected
    listed = [p for p in pages if "/commerce/" in p or "/produit/" in p]
    assert len(listed) == len(set(listed))
    assert set(listed) == expected | bad


def test_child_sitemaps_hold_at_most_sitemap_size_urls(world: World) -> None:
    platform = DansMaZone(world)
    platform.sitemap_size = 40
    platform.set_world(world)
    client = Client(platform.wsgi())
    children = sitemap_locs(client, "/sitemap_index.xml")
    sizes = [len(sitemap_locs(client, c.removeprefix(platform.base_url))) for c in children]
    assert max(sizes) <= 40
    assert sum(1 for c in children if c.endswith(".xml.gz")) >= 3
    assert sum(sizes) == len(platform.records) + 3  # + the static pages


def test_shop_page_carries_a_local_business_and_ends_with_the_marker(
        platform: DansMaZone, client: Client) -> None:
    seen_layouts = Counter()
    for record in [r for r in platform.records if r.kind == "shop"][:40]:
        response = client.get(record.fields["url"])
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        body = response.get_data()
        assert body.rstrip().endswith(b"</html>") and FOOTER_MARKER.encode() in body
        blocks = jsonld(body)
        seen_layouts["graph" if any("@graph" in b for b in blocks) else len(blocks)] += 1
        objects = [o for b in blocks for o in b.get("@graph", [b])]
        business = next(o for o in objects if "address" in o and o.get("@type") not in (
            "Organization",))
        assert business["name"] == record.fields["name"]
        assert business["address"]["postalCode"] == record.fields["postcode"]
    assert len(seen_layouts) >= 2  # single blocks, several blocks, @graph


def test_product_page_names_its_seller_by_the_shop_page_url(
        platform: DansMaZone, client: Client) -> None:
    record = next(r for r in platform.records if r.kind == "product")
    body = client.get(record.fields["url"]).get_data()
    objects = [o for b in jsonld(body) for o in b.get("@graph", [b])]
    product = next(o for o in objects if o.get("@type") == "Product")
    offer = product["offers"][0] if isinstance(product["offers"], list) else product["offers"]
    assert product["name"] == record.fields["title"]
    assert offer["price"] == record.fields["price"]
    shop_number = record.fields["shop_source_id"].removeprefix("commerce-")
    assert f"/commerce/{shop_number}-" in offer["seller"]["@id"]


def test_unknown_pages_are_404_and_old_slugs_redirect(platform: DansMaZone,
                                                      client: Client) -> None:
    shop = platform.records[0]
    number = shop.fields["url"].split("/")[2].split("-")[0]
    moved = client.get(f"/commerce/{number}-ancien-nom")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(shop.fields["url"])
    assert client.get("/commerce/999999-x").status_code == 404
    assert client.get("/produit/" + number).status_code in (301, 404)
    assert client.get("/sitemaps/produits-99.xml.gz").status_code == 404
    assert client.get("/").status_code == 200


def test_bad_pages_are_complete_but_broken(platform: DansMaZone, client: Client) -> None:
    kinds = Counter()
    for sid, path in platform.bad_pages():
        assert int(sid.removeprefix("produit-")) > BAD_OFFSET
        body = client.get(path).get_data()
        assert FOOTER_MARKER.encode() in body
        try:
            objects = [o for b in jsonld(body) for o in b.get("@graph", [b])]
        except json.JSONDecodeError:
            kinds["syntax"] += 1
            continue
        product = next(o for o in objects if o.get("@type") == "Product")
        assert "name" not in product
        kinds["no_name"] += 1
    assert kinds["syntax"] and kinds["no_name"]


def test_classify_faults_pages_and_sitemaps_never_robots(platform: DansMaZone) -> None:
    assert platform.classify("/robots.txt") is None
    assert platform.classify("/sitemap_index.xml") == ("html", False)
    assert platform.classify("/sitemaps/produits-1.xml.gz") == ("html", False)
    assert platform.classify("/commerce/1000-x") == ("html", False)
    assert platform.classify("/produit/10000001-x") == ("html", False)


# ---------------------------------------------------------------------- determinism / epochs
def _all_bodies(platform: DansMaZone) -> dict[str, bytes]:
    client = Client(platform.wsgi())
    paths = ["/robots.txt", "/sitemap_index.xml"]
    paths += [u.removeprefix(platform.base_url) for u in sitemap_locs(client,
                                                                      "/sitemap_index.xml")]
    paths += [r.fields["url"] for r in platform.records]
    return {p: client.get(p).get_data() for p in paths}


def test_the_same_world_renders_identically_twice(world: World) -> None:
    first = DansMaZone(world)
    second = DansMaZone(World.generate(seed=11, shops=120))
    assert [(r.source_id, r.fields) for r in first.records] == \
        [(r.source_id, r.fields) for r in second.records]
    assert _all_bodies(first) == _all_bodies(second)


def test_epoch_one_changes_some_records_and_keeps_the_others(world: World) -> None:
    platform = DansMaZone(world)
    before = {r.source_id: r for r in platform.records}
    client = Client(platform.wsgi())
    cached = {sid: client.get(r.fields["url"]).get_data() for sid, r in before.items()}
    later = World.generate(seed=11, shops=120, epoch=1)
    platform.set_world(later)
    after = {r.source_id: r for r in platform.records}
    new, gone = set(after) - set(before), set(before) - set(after)
    changed = {sid for sid in set(before) & set(after)
               if before[sid].fields != after[sid].fields}
    assert new and gone and changed
    assert len(changed) < len(after) // 3
    # a listing that changed has a newer lastmod; one that did not mostly keeps its own
    # (a price touched but rounded back to the same value still moves lastmod)
    same = set(before) & set(after) - changed
    kept = sum(after[sid].native["lastmod"] == before[sid].native["lastmod"] for sid in same)
    assert kept > 0.9 * len(same)
    for sid in changed:
        assert after[sid].native["lastmod"] > before[sid].native["lastmod"]
    # pages are rendered afresh for the new epoch
    some = next(iter(changed))
    assert client.get(after[some].fields["url"]).get_data() != cached[some]
    for sid in gone:
        assert client.get(before[sid].fields["url"]).status_code == 404


def test_a_big_world_builds_and_serves_every_product_page() -> None:
    world = World.generate(seed=5, shops=1500)
    platform = DansMaZone(world)
    client = Client(platform.wsgi())
    products = [r for r in platform.records if r.kind == "product"]
    assert len(products) > 3000
    for record in products[:300]:
        assert client.get(record.fields["url"]).status_code == 200
