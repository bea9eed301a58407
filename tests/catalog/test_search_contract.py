"""The contract every search backend meets, run against each engine.

Embedded (SQLite FTS5), Elasticsearch 9.5.3 and OpenSearch 2.19.6 (the test
nodes of tests/search_node.py, or AGORA_ELASTICSEARCH_URL) answer the same
queries over the same small build (conftest.sample_records) the same way:
French text, filters, facets, geo, sorts, pagination, highlights, suggestions,
get by id, hostile query text, and an atomic rebuild under concurrent searches.
Filters and facets are checked against a plain-Python reading of the documents.
"""

from __future__ import annotations

import html
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from catalog.backends import distance_to, haversine_km, price_bucket
from catalog.backends.base import (
    FACETS,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    SearchBackend,
    SearchQuery,
)
from catalog.backends.documents import commune_key
from tests.catalog.conftest import CAPITOLE, sample_documents

DOCS = {d["id"]: d for d in sample_documents()}
FILTER_FIELDS = {"platform": "platforms", "category": "categories", "service": "services",
                 "flag": "flags", "commune": "commune_keys"}


def ids(results: Any) -> list[str]:
    return [h.entity_id for h in results.hits]


def everything(backend: SearchBackend, **kwargs: Any) -> list[str]:
    """Every hit's id, over all pages."""
    out: list[str] = []
    page = 1
    while True:
        res = backend.search(SearchQuery(per_page=MAX_PER_PAGE, page=page, **kwargs))
        out += ids(res)
        if page >= res.pages:
            return out
        page += 1


def oracle(q: SearchQuery) -> list[dict[str, Any]]:
    """The documents a query without text matches, read in plain Python."""
    kinds = dict(q.filters).get("kind") or q.kinds
    out = []
    for d in DOCS.values():
        if not set(d["scope"]) & set(kinds):
            continue
        ok = True
        for key, values in q.filters:
            if key == "kind":
                continue
            wanted = {commune_key(v) for v in values} if key == "commune" else set(values)
            if not set(d[FILTER_FIELDS[key]]) & wanted:
                ok = False
        if q.price_min is not None or q.price_max is not None:
            if d["price_min"] is None:
                ok = False
            elif q.price_min is not None and d["price_max"] < q.price_min:
                ok = False
            elif q.price_max is not None and d["price_min"] > q.price_max:
                ok = False
        if q.near and q.radius_km is not None:
            dist = distance_to(d, q.near)
            ok = ok and dist is not None and dist <= q.radius_km
        if ok:
            out.append(d)
    return out


def oracle_facets(docs: list[dict[str, Any]], kinds: tuple[str, ...]) -> dict[str, Counter]:
    facets: dict[str, Counter] = {f: Counter() for f in FACETS}
    for d in docs:
        facets["kind"].update(k for k in d["scope"] if k in kinds)
        facets["platform"].update(d["platforms"])
        facets["category"].update(d["categories"])
        facets["commune"].update(d["communes"])
        facets["service"].update(d["services"])
        if d["price_min"] is not None:
            facets["price"][price_bucket(d["price_min"])] += 1
    return facets


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("text", ["fromagerie", "Fromageries", "FROMAGERIE", "fromageries"])
def test_french_forms_meet(indexed: SearchBackend, text: str) -> None:
    res = indexed.search(SearchQuery(text=text, kinds=("shop",)))
    assert {"shop-andre", "shop-carmes"} <= set(ids(res))
    assert set(ids(res)[:2]) == {"shop-andre", "shop-carmes"}


@pytest.mark.parametrize("text, expected", [
    ("epicerie arnaud", "shop-arnaud"),          # accents dropped
    ("l'épicerie", "shop-arnaud"),               # elision
    ("EPICERIE D'ARNAUD", "shop-arnaud"),
    ("brebis pyrenees", "offer-brebis"),
    ("chaussure blagnac", "shop-fabre"),         # singular, commune
    ("gaillac albi", "product-gaillac"),         # product + commune of one of its shops
    ("vin gaillac labege", "product-gaillac"),   # category word + commune
    ("ombres blanches", "shop-ombres"),          # name fragment
])
def test_text_finds_entity_first(indexed: SearchBackend, text: str, expected: str) -> None:
    res = indexed.search(SearchQuery(text=text))
    assert ids(res)[:1] == [expected], (text, ids(res))


