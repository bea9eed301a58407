"""Load benchmark of the search API: ``/api/search`` under gunicorn, 16 connections, 30 s.

The server runs in its own process (``search_ui.server.serve``: gunicorn, the
gthread worker, the embedded index); this process is the client: N threads, each
with one keep-alive HTTP connection, send a mix of real queries (words of shop
names, trades, communes, product titles and brands, misspellings, filters by
platform and kind, price sorts, positions with a radius, second pages) drawn
from the catalog (seeded: the same mix for the same catalog and seed), for the
duration, after a short warm-up that is not counted. The server runs as
``agora serve`` does by default (2 x CPUs + 1 workers of 4 threads, docs/deploy.md).
It prints what it ran on (the catalog, its entities, the live index's documents),
requests/s, latency percentiles and the error count (any answer other than 200, or a
failed connection), and writes them as JSON with the slowest requests.

The rate limit is switched off for the server under test (one client would
otherwise be refused after 120 requests a minute, which is the limiter working).

Usage:
    python benchmarks/load.py                        # builds a world of 1,500 shops first
    python benchmarks/load.py --home var             # an AGORA_HOME already built
    python benchmarks/load.py --search-world large   # benchmarks/search.py's large world
                                                     # (20,000 shops, ~390,000 documents),
                                                     # built and indexed once under var/bench
    python benchmarks/load.py --catalog FILE         # a catalog built and indexed
    python benchmarks/load.py --duration 10 --concurrency 8 --out benchmarks/out/load.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from benchmarks.search import WORLDS, world_catalog  # noqa: E402
from catalog.backends.embedded import EmbeddedBackend  # noqa: E402
from catalog.indexing import index_stage  # noqa: E402
from catalog.store import Catalog  # noqa: E402
from replicas.truth import write_expected_listings  # noqa: E402
from search_ui.server import default_workers  # noqa: E402

SERVER = """
import sys
from search_ui.server import serve
serve("127.0.0.1", int(sys.argv[1]), workers=int(sys.argv[2]), threads=int(sys.argv[3]),
      config={"AGORA_CATALOG": sys.argv[4], "AGORA_RATE_LIMIT": "off"},
      on_ready=lambda url: print("READY", url, flush=True))
"""


def build_world(folder: Path, shops: int, seed: int) -> Path:
    """A catalog of the replica world's listings, built and indexed (as the demo would)."""
    listings = folder / "listings.jsonl"
    write_expected_listings(str(listings), seed=seed, shops=shops)
    path = folder / "catalog.sqlite"
    import_listings(listings, path)
    with Catalog.open(path) as catalog:
        build(catalog, index=True)
    return path


def search_world(name: str, cache: Path) -> Path:
    """The catalog of ``benchmarks/search.py``'s world ``name`` (built once, cached under
    ``cache`` as that benchmark caches it), with a live embedded index of its build."""
    path, build_id, _info = world_catalog(name, cache)
    backend = EmbeddedBackend(path)
    try:
        if backend.status().get("build_id") != build_id:
            with Catalog.open(path) as catalog:
                index_stage(catalog, build_id, backend=backend)
    finally:
        backend.close()
    return path


def describe(catalog: Path) -> dict[str, object]:
    """What the benchmark runs on: the catalog file, its entities per kind, the live index."""
    with Catalog.open_read_only(catalog) as cat:
        entities = cat.entities.counts()
    backend = EmbeddedBackend(catalog)
    try:
        status = backend.status()
    finally:
        backend.close()
    return {"catalog": str(catalog), "entities": entities,
            "index": status.get("engine"), "documents": status.get("documents")}


