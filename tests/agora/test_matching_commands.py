"""``agora dedup --show-model`` and ``agora explain``: the model each build stores, shown,
and one pair's match weight as a waterfall (on both catalog engines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agora.cli import main
from agora.importing import import_listings
from agora.pipeline import build
from catalog.store import Catalog
from dedup.persist import load_model
from replicas.truth import expected_listings


def _import(listings: list[dict], location: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8") as fh:
        for item in listings:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    import_listings(path, location)


def _agora(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"AGORA_HOME": str(home)})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def built(engine_home: Path, catalog_location: str, tmp_path: Path) -> tuple[str, list[dict]]:
    listings = list(expected_listings(seed=5, shops=60))
    _import(listings, catalog_location, tmp_path, "w.jsonl")
    with Catalog.open(catalog_location) as cat:
        build(cat, mode="full", index=False)
    return catalog_location, listings


def test_a_full_build_stores_its_model_and_an_incremental_one_reuses_it(
        built: tuple[str, list[dict]], tmp_path: Path) -> None:
    location, listings = built
    with Catalog.open(location) as cat:
        stored = load_model(cat)
        assert stored is not None
        first, model = stored
        assert model.origin == "estimated" and set(model.kinds) == {"shop", "offer", "product"}
        assert model.kinds["shop"].fit["candidate_pairs"] > 0
    changed = [dict(x) for x in listings if x["kind"] == "product"][:3]
    for item in changed:
        item["price"] = "99,90 €"
    _import(changed, location, tmp_path, "changed.jsonl")
    with Catalog.open(location) as cat:
        report = build(cat, mode="incremental", index=False)
        figures = report.stage("dedup").figures
        assert figures["mode"] == "incremental"
        assert figures["model"] == f"reused from full build {first.build_id} (not re-estimated)"
        latest = load_model(cat)
        assert latest is not None and latest[0].build_id == first.build_id
        later = load_model(cat, report.build_id)
        assert later is not None and later[1] == model
        assert load_model(cat, first.build_id - 1) is None


def test_show_model_prints_every_level_and_json(built: tuple[str, list[dict]],
                                                engine_home: Path) -> None:
    code, out, err = _agora(engine_home, "dedup", "--show-model")
    assert code == 0, err
    assert "model estimated by full build" in out
    for line in ("shops: prior", "offers: prior", "phone", "weight"):
        assert line in out
    code, out, err = _agora(engine_home, "dedup", "--show-model", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["origin"] == "estimated"
    assert data["model"]["kinds"]["shop"]["levels"]["phone"]


def test_explain_adds_up_the_weights_to_the_total(built: tuple[str, list[dict]],
                                                  engine_home: Path) -> None:
    location, _ = built
    with Catalog.open(location) as cat:
        members = cat.entities.membership()
    by_entity: dict[str, list[str]] = {}
    for key, entity in members.items():
        by_entity.setdefault(entity, []).append(key)
    pair = next(sorted(v)[:2] for e, v in sorted(by_entity.items())
                if e.startswith("shop-") and len(v) >= 2)
    code, out, err = _agora(engine_home, "explain", *pair)
    assert code == 0, err
    assert "model: estimated by full build" in out
    assert "prior" in out and "match weight" in out and "threshold" in out
    assert "decision: match" in out
    code, out, err = _agora(engine_home, "explain", *pair, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "shop" and data["decision"] == "match"
    assert data["waterfall"][0]["part"] == "prior"
    assert sum(p["weight"] for p in data["waterfall"]) == pytest.approx(data["total"], abs=0.02)
    assert data["total"] >= data["threshold"]


def test_show_model_before_any_build_says_what_to_run(engine_home: Path,
                                                      catalog_location: str) -> None:
    with Catalog.open(catalog_location):
        pass
    code, _, err = _agora(engine_home, "dedup", "--show-model")
    assert code == 1 and "no match model stored yet" in err
    code, _, err = _agora(engine_home, "dedup", "--build", "1")
    assert code == 1 and "--show-model" in err
