"""Matching quality and speed on the replicas' truth, under both noise profiles.

Quality: the listings every replica platform serves for a world (as a perfect
crawler gets them), with the default noise and with ``--noise hard`` (the slips
real platforms have: see ``replicas/noise.py``), normalized and linked by
``dedup.linker.link`` with config/matching.yaml (the weights learned from the
listings by EM, nothing tuned on this truth); pairwise precision, recall and F1
against the truth for shops and for offers. Offers are also scored without the
listings whose platform does not name the seller (hard profile): when several
shops sell such an item it stays a product-level listing by design, which the
offers' truth counts as an error; the attachments made are counted right or
wrong against the truth.

Speed: a world of ``--speed N`` listings (default 200,000) written as JSON Lines
and read, normalized and linked in a child process, EM included: its time per
stage, the candidate pairs against n^2/2, the EM's iterations, and the child's
peak memory.

Incremental: a full build in a catalog, then 1% of the listings changed (an
epoch later, cut to 1%) and linked incrementally; both times and the F1 of each.

    .venv/bin/python benchmarks/matching_replicas.py [--shops 1500] [--seed 42]
        [--noise default|hard|both] [--speed 200000] [--incremental] [--sellerless-check]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.incremental import run as run_incremental  # noqa: E402
from dedup.evaluation import pairwise_scores  # noqa: E402
from dedup.features import listing_key  # noqa: E402
from dedup.linker import LinkResult, link  # noqa: E402
from dedup.settings import load_settings  # noqa: E402
from normalizer import normalize_listing  # noqa: E402
from replicas.truth import listings_and_truth  # noqa: E402


def world_listings(seed: int, shops: int, epoch: int = 0, offers_per_shop: int = 8,
                   noise: str = "default") -> tuple[list[dict], dict[str, str], dict[str, str]]:
    """A world's listings and its truth: listing key -> real shop, and -> real offer."""
    listings, rows = listings_and_truth(seed, shops, epoch, offers_per_shop, noise=noise)
    truth_shop, truth_offer = {}, {}
    for kind, source, source_id, entity in rows:
        (truth_shop if kind == "shop" else truth_offer)[listing_key(source, source_id)] = entity
    return listings, truth_shop, truth_offer


def product_level_line(membership: dict[str, str], truth_offer: dict[str, str],
                       product_members: set[str]) -> str:
    """Listings left product-level (no shop) scored against the product truth: an offer
    'offer:SHOP:PRODUCT' is that PRODUCT, whoever sells it."""
    keys = [k for k in truth_offer if k in product_members]
    if not keys:
        return ""
    product_truth = {k: truth_offer[k].rsplit(":", 1)[1] for k in keys}
    return (f"product-level listings ({len(keys):,}) against the product truth: "
            f"{pairwise_scores(membership, product_truth, keys).line()}")


def contract_truth(truth_offer: dict[str, str], sellerless: set[str]) -> dict[str, str]:
    """The offers' truth as the sellerless contract defines it (issue 11): a listing
    naming no seller is its shop's offer when that shop alone sells the item in the
    world; otherwise it is a product-level listing, one entity per item."""
    sellers: dict[str, set[str]] = {}
    for entity in truth_offer.values():
        _, shop, item = entity.split(":")
        sellers.setdefault(item, set()).add(shop)
    out = dict(truth_offer)
    for key in sellerless:
        item = truth_offer[key].split(":")[2]
        if len(sellers[item]) > 1:
            out[key] = "product:" + item
    return out


def sellerless_line(result: LinkResult, truth_shop: dict[str, str],
                    truth_offer: dict[str, str], sellerless: set[str]) -> str:
    """How many listings naming no seller were attached, how many rightly (against the
    world's truth), and how many the contract would attach (their item sold by one shop)."""
    shop_of_truth: dict[str | None, set[str]] = {}
    for key, entity in truth_shop.items():
        shop_of_truth.setdefault(result.membership.get(key), set()).add(entity)
    right = sum(1 for key, (shop, _) in result.attached.items()
                if "shop:" + truth_offer[key].split(":")[1] in shop_of_truth.get(shop, ()))
    contract = contract_truth(truth_offer, sellerless)
    attachable = sum(1 for key in sellerless if not contract[key].startswith("product:"))
    precision = f"precision {right / len(result.attached):.4f}" if result.attached else \
        "precision n/a"
    return (f"sellerless offers: {len(sellerless):,}; {len(result.attached):,} attached to a "
            f"shop, {right} to the right one ({precision}); {attachable} sold by one shop "
            "alone (the contract's attachable), the others product-level listings")


