"""Relevance over the replica world: French queries whose answer the world knows.

A seeded replica world (300 shops) is imported, normalized, deduplicated and
indexed; queries are derived from its facts, each expecting the entity that holds
a known listing (entity_members). The first set (50 queries, drawn as they always
were): shop name fragments, plurals, accents dropped, one typo in a long word,
product title words with a commune ("vin gaillac albi"), a trade with a commune.
The second set (drawn with its own seed, so the first stays as it was), typed as
shoppers type (lower case, no accents): two letters swapped, two edits in a long
word, abbreviations ("st cyprien", "mson", "fromagerie st orens"), the legal form
with the name ("sarl cremerie lacroix"), a plural name word in the singular, more
product + commune. Only queries with one right answer in the world are kept.
Every engine must put the expected entity in its top 3 for at least 97% of them;
the failures are printed (``pytest -s``, or in the assertion message).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz.distance import OSA

from agora.importing import import_listings
from agora.pipeline import build
from catalog.backends import french
from catalog.backends.base import SearchBackend, SearchQuery
from catalog.backends.documents import build_documents, catalog_documents
from catalog.indexing import index_stage
from catalog.store import Catalog
from normalizer.abbreviations import SEARCH_ABBREVIATIONS
from normalizer.text import fold
from replicas.truth import expected_listings, truth_rows
from replicas.world import World

SEED, SHOPS = 42, 300
TOP = 3
REQUIRED = 0.97
MIN_CASES = 150
PER_FAMILY = {"name": 10, "plural": 6, "accents": 6, "typo": 8, "product+commune": 8,
              "kind+product+commune": 6, "trade+commune": 6}
MORE_PER_FAMILY = {"transposition": 25, "two-edits": 15, "abbreviation": 20, "legal": 20,
                   "singular": 10, "item+commune": 20, "trade+abbreviated-commune": 10}
# a word naming what a trade sells, for queries like "vin gaillac albi"
ITEM_WORDS = {"caviste": "vin", "fromagerie": "fromage", "librairie": "livre",
              "fleuriste": "fleurs", "chocolatier": "chocolat", "jouets": "jeux",
              "bijouterie": "bijoux", "boulangerie": "pain", "cosmetiques": "beauté",
              "chaussures": "chaussures", "pret_a_porter": "vêtements"}
# the word a shopper uses for each trade
TRADE_WORDS = {
    "boulangerie": "boulangerie", "boucherie": "boucherie", "fromagerie": "fromagerie",
    "caviste": "caviste", "epicerie_fine": "épicerie", "primeur": "primeur",
    "poissonnerie": "poissonnerie", "chocolatier": "chocolatier", "librairie": "librairie",
    "fleuriste": "fleuriste", "pret_a_porter": "vêtements", "chaussures": "chaussures",
    "bijouterie": "bijouterie", "opticien": "opticien", "quincaillerie": "quincaillerie",
    "jouets": "jouets", "sport": "sport", "decoration": "décoration", "cosmetiques": "beauté",
    "papeterie": "papeterie", "informatique": "informatique", "cafe_the": "café",
    "velo": "vélo", "disquaire": "disquaire",
}


@dataclass(frozen=True)
class Case:
    family: str
    query: str
    expected: frozenset[str]
    what: str


@dataclass
class RelevanceWorld:
    catalog_path: Path
    build_id: int
    cases: list[Case]


def _content_words(text: str) -> list[str]:
    return [w for w in french.words(text) if w not in french.STOP_WORDS]


def _typo(word: str) -> str:
    """One edit: the letter in the middle dropped."""
    i = len(word) // 2
    return word[:i] + word[i + 1:]


def derive_cases(world: World, truth: list[tuple[str, str, str, str]],
                 members: dict[tuple[str, str], str], records: dict[str, dict[str, Any]],
                 docs: list[dict[str, Any]]) -> list[Case]:
    """Queries with one right answer, from the world's facts."""
    rng = random.Random(SEED)
    entities_of: dict[str, set[str]] = defaultdict(set)
    for _kind, source, source_id, world_id in truth:
        if (source, source_id) in members:
            entities_of[world_id].add(members[(source, source_id)])
    searched = [d for d in docs if set(d["scope"]) & {"shop", "product"}]
    name_words = {d["id"]: set(french.analyze(d["name"])) for d in searched}
    place_words = {d["id"]: set(french.analyze(d["place_text"])) for d in searched}
    vocabulary = {w for d in docs for t in (d["name"], d["brand"], d["category_text"],
                                            d["place_text"], d["shop_name"], d["description"])
                  for w in french.words(t or "")}

    def named(words: list[str], kind: str | None = None) -> set[str]:
        stems = {french.stem(w) for w in words}
        return {d["id"] for d in searched if (kind is None or d["kind"] == kind)
                and stems <= name_words[d["id"]]}

    cases: list[Case] = []
    shops = [s for s in world.open_shops() if s.platforms and not s.chain and s.twin_of is None
             and entities_of.get(s.entity_id)]
    twins = {s.twin_of for s in world.shops if s.twin_of is not None}
    shops = [s for s in shops if s.index not in twins]
    rng.shuffle(shops)

    # shop names: a fragment, its plural, without accents, with one typo
    counts: dict[str, int] = defaultdict(int)
    for shop in shops:
        expected = frozenset(entities_of[shop.entity_id])
        words = [w for w in _content_words(shop.name) if w.isalpha() and len(w) > 2]
        if len(words) < 2 or named(words, "shop") != set(expected):
            continue
        raw = [w for w in re.findall(r"\w+", shop.name) if fold(w).lower() in words]
        fragment = " ".join(raw[-2:]) if len(raw) >= 2 else " ".join(raw)
        if len(named(_content_words(fragment), "shop")) != 1:
            fragment = " ".join(raw)
        if counts["name"] < PER_FAMILY["name"]:
            counts["name"] += 1
            cases.append(Case("name", fragment, expected, shop.name))
        elif counts["plural"] < PER_FAMILY["plural"] and not raw[0].lower().endswith(("s", "x")):
            counts["plural"] += 1
            cases.append(Case("plural", " ".join([raw[0] + "s", *raw[1:]]), expected, shop.name))
        elif counts["accents"] < PER_FAMILY["accents"] and fold(shop.name) != shop.name:
            counts["accents"] += 1
            cases.append(Case("accents", fold(" ".join(raw)).lower(), expected, shop.name))
        elif counts["typo"] < PER_FAMILY["typo"]:
            longest = max(raw, key=len)
            typo = _typo(longest)
            if len(longest) >= 6 and fold(typo).lower() not in vocabulary:
                counts["typo"] += 1
                cases.append(Case("typo", " ".join(typo if w == longest else w for w in raw),
                                  expected, shop.name))

    # a trade and a commune with one such shop (outside Toulouse)
    by_place: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s in world.open_shops():
        if s.platforms:
            by_place[(s.trade, s.commune)].append(s)
    places = sorted(k for k, v in by_place.items() if len(v) == 1 and k[1] != "Toulouse"
                    and entities_of.get(v[0].entity_id))
    rng.shuffle(places)
    for trade, commune in places[:PER_FAMILY["trade+commune"]]:
        shop = by_place[(trade, commune)][0]
        cases.append(Case("trade+commune", f"{TRADE_WORDS[trade]} {commune}",
                          frozenset(entities_of[shop.entity_id]), shop.name))

    # title words of an item and the commune of a shop selling it
    offers = [o for o in world.offers if o.is_open and o.platforms
              and world.shops[o.shop].is_open and entities_of.get(o.entity_id)]
    rng.shuffle(offers)
    taken: dict[str, int] = defaultdict(int)
    for offer in offers:
        if all(taken[f] >= PER_FAMILY[f] for f in ("product+commune", "kind+product+commune")):
            break
        expected = set()
        for offer_id in entities_of[offer.entity_id]:
            record = records.get(offer_id, {})
            expected.add(record.get("product_entity_id") or offer_id)
        product = world.products[offer.product]
        commune = world.shops[offer.shop].commune
        title = [w for w in re.findall(r"\w+", product.title)
                 if fold(w).lower() not in french.STOP_WORDS and w.isalpha() and len(w) > 2]
        item = ITEM_WORDS.get(product.trade)
        family = "product+commune"
        if item and fold(item) not in french.words(product.title):
            family = "kind+product+commune"
        if taken[family] >= PER_FAMILY[family]:
            continue
        for n in (1, 2, 3, 4) if family == "kind+product+commune" else (2, 3, 4):
            words = title[:n]
            found = {d for d in named(_content_words(" ".join(words)))
                     if set(french.analyze(commune)) <= place_words[d]}
            if found == expected:
                taken[family] += 1
                query = ([item] if family == "kind+product+commune" else []) + words
                cases.append(Case(family, " ".join(query + [commune]).lower(),
                                  frozenset(expected), f"{product.title} @ {commune}"))
                break
    return cases


