"""Every listing command prints whole identifiers off a terminal and has ``--json``.

One catalog is imported from the replicas' expected listings and built once (SQLite,
embedded index); each test runs one command through the ``agora`` root as a user would
(``CliRunner``, so stdout is not a terminal) and reads its output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agora.cli import main
from catalog.store import CATALOG_URL_VARIABLE
from crawlers.config import load_sources
from replicas.truth import expected_listings
from tests.conftest import SOURCES_FILE

SHOPS = 40


def agora(home: Path, *args: str) -> tuple[int, str, str]:
    env = {"AGORA_HOME": str(home), "AGORA_SOURCES": str(SOURCES_FILE),
           CATALOG_URL_VARIABLE: None, "COLUMNS": "80"}
    result = CliRunner().invoke(main, list(args), env=env, prog_name="agora")
    return result.exit_code, result.stdout, result.stderr


def agora_json(home: Path, *args: str) -> Any:
    code, out, err = agora(home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A home whose catalog holds the replicas' listings, built and indexed."""
    home = tmp_path_factory.mktemp("home")
    listings = list(expected_listings(seed=5, shops=SHOPS))
    path = home / "listings.jsonl"
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in listings),
                    encoding="utf-8")
    imported = agora_json(home, "import", "listings", str(path))
    assert sum(r["listings"] for r in imported) == len(listings)
    assert {r["source"] for r in imported} == {item["source"] for item in listings}
    built = agora_json(home, "build", "--full")
    assert built["mode"] == "full"
    assert [s["name"] for s in built["stages"]] == ["normalize", "dedup", "index"]
    return home, listings


def test_sources_list_keeps_every_key_whole_off_a_terminal() -> None:
    code, out, _ = agora(Path("/nonexistent"), "sources", "list")
    assert code == 0
    keys = list(load_sources(SOURCES_FILE))
    assert len(keys) >= 6
    for key in keys:
        assert f" {key} " in out
    assert "…" not in out
    rows = agora_json(Path("/nonexistent"), "sources", "list")
    assert [row["key"] for row in rows] == keys


def test_settings_json_names_every_setting_and_masks_secrets(tmp_path: Path) -> None:
    rows = agora_json(tmp_path, "settings")
    by_name = {row["name"]: row for row in rows}
    assert by_name["AGORA_HOME"]["value"] == str(tmp_path)
    assert all(row["help"] for row in rows)
    code, out, _ = agora(tmp_path, "settings")
    assert code == 0 and "AGORA_HOME" in out and str(tmp_path) in out


def test_runs_json_lists_the_import_runs(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, listings = world
    runs = agora_json(home, "runs")
    assert {r["source"] for r in runs} == {item["source"] for item in listings}
    assert all(r["kind"] == "import" and r["status"] == "complete" for r in runs)
    code, out, _ = agora(home, "runs")
    assert code == 0 and all(r["source"] in out for r in runs)


def test_catalog_info_json(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, listings = world
    info = agora_json(home, "catalog", "info")
    assert info["engine"] == "sqlite"
    assert info["listings"] == {"live": len(listings), "gone": 0}
    assert info["schema_version"] == info["latest_schema_version"]
    assert set(info["entities"]) >= {"shop"}


def test_status_and_sources_status_json(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, listings = world
    overview = agora_json(home, "status")
    assert overview["build"]["mode"] == "full" and overview["build"]["status"] == "complete"
    assert overview["problems"] == []
    keys = {item["source"] for item in listings}
    assert keys <= {s["key"] for s in overview["sources"]}
    statuses = agora_json(home, "sources", "status")
    assert keys <= {s["key"] for s in statuses["sources"]}
    code, out, _ = agora(home, "sources", "status")
    assert code == 0 and all(f" {key} " in out for key in keys)


def test_search_json_hits_carry_their_listings(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, listings = world
    shop = next(item for item in listings if item["kind"] == "shop")
    results = agora_json(home, "search", shop["name"], "--kind", "shop")
    assert results["total"] >= 1
    refs = {(s["source"], s["source_id"]) for hit in results["hits"] for s in hit["listings"]}
    assert (shop["source"], shop["source_id"]) in refs


def test_review_json_is_a_list_of_pairs(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, _ = world
    pairs = agora_json(home, "review", "--limit", "5")
    assert isinstance(pairs, list) and len(pairs) <= 5
    for p in pairs:
        assert set(p) == {"kind", "a", "b", "score", "a_label", "b_label"}


def test_overlap_json_prints_every_table(world: tuple[Path, list[dict[str, Any]]],
                                         tmp_path: Path) -> None:
    home, _ = world
    code, out, err = agora(home, "overlap", "--json", "--no-plots", "--out", str(tmp_path))
    assert code == 0, err
    tables = json.loads(out)
    totals = dict(tables["totals"]["rows"])
    assert totals["shops"] > 0
    assert {"platforms", "pairs_shops"} <= set(tables)
    assert "files written" in err and (tmp_path / "totals.csv").exists()


def test_stages_alone_print_json(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, _ = world
    assert agora_json(home, "normalize")["name"] == "normalize"
    assert agora_json(home, "dedup")["name"] == "dedup"
    indexed = agora_json(home, "index")
    assert indexed["name"] == "index" and indexed["figures"]["documents"] > 0


def test_worker_once_json_on_an_empty_queue(world: tuple[Path, list[dict[str, Any]]]) -> None:
    home, _ = world
    assert agora_json(home, "worker", "--once") == []
    code, _, err = agora(home, "worker", "--json")
    assert code == 2 and "--json goes with --once" in err
