"""A national-size Agora on PostgreSQL + Elasticsearch, beside SQLite + the embedded index.

The world (``benchmarks/national_world.py``): the replicas' generator, run once per
territory (twelve cities from Toulouse to Strasbourg, with their real communes and
postcodes), three platforms per territory and three national providers serving all
of them, about ``--listings`` listings in all (default 1,000,000), written once as
JSON Lines, one file per source (cached in the work folder).

For each path (``postgresql``: a PostgreSQL catalog and an Elasticsearch index;
``sqlite``: the SQLite catalog and the embedded Tantivy index), each phase runs in a
process of its own, so that its peak memory (``ru_maxrss``) is its own:

1. **ingest**: every source's listings through the crawl sink (``CatalogSink.write``,
   pages of 500, ``COPY`` on PostgreSQL), one run per source, as a crawl stores them.
   Crawling the replicas over HTTP is left out: at a million listings it is the
   crawl benchmark's business (benchmarks/crawl.py), not the catalog's;
2. **build**: ``agora.pipeline.build`` in full: normalize, dedup (link), index
   (bulk into Elasticsearch, or the embedded index);
3. **searchable**: the last shop ingested is searched for until a hit holds it;
4. **search**: a mix of ``--queries`` queries (shop names, products with a commune,
   trades with a commune, filters without text; every query asks for all facets):
   the first 300 asked once each (nothing cached yet: the embedded index keeps each
   query's counts), then the mix in turn by 1 client and by ``--clients`` concurrent
   clients, ``--seconds`` each: p50 / p99.

*Crawl to searchable* is ingest + build + the wait in 3. The servers are the test
suite's (tests/postgres_server.py: ``initdb`` + ``pg_ctl`` in a temporary folder;
tests/search_node.py: one Elasticsearch node, 512 MB heap), stopped at the end; a
thread samples their resident memory every half second (PostgreSQL: every process
of the server's private memory, plus its shared memory once). The SQLite path is
skipped above ``--sqlite-max`` listings (the reason is printed). Timings on a shared
machine are noisy: compare the paths within one run.

    .venv/bin/python benchmarks/national.py [--listings 1000000] [--paths postgresql,sqlite]
        [--sqlite-max N] [--clients 8] [--seconds 20] [--queries 400] [--work DIR]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from benchmarks.national_world import (  # noqa: E402
    TERRITORIES,
    WorldFiles,
    territories_config,
    write_world,
)

TERRITORIES_FILE = "territories.yaml"  # in the work folder, beside the paths' homes
PAGE = 500  # listings per sink write, as agora.importing writes them
TRADE_WORDS = {"boulangerie": "boulangerie", "boucherie": "boucherie",
               "fromagerie": "fromagerie", "caviste": "caviste", "epicerie_fine": "épicerie",
               "primeur": "primeur", "librairie": "librairie", "chocolatier": "chocolatier",
               "fleuriste": "fleuriste", "chaussures": "chaussures", "opticien": "opticien",
               "velo": "vélo", "bijouterie": "bijouterie", "cafe_the": "café"}
PATHS = ("postgresql", "sqlite")
FIRST_PASS = 300  # queries asked once each, before the timed runs


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


# --------------------------------------------------------------------------- queries
def query_mix(world: WorldFiles, n: int, seed: int) -> list[dict[str, Any]]:
    """What shoppers ask, from the world's own shop names, product titles and communes."""
    rng = random.Random(seed)
    names: list[str] = []
    cities: list[str] = []
    titles: list[str] = []
    for source in sorted(world.counts):
        for i, item in enumerate(read_jsonl(world.path(source))):
            if item["kind"] == "shop":
                names.append(str(item.get("name") or ""))
                if item.get("city") and not str(item["city"]).isupper():
                    cities.append(str(item["city"]))
            elif item.get("title") and i % 10 == 0:
                titles.append(str(item["title"]))
    trades = sorted(TRADE_WORDS)
    queries: list[dict[str, Any]] = []
    while len(queries) < n:
        roll = rng.random()
        city = rng.choice(cities)
        trade = rng.choice(trades)
        if roll < 0.30:  # part of a shop's name
            words = [w for w in rng.choice(names).replace("'", " ").split() if len(w) > 2]
            query = {"text": " ".join(words[-2:])}
        elif roll < 0.50:  # a product and a commune
            words = [w for w in rng.choice(titles).split() if len(w) > 2]
            query = {"text": " ".join(words[:2] + [city])}
        elif roll < 0.70:  # a trade and a commune
            query = {"text": f"{TRADE_WORDS[trade]} {city}"}
        elif roll < 0.85:  # facets only: a trade in a commune
            query = {"text": "", "filters": [["category", [trade]], ["commune", [city]]]}
        else:  # a trade word, filtered to a commune
            query = {"text": TRADE_WORDS[trade], "filters": [["commune", [city]]]}
        if query["text"].strip() or query.get("filters"):
            queries.append(query)
    return queries


