"""Search probed with queries written by rules the relevance set was not written with.

The relevance set (tests/catalog/test_relevance.py) and the engines were written by the
same hands; this probe asks how the search takes what shoppers type, written by other
rules: for a seeded sample of the shops of a replica world (its catalog built as the
pipeline builds it: listings imported, normalized, deduplicated, indexed), one query
per shop and form, always lower case without accents:

- ``plain``: the name; ``swap``: two different adjacent letters of its longest word
  swapped, anywhere in the word; ``drop``: one letter of its longest word dropped (never
  the first);
- ``name+commune`` ("boulangerie x toulouse"); ``trade+street`` ("fromagerie rue de
  metz": the trade's label and the street, when no other shop of that trade is in a
  street of that name);
- ``abbreviation``: saint/st, sainte/ste, avenue/av, boulevard/bd, établissements/ets,
  et/& written the other way, in the name, else in the name and its commune;
- ``legal``: the name with the company's legal form (SARL, SAS...), before or after it,
  when the shop has one;
- ``number``: the name's head word (its first word that is not an article) in the
  other number (boulangerie/boulangeries, fromages/fromage).

A query that names the shop alone is asked only when no other shop of the world bears
that name (with ``name+commune``: that name in that commune). It is right when the
shop's entity (the entity its listings were merged into; any of them if the matcher
left it split) is among the first 3 hits of a default search (shops and products).
Each form's right/total is printed per engine, with how many of the misses are of a
shop whose name no listing shows (under ``--noise hard`` a registry-fed platform may show
only the company's registered name: no engine can find the sign then); ``--show`` prints
the misses with the 3 hits found.

Engines: ``embedded`` (Tantivy), ``fts5``, and ``elasticsearch``/``opensearch`` through
benchmarks/search.py's ``open_engine`` (the test nodes of tests/search_node.py, or the
server at ``--es-url``, which sets ``AGORA_ELASTICSEARCH_URL``).

    .venv/bin/python benchmarks/search_probe.py [--shops 200] [--seed 7] [--world-shops 1500]
        [--per-shop 4] [--noise default|hard] [--engines embedded,fts5] [--es-url URL]
        [--cache DIR] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agora.importing import import_listings  # noqa: E402
from agora.pipeline import build  # noqa: E402
from benchmarks.search import open_engine  # noqa: E402
from catalog.backends.base import SearchBackend, SearchQuery  # noqa: E402
from catalog.indexing import index_stage  # noqa: E402
from catalog.store import Catalog  # noqa: E402
from normalizer.text import fold  # noqa: E402
from replicas.truth import expected_listings, truth_rows  # noqa: E402
from replicas.vocab import TRADES_BY_KEY  # noqa: E402
from replicas.world import NOISE_NAMES, Shop, World  # noqa: E402
from tests.search_node import NodeUnavailable, SearchNodePool  # noqa: E402

TOP = 3
FORMS = ("plain", "swap", "drop", "name+commune", "trade+street", "abbreviation", "legal",
         "number")
# the shopper's ways of writing a word, both ways (this probe's own list, from the brief of
# the forms to probe, not the normalizer's table)
SHORTHANDS = {"saint": "st", "sainte": "ste", "avenue": "av", "boulevard": "bd",
              "etablissements": "ets", "et": "&"}
OTHER_WAY = {**SHORTHANDS, **{short: full for full, short in SHORTHANDS.items()}}
ARTICLES = frozenset({"le", "la", "les", "l", "au", "aux", "a", "de", "des", "du", "d"})
_WORD = re.compile(r"[a-z0-9&]+")


@dataclass(frozen=True)
class Probe:
    """One query and the entities that answer it."""

    form: str
    query: str
    expected: frozenset[str]
    what: str
    shown: bool = True  # some listing of the shop shows its name (else only a registered one)


@dataclass
class Outcome:
    """A probe and the first hits an engine gave."""

    probe: Probe
    right: bool
    top: list[str]


# --------------------------------------------------------------------------- the world
def probe_catalog(seed: int, shops: int, per_shop: int, noise: str, folder: Path
                  ) -> tuple[Path, int]:
    """The catalog of a replica world built as the pipeline builds it (cached in
    ``folder``), and its build id."""
    path = folder / f"search-probe-{seed}-{shops}-{per_shop}-{noise}.sqlite"
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        return path, int(json.loads(info.read_text())["build_id"])
    for stale in folder.glob(path.name + "*"):
        stale.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    listings = path.with_suffix(".jsonl")
    with listings.open("w", encoding="utf-8") as fh:
        for item in expected_listings(seed, shops, 0, per_shop, noise=noise):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    import_listings(listings, path)
    listings.unlink()
    with Catalog.open(path) as cat:
        report = build(cat, mode="full", index=False)
    info.write_text(json.dumps({"build_id": report.build_id}))
    return path, report.build_id


def shop_entities(catalog_path: Path, seed: int, shops: int, per_shop: int, noise: str
                  ) -> dict[str, frozenset[str]]:
    """World shop id -> the catalog entities its shop listings were merged into."""
    with Catalog.open(catalog_path) as cat:
        membership = cat.entities.membership()
    out: dict[str, set[str]] = defaultdict(set)
    for kind, source, source_id, world_id in truth_rows(seed, shops, 0, per_shop, noise=noise):
        entity = membership.get(f"{source}:{source_id}")
        if kind == "shop" and entity:
            out[world_id].add(entity)
    return {k: frozenset(v) for k, v in out.items()}


def listing_names(catalog_path: Path, entities: dict[str, frozenset[str]]
                  ) -> dict[str, set[str]]:
    """World shop id -> the names its listings show, as typed."""
    with Catalog.open(catalog_path) as cat:
        records = cat.entities.get_many({e for ids in entities.values() for e in ids})
    return {world_id: {typed(src.get("name") or "") for e in ids
                       for src in records.get(e, {}).get("sources") or []}
            for world_id, ids in entities.items()}


# --------------------------------------------------------------------------- typing
def typed(text: str) -> str:
    """As a shopper types: lower case, no accents, words apart."""
    return " ".join(_WORD.findall(fold(text).lower()))


def swapped(word: str, rng: random.Random) -> str | None:
    """Two different adjacent letters swapped at a random place."""
    spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    if not spots:
        return None
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def dropped(word: str, rng: random.Random) -> str:
    """One letter dropped, never the first."""
    i = rng.randrange(1, len(word))
    return word[:i] + word[i + 1:]


def other_way(words: list[str]) -> list[str] | None:
    """The words with each one that has a shorthand (or is one) written the other way."""
    out = [OTHER_WAY.get(w, w) for w in words]
    return out if out != words else None


def other_number(word: str) -> str:
    """The word in the other number: "fromages" -> "fromage", "cave" -> "caves"."""
    if word.endswith("aux") and len(word) > 4:
        return word[:-3] + "al"
    if word.endswith(("s", "x")):
        return word[:-1]
    if word.endswith(("eau", "eu")):
        return word + "x"
    return word + "s"


def longest(words: list[str]) -> str | None:
    letters = [w for w in words if w.isalpha() and len(w) >= 5]
    return max(letters, key=len) if letters else None


def trade_word(trade: str) -> str:
    """The trade's label as typed, the first of two joined trades ("Boulangerie-Pâtisserie"
    -> "boulangerie", "Épicerie fine" -> "epicerie", "Prêt-à-porter" -> "pret a porter")."""
    label = TRADES_BY_KEY[trade].label
    if "-à-" in label:  # one word written with hyphens
        return typed(label)
    return typed(label.split("-")[0]).split()[0]


def shop_probes(shop: Shop, expected: frozenset[str], rng: random.Random, *,
                unique_name: bool, unique_in_commune: bool, unique_in_street: bool,
                shown: bool = True) -> list[Probe]:
    """The queries of one shop, one per form that applies."""
    name = typed(shop.name).split()
    commune = typed(shop.commune).split()
    out: list[Probe] = []

    def add(form: str, words: Iterable[str]) -> None:
        out.append(Probe(form, " ".join(words), expected, f"{shop.name} ({shop.commune})",
                         shown))

    if unique_name:
        add("plain", name)
        word = longest(name)
        if word:
            swap = swapped(word, rng)
            if swap:
                add("swap", [swap if w == word else w for w in name])
            drop = dropped(word, rng)
            add("drop", [drop if w == word else w for w in name])
        short = other_way(name)
        if short is None and unique_in_commune:
            short = other_way(name + commune)
        if short:
            add("abbreviation", short)
        if shop.legal_form:
            form = shop.legal_form.lower()
            add("legal", [form, *name] if rng.random() < 0.5 else [*name, form])
        head = next((i for i, w in enumerate(name) if w not in ARTICLES and w.isalpha()
                     and len(w) > 3), None)
        if head is not None:
            add("number", [other_number(w) if i == head else w for i, w in enumerate(name)])
    if unique_in_commune:
        add("name+commune", name + commune)
    if unique_in_street:
        add("trade+street", [trade_word(shop.trade), *typed(shop.street).split()])
    return out


def probes(world: World, entities: dict[str, frozenset[str]], sample: int,
           seed: int, names_shown: dict[str, set[str]] | None = None) -> list[Probe]:
    """The queries of ``sample`` shops drawn (seeded) among the listed open shops;
    ``names_shown``: the names each shop's listings show (a name none shows is marked)."""
    listed = [s for s in world.shops if s.platforms]
    names = Counter(typed(s.name) for s in listed)
    in_commune = Counter((typed(s.name), typed(s.commune)) for s in listed)
    in_street = Counter((trade_word(s.trade), typed(s.street)) for s in listed)
    candidates = [s for s in listed if s.is_open and entities.get(s.entity_id)]
    rng = random.Random(seed)
    chosen = rng.sample(candidates, min(sample, len(candidates)))
    out: list[Probe] = []
    for shop in chosen:
        out += shop_probes(
            shop, entities[shop.entity_id], rng,
            unique_name=names[typed(shop.name)] == 1,
            unique_in_commune=in_commune[(typed(shop.name), typed(shop.commune))] == 1,
            unique_in_street=in_street[(trade_word(shop.trade), typed(shop.street))] == 1,
            shown=names_shown is None or any(
                f" {typed(shop.name)} " in f" {n} " for n in names_shown[shop.entity_id]))
    return out


