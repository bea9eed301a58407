"""A deployment's catalog, as docs/deploy.md runs it.

- crawl, build and search end to end on PostgreSQL, through the CLI, and the
  web app reading the same catalog read-only;
- backup and restore on both engines: the backup restored into an empty
  catalog serves the same answers (search results, entity pages) as the
  original; a target that already holds a catalog is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agora.importing import import_listings
from agora.pipeline import build
from catalog.store import CATALOG_URL_VARIABLE, Catalog
from replicas.truth import expected_listings
from search_ui.app import create_app
from search_ui.context import close_backend, get_catalog
from tests.conftest import agora_env, run_agora
from tests.postgres_server import PostgresServer

QUERIES = ("fromagerie", "boulangerie toulouse", "vin", "librairie", "chaussures")


def api_answers(location: str) -> dict[str, Any]:
    """What the web app answers, for a few searches and the entity pages of their hits."""
    app = create_app({"AGORA_CATALOG": location, "AGORA_RATE_LIMIT": "off"})
    answers: dict[str, Any] = {}
    try:
        client = app.test_client()
        for q in QUERIES:
            reply = client.get("/api/search", query_string={"q": q, "per_page": 20})
            assert reply.status_code == 200, reply.data
            data = reply.get_json()
            answers[q] = [(h["id"], h["name"], h["platforms"]) for h in data["hits"]]
            for hit in data["hits"][:3]:
                page = client.get(hit["url"].replace("http://localhost", ""))
                assert page.status_code == 200
                answers[hit["id"]] = client.get(hit["api_url"].replace(
                    "http://localhost", "")).get_json()
    finally:
        close_backend(app)
    assert any(answers[q] for q in QUERIES)
    return answers


@pytest.mark.postgres
def test_crawl_build_and_search_on_postgresql(replica_cluster: Any, postgres_url: str,
                                              agora_home: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = replica_cluster(shops=60, seed=41)
    env = agora_env(agora_home, cluster, AGORA_CATALOG_URL=postgres_url)
    crawled = json.loads(run_agora(["crawl", "--json"], env).stdout)
    assert {r["status"] for r in crawled} == {"complete"} and len(crawled) == len(cluster.urls)
    run_agora(["build"], env)
    found = json.loads(run_agora(["search", "fromagerie", "--json", "--per-page", "20"],
                                 env).stdout)
    assert found["total"] > 0
    assert not (agora_home / "catalog.sqlite").exists()  # the catalog is on the server
    assert any((agora_home).glob("catalog.*"))  # the embedded index lives in AGORA_HOME

    monkeypatch.setenv("AGORA_HOME", str(agora_home))
    monkeypatch.setenv(CATALOG_URL_VARIABLE, postgres_url)
    with Catalog.open(postgres_url) as catalog:
        assert {(x["source"], x["source_id"]): x for x in catalog.listings()} == {
            (x["source"], x["source_id"]): x for x in cluster.expected_listings()}
    answers = api_answers(postgres_url)
    cli_ids = [h["entity_id"] for h in found["hits"]]
    assert [h[0] for h in answers["fromagerie"]] == cli_ids  # one index, two readers

    app = create_app({"AGORA_CATALOG": postgres_url, "AGORA_RATE_LIMIT": "off",
                      "AGORA_OPERATOR_TOKEN": "op-token"})
    client = app.test_client()  # every page that reads the catalog, on PostgreSQL
    sources = client.get("/sources.json", headers={"Authorization": "Bearer op-token"})
    assert {s["state"] for s in sources.get_json()["sources"]} == {"ok"}
    overlap = client.get("/overlap.json")
    assert overlap.status_code == 200 and overlap.get_json()
    assert "Toulouse" in client.get("/pres-de-moi").get_data(as_text=True)
    near = client.get("/api/search", query_string={"q": "boulangerie", "place": "Toulouse"})
    assert near.status_code == 200 and near.get_json()["query"]["near"]["label"]
    close_backend(app)
    with app.test_request_context("/"):  # the web app reads only
        catalog = get_catalog()
        assert catalog.read_only
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            catalog.set_meta("written", "by the web app")
    status = json.loads(run_agora(["status", "--json"], env).stdout)
    assert status["catalog"]["engine"] == "postgresql" and status["build"]["status"] == "complete"


def _world_catalog(location: str, tmp_path: Path) -> None:
    path = tmp_path / "world.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for item in expected_listings(seed=43, shops=80):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    import_listings(path, location)
    with Catalog.open(location) as catalog:
        build(catalog)


@pytest.mark.parametrize("engine", [pytest.param("sqlite"),
                                    pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_backup_restored_into_an_empty_catalog_serves_the_same_answers(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    homes = {"live": tmp_path / "live", "restored": tmp_path / "restored"}
    if engine == "sqlite":
        locations = {name: str(home / "catalog.sqlite") for name, home in homes.items()}
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        locations = {name: server.create_database() for name in homes}
    envs = {name: agora_env(home, **({CATALOG_URL_VARIABLE: locations[name]}
                                     if engine == "postgresql" else {}))
            for name, home in homes.items()}
    for home in homes.values():
        home.mkdir()
    monkeypatch.setenv("AGORA_HOME", str(homes["live"]))
    _world_catalog(locations["live"], tmp_path)
    before = api_answers(locations["live"])

    backup = tmp_path / "backups" / "agora.backup"
    out = run_agora(["catalog", "backup", str(backup)], envs["live"]).stdout
    assert backup.stat().st_size > 0 and "backed up" in out
    assert "@" not in out or ":***@" in out or "://agora@" in out  # never a password

    restored = run_agora(["catalog", "restore", str(backup)], envs["restored"]).stdout
    assert "search index rebuilt" in restored
    monkeypatch.setenv("AGORA_HOME", str(homes["restored"]))
    assert api_answers(locations["restored"]) == before
    with Catalog.open(locations["live"]) as live, Catalog.open(locations["restored"]) as copy:
        assert list(copy.listings()) == list(live.listings())
        assert copy.entities.membership() == live.entities.membership()
        assert [r.id for r in copy.runs()] == [r.id for r in live.runs()]
        copy.entities.begin_build("full")  # ids go on after the restored ones
        assert copy.entities.last_build().id == live.entities.last_build().id + 1

    refused = run_agora(["catalog", "restore", str(backup)], envs["restored"], check=False)
    assert refused.returncode == 1 and ("exists" in refused.stderr
                                        or "already holds a catalog" in refused.stderr)
