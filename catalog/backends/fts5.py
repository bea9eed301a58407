"""The embedded search backend: SQLite FTS5 tables inside the catalog file.

Each indexing writes a new set of tables numbered after its row in
``search_index_builds``: ``search_docs_N`` (documents as JSON), ``search_fts_N``
(a contentless FTS5 index of the analysed text, columns weighted name ≫ brand,
categories, shop > place > description), ``search_keys_N`` (one narrow row per
document: sort keys, and the signature of its facet values, which
``search_sigs_N`` spells out), ``search_facets_N`` (one row per filter value),
``search_geo_N`` (locations), ``search_words_N`` (the folded words and their
terms, for typo tolerance and "vouliez-vous dire"), ``search_suggest_N``
(completion keys), ``search_vocab_N`` (fts5vocab: the terms as indexed, to
inspect an index). Documents are numbered by the kinds they answer for (one
rowid range each), so the kinds a search covers are a rowid range FTS5 seeks to. The tables are filled in batches, beside the live ones; then
one transaction points ``search_index_active`` at them, and the older tables are
dropped. A search runs in one read transaction (a WAL snapshot), so the tables it
started on stay whole until it ends, even when they are dropped under it.

Text goes through ``catalog.french`` on both sides; query terms reach MATCH only
as quoted strings of letters and digits. A query first needs all its terms
(words unknown to the index matched at one edit); when nothing matches, any of
them. bm25 ranks; the matching set goes to a temporary table, and the page,
the total and the facets (GROUP BY over it) are read from there; the geo filter is
a bounding box, then the haversine distance.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from catalog.backends import french
from catalog.backends.base import (
    BUCKET_KEYS,
    EARTH_RADIUS_KM,
    FACET_SIZE,
    BaseBackend,
    IndexReport,
    SearchQuery,
    SearchResults,
    Suggestion,
    bounding_box,
    price_bucket,
)
from catalog.backends.budget import DEFAULT_BUDGET_MS, SAMPLE_MODULUS, FacetBudget
from catalog.backends.documents import commune_key
from catalog.backends.plan import plan_query
from catalog.errors import BackendError
from catalog.store import Catalog, utcnow

log = logging.getLogger(__name__)

BATCH = 1000
READER_CACHE_KB = 32_768
READER_MMAP_BYTES = 1 << 30
# FTS5 columns, and their weights in bm25
COLUMNS = ("name", "brand", "category", "place", "shop", "body")
SEARCHED = ("name", "brand", "category_text", "place_text", "shop_name", "description")
WEIGHTS = (10.0, 4.0, 3.0, 2.0, 3.0, 1.0)
FACET_FIELDS = {"platform": "platforms", "category": "categories", "commune": "communes",
                "commune_key": "commune_keys", "service": "services", "flag": "flags",
                "scope": "scope", "territory": "territories"}
# facets filtered through search_facets_N (the kinds searched are rowid ranges)
FILTERED = {k: v for k, v in FACET_FIELDS.items() if k != "scope"}
# facets counted through search_sigs_N (the kind facet counts scopes), with the price
COUNTED = ("scope", "platform", "category", "commune", "service", "flag")
SUGGEST_KINDS = ("shop", "product")
# Documents are numbered by the kinds they answer for, one rowid range each, in an order
# where every choice of kinds is one range (at most with one gap): the scope of a search
# is then a rowid range, which FTS5 seeks to instead of testing each match.
SCOPE_GROUPS = ({"shop"}, {"product"}, {"offer", "product"}, {"offer"})
GROUP_SHIFT = 40

REGISTRY = """
CREATE TABLE IF NOT EXISTS search_index_builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id    INTEGER,
    status      TEXT NOT NULL,          -- building | active | retired | dropped | failed
    documents   INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS search_index_active (
    slot        INTEGER PRIMARY KEY CHECK (slot = 1),
    number      INTEGER NOT NULL,
    switched_at TEXT NOT NULL
);
"""


def tables(n: int) -> dict[str, str]:
    return {"docs": f"search_docs_{n}", "fts": f"search_fts_{n}", "vocab": f"search_vocab_{n}",
            "facets": f"search_facets_{n}", "keys": f"search_keys_{n}",
            "sigs": f"search_sigs_{n}", "geo": f"search_geo_{n}",
            "words": f"search_words_{n}", "suggest": f"search_suggest_{n}"}


def fts_columns(doc: dict[str, Any]) -> tuple[str, ...]:
    """The analysed text of each FTS5 column."""
    return tuple(" ".join(french.analyze(doc.get(f))) for f in SEARCHED)


def searched_texts(doc: dict[str, Any]) -> list[str | None]:
    return [doc.get(f) for f in SEARCHED]


def quote(term: str) -> str:
    """An FTS5 string: whatever it holds is a term, never syntax."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(groups: list[set[str]], operator: str) -> str:
    return f" {operator} ".join("(" + " OR ".join(quote(t) for t in sorted(g)) + ")"
                                for g in groups if g)


