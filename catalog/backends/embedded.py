"""The embedded search backend: a Tantivy index in a folder beside the catalog file.

Tantivy (through its official Python binding) answers what costs most at region
size in Rust: BM25 over the analysed text, top-k without scoring every match,
counts and facet aggregations over tens of thousands of matches. Python keeps
what must stay identical on every engine: the French analysis
(``catalog.backends.french``, applied before Tantivy sees a word, so its
tokenizer only splits on spaces), the plan of a text query (all the words, each
with its one- or two-edit neighbours and its abbreviations, then any of them),
distances, highlights and suggestions.

Documents are stored sorted by weight (how widely listed), so that Tantivy's own
order (score, then document) breaks ties as the other engines do, and pages cut
with an offset never repeat or skip a hit. Places: every distinct location is
numbered, a document indexes the numbers of its locations (``loc``) and their
cells (``cell``, squares of ``CELL_DEGREES``), and a radius is, from the
coordinates kept in memory, the cells all of whose locations lie within it plus
the near locations of the cells it cuts: an exact filter Tantivy applies as
terms. The distance order reads the nearest locations first and widens until a
page is full. Facets: a document holds, per facet, the number of its set of
values (``FacetSets``); Tantivy counts those numbers (one integer column read per
match) and each set's count goes to each of its values.

The folder (``<catalog>.search/``) holds one Tantivy index per build
(``index-<n>``, with ``extra.json``: the vocabulary, and ``locations.npz``: the
locations and each document's) and ``CURRENT``, the number of the live one, replaced
atomically once a build is whole. A backend object reopens the index when
``CURRENT`` changes; a search under way keeps its searcher (and the files it
mapped, which the system keeps until closed even when the next build deletes
them). A catalog in memory gets an index in memory.

A build is bound by the Python that prepares each document while Tantivy's writer
thread indexes the previous ones: a document starts from a copy of its scope's terms
(``_scope_document``), its facet value sets are numbered from the lists it holds
(each distinct list sorted once), and the cyclic garbage collector is paused while
documents stream in.

Searches run one at a time: the binding holds the GIL through Tantivy's work, so
threads searching at once only interleave by the interpreter's switch interval,
and a short query cut off waits for every other thread's slice.

Facet counts keep to the query's time budget (``catalog.backends.budget``): past
it, they are counted over a fixed sample of the matches (documents by row number
modulo ``SAMPLE_MODULUS``) and marked approximate.

An index never changes once built, so what a search found stays true until the
next build: each answer is kept (``Page``: the hits by address with their
scores, distances and highlights, the total, the counts), least recently used
out, with the counts, and the parsed stored documents of the live index too
(``Generation.stored``). Shoppers ask the same trades and shops again and again;
the same query (another shopper, the back button) answers in one lookup.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import math
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import tantivy

from catalog.backends import french
from catalog.backends.base import (
    BUCKET_KEYS,
    EARTH_RADIUS_KM,
    FACET_SIZE,
    KINDS,
    BaseBackend,
    Hit,
    IndexReport,
    SearchQuery,
    SearchResults,
    Suggestion,
    price_bucket,
)
from catalog.backends.budget import (
    DEFAULT_BUDGET_MS,
    SAMPLE_MODULUS,
    FacetBudget,
    FacetCache,
    LruCache,
)
from catalog.backends.documents import commune_key
from catalog.backends.plan import Plan, plan_query
from catalog.errors import BackendError

log = logging.getLogger(__name__)

BATCH = 2000
WRITER_HEAP = 256_000_000
# analysed text fields, and their weights (name ≫ brand, categories, shop > place > body)
TEXT_FIELDS = {"name": 10.0, "brand": 4.0, "category": 3.0, "place": 2.0, "shop": 3.0,
               "body": 1.0}
SOURCES = {"name": "name", "brand": "brand", "category": "category_text",
           "place": "place_text", "shop": "shop_name", "body": "description"}
# keyword fields: filters (indexed terms; facets are counted from FACET_FIELDS)
KEYWORDS = {"scope": "scope", "platforms": "platforms", "categories": "categories",
            "communes": "communes", "commune_keys": "commune_keys", "services": "services",
            "flags": "flags", "territories": "territories"}
# the keywords a document holds beside its scope's (see _scope_document)
OWN_KEYWORDS = {name: source for name, source in KEYWORDS.items() if name != "scope"}
FILTER_FIELDS = {"platform": "platforms", "category": "categories", "service": "services",
                 "flag": "flags", "commune": "commune_keys", "territory": "territories"}
# facet -> the document's values it counts (the price bucket is computed)
FACET_SOURCES = {"kind": "scope", "platform": "platforms", "category": "categories",
                 "commune": "communes", "service": "services", "flag": "flags",
                 "price": None}
FACET_FIELDS = {facet: f"facet_{facet}" for facet in FACET_SOURCES}
# every set of kinds a search may cover but all of them (no filter then), as one term
KIND_SETS = tuple(tuple(k for i, k in enumerate(KINDS) if mask >> i & 1)
                  for mask in range(1, 2 ** len(KINDS) - 1))
SUGGEST_KINDS = ("shop", "product")
STORED_LISTS = 20  # listings and locations a stored document keeps (see stored_document)
FIRST_LOCATIONS = 16
FEW_MATCHES = 2000  # matches the distance order reads all at once
# a place cell: 0.005° (about 550 m by 400 m here), a street block or two; a radius is the
# cells all of whose locations lie within it, and the locations of the cells it cuts
CELL_DEGREES = 0.005
# parsed stored documents kept per live index (7 kB each at most: 30 MB): the shops and
# products of the pages asked again
STORED_CACHE = 4096


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    for name in KEYWORDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("id", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("kinds_in", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("kinds_out", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("suggest", tokenizer_name="raw", index_option="basic")
    for name in FACET_FIELDS.values():
        sb.add_unsigned_field(name, fast=True)
    sb.add_unsigned_field("row", fast=True, indexed=True)
    sb.add_unsigned_field("sample", fast=True, indexed=True)
    sb.add_integer_field("weight", fast=True)
    sb.add_integer_field("price_min", fast=True, indexed=True)
    sb.add_integer_field("price_max", fast=True, indexed=True)
    sb.add_unsigned_field("loc", indexed=True)
    sb.add_unsigned_field("cell", indexed=True)
    sb.add_unsigned_field("located", fast=True)
    sb.add_bytes_field("doc", stored=True)
    return sb.build()


SCHEMA = _schema()


@dataclass
class Generation:
    """One live index: its searcher's index, vocabulary and coordinates."""

    number: int
    index: tantivy.Index
    vocabulary: french.Vocabulary
    loc_start: np.ndarray  # row -> its first entry in row_locs (row + 1: past its last)
    row_locs: np.ndarray  # the location numbers of each row, one after the other
    lats: np.ndarray  # location number -> latitude
    lons: np.ndarray
    build_id: int | None
    documents: int
    switched_at: str | None
    facet_values: dict[str, list[tuple[str, ...]]]  # facet -> its value sets, by number
    cells: np.ndarray = field(init=False)  # the distinct cells holding a location
    loc_cells: np.ndarray = field(init=False)  # location number -> its place in ``cells``
    radians: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False)  # lat, lon, cos lat
    stored: LruCache = field(init=False)  # (segment, document) -> the parsed stored JSON

    def __post_init__(self) -> None:
        self.stored = LruCache(STORED_CACHE)
        self.cells, self.loc_cells = np.unique(cells_of(self.lats, self.lons),
                                               return_inverse=True)
        lats = np.radians(self.lats)
        self.radians = (lats, np.radians(self.lons), np.cos(lats))


