"""Search figures, each engine side by side: index build, size, latency and throughput.

For each world (the default one, 1,500 shops; a large one, 20,000 shops and about
370,000 documents) a catalog is built once (the replicas' listings imported, then
normalize and dedup, cached under ``--cache``), then, for each engine (the
embedded Tantivy index, SQLite FTS5, Elasticsearch, OpenSearch), the index stage
runs (documents per second,
end to end: entities read, documents built, indexed, swapped in; the index's size
on disk) and a fixed mix of queries derived from the world (shop names, item +
commune, trade + commune, typos, filters without text, near a commune sorted by
distance; every query asks for all facets and highlights, as the web page does)
is run by 1 client, then by ``--clients`` concurrent clients, for ``--seconds``
each: latency p50/p95/p99, queries per second, errors, the share of answers whose
facet counts were estimated (the query passed its time budget), and each engine's
p99 at ``--clients`` against the fastest engine's in that world.

The mix repeats (600 queries asked again and again, as shoppers ask the same
trades and shops): an engine that keeps its answers serves most of them from
memory. ``--cold`` runs, after it, a mix of distinct queries each asked once
(``cold`` rows): what a query nobody asked before costs.

The search servers are the test nodes of tests/search_node.py (launched here,
512 MB heap each), or ``AGORA_ELASTICSEARCH_URL`` for one external server. The
machine's load average is printed with the figures: they are only comparable
within one run.

    .venv/bin/python benchmarks/search.py [--worlds default,large] [--clients 8]
        [--seconds 20] [--engines embedded,fts5,elasticsearch,opensearch]
        [--index-runs N] [--cold] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tantivy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from catalog.backends.base import SearchBackend, SearchQuery  # noqa: E402
from catalog.backends.budget import DEFAULT_BUDGET_MS  # noqa: E402
from catalog.backends.elastic import ElasticBackend  # noqa: E402
from catalog.backends.embedded import EmbeddedBackend  # noqa: E402
from catalog.backends.fts5 import Fts5Backend  # noqa: E402
from catalog.indexing import index_stage  # noqa: E402
from catalog.store import Catalog  # noqa: E402
from replicas.geo import COMMUNES_BY_NAME  # noqa: E402
from replicas.truth import expected_listings  # noqa: E402
from replicas.world import World  # noqa: E402
from tests.search_node import NodeUnavailable, SearchNodePool  # noqa: E402

WORLDS = {"default": (42, 1500, 8), "large": (42, 20000, 21)}  # seed, shops, offers per shop
TRADE_WORDS = {"boulangerie": "boulangerie", "boucherie": "boucherie",
               "fromagerie": "fromagerie", "caviste": "caviste", "epicerie_fine": "épicerie",
               "primeur": "primeur", "poissonnerie": "poissonnerie", "librairie": "librairie",
               "chocolatier": "chocolatier", "fleuriste": "fleuriste",
               "chaussures": "chaussures", "bijouterie": "bijouterie", "opticien": "opticien",
               "jouets": "jouets", "cosmetiques": "beauté", "velo": "vélo", "cafe_the": "café"}


COLD_QUERIES = 8000  # distinct queries asked for --cold, shared by its runs
ENGINES = ("embedded", "fts5", "elasticsearch", "opensearch")


@dataclass
class Latency:
    clients: int
    mix: str = "repeat"  # "repeat": the fixed mix again and again; "cold": each query once
    queries: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    qps: float = 0.0
    zero_hits: int = 0
    approximate: int = 0


@dataclass
class Figures:
    world: str
    engine: str
    version: str
    documents: int = 0
    index_seconds: float = 0.0
    docs_per_s: float = 0.0
    size_mb: float = 0.0
    runs: list[Latency] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- worlds
def world_catalog(name: str, cache: Path) -> tuple[Path, int, dict[str, Any]]:
    """The built catalog of a world (cached), its build id, and how long it took."""
    seed, shops, per_shop = WORLDS[name]
    path = cache / f"search-{name}-{seed}-{shops}-{per_shop}.sqlite"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        return path, info["build_id"], info
    for stale in cache.glob(path.name + "*"):
        stale.unlink()
    cache.mkdir(parents=True, exist_ok=True)
    listings = cache / f"search-{name}.jsonl"
    t0 = time.perf_counter()
    count = 0
    with listings.open("w", encoding="utf-8") as fh:
        for item in expected_listings(seed, shops, 0, per_shop):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    t1 = time.perf_counter()
    import_listings(listings, path)
    t2 = time.perf_counter()
    with Catalog.open(path) as cat:
        report = build(cat, mode="full", index=False)
        kinds = cat.entities.counts()
    t3 = time.perf_counter()
    listings.unlink()
    info = {"build_id": report.build_id, "listings": count, "entities": kinds,
            "generate_s": round(t1 - t0, 1), "import_s": round(t2 - t1, 1),
            "normalize_dedup_s": round(t3 - t2, 1)}
    info_path.write_text(json.dumps(info))
    return path, report.build_id, info


def query_mix(name: str, n: int = 600, *, distinct: bool = False,
              seed_offset: int = 0) -> list[SearchQuery]:
    """A fixed mix of what shoppers ask, from the world's own names and places (with
    ``distinct``, no query twice: as many as the world gives, up to ``n``)."""
    seed, shops, per_shop = WORLDS[name]
    world = World.generate(seed, shops, 0, per_shop)
    rng = random.Random(seed + seed_offset)
    seen: set[SearchQuery] = set()
    tries = 0
    listed = [s for s in world.open_shops() if s.platforms]
    offers = [o for o in world.offers if o.platforms and o.is_open]
    communes = sorted({s.commune for s in listed})
    out: list[SearchQuery] = []
    while len(out) < n:
        roll = rng.random()
        shop = rng.choice(listed)
        if roll < 0.35:  # part of a shop's name
            words = [w for w in shop.name.replace("'", " ").split() if len(w) > 2]
            out.append(SearchQuery(text=" ".join(words[-2:])))
        elif roll < 0.55:  # an item and a commune
            offer = rng.choice(offers)
            title = [w for w in world.products[offer.product].title.split() if len(w) > 2]
            out.append(SearchQuery(text=" ".join(title[:2] + [world.shops[offer.shop].commune])))
        elif roll < 0.70:  # a trade and a commune
            trade = TRADE_WORDS.get(shop.trade, "boutique")
            out.append(SearchQuery(text=f"{trade} {shop.commune}"))
        elif roll < 0.80:  # a typo in a long word
            words = [w for w in shop.name.split() if len(w) >= 6] or [shop.name]
            w = rng.choice(words)
            i = len(w) // 2
            out.append(SearchQuery(text=w[:i] + w[i + 1:]))
        elif roll < 0.90:  # filters, no text
            out.append(SearchQuery(filters=(("category", (shop.trade,)),
                                            ("commune", (rng.choice(communes),)))))
        else:  # near a commune, by distance
            commune = COMMUNES_BY_NAME[shop.commune]
            out.append(SearchQuery(text=TRADE_WORDS.get(shop.trade, "boutique"),
                                   near=(commune.lat, commune.lon), radius_km=5.0,
                                   sort="distance"))
        tries += 1
        if distinct:
            if out[-1] in seen:
                out.pop()
            else:
                seen.add(out[-1])
            if tries >= 20 * n:
                break
    return out


# --------------------------------------------------------------------------- engines
def open_engine(engine: str, catalog_path: Path, pool: Any) -> tuple[SearchBackend, str]:
    if engine == "embedded":
        return EmbeddedBackend(catalog_path), f"tantivy {tantivy.__version__}"
    if engine == "fts5":
        return Fts5Backend(catalog_path), f"SQLite FTS5 {sqlite3.sqlite_version}"
    url = os.environ.get("AGORA_ELASTICSEARCH_URL")
    if url:
        backend = ElasticBackend.connect(url, "agora-bench", budget_ms=DEFAULT_BUDGET_MS)
        if backend.adapter.engine != engine:
            backend.close()
            raise RuntimeError(f"AGORA_ELASTICSEARCH_URL is {backend.adapter.engine}")
    else:
        server = pool.get(engine)
        backend = ElasticBackend.connect(server.url, "agora-bench", budget_ms=DEFAULT_BUDGET_MS)
    return backend, f"{backend.adapter.engine} {backend.adapter.version}"


def index_size_mb(backend: SearchBackend, catalog_path: Path) -> float:
    """The live index's size on disk."""
    if isinstance(backend, EmbeddedBackend):
        assert backend.folder is not None
        live = backend.folder / f"index-{backend.status()['index'].split('-')[-1]}"
        return round(sum(f.stat().st_size for f in live.rglob("*") if f.is_file()) / 1e6, 1)
    if isinstance(backend, Fts5Backend):
        number = int(backend.status()["index"].rsplit("_", 1)[1])
        mine = re.compile(rf"(?:sqlite_autoindex_)?search_[a-z]+_{number}(?:_|$)")
        with sqlite3.connect(catalog_path) as conn:
            try:
                sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
                return round(sum(size for name, size in sizes if mine.match(name)) / 1e6, 1)
            except sqlite3.OperationalError:  # no dbstat in this SQLite
                return float("nan")
    assert isinstance(backend, ElasticBackend)
    index = backend.status()["index"]
    stats = backend.adapter.client.indices.stats(index=index)
    return round(stats["_all"]["total"]["store"]["size_in_bytes"] / 1e6, 1)


