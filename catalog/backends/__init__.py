"""Search backends: one interface, an embedded engine and Elasticsearch/OpenSearch.

- ``base``: the interface (``SearchBackend``), the objects callers see
  (``SearchQuery``, ``SearchResults``, ``Hit``, ``Suggestion``) and what every
  engine shares (query normalisation, price buckets, distances).
- ``query``: the one parser of search arguments (web pages, API, CLI), with the
  bounds the API's OpenAPI document is generated from.
- ``documents``: the catalog's entities as search documents (the same for every
  engine); ``french``: the French analysis; ``plan``: how an embedded engine looks
  for a text (typos, abbreviations, corrections).
- ``embedded``: the default engine, a Tantivy index beside the catalog file;
  ``fts5``: SQLite FTS5 tables inside the catalog file (``engine="fts5"``);
  ``elastic``: Elasticsearch or OpenSearch behind an alias.

``open_backend(catalog, settings)`` picks one from ``BackendSettings``, which the
caller resolves (the CLI and the web app from Agora's settings). Errors are the
catalog's (``catalog.errors``): ``BackendError``, ``BackendNotConfigured``, and
``BadParameter`` (``query``), also a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catalog.backends.base import (
    FACETS,
    KINDS,
    SORTS,
    Hit,
    IndexReport,
    SearchBackend,
    SearchQuery,
    SearchResults,
    Suggestion,
    distance_to,
    haversine_km,
    normalize_query,
    price_bucket,
)
from catalog.backends.budget import DEFAULT_BUDGET_MS
from catalog.backends.embedded import EmbeddedBackend
from catalog.backends.fts5 import Fts5Backend
from catalog.errors import BackendNotConfigured

__all__ = ["FACETS", "KINDS", "SORTS", "BackendSettings", "Hit", "IndexReport",
           "SearchBackend", "SearchQuery", "SearchResults", "Suggestion", "distance_to",
           "haversine_km", "normalize_query", "open_backend", "price_bucket"]

EMBEDDED_ENGINES = ("tantivy", "fts5")


@dataclass(frozen=True)
class BackendSettings:
    """Which search backend, and how: resolved by the caller, never read here.

    ``elasticsearch_url``: Elasticsearch or OpenSearch at that URL instead of the
    embedded index; ``index_name``: its alias and index prefix; ``embedded``: the
    embedded engine (``tantivy``, or ``fts5``); ``budget_ms``: a query's time budget,
    past which facet counts are estimated.
    """

    elasticsearch_url: str | None = None
    index_name: str = "agora"
    embedded: str = "tantivy"
    budget_ms: float = DEFAULT_BUDGET_MS

    #: the AGORA_* settings ``from_mapping`` reads
    KEYS = ("AGORA_ELASTICSEARCH_URL", "AGORA_ELASTICSEARCH_INDEX", "AGORA_SEARCH_ENGINE",
            "AGORA_SEARCH_BUDGET_MS")
    #: bounds of a query's time budget, in milliseconds
    BUDGET_BOUNDS = (1.0, 60_000.0)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BackendSettings:
        """From AGORA_* names (Agora's settings, a Flask app's config).

        Raises:
            BackendNotConfigured: a value that cannot be honoured, the message starting
                with its name: an unknown engine, an embedded engine named beside a
                search server (it would have no effect), a budget out of bounds.
        """
        url = values.get("AGORA_ELASTICSEARCH_URL") or None
        engine = str(values.get("AGORA_SEARCH_ENGINE") or "").strip().lower()
        if engine and engine not in EMBEDDED_ENGINES:
            raise BackendNotConfigured(f"AGORA_SEARCH_ENGINE: {engine!r} is not one of "
                                       f"{', '.join(EMBEDDED_ENGINES)}")
        if engine and url:
            raise BackendNotConfigured("AGORA_SEARCH_ENGINE: chooses the embedded index, "
                                       "which AGORA_ELASTICSEARCH_URL replaces; unset one")
        return cls(elasticsearch_url=url,
                   index_name=values.get("AGORA_ELASTICSEARCH_INDEX") or cls.index_name,
                   embedded=engine or cls.embedded,
                   budget_ms=cls._budget(values.get("AGORA_SEARCH_BUDGET_MS")))

    @classmethod
    def _budget(cls, value: Any) -> float:
        if value is None or str(value).strip() == "":
            return DEFAULT_BUDGET_MS
        try:
            budget = float(value)
        except ValueError:
            raise BackendNotConfigured(f"AGORA_SEARCH_BUDGET_MS: {value!r} is not a number "
                                       "of milliseconds") from None
        low, high = cls.BUDGET_BOUNDS
        if not low <= budget <= high:
            raise BackendNotConfigured(f"AGORA_SEARCH_BUDGET_MS: {budget:g} ms is out of "
                                       f"bounds ({low:g} to {high:g})")
        return budget


def open_backend(catalog: Any, settings: BackendSettings | None = None) -> SearchBackend:
    """The search backend: Elasticsearch/OpenSearch when a URL is set, else embedded.

    Args:
        catalog: the catalog (a ``Catalog``, or its path) the embedded index lives beside.
        settings: which backend (default: the embedded one).
    """
    settings = settings or BackendSettings()
    if settings.elasticsearch_url:
        from catalog.backends.elastic import ElasticBackend  # noqa: PLC0415 - its clients load slowly

        return ElasticBackend.connect(settings.elasticsearch_url, settings.index_name,
                                      budget_ms=settings.budget_ms)
    if settings.embedded == "fts5":
        return Fts5Backend(catalog, budget_ms=settings.budget_ms)
    if settings.embedded != "tantivy":
        raise BackendNotConfigured(f"unknown embedded engine {settings.embedded!r}; one of "
                                   f"{', '.join(EMBEDDED_ENGINES)}")
    return EmbeddedBackend(catalog, budget_ms=settings.budget_ms)
