"""Search figures, each backend side by side: indexing speed, latency and throughput.

For each world (the default one, 1,500 shops; a large one, 20,000 shops and about
400,000 offers) a catalog is built once (the replicas' listings imported, then
normalize and dedup, cached under ``--cache``), then, for each engine (embedded
FTS5, Elasticsearch, OpenSearch), the index stage runs (documents per second,
end to end: entities read, documents built, indexed, swapped in) and a fixed mix
of queries derived from the world (shop names, item + commune, trade + commune,
typos, filters without text, near a commune sorted by distance; every query asks
for all facets and highlights, as the web page does) is run by ``--clients``
concurrent clients for ``--seconds``: latency p50/p95/p99 and queries per second.

The search servers are the test nodes of tests/search_node.py (launched here,
512 MB heap each), or ``AGORA_ELASTICSEARCH_URL`` for one external server.

    .venv/bin/python benchmarks/search.py [--worlds default,large] [--clients 8]
        [--seconds 20] [--engines embedded,elasticsearch,opensearch] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from catalog.indexing import index_stage  # noqa: E402
from catalog.search import SearchBackend, SearchQuery  # noqa: E402
from catalog.store import Catalog  # noqa: E402
from replicas.geo import COMMUNES_BY_NAME  # noqa: E402
from replicas.truth import expected_listings  # noqa: E402
from replicas.world import World  # noqa: E402

WORLDS = {"default": (42, 1500, 8), "large": (42, 20000, 21)}  # seed, shops, offers per shop
TRADE_WORDS = {"boulangerie": "boulangerie", "boucherie": "boucherie",
               "fromagerie": "fromagerie", "caviste": "caviste", "epicerie_fine": "épicerie",
               "primeur": "primeur", "poissonnerie": "poissonnerie", "librairie": "librairie",
               "chocolatier": "chocolatier", "fleuriste": "fleuriste",
               "chaussures": "chaussures", "bijouterie": "bijouterie", "opticien": "opticien",
               "jouets": "jouets", "cosmetiques": "beauté", "velo": "vélo", "cafe_the": "café"}


@dataclass
class Figures:
    world: str
    engine: str
    version: str
    documents: int = 0
    index_seconds: float = 0.0
    docs_per_s: float = 0.0
    queries: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    qps: float = 0.0
    zero_hits: int = 0
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
        kinds = dict(cat.conn.execute("SELECT kind, count(*) FROM entities GROUP BY kind"))
    t3 = time.perf_counter()
    listings.unlink()
    info = {"build_id": report.build_id, "listings": count, "entities": kinds,
            "generate_s": round(t1 - t0, 1), "import_s": round(t2 - t1, 1),
            "normalize_dedup_s": round(t3 - t2, 1)}
    info_path.write_text(json.dumps(info))
    return path, report.build_id, info


def query_mix(name: str, n: int = 600) -> list[SearchQuery]:
    """A fixed mix of what shoppers ask, from the world's own names and places."""
    seed, shops, per_shop = WORLDS[name]
    world = World.generate(seed, shops, 0, per_shop)
    rng = random.Random(seed)
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
    return out


# --------------------------------------------------------------------------- engines
def open_engine(engine: str, catalog_path: Path, pool: Any) -> tuple[SearchBackend, str]:
    if engine == "embedded":
        import sqlite3

        from catalog.embedded import EmbeddedBackend

        return EmbeddedBackend(catalog_path), f"SQLite {sqlite3.sqlite_version}"
    from catalog.elastic import ElasticBackend

    url = os.environ.get("AGORA_ELASTICSEARCH_URL")
    if url:
        backend = ElasticBackend.connect(url, "agora-bench")
        if backend.adapter.engine != engine:
            backend.close()
            raise RuntimeError(f"AGORA_ELASTICSEARCH_URL is {backend.adapter.engine}")
    else:
        server = pool.get(engine)
        backend = ElasticBackend.connect(server.url, "agora-bench")
    return backend, f"{backend.adapter.engine} {backend.adapter.version}"