def to_search_query(spec: dict[str, Any]) -> Any:
    from catalog.backends.base import SearchQuery  # noqa: PLC0415

    filters = tuple((key, tuple(values)) for key, values in spec.get("filters") or ())
    return SearchQuery(text=spec.get("text", ""), filters=filters)


# --------------------------------------------------------------------------- phases
def phase_ingest(location: str, folder: Path) -> dict[str, Any]:
    """Every source's file through the crawl sink, one run per source."""
    from catalog.store import Catalog  # noqa: PLC0415
    from crawlers.listing import PageResult  # noqa: PLC0415
    from crawlers.sink import CatalogSink  # noqa: PLC0415

    world = write_world(folder, 0)  # the manifest is there: the world is only read
    t0 = time.perf_counter()
    written = 0
    errors = 0
    probe: dict[str, Any] = {}
    with Catalog.open(location) as catalog:
        for source in sorted(world.counts):
            run_id = catalog.begin_run(source, kind="crawl", mode="full")
            sink = CatalogSink(catalog, run_id, source)
            page: list[dict[str, Any]] = []
            pages = 0
            for item in read_jsonl(world.path(source)):
                page.append(item)
                if item["kind"] == "shop":
                    probe = item
                if len(page) == PAGE:
                    pages += 1
                    sink.write(PageResult(url=f"https://{source}.example/page/{pages}",
                                          listings=page))
                    written += len(page)
                    page = []
            if page:
                sink.write(PageResult(url=f"https://{source}.example/page/{pages + 1}",
                                      listings=page))
                written += len(page)
            sink.finish()
            errors += sum(sink.errors.values())
        stored = catalog.count_listings()
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 1), "written": written, "listings": stored,
            "errors": errors, "listings_per_s": round(stored / max(seconds, 1e-9)),
            "probe": {k: probe.get(k) for k in ("source", "source_id", "name", "city")},
            "peak_rss_mb": peak_rss_mb()}


def phase_build(location: str) -> dict[str, Any]:
    """The full build: normalize, dedup, index into the configured backend."""
    from agora.pipeline import build  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    t0 = time.perf_counter()
    with Catalog.open(location) as catalog:
        report = build(catalog, mode="full")
        entities = catalog.entities.counts()
    index = report.stage("index")
    return {"seconds": round(time.perf_counter() - t0, 1), "entities": entities,
            "documents": index.figures.get("documents") if index else None,
            "backend": index.figures.get("backend") if index else None,
            "stages": {s.name: round(s.seconds, 1) for s in report.stages},
            "peak_rss_mb": peak_rss_mb()}


def _holds(hit: Any, source: str, source_id: str) -> bool:
    return any(s.get("source") == source and s.get("source_id") == source_id
               for s in hit.document.get("sources") or [])


def phase_search(location: str, probe: dict[str, Any], queries: list[dict[str, Any]],
                 clients: int, seconds: float) -> dict[str, Any]:
    """Wait until the probe is found, then the query mix by 1 and ``clients`` clients."""
    from agora import settings  # noqa: PLC0415
    from catalog.backends.base import SearchQuery  # noqa: PLC0415

    backend = settings.open_search_backend(location)
    try:
        t0 = time.perf_counter()
        found = False
        ask = SearchQuery(text=f"{probe['name']} {probe.get('city') or ''}".strip(),
                          kinds=("shop",), filters=(("platform", (probe["source"],)),),
                          per_page=50, facets=(), highlight=False)
        while not found and time.perf_counter() - t0 < 120:
            found = any(_holds(h, probe["source"], probe["source_id"])
                        for h in backend.search(ask).hits)
            if not found:
                time.sleep(0.2)
        waited = time.perf_counter() - t0
        documents = searchable_documents(backend)
        mix = [to_search_query(q) for q in queries]
        # each query once (no answer or count cached yet), which also warms the engine up
        runs = {"once": load(backend, mix[:FIRST_PASS], 1, None)}
        for n in sorted({1, clients}):
            runs[str(n)] = load(backend, mix, n, seconds)
    finally:
        backend.close()
    return {"probe_found": found, "probe_wait_s": round(waited, 2),
            "documents": documents, "engine": backend.name,
            "runs": runs, "peak_rss_mb": peak_rss_mb()}


