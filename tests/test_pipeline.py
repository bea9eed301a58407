"""The build through the catalog, and the matcher's commands, as a user runs them (the build
and the stages alone on both engines)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agora.importing import import_listings
from agora.pipeline import build
from catalog.store import Catalog
from dedup.evaluation import pairwise_scores
from replicas.truth import expected_listings, truth_rows
from tests.conftest import agora_env, run_agora


def _write(path: Path, items: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def _members(cat: Catalog) -> dict[str, str]:
    return cat.entities.membership()


@pytest.fixture
def world_catalog(tmp_path: Path) -> Path:
    listings = list(expected_listings(seed=8, shops=200))
    import_listings(_write(tmp_path / "w.jsonl", listings), tmp_path / "catalog.sqlite")
    return tmp_path / "catalog.sqlite"


@pytest.fixture
def engine_world(engine_home: Path, catalog_location: str, tmp_path: Path) -> str:
    """The same world in a catalog on each engine (the catalog of ``engine_home``)."""
    listings = list(expected_listings(seed=8, shops=200))
    import_listings(_write(tmp_path / "w.jsonl", listings), catalog_location)
    return catalog_location


def test_full_then_incremental_build_keeps_ids_and_quality(engine_world: str,
                                                          tmp_path: Path) -> None:
    world_catalog = engine_world
    with Catalog.open(world_catalog) as cat:
        first = build(cat, index=False)
        assert first.mode == "full"
        before = _members(cat)
        assert cat.entities.count() > 0
        again = build(cat, index=False)  # nothing changed
        assert again.mode == "incremental"
        assert again.stage("dedup").figures["changed"] == 0
        assert _members(cat) == before
    # a new delivery one epoch later
    later = list(expected_listings(seed=8, shops=200, epoch=1))
    import_listings(_write(tmp_path / "w1.jsonl", later), world_catalog)
    with Catalog.open(world_catalog) as cat:
        report = build(cat, index=False)
        assert report.mode == "incremental"
        assert 0 < report.stage("dedup").figures["relinked"] < len(later)
        after = _members(cat)
    truth = {f"{s}:{i}": e for k, s, i, e in truth_rows(seed=8, shops=200, epoch=1)
             if k == "shop"}
    assert pairwise_scores(after, truth).f1 >= 0.98
    kept = [k for k in before if k in after and before[k].startswith("shop-")]
    stable = sum(1 for k in kept if before[k] == after[k]) / len(kept)
    assert stable > 0.97
    # every listing still live is in exactly one entity; gone ones in none
    with Catalog.open(world_catalog) as cat:
        live = {f"{x['source']}:{x['source_id']}" for x in cat.listings()}
    assert set(after) == live


def test_review_decisions_are_respected_by_later_builds(world_catalog: Path) -> None:
    with Catalog.open(world_catalog) as cat:
        build(cat, index=False)
        members = _members(cat)
        by_entity: dict[str, list[str]] = {}
        for key, entity in members.items():
            by_entity.setdefault(entity, []).append(key)
        pair = next(sorted(v)[:2] for v in by_entity.values()
                    if len(v) >= 2 and v[0].split(":")[0] != v[1].split(":")[0]
                    and members[v[0]].startswith("shop-"))
    env = agora_env(world_catalog.parent)
    run_agora(["review", "split", *pair, "--note", "two shops"], env)
    run_agora(["build", "--no-index"], env)
    with Catalog.open(world_catalog) as cat:
        after = _members(cat)
    assert after[pair[0]] != after[pair[1]]
    out = run_agora(["explain", *pair], env).stdout
    assert "split (reviewer's decision)" in out and "name" in out
    run_agora(["review", "merge", *pair], env)
    run_agora(["build", "--full", "--no-index"], env)
    with Catalog.open(world_catalog) as cat:
        assert _members(cat)[pair[0]] == _members(cat)[pair[1]]
    listed = run_agora(["review", "--limit", "5"], env).stdout
    assert "score" in listed or "Nothing to review" in listed


def test_link_command_writes_one_row_per_listing(tmp_path: Path) -> None:
    listings = list(expected_listings(seed=9, shops=40))
    path = _write(tmp_path / "in.jsonl", listings + [{"kind": "shop"}])
    out = tmp_path / "clusters.csv"
    proc = run_agora(["link", str(path), "--out", str(out)], agora_env(tmp_path / "home"))
    assert "candidate pairs" in proc.stdout
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["kind", "source", "source_id", "cluster_id"]
    assert len(rows) == len(listings)
    assert "skipped line" in proc.stderr


def test_stages_can_be_rerun_alone(engine_world: str, engine_home: Path) -> None:
    world_catalog = engine_world
    env = agora_env(engine_home)
    assert "normalized" in run_agora(["normalize"], env).stdout
    first = run_agora(["dedup"], env).stdout
    assert "mode full" in " ".join(first.split())
    again = run_agora(["dedup"], env).stdout
    assert "changed 0" in " ".join(again.split())
    with Catalog.open(world_catalog) as cat:
        assert cat.entities.count() > 0


def test_explain_names_an_unknown_listing_clearly(tmp_path: Path) -> None:
    proc = run_agora(["explain", "nowhere:1", "nowhere:2"], agora_env(tmp_path), check=False)
    assert proc.returncode == 1 and "no listing nowhere:1" in proc.stderr
