"""Ma Ville Mon Shopping, crawled with nothing but its entry in config/sources.yaml.

The platform has no connector code: the ``html`` declarative type reads its
microdata shop cards and the JSON catalogue behind each card, as the entry
says. Its listings must reach the catalog exactly as the replica serves them,
under faults too, and a layout change must show as a broken selector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.orchestrator import crawl_sources
from replicas.faults import FaultProfile
from replicas.server import ReplicaCluster
from tests.conftest import SOURCES_FILE

KEY = "mavillemonshopping"


def live(home: Path) -> dict[str, dict[str, Any]]:
    with Catalog.in_home(home) as catalog:
        return {item["source_id"]: item for item in catalog.listings(source=KEY)}


def expected(cluster: ReplicaCluster) -> dict[str, dict[str, Any]]:
    return {item["source_id"]: item for item in cluster.platforms[KEY].expected_listings()}


def test_the_cli_crawls_it_from_the_sources_file_alone(
        replica_cluster: Callable[..., ReplicaCluster], crawl: Callable[..., Any],
        agora_home: Path) -> None:
    cluster = replica_cluster(shops=150, platforms=(KEY,))
    platform = cluster.platforms[KEY]
    platform.page_size = 6  # several list pages, so that the next links are followed
    [summary] = crawl(cluster, KEY)  # AGORA_URL_MAVILLEMONSHOPPING points at the replica
    assert summary["status"] == "complete", summary
    assert live(agora_home) == expected(cluster)
    assert summary["new"] == len(platform.records) and summary["errors"] == {}
    assert {r.kind for r in platform.records} == {"shop", "product"}

    [again] = crawl(cluster, KEY)
    assert again["status"] == "complete"
    assert (again["new"], again["updated"], again["gone"]) == (0, 0, 0)
    assert again["unchanged"] == len(platform.records)

    before = {r.source_id: r.fields for r in platform.records}
    cluster.set_epoch(1)
    after = {r.source_id: r.fields for r in platform.records}
    [later] = crawl(cluster, KEY)
    assert later["status"] == "complete", later
    assert later["new"] == len(after.keys() - before.keys())
    assert later["gone"] == len(before.keys() - after.keys()) > 0
    assert later["updated"] == sum(before[k] != after[k]
                                   for k in before.keys() & after.keys()) > 0
    assert live(agora_home) == expected(cluster)


def test_a_crawl_under_faults_is_complete_and_records_the_broken_records(
        tmp_path: Path) -> None:
    faults = FaultProfile.parse("5xx=0.1,truncated=0.08,malformed=0.08,drift=0.25,slow=0.05,"
                                "timeout=0.02,timeout_seconds=2.5,bad=0.05")
    with ReplicaCluster(7, 200, ports={}, platforms=(KEY,), faults=faults) as cluster:
        platform = cluster.platforms[KEY]
        platform.page_size = 4
        config = replace(load_sources(SOURCES_FILE)[KEY], base_url=cluster.urls[KEY],
                         timeout=1.0)
        [report] = crawl_sources([config], tmp_path / "home", poll_seconds=0.1)
        assert report.run.status == "complete", report.run.message
        assert live(tmp_path / "home") == expected(cluster)
        bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
        assert {r.kind for r in bad} == {"shop", "product"}
        assert report.errors_by_kind == {"invalid_record": len(bad)}
        injected = platform.injector.injected
        assert injected["drift"] and injected["5xx"]
        assert injected["malformed"] + injected["truncated"] > 0
        scrapy_stats = report.run.stats["scrapy"]
        assert scrapy_stats.get("retry/count", 0) >= injected["5xx"]
        with Catalog.in_home(tmp_path / "home") as catalog:
            reasons = [e["reason"] for e in catalog.errors(report.run.id)]
        assert sum("without name" in r for r in reasons) == sum(r.kind == "shop" for r in bad)
        assert sum("without source_id" in r for r in reasons) == sum(r.kind == "product"
                                                                     for r in bad)


def test_a_changed_layout_shows_as_a_broken_selector_and_harms_nothing(
        tmp_path: Path) -> None:
    with ReplicaCluster(7, 120, ports={}, platforms=(KEY,)) as cluster:
        platform = cluster.platforms[KEY]
        platform.page_size = 8
        config = replace(load_sources(SOURCES_FILE)[KEY], base_url=cluster.urls[KEY])
        home = tmp_path / "home"
        [first] = crawl_sources([config], home, poll_seconds=0.1)
        assert first.run.status == "complete"
        platform.layout = "v2"  # the cards' class and data attributes are renamed
        [broken] = crawl_sources([config], home, poll_seconds=0.1)
        pages = -(-sum(r.kind == "shop" for r in platform.records) // platform.page_size)
        assert broken.run.status == "partial", broken.run.message
        assert broken.errors_by_kind == {"layout": pages}
        assert broken.run.gone == 0 and broken.run.listings == 0
        assert live(home) == expected(cluster)  # every listing kept live
        assert broken.run.stats["fill_rates"] == {}
        with Catalog.in_home(home) as catalog:
            [error] = {e["reason"] for e in catalog.errors(broken.run.id)}
        assert error == "no shop found at 'article.carte-boutique'"
