"""What one rate-limit hit costs on the catalog's shared counters, beside limits' in-process
memory storage, and what that means for the requests per second one SQLite file can count.

Each storage spends hits of the sliding window counter (Flask-Limiter's strategy here) for
50 clients in turn; rounds are interleaved and the best round of each is kept, since the
machine may be shared. Nothing is asserted.

    .venv/bin/python benchmarks/ratelimit.py [--hits 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from limits import parse  # noqa: E402
from limits.storage import storage_from_string  # noqa: E402
from limits.strategies import SlidingWindowCounterRateLimiter  # noqa: E402

from catalog.ratelimit import SCHEME  # noqa: E402 - importing it registers the scheme
from catalog.store import Catalog  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "catalog.sqlite"
    Catalog.open(path).close()
    stores = {"catalog (SQLite)": storage_from_string(f"{SCHEME}://", catalog=str(path)),
              "memory": storage_from_string("memory://")}
    item, best = parse("1000000/day"), {}
    for _ in range(args.rounds):
        for name, store in stores.items():
            limiter = SlidingWindowCounterRateLimiter(store)
            started = time.perf_counter()
            for i in range(args.hits):
                limiter.hit(item, f"10.0.{i % 50}.1", "api")
            seconds = (time.perf_counter() - started) / args.hits
            best[name] = min(best.get(name, seconds), seconds)
    for name, seconds in best.items():
        print(f"{name:17s} {seconds * 1e6:8.1f} µs per hit  ({1 / seconds:8.0f} hits/s)")
    catalog, memory = best["catalog (SQLite)"], best["memory"]
    print(f"catalog / memory: x{catalog / memory:.1f}; one SQLite file counts at most about "
          f"{1 / catalog:.0f} requests/s for all its workers together")


if __name__ == "__main__":
    main()