@dataclass
class Page:
    """An answer, as kept for the same query asked again: its hits by address, with their
    score, distance and highlights (the documents come from ``Generation.stored``; a page
    keeps some ten kB); one with estimated facet counts gives way when a query has the
    time to count them."""

    total: int
    hits: list[tuple[tuple[int, int], float, float | None, dict[str, str]]]
    facets: dict[str, list[tuple[str, int]]]
    suggestion: str | None
    corrected_from: str | None
    approximate: bool
    searched_s: float  # how long the search took before its counts

    def gives_way(self, budget: FacetBudget, started: float) -> bool:
        """Whether to search again, now that counting in full would fit the budget (with
        the time the search itself takes, as ``EmbeddedBackend._facets`` decides)."""
        return self.approximate and budget.scale(self.total, started - self.searched_s) == 1


@dataclass
class Counted:
    """What a search of the live index counted: its total, and its facet counts by the
    facets asked (with whether they were estimated)."""

    total: int
    facets: dict[tuple[str, ...], tuple[dict[str, list[tuple[str, int]]], bool]] = field(
        default_factory=dict)


class EmbeddedBackend(BaseBackend):
    """Tantivy in a folder beside the catalog; nothing to install but the wheel."""

    name = "embedded"

    def __init__(self, catalog: Any, *, budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        path = str(getattr(catalog, "path", catalog))
        self.path = path
        self.folder: Path | None = None
        if path != ":memory:":
            p = Path(path)
            self.folder = p.parent / (p.stem + ".search")
        self.budget = FacetBudget(budget_ms)
        # per query: its total and facet counts, and its answers (``Page``)
        self.counts = FacetCache()
        self._lock = threading.Lock()
        # Tantivy's binding holds the GIL while it searches, so threads searching at once
        # gain nothing but interleave by the interpreter's switch interval (5 ms): a short
        # query interrupted waits for every other thread's slice. One search at a time
        # runs each to its end; a waiting thread sleeps on the lock, holding no GIL.
        self._one_at_a_time = threading.Lock()
        self._live: Generation | None = None  # the index in use
        self._memory: Generation | None = None  # an in-memory catalog's index
        self._checked = 0.0

    # ------------------------------------------------------------------ generations
    def _current_number(self) -> int | None:
        if self.folder is None:
            return self._memory.number if self._memory else None
        try:
            return int((self.folder / "CURRENT").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _generation(self) -> Generation | None:
        """The live index, reopened when another process (or thread) switched builds."""
        if self.folder is None:
            return self._memory
        live = self._live
        now = time.monotonic()
        if live is not None and now - self._checked < 0.5:
            return live
        number = self._current_number()
        self._checked = now
        if number is None:
            return None
        if live is not None and live.number == number:
            return live
        with self._lock:
            if self._live is None or self._live.number != number:
                try:
                    self._live = self._open(self.folder / f"index-{number}", number)
                except (OSError, ValueError, KeyError) as exc:
                    # an index another version wrote (schema, extra.json): a build replaces it
                    raise BackendError(f"cannot open the search index {self.folder}: "
                                       f"{exc!r}; `agora index` rebuilds it") from exc
            return self._live

    @staticmethod
    def _open(folder: Path, number: int) -> Generation:
        index = tantivy.Index(SCHEMA, path=str(folder), reuse=True)
        extra = json.loads((folder / "extra.json").read_text(encoding="utf-8"))
        with np.load(folder / "locations.npz") as arrays:
            start, row_locs = arrays["start"], arrays["row_locs"]
            lats, lons = arrays["lat"], arrays["lon"]
        return Generation(number, index, french.Vocabulary.from_rows(extra["words"]),
                          start, row_locs, lats, lons, extra.get("build_id"),
                          extra["documents"], extra.get("switched_at"),
                          FacetSets.from_json(extra["facet_sets"]).values)

    # ------------------------------------------------------------------ indexing
    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        """Write a new index beside the live one, then point CURRENT at it; drop the old."""
        t0 = time.perf_counter()
        number = (self._current_number() or 0) + 1
        if self.folder is None:
            index = _new_index(None)
            target = None
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            while (self.folder / f"index-{number}").exists():
                number += 1
            target = self.folder / f"index-{number}"
            target.mkdir()
            index = _new_index(target)
        try:
            count, words, places, facet_sets = self._write(index, documents)
            switched = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            extra: dict[str, Any] = {"build_id": build_id, "documents": count, "switched_at": switched,
                     "words": [[w, s, f] for w, (s, f) in words.items()],
                     "facet_sets": facet_sets.to_json()}
            generation = Generation(number, index, french.Vocabulary.from_rows(extra["words"]),
                                    *places.arrays(), build_id, count, switched,
                                    facet_sets.values)
            if target is not None:
                (target / "extra.json").write_text(json.dumps(extra), encoding="utf-8")
                np.savez(target / "locations.npz", start=generation.loc_start,
                         row_locs=generation.row_locs, lat=generation.lats, lon=generation.lons)
                self._switch(number)
        except BaseException:
            if target is not None:
                shutil.rmtree(target, ignore_errors=True)
            raise
        with self._lock:
            if target is None:
                self._memory = generation
            self._live = generation if target is not None else None
        self._drop_older(number)
        return IndexReport(count, time.perf_counter() - t0, f"index-{number}")

    def _write(self, index: tantivy.Index, documents: Iterable[dict[str, Any]],
               ) -> tuple[int, dict[str, tuple[str, int]], Places, FacetSets]:
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
        frequencies: Counter[str] = Counter()  # folded word -> documents holding it
        places = Places()
        facet_sets = FacetSets()
        seen: set[str] = set()
        duplicates = 0
        row = 0
        docs = iter(documents)
        try:
            with _few_collections():
                while True:
                    batch = list(islice(docs, BATCH))
                    if not batch:
                        break
                    for doc in batch:
                        if doc["id"] in seen:  # entity ids are unique; a repeat is dropped
                            duplicates += 1
                            continue
                        seen.add(doc["id"])
                        locations = places.add(doc)
                        writer.add_document(_tantivy_document(doc, row, locations,
                                                              places.cells(locations),
                                                              facet_sets.numbers(doc)))
                        frequencies.update(french.count_words(doc.get(f)
                                                              for f in SOURCES.values()))
                        row += 1
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            try:
                writer.rollback()
            except ValueError:
                pass
            raise
        if duplicates:
            log.warning("%d document(s) repeated an entity id and were dropped", duplicates)
        index.reload()
        return row, {w: (french.stem(w), n) for w, n in frequencies.items()}, places, facet_sets

    def _switch(self, number: int) -> None:
        assert self.folder is not None
        tmp = self.folder / f"CURRENT.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(f"{number}\n")
        os.replace(tmp, self.folder / "CURRENT")

    def _drop_older(self, number: int) -> None:
        """Delete the index folders older than the live one and the one before (a reader
        that opened that one just before the switch still finds its files). A folder past
        the live one may be another process's build under way: left alone."""
        if self.folder is None:
            return
        for entry in self.folder.glob("index-*"):
            try:
                n = int(entry.name.split("-", 1)[1])
            except ValueError:
                continue
            if n < number - 1:
                shutil.rmtree(entry, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def search(self, query: SearchQuery) -> SearchResults:
        """One search at a time (see ``_one_at_a_time``)."""
        with self._one_at_a_time:
            return self._search(query)

    def _search(self, query: SearchQuery) -> SearchResults:
        started = time.perf_counter()
        q = self.normalize(query)
        live = self._generation()
        if live is None:
            return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
        # the same query asked again: its answer, kept beside the counts
        page_key = ("page", live.number, q)
        kept = self.counts.get(page_key)
        if kept is not None and not kept.gives_way(self.budget, started):
            return self._answer(live, q, kept, started)
        searcher = live.index.searcher()
        filters = self._filters(q, searcher)
        km = _km(live, q.near) if q.near is not None else None
        radius = self._radius(q, live, km)
        plan: Plan | None = None
        stems: set[str] = set()
        attempts: list[tuple[list[set[str]], str] | None] = [None]
        if q.text:
            plan = plan_query(q.text, live.vocabulary, as_typed=q.as_typed)
            if plan is None:
                return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
            attempts = list(plan.attempts)
        start = (q.page - 1) * q.per_page
        found: list[Any] | None = None
        for attempt in attempts:
            clauses = list(filters)
            if attempt is not None:
                groups, operator = attempt
                clauses.insert(0, (tantivy.Occur.Must, _text_query(groups, operator)))
                stems = set().union(*groups)
            base = _all(clauses)
            query_used = _all([*clauses, (tantivy.Occur.Must, radius)]) if radius is not None \
                else base
            key = (live.number, attempt and (tuple(tuple(sorted(g)) for g in attempt[0]),
                                             attempt[1]), q.kinds, q.filters, q.price_min,
                   q.price_max, q.radius_km and q.near, q.radius_km)
            known = self.counts.get(key)
            if known is not None:
                total = known.total
            elif q.sort == "relevance":  # the page comes with the count
                result = searcher.search(query_used, q.per_page, count=True, offset=start)
                total, found = result.count, result.hits  # type: ignore[attr-defined]  # tantivy's stubs omit count
            else:
                total = searcher.search(query_used, 1, count=True).count  # type: ignore[attr-defined]  # as above
            if known is None:
                known = Counted(total)
                self.counts.put(key, known)
            if total:
                break
        corrected_from = q.text if plan is not None and plan.corrected and total else None
        hits = []
        if total and start < total:
            if q.sort == "relevance":
                # without the count, Tantivy skips what cannot reach the page
                page = found if found is not None else searcher.search(
                    query_used, q.per_page, count=False, offset=start).hits
            elif q.sort == "distance" and km is not None:
                page = self._nearest(searcher, live, q, km, base, start, total)
            else:
                order = tantivy.Order.Asc if q.sort == "price_asc" else tantivy.Order.Desc
                page = searcher.search(query_used, q.per_page, count=False, offset=start,
                                       order_by_field="price_min" if q.sort == "price_asc"
                                       else "price_max", order=order).hits
            hits = self._hits(searcher, live, q, km, page, stems)
        facets: dict[str, list[tuple[str, int]]] = {}
        approximate = False
        searched = time.perf_counter() - started
        if total and q.facets:
            cached = known.facets.get(q.facets)
            # estimated counts are kept too, until a query has the time to count in full
            if cached is None or (cached[1] and self.budget.scale(total, started) == 1):
                facets, approximate = self._facets(searcher, live, q, query_used, total,
                                                   started)
                known.facets[q.facets] = (facets, approximate)
            else:
                facets, approximate = cached
        suggestion = plan.suggestion if plan else None
        self.counts.put(page_key, Page(total, [(a, s, d, h.highlights) for a, s, d, h in hits],
                                       facets, suggestion, corrected_from, approximate,
                                       searched))
        return SearchResults(q, total, [hit for *_, hit in hits], facets, suggestion,
                             self.elapsed_ms(started), corrected_from, approximate)

    def _answer(self, live: Generation, q: SearchQuery, kept: Page,
                started: float) -> SearchResults:
        """A kept answer, its documents read again (most are still parsed in memory, and
        then no searcher is needed)."""
        hits = []
        searcher: tantivy.Searcher | None = None
        for address, score, distance, marks in kept.hits:
            doc = live.stored.get(address)
            if doc is None:
                searcher = searcher or live.index.searcher()
                doc = self._stored(searcher, live, address)
            hits.append(self.make_hit(doc, score, q, marks, distance_km=distance))
        return SearchResults(q, kept.total, hits, kept.facets, kept.suggestion,
                             self.elapsed_ms(started), kept.corrected_from, kept.approximate)

    @staticmethod
    def _stored(searcher: tantivy.Searcher, live: Generation,
                address: tuple[int, int]) -> dict[str, Any]:
        """The stored document at ``(segment, document)``, parsed once while it is asked."""
        doc = live.stored.get(address)
        if doc is None:
            doc = orjson.loads(searcher.doc(tantivy.DocAddress(*address))["doc"][0])
            live.stored.put(address, doc)
        return doc

    @staticmethod
    def _radius(q: SearchQuery, live: Generation, km: np.ndarray | None,
                ) -> tantivy.Query | None:
        """The documents with a location within the query's radius: an exact filter."""
        if km is None or q.radius_km is None:
            return None
        return tantivy.Query.const_score_query(_within(live, km, q.radius_km), 0.0)

    @staticmethod
    def _filters(q: SearchQuery, searcher: tantivy.Searcher,
                 ) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """Non-scoring clauses of the query's kinds, filters and prices.

        The kinds: the documents of the set asked hold its key in ``kinds_in``, the
        others in ``kinds_out``; the shorter list is the cheaper clause (a search of
        shops and products keeps the grouped offers out rather than intersect a
        quarter of a million documents)."""
        out: list[tuple[tantivy.Occur, tantivy.Query]] = []
        must = tantivy.Occur.Must
        if set(q.kinds) != set(KINDS):
            key = kinds_key(q.kinds)
            inside = searcher.doc_freq("kinds_in", key)
            outside = searcher.doc_freq("kinds_out", key)
            if inside <= outside:
                out.append((must, tantivy.Query.term_query(SCHEMA, "kinds_in", key)))
            elif outside:
                out.append((tantivy.Occur.MustNot,
                            tantivy.Query.term_query(SCHEMA, "kinds_out", key)))
        for key, values in q.filters:
            field = FILTER_FIELDS.get(key)
            if field is None:
                continue
            if key == "commune":
                values = tuple(dict.fromkeys(commune_key(v) for v in values))
            out.append((must, _any_term(field, values)))
        if q.price_min is not None:  # a price range keeps unpriced documents (shops) out
            out.append((must, tantivy.Query.range_query(
                SCHEMA, "price_max", tantivy.FieldType.Integer, q.price_min, None)))
        if q.price_max is not None:
            out.append((must, tantivy.Query.range_query(
                SCHEMA, "price_min", tantivy.FieldType.Integer, None, q.price_max)))
        return [(occur, f if occur == tantivy.Occur.MustNot
                 else tantivy.Query.const_score_query(f, 0.0)) for occur, f in out]

    def _nearest(self, searcher: tantivy.Searcher, live: Generation, q: SearchQuery,
                 km: np.ndarray, query: tantivy.Query, start: int, total: int) -> list[Any]:
        """The page of matches by distance (ties by weight and document), then those
        without a location: the nearest locations first, more until the page is full
        (all at once when the matches are few)."""
        end = start + q.per_page
        order = np.sort(km[km <= q.radius_km] if q.radius_km is not None else km)
        taken = min(len(order), FIRST_LOCATIONS)
        if total <= FEW_MATCHES:
            taken = len(order)
        while True:
            # the locations as near as the taken-th (ties with it too)
            near = _all([(tantivy.Occur.Must, query),
                         (tantivy.Occur.Must, _within(live, km, float(order[taken - 1])))]) \
                if taken else tantivy.Query.empty_query()
            if not taken:
                count = 0
            elif taken >= len(order) and q.radius_km is not None:
                count = total  # the whole radius: counted with the query
            else:
                count = searcher.search(near, 1, count=True).count  # type: ignore[attr-defined]  # as above
            if count >= end or taken >= len(order):
                break
            taken = min(len(order), taken * 4)
        found = searcher.search(near, count, count=False).hits if count else []
        if found:
            rows = np.asarray(searcher.fast_field_values("row", [a for _, a in found]),
                              dtype=np.int64)
            distance = _row_km(live, rows, km)
            ranked = np.lexsort((np.arange(len(found)), distance))  # ties: Tantivy's order
            found = [found[i] for i in ranked if distance[i] <= (q.radius_km or np.inf)]
        page = [address for _, address in found[start:end]]
        if len(page) < q.per_page and taken >= len(order) and q.radius_km is None:
            unlocated = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query),
                (tantivy.Occur.MustNot, tantivy.Query.exists_query("located"))])
            skip = max(0, start - len(found))
            page += [a for _, a in searcher.search(unlocated, q.per_page - len(page),
                                                   count=False, offset=skip).hits]
        return page

    def _hits(self, searcher: tantivy.Searcher, live: Generation, q: SearchQuery,
              km: np.ndarray | None, page: list[Any], stems: set[str],
              ) -> list[tuple[tuple[int, int], float, float | None, Hit]]:
        """The page's hits, each with what ``Page`` keeps of it: its address (segment,
        document), score and distance."""
        items = [item if isinstance(item, tuple) else (0.0, item) for item in page]
        distances: list[float | None] = [None] * len(items)
        if km is not None and items:  # from every location, not the few stored
            rows = np.asarray(searcher.fast_field_values("row", [a for _, a in items]),
                              dtype=np.int64)
            distances = [None if math.isinf(d) else round(float(d), 3)
                         for d in _row_km(live, rows, km).tolist()]
        marked = bool(q.highlight and q.text)
        relevance = q.sort == "relevance"
        hits = []
        for (score, address), distance in zip(items, distances, strict=True):
            key = (address.segment_ord, address.doc)
            doc = self._stored(searcher, live, key)
            score = float(score) if relevance else 0.0
            marks = french.document_highlights(doc, stems) if marked else {}
            hits.append((key, score, distance,
                         self.make_hit(doc, score, q, marks, distance_km=distance)))
        return hits

    def _facets(self, searcher: tantivy.Searcher, live: Generation, q: SearchQuery,
                query: tantivy.Query, total: int, started: float,
                ) -> tuple[dict[str, list[tuple[str, int]]], bool]:
        """Counts per value; over a sample of the matches when counting all would pass the
        query's time budget (``catalog.backends.budget``).

        Tantivy counts each facet's value sets (one number per document: a column it
        reads in a few nanoseconds a match, where a column of several values per
        document costs ten times more); each set's count goes to each of its values."""
        scale = self.budget.scale(total, started)
        counted = query
        if scale > 1:
            counted = _all([(tantivy.Occur.Must, query), (tantivy.Occur.Must,
                            tantivy.Query.range_query(SCHEMA, "sample",
                                                      tantivy.FieldType.Unsigned, 0,
                                                      SAMPLE_MODULUS // scale - 1))])
        asked = [facet for facet in q.facets if facet in FACET_FIELDS]
        aggs = {facet: {"terms": {"field": FACET_FIELDS[facet],
                                  "size": max(1, len(live.facet_values[facet])),
                                  "segment_size": max(1, len(live.facet_values[facet]))}}
                for facet in asked}
        t0 = time.perf_counter()
        result = searcher.aggregate(counted, aggs) if aggs else {}
        self.budget.learn(total, t0, scale)
        out: dict[str, list[tuple[str, int]]] = {}
        cut = False  # a facet with more value sets than Tantivy returns
        for facet in q.facets:
            answer = result.get(facet) or {}
            cut = cut or bool(answer.get("sum_other_doc_count"))
            sets = live.facet_values.get(facet, [])
            counts: dict[str, int] = {}
            for bucket in answer.get("buckets") or ():
                n = int(bucket["doc_count"]) * scale
                for value in sets[int(bucket["key"])]:
                    counts[value] = counts.get(value, 0) + n
            if facet == "kind":
                counts = {v: c for v, c in counts.items() if v in q.kinds}
            if facet == "price":
                out[facet] = [(b, counts[b]) for b in BUCKET_KEYS if counts.get(b)]
            else:
                out[facet] = sorted(counts.items(),
                                    key=lambda vc: (-vc[1], vc[0].encode()))[:FACET_SIZE]
        return out, scale > 1 or cut

    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        key = french.suggest_key(str(prefix or "")[:100])
        limit = max(1, min(int(limit), 50))
        live = self._generation()
        if not key or live is None:
            return []
        searcher = live.index.searcher()
        query = tantivy.Query.regex_query(SCHEMA, "suggest", key + ".*")
        if territory is not None:
            query = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.term_query(SCHEMA, "territories",
                                                              str(territory)))])
        found = searcher.search(query, limit * 8, count=False, order_by_field="weight").hits
        best: dict[str, tuple[int, str, str]] = {}
        for weight, address in found:
            doc = orjson.loads(searcher.doc(address)["doc"][0])
            name = doc.get("name") or ""
            if name and (name not in best or weight > best[name][0]):
                best[name] = (int(weight or 0), doc["kind"], doc["id"])
        ordered = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [Suggestion(text, kind, eid) for text, (_w, kind, eid) in ordered]

    def get(self, entity_id: str) -> dict[str, Any] | None:
        live = self._generation()
        if live is None:
            return None
        searcher = live.index.searcher()
        found = searcher.search(tantivy.Query.term_query(SCHEMA, "id", str(entity_id)), 1,
                                count=False).hits
        return orjson.loads(searcher.doc(found[0][1])["doc"][0]) if found else None

    def status(self) -> dict[str, Any]:
        """The live index: its number, build, documents and when it was switched in."""
        live = self._generation()
        if live is None:
            return {"backend": self.name, "index": None, "documents": 0}
        return {"backend": self.name,
                "engine": f"tantivy {tantivy.__version__}",  # type: ignore[attr-defined]  # not in the stubs
                "index": f"index-{live.number}", "build_id": live.build_id,
                "documents": live.documents, "switched_at": live.switched_at}

    def close(self) -> None:
        with self._lock:
            self._live = None


# --------------------------------------------------------------------------- helpers
@contextmanager
def _few_collections() -> Iterator[None]:
    """The cyclic garbage collector paused while documents stream in: a build makes no
    reference cycles, yet each of the collector's full passes walks every object it keeps
    (the shops, the vocabulary, the places), over and over as they grow."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _tantivy_document(doc: dict[str, Any], row: int, locations: list[int],
                      cells: list[int], facet_sets: dict[str, int]) -> tantivy.Document:
    """The document as Tantivy holds it: analysed text, keywords, the numbers of its facet
    value sets, numbers, the JSON."""
    scope = tuple(doc.get("scope") or ())
    template, suggested = _scope_document(scope)
    out = copy.copy(template)
    for name, source in SOURCES.items():
        terms = french.analyze(doc.get(source))
        if terms:
            out.add_text(name, " ".join(terms))
    out.add_text("id", doc["id"])
    for name, source in OWN_KEYWORDS.items():
        values = doc.get(source)
        if not values:
            continue
        if len(values) == 1:
            out.add_text(name, str(values[0]))
        else:
            for value in dict.fromkeys(map(str, values)):
                out.add_text(name, value)
    for facet, number in facet_sets.items():
        out.add_unsigned(FACET_FIELDS[facet], number)
    for name in ("price_min", "price_max"):
        if doc.get(name) is not None:
            out.add_integer(name, int(doc[name]))
    for number in locations:
        out.add_unsigned("loc", number)
    for cell in dict.fromkeys(cells):
        out.add_unsigned("cell", cell)
    if locations:
        out.add_unsigned("located", 1)
    if suggested and doc.get("name"):
        for key in french.suggest_inputs(doc["name"]):
            out.add_text("suggest", key)
    out.add_unsigned("row", row)
    out.add_unsigned("sample", row % SAMPLE_MODULUS)
    out.add_integer("weight", int(doc.get("weight") or 0))
    out.add_bytes("doc", orjson.dumps(stored_document(doc)))
    return out


@lru_cache(maxsize=64)
def _scope_document(scope: tuple[str, ...]) -> tuple[tantivy.Document, bool]:
    """What every document of a scope holds, to be copied (its scope, and the term of every
    kind set, in the set or out), and whether its names complete a prefix."""
    out = tantivy.Document()
    for value in dict.fromkeys(scope):
        out.add_text("scope", value)
    for field_name, key in _kind_terms(scope):
        out.add_text(field_name, key)
    return out, any(k in SUGGEST_KINDS for k in scope)


@lru_cache(maxsize=64)
def _kind_terms(scope: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The (field, term) of every kind set for a document's scope: in the set or out."""
    return tuple(("kinds_in" if set(scope).intersection(kinds) else "kinds_out",
                  kinds_key(kinds)) for kinds in KIND_SETS)


def kinds_key(kinds: Iterable[str]) -> str:
    """The term of a set of kinds ("product shop")."""
    return " ".join(sorted(set(kinds)))


def facet_values(doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The values each facet counts a document under (its price: one bucket)."""
    return {facet: _facet_set(source, doc) for facet, source in FACET_SOURCES.items()}


def _facet_set(source: str | None, doc: dict[str, Any]) -> tuple[str, ...]:
    if source is None:
        bucket = price_bucket(doc.get("price_min"))
        return (bucket,) if bucket else ()
    return tuple(sorted({str(v) for v in doc.get(source) or ()}))


class FacetSets:
    """Each facet's distinct value sets, numbered as met (0: no value), so that a document
    holds one number per facet, and a count per number is a count per value set."""

    def __init__(self, values: dict[str, list[tuple[str, ...]]] | None = None) -> None:
        self.values = values or {facet: [()] for facet in FACET_SOURCES}
        self._numbers = {facet: {v: i for i, v in enumerate(sets)}
                         for facet, sets in self.values.items()}
        # facet -> a document's values as it holds them (its price) -> their set's number:
        # documents repeat the same few lists, each sorted and numbered once
        self._met: dict[str, dict[Any, int]] = {facet: {} for facet in FACET_SOURCES}

    def numbers(self, doc: dict[str, Any]) -> dict[str, int]:
        """The number of each of the document's value sets (new sets are numbered)."""
        out = {}
        for facet, source in FACET_SOURCES.items():
            held = doc.get(source or "price_min")
            if source is not None:
                held = tuple(held or ())
            met = self._met[facet]
            number = met.get(held)
            if number is None:
                number = met[held] = self._number(facet, _facet_set(source, doc))
            out[facet] = number
        return out

    def _number(self, facet: str, found: tuple[str, ...]) -> int:
        known = self._numbers[facet]
        number = known.get(found)
        if number is None:
            number = known[found] = len(self.values[facet])
            self.values[facet].append(found)
        return number

    def to_json(self) -> dict[str, list[list[str]]]:
        return {facet: [list(v) for v in sets] for facet, sets in self.values.items()}

    @classmethod
    def from_json(cls, data: dict[str, list[list[str]]]) -> FacetSets:
        return cls({facet: [tuple(v) for v in data.get(facet, [[]])] or [()]
                    for facet in FACET_SOURCES})


def stored_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as a hit shows it: a product sold in hundreds of shops keeps a few of
    its listings (one per platform first) and locations; its counts say how many."""
    sources = doc.get("sources") or []
    locations = doc.get("locations") or []
    if len(sources) <= STORED_LISTS and len(locations) <= STORED_LISTS:
        return doc
    first: dict[Any, int] = {}
    for i, source in enumerate(sources):
        first.setdefault(source.get("source"), i)
    keep = sorted(set(first.values()) | set(range(STORED_LISTS)))[:max(STORED_LISTS,
                                                                        len(first))]
    return dict(doc, sources=[sources[i] for i in keep], locations=locations[:STORED_LISTS])


def _text_query(groups: list[set[str]], operator: str) -> tantivy.Query:
    """All (AND) or any (OR) of the groups; a group matches any of its terms in any field,
    each field weighted."""
    occur = tantivy.Occur.Must if operator == "AND" else tantivy.Occur.Should
    clauses = []
    for group in groups:
        alternatives = [(tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(SCHEMA, field, term), weight))
            for term in sorted(group) for field, weight in TEXT_FIELDS.items()]
        clauses.append((occur, tantivy.Query.boolean_query(alternatives)))
    return tantivy.Query.boolean_query(clauses)


def _all(clauses: list[tuple[tantivy.Occur, tantivy.Query]]) -> tantivy.Query:
    """The documents every Must clause matches and no MustNot clause does."""
    if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
        clauses = [(tantivy.Occur.Must, tantivy.Query.all_query()), *clauses]
    if len(clauses) == 1:
        return clauses[0][1]
    return tantivy.Query.boolean_query(clauses)


def _any_term(field: str, values: Iterable[str]) -> tantivy.Query:
    """Documents holding any of the values: one term, or the union of their terms (a
    term set would read every posting of every value into a bit set first)."""
    terms = [tantivy.Query.term_query(SCHEMA, field, v) for v in dict.fromkeys(values)]
    if len(terms) == 1:
        return terms[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])


def _new_index(folder: Path | None) -> tantivy.Index:
    """An empty index whose documents are kept sorted by weight, most listed first."""
    return tantivy.Index(SCHEMA, path=None if folder is None else str(folder), reuse=False,
                         sort_by_field="weight", sort_order=tantivy.Order.Desc)


class Places:
    """Distinct locations numbered as met, and each row's location numbers."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[float, float], int] = {}
        self.starts: list[int] = []
        self.row_locs: list[int] = []
        self._cells: list[int] = []  # location number -> its cell

    def add(self, doc: dict[str, Any]) -> list[int]:
        """The location numbers of the next row."""
        self.starts.append(len(self.row_locs))
        found = []
        for loc in doc.get("locations") or ():
            key = (float(loc["lat"]), float(loc["lon"]))
            number = self.numbers.setdefault(key, len(self.numbers))
            if number == len(self._cells):
                self._cells.append(cell_of(*key))
            found.append(number)
        found = list(dict.fromkeys(found))
        self.row_locs.extend(found)
        return found

    def cells(self, locations: list[int]) -> list[int]:
        """The cells of these location numbers."""
        return [self._cells[n] for n in locations]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        starts = np.asarray([*self.starts, len(self.row_locs)], dtype=np.int64)
        coords = np.asarray(list(self.numbers) or np.zeros((0, 2)), dtype=np.float64)
        coords = coords.reshape(-1, 2)
        return (starts, np.asarray(self.row_locs, dtype=np.int64), coords[:, 0].copy(),
                coords[:, 1].copy())


def cell_of(lat: float, lon: float) -> int:
    """The cell number of one point, as ``cells_of`` gives it (the same float operations,
    without building arrays for one point)."""
    return math.floor((lat + 90) / CELL_DEGREES) * 100_000 + math.floor((lon + 180) / CELL_DEGREES)


def cells_of(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The cell number of each point (rows and columns of ``CELL_DEGREES``, as one integer)."""
    rows = np.floor((np.asarray(lats, dtype=np.float64) + 90) / CELL_DEGREES).astype(np.int64)
    cols = np.floor((np.asarray(lons, dtype=np.float64) + 180) / CELL_DEGREES).astype(np.int64)
    return rows * 100_000 + cols


def _within(live: Generation, km: np.ndarray, reach: float) -> tantivy.Query:
    """The documents with a location at most ``reach`` km away: exactly, as the cells whose
    every location is that near, and the near locations of the cells the circle cuts."""
    near = km <= reach
    if not near.any():
        return tantivy.Query.empty_query()
    cut = np.bincount(live.loc_cells[~near], minlength=len(live.cells)) > 0
    whole = np.flatnonzero((np.bincount(live.loc_cells[near], minlength=len(live.cells)) > 0)
                           & ~cut)
    loose = np.flatnonzero(near & cut[live.loc_cells])
    parts = []
    if len(whole):
        parts.append(tantivy.Query.term_set_query(SCHEMA, "cell", live.cells[whole].tolist()))
    if len(loose):
        parts.append(tantivy.Query.term_set_query(SCHEMA, "loc", loose.tolist()))
    if len(parts) == 1:
        return parts[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, part) for part in parts])


def _km(live: Generation, near: tuple[float, float]) -> np.ndarray:
    """Haversine km from ``near`` to every location of the index."""
    lat1, lon1 = math.radians(near[0]), math.radians(near[1])
    lat2, lon2, cos2 = live.radians
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * cos2 * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def _row_km(live: Generation, rows: np.ndarray, km: np.ndarray) -> np.ndarray:
    """Each row's distance: to its nearest location (inf without one)."""
    starts, ends = live.loc_start[rows], live.loc_start[rows + 1]
    sizes = ends - starts
    out = np.full(len(rows), np.inf)
    located = sizes > 0
    if not located.any():
        return out
    # every location of every located row, one run per row, then each run's least
    sizes, starts = sizes[located], starts[located]
    runs = np.cumsum(sizes) - sizes  # where each row's run begins
    entries = np.arange(int(sizes.sum())) + np.repeat(starts - runs, sizes)
    out[located] = np.minimum.reduceat(km[live.row_locs[entries]], runs)
    return out