def load(backend: SearchBackend, queries: list[SearchQuery], clients: int,
         seconds: float, *, once: bool = False) -> tuple[list[float], int, int, int, float]:
    """Latencies (ms), errors, zero-hit and estimated-facet answers of ``clients`` threads
    for ``seconds`` (with ``once``, the clients share the queries, each asked once, and stop
    when they run out)."""
    shared = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    zero = [0] * clients
    approximate = [0] * clients
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        i = k * 37
        start.wait()
        while time.perf_counter() < deadline:
            if once:
                i = next(shared)  # one step of a C iterator: atomic under the GIL
                if i >= len(queries):
                    break
            q = queries[i % len(queries)]
            i += 1
            t = time.perf_counter()
            try:
                res = backend.search(q)
                zero[k] += res.total == 0
                approximate[k] += res.approximate
            except Exception:
                errors[k] += 1
            latencies[k].append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return ([x for lat in latencies for x in lat], sum(errors), sum(zero), sum(approximate),
            wall)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_one(world: str, engine: str, catalog_path: Path, build_id: int,
            queries: list[SearchQuery], clients: list[int], seconds: float, pool: Any,
            log: Callable[[str], None], index_runs: int = 1,
            cold: list[SearchQuery] | None = None) -> Figures:
    backend, version = open_engine(engine, catalog_path, pool)
    figures = Figures(world, engine, version)
    try:
        if not index_runs:  # the live index of this build, as it is
            status = backend.status()
            if status.get("build_id") != build_id:
                raise RuntimeError(f"{engine}: no live index of build {build_id} to reuse")
            figures.documents = int(status.get("documents") or 0)
            figures.notes.append("index reused, not built")
        for run in range(index_runs):  # the last run counts: a node in service is warm
            with Catalog.open(catalog_path) as cat:
                stage = index_stage(cat, build_id, backend=backend)
            figures.documents = stage.figures["documents"]
            figures.index_seconds = round(stage.seconds, 2)
            figures.docs_per_s = round(figures.documents / stage.seconds)
            figures.notes.append(f"index run {run + 1}: {stage.seconds:.1f}s")
            log(f"  {world}/{engine}: indexed {figures.documents:,} documents in "
                f"{stage.seconds:.1f}s ({figures.docs_per_s:,}/s)")
        figures.size_mb = index_size_mb(backend, catalog_path)
        for q in queries[:60]:  # warm-up, not measured (a failure is reported by the runs)
            try:
                backend.search(q)
            except Exception as exc:
                figures.notes.append(f"warm-up: {exc}")
        runs: list[tuple[str, int, list[SearchQuery]]] = [("repeat", n, queries)
                                                            for n in clients]
        if cold:  # each run its own share of the distinct queries: none asked before
            share = len(cold) // len(clients)
            runs += [("cold", n, cold[i * share:(i + 1) * share])
                     for i, n in enumerate(clients)]
        for mix, n, asked in runs:
            latencies, errors, zero, approximate, wall = load(backend, asked, n, seconds,
                                                              once=mix == "cold")
            run = Latency(n, mix, len(latencies), errors,
                          round(percentile(latencies, 50), 1),
                          round(percentile(latencies, 95), 1),
                          round(percentile(latencies, 99), 1),
                          round(len(latencies) / wall, 1), zero, approximate)
            figures.runs.append(run)
            log(f"  {world}/{engine} {mix} x{n}: {run.queries} queries, p50 {run.p50_ms} ms, "
                f"p95 {run.p95_ms} ms, p99 {run.p99_ms} ms, {run.qps} q/s, "
                f"{run.errors} errors, load {os.getloadavg()[0]:.1f}")
        if isinstance(backend, ElasticBackend):
            for index in backend.adapter.indices("agora-bench-*"):
                backend.adapter.delete_index(index)
    finally:
        backend.close()
    return figures


