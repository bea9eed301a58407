"""Overlap figures from the matcher's clusters beside the same figures from the truth.

The replicas' listings of a world are normalized and linked; the overlap report
is computed twice from the same listings, once with the matcher's entities and
once with the truth's, so the error of every overlap figure is visible.

    .venv/bin/python benchmarks/overlap.py [--shops 1500] [--seed 42]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.features import listing_key  # noqa: E402
from dedup.linker import link  # noqa: E402
from dedup.overlap import Membership, compute_overlap  # noqa: E402
from dedup.settings import load_settings  # noqa: E402
from normalizer import normalize_listing  # noqa: E402
from replicas.truth import expected_listings, truth_rows  # noqa: E402

PLATFORMS = ("tout_toulouse", "toulouse_boutiques", "clickandco", "dansmazone", "geolocal31",
             "mavillemonshopping")


def memberships(cleans: dict[str, object], entity_of: dict[str, str]) -> list[Membership]:
    out = []
    for key, c in cleans.items():
        if c.kind == "shop":
            out.append(Membership("shop", c.source, c.source_id, entity_of[key],
                                  commune=c.city, category=(c.categories or (None,))[0],
                                  phone=c.phone, address_key=c.address_key,
                                  opening_hours=c.opening_hours))
        elif c.shop_source_id:
            shop_key = listing_key(c.source, c.shop_source_id)
            shop = cleans.get(shop_key)
            out.append(Membership("offer", c.source, c.source_id, entity_of[key],
                                  shop_entity_id=entity_of.get(shop_key),
                                  commune=shop.city if shop else None, category=c.category,
                                  price_cents=c.price_cents))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shops", type=int, default=1500)
    args = parser.parse_args()
    listings = list(expected_listings(args.seed, args.shops))
    cleans = {listing_key(x["source"], x["source_id"]): normalize_listing(x) for x in listings}
    result = link(list(cleans.values()), load_settings())
    truth = {listing_key(s, i): e for _, s, i, e in truth_rows(args.seed, args.shops)}
    matcher = compute_overlap(memberships(cleans, result.membership), platforms=PLATFORMS)
    true = compute_overlap(memberships(cleans, truth), platforms=PLATFORMS)
    print(f"world seed {args.seed}, {args.shops} shops: matcher | truth")
    print(f"distinct shops {matcher.total_shops} | {true.total_shops}; offers "
          f"{matcher.total_offers} | {true.total_offers}; shops on 2+ platforms "
          f"{matcher.multi_platform_shops} | {true.multi_platform_shops}")
    print(f"{'platform':<20}{'shops':>14}{'offers':>16}{'exclusive':>14}{'shared':>14}")
    for m, t in zip(matcher.platforms, true.platforms, strict=True):
        print(f"{m.platform:<20}{m.shops:>6} | {t.shops:<6}{m.offers:>7} | {t.offers:<7}"
              f"{m.exclusive_shops:>6} | {t.exclusive_shops:<6}{m.shared_shops:>6} | "
              f"{t.shared_shops:<6}")
    worst = max(((abs(m.jaccard - t.jaccard), m.platform_a, m.platform_b, m.jaccard, t.jaccard)
                 for m, t in zip(matcher.pairs_shops, true.pairs_shops, strict=True)),
                default=None)
    if worst:
        print(f"largest Jaccard error (shops): {worst[1]}/{worst[2]} "
              f"{worst[3]:.4f} | {worst[4]:.4f}")
    diffs = sum(abs(matcher.intersections_shops.get(k, 0) - v)
                for k, v in true.intersections_shops.items())
    print(f"shops placed in a wrong platform intersection: {diffs // 2} "
          f"(sum of |matcher - truth| over {len(true.intersections_shops)} intersections, "
          f"halved)")


if __name__ == "__main__":
    main()
