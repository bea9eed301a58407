"""Incremental linking against a full rebuild, on the replicas' truth.

A catalog is built fully from a world's listings; then about 1% of the
listings change (taken from the same world one epoch later: new shops and
offers, closed ones, changed prices and phones) and are imported as a new
delivery of their sources. The incremental build links only what changed; a
full rebuild of the same catalog follows. Both times and both F1 are printed.

    .venv/bin/python benchmarks/incremental.py [--shops 1500] [--share 0.01]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from catalog.store import Catalog  # noqa: E402
from dedup.evaluation import pairwise_scores  # noqa: E402
from dedup.features import listing_key  # noqa: E402
from replicas.truth import expected_listings, truth_rows  # noqa: E402


def _truth(seed: int, shops: int, epoch: int) -> tuple[dict[str, str], dict[str, str]]:
    shop, offer = {}, {}
    for kind, source, source_id, entity in truth_rows(seed, shops, epoch):
        (shop if kind == "shop" else offer)[listing_key(source, source_id)] = entity
    return shop, offer


def _membership(catalog: Catalog) -> dict[str, str]:
    return catalog.entities.membership()


def _write(path: Path, listings: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for item in listings:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


def _prepare(seed: int, shops: int, share: float, tmp: Path,
             ) -> tuple[dict[str, str], dict[str, str], int, int]:
    """Write epoch 0 and the mixed delivery to ``tmp``; (shop truth, offer truth, listings,
    changed). The worlds are dropped on return: the builds are timed in a process that
    holds only what scoring needs, as ``agora build`` would (a few million listing
    objects kept alive would make every full garbage collection of the builds walk them)."""
    before = {listing_key(x["source"], x["source_id"]): x
              for x in expected_listings(seed, shops, 0)}
    after = {listing_key(x["source"], x["source_id"]): x
             for x in expected_listings(seed, shops, 1)}
    changes = sorted(k for k in before.keys() | after.keys()
                     if before.get(k) != after.get(k))
    rng = random.Random(seed)
    budget = max(1, int(len(before) * share))
    picked = set(rng.sample(changes, min(budget, len(changes))))
    mixed = dict(before)
    for key in picked:
        if key in after:
            mixed[key] = after[key]
        else:
            mixed.pop(key, None)
    t0s, t0o = _truth(seed, shops, 0)
    t1s, t1o = _truth(seed, shops, 1)
    truth_shop = {k: v for k, v in {**t0s, **t1s}.items() if k in mixed}
    truth_offer = {k: v for k, v in {**t0o, **t1o}.items() if k in mixed}
    _write(tmp / "epoch0.jsonl", list(before.values()))
    _write(tmp / "mixed.jsonl", list(mixed.values()))
    return truth_shop, truth_offer, len(before), len(picked)


def _settle() -> None:
    """Free what the steps before left (cycles of the last build's objects), so that each
    build is timed as in a process of its own, not paying for the previous one's garbage."""
    gc.collect()


def run(seed: int = 42, shops: int = 1500, share: float = 0.01) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        truth_shop, truth_offer, listings, changed = _prepare(seed, shops, share, Path(tmp))
        first, second = Path(tmp) / "epoch0.jsonl", Path(tmp) / "mixed.jsonl"
        catalog_path = Path(tmp) / "catalog.sqlite"
        import_listings(first, catalog_path)
        with Catalog.open(catalog_path) as cat:
            _settle()
            t = time.perf_counter()
            build(cat, mode="full", index=False)
            first_full = time.perf_counter() - t
        import_listings(second, catalog_path)
        with Catalog.open(catalog_path) as cat:
            _settle()
            t = time.perf_counter()
            report = build(cat, mode="incremental", index=False)
            incremental = time.perf_counter() - t
            inc_member = _membership(cat)
            dedup = report.stage("dedup")
            _settle()
            t = time.perf_counter()
            build(cat, mode="full", index=False)
            full = time.perf_counter() - t
            full_member = _membership(cat)
    out = {}
    print(f"incremental vs full: {listings:,} listings, {changed} changed "
          f"({changed / listings:.1%}); first full build {first_full:.2f}s")
    for label, member in (("incremental", inc_member), ("full rebuild", full_member)):
        s = pairwise_scores(member, truth_shop)
        o = pairwise_scores(member, truth_offer)
        out[label] = (s.f1, o.f1)
        print(f"  {label:<12} shops F1 {s.f1:.4f}  offers F1 {o.f1:.4f}")
    relinked = dedup.figures.get("relinked") if dedup else None
    print(f"  build time (normalize + dedup): incremental {incremental:.2f}s "
          f"(relinked {relinked} listings), full {full:.2f}s, "
          f"speed-up x{full / incremental:.1f}")
    print(f"  F1 gap (full - incremental): shops {out['full rebuild'][0] - out['incremental'][0]:+.4f}"
          f", offers {out['full rebuild'][1] - out['incremental'][1]:+.4f}")
    return {"incremental_s": incremental, "full_s": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--share", type=float, default=0.01)
    args = parser.parse_args()
    run(args.seed, args.shops, args.share)


if __name__ == "__main__":
    main()
