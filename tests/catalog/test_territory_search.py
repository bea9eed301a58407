"""Territories in every backend: documents carry the territories of their shops'
addresses, and search, facets, near-me and suggestions keep to one territory.

Run against each engine over the contract's small build plus three Grand Nancy
shops (one without coordinates: its postcode places it; one product sold in both
territories). What each territory holds is read from the documents in Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from catalog.backends.base import SearchBackend, SearchQuery
from catalog.backends.documents import build_documents
from normalizer.territories import load_territories
from tests.catalog.conftest import _offer, _shop, sample_records

TERRITORIES = load_territories("config/territories.yaml")
STANISLAS = (48.6936, 6.1832)


def _records() -> list[dict[str, Any]]:
    records = sample_records()
    fromagerie = _shop("shop-nancy-fromagerie", "Fromagerie Stanislas", "Nancy", "54000",
                       48.6920, 6.1820, ["fromagerie"], ["click_collect"], ["achetezgrandnancy"])
    lobau = _shop("shop-nancy-lobau", "Cave du Boulevard Lobau", "Nancy", "54000", 48.6870,
                  6.1920, ["caviste"], [], ["mavillemonshopping"])
    vandoeuvre = _shop("shop-vandoeuvre", "Librairie de Brabois", "Vandœuvre-lès-Nancy",
                       "54500", None, None, ["librairie"], ["delivery"], ["achetezgrandnancy"])
    offers = [
        _offer("offer-nancy-comte", fromagerie, "Comté AOP 18 mois", 1990, "fromagerie",
               ["achetezgrandnancy"]),
        _offer("offer-gaillac-lobau", lobau, "Gaillac rouge AOC Domaine du Moulin 2019", 1390,
               "caviste", ["mavillemonshopping"], product_id="product-gaillac"),
    ]
    for record in records:
        if record["entity_id"] == "product-gaillac":
            record["shop_ids"] = [*record["shop_ids"], "shop-nancy-lobau"]
    return records + [fromagerie, lobau, vandoeuvre, *offers]


DOCS = build_documents(_records(), TERRITORIES)
BY_ID = {d["id"]: d for d in DOCS}


@pytest.fixture(scope="module")
def placed(backend_factory: Any) -> SearchBackend:
    backend = backend_factory.new()
    backend.index_build(DOCS, build_id=1)
    return backend


def _ids(results: Any) -> set[str]:
    return {h.entity_id for h in results.hits}


def _in(territory: str, kinds: tuple[str, ...] = ("shop", "product")) -> set[str]:
    return {d["id"] for d in DOCS if territory in d["territories"]
            and set(d["scope"]) & set(kinds)}


def test_documents_are_in_the_territory_of_their_address() -> None:
    assert BY_ID["shop-andre"]["territories"] == ["toulouse"]
    assert BY_ID["shop-duval"]["territories"] == ["toulouse"]  # Albi, Tarn
    assert BY_ID["shop-vandoeuvre"]["territories"] == ["grand_nancy"]  # by postcode alone
    assert BY_ID["offer-nancy-comte"]["territories"] == ["grand_nancy"]
    assert BY_ID["product-gaillac"]["territories"] == ["grand_nancy", "toulouse"]
    assert BY_ID["product-routard"]["territories"] == []  # no shop: no address
    assert build_documents(_records())[0]["territories"] == []  # no territories given


@pytest.mark.parametrize("territory", ["toulouse", "grand_nancy"])
def test_search_and_facets_keep_to_the_territory(placed: SearchBackend, territory: str) -> None:
    query = SearchQuery(filters=(("territory", (territory,)),), per_page=100)
    results = placed.search(query)
    assert _ids(results) == _in(territory)
    communes = Counter(c for i in _in(territory) for c in BY_ID[i]["communes"])
    assert dict(results.facets["commune"]) == dict(communes)
    text = placed.search(SearchQuery(text="fromagerie", filters=query.filters, per_page=100))
    assert _ids(text) and _ids(text) <= _in(territory)


def test_territories_filter_together(placed: SearchBackend) -> None:
    both = placed.search(SearchQuery(filters=(("territory", ("toulouse", "grand_nancy")),),
                                     per_page=100))
    assert _ids(both) == _in("toulouse") | _in("grand_nancy")
    assert placed.search(SearchQuery(filters=(("territory", ("lyon",)),))).total == 0


def test_near_me_in_a_territory(placed: SearchBackend) -> None:
    query = SearchQuery(kinds=("shop",), filters=(("territory", ("grand_nancy",)),),
                        near=STANISLAS, radius_km=5, sort="distance")
    results = placed.search(query)
    assert [h.entity_id for h in results.hits] == ["shop-nancy-fromagerie", "shop-nancy-lobau"]
    far = SearchQuery(kinds=("shop",), filters=(("territory", ("toulouse",)),),
                      near=STANISLAS, radius_km=5, sort="distance")
    assert placed.search(far).total == 0


def test_suggestions_keep_to_the_territory(placed: SearchBackend) -> None:
    assert {s.text for s in placed.suggest("fromag")} == {
        "Fromagerie André", "La Fromagerie des Carmes", "Fromagerie Stanislas"}
    assert [s.text for s in placed.suggest("fromag", territory="grand_nancy")] == [
        "Fromagerie Stanislas"]
    assert {s.text for s in placed.suggest("fromag", territory="toulouse")} == {
        "Fromagerie André", "La Fromagerie des Carmes"}
    assert placed.suggest("fromag", territory="lyon") == []


def test_an_unknown_filter_value_is_no_error(fresh_backend: Callable[[], SearchBackend]) -> None:
    backend = fresh_backend()
    backend.index_build(DOCS, build_id=1)
    assert backend.search(SearchQuery(filters=(("territory", ("",)),))).total == len(
        [d for d in DOCS if {"shop", "product"} & set(d["scope"])])


def test_a_territory_gets_its_completions_under_many_elsewhere(
        fresh_backend: Callable[[], SearchBackend]) -> None:
    """The engine keeps completions to the territory before it cuts at the limit: 60
    Toulouse fromageries weigh more than Nancy's one, which still comes first there."""
    crowd = [_shop(f"shop-toulouse-fromagerie-{n:02d}", f"Fromagerie Toulousaine {n:02d}",
                   "Toulouse", "31000", 43.60, 1.44, ["fromagerie"], [],
                   ["clickandco", "tout_toulouse", "mavillemonshopping"]) for n in range(60)]
    docs = build_documents([*_records(), *crowd], TERRITORIES)
    backend = fresh_backend()
    backend.index_build(docs, build_id=1)
    assert [s.text for s in backend.suggest("fromag", limit=2, territory="grand_nancy")] == [
        "Fromagerie Stanislas"]
    assert len(backend.suggest("fromag", limit=50, territory="toulouse")) == 50
    assert "Fromagerie Stanislas" not in {s.text for s in backend.suggest("fromag", limit=5)}
