"""Test helpers for the web app: a replica world built through the real pipeline, crafted
hostile listings, and a small in-memory ``SearchBackend`` double.

``build_world(folder)`` writes the listings a small replica world serves (plus
``crafted_listings()``: a shop named ``<script>alert(1)</script>`` with a
``javascript:`` link, a product whose title is an ``<img onerror>``, and one shop
listed on two platforms with two phone numbers) to JSON Lines, imports them with
``agora.importing.import_listings`` (registering the sources of
``config/sources.yaml``, as ``agora import listings`` does) and runs
``agora.pipeline.build`` (normalize, dedup, embedded index), exactly as ``agora
import listings`` then ``agora build`` would. Worlds are cached per process, so
every test module of a session shares one.

``MemoryBackend`` answers searches over documents in memory, and can be told to
fail, for tests of what the app does when the engine breaks.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import process

from agora.importing import import_listings
from agora.pipeline import build
from catalog.backends import (
    Hit,
    IndexReport,
    SearchBackend,
    SearchQuery,
    SearchResults,
    Suggestion,
    price_bucket,
)
from catalog.backends.documents import build_documents
from catalog.store import Catalog
from crawlers.config import load_sources
from normalizer.text import words
from replicas.truth import expected_listings

SOURCES_FILE = Path(__file__).resolve().parents[2] / "config" / "sources.yaml"

XSS_NAME = "<script>alert(1)</script>"
XSS_TITLE = '<img src=x onerror="alert(2)">Tarte'
XSS_URL = "javascript:alert(3)"
CONFLICT_NAME = "Fromagerie des Deux Numéros"
CONFLICT_PHONES = ("05 61 11 22 33", "05 62 99 88 77")

_worlds: dict[tuple[int, int], World] = {}
_lock = threading.Lock()


def crafted_listings() -> list[dict[str, Any]]:
    """Hostile and conflicting listings added to the replica world."""
    return [
        {"kind": "shop", "source": "clickandco", "source_id": "xss-shop", "url": XSS_URL,
         "name": XSS_NAME, "address": "3 rue du Taur", "postcode": "31000", "city": "Toulouse",
         "phone": "05 61 00 00 01", "lat": 43.6045, "lon": 1.4420, "categories": ["Fromagerie"],
         "services": ["Click & Collect"], "opening_hours": "Mo-Sa 09:00-19:00",
         "description": "<b>gras</b> & <i>italique</i>"},
        {"kind": "product", "source": "clickandco", "source_id": "xss-product",
         "url": "https://clickandco.example/produit/xss", "title": XSS_TITLE,
         "price": "9,90 €", "currency": "EUR", "category": "Fromagerie",
         "shop_source_id": "xss-shop"},
        {"kind": "shop", "source": "tout_toulouse", "source_id": "conflict-a",
         "url": "https://toutoulouse.example/boutique/conflict-a", "name": CONFLICT_NAME,
         "address": "18 rue des Filatiers", "postcode": "31000", "city": "Toulouse",
         "phone": CONFLICT_PHONES[0], "siret": "73282932000074", "lat": 43.5996,
         "lon": 1.4432, "categories": ["Fromagerie"], "opening_hours": "Tu-Sa 09:00-19:00"},
        {"kind": "shop", "source": "dansmazone", "source_id": "conflict-b",
         "url": "https://dansmazone.example/commerce/conflict-b", "name": CONFLICT_NAME,
         "address": "18 rue des Filatiers", "postcode": "31000", "city": "Toulouse",
         "phone": CONFLICT_PHONES[1], "siret": "73282932000074", "lat": 43.5996,
         "lon": 1.4433, "categories": ["Fromagerie"], "services": ["Livraison"],
         "opening_hours": "Tu-Sa 09:00-12:30,14:00-19:00"},
    ]


@dataclass
class World:
    """A catalog built from a replica world, and a few of its entities to look at."""

    catalog: Path
    xss_shop: str
    xss_item: str
    conflict_shop: str
    multi_platform_shop: str  # a shop on at least two platforms, with items
    product: str  # a product sold by several shops
    listings: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def build_world(folder: str | Path, *, shops: int = 60, seed: int = 7) -> World:
    """The catalog of a small replica world plus the crafted listings (cached per process)."""
    key = (shops, seed)
    with _lock:
        if key in _worlds and _worlds[key].catalog.exists():
            return _worlds[key]
        world = _build(Path(folder), shops, seed)
        _worlds[key] = world
        return world


def _build(folder: Path, shops: int, seed: int) -> World:
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    listings = folder / "listings.jsonl"
    count = 0
    with listings.open("w", encoding="utf-8") as fh:
        for item in [*expected_listings(seed=seed, shops=shops), *crafted_listings()]:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    path = folder / "catalog.sqlite"
    import_listings(listings, path, sources=load_sources(SOURCES_FILE).values())
    with Catalog.open(path) as catalog:
        build(catalog, index=True)
        membership = catalog.entities.membership()
        shops_ = list(catalog.entities.records("shop"))
        products = list(catalog.entities.records("product"))

    def member(source: str, source_id: str) -> str:
        if f"{source}:{source_id}" not in membership:
            raise AssertionError(f"{source}:{source_id} is in no entity")
        return membership[f"{source}:{source_id}"]

    multi = min((s for s in shops_ if len(s.get("platforms") or []) >= 2
                 and len(s.get("offer_ids") or []) >= 2),
                key=lambda s: (-len(s["platforms"]), s["entity_id"]), default=None)
    product = min(products, key=lambda p: (-len(p.get("offer_ids") or []), p["entity_id"]),
                  default=None)
    return World(catalog=path, xss_shop=member("clickandco", "xss-shop"),
                 xss_item=member("clickandco", "xss-product"),
                 conflict_shop=member("tout_toulouse", "conflict-a"),
                 multi_platform_shop=multi["entity_id"] if multi else "",
                 product=product["entity_id"] if product else "", listings=count,
                 seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- the double
def _words(text: str) -> list[str]:
    return words(text or "")


class MemoryBackend(SearchBackend):
    """A search over documents in memory: every query word must start a document word.

    Set ``fail_with`` to an exception to make every call raise it.
    """

    name = "memory"

    def __init__(self, documents: Iterable[dict[str, Any]] = ()) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.fail_with: BaseException | None = None
        self.queries: list[SearchQuery] = []
        self.index_build(documents, 0)

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> MemoryBackend:
        """From entity records (as the catalog stores them), through ``catalog.backends.documents``."""
        return cls(build_documents(list(records)))

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        self.docs = {d["id"]: d for d in documents}
        return IndexReport(len(self.docs), 0.0, "memory")

    def _text(self, doc: dict[str, Any]) -> list[str]:
        return _words(" ".join(str(doc.get(k) or "") for k in (
            "name", "brand", "category_text", "place_text", "shop_name")))

    def _matches(self, doc: dict[str, Any], q: SearchQuery, terms: list[str]) -> bool:
        if not set(doc.get("scope") or [doc.get("kind")]) & set(q.kinds):
            return False
        words = self._text(doc)
        if any(not any(w.startswith(t) for w in words) for t in terms):
            return False
        fields = {"platform": "platforms", "category": "categories", "commune": "communes",
                  "service": "services", "flag": "flags", "territory": "territories"}
        for key, values in q.filters:
            have = set(doc.get(fields.get(key, key)) or [])
            if key == "commune":
                have = {h.casefold() for h in have}
                values = tuple(v.casefold() for v in values)
            if not have & set(values):
                return False
        if q.price_min is not None or q.price_max is not None:
            low = doc.get("price_min")
            if low is None:
                return False
            if q.price_min is not None and low < q.price_min:
                return False
            if q.price_max is not None and low > q.price_max:
                return False
        if q.near is not None and q.radius_km is not None:
            distance = self._distance(doc, q)
            if distance is None or distance > q.radius_km:
                return False
        return True

    @staticmethod
    def _distance(doc: dict[str, Any], q: SearchQuery) -> float | None:
        if q.near is None:
            return None
        best = None
        for loc in doc.get("locations") or []:
            lat1, lon1, lat2, lon2 = map(math.radians, (q.near[0], q.near[1], loc["lat"],
                                                        loc["lon"]))
            h = (math.sin((lat2 - lat1) / 2) ** 2
                 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
            km = 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
            best = km if best is None else min(best, km)
        return best

    def search(self, query: SearchQuery) -> SearchResults:
        self._check()
        self.queries.append(query)
        terms = _words(query.text)
        found = [d for d in self.docs.values() if self._matches(d, query, terms)]
        suggestion = None
        if not found and terms:
            vocabulary = {w for d in self.docs.values() for w in self._text(d)}
            fixed = [process.extractOne(t, vocabulary) for t in terms]
            if all(f and f[1] >= 70 for f in fixed):
                suggestion = " ".join(f[0] for f in fixed if f)
        key = {
            "relevance": lambda d: (-len(d.get("platforms") or []), d["id"]),
            "distance": lambda d: (self._distance(d, query) is None,
                                   self._distance(d, query) or 0, d["id"]),
            "price_asc": lambda d: (d.get("price_min") is None, d.get("price_min") or 0, d["id"]),
            "price_desc": lambda d: (d.get("price_max") is None, -(d.get("price_max") or 0),
                                     d["id"]),
        }[query.sort]
        found.sort(key=key)
        facets: dict[str, list[tuple[str, int]]] = {}
        sources = {"kind": "scope", "platform": "platforms", "category": "categories",
                   "commune": "communes", "service": "services"}
        for name in query.facets:
            if name == "price":
                counts = Counter(price_bucket(d.get("price_min")) for d in found
                                 if d.get("price_min") is not None)
            else:
                counts = Counter(v for d in found for v in d.get(sources.get(name, name)) or [])
                if name == "kind":
                    counts = Counter({k: v for k, v in counts.items() if k in query.kinds})
            facets[name] = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        start = (query.page - 1) * query.per_page
        hits = [Hit(d["id"], d["kind"], d.get("name") or "", 1.0, d,
                    self._distance(d, query)) for d in found[start:start + query.per_page]]
        return SearchResults(query, len(found), hits, facets, suggestion, 0.1)

    def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        self._check()
        terms = _words(prefix)
        if not terms:
            return []
        out = [Suggestion(d["name"], d["kind"], d["id"]) for d in self.docs.values()
               if d["kind"] in ("shop", "product") and all(
                   any(w.startswith(t) for w in _words(d.get("name") or "")) for t in terms)]
        return sorted(out, key=lambda s: (s.text, s.entity_id or ""))[:limit]

    def get(self, entity_id: str) -> dict[str, Any] | None:
        self._check()
        return self.docs.get(entity_id)