# --------------------------------------------------------------------------- asking
def ask(backend: SearchBackend, items: list[Probe]) -> list[Outcome]:
    """Each probe's query, as the page asks it; right when its entity is in the top 3."""
    out = []
    for p in items:
        res = backend.search(SearchQuery(text=p.query, facets=()))
        hits = res.hits[:TOP]
        right = any(h.entity_id in p.expected for h in hits)
        top = [f"{h.name} [{', '.join(h.document.get('communes') or [])}]" for h in hits]
        out.append(Outcome(p, right, top))
    return out


def tally(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """Form -> (right, total), in the order of FORMS."""
    right: Counter[str] = Counter(o.probe.form for o in outcomes if o.right)
    total: Counter[str] = Counter(o.probe.form for o in outcomes)
    return {f: (right[f], total[f]) for f in FORMS if total[f]}


def report(engine: str, outcomes: list[Outcome], show: bool) -> list[str]:
    figures = tally(outcomes)
    right = sum(r for r, _ in figures.values())
    total = sum(n for _, n in figures.values())
    lines = [f"{engine}: {right}/{total} right in the top {TOP} ({right / max(1, total):.1%})"]
    hidden = Counter(o.probe.form for o in outcomes if not o.right and not o.probe.shown
                     and o.probe.form != "trade+street")  # that one does not name the shop
    lines += [f"  {form:14} {r:>4}/{n:<4}" + (f" ({hidden[form]} of the misses: a shop whose "
                                              "name no listing shows)" if hidden[form] else "")
              for form, (r, n) in figures.items()]
    if show:
        lines += [f"  MISS [{o.probe.form}] {o.probe.query!r} -> {o.probe.what}; got {o.top}"
                  for o in outcomes if not o.right]
    return lines


def probe(seed: int = 7, shops: int = 200, world_shops: int = 1500, per_shop: int = 4,
          noise: str = "default",
          engines: tuple[str, ...] = ("embedded",), cache: Path | None = None,
          show: bool = False, log: Callable[[str], None] = print,
          ) -> dict[str, dict[str, tuple[int, int]]]:
    """Run the probe: engine -> form -> (right, total); the figures go to ``log``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = cache or Path(tmp)
        t = time.perf_counter()
        catalog_path, build_id = probe_catalog(seed, world_shops, per_shop, noise, folder)
        entities = shop_entities(catalog_path, seed, world_shops, per_shop, noise)
        world = World.generate(seed, world_shops, 0, per_shop, noise)
        items = probes(world, entities, shops, seed, listing_names(catalog_path, entities))
        log(f"world {seed}/{world_shops} shops ({noise} noise): catalog ready in "
            f"{time.perf_counter() - t:.1f}s; {shops} shops sampled, {len(items)} queries")
        pool = SearchNodePool()
        out: dict[str, dict[str, tuple[int, int]]] = {}
        try:
            for engine in engines:
                try:
                    backend, version = open_engine(engine, catalog_path, pool)
                except (NodeUnavailable, RuntimeError) as exc:
                    log(f"{engine}: skipped: {exc}")
                    continue
                try:
                    with Catalog.open(catalog_path) as cat:
                        index_stage(cat, build_id, backend=backend)
                    outcomes = ask(backend, items)
                finally:
                    backend.close()
                out[engine] = tally(outcomes)
                log("\n".join(report(version, outcomes, show)))
        finally:
            pool.close()
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shops", type=int, default=200, help="Shops sampled for queries.")
    parser.add_argument("--world-shops", type=int, default=1500, help="Shops of the world.")
    parser.add_argument("--per-shop", type=int, default=4, help="Offers per shop.")
    parser.add_argument("--noise", default="default", choices=NOISE_NAMES,
                        help="How noisily the platforms show the world (replicas.noise).")
    parser.add_argument("--engines", default="embedded",
                        help="Comma-separated: embedded, fts5, elasticsearch, opensearch.")
    parser.add_argument("--es-url", default=None,
                        help="An Elasticsearch/OpenSearch server to use instead of test nodes.")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--show", action="store_true", help="Print the misses.")
    args = parser.parse_args(argv)
    if args.es_url:
        os.environ["AGORA_ELASTICSEARCH_URL"] = args.es_url
    probe(args.seed, args.shops, args.world_shops, args.per_shop, args.noise,
          tuple(e for e in args.engines.split(",") if e), args.cache, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