class Fts5Backend(BaseBackend):
    """SQLite FTS5 in the catalog file."""

    name = "fts5"

    def __init__(self, catalog: Any, *, budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        self.budget = FacetBudget(budget_ms)
        self._shared: sqlite3.Connection | None = None
        if isinstance(catalog, Catalog):
            self.path = catalog.path
            if catalog.path == ":memory:":
                self._shared = catalog.conn
        else:
            self.path = str(catalog)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        if self.path == ":memory:" and self._shared is None:
            self._shared = self._connect()
            self._opened.append(self._shared)
        self._lock = threading.Lock()
        self._vocab: tuple[int, french.Vocabulary] | None = None
        self._shared_ready = False

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 60000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None
        if self._shared is not None:
            conn = self._shared
            fresh = not self._shared_ready
            self._shared_ready = True
        else:
            conn = getattr(self._local, "conn", None)
            fresh = conn is None
            if conn is None:
                conn = self._connect()
                # readers: a larger page cache, and the file mapped rather than copied
                conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KB}")
                conn.execute(f"PRAGMA mmap_size = {READER_MMAP_BYTES}")
                self._local.conn = conn
                with self._lock:
                    self._opened.append(conn)
        if fresh:  # each connection's own scratch table of matching documents
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS agora_hits "
                         "(doc INTEGER PRIMARY KEY, rank REAL, dist REAL)")
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()

    @contextmanager
    def _snapshot(self, conn: sqlite3.Connection) -> Iterator[int | None]:
        """One read transaction; yields the active index number (None before any index)."""
        conn.execute("BEGIN")
        try:
            try:
                row = conn.execute("SELECT number FROM search_index_active "
                                   "WHERE slot = 1").fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
                row = None
            yield row[0] if row else None
        finally:
            conn.execute("COMMIT")

    # ------------------------------------------------------------------ indexing
    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        """Write the documents into new tables, switch to them in one transaction, drop the old."""
        t0 = time.perf_counter()
        conn = self._shared or self._connect()
        try:
            conn.executescript(REGISTRY)
            cur = conn.execute("INSERT INTO search_index_builds(build_id, status, started_at) "
                               "VALUES (?, 'building', ?)", (build_id, utcnow()))
            n = int(cur.lastrowid or 0)
            t = tables(n)
            try:
                count = self._write(conn, t, documents)
                self._swap(conn, n, count)
            except BaseException:
                conn.execute("UPDATE search_index_builds SET status = 'failed', finished_at = ? "
                             "WHERE id = ?", (utcnow(), n))
                self._drop(conn, n)
                raise
            self._drop_retired(conn, n)
        finally:
            if conn is not self._shared:
                conn.close()
        return IndexReport(count, time.perf_counter() - t0, t["docs"])

    def _write(self, conn: sqlite3.Connection, t: dict[str, str],
               documents: Iterable[dict[str, Any]]) -> int:
        conn.executescript(f"""
            CREATE TABLE {t['docs']} (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL,
                doc TEXT NOT NULL);
            CREATE VIRTUAL TABLE {t['fts']} USING fts5({', '.join(COLUMNS)},
                content='', tokenize='ascii');
            CREATE TABLE {t['facets']} (key TEXT NOT NULL, value TEXT NOT NULL,
                doc INTEGER NOT NULL, PRIMARY KEY (key, value, doc)) WITHOUT ROWID;
            CREATE TABLE {t['keys']} (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL,
                weight INTEGER NOT NULL, price_min INTEGER, price_max INTEGER,
                sig INTEGER NOT NULL);
            CREATE TABLE {t['sigs']} (sig INTEGER NOT NULL, facet TEXT NOT NULL,
                value TEXT NOT NULL, PRIMARY KEY (sig, facet, value)) WITHOUT ROWID;
            CREATE TABLE {t['geo']} (doc INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL);
            CREATE TABLE {t['words']} (word TEXT PRIMARY KEY, stem TEXT NOT NULL,
                freq INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE {t['suggest']} (key TEXT NOT NULL, text TEXT NOT NULL,
                kind TEXT NOT NULL, entity_id TEXT, weight INTEGER NOT NULL);
        """)
        word_freq: Counter[str] = Counter()
        serials = [itertools.count(1) for _ in SCOPE_GROUPS]
        # every facet value a document counts under, as one number per distinct set
        signatures: dict[tuple[tuple[str, ...], ...], int] = {}
        suggestions: dict[tuple[str, str], tuple[int, str, str]] = {}
        count = 0
        seen: set[str] = set()
        duplicates = 0
        docs = iter(documents)
        while True:
            batch = list(islice(docs, BATCH))
            if not batch:
                break
            doc_rows, fts_rows, facet_rows, count_rows = [], [], [], []
            geo_rows: list[tuple[Any, ...]] = []
            for doc in batch:
                if doc["id"] in seen:  # entity ids are unique; a repeat is dropped
                    duplicates += 1
                    continue
                seen.add(doc["id"])
                count += 1
                group = scope_group(doc.get("scope") or [doc["kind"]])
                rowid = (group << GROUP_SHIFT) + next(serials[group])
                doc_rows.append((rowid, doc["id"], json.dumps(doc, ensure_ascii=False)))
                fts_rows.append((rowid, *fts_columns(doc)))
                for key, fieldname in FILTERED.items():
                    for value in set(doc.get(fieldname) or ()):
                        facet_rows.append((key, str(value), rowid))
                bucket = price_bucket(doc.get("price_min"))
                signature = tuple(tuple(sorted({str(v) for v in doc.get(FACET_FIELDS[f]) or ()}))
                                  for f in COUNTED) + ((bucket,) if bucket else (),)
                count_rows.append((rowid, doc["id"], int(doc.get("weight") or 0),
                                   doc.get("price_min"), doc.get("price_max"),
                                   signatures.setdefault(signature, len(signatures))))
                geo_rows.extend((rowid, loc["lat"], loc["lon"]) for loc in doc.get("locations")
                                or ())
                word_freq.update(french.count_words(searched_texts(doc)))
                if any(k in SUGGEST_KINDS for k in doc.get("scope") or ()) and doc.get("name"):
                    weight = int(doc.get("weight") or 0)
                    for key in french.suggest_inputs(doc["name"]):
                        best = suggestions.get((key, doc["name"]))
                        if best is None or weight > best[0]:
                            suggestions[(key, doc["name"])] = (weight, doc["kind"], doc["id"])
            with _transaction(conn):
                conn.executemany(f"INSERT INTO {t['docs']} VALUES (?, ?, ?)", doc_rows)
                conn.executemany(f"INSERT INTO {t['fts']}(rowid, {', '.join(COLUMNS)}) "
                                 f"VALUES (?, ?, ?, ?, ?, ?, ?)", fts_rows)
                conn.executemany(f"INSERT OR IGNORE INTO {t['facets']} VALUES (?, ?, ?)",
                                 facet_rows)
                conn.executemany(f"INSERT INTO {t['keys']} VALUES (?, ?, ?, ?, ?, ?)",
                                 count_rows)
                conn.executemany(f"INSERT INTO {t['geo']} VALUES (?, ?, ?)", geo_rows)
        if duplicates:
            log.warning("%d document(s) repeated an entity id and were dropped", duplicates)
        with _transaction(conn):
            conn.executemany(f"INSERT INTO {t['words']} VALUES (?, ?, ?)",
                             ((w, french.stem(w), f) for w, f in word_freq.items()))
            conn.executemany(f"INSERT INTO {t['suggest']} VALUES (?, ?, ?, ?, ?)",
                             ((key, text, kind, eid, weight) for (key, text), (weight, kind, eid)
                              in suggestions.items()))
            conn.execute(f"CREATE UNIQUE INDEX {t['docs']}_id ON {t['docs']} (id)")
            conn.executemany(f"INSERT INTO {t['sigs']} VALUES (?, ?, ?)",
                             ((sig, facet, value) for signature, sig in signatures.items()
                              for facet, values in zip((*COUNTED, "price"), signature,
                                                       strict=True)
                              for value in values))
            conn.execute(f"CREATE INDEX {t['geo']}_lat ON {t['geo']} (lat, lon)")
            conn.execute(f"CREATE INDEX {t['geo']}_doc ON {t['geo']} (doc)")
            conn.execute(f"CREATE INDEX {t['suggest']}_key ON {t['suggest']} (key)")
            conn.execute(f"CREATE VIRTUAL TABLE {t['vocab']} USING fts5vocab({t['fts']}, 'row')")
            conn.execute(f"INSERT INTO {t['fts']}({t['fts']}) VALUES ('optimize')")
        conn.execute(f"ANALYZE {t['facets']}")
        conn.execute(f"ANALYZE {t['geo']}")
        return count

    def _swap(self, conn: sqlite3.Connection, n: int, count: int) -> None:
        now = utcnow()
        with _transaction(conn):
            conn.execute("UPDATE search_index_builds SET status = 'retired' "
                         "WHERE status = 'active'")
            conn.execute("UPDATE search_index_builds SET status = 'active', documents = ?, "
                         "finished_at = ? WHERE id = ?", (count, now, n))
            conn.execute("INSERT INTO search_index_active(slot, number, switched_at) "
                         "VALUES (1, ?, ?) ON CONFLICT(slot) DO UPDATE SET "
                         "number = excluded.number, switched_at = excluded.switched_at",
                         (n, now))

    def _drop(self, conn: sqlite3.Connection, n: int) -> None:
        t = tables(n)
        with _transaction(conn):
            # the vocabulary table reads the FTS table: it goes first
            for name in ("vocab", "fts", "docs", "facets", "keys", "sigs", "geo", "words",
                         "suggest"):
                conn.execute(f"DROP TABLE IF EXISTS {t[name]}")

    def _drop_retired(self, conn: sqlite3.Connection, active: int) -> None:
        """Drop the tables of every index but the active one (older, failed, abandoned)."""
        rows = conn.execute("SELECT id FROM search_index_builds WHERE status IN "
                            "('retired', 'failed', 'building') AND id < ?", (active,)).fetchall()
        for (n,) in rows:
            self._drop(conn, n)
            conn.execute("UPDATE search_index_builds SET status = 'dropped' WHERE id = ?", (n,))

    # ------------------------------------------------------------------ reading
    def _vocabulary(self, conn: sqlite3.Connection, n: int) -> french.Vocabulary:
        cached = self._vocab
        if cached is not None and cached[0] == n:
            return cached[1]
        vocab = french.Vocabulary.from_rows(
            conn.execute(f"SELECT word, stem, freq FROM {tables(n)['words']}"))
        self._vocab = (n, vocab)
        return vocab

    def search(self, query: SearchQuery) -> SearchResults:
        started = time.perf_counter()
        q = self.normalize(query)
        conn = self._reader()
        with self._snapshot(conn) as n:
            if n is None:
                return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
            t = tables(n)
            plan = None
            stems: set[str] = set()
            corrected_from = None
            if q.text:
                plan = plan_query(q.text, self._vocabulary(conn, n), as_typed=q.as_typed)
                if plan is None:
                    return SearchResults(q, 0, [], {}, None, self.elapsed_ms(started))
                total = 0
                for groups, operator in plan.attempts:
                    total = self._collect(conn, t, q, match_expression(groups, operator))
                    stems = set().union(*groups)
                    if total:
                        break
                if plan.corrected and total:
                    corrected_from = q.text
            else:
                total = self._collect(conn, t, q, None)
            hits = self._page(conn, t, q, stems) if total else []
            facets: dict[str, list[tuple[str, int]]] = {}
            scale = self.budget.scale(total, started)
            if total and q.facets:
                counting = time.perf_counter()
                facets = self._facets(conn, n, q, scale)
                self.budget.learn(total, counting, scale)
            conn.execute("DELETE FROM temp.agora_hits")
        return SearchResults(q, total, hits, facets, plan.suggestion if plan else None,
                             self.elapsed_ms(started), corrected_from,
                             approximate=bool(facets) and scale > 1)

    def _filters(self, t: dict[str, str], q: SearchQuery, row: str,
                 driving: bool) -> tuple[list[str], list[Any]]:
        """SQL conditions of the query's filters on the document whose rowid is ``row``.

        ``driving``: the rows tested are every document (no text), so a filter may be
        read as the set of documents it keeps; otherwise each matching row is tested.
        """
        clauses: list[str] = [kinds_clause(q.kinds, row)]
        args: list[Any] = []

        def facet(key: str, values: tuple[str, ...]) -> None:
            marks = ",".join("?" * len(values))
            if driving:
                clauses.append(f"{row} IN (SELECT doc FROM {t['facets']} WHERE key = ? "
                               f"AND value IN ({marks}))")
            else:
                clauses.append(f"EXISTS (SELECT 1 FROM {t['facets']} WHERE key = ? "
                               f"AND value IN ({marks}) AND doc = {row})")
            args.extend([key, *values])

        for key, values in q.filters:
            if key == "commune":
                facet("commune_key", tuple(dict.fromkeys(commune_key(v) for v in values)))
            else:
                facet(key, values)
        if q.price_min is not None or q.price_max is not None:
            cond = ["k.price_min IS NOT NULL"]
            if q.price_min is not None:
                cond.append("k.price_max >= ?")
                args.append(q.price_min)
            if q.price_max is not None:
                cond.append("k.price_min <= ?")
                args.append(q.price_max)
            clauses.append(f"EXISTS (SELECT 1 FROM {t['keys']} k WHERE k.rowid = {row} AND "
                           f"{' AND '.join(cond)})")
        if q.near is not None and q.radius_km is not None:
            lat, lon = q.near
            lat_min, lat_max, lon_min, lon_max = bounding_box(q.near, q.radius_km)
            box = f"lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND {_km_sql()} <= ?"
            if driving:  # the documents in the box, from the (lat, lon) index
                clauses.append(f"{row} IN (SELECT doc FROM {t['geo']} WHERE {box})")
            else:  # each matching document's own locations
                clauses.append(f"EXISTS (SELECT 1 FROM {t['geo']} WHERE doc = {row} AND {box})")
            args.extend([lat_min, lat_max, lon_min, lon_max,
                         *_km_args(lat, lon), q.radius_km])
        return [c for c in clauses if c], args

    def _collect(self, conn: sqlite3.Connection, t: dict[str, str], q: SearchQuery,
                 match: str | None) -> int:
        """Put the matching documents (rowid, rank) in temp.agora_hits; return how many."""
        conn.execute("DELETE FROM temp.agora_hits")
        if match is not None:
            clauses, args = self._filters(t, q, f"{t['fts']}.rowid", driving=False)
            where = " AND ".join([f"{t['fts']} MATCH ?", *clauses])
            weights = ", ".join(str(w) for w in WEIGHTS)
            conn.execute(f"INSERT INTO temp.agora_hits(doc, rank) SELECT rowid, "
                         f"bm25({t['fts']}, {weights}) FROM {t['fts']} WHERE {where}",
                         [match, *args])
        else:
            clauses, args = self._filters(t, q, f"{t['keys']}.rowid", driving=True)
            conn.execute(f"INSERT INTO temp.agora_hits(doc, rank) SELECT rowid, 0 "
                         f"FROM {t['keys']} WHERE {' AND '.join(clauses) or '1'}", args)
        return int(conn.execute("SELECT count(*) FROM temp.agora_hits").fetchone()[0])

    def _page(self, conn: sqlite3.Connection, t: dict[str, str], q: SearchQuery,
              stems: set[str]) -> list[Any]:
        if q.sort == "distance" and q.near is not None:
            conn.execute(f"UPDATE temp.agora_hits SET dist = (SELECT min({_km_sql()}) FROM "
                         f"{t['geo']} g WHERE g.doc = agora_hits.doc)", _km_args(*q.near))
        order = {
            "relevance": "h.rank, k.weight DESC, k.id",
            "price_asc": "k.price_min IS NULL, k.price_min, k.id",
            "price_desc": "k.price_max IS NULL, k.price_max DESC, k.id",
            "distance": "h.dist IS NULL, h.dist, k.id",
        }[q.sort]
        # the order from the narrow keys table; the documents of the page only
        page = conn.execute(
            f"SELECT h.doc, h.rank FROM temp.agora_hits h CROSS JOIN {t['keys']} k "
            f"ON k.rowid = h.doc ORDER BY {order} LIMIT ? OFFSET ?",
            (q.per_page, (q.page - 1) * q.per_page)).fetchall()
        if not page:
            return []
        found = dict(conn.execute(
            f"SELECT rowid, doc FROM {t['docs']} WHERE rowid IN "
            f"({','.join('?' * len(page))})", [r for r, _ in page]).fetchall())
        hits = []
        for rowid, rank in page:
            doc = json.loads(found[rowid])
            highlights = french.document_highlights(doc, stems) if q.highlight and q.text else {}
            hits.append(self.make_hit(doc, -float(rank or 0.0), q, highlights))
        return hits

    def _facets(self, conn: sqlite3.Connection, n: int, q: SearchQuery,
                scale: int = 1) -> dict[str, list[tuple[str, int]]]:
        """Counts per value: the hits grouped by signature, then the signatures' values
        (over the hits whose serial number falls in the sample when ``scale`` > 1)."""
        t = tables(n)
        names = {{"kind": "scope"}.get(name, name): name for name in q.facets}
        sample = f"WHERE (h.doc % {SAMPLE_MODULUS}) < {SAMPLE_MODULUS // scale} " \
            if scale > 1 else ""
        rows = conn.execute(
            f"SELECT v.facet, v.value, sum(s.n) * {scale} FROM (SELECT k.sig AS sig, "
            f"count(*) AS n FROM temp.agora_hits h CROSS JOIN {t['keys']} k "
            f"ON k.rowid = h.doc {sample}GROUP BY k.sig) s CROSS JOIN {t['sigs']} v "
            f"ON v.sig = s.sig WHERE v.facet IN ({','.join('?' * len(names))}) "
            f"GROUP BY v.facet, v.value", list(names)).fetchall()
        found: dict[str, list[tuple[str, int]]] = {name: [] for name in q.facets}
        for facet, value, count in rows:
            if facet == "scope" and value not in q.kinds:
                continue
            found[names[facet]].append((value, int(count)))
        out: dict[str, list[tuple[str, int]]] = {}
        for name, values in found.items():
            if name == "price":
                counts = dict(values)
                out[name] = [(b, counts[b]) for b in BUCKET_KEYS if counts.get(b)]
            else:
                out[name] = sorted(values, key=lambda vc: (-vc[1], vc[0].encode()))[:FACET_SIZE]
        return out

    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        key = french.suggest_key(str(prefix or "")[:100])
        limit = max(1, min(int(limit), 50))
        if not key:
            return []
        conn = self._reader()
        with self._snapshot(conn) as n:
            if n is None:
                return []
            t = tables(n)
            inside, args = "", [key, key + "\x7f"]
            if territory is not None:  # the entity's document is in the territory
                inside = (f" AND entity_id IN (SELECT d.id FROM {t['docs']} d JOIN "
                          f"{t['facets']} f ON f.doc = d.rowid WHERE f.key = 'territory' "
                          f"AND f.value = ?)")
                args.append(str(territory))
            rows = conn.execute(
                f"SELECT text, kind, entity_id, max(weight) AS w FROM {t['suggest']} "
                f"WHERE key >= ? AND key < ?{inside} GROUP BY text ORDER BY w DESC, text "
                f"LIMIT ?", (*args, limit)).fetchall()
        return [Suggestion(text, kind, eid) for text, kind, eid, _ in rows]

    def get(self, entity_id: str) -> dict[str, Any] | None:
        conn = self._reader()
        with self._snapshot(conn) as n:
            if n is None:
                return None
            row = conn.execute(f"SELECT doc FROM {tables(n)['docs']} WHERE id = ?",
                               (str(entity_id),)).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """The active index: its number, build, documents and when it was switched in."""
        conn = self._reader()
        with self._snapshot(conn) as n:
            if n is None:
                return {"backend": self.name, "index": None, "documents": 0}
            row = conn.execute("SELECT build_id, documents, finished_at FROM "
                               "search_index_builds WHERE id = ?", (n,)).fetchone()
        return {"backend": self.name, "index": tables(n)["docs"], "build_id": row[0],
                "documents": row[1], "switched_at": row[2]}


