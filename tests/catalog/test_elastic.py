"""The Elasticsearch backend's own guarantees, on each engine CI can start: the right
client per engine, the index template's French analysis, one index behind the alias
after each build, a failed build leaving the live index alone, text never syntax."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import elasticsearch
import opensearchpy
import pytest

from agora.settings import search_backend_settings
from catalog.backends import BackendSettings, open_backend
from catalog.backends.base import SearchQuery, normalize_query
from catalog.backends.elastic import (
    ElasticBackend,
    ElasticsearchAdapter,
    OpenSearchAdapter,
    _out_of_time,
    adapter_for,
    facets_body,
    search_body,
)
from catalog.errors import BackendError, BackendNotConfigured
from tests.catalog.conftest import sample_documents

pytestmark = pytest.mark.elasticsearch


@pytest.fixture
def backend(search_server: Any) -> Iterator[ElasticBackend]:
    alias = f"agora-test-{uuid.uuid4().hex[:10]}"
    b = ElasticBackend.connect(search_server.url, alias)
    yield b
    for index in b.adapter.indices(f"{alias}-*"):
        b.adapter.delete_index(index)
    try:
        b.adapter.client.indices.delete_index_template(name=f"{alias}-template")
    except b.adapter.not_found:
        pass
    b.close()


def test_each_engine_gets_its_own_client(search_server: Any) -> None:
    adapter = adapter_for(search_server.url)
    try:
        if search_server.engine == "elasticsearch":
            assert isinstance(adapter, ElasticsearchAdapter)
            assert isinstance(adapter.client, elasticsearch.Elasticsearch)
        else:
            assert isinstance(adapter, OpenSearchAdapter)
            assert isinstance(adapter.client, opensearchpy.OpenSearch)
        assert adapter.version == search_server.version
    finally:
        adapter.close()


def test_the_template_analyses_french(backend: ElasticBackend) -> None:
    backend.index_build(sample_documents(), 1)
    index = backend.status()["index"]
    client = backend.adapter.client

    def analyze(analyzer: str, text: str) -> list[str]:
        if backend.adapter.engine == "elasticsearch":
            resp = client.indices.analyze(index=index, analyzer=analyzer, text=text)
        else:
            resp = client.indices.analyze(index=index, body={"analyzer": analyzer, "text": text})
        return [t["token"] for t in resp["tokens"]]

    assert analyze("agora_french", "L'Épicerie des FROMAGERIES") == analyze(
        "agora_french", "epicerie fromagerie")
    assert analyze("agora_folded", "L’Épicerie d'Arnaud") == ["epicerie", "arnaud"]
    mapping = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert mapping["locations"]["type"] == "geo_point"
    assert mapping["suggest"]["type"] == "completion"
    assert mapping["platforms"]["type"] == "keyword"


def test_one_index_behind_the_alias_after_each_build(backend: ElasticBackend) -> None:
    adapter = backend.adapter
    foreign = f"{backend.alias}-logs"  # not one of ours: left alone
    adapter.create_index(foreign, {"number_of_shards": 1})
    names = []
    for build in (1, 2, 3):
        report = backend.index_build(sample_documents(), build)
        names.append(report.index_name)
        assert adapter.alias_indices(backend.alias) == [report.index_name]
        assert report.documents == len(sample_documents())
    assert set(adapter.indices(f"{backend.alias}-*")) == {names[-1], foreign}
    assert backend.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2


def test_a_failed_build_leaves_the_live_index_alone(backend: ElasticBackend) -> None:
    backend.index_build(sample_documents(), 1)
    live = backend.status()["index"]
    bad = sample_documents()
    bad[3] = dict(bad[3], price_min="not a number")
    with pytest.raises(BackendError):
        backend.index_build(bad, 2)
    assert backend.status()["index"] == live
    assert backend.adapter.indices(f"{backend.alias}-*") == [live]
    assert backend.search(SearchQuery(text="fromagerie", kinds=("shop",))).total == 2


@pytest.mark.parametrize("text", ['fromagerie AND "x"*', "name:fromagerie^3 OR (a~2)",
                                  "{\"query_string\": 1}"])
def test_bodies_hold_no_query_syntax(text: str) -> None:
    body = json.dumps(search_body(normalize_query(SearchQuery(text=text))))
    assert "query_string" not in body.replace('\\"query_string\\"', "")
    assert '"simple_query_string"' not in body


def test_open_backend_follows_the_settings(search_server: Any, monkeypatch: Any) -> None:
    """The caller resolves the settings (the CLI from Agora's, the app from its config)."""
    monkeypatch.setenv("AGORA_ELASTICSEARCH_URL", search_server.url)
    monkeypatch.setenv("AGORA_ELASTICSEARCH_INDEX", "agora-test-settings")
    settings = search_backend_settings()
    assert settings == BackendSettings(search_server.url, "agora-test-settings")
    backend = open_backend("unused.sqlite", settings)
    try:
        assert isinstance(backend, ElasticBackend)
        assert backend.alias == "agora-test-settings"
        assert backend.name == search_server.engine
        assert backend.search(SearchQuery(text="x")).total == 0  # no index yet: no error
    finally:
        backend.close()


def test_bad_settings_are_reported() -> None:
    with pytest.raises(BackendError):
        ElasticBackend.connect("http://127.0.0.1:9", "agora")
    with pytest.raises(BackendNotConfigured):
        ElasticBackend(adapter=None, alias="Agora Index")  # type: ignore[arg-type]


def test_counts_past_the_budget_are_an_estimate_not_a_failure() -> None:
    """OpenSearch fails a lone shard that passed its timeout: the counts are then none, and
    said to be estimated; the hits, a search of their own, have no timeout."""
    opensearch = {"error": {"root_cause": [{"type": "time_exceeded_exception"}],
                            "type": "search_phase_execution_exception"}, "status": 500}
    assert _out_of_time(opensearch)
    assert not _out_of_time({"hits": {"total": {"value": 3}}, "timed_out": False})
    q = normalize_query(SearchQuery(text="fromagerie"))
    assert "timeout" not in search_body(q)
    assert facets_body(q, "and", 40.0)["timeout"] == "40ms"