def searchable_documents(backend: Any) -> int:
    """Documents in the live index (Elasticsearch: counted by the cluster)."""
    status = backend.status()
    if "documents" in status:
        return int(status["documents"] or 0)
    return int(backend.adapter.client.count(index=status["index"])["count"])


def load(backend: Any, queries: list[Any], clients: int,
         seconds: float | None) -> dict[str, Any]:
    """``clients`` threads asking the mix in turn for ``seconds`` (None: one pass over
    it): latency and errors."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    zero = [0] * clients
    kinds: set[str] = set()
    deadline = time.perf_counter() + seconds if seconds is not None else None
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        i = k * 37
        start.wait()
        while (time.perf_counter() < deadline if deadline is not None
               else i < len(queries)):
            q = queries[i % len(queries)]
            i += 1
            t = time.perf_counter()
            try:
                zero[k] += backend.search(q).total == 0
            except Exception as exc:  # counted, and the first kinds shown
                errors[k] += 1
                if len(kinds) < 3:
                    kinds.add(f"{type(exc).__name__}: {str(exc)[:160]}")
            latencies[k].append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    flat = [x for lat in latencies for x in lat]
    return {"queries": len(flat), "errors": sum(errors), "error_kinds": sorted(kinds),
            "no_hits": sum(zero),
            "p50_ms": percentile(flat, 0.5), "p99_ms": percentile(flat, 0.99),
            "qps": round(len(flat) / max(wall, 1e-9), 1)}


# --------------------------------------------------------------------------- servers' memory
def _status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if value.strip().endswith("kB"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, ()))
    return out


class MemorySampler:
    """Peak resident memory of server process trees, sampled every ``interval`` s."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        self.roots = roots
        self.interval = interval
        self.peak_mb: dict[str, float] = dict.fromkeys(roots, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        for name, root in self.roots.items():
            private = shared = 0
            for pid in _tree(root):
                status = _status_kb(pid)
                private += status.get("RssAnon", 0)
                shared = max(shared, status.get("RssFile", 0) + status.get("RssShmem", 0))
            self.peak_mb[name] = max(self.peak_mb[name], round((private + shared) / 1024, 1))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


# --------------------------------------------------------------------------- orchestration
@dataclass
class Setup:
    """One path's catalog location and the environment its phases run in."""

    name: str
    location: str
    env: dict[str, str]
    server: str


def run_phase(phase: str, path: Setup, extra: list[str]) -> dict[str, Any]:
    """One phase in a process of its own: its time and its peak memory alone."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase,
           "--location", path.location, *extra]
    done = subprocess.run(cmd, env=path.env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{path.name} {phase} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    shown = {k: v for k, v in result.items() if k not in ("probe", "runs")}
    print(f"  {path.name:<10} {phase:<7} {json.dumps(shown, ensure_ascii=False)}", flush=True)
    return result


def run_path(path: Setup, world: WorldFiles, queries_file: Path,
             args: argparse.Namespace) -> dict[str, Any]:
    ingest = run_phase("ingest", path, ["--world", str(world.folder)])
    build = run_phase("build", path, [])
    probe_file = queries_file.with_name(f"probe-{path.name}.json")
    probe_file.write_text(json.dumps(ingest["probe"], ensure_ascii=False))
    search = run_phase("search", path, ["--queries-file", str(queries_file),
                                        "--probe-file", str(probe_file),
                                        "--clients", str(args.clients),
                                        "--seconds", str(args.seconds)])
    return {"server": path.server, "ingest": ingest, "build": build, "search": search,
            "crawl_to_searchable_s": round(ingest["seconds"] + build["seconds"]
                                           + search["probe_wait_s"], 1)}


def base_env(home: Path) -> dict[str, str]:
    """The phases' environment: AGORA_HOME, the national world's territories file."""
    env = dict(os.environ, AGORA_HOME=str(home),
               AGORA_TERRITORIES_FILE=str(home.parent / TERRITORIES_FILE))
    for key in ("AGORA_CATALOG_URL", "AGORA_CATALOG", "AGORA_ELASTICSEARCH_URL",
                "AGORA_ELASTICSEARCH_INDEX", "AGORA_TERRITORIES"):
        env.pop(key, None)
    return env


def postgresql_path(work: Path, args: argparse.Namespace,
                    stack: list[Callable[[], None]]) -> tuple[Setup, dict[str, int]]:
    """A PostgreSQL database and an Elasticsearch index: on the servers given, else on
    throw-away ones started by the test suite's starters (their memory is sampled)."""
    from tests.postgres_server import PostgresServer, launch  # noqa: PLC0415
    from tests.search_node import SearchNodePool, describe  # noqa: PLC0415

    roots: dict[str, int] = {}
    if args.postgres_url:
        pg = PostgresServer(url=args.postgres_url)
        pg.version = describe_postgres(pg.url)
    else:
        pg = launch()
        assert pg.data_dir is not None
        roots["postgresql"] = postmaster_pid(pg.data_dir)
    url = pg.create_database(f"agora_national_{uuid.uuid4().hex[:8]}")
    stack.append(lambda: pg.drop_database(url))
    if args.elasticsearch_url:
        es = describe(args.elasticsearch_url)
    else:
        os.environ["AGORA_SEARCH_NODE_HEAP"] = args.search_heap  # read when the node starts
        pool = SearchNodePool()
        stack.append(pool.close)
        os.environ.pop("AGORA_ELASTICSEARCH_URL", None)  # the pool would take it as given
        es = pool.get("elasticsearch")
        proc = pool.nodes["elasticsearch"].proc
        assert proc is not None
        roots["elasticsearch"] = proc.pid
    prefix = f"agora-national-{uuid.uuid4().hex[:8]}"
    stack.append(lambda: drop_indices(es, prefix))
    home = work / "home-postgresql"
    home.mkdir(exist_ok=True)
    env = base_env(home)
    env.update(AGORA_CATALOG_URL=url, AGORA_ELASTICSEARCH_URL=es.url,
               AGORA_ELASTICSEARCH_INDEX=prefix)
    return Setup("postgresql", url, env, f"PostgreSQL {pg.version} + {es.engine} {es.version}"), roots


def describe_postgres(url: str) -> str:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def drop_indices(server: Any, prefix: str) -> None:
    """The benchmark's indices off a server it did not start (one by name: ES refuses
    wildcards in deletes)."""
    client = server.client()
    try:
        for name in client.indices.get(index=f"{prefix}*"):
            client.indices.delete(index=name)
    finally:
        client.close()


def sqlite_path(work: Path) -> Setup:
    import sqlite3  # noqa: PLC0415

    import tantivy  # noqa: PLC0415

    from catalog.store import CATALOG_FILE  # noqa: PLC0415

    home = work / "home-sqlite"
    if home.exists():
        import shutil  # noqa: PLC0415

        shutil.rmtree(home)
    home.mkdir()
    return Setup("sqlite", str(home / CATALOG_FILE), base_env(home),
                 f"SQLite {sqlite3.sqlite_version} + tantivy {tantivy.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=1_000_000,
                        help="About this many listings in all (default 1,000,000).")
    parser.add_argument("--territories", type=int, default=len(TERRITORIES),
                        help=f"The first N territories (at most {len(TERRITORIES)}).")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--sqlite-max", type=int, default=None,
                        help="Skip the SQLite path above this many listings.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgres-url", default=os.environ.get("AGORA_POSTGRES_URL"),
                        help="A server to use (a user that may create databases); default: "
                             "a throw-away one, its memory sampled.")
    parser.add_argument("--elasticsearch-url",
                        default=os.environ.get("AGORA_ELASTICSEARCH_URL"),
                        help="An Elasticsearch to use; default: a throw-away node.")
    parser.add_argument("--search-heap", default="2g",
                        help="Heap of the throw-away Elasticsearch node (the tests' is "
                             "512m; a national index wants more, as a deployment gives it).")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="Write the figures as JSON.")
    parser.add_argument("--phase", choices=("ingest", "build", "search"), help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:  # a child: one phase, its figures as the last line
        if args.phase == "ingest":
            result = phase_ingest(args.location, args.world)
        elif args.phase == "build":
            result = phase_build(args.location)
        else:
            result = phase_search(args.location, json.loads(args.probe_file.read_text()),
                                  json.loads(args.queries_file.read_text()), args.clients,
                                  args.seconds)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    territories = TERRITORIES[:max(1, min(args.territories, len(TERRITORIES)))]
    work = args.work or Path(tempfile.mkdtemp(prefix="agora-bench-national-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world = write_world(work / f"world-{args.seed}-{len(territories)}-{args.listings}",
                        args.listings, territories, args.seed)
    generated = round(time.perf_counter() - t0, 1)
    (work / TERRITORIES_FILE).write_text(
        yaml.safe_dump(territories_config(territories), allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    queries_file = work / "queries.json"
    queries_file.write_text(json.dumps(query_mix(world, args.queries, args.seed),
                                       ensure_ascii=False))
    print(f"world: {len(territories)} territories, {len(world.counts)} sources, "
          f"{world.total:,} listings ({generated}s to generate or reuse); work folder {work}",
          flush=True)
    results: dict[str, Any] = {
        "listings": world.total, "territories": [t.key for t in territories],
        "sources": world.counts, "generate_s": generated, "clients": args.clients,
        "seconds": args.seconds, "cpus": os.cpu_count(), "paths": {}, "skipped": {},
        "servers_peak_rss_mb": {}}
    stack: list[Callable[[], None]] = []
    try:
        for name in args.paths.split(","):
            if name == "postgresql":
                path, roots = postgresql_path(work, args, stack)
                with MemorySampler(roots) as sampler:
                    results["paths"][name] = run_path(path, world, queries_file, args)
                results["servers_peak_rss_mb"] = sampler.peak_mb
            elif name == "sqlite":
                if args.sqlite_max is not None and world.total > args.sqlite_max:
                    results["skipped"][name] = (
                        f"{world.total:,} listings > --sqlite-max {args.sqlite_max:,}: the "
                        f"SQLite path was left out to bound the run's time")
                    print(f"  sqlite     skipped: {results['skipped'][name]}", flush=True)
                    continue
                results["paths"][name] = run_path(sqlite_path(work), world, queries_file, args)
            else:
                raise SystemExit(f"unknown path {name!r} (known: {', '.join(PATHS)})")
    finally:
        for undo in reversed(stack):
            undo()
    results["load_average"] = round(os.getloadavg()[0], 1)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def print_table(results: dict[str, Any]) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    paths = results["paths"]
    servers = results["servers_peak_rss_mb"]
    n = results["clients"]

    def run(e: dict[str, Any], k: int | str) -> str:
        r = e["search"]["runs"].get(str(k))
        if not r:
            return "-"
        empty = round(100 * r["no_hits"] / max(1, r["queries"]))
        return (f"{r['p50_ms']} / {r['p99_ms']} ({r['qps']} q/s, {r['errors']} errors, "
                f"{empty}% no hit)")

    rows = [
        ("catalog + search index", lambda e: e["server"]),
        ("listings ingested / stored", lambda e: f"{e['ingest']['written']:,} / "
                                                 f"{e['ingest']['listings']:,}"),
        ("ingest (s)", lambda e: e["ingest"]["seconds"]),
        ("ingest (listings/s)", lambda e: f"{e['ingest']['listings_per_s']:,}"),
        ("build (s)", lambda e: e["build"]["seconds"]),
        ("  normalize / dedup / index (s)", lambda e: " / ".join(
            str(e["build"]["stages"].get(s, "-")) for s in ("normalize", "dedup", "index"))),
        ("entities (shop / product / offer)", lambda e: " / ".join(
            f"{e['build']['entities'].get(k, 0):,}" for k in ("shop", "product", "offer"))),
        ("documents indexed / searchable", lambda e: f"{e['build']['documents']:,} / "
                                                     f"{e['search']['documents']:,}"),
        ("last listing searchable after (s)", lambda e: e["search"]["probe_wait_s"]
         if e["search"]["probe_found"] else "not found"),
        ("crawl to searchable (s)", lambda e: e["crawl_to_searchable_s"]),
        ("peak RSS ingest / build / search (MB)", lambda e: " / ".join(
            str(e[p]["peak_rss_mb"]) for p in ("ingest", "build", "search"))),
        ("search p50 / p99 (ms), each query once", lambda e: run(e, "once")),
        ("search p50 / p99 (ms), 1 client", lambda e: run(e, 1)),
        (f"search p50 / p99 (ms), {n} clients", lambda e: run(e, n)),
    ]
    table = Table(title=f"{results['listings']:,} listings, {len(results['territories'])} "
                        f"territories, {len(results['sources'])} sources; "
                        f"{results['cpus']} CPUs, load {results['load_average']}")
    table.add_column("")
    for name in paths:
        table.add_column(name, justify="right")
    for label, value in rows:
        table.add_row(label, *(str(value(e)) for e in paths.values()))
    console = Console(width=160)
    console.print(table)
    for name, peak in servers.items():
        console.print(f"peak RSS of the {name} server: {peak} MB")
    for name, e in paths.items():
        for k, r in e["search"]["runs"].items():
            for kind in r.get("error_kinds") or ():
                console.print(f"{name} search ({k}): error {kind}")
    for name, why in results["skipped"].items():
        console.print(f"{name}: skipped ({why})")


if __name__ == "__main__":
    sys.exit(main())
