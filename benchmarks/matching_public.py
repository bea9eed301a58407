"""Public entity-matching benchmarks through `agora link`: Fodors-Zagat, Abt-Buy, Beer.

Every record of table A against every record of table B, fields mapped to the
listing contract, the matcher's settings unchanged (config/matching.yaml: the
weights are learned from each file by EM), no label used for anything but
scoring. Prints precision, recall and F1 of the cross-table pairs against the
gold matches (Fodors-Zagat's complete mapping, Abt-Buy's labelled matches)
beside Splink's unsupervised figures, and for Abt-Buy and Beer the scores on the
labelled pairs (a labelled pair is predicted a match when both records end in
one cluster), the test split's beside the published supervised figures. Beer is
scored on its labelled pairs only: most of its true matches are not labelled.

    .venv/bin/python benchmarks/matching_public.py [--data /work/shared/benchmarks]
        [--only fodors_zagat|abt_buy|beer]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.evaluation import cross_pair_scores, labelled_scores  # noqa: E402

DEFAULT_DATA = Path("/work/shared/benchmarks")
SPLINK = {"fodors_zagat": 0.957, "abt_buy": 0.649}
PUBLISHED = {"abt_buy": "Magellan 0.436, DeepMatcher 0.628, Ditto 0.893",
             "beer": "Magellan 0.788, DeepMatcher 0.727, Ditto 0.944"}
NAMES = ("fodors_zagat", "abt_buy", "beer")


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


def _html_entities(text: str) -> str:
    """Beer's tables write some characters as HTML entities ('&#40; Ohio &#41;')."""
    return html.unescape(text)


def beer(data: Path, out: Path) -> tuple[set[tuple[str, str]], list[str], list[str]]:
    """Beers naming no shop: the beer's name as title, the brewery as brand, the style and
    strength as description (the scraped text, encoding damage included)."""
    left, right = [], []
    with open(out, "w", encoding="utf-8") as fh:
        for table, source, keys in (("tableA.csv", "beeradvocate", left),
                                    ("tableB.csv", "ratebeer", right)):
            with open(data / "beer" / table, encoding="utf-8", newline="") as tf:
                for row in csv.DictReader(tf):
                    abv = row["ABV"].strip()
                    item = {"kind": "product", "source": source, "source_id": row["id"],
                            "title": _html_entities(row["Beer_Name"]),
                            "brand": _html_entities(row["Brew_Factory_Name"]) or None,
                            "description": _html_entities(row["Style"])
                            + (f", {abv}" if abv and abv != "-" else "")}
                    fh.write(json.dumps(item) + "\n")
                    keys.append(f"{source}:{row['id']}")
    return set(), left, right


def labelled_pairs(data: Path, name: str, splits: tuple[str, ...],
                   prefix: tuple[str, str]) -> list[tuple[str, str, bool]]:
    """(left key, right key, label) of a benchmark's labelled pairs."""
    out = []
    for split in splits:
        with open(data / name / f"{split}.csv", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                out.append((f"{prefix[0]}:{r['ltable_id']}", f"{prefix[1]}:{r['rtable_id']}",
                            r["label"] == "1"))
    return out


def run(name: str, data: Path, workdir: Path) -> dict[str, float]:
    builder = {"fodors_zagat": fodors_zagat, "abt_buy": abt_buy, "beer": beer}[name]
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
    out: dict[str, float] = {"seconds": seconds}
    print(f"{name:<13} {len(left)} x {len(right)} records, every A against every B through "
          f"agora link in {seconds:.1f}s")
    if gold:
        scores = cross_pair_scores(predicted, left, right, gold)
        print(f"{'':<13} all gold matches: {scores.line()}  "
              f"[Splink unsupervised F1 {SPLINK[name]:.3f}]")
        out.update(precision=scores.precision, recall=scores.recall, f1=scores.f1)
    prefixes = {"abt_buy": ("abt", "buy"), "beer": ("beeradvocate", "ratebeer")}
    if name in prefixes:  # the published figures are on labelled pairs (test split)
        for label, splits in (("labelled pairs", ("train", "valid", "test")),
                              ("test split", ("test",))):
            pairs = labelled_pairs(data, name, splits, prefixes[name])
            s = labelled_scores(predicted, pairs)
            print(f"{'':<13} {label}: {s.line()}"
                  + (f"  [published, supervised: {PUBLISHED[name]}]" if label == "test split"
                     else ""))
            out[f"{label} f1"] = s.f1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", choices=NAMES, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in NAMES:
            if args.only in (None, name):
                run(name, args.data, Path(tmp))


if __name__ == "__main__":
    main()