def load(backend: SearchBackend, queries: list[SearchQuery], clients: int,
         seconds: float) -> tuple[list[float], int, int, float]:
    """Latencies (ms), errors and zero-hit answers of ``clients`` threads for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    zero = [0] * clients
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        i = k * 37
        start.wait()
        while time.perf_counter() < deadline:
            q = queries[i % len(queries)]
            i += 1
            t = time.perf_counter()
            try:
                res = backend.search(q)
                zero[k] += res.total == 0
            except Exception:  # noqa: BLE001 - counted and reported
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
    return [x for lat in latencies for x in lat], sum(errors), sum(zero), wall


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_one(world: str, engine: str, catalog_path: Path, build_id: int,
            queries: list[SearchQuery], clients: int, seconds: float, pool: Any,
            log: Callable[[str], None], index_runs: int = 1) -> Figures:
    backend, version = open_engine(engine, catalog_path, pool)
    figures = Figures(world, engine, version)
    try:
        for run in range(index_runs):  # the last run counts: a node in service is warm
            with Catalog.open(catalog_path) as cat:
                stage = index_stage(cat, build_id, backend=backend)
            figures.documents = stage.figures["documents"]
            figures.index_seconds = round(stage.seconds, 2)
            figures.docs_per_s = round(figures.documents / stage.seconds)
            figures.notes.append(f"index run {run + 1}: {stage.seconds:.1f}s")
            log(f"  {world}/{engine}: indexed {figures.documents:,} documents in "
                f"{stage.seconds:.1f}s ({figures.docs_per_s:,}/s)")
        for q in queries[:60]:  # warm-up, not measured
            backend.search(q)
        latencies, errors, zero, wall = load(backend, queries, clients, seconds)
        figures.queries = len(latencies)
        figures.errors = errors
        figures.zero_hits = zero
        figures.p50_ms = round(percentile(latencies, 50), 1)
        figures.p95_ms = round(percentile(latencies, 95), 1)
        figures.p99_ms = round(percentile(latencies, 99), 1)
        figures.qps = round(len(latencies) / wall, 1)
        log(f"  {world}/{engine}: {figures.queries} queries, p50 {figures.p50_ms} ms, "
            f"p95 {figures.p95_ms} ms, p99 {figures.p99_ms} ms, {figures.qps} q/s")
        if engine != "embedded":
            from catalog.elastic import ElasticBackend

            assert isinstance(backend, ElasticBackend)
            for index in backend.adapter.indices("agora-bench-*"):
                backend.adapter.delete_index(index)
    finally:
        backend.close()
    return figures


def table(results: list[Figures]) -> str:
    head = (f"{'world':8} {'engine':24} {'documents':>10} {'index s':>8} {'docs/s':>8} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'q/s':>7} {'errors':>6}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r.world:8} {r.version:24} {r.documents:>10,} {r.index_seconds:>8.1f} "
                     f"{r.docs_per_s:>8,.0f} {r.p50_ms:>7.1f} {r.p95_ms:>7.1f} "
                     f"{r.p99_ms:>7.1f} {r.qps:>7.1f} {r.errors:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default="default,large")
    parser.add_argument("--engines", default="embedded,elasticsearch,opensearch")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--index-runs", type=int, default=2,
                        help="Index each world this many times; the last run is reported.")
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON.")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    from tests.search_node import NodeUnavailable, SearchNodePool

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
            for engine in args.engines.split(","):
                try:
                    results.append(run_one(world, engine, catalog_path, build_id, queries,
                                           args.clients, args.seconds, pool, log,
                                           max(1, args.index_runs)))
                except (NodeUnavailable, RuntimeError) as exc:
                    log(f"  {world}/{engine}: skipped: {exc}")
    finally:
        pool.close()
    print(f"{args.clients} concurrent clients, {args.seconds:.0f} s per engine; "
          f"{os.cpu_count()} CPU(s)")
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps({"worlds": worlds, "clients": args.clients,
                                        "seconds": args.seconds,
                                        "results": [asdict(r) for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
