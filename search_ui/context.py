"""What a request needs, opened lazily on ``g`` and closed on teardown.

- ``get_backend()``: the search backend (``AGORA_BACKEND`` when the app was given
  one, else ``catalog.backends.open_backend(AGORA_CATALOG)`` with the app's
  ``AGORA_ELASTICSEARCH_*`` settings), kept to the app's territory when it has one. Opening it per
  request would cost more than most searches, so the app opens one on first use
  and lends it to every request through ``g`` (the backends keep a connection
  per thread themselves).
- ``get_catalog()``: a read-only connection to the catalog (the web app never
  writes), for the entity pages, the place finder and the overlap figures. A SQLite
  file's connection is kept by its thread across requests (opening one and checking its
  schema cost more than a cached search); a PostgreSQL one is borrowed from the pool per
  request and given back on teardown.
- ``platforms()``: the platforms' keys, names and home pages as the crawl side
  registered them in the catalog (``catalog.sources``), in the sources file's
  order (the order pages list them in), read once per build and process (a platform
  registered by a crawl shows from the next build on). The web app never reads the
  sources file: a platform not registered is shown by its key, last.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
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


class _ThreadCatalogs:
    """The app's SQLite catalog connections, one per thread (SQLite's rule: a connection
    serves one thread at a time); a thread's goes with it, ``close_all`` closes the rest.
    A file replaced under the app (``agora restore --force``) is reopened."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.opened: weakref.WeakSet[Catalog] = weakref.WeakSet()

    def get(self) -> Catalog | None:
        return getattr(self.local, "catalog", None)

    def current(self, path: str) -> Catalog | None:
        """This thread's connection, unless the file at ``path`` is no longer its file."""
        catalog = self.get()
        if catalog is not None and _file_id(path) != self.local.file_id:
            self.drop()
            return None
        return catalog

    def keep(self, catalog: Catalog, path: str) -> None:
        self.local.catalog, self.local.file_id = catalog, _file_id(path)
        with _lock:
            self.opened.add(catalog)

    def drop(self) -> None:
        catalog = self.get()
        self.local.catalog = None
        if catalog is not None:
            with _lock:
                self.opened.discard(catalog)
            catalog.close()

    def close_all(self) -> None:
        with _lock:
            catalogs = list(self.opened)
            self.opened.clear()
        for catalog in catalogs:
            catalog.close()


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _thread_catalogs(app: Any) -> _ThreadCatalogs:
    found = app.extensions.get("agora_catalogs")
    if found is None:
        with _lock:
            found = app.extensions.setdefault("agora_catalogs", _ThreadCatalogs())
    return found


def close_backend(app: Any) -> None:
    """Close the backend and the catalog connections the app opened (tests, or a worker
    shutting down)."""
    backend = app.extensions.pop("agora_backend", None)
    if backend is not None:
        backend.close()
    catalogs = app.extensions.pop("agora_catalogs", None)
    if catalogs is not None:
        catalogs.close_all()


def get_catalog() -> Catalog:
    """A read-only connection to the catalog: this thread's (SQLite), or one from the pool
    for this request (PostgreSQL).

    Raises:
        CatalogError: the catalog cannot be read (or is not migrated yet).
    """
    if "agora_catalog" not in g:
        kept, path = _thread_catalogs(current_app), str(current_app.config["AGORA_CATALOG"])
        catalog = kept.current(path)
        if catalog is None:
            catalog = Catalog.open_read_only(path)
            if catalog.engine == "sqlite":
                kept.keep(catalog, path)
        g.agora_catalog = catalog
    return g.agora_catalog


def build_id() -> int | None:
    """The last complete build of the catalog (caches are keyed on it), None if none;
    read once per request."""
    if "agora_build_id" not in g:
        try:
            g.agora_build_id = get_catalog().entities.last_complete_build_id()
        except CatalogError:
            return None
    return g.agora_build_id


def build_key() -> tuple[int | None, tuple[int, int] | None]:
    """What the caches of a build's readings are keyed on: the last complete build and the
    catalog file it is read from (a file replaced under the app, ``agora restore
    --force``, may carry the same build number and other data)."""
    return (build_id(), _file_id(str(current_app.config["AGORA_CATALOG"])))


def close_resources(exc: BaseException | None = None) -> None:
    """Teardown: give back the request's PostgreSQL connection; a thread's SQLite one stays
    unless the request failed (it is reopened by the next request). The backend stays with
    its thread."""
    catalog = g.pop("agora_catalog", None)
    if catalog is not None:
        kept = _thread_catalogs(current_app)
        if kept.get() is not catalog:
            catalog.close()
        elif exc is not None:
            kept.drop()
    for name in ("agora_backend", "agora_platforms", "agora_build_id"):
        g.pop(name, None)


def platforms() -> dict[str, Platform]:
    """key -> Platform, in the sources file's order (read once per build and process)."""
    found: dict[str, Platform] | None = g.get("agora_platforms")
    if found is None:
        try:
            found = _platforms_of_build()
        except CatalogError as exc:
            log.warning("catalog unreadable, platforms shown by key: %s", exc)
            found = {}
        g.agora_platforms = found
    return found


def _platforms_of_build() -> dict[str, Platform]:
    """The registered platforms, cached per app, catalog file and last complete build."""
    key = build_key()
    cached: tuple[Any, dict[str, Platform]] | None = current_app.extensions.get(
        "agora_platforms")
    if cached is not None and cached[0] == key:
        return cached[1]
    table = load_platforms(get_catalog())
    current_app.extensions["agora_platforms"] = (key, table)
    return table


def load_platforms(catalog: Catalog) -> dict[str, Platform]:
    """The platforms registered in the catalog, in order."""
    return {s.key: Platform(s.key, s.name, s.homepage, i)
            for i, s in enumerate(catalog.registered_sources())}


def platform(key: str) -> Platform:
    """The platform of that key; an unknown one is shown by its key, last."""
    return platforms().get(key) or unregistered(key)


@lru_cache(maxsize=1024)
def unregistered(key: str) -> Platform:
    """A platform the catalog does not know: shown by its key, last."""
    return Platform(key, key.replace("_", " ").title(), None, 10_000)
