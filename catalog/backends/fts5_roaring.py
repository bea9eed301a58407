"""FTS5 with facets counted on per-value bitmaps (``pyroaring``), for comparison.

The same tables and text search as ``catalog.backends.fts5``; only facet counting
differs: each facet value's documents are one roaring bitmap, built once per
index and process from the index's tables; a query's matches become a bitmap and
each count is an intersection's cardinality; exact counts are cached per index
(``catalog.backends.budget.FacetCache``). The benchmark's third embedded engine
(``benchmarks/search.py --engines fts5-roaring``).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from pyroaring import BitMap64

from catalog.backends.base import BUCKET_KEYS, FACET_SIZE, SearchQuery
from catalog.backends.budget import SAMPLE_MODULUS, FacetCache
from catalog.backends.fts5 import Fts5Backend, tables


class Fts5RoaringBackend(Fts5Backend):
    """FTS5 matching, facet counts by bitmap intersection."""

    name = "fts5-roaring"

    def __init__(self, catalog: Any, **kwargs: Any) -> None:
        super().__init__(catalog, **kwargs)
        self.facet_cache = FacetCache()
        self._bitmaps: tuple[int, dict[str, dict[str, BitMap64]]] | None = None
        self._bitmap_lock = threading.Lock()

    def _values(self, conn: sqlite3.Connection, n: int) -> dict[str, dict[str, BitMap64]]:
        cached = self._bitmaps
        if cached is not None and cached[0] == n:
            return cached[1]
        with self._bitmap_lock:
            if self._bitmaps is None or self._bitmaps[0] != n:
                t = tables(n)
                rows: dict[str, dict[str, list[int]]] = {}
                for doc, facet, value in conn.execute(
                        f"SELECT k.rowid, v.facet, v.value FROM {t['keys']} k "
                        f"JOIN {t['sigs']} v ON v.sig = k.sig"):
                    rows.setdefault(facet, {}).setdefault(value, []).append(doc)
                self._bitmaps = (n, {facet: {value: BitMap64(docs) for value, docs
                                             in values.items()}
                                     for facet, values in rows.items()})
            return self._bitmaps[1]

    def _facets(self, conn: sqlite3.Connection, n: int, q: SearchQuery,
                scale: int = 1) -> dict[str, list[tuple[str, int]]]:
        key = (n, q.text, q.as_typed, q.kinds, q.filters, q.price_min, q.price_max,
               q.radius_km and q.near, q.radius_km, q.facets)
        cached = self.facet_cache.get(key) if scale == 1 else None
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        values = self._values(conn, n)
        sample = f" WHERE (doc % {SAMPLE_MODULUS}) < {SAMPLE_MODULUS // scale}" \
            if scale > 1 else ""
        hits = BitMap64(r for (r,) in conn.execute(f"SELECT doc FROM temp.agora_hits{sample}"))
        out: dict[str, list[tuple[str, int]]] = {}
        for name in q.facets:
            facet = "scope" if name == "kind" else name
            counts = [(value, hits.intersection_cardinality(bitmap) * scale)
                      for value, bitmap in values.get(facet, {}).items()
                      if facet != "scope" or value in q.kinds]
            counts = [(v, c) for v, c in counts if c]
            if name == "price":
                found = dict(counts)
                out[name] = [(b, found[b]) for b in BUCKET_KEYS if found.get(b)]
            else:
                out[name] = sorted(counts, key=lambda vc: (-vc[1], vc[0].encode()))[:FACET_SIZE]
        if scale == 1:
            self.facet_cache.put(key, out)
        return out