def real_queries(catalog: Path, count: int, seed: int) -> list[str]:
    """Query strings of /api/search drawn from what the catalog holds."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    shops = conn.execute(
        "SELECT json_extract(data, '$.name'), json_extract(data, '$.city'), "
        "json_extract(data, '$.categories[0]'), json_extract(data, '$.lat'), "
        "json_extract(data, '$.lon'), json_extract(data, '$.platforms[0]') "
        "FROM entities WHERE kind = 'shop' ORDER BY entity_id").fetchall()
    items = conn.execute(
        "SELECT json_extract(data, '$.title'), json_extract(data, '$.brand') FROM entities "
        "WHERE kind IN ('product', 'offer') ORDER BY entity_id").fetchall()
    conn.close()
    items = rng.sample(items, min(3000, len(items)))  # seeded: the same mix run after run
    if not shops:
        raise SystemExit(f"{catalog} holds no shop: build it first")

    def word(text: str | None) -> str:
        parts = [w for w in (text or "").replace(",", " ").split() if len(w) > 3]
        return rng.choice(parts) if parts else "boutique"

    def typo(text: str) -> str:
        if len(text) < 5:
            return text
        i = rng.randrange(1, len(text) - 1)
        return text[:i] + text[i + 1:]

    makers = [
        lambda: {"q": word(rng.choice(shops)[0])},
        lambda: {"q": (rng.choice(shops)[2] or "boulangerie").replace("_", " ")},
        lambda: {"q": rng.choice(shops)[1] or "Toulouse"},
        lambda: {"q": " ".join((rng.choice(items)[0] or "livre").split()[:2])},
        lambda: {"q": rng.choice(items)[1] or "chocolat", "kind": "product"},
        lambda: {"q": typo(word(rng.choice(shops)[0]).lower())},
        lambda: {"q": (rng.choice(shops)[2] or "fromagerie").replace("_", " "),
                 "platform": rng.choice(shops)[5] or "clickandco"},
        lambda: {"q": word(rng.choice(items)[0]), "kind": "product", "sort": "price_asc"},
        lambda: (lambda s: {"q": (s[2] or "").replace("_", " "), "lat": s[3], "lon": s[4],
                            "radius_km": 5, "sort": "distance"})(rng.choice(
                                [s for s in shops if s[3] is not None])),
        lambda: {"q": (rng.choice(shops)[2] or "sport").replace("_", " "), "page": 2},
        lambda: {"category": rng.choice(shops)[2] or "librairie", "commune":
                 rng.choice(shops)[1] or "Toulouse"},
    ]
    out = []
    for _ in range(count):
        params = {k: v for k, v in rng.choice(makers)().items() if v not in (None, "")}
        out.append("/api/search?" + urlencode(params))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(catalog: Path, workers: int, threads: int) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(workers), str(threads),
                             str(catalog)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            return proc, port
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the server did not start")


class Client(threading.Thread):
    """One keep-alive connection sending queries until told to stop."""

    def __init__(self, port: int, queries: list[str], start_at: float, stop_at: float,
                 seed: int) -> None:
        super().__init__(daemon=True)
        self.port, self.queries = port, queries
        self.start_at, self.stop_at = start_at, stop_at
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.timed: list[tuple[float, str]] = []  # (latency, path): what the tail asked
        self.statuses: Counter[str] = Counter()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while True:
            now = time.perf_counter()
            if now >= self.stop_at:
                break
            path = self.rng.choice(self.queries)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept": "application/json"})
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            elapsed = time.perf_counter() - t0
            if t0 >= self.start_at:  # the warm-up is not counted
                self.latencies.append(elapsed)
                self.timed.append((elapsed, path))
                self.statuses[status] += 1
        conn.close()


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def run(catalog: Path, *, duration: float, concurrency: int, warmup: float, workers: int,
        threads: int, seed: int) -> dict[str, object]:
    queries = real_queries(catalog, 600, seed)
    proc, port = start_server(catalog, workers, threads)
    try:
        start_at = time.perf_counter() + warmup
        stop_at = start_at + duration
        clients = [Client(port, queries, start_at, stop_at, seed + i)
                   for i in range(concurrency)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    latencies = sorted(x for c in clients for x in c.latencies)
    statuses: Counter[str] = Counter()
    for c in clients:
        statuses.update(c.statuses)
    requests = len(latencies)
    errors = sum(n for s, n in statuses.items() if s != "200")
    return {
        "endpoint": "/api/search", "duration_s": duration, "warmup_s": warmup,
        "concurrency": concurrency, "gunicorn_workers": workers, "threads_per_worker": threads,
        "cpus": os.cpu_count(), "distinct_queries": len(set(queries)),
        "requests": requests, "requests_per_s": round(requests / duration, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p90": round(percentile(latencies, 90) * 1000, 1),
            "p95": round(percentile(latencies, 95) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "max": round(latencies[-1] * 1000, 1) if latencies else None,
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
        "errors": errors, "statuses": dict(statuses),
        "slowest": [{"ms": round(t * 1000, 1), "path": p} for t, p in
                    sorted((x for c in clients for x in c.timed), reverse=True)[:20]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="AGORA_HOME holding a built catalog (default: build a "
                        "replica world in a temporary folder)")
    parser.add_argument("--catalog", help="a built and indexed catalog file")
    parser.add_argument("--search-world", choices=sorted(WORLDS),
                        help="the world of benchmarks/search.py of that name (large: 20,000 "
                        "shops, about 370,000 documents), built and indexed once, cached "
                        "under --cache")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench",
                        help="where --search-world's catalog is kept between runs")
    parser.add_argument("--shops", type=int, default=1500, help="world size when building")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "load.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agora-load-") as tmp:
        if args.search_world:
            t0 = time.perf_counter()
            catalog = search_world(args.search_world, args.cache)
            print(f"search world {args.search_world!r} ready in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        elif args.catalog:
            catalog = Path(args.catalog)
        elif args.home:
            catalog = Path(args.home) / "catalog.sqlite"
        else:
            t0 = time.perf_counter()
            catalog = build_world(Path(tmp), args.shops, args.seed)
            print(f"world of {args.shops} shops built and indexed in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        result = run(catalog, duration=args.duration, concurrency=args.concurrency,
                     warmup=args.warmup, workers=args.workers, threads=args.threads,
                     seed=args.seed)
        world = describe(catalog)
        result["world"] = world
    lat = result["latency_ms"]
    print(f"world: {world['catalog']}: {world['entities']}, {world['documents']:,} documents "
          f"in the live index ({world['index']})")
    print(f"load average {os.getloadavg()[0]:.1f} (other processes share the machine)")
    print(f"{result['requests']} requests in {args.duration:.0f} s at "
          f"{args.concurrency} connections ({args.workers} gunicorn workers x "
          f"{args.threads} threads, {result['cpus']} CPUs): "
          f"{result['requests_per_s']} req/s, p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
          f"p99 {lat['p99']} ms, max {lat['max']} ms, errors {result['errors']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
