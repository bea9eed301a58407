"""The national benchmark at a tiny size: every figure printed, the counts consistent.

Runs benchmarks/national.py as a user would (a process of its own) on the session's
PostgreSQL and Elasticsearch, with the SQLite path beside them; no time is checked,
only that the figures are there and agree with the world generated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.national_world import TERRITORIES, Mover, national_listings
from tests.postgres_server import PostgresServer
from tests.search_node import SearchServer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.elasticsearch]


def test_national_world_moves_shops_into_their_territory() -> None:
    nancy = next(t for t in TERRITORIES if t.key == "nancy")
    shop = {"kind": "shop", "source": "dansmazone", "source_id": "commerce-1",
            "url": "http://127.0.0.1:8704/commerce/1", "name": "Fromagerie Roux",
            "postcode": "31000", "city": "Toulouse", "lat": 43.61, "lon": 1.45,
            "phone": "05.61.22.33.44", "description": "Fromagerie à Toulouse."}
    moved = Mover(nancy).move(shop)
    assert moved["source"] == "dansmazone" and moved["source_id"] == "nancy-commerce-1"
    assert moved["city"] == "Nancy" and moved["postcode"] in ("54000", "54100")
    assert 48.6 < moved["lat"] < 48.8 and 6.1 < moved["lon"] < 6.3
    assert moved["phone"] == "03.61.22.33.44"
    assert moved["description"] == "Fromagerie à Nancy."
    assert Mover(nancy).move({**shop, "source": "tout_toulouse"})["source"] == "tout_nancy"


def test_national_world_spans_the_territories() -> None:
    items = list(national_listings(1500))
    assert {i["source"] for i in items} >= {"tout_nancy", "geolocal67", "mavillemonshopping"}
    keys = [(i["source"], i["source_id"]) for i in items]
    assert len(keys) == len(set(keys))  # national providers: one source, every city's ids


def test_national_benchmark_prints_consistent_figures(
        tmp_path: Path, postgres_server: PostgresServer,
        elasticsearch_server: SearchServer) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "national.py"), "--listings", "1500",
         "--seconds", "1", "--queries", "40", "--clients", "2", "--work", str(tmp_path),
         "--postgres-url", postgres_server.url,
         "--elasticsearch-url", elasticsearch_server.url, "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "crawl to searchable (s)" in done.stdout and "search p50 / p99" in done.stdout
    figures = json.loads(out.read_text())
    generated = figures["listings"]
    assert generated == sum(figures["sources"].values()) > 1000
    assert len(figures["territories"]) >= 10
    paths = figures["paths"]
    assert set(paths) == {"postgresql", "sqlite"}
    for name, path in paths.items():
        assert path["ingest"]["written"] == path["ingest"]["listings"] == generated, name
        assert path["ingest"]["errors"] == 0
        entities = sum(path["build"]["entities"].values())
        assert path["build"]["documents"] == path["search"]["documents"] == entities > 0
        assert path["search"]["probe_found"], name
        assert path["crawl_to_searchable_s"] >= path["build"]["seconds"] > 0
        assert set(path["build"]["stages"]) == {"normalize", "dedup", "index"}
        for phase in ("ingest", "build", "search"):
            assert path[phase]["peak_rss_mb"] > 0
        for clients in ("once", "1", "2"):
            run = path["search"]["runs"][clients]
            assert run["queries"] > 0 and run["errors"] == 0
            assert 0 < run["p50_ms"] <= run["p99_ms"]
    assert paths["postgresql"]["build"]["backend"] == "elasticsearch"
    assert paths["sqlite"]["build"]["backend"] == "embedded"
    # the same data, the same links, whichever catalog holds them
    assert paths["postgresql"]["build"]["entities"] == paths["sqlite"]["build"]["entities"]
    # servers it did not start are not sampled (their memory is not the benchmark's)
    assert figures["servers_peak_rss_mb"] == {}


def test_national_benchmark_skips_sqlite_above_its_cap(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "national.py"), "--listings", "1500",
         "--paths", "sqlite", "--sqlite-max", "1000", "--work", str(tmp_path),
         "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["paths"] == {}
    assert "--sqlite-max 1,000" in figures["skipped"]["sqlite"]
    assert "sqlite: skipped" in done.stdout
