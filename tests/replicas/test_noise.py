"""The hard noise profile: the same world shown with more slips, the default unchanged."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from normalizer.identifiers import normalize_gtin
from replicas.noise import NOISE_PROFILES, legal_name, render_title
from replicas.truth import listings_and_truth
from replicas.world import World
from tests.conftest import agora_env, run_agora


def test_the_truth_is_the_same_world_whatever_the_noise() -> None:
    default = listings_and_truth(seed=3, shops=80)
    hard = listings_and_truth(seed=3, shops=80, noise="hard")

    def entities(rows: list[tuple[str, str, str, str]]) -> Counter[tuple[str, str, str]]:
        return Counter((kind, source, entity) for kind, source, _, entity in rows)

    # the same listings of the same entities (a slug may follow a name written otherwise)
    assert entities(default[1]) == entities(hard[1])
    assert default[0] != hard[0]


def test_the_hard_profile_shows_its_classes() -> None:
    listings, _ = listings_and_truth(seed=5, shops=300, noise="hard")
    products = [x for x in listings if x["kind"] == "product"]
    on_dmz = [x for x in products if x["source"] == "dansmazone"]
    assert any(not x.get("shop_source_id") for x in on_dmz)  # sellerless offers
    gtins = [x["gtin"] for x in on_dmz if x.get("gtin")]
    fourteen = [g for g in gtins if len(g) == 14]
    assert fourteen and all(normalize_gtin(g)[0] == g[1:] for g in fourteen)
    registry = [x["name"] for x in listings if x["source"] == "geolocal31"]
    assert sum(1 for n in registry if any(f in n.split() for f in ("SAS", "SARL", "EURL")))
    titles = " ".join(x["title"] for x in products)
    assert "T. " in titles or "Taille " in titles or "size " in titles.lower()


def test_a_legal_name_belongs_to_the_company() -> None:
    world = World.generate(seed=2, shops=400)
    chain = [s for s in world.shops if s.chain]
    assert legal_name(chain[0]) == legal_name(chain[1]) == legal_name(chain[0]).upper()


def test_the_default_profile_draws_no_random_number_more() -> None:
    world = World.generate(seed=4, shops=60)
    product = next(p for p in world.products if p.variant)
    rng = random.Random(1)
    render_title(product, rng, upper_rate=0.1)
    after_default = rng.random()
    rng = random.Random(1)
    render_title(product, rng, upper_rate=0.1)
    assert rng.random() == after_default
    assert not NOISE_PROFILES["default"].hard and NOISE_PROFILES["hard"].hard


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown noise profile"):
        World.generate(seed=1, shops=10, noise="loud")


def test_the_cli_writes_hard_listings_and_truth(tmp_path) -> None:
    out = tmp_path / "l.jsonl"
    run_agora(["replicas", "listings", "--shops", "40", "--noise", "hard", "--out", str(out)],
              agora_env(tmp_path))
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert Counter(x["kind"] for x in items)["shop"] > 0
    truth = tmp_path / "t.csv"
    run_agora(["replicas", "truth", "--shops", "40", "--noise", "hard", "--out", str(truth)],
              agora_env(tmp_path))
    assert len(truth.read_text(encoding="utf-8").splitlines()) == len(items) + 1
