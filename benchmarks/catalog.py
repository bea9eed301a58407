"""The catalog on PostgreSQL beside SQLite, on the same large world: time to searchable,
build time, peak memory per process, search and entity latency.

A world of ``--shops`` shops is generated once with the replicas' generator (about
ten listings per shop with 8 offers each: 19,500 shops give some 200,000 listings;
the issue's national target, a million, needs about 97,000 shops) and written as
JSON Lines. Then, for each engine, three processes run one after the other, each
measured alone (wall time and peak resident memory, ``ru_maxrss``):

1. **import**: the listings into an empty catalog through ``agora import listings``'
   code (the crawl sink and ``write_page``, as a crawl writes them);
2. **build**: a full build (normalize, dedup, index; the embedded index, or
   Elasticsearch with ``--elasticsearch-url``);
3. **serve**: the web app over that catalog (Flask's test client, in-process,
   one client) answers ``--queries`` searches drawn from the world's names,
   trades and communes, then the entity API of the first hit of each: p50/p99.

*Import to searchable* is import + build. PostgreSQL is the server at
``--postgres-url`` (a user that may create databases), else a throw-away server
started from Debian's binaries (tests/postgres_server.py) set durable as SQLite
in WAL mode is (``fsync`` and full page writes on, ``synchronous_commit`` off:
a power cut may lose the last transactions, never corrupt). The server's own
memory is not in the figures (it is another process; shared_buffers 128 MB).
Timings on a shared machine are noisy: compare the engines within one run.

    .venv/bin/python benchmarks/catalog.py [--shops 19500] [--offers-per-shop 8]
        [--engines sqlite,postgresql] [--queries 400] [--postgres-url URL]
        [--elasticsearch-url URL] [--work DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from catalog.store import CATALOG_FILE, Catalog  # noqa: E402
from replicas.truth import expected_listings  # noqa: E402
from search_ui.app import create_app  # noqa: E402
from search_ui.context import close_backend  # noqa: E402
from tests.postgres_server import launch  # noqa: E402

TRADES = ("boulangerie", "boucherie", "fromagerie", "caviste", "épicerie", "primeur",
          "librairie", "chocolatier", "fleuriste", "chaussures", "opticien", "vélo")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


# --------------------------------------------------------------------------- the world
def world_file(work: Path, seed: int, shops: int, per_shop: int) -> tuple[Path, int]:
    """The world's listings as JSON Lines (cached), and how many."""
    path = work / f"world-{seed}-{shops}-{per_shop}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as fh:
            for item in expected_listings(seed, shops, 0, per_shop):
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        partial.replace(path)
    with path.open(encoding="utf-8") as fh:
        return path, sum(1 for _ in fh)


