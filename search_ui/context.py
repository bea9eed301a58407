"""What a request needs, opened lazily on ``g`` and closed on teardown.

- ``get_backend()``: the search backend (``AGORA_BACKEND`` when the app was given
  one, else ``catalog.backends.open_backend(AGORA_CATALOG)`` with the app's
  ``AGORA_ELASTICSEARCH_*`` settings), kept to the app's territory when it has one. Opening it per
  request would cost more than most searches, so the app opens one on first use
  and lends it to every request through ``g`` (the backends keep a connection
  per thread themselves).
- ``get_catalog()``: a read-only connection to the catalog (the web app never
  writes), for the entity pages, the place finder and the overlap figures.
- ``platforms()``: the platforms' keys, names and home pages as the crawl side
  registered them in the catalog (``catalog.sources``), in the sources file's
  order (the order pages list them in). The web app never reads the sources
  file: a platform not registered is shown by its key, last.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app, g

from agora import settings
from catalog.backends import BackendSettings, SearchBackend, open_backend
from catalog.backends.base import IndexReport, SearchQuery, SearchResults, Suggestion
from catalog.errors import CatalogError
from catalog.store import Catalog

log = logging.getLogger(__name__)

_lock = threading.Lock()


@dataclass(frozen=True)
class Platform:
    key: str
    name: str
    homepage: str | None
    rank: int


class TerritoryBackend(SearchBackend):
    """A search backend seen from one territory: its searches and completions keep to it
    (the documents' ``territories``, a shop being in the territory of its address)."""

    def __init__(self, backend: SearchBackend, key: str) -> None:
        self.backend, self.key = backend, key
        self.name = backend.name

    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        return self.backend.index_build(documents, build_id)

    def search(self, query: SearchQuery) -> SearchResults:
        filters = tuple((k, v) for k, v in query.filters if k != "territory")
        return self.backend.search(replace(query, filters=(*filters,
                                                             ("territory", (self.key,)))))

    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        return self.backend.suggest(prefix, limit, self.key)

    def get(self, entity_id: str) -> dict[str, Any] | None:
        return self.backend.get(entity_id)


def get_backend() -> SearchBackend:
    """The search backend for this request."""
    if "agora_backend" not in g:
        configured = current_app.config.get("AGORA_BACKEND")
        if configured is None:
            configured = _app_backend()
        key = current_app.config.get("AGORA_TERRITORY")
        g.agora_backend = TerritoryBackend(configured, key) if key else configured
    return g.agora_backend


def _app_backend() -> SearchBackend:
    backend = current_app.extensions.get("agora_backend")
    if backend is None:
        with _lock:
            backend = current_app.extensions.get("agora_backend")
            if backend is None:
                backend = open_backend(
                    settings.search_index_base(current_app.config["AGORA_CATALOG"]),
                    BackendSettings.from_mapping(current_app.config))
                current_app.extensions["agora_backend"] = backend
    return backend


def close_backend(app: Any) -> None:
    """Close the backend the app opened (tests, or a worker shutting down)."""
    backend = app.extensions.pop("agora_backend", None)
    if backend is not None:
        backend.close()


def get_catalog() -> Catalog:
    """A read-only connection to the catalog, opened on first use in the request.

    Raises:
        CatalogError: the catalog cannot be read (or is not migrated yet).
    """
    if "agora_catalog" not in g:
        g.agora_catalog = Catalog.open_read_only(str(current_app.config["AGORA_CATALOG"]))
    return g.agora_catalog


def build_id() -> int | None:
    """The last complete build of the catalog (caches are keyed on it), None if none."""
    try:
        last = get_catalog().entities.last_complete_build()
    except CatalogError:
        return None
    return last.id if last else None


def close_resources(_exc: BaseException | None = None) -> None:
    """Teardown: close the request's catalog connection (the backend stays with its thread)."""
    catalog = g.pop("agora_catalog", None)
    if catalog is not None:
        catalog.close()
    g.pop("agora_backend", None)
    g.pop("agora_platforms", None)


def platforms() -> dict[str, Platform]:
    """key -> Platform, in the sources file's order (read once per request)."""
    if "agora_platforms" not in g:
        try:
            g.agora_platforms = load_platforms(get_catalog())
        except CatalogError as exc:
            log.warning("catalog unreadable, platforms shown by key: %s", exc)
            g.agora_platforms = {}
    return g.agora_platforms


def load_platforms(catalog: Catalog) -> dict[str, Platform]:
    """The platforms registered in the catalog, in order."""
    return {s.key: Platform(s.key, s.name, s.homepage, i)
            for i, s in enumerate(catalog.registered_sources())}


def platform(key: str) -> Platform:
    """The platform of that key; an unknown one is shown by its key, last."""
    found = platforms().get(key)
    return found or Platform(key, key.replace("_", " ").title(), None, 10_000)
