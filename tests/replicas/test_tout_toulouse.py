"""The Tout Toulouse replica: its API, its pages, its records and its quirks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.platforms.tout_toulouse import ToutToulouse
from replicas.world import World

AUTH = {"Authorization": "Bearer replica-demo-token"}


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(12, 150)


@pytest.fixture(scope="module")
def platform(world: World) -> ToutToulouse:
    return ToutToulouse(world)


def get_json(client: Client, url: str, headers: dict[str, str] | None = AUTH
             ) -> tuple[int, Any]:
    response = client.get(url, headers=headers or {})
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_api_needs_the_bearer_token(platform: ToutToulouse) -> None:
    client = Client(platform.wsgi())
    status, body = get_json(client, "/api/v1/shops", headers=None)
    assert status == 401 and body["error"] == "unauthorized"
    status, _ = get_json(client, "/api/v1/products", headers={"Authorization": "Bearer nope"})
    assert status == 401
    status, body = get_json(client, "/api/v1/shops")
    assert status == 200 and set(body) == {"total", "offset", "limit", "items"}


def test_token_comes_from_the_environment(world: World,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUT_TOULOUSE_TOKEN", "s3cret")
    client = Client(ToutToulouse(world).wsgi())
    assert client.get("/api/v1/shops", headers=AUTH).status_code == 401
    assert client.get("/api/v1/shops",
                      headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_offset_pagination_sorted_by_id(platform: ToutToulouse) -> None:
    client = Client(platform.wsgi())
    status, first = get_json(client, "/api/v1/products")
    assert status == 200 and first["limit"] == 50 and len(first["items"]) == 50
    _, big = get_json(client, "/api/v1/products?limit=500&offset=0")
    assert big["limit"] == 100 and len(big["items"]) == 100
    ids: list[int] = []
    offset = 0
    while offset < first["total"]:
        _, page = get_json(client, f"/api/v1/products?offset={offset}&limit=100")
        ids += [item["id"] for item in page["items"]]
        offset += 100
    products = [r for r in platform.records if r.kind == "product"]
    assert ids == sorted(ids) and len(ids) == first["total"] == len(products)
    assert get_json(client, "/api/v1/shops?offset=-1")[0] == 400
    assert get_json(client, "/api/v1/shops?limit=abc")[0] == 400
    assert get_json(client, "/api/v1/shops?updated_since=yesterday")[0] == 400


def test_native_fields(platform: ToutToulouse) -> None:
    client = Client(platform.wsgi())
    _, shops = get_json(client, "/api/v1/shops?limit=100")
    shop = shops["items"][0]
    assert {"id", "nom", "adresse", "telephone", "geo", "categories", "services", "horaires",
            "updated_at"} <= set(shop)
    assert set(shop["adresse"]) == {"rue", "code_postal", "ville"}
    assert set(shop["services"]) == {"click_and_collect", "livraison", "livraison_locale"}
    assert {s["adresse"]["ville"] for s in shops["items"]} == {"Toulouse"}
    _, products = get_json(client, "/api/v1/products?limit=100")
    product = products["items"][0]
    assert {"id", "boutique_id", "libelle", "prix", "devise", "disponibilite", "categorie",
            "updated_at"} <= set(product)
    assert isinstance(product["prix"], float) and product["devise"] == "EUR"
    assert {p["disponibilite"] for p in products["items"]} <= {"en_stock", "stock_limite",
                                                                "epuise"}
    shop_ids = {s["id"] for s in shops["items"]}
    assert {p["boutique_id"] for p in products["items"]} <= shop_ids


def test_public_pages_at_each_url(platform: ToutToulouse) -> None:
    client = Client(platform.wsgi())
    shop = next(r for r in platform.records if r.kind == "shop")
    product = next(r for r in platform.records if r.kind == "product")
    page = client.get(shop.fields["url"])
    assert page.status_code == 200 and shop.fields["name"] in page.get_data(as_text=True)
    text = client.get(product.fields["url"]).get_data(as_text=True)
    assert product.fields["title"] in text and text.rstrip().endswith("</html>")
    assert client.get("/boutique/7").status_code == 404
    assert client.get("/robots.txt").status_code == 200


def test_truth_one_row_per_record_and_unique_ids(platform: ToutToulouse) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records)
    ids = [row[2] for row in truth]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(("boutique-", "produit-")) for i in ids)
    shop_ids = {r.source_id for r in platform.records if r.kind == "shop"}
    for record in platform.records:
        if record.kind == "product":
            assert record.fields["shop_source_id"] in shop_ids
            assert record.entity_id.startswith("offer:")
        else:
            assert record.entity_id.startswith("shop:")


def test_expected_listings_are_what_the_contract_stores(platform: ToutToulouse) -> None:
    for item in platform.expected_listings():
        assert validate_listing(item) == item
        assert item["url"].startswith(platform.base_url + "/")


def test_same_world_renders_identically(world: World) -> None:
    a, b = ToutToulouse(world), ToutToulouse(World.generate(12, 150))
    assert [(r.source_id, r.fields, r.native) for r in a.records] == \
        [(r.source_id, r.fields, r.native) for r in b.records]
    ca, cb = Client(a.wsgi()), Client(b.wsgi())
    assert ca.get("/api/v1/products?limit=100&offset=40", headers=AUTH).get_data() == \
        cb.get("/api/v1/products?limit=100&offset=40", headers=AUTH).get_data()


def test_epoch_one_changes_some_records(world: World) -> None:
    before = {r.source_id: r.fields for r in ToutToulouse(world).records}
    after = {r.source_id: r.fields for r in ToutToulouse(World.generate(12, 150, 1)).records}
    changed = [k for k in after if k in before and after[k] != before[k]]
    assert changed and set(before) - set(after) and set(after) - set(before)
    # what did not change looks exactly the same
    assert sum(1 for k in after if before.get(k) == after[k]) > 0.8 * len(after)


def test_updated_since_returns_changes_and_tombstones() -> None:
    platform = ToutToulouse(World.generate(12, 150))
    client = Client(platform.wsgi())
    before = {r.source_id: r.fields for r in platform.records}
    since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    assert get_json(client, f"/api/v1/shops?updated_since={since}")[1]["total"] == 0
    platform.set_world(World.generate(12, 150, 1))
    after = {r.source_id: r.fields for r in platform.records}
    seen: dict[str, Any] = {}
    for endpoint, prefix in (("shops", "boutique-"), ("products", "produit-")):
        _, body = get_json(client, f"/api/v1/{endpoint}?limit=100&updated_since={since}")
        assert body["total"] == len(body["items"])
        for item in body["items"]:
            seen[prefix + str(item["id"])] = item
    gone = {k for k, v in seen.items() if v.get("deleted")}
    assert gone == set(before) - set(after)
    changed = {k for k in after if before.get(k) != after[k]}
    live = set(seen) - gone
    assert changed <= live  # every change is served (some served items may be unchanged)
    # a full listing never holds tombstones
    _, full = get_json(client, "/api/v1/products?limit=100")
    assert not any(item.get("deleted") for item in full["items"])


def test_noise_rates_on_a_full_size_world() -> None:
    platform = ToutToulouse(World.generate(42, 1500))
    shops = [r for r in platform.records if r.kind == "shop"]
    n = len(shops)
    assert {r.fields["city"] for r in shops} == {"Toulouse"}
    assert 0.80 < sum("siret" in r.fields for r in shops) / n < 0.97
    assert sum("lat" not in r.fields for r in shops) / n < 0.12
    legal = sum("forme_juridique" in r.native["item"] for r in shops) / n
    assert 0.07 < legal < 0.25
    styles = Counter(" " in r.fields["phone"] for r in shops)
    assert styles[True] > styles[False] > 0
    products = [r for r in platform.records if r.kind == "product"]
    assert all(isinstance(r.fields["price"], float) for r in products)


def test_drift_shifts_the_window(platform: ToutToulouse) -> None:
    app = platform.create_app()
    client = Client(platform.wsgi())
    _, clean = get_json(client, "/api/v1/shops?offset=10&limit=5")
    drifted = Client(lambda env, sr: app({**env, "replica.drift": 2}, sr))
    _, ahead = get_json(drifted, "/api/v1/shops?offset=10&limit=5")
    assert [i["id"] for i in ahead["items"]][2:] == [i["id"] for i in clean["items"]][:3]
    assert platform.classify("/api/v1/shops") == ("json", True)
    assert platform.classify("/boutique/1000") == ("html", False)
    assert platform.classify("/robots.txt") is None


def test_bad_records_are_served_but_not_true(world: World) -> None:
    platform = ToutToulouse(world, faults=FaultProfile.parse("bad=0.05"))
    client = Client(platform.wsgi())
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert bad
    served = 0
    for endpoint in ("shops", "products"):
        _, body = get_json(client, f"/api/v1/{endpoint}?limit=100")
        total = body["total"]
        offset = 0
        while offset < total:
            _, page = get_json(client, f"/api/v1/{endpoint}?limit=100&offset={offset}")
            served += len(page["items"])
            offset += 100
    assert served == len(platform.records) + len(bad)
    assert len(list(platform.truth())) == len(platform.records)