def _swap(word: str) -> str | None:
    """Two different adjacent letters in the middle swapped (one edit, Damerau)."""
    for i in range(len(word) // 2, len(word) - 1):
        if word[i] != word[i + 1]:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return None


def _two_edits(word: str) -> str | None:
    """A letter dropped in the first half, two letters swapped in the second."""
    dropped = word[:len(word) // 3] + word[len(word) // 3 + 1:]
    swapped = _swap(dropped)
    if swapped is None or OSA.distance(word, swapped) != 2:
        return None
    return swapped


def _abbreviated(words: list[str]) -> list[str] | None:
    """The words with each one that has an abbreviation abbreviated; None if none has."""
    short = {full: abbr for abbr, full in SEARCH_ABBREVIATIONS.items()
             if abbr in ("st", "ste", "mson", "ets", "av", "bd", "pl", "gd", "gde", "cie")}
    out = [short.get(w, w) for w in words]
    return out if out != words else None


def derive_more_cases(world: World, truth: list[tuple[str, str, str, str]],
                      members: dict[tuple[str, str], str], records: dict[str, dict[str, Any]],
                      docs: list[dict[str, Any]]) -> list[Case]:
    """The second set: queries typed as shoppers type them (lower case, no accents)."""
    rng = random.Random(SEED + 1)
    entities_of: dict[str, set[str]] = defaultdict(set)
    for _kind, source, source_id, world_id in truth:
        if (source, source_id) in members:
            entities_of[world_id].add(members[(source, source_id)])
    searched = [d for d in docs if set(d["scope"]) & {"shop", "product"}]
    name_words = {d["id"]: set(french.analyze(d["name"])) for d in searched}
    place_words = {d["id"]: set(french.analyze(d["place_text"])) for d in searched}
    vocabulary = {w for d in docs for t in (d["name"], d["brand"], d["category_text"],
                                            d["place_text"], d["shop_name"], d["description"])
                  for w in french.words(t or "")}

    def named(words: list[str], kind: str | None = None) -> set[str]:
        stems = {french.stem(w) for w in words}
        return {d["id"] for d in searched if (kind is None or d["kind"] == kind)
                and stems <= name_words[d["id"]]}

    cases: list[Case] = []
    counts: dict[str, int] = defaultdict(int)

    def add(family: str, query: str, expected: frozenset[str], what: str) -> None:
        if counts[family] < MORE_PER_FAMILY[family]:
            counts[family] += 1
            cases.append(Case(family, query, expected, what))

    twins = {s.twin_of for s in world.shops if s.twin_of is not None}
    shops = [s for s in world.open_shops() if s.platforms and not s.chain and s.twin_of is None
             and s.index not in twins and entities_of.get(s.entity_id)]
    rng.shuffle(shops)
    for shop in shops:
        expected = frozenset(entities_of[shop.entity_id])
        all_words = [w for w in french.words(shop.name) if w.isalpha()]
        words = [w for w in all_words if w not in french.STOP_WORDS and len(w) > 2]
        if len(words) < 2 or named(words, "shop") != set(expected):
            continue
        typed = " ".join(words)
        longest = max(words, key=len)
        swapped = _swap(longest) if len(longest) >= 5 else None
        if swapped and swapped not in vocabulary:
            add("transposition", typed.replace(longest, swapped), expected, shop.name)
        twice = _two_edits(longest) if len(longest) > french.MIN_TWO_EDITS_LENGTH else None
        if twice and twice not in vocabulary and len(twice) >= french.MIN_TWO_EDITS_LENGTH:
            add("two-edits", typed.replace(longest, twice), expected, shop.name)
        short = _abbreviated(all_words)
        if short is not None:
            add("abbreviation", " ".join(w for w in short if w not in french.STOP_WORDS),
                expected, shop.name)
        if shop.legal_form:
            legal = shop.legal_form.lower()
            add("legal", f"{legal} {typed}" if rng.random() < 0.5 else f"{typed} {legal}",
                expected, f"{shop.name} ({shop.legal_form})")
        plural = [w for w in words if len(w) > 4 and w.endswith("s") and not w.endswith("ss")]
        if plural:
            singular = typed.replace(plural[0], plural[0][:-1])
            if named(_content_words(singular), "shop") == set(expected):
                add("singular", singular, expected, shop.name)

    # a trade and a commune written with its abbreviation ("fromagerie st orens")
    by_place: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s in world.open_shops():
        if s.platforms:
            by_place[(s.trade, s.commune)].append(s)
    places = sorted(k for k, v in by_place.items() if len(v) == 1
                    and _abbreviated(french.words(k[1])) and entities_of.get(v[0].entity_id))
    rng.shuffle(places)
    for trade, commune in places:
        shop = by_place[(trade, commune)][0]
        word = fold(TRADE_WORDS[trade]).lower()
        items = {d for d in named([word]) if set(french.analyze(commune)) <= place_words[d]}
        if items - set(entities_of[shop.entity_id]):  # items of that name sold there too
            continue
        short = _abbreviated(french.words(commune)) or []
        add("trade+abbreviated-commune",
            f"{word} {' '.join(short)}",
            frozenset(entities_of[shop.entity_id]), f"{shop.name} @ {commune}")

    # title words of an item and the commune of a shop selling it, lower case, no accents
    offers = [o for o in world.offers if o.is_open and o.platforms
              and world.shops[o.shop].is_open and entities_of.get(o.entity_id)]
    rng.shuffle(offers)
    for offer in offers:
        if counts["item+commune"] >= MORE_PER_FAMILY["item+commune"]:
            break
        expected = set()
        for offer_id in entities_of[offer.entity_id]:
            record = records.get(offer_id, {})
            expected.add(record.get("product_entity_id") or offer_id)
        product = world.products[offer.product]
        commune = world.shops[offer.shop].commune
        title = [w for w in french.words(product.title)
                 if w not in french.STOP_WORDS and w.isalpha() and len(w) > 2]
        for n in (2, 3, 4):
            found = {d for d in named(title[:n])
                     if set(french.analyze(commune)) <= place_words[d]}
            if found == expected:
                add("item+commune", " ".join(title[:n] + french.words(commune)),
                    frozenset(expected), f"{product.title} @ {commune}")
                break
    return cases


@pytest.fixture(scope="module")
def relevance_world(tmp_path_factory: pytest.TempPathFactory) -> RelevanceWorld:
    tmp = tmp_path_factory.mktemp("relevance")
    listings = tmp / "listings.jsonl"
    with listings.open("w", encoding="utf-8") as fh:
        for item in expected_listings(SEED, SHOPS):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    path = tmp / "catalog.sqlite"
    import_listings(listings, path)
    with Catalog.open(path) as cat:
        report = build(cat, index=False)
        members = {(s, i): e for s, i, e in cat.conn.execute(
            "SELECT source, source_id, entity_id FROM entity_members")}
        records = {e: json.loads(d) for e, d in cat.conn.execute(
            "SELECT entity_id, data FROM entities WHERE kind = 'offer'")}
        docs = list(catalog_documents(cat.conn))
    world = World.generate(SEED, SHOPS)
    truth = list(truth_rows(SEED, SHOPS))
    cases = derive_cases(world, truth, members, records, docs)
    cases += derive_more_cases(world, truth, members, records, docs)
    return RelevanceWorld(path, report.build_id, cases)


@pytest.fixture(scope="module")
def world_backend(backend_factory: Any, relevance_world: RelevanceWorld) -> SearchBackend:
    backend = backend_factory.new()
    with Catalog.open(relevance_world.catalog_path) as cat:
        stage = index_stage(cat, relevance_world.build_id, backend=backend)
    assert stage.figures["documents"] > 2000
    return backend


def test_enough_queries_of_every_family(relevance_world: RelevanceWorld) -> None:
    cases = relevance_world.cases
    assert len(cases) >= MIN_CASES
    families: dict[str, int] = defaultdict(int)
    for c in cases:
        families[c.family] += 1
    assert set(families) == set(PER_FAMILY) | set(MORE_PER_FAMILY), dict(families)
    assert sum(families[f] for f in PER_FAMILY) == 50  # the first set, as it always was
    assert all(families[f] >= 5 for f in MORE_PER_FAMILY), dict(families)


def ranks(backend: SearchBackend, cases: list[Case]) -> Iterator[tuple[Case, int | None,
                                                                         list[str]]]:
    for case in cases:
        res = backend.search(SearchQuery(text=case.query, per_page=10, facets=()))
        got = [h.entity_id for h in res.hits]
        rank = next((i + 1 for i, e in enumerate(got) if e in case.expected), None)
        names = [f"{h.name} [{', '.join(h.document.get('communes') or [])}]" for h in res.hits]
        yield case, rank, names


def test_expected_entity_in_the_top_3(world_backend: SearchBackend,
                                      relevance_world: RelevanceWorld) -> None:
    results = list(ranks(world_backend, relevance_world.cases))
    good = [r for r in results if r[1] is not None and r[1] <= TOP]
    share = len(good) / len(results)
    lines = [f"{world_backend.name}: {len(good)}/{len(results)} queries with the expected "
             f"entity in the top {TOP} ({share:.0%})"]
    for case, rank, names in results:
        if rank is None or rank > TOP:
            lines.append(f"  MISS [{case.family}] {case.query!r} -> expected {case.what!r} "
                         f"(rank {rank}); got {names[:TOP]}")
    print("\n".join(lines))
    assert share >= REQUIRED, "\n".join(lines)


def test_the_pipeline_indexes_after_dedup(relevance_world: RelevanceWorld,
                                          tmp_path: Path) -> None:
    """``agora build`` runs the index stage into the embedded index of the catalog."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AGORA_ELASTICSEARCH_URL", raising=False)
        with Catalog.open(relevance_world.catalog_path) as cat:
            report = build(cat)
    stage = report.stage("index")
    assert stage is not None and stage.figures["backend"] == "embedded"
    assert stage.figures["documents"] > 2000 and stage.figures["docs_per_s"] > 0


def test_the_probe_of_issue_13(fresh_backend: Any) -> None:
    """The misses of a probe written against shop names of another generator (named as
    such: these three queries were written after seeing them fail): a swap of two letters
    is one edit, and an abbreviation meets its full form."""
    shops = [("s1", "Épicerie Fine Teyssier"), ("s2", "Compans Cave"),
             ("s3", "Lunetterie St Aubin"), ("s4", "Lunetterie Saint Aubin"),
             ("s5", "Épicerie des Carmes"), ("s6", "Cave Saint-Cyprien")]
    records = [{"entity_id": eid, "kind": "shop", "name": name, "city": "Toulouse",
                "categories": [], "platforms": ["dansmazone"], "sources": []}
               for eid, name in shops]
    records.append({"entity_id": "p1", "kind": "product", "title": "Monture Aubin",
                    "platforms": ["dansmazone"], "sources": []})
    backend = fresh_backend()
    backend.index_build(build_documents(records), 1)
    for text, expected in [("eipcerie fine teyssier", {"s1"}), ("compnas cave", {"s2"}),
                           ("lunetterie st aubin", {"s3", "s4"}),
                           ("lunetterie saint aubin", {"s3", "s4"})]:
        res = backend.search(SearchQuery(text=text))
        assert {h.entity_id for h in res.hits[:len(expected)]} == expected, (text, res.hits)
    corrected = backend.search(SearchQuery(text="eipcerie fine teyssier"))
    assert corrected.corrected_from == "eipcerie fine teyssier"
    assert corrected.suggestion == "epicerie fine teyssier"
