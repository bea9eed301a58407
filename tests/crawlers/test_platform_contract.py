"""The contract every platform's crawler meets, run against each replica over real HTTP.

As tests/catalog/test_search_contract.py does for search backends, each platform
(built in or declarative, API or spider) is crawled from its entry in
config/sources.yaml by a worker process, and must:

- get every listing exactly as the platform serves it, twice without a change,
  and after an epoch change mark exactly the new, updated and gone listings;
- ask nothing robots.txt disallows;
- under faults (5xx, timeouts, slow and truncated answers, malformed pages,
  pagination drift, broken records) end complete with every listing, and record
  exactly the broken records;
- when its worker is killed mid-crawl, resume the same run from what the catalog
  holds (pages done, the checkpoint), without starting over, losing or marking
  gone anything.

What only one platform does is checked by the ``extra_*`` functions of its case
(e.g. Toulouse Boutiques' re-paging counters); the rest of a platform's
behaviour is tested beside its crawler (tests/crawlers/test_<platform>.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from protego import Protego
from werkzeug.test import Client

from catalog.store import Catalog
from crawlers import registry
from crawlers.config import load_sources
from crawlers.orchestrator import RunReport
from crawlers.source import SourceConfig
from replicas.faults import FaultProfile
from replicas.platforms import PLATFORM_CLASSES
from replicas.platforms.base import Platform
from replicas.platforms.geolocal31 import BAD_ID_OFFSET
from replicas.server import ReplicaCluster
from tests.conftest import SOURCES_FILE
from tests.crawlers.conftest import (
    Gate,
    crawl_once,
    dead_pid,
    expected,
    live,
    repository_config,
    start_worker,
)

FAULTS = FaultProfile.parse("5xx=0.1,truncated=0.05,malformed=0.05,drift=0.2,slow=0.05,"
                            "timeout=0.03,timeout_seconds=2.5,bad=0.08")
INVALID = {"invalid_record", "invalid_listing"}


def sets(**attributes: Any) -> Callable[[Platform], None]:
    """Set attributes of the replica (small pages, a small cap) for a small world."""
    def setup(platform: Platform) -> None:
        for name, value in attributes.items():
            setattr(platform, name, value)
        platform.set_world(platform.world)
    return setup


def bad_records(platform: Platform) -> int:
    """Broken records the platform serves (an invalid_record or invalid_listing each)."""
    return sum(platform.injector.is_bad_record(r.source_id) for r in platform.records)


# ---------------------------------------------------------------------- platform specifics
def extra_tout_toulouse_faults(report: RunReport, platform: Platform, home: Path) -> None:
    injected = platform.injector.injected
    assert injected["drift"] and injected["5xx"] and injected["truncated"]
    assert injected["timeout"] + injected["slow"] > 0


def extra_clickandco_faults(report: RunReport, platform: Platform, home: Path) -> None:
    injected = platform.injector.injected
    http = report.run.stats["http"]  # every fault was retried and got through
    assert http.get("retry_5xx", 0) == injected["5xx"] > 0
    assert http.get("retry_malformed", 0) == injected["truncated"]
    assert http.get("retry_timeout", 0) >= injected["timeout"]


def extra_geolocal31_faults(report: RunReport, platform: Platform, home: Path) -> None:
    bad = {f"GL31-{BAD_ID_OFFSET + r.native['index']:06d}" for r in platform.records
           if platform.injector.is_bad_record(r.source_id)}
    with Catalog.in_home(home) as catalog:
        reasons = [row["reason"] for row in catalog.errors(report.run.id)]
    assert {r.rsplit("id=", 1)[1].rstrip(")") for r in reasons} == bad
    assert report.run.stats["http"]["requests"] > report.run.pages  # retried, got through


def extra_toulouse_boutiques_faults(report: RunReport, platform: Platform, home: Path) -> None:
    injected = platform.injector.injected
    assert injected["drift"] and injected["malformed"] and injected["5xx"]
    assert injected["timeout"] and injected["slow"]
    scrapy_stats = report.run.stats["scrapy"]
    assert scrapy_stats["toulouse_boutiques/repaging_rounds"] > 0  # drift seen, made good
    assert "toulouse_boutiques/incomplete_chains" not in scrapy_stats
    assert scrapy_stats["retry/reason_count/malformed"] > 0
    bad_urls = {f"{platform.base_url}/boutique/{slug}"
                for slug in platform._index.bad_shops}  # type: ignore[attr-defined]
    with Catalog.in_home(home) as catalog:
        errors = catalog.errors(report.run.id, limit=1000)
    assert {e["url"] for e in errors if e["kind"] == "invalid_record"} == bad_urls


def extra_toulouse_boutiques_crawl(report: RunReport, platform: Platform, home: Path) -> None:
    # its link patterns never even meet a link robots.txt disallows
    assert report.run.stats["robots_skipped"] == 0
    assert all(_path(p).startswith(("/categorie/", "/boutique/", "/produit/"))
               or _path(p) in ("/", "/robots.txt") for p in platform.requests)


def extra_dansmazone_faults(report: RunReport, platform: Platform, home: Path) -> None:
    injected = platform.injector.injected
    assert injected["malformed"] and injected["5xx"] and injected["timeout"]
    assert report.run.stats["scrapy"].get("retry/reason_count/malformed", 0) > 0
    bad = {platform.base_url + path for _, path in platform.bad_pages()}  # type: ignore[attr-defined]
    with Catalog.in_home(home) as catalog:
        errors = catalog.errors(report.run.id, limit=1000)
    assert {e["url"] for e in errors if e["kind"] == "invalid_record"} == bad


def extra_mavillemonshopping_faults(report: RunReport, platform: Platform, home: Path) -> None:
    injected = platform.injector.injected
    assert injected["drift"] and injected["5xx"]
    assert injected["malformed"] + injected["truncated"] > 0
    assert report.run.stats["scrapy"].get("retry/count", 0) >= injected["5xx"]
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert {r.kind for r in bad} == {"shop", "product"}
    with Catalog.in_home(home) as catalog:
        reasons = [e["reason"] for e in catalog.errors(report.run.id)]
    assert sum("without name" in r for r in reasons) == sum(r.kind == "shop" for r in bad)
    assert sum("without source_id" in r for r in reasons) == sum(r.kind == "product"
                                                                 for r in bad)


def extra_posted_api_faults(report: RunReport, platform: Platform, home: Path) -> None:
    """A POST search or GraphQL API, from YAML alone: every fault retried and got through."""
    injected = platform.injector.injected
    assert injected["5xx"] and injected["truncated"]
    http = report.run.stats["http"]
    assert http.get("retry_5xx", 0) == injected["5xx"]
    assert http.get("retry_malformed", 0) == injected["truncated"]
    assert http.get("retry_timeout", 0) >= injected["timeout"]
    asked = {p.partition("#")[0] for p in platform.requests} - {"/robots.txt"}  # (the test's)
    assert asked in ({"/api/v2/search"}, {"/graphql"})  # one path: pages told apart by body


def _path(request_path: str) -> str:
    return urlsplit(request_path).path


Check = Callable[[RunReport, Platform, Path], None]


@dataclass(frozen=True)
class Case:
    """A platform, the small world it is crawled on, and what only it must show."""

    key: str
    shops: int = 80
    seed: int = 7
    fault_seed: int = 7  # a world where the platform serves broken records
    setup: Callable[[Platform], None] = lambda platform: None
    changes: dict[str, Any] = field(default_factory=dict)  # to its sources.yaml entry
    epoch: int = 1  # the epoch at which this small world changes on the platform
    regions: tuple[str, ...] = ("toulouse",)  # of the world (replicas.world)
    bad: Callable[[Platform], int] = bad_records
    extra_crawl: Check | None = None
    extra_faults: Check | None = None
    exact_resume: bool = False  # the resumed run fetches only what the checkpoint left
    # a resumed run skips what was stored before the kill; False when every page is in a
    # "next" chain or leads to others (nothing is done before the end: all is fetched again)
    resume_skips: bool = True

    def config(self, platform: Platform, **changes: Any) -> SourceConfig:
        return repository_config(self.key, platform.base_url, **{**self.changes, **changes})

    def __str__(self) -> str:
        return self.key


# What a platform needs beyond the defaults (a world where it has pages to turn, its own
# checks); every platform of replicas.platforms.PLATFORM_CLASSES runs the contract,
# with the defaults when it has no entry here.
QUIRKS = {case.key: case for case in [
    Case("tout_toulouse", shops=150, seed=12, fault_seed=12,
         changes={"options": {"page_size": 10, "overlap": 3}},
         extra_faults=extra_tout_toulouse_faults),
    Case("toulouse_boutiques", shops=100, fault_seed=11, setup=sets(page_size=3),
         extra_crawl=extra_toulouse_boutiques_crawl,
         extra_faults=extra_toulouse_boutiques_faults,
         bad=lambda p: len(p._index.bad_shops)),  # type: ignore[attr-defined]
    Case("clickandco", epoch=2, extra_faults=extra_clickandco_faults),
    Case("dansmazone", shops=100, seed=13, fault_seed=13, setup=sets(sitemap_size=60),
         extra_faults=extra_dansmazone_faults,
         bad=lambda p: len(p.bad_pages())),  # type: ignore[attr-defined]
    Case("geolocal31", shops=100, seed=5, fault_seed=5, setup=sets(cap=8),
         extra_faults=extra_geolocal31_faults, exact_resume=True),
    Case("mavillemonshopping", shops=150, setup=sets(page_size=6),
         extra_faults=extra_mavillemonshopping_faults, resume_skips=False),
    Case("achetezlocal", shops=150, setup=sets(page_cap=7),
         extra_faults=extra_posted_api_faults),
    Case("panier_toulousain", shops=150, epoch=2, setup=sets(page_cap=4),
         extra_faults=extra_posted_api_faults),
    # the Grand Nancy's city platform, declarative json_api, on a world of both regions
    Case("achetezgrandnancy", shops=120, setup=sets(page_size=7),
         regions=("toulouse", "grand_nancy")),
]}
CASES = [QUIRKS.get(key) or Case(key) for key in PLATFORM_CLASSES]


def test_every_crawler_type_behind_the_replicas_is_in_the_contract() -> None:
    connectors = {repository_config(c.key, "http://x").connector for c in CASES}
    assert {t.engine for t in registry.default_registry() if t.name in connectors} == {
        "api", "spider"}
    assert any(registry.get(c).declarative for c in connectors)
    assert set(QUIRKS) <= set(PLATFORM_CLASSES)  # no quirk of a platform that is gone
    assert set(PLATFORM_CLASSES) == set(ReplicaCluster(1, 5, ports={}).platforms)
    assert set(PLATFORM_CLASSES) <= set(load_sources(SOURCES_FILE))  # each one configured


def start(replica_cluster: Callable[..., ReplicaCluster], case: Case,
          faults: FaultProfile | None = None, *, seed: int | None = None
          ) -> tuple[ReplicaCluster, Platform]:
    cluster = replica_cluster(shops=case.shops, seed=case.seed if seed is None else seed,
                              platforms=(case.key,), faults=faults, regions=case.regions)
    platform = cluster.platforms[case.key]
    case.setup(platform)
    return cluster, platform


def disallowed(platform: Platform, agent: str) -> list[str]:
    """The paths asked of the platform that its robots.txt disallows to ``agent``."""
    robots = Protego.parse(Client(platform.wsgi()).get("/robots.txt").get_data(as_text=True))
    return [p for p in platform.requests if not robots.can_fetch(platform.base_url + p, agent)]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_crawl_is_exact_stable_and_follows_an_epoch_change(
        case: Case, replica_cluster: Callable[..., ReplicaCluster], tmp_path: Path) -> None:
    cluster, platform = start(replica_cluster, case)
    config, home = case.config(platform), tmp_path / "home"
    first = crawl_once(config, home, full=True)
    before = expected(platform)
    assert first.run.status == "complete", first.run.message
    assert live(home, case.key) == before
    assert first.run.new == len(before) and first.errors_by_kind == {}
    assert {r.kind for r in platform.records} <= {"shop", "product"}
    if case.extra_crawl:
        case.extra_crawl(first, platform, home)
    if registry.resolve(config).engine == "spider":
        assert platform.requests[0] == "/robots.txt"  # read before anything else
    assert disallowed(platform, config.agent) == []

    again = crawl_once(config, home, full=True)
    assert again.run.status == "complete", again.run.message
    assert (again.run.new, again.run.updated, again.run.gone) == (0, 0, 0)
    assert again.run.unchanged == len(before)

    cluster.set_epoch(case.epoch)
    after = expected(platform)
    later = crawl_once(config, home, full=True)
    assert later.run.status == "complete", later.run.message
    assert later.run.new == len(after.keys() - before.keys()) > 0
    assert later.run.gone == len(before.keys() - after.keys()) > 0
    assert later.run.updated == sum(before[k] != after[k]
                                    for k in before.keys() & after.keys()) > 0
    assert live(home, case.key) == after


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_crawl_under_faults_is_complete_and_records_exactly_the_broken_records(
        case: Case, replica_cluster: Callable[..., ReplicaCluster], tmp_path: Path) -> None:
    _, platform = start(replica_cluster, case, FAULTS, seed=case.fault_seed)
    home = tmp_path / "home"
    config = case.config(platform, timeout=1.0)
    report = crawl_once(config, home, full=True)
    assert report.run.status == "complete", report.run.message
    assert live(home, case.key) == expected(platform)
    bad = case.bad(platform)
    assert bad > 0, "the test world needs a broken record"
    assert set(report.errors_by_kind) <= INVALID, report.errors_by_kind
    assert sum(report.errors_by_kind.values()) == bad
    assert sum(platform.injector.injected.values()) > 0
    assert disallowed(platform, config.agent) == []
    if case.extra_faults:
        case.extra_faults(report, platform, home)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_worker_killed_mid_crawl_is_resumed_without_starting_over(
        case: Case, gated_replica: Callable[..., tuple[Platform, Gate]],
        tmp_path: Path) -> None:
    platform, gate = gated_replica(case.key, shops=60, seed=case.seed, budget=4,
                                   regions=case.regions)
    case.setup(platform)
    config, home = case.config(platform), tmp_path / "home"
    home.mkdir()
    leaves = case.resume_skips and registry.resolve(config).engine == "spider"
    with Catalog.in_home(home) as catalog:
        run_id = catalog.begin_run(case.key, pid=dead_pid())
        worker = start_worker(config, run_id, home)
        try:
            deadline = time.monotonic() + 120
            while True:  # until pages are stored (leaves, for a spider) and more are asked
                if leaves:
                    stored = len(catalog.done_pages(run_id))
                else:
                    stored = catalog.get_run(run_id).pages
                if stored and gate.stalled():
                    break
                assert time.monotonic() < deadline and worker.poll() is None, \
                    "the worker finished or stalled before it could be killed"
                if gate.stalled():
                    gate.grant(4)
                time.sleep(0.05)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        killed = catalog.get_run(run_id)
        done = catalog.done_pages(run_id)
    assert killed.status == "running" and killed.new < len(expected(platform))
    first_request = platform.requests[0]
    gate.open()
    report = crawl_once(config, home)
    assert report.resumed and report.run.id == run_id
    assert report.run.status == "complete", report.run.message
    assert live(home, case.key) == expected(platform)
    assert report.run.gone == 0 and report.errors_by_kind == {}
    if leaves:  # what the killed worker stored as done is not fetched again
        assert done and not {urlsplit(u).path for u in done} & {_path(p) for p in
                                                                gate.after_open}
    elif case.resume_skips:  # the connector resumed from its checkpoint, not its first page
        assert gate.after_open[0] != first_request
    else:
        assert not done
    if case.exact_resume:
        assert report.run.stats["http"]["requests"] == report.run.pages - killed.pages
