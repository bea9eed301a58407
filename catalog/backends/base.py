"""The search interface every backend implements, and the objects callers see.

Callers (the CLI, the Flask app, the pipeline's index stage) build a
``SearchQuery``, call ``backend.search(query)`` and read a ``SearchResults``;
they never know which engine answered. ``open_backend`` picks the embedded
SQLite FTS5 index, or Elasticsearch/OpenSearch when ``AGORA_ELASTICSEARCH_URL``
is set.

Documents are built from the catalog's entities by ``catalog.documents``:
shops, offers and products, each with the platforms and listings it merges.
Request arguments become a query with ``catalog.backends.query_from_args``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("shop", "product", "offer")
SORTS = ("relevance", "distance", "price_asc", "price_desc")
FILTER_KEYS = ("kind", "platform", "category", "commune", "service", "flag")
FACETS = ("kind", "platform", "category", "commune", "service", "price")
MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
MAX_PAGE = 500


@dataclass(frozen=True)
class SearchQuery:
    """What a shopper asks: text, filters, a place, an order, a page.

    ``filters`` maps a FILTER_KEYS key to the values accepted (OR within a key,
    AND across keys); ``price_min``/``price_max`` are in cents and keep shops
    out; ``near`` is (lat, lon) and ``radius_km`` limits the distance.
    """

    text: str = ""
    kinds: tuple[str, ...] = ("shop", "product")
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = FACETS
    highlight: bool = True

    def filter_values(self, key: str) -> tuple[str, ...]:
        return dict(self.filters).get(key, ())


@dataclass
class Hit:
    """One result: the entity, why it matched, and how far it is."""

    entity_id: str
    kind: str
    name: str
    score: float
    document: dict[str, Any]
    distance_km: float | None = None
    highlights: dict[str, str] = field(default_factory=dict)  # field -> HTML with <mark>

    @property
    def listings(self) -> list[dict[str, Any]]:
        return self.document.get("sources", [])


@dataclass
class SearchResults:
    query: SearchQuery
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    suggestion: str | None = None  # "vouliez-vous dire" when the text looks misspelt
    took_ms: float = 0.0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    entity_id: str | None = None


@dataclass
class IndexReport:
    documents: int
    seconds: float
    index_name: str


class SearchBackend(ABC):
    """One search engine behind the common interface."""

    name: str = "backend"

    @abstractmethod
    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        """Index a whole build and swap it in atomically (searches under way never see
        half an index)."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResults:
        """Answer a query from the current index."""

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """Completions for what the shopper is typing."""

    @abstractmethod
    def get(self, entity_id: str) -> dict[str, Any] | None:
        """One indexed document by entity id."""

    def close(self) -> None:
        """Release connections."""
        return None  # noqa: B027 - optional hook
