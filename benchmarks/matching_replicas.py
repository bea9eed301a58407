"""Matching quality and speed on the replicas' truth.

Quality: the listings every replica platform serves for a world (as a perfect
crawler gets them), normalized and linked by `dedup.linker.link` with
config/matching.yaml; pairwise precision, recall and F1 against the truth, for
shops and for offers.

Speed: the same for a large world (``--speed N`` listings, default 200,000):
normalize and link time, listings/s, candidate pairs against n²/2, peak memory.

Incremental: a full build in a catalog, then 1% of the listings changed (an
epoch later, cut to 1%) and linked incrementally; both times and the F1 of each.

    .venv/bin/python benchmarks/matching_replicas.py [--shops 1500] [--speed 200000]
        [--incremental]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.evaluation import pairwise_scores  # noqa: E402
from dedup.features import listing_key  # noqa: E402
from dedup.linker import link  # noqa: E402
from dedup.settings import load_settings  # noqa: E402
from normalizer import normalize_listing  # noqa: E402
from replicas.truth import expected_listings, truth_rows  # noqa: E402


def world_listings(seed: int, shops: int, epoch: int = 0, offers_per_shop: int = 8,
                   noise: str = "default") -> tuple[list[dict], dict[str, str], dict[str, str]]:
    listings = list(expected_listings(seed, shops, epoch, offers_per_shop, noise=noise))
    truth_shop, truth_offer = {}, {}
    for kind, source, source_id, entity in truth_rows(seed, shops, epoch, offers_per_shop,
                                                      noise=noise):
        (truth_shop if kind == "shop" else truth_offer)[listing_key(source, source_id)] = entity
    return listings, truth_shop, truth_offer


def quality(seed: int, shops: int) -> dict[str, float]:
    listings, truth_shop, truth_offer = world_listings(seed, shops)
    t0 = time.perf_counter()
    cleans = [normalize_listing(item) for item in listings]
    t1 = time.perf_counter()
    result = link(cleans, load_settings())
    t2 = time.perf_counter()
    shops_s = pairwise_scores(result.membership, truth_shop)
    offers_s = pairwise_scores(result.membership, truth_offer)
    stats = result.stats()
    print(f"world seed {seed}, {shops} shops: {len(listings):,} listings "
          f"({len(truth_shop):,} shop, {len(truth_offer):,} product listings)")
    print(f"  normalize {t1 - t0:.2f}s, link {t2 - t1:.2f}s")
    print(f"  shops : {shops_s.line()}")
    print(f"  offers: {offers_s.line()}")
    print(f"  entities: {stats['entities']}, candidate pairs {stats['candidate_pairs']}, "
          f"review pairs {stats['review_pairs']}")
    return {"shops_f1": shops_s.f1, "offers_f1": offers_s.f1}


def speed(target: int, seed: int = 11) -> None:
    shops = max(100, int(target / 9.5))
    listings, truth_shop, truth_offer = world_listings(seed, shops)
    listings = listings[:target]
    print(f"speed: {len(listings):,} listings from a world of {shops:,} shops")
    t0 = time.perf_counter()
    cleans = [normalize_listing(item) for item in listings]
    t1 = time.perf_counter()
    result = link(cleans, load_settings())
    t2 = time.perf_counter()
    stats = result.stats()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t2 - t0
    print(f"  normalize {t1 - t0:.1f}s ({len(listings) / (t1 - t0):,.0f} listings/s), "
          f"link {t2 - t1:.1f}s, total {total:.1f}s ({len(listings) / total:,.0f} listings/s)")
    for kind in ("shop", "offer", "product"):
        if stats["listings"].get(kind):
            print(f"  {kind}: {stats['listings'][kind]:,} listings, candidate pairs "
                  f"{stats['candidate_pairs'][kind]:,} of {stats['all_pairs'][kind]:,} "
                  f"(reduction ratio {stats['reduction_ratio'][kind]:.6f})")
    print(f"  timings {stats['timings_s']}")
    print(f"  peak memory {peak_mb:,.0f} MB")
    keys = [k for k in truth_shop if k in result.membership]
    print(f"  shops: {pairwise_scores(result.membership, truth_shop, keys).line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--speed", type=int, default=0, help="listings for the speed run")
    parser.add_argument("--incremental", action="store_true")
    args = parser.parse_args()
    quality(args.seed, args.shops)
    if args.speed:
        speed(args.speed)
    if args.incremental:
        from benchmarks.incremental import run as run_incremental  # noqa: PLC0415

        run_incremental(args.seed, args.shops)


if __name__ == "__main__":
    main()
