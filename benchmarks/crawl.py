"""Crawl rate: Agora's crawlers against a plain concurrent httpx client, same URLs.

Starts the replicas of a world (default 1,500 shops, faults off) on free
ports, crawls every source with `agora crawl` into a fresh AGORA_HOME, then
fetches exactly the URLs the crawlers asked (read from the replicas' request
logs) with a bare httpx client at the same total concurrency, no parsing, no
politeness. Prints listings/s and pages/s for each, and the ratio.

    .venv/bin/python benchmarks/crawl.py [--shops 1500] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawlers.config import load_sources  # noqa: E402
from replicas.server import ReplicaCluster  # noqa: E402


def plain_fetch(urls: list[str], concurrency: int, headers: dict[str, str]) -> float:
    """Seconds a bare client takes to GET every URL (no parsing)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, timeout=30, headers=headers) as client:
        def get(url: str) -> int:
            return client.get(url).status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(pool.map(get, urls))
        elapsed = time.perf_counter() - t0
    bad = sum(1 for s in statuses if s >= 400 and s != 429)
    if bad:
        print(f"  (plain client: {bad} answers >= 400)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with ReplicaCluster(args.seed, args.shops, ports={}) as cluster, \
            tempfile.TemporaryDirectory() as home:
        env = {**os.environ, **cluster.env(), "AGORA_HOME": home}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "agora.cli", "crawl", "--json"], env=env,
                              cwd=ROOT, capture_output=True, text=True, check=False)
        crawl_s = time.perf_counter() - t0
        reports = json.loads(proc.stdout)
        listings = sum(r["listings"] for r in reports)
        pages = sum(r["pages"] for r in reports)
        requests = {key: list(p.requests) for key, p in cluster.platforms.items()}
        print(f"world seed {args.seed}, {args.shops} shops, faults off")
        print(f"{'source':<20}{'status':>10}{'listings':>10}{'requests':>10}{'seconds':>9}")
        for r in reports:
            print(f"{r['source']:<20}{r['status']:>10}{r['listings']:>10}"
                  f"{len(requests[r['source']]):>10}{r['duration_s']:>9.1f}")
        total_requests = sum(len(v) for v in requests.values())
        print(f"agora crawl: {listings:,} listings, {total_requests:,} requests in "
              f"{crawl_s:.1f}s wall -> {listings / crawl_s:,.0f} listings/s, "
              f"{total_requests / crawl_s:,.0f} requests/s")
        configs = load_sources()
        concurrency = sum(configs[k].concurrency for k in requests if k in configs)
        urls = [cluster.urls[k] + path for k, paths in requests.items() for path in paths]
        token = os.environ.get("TOUT_TOULOUSE_TOKEN", "replica-demo-token")
        for platform in cluster.platforms.values():  # the plain client is not rate limited
            if hasattr(platform, "rate_limit"):
                platform.rate_limit = 0
        plain_s = plain_fetch(urls, concurrency, {"Authorization": f"Bearer {token}"})
        print(f"plain httpx ({concurrency} connections, same {len(urls):,} URLs, rate limit "
              f"off): {plain_s:.1f}s -> {len(urls) / plain_s:,.0f} requests/s, "
              f"{listings / plain_s:,.0f} listings/s equivalent")
        print(f"ratio agora/plain (requests/s): {plain_s / crawl_s:.2f}")
        print(f"(Click'n Co's replica allows 20 requests/s, as its API announces: the crawl "
              f"honours it, the plain client does not; pages counted by the catalog: {pages:,})")


if __name__ == "__main__":
    main()