def _em_line(result: LinkResult) -> str:
    assert result.model is not None
    parts = []
    for kind, model in sorted(result.model.kinds.items()):
        fit = model.fit
        if fit.get("candidate_pairs"):
            parts.append(f"{kind}s {fit['iterations']} iterations, ~{fit['matches']:,.0f} "
                         f"matches among {fit['candidate_pairs']:,} candidate pairs")
    return "EM: " + "; ".join(parts)


def quality(seed: int, shops: int, noise: str) -> dict[str, float]:
    listings, truth_shop, truth_offer = world_listings(seed, shops, noise=noise)
    t0 = time.perf_counter()
    cleans = [normalize_listing(item) for item in listings]
    t1 = time.perf_counter()
    result = link(cleans, load_settings())
    t2 = time.perf_counter()
    shops_s = pairwise_scores(result.membership, truth_shop)
    offers_s = pairwise_scores(result.membership, truth_offer)
    sellerless = {listing_key(c.source, c.source_id) for c in cleans
                  if c.kind == "product" and not c.shop_source_id}
    named = pairwise_scores(result.membership, truth_offer,
                            [k for k in truth_offer if k not in sellerless])
    print(f"noise {noise}, world seed {seed}, {shops} shops: {len(listings):,} listings "
          f"({len(truth_shop):,} shop, {len(truth_offer):,} product listings); "
          f"normalize {t1 - t0:.1f}s, link {t2 - t1:.1f}s")
    print(f"  shops : {shops_s.line()}")
    print(f"  offers: {offers_s.line()}")
    if sellerless:
        print(f"  offers, listings naming their seller ({len(truth_offer) - len(sellerless):,}"
              f"): {named.line()}")
        print(f"  {sellerless_line(result, truth_shop, truth_offer, sellerless)}")
        contract = contract_truth(truth_offer, sellerless)
        print(f"  offers against the contract's truth (a sellerless offer is its shop's only "
              f"when that shop alone sells the item): "
              f"{pairwise_scores(result.membership, contract).line()}")
        members = {m for ms in result.clusters["product"].values() for m in ms}
        line = product_level_line(result.membership, truth_offer, members)
        if line:
            print(f"  {line}")
    stats = result.stats()
    print(f"  entities {stats['entities']}, candidate pairs {stats['candidate_pairs']}, "
          f"review pairs {stats['review_pairs']}")
    print(f"  {_em_line(result)}")
    return {"shops_f1": shops_s.f1, "offers_f1": offers_s.f1, "named_offers_f1": named.f1}


def sellerless_check(seed: int, shops: int, share: float = 0.3) -> None:
    """Attachment precision where the contract does attach: the hard world with a share
    of its items left to one seller each (the other shops' listings of the item
    dropped), and half of that seller's Dans Ma Zone listings of them stripped of the
    seller. Prints how many sellerless listings were attached, how many to the right
    shop, and how many the contract would attach."""
    listings, truth_shop, truth_offer = world_listings(seed, shops, noise="hard")
    rng = random.Random(seed)
    sellers: dict[str, list[str]] = {}
    for entity in sorted(set(truth_offer.values())):
        _, shop, item = entity.split(":")
        sellers.setdefault(item, []).append(shop)
    kept_seller = {item: rng.choice(found) for item, found in sorted(sellers.items())
                   if rng.random() < share}
    out = []
    for x in listings:
        key = listing_key(x["source"], x["source_id"])
        if x["kind"] == "product":
            _, shop, item = truth_offer[key].split(":")
            if item in kept_seller:
                if shop != kept_seller[item]:
                    continue
                if x["source"] == "dansmazone" and rng.random() < 0.5:
                    x = {k: v for k, v in x.items() if k != "shop_source_id"}
        out.append(x)
    truth_offer = {k: v for k, v in truth_offer.items()
                   if k in {listing_key(x["source"], x["source_id"]) for x in out}}
    cleans = [normalize_listing(item) for item in out]
    result = link(cleans, load_settings())
    sellerless = {listing_key(c.source, c.source_id) for c in cleans
                  if c.kind == "product" and not c.shop_source_id}
    print(f"sellerless check (hard, seed {seed}, {shops} shops, {len(kept_seller)} of "
          f"{len(sellers)} items left to one seller): "
          f"{sellerless_line(result, truth_shop, truth_offer, sellerless)}")
    contract = contract_truth(truth_offer, sellerless)
    print(f"  offers against the contract's truth: "
          f"{pairwise_scores(result.membership, contract).line()}")
    print(f"  offers against the world's truth:    "
          f"{pairwise_scores(result.membership, truth_offer).line()}")