def test_one_typo_in_a_long_word(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fromagrie", kinds=("shop",)))
    assert set(ids(res)[:2]) == {"shop-andre", "shop-carmes"}
    assert res.suggestion == "fromagerie"
    assert indexed.search(SearchQuery(text="librarie ombres")).hits[0].entity_id == "shop-ombres"


def test_a_typo_is_counted_on_the_word_as_typed(indexed: SearchBackend) -> None:
    # « obres » is one edit from « ombres » as typed; its stem « obre » (four letters)
    # would allow none
    res = indexed.search(SearchQuery(text="librairie obres"))
    assert ids(res)[:1] == ["shop-ombres"], ids(res)


def test_no_suggestion_for_known_words(indexed: SearchBackend) -> None:
    assert indexed.search(SearchQuery(text="fromagerie andre")).suggestion is None


def test_all_words_first_then_any(indexed: SearchBackend) -> None:
    both = indexed.search(SearchQuery(text="fromagerie carmes", kinds=("shop",)))
    assert ids(both) == ["shop-carmes"]
    # no document has both words: the documents with either come, best first
    either = indexed.search(SearchQuery(text="roquefort blagnac", kinds=("shop", "product")))
    assert {"offer-roquefort", "shop-fabre"} <= set(ids(either))


def test_nothing_matches(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="zzzqqq"))
    assert res.total == 0 and res.hits == [] and res.pages == 1
    assert indexed.search(SearchQuery(text="les de la")).total == 0  # stop words alone


# --------------------------------------------------------------------------- hostile text
HOSTILE = ['"', "*", "fromagerie\"", "fromagerie*", "(fromagerie", "fromagerie)", "-fromagerie",
           "fromagerie AND", "NEAR(fromagerie andre)", "fromagerie NOT andre", "fromagerie^2",
           "fromagerie~2", "name:fromagerie", "fromagerie || cave", "\\", "/fromagerie/",
           "{\"match_all\": {}}", "fromagerie'; DROP TABLE entities; --", "[fromagerie]",
           "<script>alert(1)</script>", "\x00fromagerie\x1f", "％fromagerie％", "+fromagerie",
           "fromagerie @#$%&", "’fromagerie’", "fromagerie\u200b"]


@pytest.mark.parametrize("text", HOSTILE)
def test_query_text_is_never_syntax(indexed: SearchBackend, text: str) -> None:
    res = indexed.search(SearchQuery(text=text, kinds=("shop",)))
    if "fromagerie" in text.lower():
        assert {"shop-andre", "shop-carmes"} & set(ids(res)), text
    for hit in res.hits:
        assert "<script>" not in "".join(hit.highlights.values())


