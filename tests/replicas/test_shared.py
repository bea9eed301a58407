"""What the replica platforms share: answers, page shells, routing, paging and drawn presence."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from replicas.geo import COMMUNES_BY_NAME
from replicas.platforms.base import Record, present
from replicas.platforms.paging import after_key, drifted_window, requested_drift
from replicas.platforms.presence import DrawnPresence
from replicas.platforms.web import (
    PageShell,
    definition_rows,
    json_response,
    routed_app,
)
from replicas.world import Offer, Shop, World
from tests.replicas.presence_rule import drawn


def test_present_keeps_what_a_crawler_stores() -> None:
    assert present({"a": None, "b": "", "c": [], "d": 0, "e": 0.0, "f": "x", "g": ["y"]}) == {
        "d": 0, "e": 0.0, "f": "x", "g": ["y"]}


def test_json_spacing_is_the_platforms_choice() -> None:
    compact = json_response({"nom": "Café", "n": [1, 2]}, 201)
    spaced = json_response({"nom": "Café", "n": [1, 2]}, compact=False)
    assert compact.status_code == 201 and compact.mimetype == "application/json"
    assert compact.get_data(as_text=True) == '{"nom":"Café","n":[1,2]}'
    assert spaced.get_data(as_text=True) == '{"nom": "Café", "n": [1, 2]}'


def test_page_shell_escapes_the_title_and_frames_the_body() -> None:
    shell = PageShell("Site", before="<main>", after="</main><footer>F</footer>")
    assert shell.render("A & B", "<p>x</p>") == (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        "<title>A &amp; B — Site</title></head><body><main><p>x</p></main>"
        "<footer>F</footer></body></html>\n")
    bare = PageShell("Site", separator="·", newlines=False).render("T", "b")
    assert bare == ('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
                    "<title>T · Site</title></head><body>b</body></html>")
    answer = shell.response("T", "b", 404)
    assert answer.status_code == 404 and answer.content_type == "text/html; charset=utf-8"


def test_routed_app_answers_api_errors_with_the_platforms_body() -> None:
    def item(request: Request, n: int) -> Response:
        if n > 3:
            raise NotFound()
        return json_response({"n": n})

    def api_error(exc: HTTPException) -> Response:
        return json_response({"erreur": exc.name}, exc.code or 500)

    urls = Map([Rule("/api/items/<int:n>", endpoint="item"), Rule("/page", endpoint="item")])
    client = Client(routed_app(urls, {"item": item}, api_error=api_error))
    assert client.get("/api/items/2").get_json() == {"n": 2}
    missing = client.get("/api/items/9")
    assert missing.status_code == 404 and missing.get_json() == {"erreur": "Not Found"}
    assert client.get("/api/nothing").get_json() == {"erreur": "Not Found"}
    elsewhere = client.get("/nothing")
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "text/html"
    html_only = Client(routed_app(urls, {"item": item}))
    assert html_only.get("/api/items/9").mimetype == "text/html"


def test_definition_rows_leave_out_empty_values() -> None:
    assert definition_rows([("A", "x<y"), ("B", None), ("C", ""), ("D", []), ("E", 2)]) == (
        "<dt>A</dt><dd>x&lt;y</dd><dt>E</dt><dd>2</dd>")


def test_drifted_window_moves_back_by_the_drift() -> None:
    items = list(range(10))
    assert drifted_window(items, 4, 3, 0) == [4, 5, 6]
    assert drifted_window(items, 4, 3, 2) == [2, 3, 4]  # two added ahead: seen again
    assert drifted_window(items, 4, 3, -2) == [6, 7, 8]  # two removed ahead: skipped
    assert drifted_window(items, 0, 3, 2) == [0]  # moved before the start: cut there
    assert drifted_window(items, 0, 3, 2, full_at_start=True) == [0, 1, 2]
    assert drifted_window(items, 9, 3, -2) == []
    assert requested_drift({"replica.drift": -2}) == -2 and requested_drift({}) == 0


def test_after_key_starts_after_the_last_key_served() -> None:
    keys = ["a", "c", "e"]
    assert [after_key(keys, k) for k in (None, "a", "b", "e", "z")] == [0, 1, 1, 3, 3]


def test_drawn_presence_follows_the_documented_rule() -> None:
    world = World.generate(3, 200)
    rule = DrawnPresence("some_site", 0.4, 0.6, zones=("toulouse",))

    shops = rule.shops(world)
    assert shops == [s for s in world.open_shops()
                     if COMMUNES_BY_NAME[s.commune].zone == "toulouse"
                     and drawn(world, "some_site", s.entity_id, 0.4)]
    assert 0 < len(shops) < len(world.open_shops())
    indexes = {s.index for s in shops}
    assert rule.offers(world, shops) == [
        o for o in world.offers
        if o.is_open and o.shop in indexes and drawn(world, "some_site", o.entity_id, 0.6)]
    everyone = DrawnPresence("some_site", 0.0, 0.0, independents=True).shops(world)
    assert everyone and all(s.independent for s in everyone)
    assert {s.index for s in everyone} == {s.index for s in world.open_shops() if s.independent}


def test_drawn_presence_records_shops_first_then_their_products() -> None:
    world = World.generate(3, 200)
    rule = DrawnPresence("some_site", 0.5, 0.5)

    def shop_record(world: World, shop: Shop) -> Record:
        return Record("shop", f"s{shop.index}", shop.entity_id, {})

    def product_record(world: World, offer: Offer, shop_sid: str) -> Record:
        return Record("product", f"p{offer.product}", offer.entity_id, {"shop": shop_sid})

    records = rule.records(world, shop_order=lambda s: -s.index, shop_record=shop_record,
                           product_record=product_record, product_order=lambda r: r.source_id)
    shops = [r for r in records if r.kind == "shop"]
    products = [r for r in records if r.kind == "product"]
    assert records == shops + products and shops and products
    assert [r.source_id for r in shops] == [f"s{s.index}" for s in
                                             sorted(rule.shops(world), key=lambda s: -s.index)]
    assert [r.source_id for r in products] == sorted(r.source_id for r in products)
    by_entity = {o.entity_id: o for o in world.offers}
    assert all(r.fields["shop"] == f"s{by_entity[r.entity_id].shop}" for r in products)