def query_mix(path: Path, n: int, seed: int) -> list[str]:
    """What shoppers type, from the world's own shop names, titles and communes."""
    rng = random.Random(seed)
    names, titles, cities = [], [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["kind"] == "shop":
                names.append(item.get("name") or "")
                if item.get("city"):
                    cities.append(item["city"])
            elif item.get("title"):
                titles.append(item["title"])
    queries = []
    while len(queries) < n:
        roll = rng.random()
        if roll < 0.4:
            words = [w for w in rng.choice(names).replace("'", " ").split() if len(w) > 2]
            queries.append(" ".join(words[-2:]))
        elif roll < 0.7:
            words = [w for w in rng.choice(titles).split() if len(w) > 2]
            queries.append(" ".join(words[:2] + [rng.choice(cities)]))
        else:
            queries.append(f"{rng.choice(TRADES)} {rng.choice(cities)}")
    return [q for q in queries if q.strip()]


# --------------------------------------------------------------------------- phases
def phase_import(location: str, listings: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    reports = import_listings(listings, location)
    seconds = time.perf_counter() - t0
    stored = sum(r.run.listings for r in reports)
    return {"seconds": round(seconds, 1), "listings": stored,
            "listings_per_s": round(stored / seconds), "peak_rss_mb": peak_rss_mb()}


def phase_build(location: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    with Catalog.open(location) as catalog:
        report = build(catalog, mode="full")
        entities = catalog.entities.counts()
    return {"seconds": round(time.perf_counter() - t0, 1), "entities": entities,
            "stages": {s.name: round(s.seconds, 1) for s in report.stages},
            "peak_rss_mb": peak_rss_mb()}


def phase_serve(location: str, queries: list[str]) -> dict[str, Any]:
    app = create_app({"AGORA_CATALOG": location, "AGORA_RATE_LIMIT": "off"})
    client = app.test_client()
    client.get("/api/search", query_string={"q": "boulangerie"})  # open the index, warm up
    searches, entities, entity_urls, empty = [], [], [], 0
    try:
        for q in queries:
            t0 = time.perf_counter()
            reply = client.get("/api/search", query_string={"q": q, "per_page": 20})
            searches.append((time.perf_counter() - t0) * 1000)
            hits = reply.get_json()["hits"]
            if hits:
                entity_urls.append(hits[0]["api_url"].replace("http://localhost", ""))
            else:
                empty += 1
        for url in entity_urls:
            t0 = time.perf_counter()
            assert client.get(url).status_code == 200
            entities.append((time.perf_counter() - t0) * 1000)
    finally:
        close_backend(app)
    return {"searches": len(searches), "no_hits": empty,
            "search_p50_ms": percentile(searches, 0.5), "search_p99_ms": percentile(searches, 0.99),
            "entity_p50_ms": percentile(entities, 0.5), "entity_p99_ms": percentile(entities, 0.99),
            "peak_rss_mb": peak_rss_mb()}


def run_phase(phase: str, engine: str, location: str, home: Path, args: argparse.Namespace,
              extra: list[str]) -> dict[str, Any]:
    """One phase in a process of its own: its time and its peak memory alone."""
    env = dict(os.environ, AGORA_HOME=str(home))
    env.pop("AGORA_CATALOG_URL", None)
    if args.elasticsearch_url:
        env["AGORA_ELASTICSEARCH_URL"] = args.elasticsearch_url
        env["AGORA_ELASTICSEARCH_INDEX"] = f"agora-bench-{engine}"
    cmd = [sys.executable, __file__, "--phase", phase, "--location", location, *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{engine} {phase} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {engine:<10} {phase:<7} {json.dumps(result)}", flush=True)
    return result


# --------------------------------------------------------------------------- engines
def postgres_database(args: argparse.Namespace) -> tuple[str, Any]:
    """A new database on the given server, or on a throw-away one made durable."""

    server = None
    if args.postgres_url:
        admin = args.postgres_url
    else:

        server = launch()
        admin = server.url
        with psycopg.connect(admin, autocommit=True) as conn:
            for setting in ("fsync = on", "full_page_writes = on", "synchronous_commit = off"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")
    name = f"agora_bench_{int(time.time())}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        version = conn.execute("SHOW server_version").fetchone()[0]
    parts = admin.rsplit("/", 1)
    return f"{parts[0]}/{name}", {"server": f"PostgreSQL {version}", "database": name,
                                  "admin": admin, "launched": server is not None}


def disk_mb(engine: str, location: str, home: Path) -> float:
    """The catalog and the embedded index on disk (SQLite: one file holds both)."""
    files = sum(p.stat().st_size for p in home.rglob("catalog.*") if p.is_file())
    if engine == "sqlite":
        return round(files / 2**20, 1)
    with Catalog.open(location) as catalog:
        row = catalog.db.query_one("SELECT pg_database_size(current_database())")
    return round((int(row[0]) + files) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=19500)
    parser.add_argument("--offers-per-shop", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--postgres-url", default=os.environ.get("AGORA_POSTGRES_URL"))
    parser.add_argument("--elasticsearch-url", default=None)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--phase", choices=("import", "build", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--listings", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child: one phase, its figures as the last line
        if args.phase == "import":
            result = phase_import(args.location, args.listings)
        elif args.phase == "build":
            result = phase_build(args.location)
        else:
            result = phase_serve(args.location, json.loads(args.queries_file.read_text()))
        print(json.dumps(result))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="agora-bench-catalog-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    listings, count = world_file(work, args.seed, args.shops, args.offers_per_shop)
    queries_file = work / "queries.json"
    queries_file.write_text(json.dumps(query_mix(listings, args.queries, args.seed)))
    print(f"world: {args.shops} shops, {count} listings ({time.perf_counter() - t0:.0f}s to "
          f"generate); work folder {work}", flush=True)
    results: dict[str, Any] = {"shops": args.shops, "listings": count, "engines": {}}
    for engine in args.engines.split(","):
        home = work / f"home-{engine}"
        home.mkdir(exist_ok=True)
        info: dict[str, Any] = {}
        if engine == "sqlite":
            location = str(home / CATALOG_FILE)
            for stale in home.glob("catalog.*"):
                if stale.is_file():
                    stale.unlink()

            info["server"] = f"SQLite {sqlite3.sqlite_version}"
        elif engine == "postgresql":
            location, info = postgres_database(args)
        else:
            raise SystemExit(f"unknown engine {engine!r}")
        imported = run_phase("import", engine, location, home, args,
                             ["--listings", str(listings)])
        built = run_phase("build", engine, location, home, args, [])
        served = run_phase("serve", engine, location, home, args,
                           ["--queries-file", str(queries_file)])
        results["engines"][engine] = {
            **{k: v for k, v in info.items() if k != "admin"},
            "import": imported, "build": built, "serve": served,
            "import_to_searchable_s": round(imported["seconds"] + built["seconds"], 1),
            "disk_mb": disk_mb(engine, location, home)}
    print_table(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def print_table(results: dict[str, Any]) -> None:
    engines = results["engines"]
    rows = [
        ("engine", lambda e: e["server"]),
        ("import (s)", lambda e: e["import"]["seconds"]),
        ("import (listings/s)", lambda e: e["import"]["listings_per_s"]),
        ("build (s)", lambda e: e["build"]["seconds"]),
        ("  normalize / dedup / index (s)", lambda e: " / ".join(
            str(e["build"]["stages"].get(s, "-")) for s in ("normalize", "dedup", "index"))),
        ("import to searchable (s)", lambda e: e["import_to_searchable_s"]),
        ("peak RSS import / build / serve (MB)", lambda e: " / ".join(
            str(e[p]["peak_rss_mb"]) for p in ("import", "build", "serve"))),
        ("search p50 / p99 (ms)", lambda e: f"{e['serve']['search_p50_ms']} / "
                                            f"{e['serve']['search_p99_ms']}"),
        ("entity API p50 / p99 (ms)", lambda e: f"{e['serve']['entity_p50_ms']} / "
                                                f"{e['serve']['entity_p99_ms']}"),
        ("catalog + embedded index on disk (MB)", lambda e: e["disk_mb"]),
    ]
    print(f"\n{results['shops']} shops, {results['listings']} listings")
    print("| | " + " | ".join(engines) + " |")
    print("|---" * (len(engines) + 1) + "|")
    for label, value in rows:
        print(f"| {label} | " + " | ".join(str(value(e)) for e in engines.values()) + " |")


if __name__ == "__main__":
    main()
