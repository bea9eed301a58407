"""The analysts' overlap page, its CSV and figures, and ``agora overlap``."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agora.commands.overlap import overlap_cmd
from agora.pipeline import build
from catalog.store import Catalog
from dedup import overlap_data
from dedup.overlap_data import overlap_report
from replicas.platforms import PLATFORM_CLASSES
from search_ui import overlap as search_overlap
from search_ui.app import create_app
from tests.search_ui.helpers import World

PLATFORMS = list(PLATFORM_CLASSES)  # every replica, in the sources file's order


def test_page_shows_figures_tables_methods_and_csv_links(client: FlaskClient) -> None:
    r = client.get("/overlap")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for name in ("upset_shops", "jaccard_shops", "exclusive_shops"):
        assert f'src="/overlap/figures/{name}.svg"' in html
    for name in ("totals", "platforms", "pairs_shops", "intersections_shops", "by_commune",
                 "by_category", "price_differences", "conflicts"):
        assert f'href="/overlap/{name}.csv"' in html
    assert html.count('<p class="method">Méthode : ') >= 8
    assert "Indice de Jaccard" in html  # the method sentence under the Jaccard figure
    assert '<select id="ov-commune" name="commune">' in html
    assert '<option value="fromagerie"' in html
    assert "Géo" in html and "Click" in html  # platform names, not keys, on the page


def test_filters_reach_the_tables_and_links(client: FlaskClient) -> None:
    html = client.get("/overlap?commune=Toulouse&categorie=fromagerie").get_data(as_text=True)
    assert 'href="/overlap/platforms.csv?commune=Toulouse&amp;categorie=fromagerie"' in html
    assert "commune « Toulouse »" in html and "catégorie « fromagerie »" in html


def listed_platforms(world: World) -> list[str]:
    """The replica platforms with listings in the world (in the sources file's order): this
    Toulouse world has no shop for the Grand Nancy's own platform."""
    with Catalog.open(world.catalog) as catalog:
        found = {x["source"] for x in catalog.listings()}
    return [p for p in PLATFORMS if p in found]


def test_csv_download(client: FlaskClient, world: World) -> None:
    r = client.get("/overlap/platforms.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="platforms.csv"'
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["platform", "shops", "offers", "exclusive_shops", "shared_shops"]
    assert [row[0] for row in rows[1:]] == listed_platforms(world)
    filtered = client.get("/overlap/by_commune.csv?commune=Toulouse")
    assert 'filename="by_commune-Toulouse.csv"' in filtered.headers["Content-Disposition"]
    methods = client.get("/overlap/methods.csv").get_data(as_text=True)
    assert methods.startswith("table,method")
    assert client.get("/overlap/nope.csv").status_code == 404


def test_figure_svg(client: FlaskClient) -> None:
    r = client.get("/overlap/figures/jaccard_shops.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert r.data.lstrip().startswith(b"<?xml") and b"<svg" in r.data
    assert b"<script" not in r.data
    assert client.get("/overlap/figures/other.svg").status_code == 404


def test_json_report(client: FlaskClient) -> None:
    doc = client.get("/overlap.json?categorie=fromagerie").json
    assert doc["filters"] == {"commune": None, "category": "fromagerie"}
    assert {"platforms", "tables", "methods"} <= set(doc)


def test_bad_filter_is_400(client: FlaskClient) -> None:
    assert client.get("/overlap?commune=" + "x" * 101).status_code == 400


@pytest.fixture
def fresh(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[FlaskClient, dict[str, int]]:
    """A new app (empty caches) counting how often the catalog is read and a report computed."""
    calls = {"load": 0, "compute": 0}
    real_load, real_compute = overlap_data.load_build, overlap_data.compute_overlap

    def load(*args: Any, **kwargs: Any) -> Any:
        calls["load"] += 1
        return real_load(*args, **kwargs)

    def compute(*args: Any, **kwargs: Any) -> Any:
        calls["compute"] += 1
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(search_overlap, "load_build", load)
    monkeypatch.setattr(overlap_data, "compute_overlap", compute)
    app = create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off"})
    return app.test_client(), calls


@pytest.mark.parametrize("path", ["/overlap", "/overlap/platforms.csv", "/overlap.json",
                                  "/overlap/figures/upset_shops.svg"])
def test_an_unknown_filter_value_is_a_400_naming_it_and_computes_nothing(
        fresh: tuple[FlaskClient, dict[str, int]], path: str) -> None:
    client, calls = fresh
    r = client.get(f"{path}?commune=Atlantis")
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "Atlantis" in body and "commune" in body
    r = client.get(f"{path}?categorie=%3Cscript%3Ezz")
    assert r.status_code == 400
    assert r.mimetype == "application/json" or "<script>zz" not in r.get_data(as_text=True)
    # the build was read once (with its unfiltered report); nothing computed for the values
    assert calls == {"load": 1, "compute": 1}


def test_the_json_error_names_parameter_and_value(fresh: tuple[FlaskClient, dict[str, int]],
                                                  ) -> None:
    client, _ = fresh
    error = client.get("/overlap.json?commune=Toulous").json
    assert error["error"] == "bad_parameter" and error["parameter"] == "commune"
    assert "'Toulous'" in error["message"] and "Toulouse" in error["message"]  # close values


def test_filters_are_matched_whatever_the_case_and_cached_per_build(
        fresh: tuple[FlaskClient, dict[str, int]]) -> None:
    client, calls = fresh
    html = client.get("/overlap?commune=TOULOUSE").get_data(as_text=True)
    assert "commune « Toulouse »" in html  # the build's spelling
    computed = calls["compute"]
    for path in ("/overlap?commune=toulouse", "/overlap/platforms.csv?commune=Toulouse",
                 "/overlap.json?commune=TouLouse"):
        assert client.get(path).status_code == 200
    assert calls["compute"] == computed and calls["load"] == 1


def test_cli_refuses_an_unknown_commune(world: World, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(world.catalog.parent))
    result = CliRunner().invoke(overlap_cmd, ["--out", str(tmp_path), "--commune", "Tolouse",
                                              "--no-plots"])
    assert result.exit_code == 1
    assert "no commune 'Tolouse'" in result.output and "Toulouse" in result.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_prints_and_writes(world: World, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(world.catalog.parent))
    out = tmp_path / "ov"
    result = CliRunner().invoke(overlap_cmd, ["--out", str(out), "--format", "json",
                                              "--category", "fromagerie", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "Par plateforme" in result.output and "Paires de plateformes" in result.output
    assert "catégorie « fromagerie »" in result.output
    doc = json.loads((out / "overlap.json").read_text(encoding="utf-8"))
    assert doc["filters"]["category"] == "fromagerie"
    result = CliRunner().invoke(overlap_cmd, ["--out", str(out / "csv")])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (out / "csv").iterdir()}
    assert {"platforms.csv", "pairs_shops.csv", "methods.csv", "upset_shops.svg",
            "jaccard_shops.png", "exclusive_shops.svg"} <= names


def test_cli_without_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    result = CliRunner().invoke(overlap_cmd, [])
    assert result.exit_code == 1 and "no catalog" in result.output


def test_changes_between_builds(world: World, tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    shutil.copy(world.catalog, path)
    with Catalog.open(path) as catalog:  # a shop leaves Click'n Co between two builds
        run = catalog.begin_run("clickandco", mode="incremental")
        assert catalog.mark_gone(run, "clickandco", ["xss-shop"]) == 1
        catalog.finish_run(run, "complete")
        build(catalog, index=False)
    with Catalog.open_read_only(path) as catalog:
        data = overlap_report(catalog, PLATFORMS)
    assert data.changes is not None
    rows = {(c.platform): c for c in data.changes}
    assert rows["clickandco"].shops_left == 1 and rows["clickandco"].shops_joined == 0
    assert rows["geolocal31"].shops_left == 0
    app = create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                      "AGORA_BACKEND": object()})
    html = app.test_client().get("/overlap").get_data(as_text=True)
    assert "Arrivées et départs entre relevés" in html and 'href="/overlap/changes.csv"' in html
