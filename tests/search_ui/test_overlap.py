"""The analysts' overlap page, its CSV and figures, and ``agora overlap``."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agora.commands.overlap import overlap_cmd
from agora.pipeline import build
from catalog.store import Catalog
from dedup.overlap_data import overlap_report
from search_ui.app import create_app
from tests.search_ui.helpers import World

PLATFORMS = ["tout_toulouse", "toulouse_boutiques", "clickandco", "dansmazone", "geolocal31",
             "mavillemonshopping"]


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


def test_csv_download(client: FlaskClient) -> None:
    r = client.get("/overlap/platforms.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="platforms.csv"'
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["platform", "shops", "offers", "exclusive_shops", "shared_shops"]
    assert [row[0] for row in rows[1:]] == PLATFORMS
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
