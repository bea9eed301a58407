"""The Elasticsearch backend (and OpenSearch): one query DSL, a thin adapter per client.

The index template (config/elasticsearch/agora-template.json) gives French
analysis (elision, stop words, asciifolding, light French stemmer), keyword
fields for filters and facets, a geo_point and a completion suggester. Each
build goes into a new index ``<alias>-<build>-<time>``, filled with the client's
bulk helpers, refreshed, then swapped in behind the alias in one
``update_aliases`` call; the older indexes are deleted. Searches always go
through the alias, so they see the old index or the new one, never half of one.

Queries are text, never syntax: ``match``/``multi_match`` only. A query first
needs all its terms (fuzziness AUTO), then any of them; ranking weighs name ≫
brand, categories, shop > place > description. Facets are aggregations, the geo
filter ``geo_distance``, the distance sort ``_geo_distance``; "vouliez-vous dire"
is a term suggester on the folded (unstemmed) text.

The bodies are the same for every engine; ``ElasticsearchAdapter`` (the official
``elasticsearch`` client) and ``OpenSearchAdapter`` (``opensearch-py``) only
differ in how they pass them. ``ElasticBackend.connect`` picks one from ``GET /``.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import elasticsearch
import httpx
import opensearchpy
from elasticsearch import helpers as es_helpers
from opensearchpy import helpers as os_helpers
from rapidfuzz.distance import OSA

from catalog.backends import french
from catalog.backends.base import (
    FACET_SIZE,
    PRICE_BUCKETS,
    BaseBackend,
    IndexReport,
    SearchQuery,
    SearchResults,
    Suggestion,
    bucket_key,
)
from catalog.backends.documents import commune_key
from catalog.errors import BackendError, BackendNotConfigured
from normalizer.abbreviations import other_forms

log = logging.getLogger(__name__)

TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "config" / "elasticsearch" / \
    "agora-template.json"
BULK_CHUNK = 1000
REQUEST_TIMEOUT = 60
# field -> boost, as the embedded backend weighs its FTS5 columns
FIELDS = {"name": 10, "brand": 4, "category_text": 3, "place_text": 2, "shop_name": 3,
          "description": 1}
FILTER_FIELDS = {"platform": "platforms", "category": "categories", "service": "services",
                 "flag": "flags", "commune": "commune_keys", "territory": "territories"}
FACET_FIELDS = {"kind": "scope", "platform": "platforms", "category": "categories",
                "commune": "communes", "service": "services", "flag": "flags"}
SUGGEST_KINDS = ("shop", "product")
#: The completion context every document has: the whole catalog's completions. A
#: context-enabled completion field needs a context in every document and every query
#: (Elasticsearch 7+), and no territory key is "*" (``normalizer.territories``).
EVERYWHERE = "*"
HIDDEN = ["suggest"]


@lru_cache(maxsize=1)
def template_body() -> dict[str, Any]:
    """Settings and mappings of the index template (the JSON file, comments dropped)."""
    try:
        data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendNotConfigured(f"cannot read the index template {TEMPLATE_FILE}: "
                                   f"{exc}") from exc
    return {k: v for k, v in data.items() if not k.startswith("_")}


# --------------------------------------------------------------------------- adapters
class ClientAdapter(ABC):
    """The per-engine differences of the Python clients; the request bodies are shared."""

    engine = "?"
    errors: tuple[type[BaseException], ...] = ()
    not_found: tuple[type[BaseException], ...] = ()

    def __init__(self, client: Any, version: str = "?") -> None:
        self.client = client
        self.version = version

    @abstractmethod
    def helpers(self) -> Any:
        """The engine client's own call."""

    @abstractmethod
    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        """The engine client's own call."""

    @abstractmethod
    def create_index(self, index: str, settings: dict[str, Any]) -> None:
        """The engine client's own call."""

    @abstractmethod
    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        """The engine client's own call."""

    @abstractmethod
    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """The engine client's own call."""

    @abstractmethod
    def search(self, index: str, body: dict[str, Any], cache: bool = False) -> dict[str, Any]:
        """The engine client's own call (``cache``: the shard request cache may answer)."""

    @abstractmethod
    def msearch(self, index: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several searches in one request, each answered from the shard request cache
        when it can; an answer may be an error (``{"error": ..., "status": ...}``)."""

    def force_merge(self, index: str) -> None:
        """One segment: the index is read-only until the next build replaces it."""
        self.client.indices.forcemerge(index=index, max_num_segments=1)

    @abstractmethod
    def get_source(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """The engine client's own call."""

    def refresh(self, index: str) -> None:
        self.client.indices.refresh(index=index)

    def alias_indices(self, alias: str) -> list[str]:
        """Indices behind ``alias`` ([] when there is no such alias)."""
        try:
            return sorted(self.client.indices.get_alias(name=alias).keys())
        except self.not_found:
            return []

    def indices(self, pattern: str) -> list[str]:
        return sorted(self.client.indices.get(index=pattern, expand_wildcards="open,closed")
                      .keys())

    def delete_index(self, index: str) -> None:
        try:
            self.client.indices.delete(index=index)
        except self.not_found:
            pass

    def bulk(self, actions: Iterable[dict[str, Any]]) -> int:
        helpers = self.helpers()
        ok = 0
        try:
            for success, info in helpers.streaming_bulk(
                    self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=True,
                    max_retries=3):
                if not success:  # pragma: no cover - raise_on_error raises first
                    raise BackendError(f"bulk indexing failed: {info}")
                ok += 1
        except helpers.BulkIndexError as exc:
            first = exc.errors[0] if exc.errors else {}
            item: dict[str, Any] = (next(iter(first.values()), {}) if isinstance(first, dict)
                                    else {})
            raise BackendError(f"bulk indexing failed: {exc}; first: document "
                               f"{item.get('_id')}: {item.get('error')}") from exc
        return ok

    def close(self) -> None:
        self.client.close()


class ElasticsearchAdapter(ClientAdapter):
    """Elasticsearch through the official ``elasticsearch`` client."""

    engine = "elasticsearch"

    def __init__(self, url: str, version: str = "?", client: Any = None) -> None:
        self.errors = (elasticsearch.ApiError, elasticsearch.TransportError)
        self.not_found = (elasticsearch.NotFoundError,)
        super().__init__(client or elasticsearch.Elasticsearch(
            url, request_timeout=REQUEST_TIMEOUT, retry_on_timeout=True), version)

    def helpers(self) -> Any:
        return es_helpers

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        self.client.indices.put_index_template(name=name, **body)

    def create_index(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.create(index=index, settings=settings)

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.put_settings(index=index, settings=settings)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(actions=actions)

    def search(self, index: str, body: dict[str, Any], cache: bool = False) -> dict[str, Any]:
        kwargs = dict(body)
        if "from" in kwargs:
            kwargs["from_"] = kwargs.pop("from")
        if "_source" in kwargs:
            kwargs["source"] = kwargs.pop("_source")
        return dict(self.client.search(index=index, request_cache=cache or None, **kwargs))

    def msearch(self, index: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        searches: list[dict[str, Any]] = []
        for body in bodies:
            searches += [{"index": index, "request_cache": True}, body]
        return list(self.client.msearch(searches=searches)["responses"])

    def get_source(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get(index=index, id=doc_id, source_excludes=HIDDEN)
        except self.not_found:
            return None
        return dict(resp["_source"])


class OpenSearchAdapter(ClientAdapter):
    """OpenSearch through ``opensearch-py``."""

    engine = "opensearch"

    def __init__(self, url: str, version: str = "?", client: Any = None) -> None:
        self.errors = (opensearchpy.OpenSearchException,)
        self.not_found = (opensearchpy.NotFoundError,)
        super().__init__(client or opensearchpy.OpenSearch(
            url, timeout=REQUEST_TIMEOUT, retry_on_timeout=True), version)

    def helpers(self) -> Any:
        return os_helpers

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        self.client.indices.put_index_template(name=name, body=body)

    def create_index(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.create(index=index, body={"settings": settings})

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.put_settings(index=index, body=settings)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(body={"actions": actions})

    def search(self, index: str, body: dict[str, Any], cache: bool = False) -> dict[str, Any]:
        params = {"request_cache": "true"} if cache else None
        return dict(self.client.search(index=index, body=body, params=params))

    def msearch(self, index: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        searches: list[dict[str, Any]] = []
        for body in bodies:
            searches += [{"index": index, "request_cache": True}, body]
        return list(self.client.msearch(body=searches)["responses"])

    def get_source(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get(index=index, id=doc_id, _source_excludes=HIDDEN)
        except self.not_found:
            return None
        return dict(resp["_source"])


def server_info(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """``GET /`` of the server (name, version, distribution)."""
    try:
        resp = httpx.get(url.rstrip("/") + "/", timeout=timeout,
                         headers={"Accept": "application/json"})
        resp.raise_for_status()
        info = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BackendError(f"no search server at {url}: {exc}") from exc
    if not isinstance(info, dict) or "version" not in info:
        raise BackendError(f"{url} does not look like Elasticsearch or OpenSearch")
    return info


def adapter_for(url: str) -> ClientAdapter:
    """The adapter of the engine at ``url``: OpenSearch when ``GET /`` says so."""
    version = server_info(url)["version"]
    if version.get("distribution") == "opensearch":
        return OpenSearchAdapter(url, version.get("number", "?"))
    return ElasticsearchAdapter(url, version.get("number", "?"))


# --------------------------------------------------------------------------- the DSL
def text_query(text: str, operator: str, fuzzy: bool = True) -> dict[str, Any]:
    """All (``and``) or any (``or``) of the words, fuzzy (as the embedded engines: one edit
    from 5 letters, two from 8, a transposition counting one); a word with other written
    forms (``st``/``saint``, from ``normalizer.abbreviations``) matches any of them; exact
    words in the name score most."""
    plain, variants = [], []
    for word in text.split():
        forms = other_forms(word)
        if forms:
            variants.append([word, *sorted(forms)])
        else:
            plain.append(word)
    fuzziness = f"AUTO:{french.MIN_FUZZY_LENGTH},{french.MIN_TWO_EDITS_LENGTH}" if fuzzy else 0
    clauses: list[dict[str, Any]] = []
    if plain:
        clauses.append({"match": {"all_text": {
            "query": " ".join(plain), "operator": operator, "fuzziness": fuzziness,
            "prefix_length": 0, "max_expansions": 50, "fuzzy_transpositions": True,
            "zero_terms_query": "none"}}})
    for alternatives in variants:
        clauses.append({"bool": {"should": [{"match": {"all_text": f}} for f in alternatives],
                                 "minimum_should_match": 1}})
    boosts = [{"multi_match": {"query": text, "type": "most_fields",
                               "fields": [f"{f}^{b}" for f, b in FIELDS.items()]}},
              {"match_phrase": {"name.folded": {"query": text, "boost": 2}}}]
    if operator == "and":
        return {"bool": {"must": clauses, "should": boosts}}
    return {"bool": {"must": [{"bool": {"should": clauses, "minimum_should_match": 1}}],
                     "should": boosts}}


def filter_clauses(q: SearchQuery) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if set(q.kinds) != {"shop", "product", "offer"}:
        clauses.append({"terms": {"scope": list(q.kinds)}})
    for key, values in q.filters:
        field = FILTER_FIELDS.get(key)
        if field is None:
            continue
        if key == "commune":
            values = tuple(dict.fromkeys(commune_key(v) for v in values))
        clauses.append({"terms": {field: list(values)}})
    if q.price_min is not None or q.price_max is not None:
        clauses.append({"exists": {"field": "price_min"}})
        if q.price_min is not None:
            clauses.append({"range": {"price_max": {"gte": q.price_min}}})
        if q.price_max is not None:
            clauses.append({"range": {"price_min": {"lte": q.price_max}}})
    if q.near is not None and q.radius_km is not None:
        clauses.append({"geo_distance": {
            "distance": f"{q.radius_km}km", "distance_type": "arc",
            "locations": {"lat": q.near[0], "lon": q.near[1]}}})
    return clauses


def sort_clause(q: SearchQuery) -> list[Any]:
    if q.sort == "price_asc":
        return [{"price_min": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
    if q.sort == "price_desc":
        return [{"price_max": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    if q.sort == "distance" and q.near is not None:
        return [{"_geo_distance": {"locations": {"lat": q.near[0], "lon": q.near[1]},
                                   "order": "asc", "unit": "km", "mode": "min",
                                   "distance_type": "arc", "ignore_unmapped": True}},
                {"id": "asc"}]
    return [{"_score": "desc"}, {"weight": "desc"}, {"id": "asc"}]


def aggregations(q: SearchQuery) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for facet in q.facets:
        if facet == "price":
            aggs["price"] = {"range": {"field": "price_min", "ranges": [
                {"key": bucket_key(lo, hi), "from": lo, **({"to": hi} if hi is not None else {})}
                for lo, hi in PRICE_BUCKETS]}}
        elif facet in FACET_FIELDS:
            terms: dict[str, Any] = {"field": FACET_FIELDS[facet], "size": FACET_SIZE,
                                     "order": [{"_count": "desc"}, {"_key": "asc"}]}
            if facet == "kind":
                terms["include"] = list(q.kinds)
            aggs[facet] = {"terms": terms}
    return aggs


def search_body(q: SearchQuery, operator: str = "and", budget_ms: float | None = None,
                ) -> dict[str, Any]:
    """The request body of a normalised query's page (``operator``: all words, or any; past
    ``budget_ms``, if given, the shards answer with what they have collected)."""
    filters = filter_clauses(q)
    fuzziness: Any = 0 if q.as_typed else \
        f"AUTO:{french.MIN_FUZZY_LENGTH},{french.MIN_TWO_EDITS_LENGTH}"
    if q.text:
        query: dict[str, Any] = {"bool": {"must": [text_query(q.text, operator,
                                                              not q.as_typed)],
                                          "filter": filters}}
    else:
        query = {"bool": {"must": [{"match_all": {}}], "filter": filters}}
    body: dict[str, Any] = {
        "query": query, "from": (q.page - 1) * q.per_page, "size": q.per_page,
        "sort": sort_clause(q), "track_total_hits": True,
        "_source": {"excludes": HIDDEN},
    }
    if budget_ms:
        body["timeout"] = f"{max(1, round(budget_ms))}ms"
    if q.sort != "relevance":
        body["track_scores"] = True
    if q.text and q.highlight:
        body["highlight"] = {
            "pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html",
            "require_field_match": False,
            "highlight_query": {"multi_match": {
                "query": " ".join([q.text, *(f for w in q.text.split()
                                             for f in sorted(other_forms(w)))]),
                "fields": ["name", "shop_name", "description"],
                "fuzziness": fuzziness, "prefix_length": 0}},
            "fields": {"name": {"number_of_fragments": 0},
                       "shop_name": {"number_of_fragments": 0},
                       "description": {"fragment_size": 160, "number_of_fragments": 1}}}
    if q.text and not q.as_typed:
        body["suggest"] = {"text": q.text, "didyoumean": {"term": {
            "field": "all_folded", "suggest_mode": "missing", "max_edits": 2,
            "min_word_length": french.MIN_FUZZY_LENGTH, "prefix_length": 0,
            "sort": "frequency", "size": 1}}}
    return body


def facets_body(q: SearchQuery, operator: str = "and",
                budget_ms: float | None = None) -> dict[str, Any] | None:
    """The facet counts of a query as a search of its own: no hits (``size`` 0), so the
    shard request cache keeps it for every page and order of that search until the next
    build; past ``budget_ms`` the counts are what the shards have (the hits, a search of
    their own, are never cut); None when no facet is asked."""
    aggs = aggregations(q)
    if not aggs:
        return None
    body = search_body(replace(q, highlight=False, page=1), operator)
    out: dict[str, Any] = {"query": body["query"], "size": 0, "track_total_hits": False,
                           "aggs": aggs}
    if budget_ms:
        out["timeout"] = f"{max(1, round(budget_ms))}ms"
    return out


def _out_of_time(answer: dict[str, Any]) -> bool:
    """Whether a search failed only because it passed its ``timeout`` (OpenSearch fails a
    lone shard that timed out before collecting anything, where Elasticsearch answers
    ``timed_out`` with what it has)."""
    text = json.dumps(answer.get("error") or answer.get("_shards", {}).get("failures") or "")
    return "time_exceeded" in text or "timed out" in text.lower()


def did_you_mean(resp: dict[str, Any]) -> str | None:
    """The query's words with each unknown one replaced by its likeliest indexed word (at
    one edit, two for a word of eight letters or more, a transposition counting one)."""
    entries = (resp.get("suggest") or {}).get("didyoumean") or []
    words: list[str] = []
    changed = False
    for entry in entries:
        word = entry["text"]
        allowed = french.Term(word, word).max_edits
        option = next((o["text"] for o in entry.get("options") or []
                       if OSA.distance(word, o["text"]) <= allowed), None)
        changed = changed or option is not None
        words.append(option or word)
    return " ".join(words) if changed else None


def facets_of(resp: dict[str, Any], q: SearchQuery) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    aggs = resp.get("aggregations") or {}
    for facet in q.facets:
        buckets = (aggs.get(facet) or {}).get("buckets") or []
        out[facet] = [(str(b["key"]), int(b["doc_count"])) for b in buckets if b["doc_count"]]
    return out


def es_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as indexed: the shared one, plus completion inputs for shops and
    products, in the ``territory`` contexts of its territories and ``EVERYWHERE``."""
    if any(k in SUGGEST_KINDS for k in doc.get("scope") or ()) and doc.get("name"):
        inputs = french.suggest_inputs(doc["name"])
        if inputs:
            doc = dict(doc, suggest={"input": inputs, "weight": int(doc.get("weight") or 0),
                                     "contexts": {"territory": [
                                         *(doc.get("territories") or ()), EVERYWHERE]}})
    return doc


# --------------------------------------------------------------------------- backend
class ElasticBackend(BaseBackend):
    """Search in Elasticsearch or OpenSearch behind an alias."""

    name = "elasticsearch"

    def __init__(self, adapter: ClientAdapter, alias: str = "agora", *,
                 budget_ms: float | None = None) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,100}", alias):
            raise BackendNotConfigured(f"not a usable index name: {alias!r} (lower case "
                                       "letters, digits, '-', '_' and '.')")
        self.adapter = adapter
        self.alias = alias
        self.name = adapter.engine
        self.budget_ms = budget_ms

    @classmethod
    def connect(cls, url: str, alias: str = "agora", *,
                budget_ms: float | None = None) -> ElasticBackend:
        return cls(adapter_for(url), alias, budget_ms=budget_ms)

    def close(self) -> None:
        self.adapter.close()

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self.adapter.errors as exc:
            raise BackendError(f"{self.adapter.engine}: {what} failed: {exc}") from exc

    # ------------------------------------------------------------------ indexing
    def index_name(self, build_id: int) -> str:
        now = time.time()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1000):03d}"
        return f"{self.alias}-{int(build_id)}-{stamp}"

    def _ours(self, index: str) -> bool:
        return re.fullmatch(re.escape(self.alias) + r"-\d+-\d{17}", index) is not None

    def install_template(self) -> None:
        body = {"index_patterns": [f"{self.alias}-*"], "priority": 200,
                "template": copy.deepcopy(template_body()),
                "_meta": {"description": "Agora search index (catalog/backends/elastic.py)"}}
        self._call("installing the index template", self.adapter.put_index_template,
                   f"{self.alias}-template", body)

    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        t0 = time.perf_counter()
        self.install_template()
        index = self.index_name(build_id)
        # the template's settings are a bulk-built, read-only index's: no periodic refresh
        # (one, explicit, when the build is whole), no replica while it is written
        self._call("creating the index", self.adapter.create_index, index,
                   {"number_of_replicas": 0, "auto_expand_replicas": False})
        try:
            count = self._call("bulk indexing", self.adapter.bulk, self._actions(index,
                                                                                 documents))
            self._call("refreshing", self.adapter.refresh, index)
            self._call("merging segments", self.adapter.force_merge, index)
            self._call("restoring the replicas", self.adapter.put_settings, index,
                       {"auto_expand_replicas": template_body()["settings"].get(
                           "auto_expand_replicas", "0-1")})
            self._swap(index)
        except BaseException:
            self.adapter.delete_index(index)
            raise
        self._delete_older(index)
        return IndexReport(count, time.perf_counter() - t0, index)

    @staticmethod
    def _actions(index: str, documents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for doc in documents:
            yield {"_index": index, "_id": doc["id"], "_source": es_document(doc)}

    def _swap(self, index: str) -> None:
        current = self._call("reading the alias", self.adapter.alias_indices, self.alias)
        actions = [{"remove": {"index": old, "alias": self.alias}} for old in current]
        actions.append({"add": {"index": index, "alias": self.alias}})
        self._call("swapping the alias", self.adapter.update_aliases, actions)

    def _delete_older(self, keep: str) -> None:
        for index in self._call("listing indexes", self.adapter.indices, f"{self.alias}-*"):
            if index != keep and self._ours(index):
                try:
                    self.adapter.delete_index(index)
                except self.adapter.errors as exc:  # the next build tries again
                    log.warning("could not delete the old index %s: %s", index, exc)

    # ------------------------------------------------------------------ reading
    def _has_index(self) -> bool:
        return bool(self._call("reading the alias", self.adapter.alias_indices, self.alias))

    def search(self, query: SearchQuery) -> SearchResults:
        started = time.perf_counter()
        q = self.normalize(query)
        # the words alone, as the embedded backend reads them: no character of the text
        # (":", "*", quotes...) can change how the engine tokenizes it
        words = french.query_words(q.text)
        if q.text and not words:
            return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
        sent = replace(q, text=" ".join(words))
        suggestion = corrected_from = None
        try:
            found = self._ask(sent, "and")
            if found is None:  # no index yet
                return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
            resp, counts = found
            if q.text and not q.as_typed:
                suggestion = did_you_mean(resp)
            if suggestion:  # the words meant: shown instead when they match
                meant = self._ask(replace(sent, text=suggestion), "and")
                if meant is not None and meant[0]["hits"]["total"]["value"]:
                    (resp, counts), sent = meant, replace(sent, text=suggestion)
                    corrected_from = q.text
            if q.text and not resp["hits"]["total"]["value"] and len(words) > 1:
                found = self._ask(sent, "or")
                if found is not None:
                    resp, counts = found
        except self.adapter.errors as exc:
            raise BackendError(f"{self.adapter.engine}: search failed: {exc}") from exc
        total = int(resp["hits"]["total"]["value"])
        hits = []
        for h in resp["hits"]["hits"]:
            doc = h["_source"]
            highlights = {}
            if q.text and q.highlight:
                marks = h.get("highlight") or {}
                highlights["name"] = (marks.get("name") or [html.escape(doc.get("name") or "")])[0]
                if marks.get("shop_name"):
                    highlights["shop_name"] = marks["shop_name"][0]
                if marks.get("description"):
                    highlights["description"] = marks["description"][0]
            hits.append(self.make_hit(doc, h.get("_score") or 0.0, q, highlights))
        facets = facets_of(counts, q) if total and counts else {}
        timed_out = bool(resp.get("timed_out") or (counts or {}).get("timed_out"))
        return SearchResults(q, total, hits, facets, suggestion, self.elapsed_ms(started),
                             corrected_from, approximate=timed_out)

    def _ask(self, q: SearchQuery, operator: str,
             ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The hits and, in the same request, the facet counts (a search of their own, which
        the shard request cache answers for every page and order); None without an index.
        Once more if the request met the index a build just deleted."""
        bodies = [search_body(q, operator)]
        counting = facets_body(q, operator, self.budget_ms)
        if counting is not None:
            bodies.append(counting)
        for attempt in range(2):
            try:
                answers = self.adapter.msearch(self.alias, bodies)
            except self.adapter.not_found:
                if attempt:
                    return None
                continue
            counts = answers[1] if counting is not None else None
            if counts is not None and _out_of_time(counts):
                # the counts passed the budget on every shard: none, and said so
                counts = {"timed_out": True, "aggregations": {}}
            answers = [answers[0]] + ([counts] if counts is not None else [])
            failed = [a for a in answers if "error" in a or (a.get("_shards") or {}).get(
                "failed")]
            if not failed:
                return answers[0], counts
            if attempt and any(a.get("status") == 404 for a in failed):
                return None
            if attempt:
                raise BackendError(f"{self.adapter.engine}: search failed: "
                                   f"{failed[0].get('error') or failed[0].get('_shards')}")
        return None

    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        key = french.suggest_key(str(prefix or "")[:100])
        limit = max(1, min(int(limit), 50))
        if not key:
            return []
        # the engine keeps to the territory (the completion field's ``territory`` context)
        body = {"size": 0, "_source": ["id", "kind", "name"], "suggest": {"complete": {
            "prefix": key, "completion": {
                "field": "suggest", "size": limit * 3, "skip_duplicates": True,
                "contexts": {"territory": [territory or EVERYWHERE]}}}}}
        try:
            resp = self.adapter.search(self.alias, body)
        except self.adapter.not_found:
            return []
        except self.adapter.errors as exc:
            raise BackendError(f"{self.adapter.engine}: suggest failed: {exc}") from exc
        out: list[Suggestion] = []
        seen: set[str] = set()
        for entry in resp.get("suggest", {}).get("complete", []):
            for option in entry.get("options", []):
                src = option.get("_source") or {}
                text = src.get("name") or option.get("text")
                if text and text not in seen:
                    seen.add(text)
                    out.append(Suggestion(text, src.get("kind", "?"), src.get("id")))
        return out[:limit]

    def get(self, entity_id: str) -> dict[str, Any] | None:
        try:
            return self.adapter.get_source(self.alias, str(entity_id))
        except self.adapter.errors as exc:
            raise BackendError(f"{self.adapter.engine}: get failed: {exc}") from exc

    def status(self) -> dict[str, Any]:
        indices = self._call("reading the alias", self.adapter.alias_indices, self.alias)
        return {"backend": self.name, "engine": self.adapter.engine,
                "version": self.adapter.version, "alias": self.alias,
                "index": indices[0] if indices else None}
