"""What the test search nodes (tests/search_node.py) really support, per engine.

Each test runs against every engine CI can start (Elasticsearch 9.5.3 and OpenSearch
2.19.6, see tests/search_node.py), or against AGORA_ELASTICSEARCH_URL, through that
engine's own Python client: the official ``elasticsearch`` client for Elasticsearch,
``opensearch-py`` for OpenSearch. The request bodies are the same for both (the
shared query DSL); only the client calls differ, which is what the tiny adapter
below does, as the catalog backend's adapters will.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import elasticsearch
import pytest
from elasticsearch import helpers as es_helpers
from opensearchpy import helpers as os_helpers

from tests import search_node

# The fixtures, shared with tests/conftest.py when it imports them too (one pool).
search_node_pool = search_node.search_node_pool
search_server = search_node.search_server
elasticsearch_server = search_node.elasticsearch_server
opensearch_server = search_node.opensearch_server

pytestmark = pytest.mark.elasticsearch

FRENCH_SETTINGS = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        "filter": {
            "fr_elision": {"type": "elision", "articles_case": True,
                           "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c",
                                        "jusqu", "quoiqu", "lorsqu", "puisqu"]},
            "fr_stemmer": {"type": "stemmer", "language": "light_french"},
            "fr_stop": {"type": "stop", "stopwords": "_french_"},
        },
        "normalizer": {
            "folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
        },
        "analyzer": {
            "fr": {"type": "custom", "tokenizer": "standard",
                   "filter": ["fr_elision", "lowercase", "fr_stop", "asciifolding", "fr_stemmer"]},
            "fr_suggest": {"type": "custom", "tokenizer": "standard",
                           "filter": ["fr_elision", "lowercase", "asciifolding"]},
        },
    },
}

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "title": {"type": "text", "analyzer": "fr",
                  "fields": {"raw": {"type": "keyword"},
                             "folded": {"type": "keyword", "normalizer": "folded"}}},
        "shop": {"type": "text", "analyzer": "fr", "fields": {"raw": {"type": "keyword"}}},
        "category": {"type": "keyword"},
        "price": {"type": "double"},  # scaled_float is mapper-extras: not on the ES test node
        "location": {"type": "geo_point"},
        "suggest": {"type": "completion", "analyzer": "fr_suggest"},
    },
}

CAPITOLE = {"lat": 43.6045, "lon": 1.4440}
DOCS = [
    {"title": "Fromage de chèvre fermier", "shop": "L'Épicerie des Carmes", "category": "épicerie",
     "price": 6.5, "location": {"lat": 43.5965, "lon": 1.4460}},          # ~1 km from Capitole
    {"title": "Fromages affinés du Tarn", "shop": "La Crèmerie d'Arnaud", "category": "épicerie",
     "price": 12.0, "location": {"lat": 43.6100, "lon": 1.4530}},         # ~1 km
    {"title": "Vélo de ville d'occasion", "shop": "Cycles Saint-Cyprien", "category": "sport",
     "price": 180.0, "location": {"lat": 43.5980, "lon": 1.4310}},        # ~1.3 km
    {"title": "Chaussures de randonnée", "shop": "Montagne Sports Blagnac", "category": "sport",
     "price": 89.9, "location": {"lat": 43.6370, "lon": 1.3900}},         # ~5.5 km
    {"title": "Confiture d'abricots", "shop": "L'Épicerie de Muret", "category": "épicerie",
     "price": 4.2, "location": {"lat": 43.4610, "lon": 1.3270}},          # ~18 km
]


class Adapter:
    """The per-engine differences of the clients, nothing else (same bodies)."""

    def __init__(self, server: search_node.SearchServer) -> None:
        self.engine = server.engine
        self.client = server.client()
        self.helpers = es_helpers if self.engine == "elasticsearch" else os_helpers

    def create_index(self, index: str, settings: dict[str, Any], mappings: dict[str, Any]) -> None:
        if self.engine == "elasticsearch":
            self.client.indices.create(index=index, settings=settings, mappings=mappings)
        else:
            self.client.indices.create(index=index, body={"settings": settings, "mappings": mappings})

    def bulk(self, index: str, docs: list[dict[str, Any]]) -> int:
        actions = ({"_index": index, "_id": str(i), "_source": doc} for i, doc in enumerate(docs))
        ok, errors = self.helpers.bulk(self.client, actions, refresh=True)
        assert not errors
        return ok

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.engine == "elasticsearch":
            return dict(self.client.search(index=index, **body))
        return self.client.search(index=index, body=body)

    def analyze(self, index: str, analyzer: str, text: str) -> list[str]:
        if self.engine == "elasticsearch":
            resp = self.client.indices.analyze(index=index, analyzer=analyzer, text=text)
        else:
            resp = self.client.indices.analyze(index=index, body={"analyzer": analyzer, "text": text})
        return [t["token"] for t in resp["tokens"]]

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        if self.engine == "elasticsearch":
            self.client.indices.update_aliases(actions=actions)
        else:
            self.client.indices.update_aliases(body={"actions": actions})

    def aliases(self, name: str) -> set[str]:
        return set(self.client.indices.get_alias(name=name).keys())

    def delete_indices(self, pattern: str) -> None:
        self.client.indices.delete(index=pattern, ignore_unavailable=True)


@pytest.fixture
def adapter(search_server: search_node.SearchServer) -> Iterator[Adapter]:
    a = Adapter(search_server)
    prefix = f"agora-test-{uuid.uuid4().hex[:8]}"
    a.prefix = prefix  # type: ignore[attr-defined]
    yield a
    a.delete_indices(f"{prefix}-*")
    a.client.close()


@pytest.fixture
def products(adapter: Adapter) -> str:
    index = f"{adapter.prefix}-products-v1"  # type: ignore[attr-defined]
    adapter.create_index(index, FRENCH_SETTINGS, MAPPINGS)
    docs = [dict(d, suggest={"input": [d["title"], d["shop"]]}) for d in DOCS]
    assert adapter.bulk(index, docs) == len(DOCS)
    return index


def titles(resp: dict[str, Any]) -> list[str]:
    return [hit["_source"]["title"] for hit in resp["hits"]["hits"]]


def test_server_identity(search_server: search_node.SearchServer) -> None:
    assert search_server.url.startswith("http://")
    assert search_server.engine in ("elasticsearch", "opensearch")
    if search_server.launched:
        assert search_server.url.startswith("http://127.0.0.1:")
        assert search_server.version == search_node.SPECS[search_server.engine].version
    info = search_server.client().info()
    assert info["version"]["number"] == search_server.version
    assert (info["version"].get("distribution") == "opensearch") == (search_server.engine == "opensearch")


def test_french_analysis_chain(adapter: Adapter, products: str) -> None:
    # elision + lowercase + French stop words + asciifolding + light_french stemmer
    assert adapter.analyze(products, "fr", "L'Épicerie des Écoles") == ["epic", "ecol"]
    assert adapter.analyze(products, "fr", "d'occasion, Fromages AFFINÉS") == ["ocasion", "fromag", "afin"]
    assert adapter.analyze(products, "fr_suggest", "L'Épicerie") == ["epicerie"]


def test_simple_query_string_and_fuzzy_match(adapter: Adapter, products: str) -> None:
    resp = adapter.search(products, {"query": {"simple_query_string": {
        "query": "fromage -chevre", "fields": ["title^3", "shop"], "default_operator": "and"}}})
    assert titles(resp) == ["Fromages affinés du Tarn"]

    resp = adapter.search(products, {"query": {"simple_query_string": {
        "query": "epicerie", "fields": ["title", "shop"]}}, "size": 10})
    assert len(titles(resp)) == 2  # both "L'Épicerie ..." shops, accents and elision ignored

    resp = adapter.search(products, {"query": {"match": {"title": {
        "query": "fromgae chevre", "fuzziness": "AUTO", "operator": "and"}}}})
    assert titles(resp) == ["Fromage de chèvre fermier"]


def test_keyword_subfields_and_terms_aggregations(adapter: Adapter, products: str) -> None:
    resp = adapter.search(products, {
        "size": 0,
        "aggs": {"categories": {"terms": {"field": "category"}},
                 "shops": {"terms": {"field": "shop.raw", "size": 10}}}})
    buckets = {b["key"]: b["doc_count"] for b in resp["aggregations"]["categories"]["buckets"]}
    assert buckets == {"épicerie": 3, "sport": 2}
    assert len(resp["aggregations"]["shops"]["buckets"]) == 5

    resp = adapter.search(products, {"query": {"term": {"title.folded": "velo de ville d'occasion"}}})
    assert titles(resp) == ["Vélo de ville d'occasion"]


def test_geo_distance_filter_and_sort(adapter: Adapter, products: str) -> None:
    resp = adapter.search(products, {
        "query": {"bool": {"filter": [{"geo_distance": {"distance": "2km", "location": CAPITOLE}}]}},
        "sort": [{"_geo_distance": {"location": CAPITOLE, "order": "asc", "unit": "km"}}]})
    hits = resp["hits"]["hits"]
    assert {h["_source"]["title"] for h in hits} == {
        "Fromage de chèvre fermier", "Fromages affinés du Tarn", "Vélo de ville d'occasion"}
    distances = [h["sort"][0] for h in hits]
    assert distances == sorted(distances) and distances[-1] < 2.0


def test_completion_suggester(adapter: Adapter, products: str) -> None:
    resp = adapter.search(products, {"suggest": {"s": {
        "prefix": "fromag", "completion": {"field": "suggest", "skip_duplicates": True}}}})
    options = [o["text"] for o in resp["suggest"]["s"][0]["options"]]
    assert set(options) == {"Fromage de chèvre fermier", "Fromages affinés du Tarn"}

    resp = adapter.search(products, {"suggest": {"s": {
        "prefix": "l'epi", "completion": {"field": "suggest"}}}})  # elision and folding apply
    assert {o["text"] for o in resp["suggest"]["s"][0]["options"]} == {
        "L'Épicerie des Carmes", "L'Épicerie de Muret"}


def test_alias_swap_is_atomic(adapter: Adapter, products: str) -> None:
    alias = f"{adapter.prefix}-products"  # type: ignore[attr-defined]
    adapter.update_aliases([{"add": {"index": products, "alias": alias}}])
    assert len(titles(adapter.search(alias, {"size": 10}))) == len(DOCS)

    v2 = f"{adapter.prefix}-products-v2"  # type: ignore[attr-defined]
    adapter.create_index(v2, FRENCH_SETTINGS, MAPPINGS)
    adapter.bulk(v2, DOCS[:2])
    adapter.update_aliases([{"remove": {"index": products, "alias": alias}},
                            {"add": {"index": v2, "alias": alias}}])
    assert adapter.aliases(alias) == {v2}
    assert len(titles(adapter.search(alias, {"size": 10}))) == 2


def test_official_client_product_check(search_server: search_node.SearchServer) -> None:
    """The official client works with Elasticsearch and refuses OpenSearch: one adapter per engine."""
    es = elasticsearch.Elasticsearch(search_server.url)
    try:
        if search_server.engine == "elasticsearch":
            resp = es.cluster.health()
            assert resp.meta.headers.get("x-elastic-product") == "Elasticsearch"
            assert es.info()["version"]["number"] == search_server.version
        else:
            with pytest.raises(elasticsearch.UnsupportedProductError):
                es.cluster.health()
    finally:
        es.close()
