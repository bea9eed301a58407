"""``agora sources list | check | test``: what an operator runs to add and try a platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agora.commands.sources import schedule_text, sources_group
from crawlers import registry
from crawlers.config import load_sources
from replicas.server import ReplicaCluster
from tests.conftest import ROOT, SOURCES_FILE

KEY = "mavillemonshopping"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(sources_group, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_every_source_with_its_connector_and_schedule() -> None:
    code, out, _ = invoke("list", "--json", "--file", str(SOURCES_FILE))
    assert code == 0
    rows = {row["key"]: row for row in json.loads(out)}
    assert list(rows) == list(load_sources(SOURCES_FILE))
    assert set(rows) >= {"tout_toulouse", "clickandco", "dansmazone", KEY}
    assert rows[KEY]["connector"] == "html" and rows[KEY]["kind"] == "declarative"
    assert rows["clickandco"]["kind"] == "api" and rows["dansmazone"]["kind"] == "spider"
    assert rows[KEY]["base_url"] == os.environ.get("AGORA_URL_MAVILLEMONSHOPPING",
                                                   "http://127.0.0.1:8706")
    code, out, _ = invoke("list", "--file", str(SOURCES_FILE), env={"COLUMNS": "200"})
    assert code == 0 and "Ma Ville" in out and "declarative" in out
    assert schedule_text({"interval": "6h", "jitter": "10m"}) == "every 6h ±10m"
    assert schedule_text({"cron": "30 3 * * *"}) == "cron 30 3 * * *"
    assert schedule_text(None) == "-"


def test_check_validates_the_file_and_names_the_line_of_an_error(tmp_path: Path) -> None:
    code, out, _ = invoke("check", "--file", str(SOURCES_FILE))
    configs = load_sources(SOURCES_FILE)
    declarative = [k for k, c in configs.items() if registry.resolve(c).declarative]
    assert KEY in declarative and "achetezlocal" in declarative
    assert code == 0 and (f"{len(configs)} source(s) OK ({len(declarative)} declarative: "
                          f"{', '.join(declarative)})") in out
    text = SOURCES_FILE.read_text(encoding="utf-8")
    broken = text.replace('categories: ".rayon"', 'categories: {css: ".rayon", transform: '
                          '[capitalize]}')
    assert broken != text
    path = tmp_path / "sources.yaml"
    path.write_text(broken, encoding="utf-8")
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if "capitalize" in row)
    code, _, err = invoke("check", env={"AGORA_SOURCES": str(path)})
    assert code == 1
    assert f"{path}:{line}: source 'mavillemonshopping': " in err
    assert "fields.categories.transform[0]: unknown transform 'capitalize'" in err


def test_test_previews_an_api_source_without_touching_the_catalog(
        replica_cluster: Callable[..., ReplicaCluster], tmp_path: Path) -> None:
    cluster = replica_cluster(shops=100, platforms=("clickandco",))
    env = {**cluster.env(), "AGORA_HOME": str(tmp_path / "home")}
    code, out, _ = invoke("test", "clickandco", "--pages", "2", "--json",
                          "--file", str(SOURCES_FILE), env=env)
    assert code == 0, out
    data = json.loads(out)
    assert data["pages"] == 2 and data["counts"]["shop"] > 0
    assert data["empty_fields"]["shop"] == [f for f, n in data["fill"]["shop"].items() if n == 0]
    assert not (tmp_path / "home" / "catalog.sqlite").exists()
    code, out, _ = invoke("test", "clickandco", "--pages", "1", "--file", str(SOURCES_FILE),
                          env=env)
    assert code == 0 and "shop fields" in out and "empty in every listing" in out
    code, _, err = invoke("test", "nowhere", "--file", str(SOURCES_FILE), env=env)
    assert code == 1 and "unknown source 'nowhere'" in err


def test_test_runs_the_declarative_spider_of_the_sixth_platform(
        replica_cluster: Callable[..., ReplicaCluster]) -> None:
    cluster = replica_cluster(shops=150, platforms=(KEY,))
    env = {**os.environ, **cluster.env(), "AGORA_SOURCES": str(SOURCES_FILE)}
    proc = subprocess.run([sys.executable, "-m", "agora.commands.sources", "test", KEY,
                           "--pages", "3", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["connector"] == "html" and data["counts"]["shop"] > 0
    assert data["counts"].get("product", 0) > 0  # the catalogues behind the first cards
    assert data["empty_fields"]["shop"] == [] and data["errors"] == []
    expected = {i["source_id"]: i for i in cluster.platforms[KEY].expected_listings()}
    assert all(item == expected[item["source_id"]] for item in data["listings"])

    cluster.platforms[KEY].layout = "v2"  # a selector broke: nothing comes out, exit 1
    proc = subprocess.run([sys.executable, "-m", "agora.commands.sources", "test", KEY,
                           "--pages", "2", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["listings"] == [] and data["failed_pages"] >= 1
    assert data["errors"][0][1:] == ["layout", "no shop found at 'article.carte-boutique'"]


@pytest.mark.parametrize("command", ["list", "check"])
def test_a_missing_file_is_one_line(command: str, tmp_path: Path) -> None:
    code, _, err = invoke(command, "--file", str(tmp_path / "nope.yaml"))
    assert code == 1 and "cannot read the sources file" in err


def test_test_sample_shows_fill_examples_with_their_page_and_flags_wrong_values(
        replica_cluster: Callable[..., ReplicaCluster], tmp_path: Path) -> None:
    """``--sample N``: a selector that reads the wrong thing shows in the flags."""
    cluster = replica_cluster(shops=150, platforms=("achetezlocal",))
    env = {**cluster.env(), "AGORA_HOME": str(tmp_path / "home")}
    code, out, _ = invoke("test", "achetezlocal", "--sample", "8", "--json",
                          "--file", str(SOURCES_FILE), env=env)
    assert code == 0, out
    sample = json.loads(out)["sample"]
    shops = sample["shop"]
    assert shops["listings"] == 8 and shops["fields"]["name"]["filled"] == 8
    base = cluster.urls["achetezlocal"]
    for value, page in shops["fields"]["name"]["examples"]:
        assert value and page == f"{base}/api/v2/search"
    assert len(shops["fields"]["name"]["examples"]) == 3
    # the repository's entry reads the right things (the world's phones are not all
    # numbers phonenumbers knows as assigned: they are not judged here)
    assert all(not entry["flags"] for name, entry in shops["fields"].items() if name != "phone")
    text = SOURCES_FILE.read_text(encoding="utf-8")
    wrong = (text.replace("postcode: _source.adresse.cp", "postcode: _source.siret")
             .replace("price: _source.prix.montant", "price: _source.stock"))
    assert wrong != text
    path = tmp_path / "sources.yaml"
    path.write_text(wrong, encoding="utf-8")
    code, out, _ = invoke("test", "achetezlocal", "--sample", "5", "--json",
                          "--file", str(path), env=env)
    assert code == 0, out
    sample = json.loads(out)["sample"]
    postcode = sample["shop"]["fields"]["postcode"]
    assert postcode["flags"] and len(postcode["flags"]) == postcode["filled"]
    assert all("not a French postcode" in flag[2] for flag in postcode["flags"])
    price = sample["product"]["fields"]["price"]
    assert len(price["flags"]) == 5 and price["flags"][0][2] == "no digit in the price"
    code, out, _ = invoke("test", "achetezlocal", "--sample", "5", "--file", str(path),
                          env={**env, "COLUMNS": "200"})
    assert code == 0 and "a sample of 5" in out and "no digit in the price" in out


def test_scaffold_writes_a_draft_that_loads_then_tests_it(
        replica_cluster: Callable[..., ReplicaCluster], tmp_path: Path) -> None:
    cluster = replica_cluster(shops=60, platforms=("panier_toulousain",))
    out = tmp_path / "draft.yaml"
    code, stdout, err = invoke("scaffold", cluster.urls["panier_toulousain"], "--name", "pt",
                               "--out", str(out), "--pages", "30",
                               env={"AGORA_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Drafted by `agora sources scaffold`") and "# type: json_api" in text
    [config] = load_sources(out).values()
    assert config.key == "pt" and config.connector == "json_api"
    assert f"draft written to {out}" in err
    assert "a sample of" in stdout and "shop fields" in stdout  # sources test ran on it
    assert not (tmp_path / "home" / "catalog.sqlite").exists()
    code, stdout, err = invoke("scaffold", cluster.urls["panier_toulousain"], "--name", "pt",
                               "--pages", "30", env={"AGORA_HOME": str(tmp_path / "home")})
    assert code == 0 and list(yaml.safe_load(stdout)["sources"]) == ["pt"]  # a file, alone
    assert "a sample of" in err  # the test of the draft went to stderr
