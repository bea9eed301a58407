"""Public entity-matching benchmarks through `agora link`: Fodors-Zagat and Abt-Buy.

Every record of table A against every record of table B, fields mapped to the
listing contract, the matcher's settings unchanged (config/matching.yaml), no
label used for anything but scoring. Prints precision, recall and F1 of the
cross-table pairs against the gold matches, beside Splink's published figures.

    .venv/bin/python benchmarks/matching_public.py [--data ../shared/benchmarks]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.evaluation import cross_pair_scores  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks"
SPLINK = {"fodors_zagat": 0.957, "abt_buy": 0.649}


def _read_quoted(path: Path) -> list[dict[str, str]]:
    """Fodors-Zagat files: text in single quotes with \\' escapes."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, quotechar="'", escapechar="\\"))


def fodors_zagat(data: Path, out: Path) -> tuple[set[tuple[str, str]], list[str], list[str]]:
    """Restaurants as shops: name, street line, city, phone, type as category."""
    left, right = [], []
    with open(out, "w", encoding="utf-8") as fh:
        for table, source, keys in (("tableA.csv", "fodors", left), ("tableB.csv", "zagat",
                                                                      right)):
            for row in _read_quoted(data / "fodors_zagat" / table):
                item = {"kind": "shop", "source": source, "source_id": row["id"],
                        "name": row["name"], "address": row["addr"], "city": row["city"],
                        "phone": row["phone"], "categories": [row["type"]]}
                fh.write(json.dumps(item) + "\n")
                keys.append(f"{source}:{row['id']}")
    with open(data / "fodors_zagat" / "gold.csv", encoding="utf-8") as fh:
        gold = {(f"fodors:{r['tableA_id']}", f"zagat:{r['tableB_id']}")
                for r in csv.DictReader(fh)}
    return gold, left, right


def abt_buy(data: Path, out: Path) -> tuple[set[tuple[str, str]], list[str], list[str]]:
    """Products naming no shop: name as title, description, price."""
    left, right = [], []
    with open(out, "w", encoding="utf-8") as fh:
        for table, source, keys in (("tableA.csv", "abt", left), ("tableB.csv", "buy", right)):
            with open(data / "abt_buy" / table, encoding="utf-8", newline="") as tf:
                for row in csv.DictReader(tf):
                    item = {"kind": "product", "source": source, "source_id": row["id"],
                            "title": row["name"], "description": row["description"] or None,
                            "price": row["price"] or None, "currency": "USD"}
                    fh.write(json.dumps(item) + "\n")
                    keys.append(f"{source}:{row['id']}")
    gold = set()
    for split in ("train.csv", "valid.csv", "test.csv"):
        with open(data / "abt_buy" / split, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["label"] == "1":
                    gold.add((f"abt:{r['ltable_id']}", f"buy:{r['rtable_id']}"))
    return gold, left, right


def run(name: str, data: Path, workdir: Path) -> dict[str, float]:
    builder = {"fodors_zagat": fodors_zagat, "abt_buy": abt_buy}[name]
    listings = workdir / f"{name}.jsonl"
    clusters = workdir / f"{name}.clusters.csv"
    gold, left, right = builder(data, listings)
    region = "US" if name == "fodors_zagat" else "FR"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "agora.cli", "link", str(listings), "--out",
                    str(clusters), "--region", region, "--no-territory"], check=True, cwd=ROOT,
                   capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    with open(clusters, encoding="utf-8") as fh:
        predicted = {f"{r['source']}:{r['source_id']}": r["cluster_id"]
                     for r in csv.DictReader(fh)}
    scores = cross_pair_scores(predicted, left, right, gold)
    print(f"{name:<13} {len(left)} x {len(right)} records, {seconds:5.1f}s  {scores.line()}  "
          f"[Splink unsupervised F1 {SPLINK[name]:.3f}]")
    return {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", choices=("fodors_zagat", "abt_buy"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("fodors_zagat", "abt_buy"):
            if args.only in (None, name):
                run(name, args.data, Path(tmp))


if __name__ == "__main__":
    main()
