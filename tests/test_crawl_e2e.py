"""Every platform crawled at once through the CLI, as an operator runs it.

Complete (also with faults), incremental and safe across an epoch change,
resumable after SIGKILL, and exported in the listing contract.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.backends import SearchQuery, open_backend
from catalog.store import Catalog
from dedup.overlap_data import overlap_report
from normalizer.territories import load_territories
from replicas.faults import FaultProfile
from replicas.platforms import PLATFORM_CLASSES
from tests.conftest import ROOT, agora_env, run_agora, sources_with

ALL = tuple(PLATFORM_CLASSES)
BOTH = ("toulouse", "grand_nancy")  # the world's regions: one per territory


def catalog_listings(home: Path) -> dict[tuple[str, str], dict]:
    with Catalog.in_home(home) as cat:
        return {(x["source"], x["source_id"]): x for x in cat.listings()}


def expected(cluster) -> dict[tuple[str, str], dict]:
    return {(x["source"], x["source_id"]): x for x in cluster.expected_listings()}


def test_all_platforms_complete_then_incremental_and_safe(replica_cluster, crawl,
                                                          agora_home: Path,
                                                          tmp_path: Path) -> None:
    cluster = replica_cluster(shops=120, seed=21, regions=BOTH)
    first = crawl(cluster)
    assert {r["source"]: r["status"] for r in first} == {k: "complete" for k in ALL}
    assert catalog_listings(agora_home) == expected(cluster)

    again = crawl(cluster)
    assert all(r["new"] == 0 and r["updated"] == 0 and r["gone"] == 0 for r in again)
    assert catalog_listings(agora_home) == expected(cluster)

    cluster.set_epoch(1)
    later = crawl(cluster, full=True)
    assert all(r["status"] == "complete" for r in later)
    assert sum(r["gone"] for r in later) > 0 and sum(r["new"] for r in later) > 0
    assert catalog_listings(agora_home) == expected(cluster)
    with Catalog.in_home(agora_home) as cat:
        gone = cat.count_listings(status="gone")
        first_seen = cat.conn.execute("SELECT count(*) FROM listings WHERE first_run IS NOT "
                                      "NULL AND first_run < last_run").fetchone()[0]
    assert gone > 0 and first_seen > 0  # kept, not deleted; first_seen kept across runs

    out = tmp_path / "export.jsonl"
    run_agora(["export", "listings", "--out", str(out)], agora_env(agora_home))
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {(x["source"], x["source_id"]) for x in exported} == set(expected(cluster))


def test_both_territories_are_crawled_built_and_searched_apart(replica_cluster, crawl,
                                                              agora_home: Path,
                                                              tmp_path: Path) -> None:
    cluster = replica_cluster(shops=120, seed=24, regions=BOTH)
    runs = crawl(cluster)
    assert {r["source"]: r["status"] for r in runs} == {k: "complete" for k in ALL}
    listings = catalog_listings(agora_home)
    assert listings == expected(cluster)
    nancy = {k for k, x in listings.items() if str(x.get("postcode", "")).startswith("54")}
    # the city platform and the national providers, each from one site, serve Nancy
    served = set(load_territories("config/territories.yaml")["grand_nancy"].sources)
    assert {"achetezgrandnancy", "mavillemonshopping"} <= {s for s, _ in nancy} <= served
    assert any(source == "mavillemonshopping" and key not in nancy
               for key in listings for source in [key[0]])  # and Toulouse
    run_agora(["build"], agora_env(agora_home, cluster))
    backend = open_backend(agora_home / "catalog.sqlite")
    try:
        shops = {t: backend.search(SearchQuery(kinds=("shop",), per_page=100,
                                               filters=(("territory", (t,)),)))
                 for t in BOTH}
        assert shops["toulouse"].total > 0 and shops["grand_nancy"].total > 0
        communes = {t: {c for c, _ in r.facets["commune"]} for t, r in shops.items()}
        assert "Nancy" in communes["grand_nancy"] and "Toulouse" in communes["toulouse"]
        assert not communes["grand_nancy"] & communes["toulouse"]
        for hit in shops["grand_nancy"].hits:
            assert hit.document["postcode"].startswith("54"), hit.document
        nancy_platforms = {p for h in shops["grand_nancy"].hits for p in h.document["platforms"]}
        assert {"achetezgrandnancy", "mavillemonshopping"} <= nancy_platforms <= served
    finally:
        backend.close()

    # overlap and exports per territory
    territories = load_territories("config/territories.yaml")
    with Catalog.in_home(agora_home) as catalog:
        every = overlap_report(catalog, ALL).report
        apart = {t: overlap_report(catalog, ALL, territory=t, territories=territories).report
                 for t in BOTH}
    assert apart["grand_nancy"].total_shops == shops["grand_nancy"].total
    assert apart["toulouse"].total_shops + apart["grand_nancy"].total_shops == every.total_shops
    assert not {r.key for r in apart["grand_nancy"].by_commune} & {
        r.key for r in apart["toulouse"].by_commune}
    out = tmp_path / "nancy.jsonl"
    run_agora(["export", "listings", "--territory", "grand_nancy", "--out", str(out)],
              agora_env(agora_home, cluster))
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    nancy_shops = {(x["source"], x["source_id"]) for x in exported if x["kind"] == "shop"}
    assert nancy_shops == {k for k in nancy if listings[k]["kind"] == "shop"}
    assert all((x["source"], x["shop_source_id"]) in nancy_shops
               for x in exported if x["kind"] == "product")
    assert any(x["kind"] == "product" for x in exported)
    refused = run_agora(["export", "listings", "--territory", "lyon", "--out", str(out)],
                        agora_env(agora_home, cluster), check=False)
    assert refused.returncode != 0 and "lyon" in refused.stdout + refused.stderr


def test_faults_lose_nothing_and_a_dead_platform_stops_no_other(replica_cluster, crawl,
                                                               agora_home: Path,
                                                               tmp_path: Path) -> None:
    profile = FaultProfile.parse("5xx=0.06,truncated=0.04,malformed=0.04,drift=0.15,"
                                 "slow=0.03,timeout=0.01,timeout_seconds=2.5,bad=0.01")
    cluster = replica_cluster(shops=100, seed=22, faults=profile, regions=BOTH)
    fast = {"timeout": 1.0}
    sources = sources_with(tmp_path, **{k: dict(fast) for k in ALL})
    first = crawl(cluster, sources_file=sources)
    assert {r["source"]: r["status"] for r in first} == {k: "complete" for k in ALL}, first
    assert catalog_listings(agora_home) == expected(cluster)
    assert any(r["errors"] for r in first)  # the broken records were recorded

    # a platform down: its run fails, the others complete, nothing is marked gone
    overrides = {k: dict(fast) for k in ALL}
    overrides["clickandco"].update(base_url="http://127.0.0.1:9", retries=1)
    dead = sources_with(tmp_path, **overrides)
    second = crawl(cluster, sources_file=dead)
    by_source = {r["source"]: r for r in second}
    assert by_source["clickandco"]["status"] in ("failed", "partial")
    assert all(by_source[k]["status"] == "complete" for k in ALL if k != "clickandco")
    assert catalog_listings(agora_home) == expected(cluster)
    with Catalog.in_home(agora_home) as cat:
        assert cat.errors(source="clickandco")  # recorded where an operator sees it


@pytest.mark.slow
def test_a_crawl_killed_with_sigkill_resumes_with_nothing_lost(replica_cluster,
                                                               agora_home: Path,
                                                               tmp_path: Path) -> None:
    cluster = replica_cluster(shops=250, seed=23,
                              faults=FaultProfile.parse("slow=0.2,slow_seconds=0.05"))
    env = agora_env(agora_home, cluster)
    proc = subprocess.Popen([sys.executable, "-m", "agora.cli", "crawl", "--json"], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            with Catalog.in_home(agora_home) as cat:
                if cat.conn.execute("SELECT count(*) FROM listings").fetchone()[0] > 400:
                    break
        except Exception:  # the catalog may not exist yet
            continue
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Catalog.in_home(agora_home) as cat:
        killed = {r.source: r for r in cat.runs(limit=20)}
    assert any(r.status == "running" for r in killed.values())

    result = run_agora(["crawl", "--json"], env)
    reports = json.loads(result.stdout)
    assert all(r["status"] == "complete" for r in reports), reports
    assert any(r["resumed"] for r in reports)
    assert catalog_listings(agora_home) == expected(cluster)
    with Catalog.in_home(agora_home) as cat:
        dupes = cat.conn.execute("SELECT source, source_id, count(*) FROM listings GROUP BY "
                                 "source, source_id HAVING count(*) > 1").fetchall()
        assert not dupes
        assert not cat.conn.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone()