def test_long_queries_are_cut(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fromagerie " * 2000))
    assert len(res.query.text) <= MAX_QUERY_LENGTH
    assert "shop-andre" in ids(res)


def test_bad_arguments_are_refused(indexed: SearchBackend) -> None:
    with pytest.raises(ValueError):
        indexed.search(SearchQuery(filters=(("colour", ("red",)),)))
    with pytest.raises(ValueError):
        indexed.search(SearchQuery(sort="cheapest"))
    with pytest.raises(ValueError):
        indexed.search(SearchQuery(near=(123.0, 1.0)))


# --------------------------------------------------------------------------- highlights
def test_highlights_are_escaped_html(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fournil", kinds=("shop",)))
    hit = res.hits[0]
    assert hit.entity_id == "shop-fournil"
    marked = hit.highlights["name"]
    assert "<mark>Fournil</mark>" in marked
    assert "<Le" not in marked and "&lt;Le" in marked and "&amp;" in marked
    plain = html.unescape(marked.replace("<mark>", "").replace("</mark>", ""))
    assert plain == hit.name


def test_highlights_mark_stemmed_and_folded_forms(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fromageries", kinds=("shop",)))
    by_id = {h.entity_id: h for h in res.hits}
    assert by_id["shop-andre"].highlights["name"] == "<mark>Fromagerie</mark> André"
    res = indexed.search(SearchQuery(text="fromagerie", highlight=False))
    assert all(not h.highlights for h in res.hits)


# --------------------------------------------------------------------------- filters, facets
FILTER_CASES = [
    {},
    {"filters": (("platform", ("dansmazone",)),)},
    {"filters": (("platform", ("dansmazone", "geolocal31")),)},
    {"filters": (("category", ("fromagerie",)), ("service", ("click_collect",)))},
    {"filters": (("commune", ("labege",)),)},
    {"filters": (("commune", ("Labège",)),), "kinds": ("shop",)},
    {"filters": (("flag", ("unverified_phone",)),)},
    {"filters": (("flag", ("bad_gtin",)),)},
    {"filters": (("service", ("delivery", "local_delivery")),), "kinds": ("shop", "offer")},
    {"filters": (("kind", ("offer",)),)},
    {"kinds": ("shop", "product", "offer")},
    {"price_min": 1000, "price_max": 2000},
    {"price_max": 900, "kinds": ("offer",)},
    {"near": CAPITOLE, "radius_km": 2.0},
    {"near": CAPITOLE, "radius_km": 15.0, "kinds": ("shop",)},
]


@pytest.mark.parametrize("case", FILTER_CASES, ids=[str(i) for i in range(len(FILTER_CASES))])
def test_filters_and_facets_match_the_documents(indexed: SearchBackend,
                                                case: dict[str, Any]) -> None:
    q = SearchQuery(per_page=MAX_PER_PAGE, **case)
    res = indexed.search(q)
    expected = oracle(q)
    assert sorted(ids(res)) == sorted(d["id"] for d in expected)
    assert res.total == len(expected)
    kinds = dict(q.filters).get("kind") or q.kinds
    want = oracle_facets(expected, kinds)
    for facet in FACETS:
        got = res.facets.get(facet, [])
        assert dict(got) == dict(want[facet]), facet
        if facet != "price":  # by count, then value; price buckets in price order
            assert got == sorted(got, key=lambda vc: (-vc[1], vc[0].encode())), facet


def test_commune_spellings_are_one_value(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(kinds=("shop",)))
    communes = dict(res.facets["commune"])
    assert communes["Labège"] == 2 and "LABEGE" not in communes


def test_kind_facet_gives_the_hits_its_value_selects(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fromagerie"))
    for kind, count in res.facets["kind"]:
        narrowed = indexed.search(SearchQuery(text="fromagerie", filters=(("kind", (kind,)),)))
        assert narrowed.total == count


def test_offers_without_a_product_answer_for_products(indexed: SearchBackend) -> None:
    products = set(everything(indexed, kinds=("product",)))
    assert {"product-gaillac", "product-veja", "product-routard", "offer-roquefort"} <= products
    assert "offer-gaillac-duval" not in products
    assert "offer-gaillac-duval" in everything(indexed, kinds=("offer",))


def test_facets_only_those_asked(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(facets=("platform",)))
    assert set(res.facets) == {"platform"}
    assert indexed.search(SearchQuery(facets=())).facets == {}


# --------------------------------------------------------------------------- sorts, geo
def test_price_sorts(indexed: SearchBackend) -> None:
    asc = indexed.search(SearchQuery(kinds=("offer", "product"), sort="price_asc", per_page=50))
    prices = [h.document["price_min"] for h in asc.hits]
    assert prices == sorted(prices) and prices[0] == 450
    desc = indexed.search(SearchQuery(kinds=("offer", "product"), sort="price_desc",
                                      per_page=50))
    tops = [h.document["price_max"] for h in desc.hits]
    assert tops == sorted(tops, reverse=True) and tops[0] == 12900
    mixed = indexed.search(SearchQuery(sort="price_asc", per_page=50))
    kinds = [h.kind for h in mixed.hits]
    assert kinds[-1] == "shop" and "shop" not in kinds[:mixed.total - 8]  # unpriced last


def test_price_filter_keeps_shops_out(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="fromagerie", price_min=0))
    assert res.total and all(h.kind != "shop" for h in res.hits)


def test_distance_sort_and_radius(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(kinds=("shop",), near=CAPITOLE, sort="distance"))
    distances = [h.distance_km for h in res.hits]
    assert ids(res)[0] == "shop-andre"
    assert ids(res)[-1] == "shop-ombres" and distances[-1] is None   # no coordinates: last
    known = [d for d in distances if d is not None]
    assert known == sorted(known)
    andre = res.hits[0]
    assert andre.distance_km == pytest.approx(haversine_km(*CAPITOLE, 43.6000, 1.4450), abs=0.01)

    near = indexed.search(SearchQuery(kinds=("shop",), near=CAPITOLE, radius_km=2.0,
                                      sort="distance"))
    assert ids(near)[0] == "shop-andre"
    assert set(ids(near)) == {"shop-andre", "shop-carmes", "shop-fournil"}
    assert [h.distance_km for h in near.hits] == sorted(h.distance_km for h in near.hits)


def test_product_distance_is_to_its_closest_shop(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(text="gaillac", kinds=("product",), near=CAPITOLE,
                                     radius_km=20))
    assert ids(res) == ["product-gaillac"]  # sold in Labège (11 km) and Albi (80 km)
    assert res.hits[0].distance_km == pytest.approx(
        haversine_km(*CAPITOLE, 43.5330, 1.5340), abs=0.01)


def test_distance_sort_needs_a_point(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(sort="distance"))
    assert res.query.sort == "relevance" and res.total


# --------------------------------------------------------------------------- pagination
def test_pages_cover_every_hit_once(indexed: SearchBackend) -> None:
    q = dict(kinds=("shop", "product", "offer"), sort="price_asc")
    total = indexed.search(SearchQuery(**q)).total
    seen: list[str] = []
    for page in range(1, 10):
        res = indexed.search(SearchQuery(per_page=4, page=page, **q))
        assert res.total == total and res.pages == -(-total // 4)
        seen += ids(res)
    assert len(seen) == len(set(seen)) == total


def test_page_bounds(indexed: SearchBackend) -> None:
    res = indexed.search(SearchQuery(per_page=10_000, page=10**9))
    assert res.query.per_page == MAX_PER_PAGE and res.query.page == MAX_PAGE
    assert res.hits == [] and res.total > 0
    assert indexed.search(SearchQuery(per_page=0, page=-3)).query.per_page == 1


# --------------------------------------------------------------------------- get, suggest
def test_get_by_id(indexed: SearchBackend) -> None:
    doc = indexed.get("product-gaillac")
    assert doc is not None and doc["name"].startswith("Gaillac rouge")
    assert {(s["source"], s["source_id"]) for s in doc["sources"]} == {
        ("dansmazone", "offer-gaillac-duval-dansmazone"),
        ("clickandco", "offer-gaillac-arnaud-clickandco")}
    assert doc["communes"] == ["Albi", "Labège"]
    assert indexed.get("shop-nope") is None
    assert indexed.get("../etc") is None


def test_hits_carry_their_listings(indexed: SearchBackend) -> None:
    hit = indexed.search(SearchQuery(text="ombres blanches")).hits[0]
    assert [(s["source"], s["source_id"]) for s in hit.listings] == [
        ("tout_toulouse", "shop-ombres-tout_toulouse"),
        ("toulouse_boutiques", "shop-ombres-toulouse_boutiques")]
    assert all(s["url"].startswith("https://") for s in hit.listings)


def test_suggestions(indexed: SearchBackend) -> None:
    texts = [s.text for s in indexed.suggest("fromag")]
    assert set(texts) == {"Fromagerie André", "La Fromagerie des Carmes"}
    assert [s.text for s in indexed.suggest("l'epi")] == ["L'Épicerie d'Arnaud"]
    found = indexed.suggest("BLANCH")
    assert [(s.text, s.kind, s.entity_id) for s in found] == [
        ("Librairie Ombres Blanches", "shop", "shop-ombres")]
    assert [s.text for s in indexed.suggest("roquef")] == ["Roquefort AOP 100g"]
    assert indexed.suggest("") == [] and indexed.suggest("'") == []
    assert indexed.suggest('"*(') == []
    assert len(indexed.suggest("f", limit=1)) == 1


# --------------------------------------------------------------------------- empty, rebuild
def test_an_empty_backend_answers_nothing(fresh_backend: Callable[[], SearchBackend]) -> None:
    backend = fresh_backend()
    assert backend.search(SearchQuery(text="fromagerie")).total == 0
    assert backend.search(SearchQuery()).total == 0
    assert backend.suggest("fro") == [] and backend.get("shop-andre") is None


def test_rebuild_swaps_atomically(fresh_backend: Callable[[], SearchBackend]) -> None:
    backend = fresh_backend()
    docs = sample_documents()
    old = [d for d in docs if d["kind"] == "shop"]
    new = [dict(d, name=d["name"] + " Nouveau") for d in docs]
    backend.index_build(old, build_id=1)
    counts: Counter[int] = Counter()
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                counts[backend.search(SearchQuery(kinds=("shop", "product", "offer"))).total] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for build in range(2, 5):
            backend.index_build(new if build % 2 == 0 else old, build_id=build)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert set(counts) <= {len(old), len(new)} and sum(counts.values()) > 0
    # the last build (4) holds the renamed documents
    assert backend.search(SearchQuery(text="nouveau", kinds=("shop",))).total == len(old)
    backend.index_build(old, build_id=5)
    assert backend.search(SearchQuery(text="nouveau", kinds=("shop",))).total == 0