def link_file(path: str) -> None:
    """In a child process: read, normalize and link a JSON Lines file; print figures."""
    t0 = time.perf_counter()
    with open(path, encoding="utf-8") as fh:
        listings = [json.loads(line) for line in fh]
    t1 = time.perf_counter()
    cleans = [normalize_listing(item) for item in listings]
    t2 = time.perf_counter()
    result = link(cleans, load_settings())
    t3 = time.perf_counter()
    stats = result.stats()
    print(json.dumps({
        "listings": len(listings), "read_s": t1 - t0, "normalize_s": t2 - t1,
        "link_s": t3 - t2, "timings": stats["timings_s"], "listings_by_kind": stats["listings"],
        "candidate_pairs": stats["candidate_pairs"], "all_pairs": stats["all_pairs"],
        "reduction_ratio": stats["reduction_ratio"], "em": _em_line(result),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "membership": result.membership,
        "product_members": sorted(m for ms in result.clusters["product"].values() for m in ms),
        "sellerless": sorted(listing_key(c.source, c.source_id) for c in cleans
                             if c.kind == "product" and not c.shop_source_id)}))


def speed(target: int, noise: str = "default", seed: int = 11) -> None:
    shops = max(100, int(target / 9.5))
    t = time.perf_counter()
    listings, truth_shop, truth_offer = world_listings(seed, shops, noise=noise)
    listings = listings[:target]
    print(f"speed ({noise} noise): {len(listings):,} listings from a world of {shops:,} shops "
          f"(built in {time.perf_counter() - t:.0f}s, not counted)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "listings.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for item in listings:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, __file__, "--link-file", str(path)], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    total = figures["normalize_s"] + figures["link_s"]
    n = figures["listings"]
    print(f"  normalize {figures['normalize_s']:.1f}s ({n / figures['normalize_s']:,.0f} "
          f"listings/s), link {figures['link_s']:.1f}s (EM included), normalize + link "
          f"{total:.1f}s ({n / total:,.0f} listings/s); reading the file "
          f"{figures['read_s']:.1f}s; child process {wall:.1f}s in all, {cpu:.1f}s of CPU "
          f"(wall times stretch when other jobs share the cores; the CPU time less)")
    for kind, count in figures["listings_by_kind"].items():
        if count:
            print(f"  {kind}: {count:,} listings, candidate pairs "
                  f"{figures['candidate_pairs'][kind]:,} of {figures['all_pairs'][kind]:,} "
                  f"(reduction ratio {figures['reduction_ratio'][kind]:.6f})")
    print(f"  timings {figures['timings']}")
    print(f"  {figures['em']}")
    print(f"  peak memory of the child (read + normalize + link) {figures['peak_mb']:,.0f} MB")
    membership = figures["membership"]
    shops_s = pairwise_scores(membership, truth_shop, [k for k in truth_shop if k in membership])
    offers_s = pairwise_scores(membership, truth_offer,
                               [k for k in truth_offer if k in membership])
    print(f"  shops : {shops_s.line()}")
    print(f"  offers: {offers_s.line()}")
    sellerless = set(figures["sellerless"])
    if sellerless:
        named = pairwise_scores(membership, truth_offer,
                                [k for k in truth_offer if k in membership and k not in sellerless])
        print(f"  offers, listings naming their seller: {named.line()}")
        contract = contract_truth({k: v for k, v in truth_offer.items() if k in membership},
                                  sellerless)
        print(f"  offers against the contract's truth: "
              f"{pairwise_scores(membership, contract).line()}")
        line = product_level_line(membership, truth_offer, set(figures["product_members"]))
        if line:
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--noise", choices=("default", "hard", "both"), default="both")
    parser.add_argument("--speed", type=int, default=0, help="listings for the speed run")
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--sellerless-check", action="store_true",
                        help="attachment precision where the contract attaches")
    parser.add_argument("--link-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.link_file:
        link_file(args.link_file)
        return
    if args.sellerless_check:
        sellerless_check(args.seed, args.shops)
        return
    noises = ("default", "hard") if args.noise == "both" else (args.noise,)
    for noise in noises:
        quality(args.seed, args.shops, noise)
    if args.speed:
        for noise in noises:
            speed(args.speed, noise)
    if args.incremental:

        run_incremental(args.seed, args.shops)


if __name__ == "__main__":
    main()
