"""The Toulouse Boutiques replica: its pages, its records, drift and broken pages."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.platforms.toulouse_boutiques import (
    BAD_SUFFIX,
    FOOTER,
    PAGE_SIZE,
    ToulouseBoutiques,
    category_slug,
)
from replicas.world import World

SEED, SHOPS = 7, 120


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(SEED, SHOPS)


@pytest.fixture(scope="module")
def platform(world: World) -> ToulouseBoutiques:
    return ToulouseBoutiques(world)


@pytest.fixture(scope="module")
def client(platform: ToulouseBoutiques) -> Client:
    return Client(platform.wsgi())


def text(client: Client, url: str, **environ: object) -> str:
    response = client.get(url, environ_overrides=environ)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def links(html: str, prefix: str) -> list[str]:
    pattern = 'href="(' + re.escape(prefix) + '[^"]*)"'
    return [h.replace("&amp;", "&") for h in re.findall(pattern, html)]


def test_home_links_every_category_with_its_count(client: Client,
                                                  platform: ToulouseBoutiques) -> None:
    html = text(client, "/")
    cats = links(html, "/categorie/")
    shops = [r for r in platform.records if r.kind == "shop"]
    by_cat = Counter(category_slug(r.native["trade"]) for r in shops)
    assert set(by_cat) <= {c.removeprefix("/categorie/") for c in cats}
    for cat, count in by_cat.items():
        assert f'href="/categorie/{cat}"' in html
        assert re.search(rf'/categorie/{cat}">[^<]+</a> <span class="nombre">\({count}\)', html)
    assert html.rstrip().endswith("</html>") and FOOTER in html


@pytest.mark.parametrize("page_size", [PAGE_SIZE, 3])
def test_category_pages_list_every_shop_once(world: World, page_size: int) -> None:
    platform = ToulouseBoutiques(world)
    platform.page_size = page_size
    client = Client(platform.wsgi())
    shops = {r.source_id: r for r in platform.records if r.kind == "shop"}
    found: list[str] = []
    for cat in links(text(client, "/"), "/categorie/"):
        url, pages = cat, 0
        while url:
            html = text(client, url)
            pages += 1
            page_shops = links(html, "/boutique/")
            assert len(page_shops) <= page_size
            found += [s.removeprefix("/boutique/") for s in page_shops]
            total = int(re.search(r'<p class="total">(\d+) boutiques?</p>', html).group(1))
            nxt = re.search(r'<a rel="next" href="([^"]+)">Page suivante</a>', html)
            url = nxt.group(1) if nxt else None
        assert pages == max(1, -(-total // page_size))
    assert sorted(found) == sorted(shops)


def test_pagination_drift_shifts_the_window() -> None:
    platform = ToulouseBoutiques(World.generate(SEED, 500))
    client = Client(platform.wsgi())
    big = max(platform._index.categories.items(), key=lambda kv: len(kv[1][1]))
    cat, (_, entries) = big
    size = platform.page_size = 5
    assert len(entries) > 2 * size + 3, "the test world needs a category of 3+ pages"
    slugs = [e.slug for e in entries]

    def page2(drift: int) -> list[str]:
        html = text(client, f"/categorie/{cat}?page=2", **{"replica.drift": drift})
        return [s.removeprefix("/boutique/") for s in links(html, "/boutique/")]

    assert page2(0) == slugs[size:2 * size]
    assert page2(2) == slugs[size - 2:2 * size - 2]  # inserted ahead: repeats
    assert page2(-3) == slugs[size + 3:2 * size + 3]  # removed ahead: skips
    assert f"{len(entries)} boutiques" in text(client, f"/categorie/{cat}?page=2",
                                               **{"replica.drift": -3})


def test_shop_page_shows_the_record(client: Client, platform: ToulouseBoutiques) -> None:
    record = next(r for r in platform.records if r.kind == "shop"
                  and platform._index.products_of[r.source_id])
    html = text(client, record.fields["url"])
    f = record.fields
    assert f"<h1>{f['name'].replace('&', '&amp;').replace(chr(39), '&#x27;')}</h1>" in html
    assert f"{f['address']}, {f['postcode']} {f['city']}".replace("'", "&#x27;") in html
    assert f['phone'] in html and f['opening_hours'] in html
    for product in platform._index.products_of[record.source_id]:
        assert f'href="{product.fields["url"]}"' in html
        assert f'href="/panier/ajouter?produit={product.source_id}"' in html
    assert f'href="/boutique/{record.source_id}/avis"' in html
    assert 'href="/compte"' in html and 'action="/recherche"' in html


def test_product_page_shows_the_record(client: Client, platform: ToulouseBoutiques) -> None:
    record = next(r for r in platform.records if r.kind == "product" and "gtin" in r.fields)
    html = text(client, record.fields["url"])
    assert f"EAN : {record.fields['gtin']}" in html
    assert f'<p class="prix">{record.fields["price"]}</p>' in html
    assert record.fields["availability"] in ("En stock", "Stock limité", "Rupture de stock")
    assert f'href="/boutique/{record.fields["shop_source_id"]}"' in html
    # a wrong slug redirects to the product's own URL
    pid = record.source_id
    response = Client(platform.wsgi()).get(f"/produit/{pid}-autre-chose")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(record.fields["url"])


def test_every_listing_url_is_served(client: Client, platform: ToulouseBoutiques) -> None:
    for record in platform.records:
        html = text(client, record.fields["url"])
        assert html.rstrip().endswith("</html>") and FOOTER in html


def test_robots_and_disallowed_pages(client: Client) -> None:
    robots = text(client, "/robots.txt")
    for rule in ("/panier", "/compte", "/recherche", "/boutique/*/avis"):
        assert f"Disallow: {rule}\n" in robots
    assert client.get("/compte").status_code == 200
    assert client.get("/nulle-part").status_code == 404
    assert client.get("/boutique/inconnue").status_code == 404


def test_truth_has_one_row_per_record_and_ids_do_not_collide(
        platform: ToulouseBoutiques) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records)
    ids = [sid for _, _, sid, _ in truth]
    assert len(ids) == len(set(ids))
    shop_ids = {r.source_id for r in platform.records if r.kind == "shop"}
    for record in platform.records:
        if record.kind == "shop":
            assert re.fullmatch(r"[a-z0-9-]*[a-z][a-z0-9-]*", record.source_id)
            assert record.entity_id.startswith("shop:")
        else:
            assert record.source_id.isdigit()
            assert record.entity_id.startswith("offer:")
            assert record.fields["shop_source_id"] in shop_ids
    kinds = Counter(r.kind for r in platform.records)
    assert kinds["shop"] > 20 and kinds["product"] > 100


def test_expected_listings_are_already_in_contract_form(platform: ToulouseBoutiques) -> None:
    for item in platform.expected_listings():
        assert validate_listing(item) == item
        assert item["url"].startswith(platform.base_url + "/")


def test_noise_is_there(world: World) -> None:
    platform = ToulouseBoutiques(World.generate(SEED, 600))
    shops = [r for r in platform.records if r.kind == "shop"]
    phones = Counter("." in r.fields["phone"] for r in shops)
    assert phones[True] and phones[False]
    assert any(re.match(r"\d+\s?\w*\s(r\.|R\.|r|bd|Bd|av\.|Av\.|ave|pl\.|Pl\.)\s",
                        r.fields["address"]) for r in shops)
    assert any(r.fields["name"].isupper() for r in shops)
    assert any("Click & Collect" in r.fields.get("services", ()) for r in shops)
    assert any(r.fields["opening_hours"].startswith("Du ") for r in shops)


def test_same_world_renders_identically_twice() -> None:
    a = ToulouseBoutiques(World.generate(SEED, SHOPS))
    b = ToulouseBoutiques(World.generate(SEED, SHOPS))
    assert [(r.kind, r.source_id, r.entity_id, r.fields) for r in a.records] == \
        [(r.kind, r.source_id, r.entity_id, r.fields) for r in b.records]
    ca, cb = Client(a.wsgi()), Client(b.wsgi())
    for record in a.records[:40]:
        assert ca.get(record.fields["url"]).data == cb.get(record.fields["url"]).data
    assert ca.get("/").data == cb.get("/").data


def test_epoch_one_changes_some_records_and_keeps_the_rest() -> None:
    before = {r.source_id: r for r in ToulouseBoutiques(World.generate(SEED, SHOPS)).records}
    after = {r.source_id: r for r in
             ToulouseBoutiques(World.generate(SEED, SHOPS, epoch=1)).records}
    added, removed = set(after) - set(before), set(before) - set(after)
    changed = {k for k in set(before) & set(after) if before[k].fields != after[k].fields}
    assert added or removed
    assert changed
    assert len(changed) + len(added) + len(removed) < len(before) // 3
    for key in set(before) & set(after):  # an id always names the same thing
        assert before[key].entity_id == after[key].entity_id


def test_set_world_serves_the_new_epoch() -> None:
    platform = ToulouseBoutiques(World.generate(SEED, SHOPS))
    client = Client(platform.wsgi())
    old = {r.source_id for r in platform.records}
    platform.set_world(World.generate(SEED, SHOPS, epoch=1))
    new = {r.source_id: r for r in platform.records}
    for sid in old - set(new):
        url = f"/boutique/{sid}" if not sid.isdigit() else None
        if url:
            assert client.get(url).status_code == 404
    for sid in set(new) - old:
        assert client.get(new[sid].fields["url"]).status_code == 200


def test_bad_records_are_linked_broken_and_not_in_the_truth(world: World) -> None:
    platform = ToulouseBoutiques(world, faults=FaultProfile.parse("bad=0.2"))
    client = Client(platform.wsgi())
    bad = platform._index.bad_shops
    assert bad
    truth_ids = {sid for _, _, sid, _ in platform.truth()}
    assert truth_ids == {r.source_id for r in ToulouseBoutiques(world).records}
    listed: set[str] = set()
    for cat in links(text(client, "/"), "/categorie/"):
        url = cat
        while url:
            html = text(client, url)
            listed |= {s.removeprefix("/boutique/") for s in links(html, "/boutique/")}
            nxt = re.search(r'<a rel="next" href="([^"]+)">', html)
            url = nxt.group(1) if nxt else None
    for slug in bad:
        assert slug.endswith(BAD_SUFFIX) and slug in listed and slug not in truth_ids
        html = text(client, f"/boutique/{slug}")
        assert "<h1></h1>" in html and FOOTER in html


def test_classify() -> None:
    platform = ToulouseBoutiques(World.generate(SEED, 40))
    assert platform.classify("/robots.txt") is None
    assert platform.classify("/categorie/primeurs") == ("html", True)
    assert platform.classify("/boutique/x") == ("html", False)
    assert platform.classify("/produit/100001-x") == ("html", False)
