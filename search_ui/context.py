"""What a request needs, opened lazily on ``g`` and closed on teardown.

- ``get_backend()``: the search backend (``AGORA_BACKEND`` when the app was given
  one, else ``catalog.backends.open_backend(AGORA_CATALOG)`` with the app's
  ``AGORA_ELASTICSEARCH_*`` settings). Opening it per
  request would cost more than most searches, so the app opens one on first use
  and lends it to every request through ``g`` (the backends keep a connection
  per thread themselves).
- ``get_catalog()``: a read-only connection to the catalog file (the web app never
  writes), for the place finder and the overlap figures.
- ``platforms()``: the platforms' keys, names and home pages from the sources
  file, in its order (the order pages list them in).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from catalog.backends import SearchBackend
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


def get_backend() -> SearchBackend:
    """The search backend for this request."""
    if "agora_backend" not in g:
        configured = current_app.config.get("AGORA_BACKEND")
        if configured is None:
            configured = _app_backend()
        g.agora_backend = configured
    return g.agora_backend  # type: ignore[no-any-return]


def _app_backend() -> SearchBackend:
    backend = current_app.extensions.get("agora_backend")
    if backend is None:
        with _lock:
            backend = current_app.extensions.get("agora_backend")
            if backend is None:
                from catalog.backends import BackendSettings, open_backend  # noqa: PLC0415

                backend = open_backend(current_app.config["AGORA_CATALOG"],
                                       BackendSettings.from_mapping(current_app.config))
                current_app.extensions["agora_backend"] = backend
    return backend  # type: ignore[no-any-return]


def close_backend(app: Any) -> None:
    """Close the backend the app opened (tests, or a worker shutting down)."""
    backend = app.extensions.pop("agora_backend", None)
    if backend is not None:
        backend.close()


def get_catalog() -> Catalog:
    """A read-only connection to the catalog, opened on first use in the request."""
    if "agora_catalog" not in g:
        path = str(current_app.config["AGORA_CATALOG"])
        if path == ":memory:":  # an empty catalog (examples, tests)
            g.agora_catalog = Catalog.open(":memory:")
            return g.agora_catalog  # type: ignore[no-any-return]
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT 1 FROM entities LIMIT 1")
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot read the catalog {path}: {exc}") from exc
        g.agora_catalog = Catalog(conn, path)
    return g.agora_catalog  # type: ignore[no-any-return]


def build_id() -> int | None:
    """The last complete build of the catalog (caches are keyed on it), None if none."""
    try:
        row = get_catalog().conn.execute(
            "SELECT max(id) FROM builds WHERE status = 'complete'").fetchone()
    except (CatalogError, sqlite3.Error):
        return None
    return row[0] if row else None


def close_resources(_exc: BaseException | None = None) -> None:
    """Teardown: close the request's catalog connection (the backend stays with its thread)."""
    catalog = g.pop("agora_catalog", None)
    if catalog is not None:
        catalog.close()
    g.pop("agora_backend", None)


def platforms() -> dict[str, Platform]:
    """key -> Platform, in the sources file's order (cached on the app)."""
    cached = current_app.extensions.get("agora_platforms")
    if cached is None:
        cached = load_platforms(current_app.config.get("AGORA_SOURCES"))
        current_app.extensions["agora_platforms"] = cached
    return cached  # type: ignore[no-any-return]


def load_platforms(path: Any) -> dict[str, Platform]:
    from crawlers.config import load_sources  # noqa: PLC0415
    from crawlers.errors import CrawlError  # noqa: PLC0415

    try:
        configs = load_sources(path)
    except (CrawlError, OSError) as exc:
        log.warning("sources file unreadable, platforms shown by key: %s", exc)
        return {}
    return {key: Platform(key, c.name, c.homepage, i)
            for i, (key, c) in enumerate(configs.items())}


def platform(key: str) -> Platform:
    """The platform of that key; an unknown one is shown by its key, last."""
    found = platforms().get(key)
    return found or Platform(key, key.replace("_", " ").title(), None, 10_000)