def scope_group(scope: Iterable[str]) -> int:
    """Which rowid range a document goes in, from the kinds it answers for."""
    kinds = set(scope)
    for group, covered in enumerate(SCOPE_GROUPS):
        if kinds == covered:
            return group
    raise BackendError(f"no rowid range for documents answering for {sorted(kinds)}")


def kinds_clause(kinds: Iterable[str], row: str) -> str:
    """The kinds searched, as a range of rowids (FTS5 and the keys table seek to it)."""
    wanted = [bool(covered & set(kinds)) for covered in SCOPE_GROUPS]
    if all(wanted):
        return ""
    first = wanted.index(True)
    last = len(wanted) - 1 - wanted[::-1].index(True)
    clause = f"{row} BETWEEN {first << GROUP_SHIFT} AND {((last + 1) << GROUP_SHIFT) - 1}"
    gaps = [g for g in range(first, last + 1) if not wanted[g]]
    if gaps:  # never more than one gap, given the order of SCOPE_GROUPS
        clause += (f" AND NOT ({row} BETWEEN {gaps[0] << GROUP_SHIFT} AND "
                   f"{((gaps[-1] + 1) << GROUP_SHIFT) - 1})")
    return clause


def _km_sql() -> str:
    """Haversine km from the bound point (sin/cos of its latitude pre-computed) to lat, lon."""
    return (f"(2 * {EARTH_RADIUS_KM} * asin(min(1.0, sqrt("
            "power(sin(radians(lat - ?) / 2), 2) + ? * cos(radians(lat)) * "
            "power(sin(radians(lon - ?) / 2), 2)))))")


def _km_args(lat: float, lon: float) -> list[float]:
    return [lat, math.cos(math.radians(lat)), lon]


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One immediate write transaction, waiting out other writers a while."""
    for attempt in range(20):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == 19:
                raise BackendError(f"the catalog stayed locked: {exc}") from exc
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