def table(results: list[Figures]) -> str:
    """One line per engine and mix; the p99 ratio is to the fastest engine's on the same
    mix and world."""
    clients = sorted({r.clients for f in results for r in f.runs})
    mixes = [m for m in ("repeat", "cold") if any(r.mix == m for f in results for r in f.runs)]
    head = (f"{'world':8} {'engine':26} {'mix':6} {'documents':>9} {'index s':>8} "
            f"{'docs/s':>7} {'MB':>7}")
    for n in clients:
        head += f" | x{n:<2} {'p50':>6} {'p95':>6} {'p99':>6} {'q/s':>6} {'err':>4} {'≈%':>4}"
    head += f" | {'p99/best':>8}"
    lines = [head, "-" * len(head)]
    top = max(clients) if clients else 0

    def top_p99(f: Figures, mix: str) -> float | None:
        return next((r.p99_ms for r in f.runs if r.clients == top and r.mix == mix), None)

    best: dict[tuple[str, str], float] = {}
    for f in results:
        for mix in mixes:
            p99 = top_p99(f, mix)
            if p99:
                key = (f.world, mix)
                best[key] = min(best.get(key, p99), p99)
    for f in results:
        for mix in mixes or ["repeat"]:
            line = (f"{f.world:8} {f.version:26} {mix:6} {f.documents:>9,} "
                    f"{f.index_seconds:>8.1f} {f.docs_per_s:>7,.0f} {f.size_mb:>7.1f}")
            for n in clients:
                r = next((r for r in f.runs if r.clients == n and r.mix == mix), None)
                if r is None:
                    line += " |" + " " * 44
                    continue
                share = 100 * r.approximate / max(1, r.queries)
                line += (f" |     {r.p50_ms:>6.1f} {r.p95_ms:>6.1f} {r.p99_ms:>6.1f} "
                         f"{r.qps:>6.1f} {r.errors:>4} {share:>4.0f}")
            p99 = top_p99(f, mix)
            fastest = best.get((f.world, mix))
            ratio = f"{p99 / fastest:.2f}" if p99 and fastest else "-"
            line += f" | {ratio:>8}"
            lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default="default,large")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--clients", type=int, default=8,
                        help="Concurrent clients of the second run (the first has one).")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--index-runs", type=int, default=2,
                        help="Index each world this many times; the last run is reported "
                             "(0: search the live index of the world's build, no build).")
    parser.add_argument("--cold", action="store_true",
                        help="Also run distinct queries, each asked once (cold rows).")
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON.")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    pool = SearchNodePool()
    results: list[Figures] = []
    worlds: dict[str, Any] = {}
    try:
        for world in args.worlds.split(","):
            t = time.perf_counter()
            catalog_path, build_id, info = world_catalog(world, args.cache)
            log(f"{world} world: {info} (ready in {time.perf_counter() - t:.1f}s)")
            worlds[world] = info
            queries = query_mix(world)
            cold = None
            if args.cold:  # none of the repeated mix (asked, and kept, before)
                repeated = set(queries)
                cold = [q for q in query_mix(world, COLD_QUERIES, distinct=True, seed_offset=1)
                        if q not in repeated]
                log(f"  {len(cold):,} distinct queries for the cold runs")
            for engine in args.engines.split(","):
                try:
                    results.append(run_one(world, engine, catalog_path, build_id, queries,
                                           sorted({1, args.clients}), args.seconds, pool,
                                           log, max(0, args.index_runs), cold))
                except (NodeUnavailable, RuntimeError) as exc:
                    log(f"  {world}/{engine}: skipped: {exc}")
    finally:
        pool.close()
    print(f"1 and {args.clients} concurrent clients, {args.seconds:.0f} s each per engine; "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the end; "
          f"times in ms; ≈%: answers with estimated facet counts; mix: repeat (600 "
          f"queries again and again) or cold (distinct queries, each asked once)")
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps({"worlds": worlds, "clients": args.clients,
                                        "seconds": args.seconds,
                                        "results": [asdict(r) for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
