"""The index stage: the catalog's entities, as search documents, into the search backend.

``index_stage`` is what ``agora build`` runs after dedup (and ``agora index``
alone): it reads every entity of the catalog, turns them into documents
(``catalog.backends.documents``) and hands them to the backend the caller
chose, which builds a new index beside the live one and swaps it in atomically.

Example:
    >>> from catalog.store import Catalog
    >>> with Catalog.open(":memory:") as cat:
    ...     index_stage(cat, 1).figures["documents"]
    0
"""

from __future__ import annotations

import os
import time
from typing import Any

from catalog.backends import BackendSettings, SearchBackend, open_backend
from catalog.backends.documents import catalog_documents
from catalog.reports import StageReport
from normalizer.territories import Territories


def index_stage(catalog: Any, build_id: int, backend: SearchBackend | None = None,
                settings: BackendSettings | None = None,
                territories: Territories | None = None) -> Any:
    """Index every entity of ``catalog`` for ``build_id``; returns the stage's report.

    Args:
        catalog: the open ``Catalog``.
        build_id: the build the entities belong to (kept with the index).
        backend: a search backend to index into (default: ``open_backend(catalog,
            settings)``, closed afterwards).
        settings: the backend to open when none is given. A caller that gives
            neither (the pipeline, until it resolves them) gets the settings of the
            AGORA_* environment variables.
        territories: the territories documents are placed in (a shop is in the
            territory of its address); None: in none.
    Returns:
        a ``catalog.reports.StageReport`` named "index" with the documents indexed,
        documents per second, the index name and the backend's name.
    """
    t0 = time.perf_counter()
    owned = backend is None
    if backend is None:
        backend = open_backend(catalog, settings or BackendSettings.from_mapping(os.environ))
    try:
        report = backend.index_build(catalog_documents(catalog.conn, territories), build_id)
    finally:
        if owned:
            backend.close()
    seconds = time.perf_counter() - t0
    return StageReport("index", seconds, {
        "documents": report.documents,
        "docs_per_s": round(report.documents / max(report.seconds, 1e-9)),
        "index": report.index_name, "backend": backend.name})
