"""Source health: the rules, the check, a degraded run in the sink, and a broken layout."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from agora.commands.status import accept_cmd, status_cmd
from catalog.errors import CatalogError
from catalog.status import source_statuses
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import SourceConfigError
from crawlers.health import (
    HealthRules,
    RunFigures,
    accept_degraded_run,
    check_health,
    parse_rules,
)
from crawlers.listing import PageResult
from crawlers.orchestrator import crawl_sources
from crawlers.sink import CatalogSink
from replicas.platforms.toulouse_boutiques import ToulouseBoutiques
from replicas.server import ReplicaCluster
from search_ui.operator import operator_bp

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "config" / "sources.yaml"
KEY = "toulouse_boutiques"


# --------------------------------------------------------------------------- rules
def test_rules_default_and_parsed() -> None:
    assert parse_rules(None) == HealthRules()
    rules = parse_rules({"min_listing_ratio": 0.3, "min_fill_ratio": 1, "min_listings": 5,
                         "ignore_fields": ["shop.email"], "enabled": True}, source="x")
    assert rules == HealthRules(min_listing_ratio=0.3, min_fill_ratio=1.0, min_listings=5,
                                ignore_fields=("shop.email",))


@pytest.mark.parametrize(("health", "words"), [
    ({"min_ratio": 0.5}, "unknown key 'min_ratio'"),
    ({"min_listing_ratio": "half"}, "wrong type"),
    ({"min_listing_ratio": 1.5}, "between 0 and 1"),
    ({"min_listings": True}, "wrong type"),
    ({"min_listings": 0}, "at least 1"),
    ({"enabled": "yes"}, "wrong type"),
    ({"ignore_fields": ["email"]}, "kind.field"),
])
def test_bad_rules_are_config_errors(health: dict[str, Any], words: str) -> None:
    with pytest.raises(SourceConfigError, match=words) as err:
        parse_rules(health, source="clickandco")
    assert "source 'clickandco': health:" in str(err.value)
    assert err.value.source == "clickandco"


# --------------------------------------------------------------------------- the check
BASE = RunFigures(kinds={"shop": 100, "product": 400},
                  fill_rates={"shop.name": 1.0, "shop.address": 0.95, "shop.email": 0.3,
                              "product.title": 1.0, "product.price": 0.98}, run_id=7)


def figures(**changes: Any) -> RunFigures:
    return dataclasses.replace(BASE, run_id=8, **changes)


def test_same_figures_are_ok() -> None:
    report = check_health(figures(), BASE, HealthRules())
    assert (report.state, report.problems, report.baseline_run) == ("ok", [], 7)


def test_listings_falling_under_the_ratio_is_degraded() -> None:
    report = check_health(figures(kinds={"shop": 49, "product": 390}), BASE, HealthRules())
    assert report.degraded
    [problem] = report.problems
    assert (problem.check, problem.key, problem.baseline, problem.current) == (
        "listings", "shop", 100, 49)
    assert "shop listings fell from 100 to 49" in report.message()
    assert check_health(figures(kinds={"shop": 50, "product": 390}), BASE,
                        HealthRules()).state == "ok"  # exactly half is still fine
    assert check_health(figures(kinds={"shop": 49, "product": 390}), BASE,
                        HealthRules(min_listing_ratio=0.4)).state == "ok"


def test_a_kind_vanishing_is_degraded() -> None:
    report = check_health(figures(kinds={"shop": 100}), BASE, HealthRules())
    assert [p.key for p in report.problems] == ["product"]


def test_a_watched_field_emptying_is_degraded() -> None:
    rates = {**BASE.fill_rates, "shop.address": 0.4, "shop.email": 0.0}
    report = check_health(figures(fill_rates=rates), BASE, HealthRules())
    # email was filled in 30% only: not watched; address 95% -> 40% is under half
    assert [(p.check, p.key) for p in report.problems] == [("fill", "shop.address")]
    assert "shop.address filled in 40% of listings, was 95%" in report.message()
    assert check_health(figures(fill_rates=rates), BASE,
                        HealthRules(ignore_fields=("shop.address",))).state == "ok"
    assert check_health(figures(fill_rates=rates), BASE, HealthRules(min_fill_ratio=0.4)
                        ).state == "ok"


def test_small_kinds_are_not_judged() -> None:
    base = RunFigures(kinds={"shop": 10}, fill_rates={"shop.address": 1.0})
    now = RunFigures(kinds={"shop": 2}, fill_rates={"shop.address": 0.0})
    assert check_health(now, base, HealthRules()).state == "ok"
    assert check_health(now, base, HealthRules(min_listings=2)).degraded


def test_partial_and_incremental_runs_are_judged_on_fill_rates_only() -> None:
    few = {"shop": 30, "product": 40}
    for kind in ({"status": "partial"}, {"mode": "incremental"}):
        assert check_health(figures(kinds=few, **kind), BASE, HealthRules()).state == "ok"
        rates = {**BASE.fill_rates, "product.price": 0.1}
        report = check_health(figures(kinds=few, fill_rates=rates, **kind), BASE, HealthRules())
        assert [p.key for p in report.problems] == ["product.price"]


def test_no_baseline_and_disabled() -> None:
    assert check_health(figures(kinds={}), None, HealthRules()).state == "no_baseline"
    assert check_health(figures(kinds={}), BASE, HealthRules(enabled=False)).state == "off"


# --------------------------------------------------------------------------- the sink
def shops(n: int, *, address: bool = True, label: str = "") -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        item = {"kind": "shop", "source_id": f"s{i}", "url": f"https://demo.test/shop/{i}",
                "name": f"Shop {i}{label}", "city": "Toulouse"}
        if address:
            item["address"] = f"{i} rue de Metz"
        out.append(item)
    return out


def crawl(catalog: Catalog, listings: list[dict[str, Any]], *, mode: str = "full",
          health: dict[str, Any] | None = None, failed_page: bool = False) -> Any:
    run_id = catalog.begin_run("demo", mode=mode)
    sink = CatalogSink(catalog, run_id, "demo", health=health)
    sink.write(PageResult(url="https://demo.test/list", listings=listings))
    if failed_page:
        sink.write(PageResult(url="https://demo.test/list?page=2", page=False, failed=True,
                              errors=[("https://demo.test/list?page=2", "http_500", "lost")]))
    return sink.finish()


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    with Catalog.open(":memory:") as cat:
        yield cat


def test_a_run_whose_fields_fell_is_degraded_and_put_back(catalog: Catalog) -> None:
    first = crawl(catalog, shops(30))
    assert first.status == "complete" and first.stats["health"]["state"] == "no_baseline"
    before = {i["source_id"]: i for i in catalog.listings(source="demo")}

    run = crawl(catalog, shops(30, address=False, label=" (nouveau)"))
    assert run.status == "degraded"
    assert "shop.address filled in 0% of listings, was 100%" in run.message
    assert "nothing marked gone" in run.message
    assert run.stats["health"]["reverted"] == 30 and run.gone == 0
    # every listing kept its last good version, and stays live
    assert {i["source_id"]: i for i in catalog.listings(source="demo")} == before
    assert catalog.count_listings("demo", status="gone") == 0
    [error] = catalog.errors(run.id)
    assert error["kind"] == "degraded" and error["url"].startswith("https://demo.test/shop/")
    assert run.stats["errors_by_kind"] == {"degraded": 1}
    events = {r[0] for r in catalog.conn.execute(
        "SELECT event FROM listing_events WHERE run_id = ?", (run.id,))}
    assert events == {"updated", "reverted"}
    assert catalog.conn.execute("SELECT count(*) FROM listing_history").fetchone()[0] == 0

    # the source recovers: compared with the last good run, complete again
    again = crawl(catalog, shops(30, label=" (nouveau)"))
    assert again.status == "complete" and again.stats["health"]["baseline_run"] == first.id
    assert again.updated == 30


def test_listings_falling_keeps_everything_live(catalog: Catalog) -> None:
    crawl(catalog, shops(40))
    run = crawl(catalog, shops(40)[:5])
    assert run.status == "degraded" and run.gone == 0
    assert catalog.count_listings("demo") == 40
    assert "shop listings fell from 40 to 5" in run.message
    # a partial run is not judged on counts, only fill rates: no degradation here
    partial = crawl(catalog, shops(40)[:30], failed_page=True)
    assert partial.status == "partial"


def test_thresholds_come_from_the_sources_entry(catalog: Catalog) -> None:
    crawl(catalog, shops(40))
    assert crawl(catalog, shops(40)[:15], health={"min_listing_ratio": 0.3}).status == "complete"
    assert catalog.count_listings("demo") == 15  # a complete full run marks the rest gone
    assert crawl(catalog, shops(40)[:3], health={"enabled": False}).status == "complete"
    with pytest.raises(SourceConfigError):
        CatalogSink(catalog, catalog.begin_run("demo"), "demo", health={"ratio": 1})


def test_accepting_a_degraded_run_makes_it_the_baseline(catalog: Catalog) -> None:
    crawl(catalog, shops(40))
    with pytest.raises(CatalogError, match="not degraded"):
        accept_degraded_run(catalog, "demo")
    degraded = crawl(catalog, shops(40)[:10])
    assert degraded.status == "degraded"
    accept_degraded_run(catalog, "demo")
    assert catalog.baseline_run("demo").id == degraded.id
    after = crawl(catalog, shops(40)[:10])
    assert after.status == "complete" and after.gone == 30


def test_imports_are_not_judged(catalog: Catalog) -> None:
    crawl(catalog, shops(40))
    run_id = catalog.begin_run("demo", kind="import")
    sink = CatalogSink(catalog, run_id, "demo")
    sink.write(PageResult(url="file:///x", listings=shops(2)))
    assert sink.finish().status == "complete"


# --------------------------------------------------------------------------- links elsewhere
OFFSITE = {"followed": 75, "skipped": {"cdn.test:80": 540, "evil.test:80": 8}}


def crawl_skipping(catalog: Catalog, offsite: dict[str, Any],
                   health: dict[str, Any] | None = None) -> Any:
    """A run that met links elsewhere, recorded as a spider records them."""
    run_id = catalog.begin_run("demo")
    sink = CatalogSink(catalog, run_id, "demo", health=health)
    sink.write(PageResult(url="https://demo.test/list", listings=shops(40)))
    for host, n in offsite["skipped"].items():
        sink.write(PageResult(url=None, page=False, errors=[(
            f"http://{host}/p/1", "offsite_skipped", f"{n} link(s) or sitemap entries on {host}, "
            "not the platform's host, not followed")]))
    return sink.finish(extra_stats={"offsite": offsite})


def test_a_run_that_skipped_a_large_share_elsewhere_is_degraded(
        catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crawl(catalog, shops(60))
    run = crawl_skipping(catalog, OFFSITE)
    assert run.status == "degraded" and run.gone == 0
    assert "548 of 623 links and sitemap entries (88%) were on other hosts (cdn.test:80 540, "\
           "evil.test:80 8)" in (run.message or "")
    assert catalog.count_listings("demo", status="gone") == 0  # the 20 not seen stay live
    assert {e["kind"] for e in catalog.errors(run.id)} == {"offsite_skipped", "degraded"}
    few = {"followed": 600, "skipped": {"cdn.test:80": 8}}
    assert crawl_skipping(catalog, few).status == "complete"  # 1 %: reported only
    assert crawl_skipping(catalog, OFFSITE, {"max_offsite_share": 0.9}).status == "complete"
    assert crawl_skipping(catalog, few, {"max_offsite_share": 0.01}).status == "degraded"
    assert crawl_skipping(catalog, OFFSITE, {"enabled": False}).status == "complete"
    with pytest.raises(SourceConfigError, match="max_offsite_share' must be between 0 and 1"):
        parse_rules({"max_offsite_share": 2})


def test_the_operator_sees_the_hosts_skipped(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    with Catalog.in_home(home) as catalog:
        run = crawl_skipping(catalog, OFFSITE)
    monkeypatch.setenv("AGORA_HOME", str(home))
    monkeypatch.setenv("AGORA_SOURCES", str(SOURCES))
    result = CliRunner().invoke(status_cmd, ["--json"])
    assert result.exit_code == 0, result.output
    [source] = [s for s in json.loads(result.output)["sources"] if s["key"] == "demo"]
    assert source["state"] == "degraded" and "on other hosts" in source["last_run"]["message"]
    skipped = {e["url"]: e["reason"] for e in source["errors"] if e["kind"] == "offsite_skipped"}
    assert skipped["http://cdn.test:80/p/1"].startswith("540 link(s) or sitemap entries on "
                                                        "cdn.test:80")
    result = CliRunner().invoke(status_cmd, ["demo"], env={"COLUMNS": "200"})
    assert "offsite_skipped: 540 link(s) or sitemap entries on cdn.test:80" in result.output
    app = Flask("operator-test")
    app.config.update(AGORA_CATALOG=str(home / "catalog.sqlite"), AGORA_OPERATOR_TOKEN="s3cret")
    app.register_blueprint(operator_bp)
    page = app.test_client().get("/sources", headers={"Authorization": "Bearer s3cret"})
    assert page.status_code == 200 and "cdn.test:80" in page.get_data(as_text=True)
    assert run.stats["offsite"] == OFFSITE


# --------------------------------------------------------------------------- a broken selector
class RelaidOutBoutiques(ToulouseBoutiques):
    """Toulouse Boutiques after a redesign: the shop sheet's classes changed."""

    layout = "v1"

    def _shop_body(self, *args: Any, **kwargs: Any) -> str:
        html = super()._shop_body(*args, **kwargs)
        if self.layout == "v2":  # the address and the phone moved into new blocks
            html = (html.replace('class="adresse"', 'class="bloc-adresse"')
                    .replace('class="telephone"', 'class="bloc-contact"'))
        return html

    def switch_layout(self, layout: str) -> None:
        self.layout = layout
        self._index.cache.clear()


def test_a_changed_layout_degrades_the_source_and_loses_nothing(tmp_path: Path,
                                                                monkeypatch: Any) -> None:
    cluster = ReplicaCluster(7, 60, ports={}, platforms=(KEY,))
    platform = RelaidOutBoutiques(cluster.world, faults=cluster.faults)
    cluster.platforms[KEY] = platform
    home = tmp_path / "home"
    with cluster:
        config = dataclasses.replace(load_sources(SOURCES)[KEY], base_url=cluster.urls[KEY])
        [clean] = crawl_sources([config], home, poll_seconds=0.1)
        assert clean.run.status == "complete", clean.run.message
        with Catalog.in_home(home) as catalog:
            before = {i["source_id"]: i for i in catalog.listings(source=KEY)}
        assert len(before) == len(platform.records)

        platform.switch_layout("v2")
        [broken] = crawl_sources([config], home, poll_seconds=0.1)

    run = broken.run
    assert run.status == "degraded", run.message
    assert run.gone == 0
    fell = {p["key"] for p in run.stats["health"]["problems"]}
    assert fell == {"shop.address", "shop.postcode", "shop.city", "shop.phone"}
    assert broken.errors_by_kind == {"degraded": 4}
    with Catalog.in_home(home) as catalog:
        after = {i["source_id"]: i for i in catalog.listings(source=KEY)}
        assert catalog.count_listings(KEY, status="gone") == 0
        errors = catalog.errors(run.id)
    assert after == before  # every listing live, in its last good version
    assert all(e["url"].startswith(cluster.urls[KEY] + "/boutique/")
               for e in errors if e["kind"] == "degraded")

    # the operator is told: agora sources status ...
    monkeypatch.setenv("AGORA_HOME", str(home))
    monkeypatch.setenv("AGORA_SOURCES", str(SOURCES))
    result = CliRunner().invoke(status_cmd, ["--json"])
    assert result.exit_code == 0, result.output
    [source] = [s for s in json.loads(result.output)["sources"] if s["key"] == KEY]
    assert source["state"] == "degraded" and source["last_run"]["id"] == run.id
    assert source["last_good_run"]["id"] == clean.run.id
    assert any("shop.address" in p for p in source["problems"])
    assert {e["kind"] for e in source["errors"]} == {"degraded"}
    result = CliRunner().invoke(status_cmd, [KEY, "--check"])
    assert result.exit_code == 1 and "degraded" in result.output

    # ... and on /sources
    app = Flask("operator-test")
    app.config.update(AGORA_CATALOG=str(home / "catalog.sqlite"), AGORA_OPERATOR_TOKEN="s3cret")
    app.register_blueprint(operator_bp)
    page = app.test_client().get("/sources", headers={"Authorization": "Bearer s3cret"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'state-degraded">dégradée' in html and "Extraction en baisse" in html
    assert "champ shop.address rempli dans 0 % des annonces, contre 100 %" in html

    # accepted as the new baseline by the operator (the platform really changed)
    result = CliRunner().invoke(accept_cmd, [KEY])
    assert result.exit_code == 0 and f"run {run.id} is the new baseline" in result.output
    with Catalog.in_home(home) as catalog:
        [status] = [s for s in source_statuses(catalog) if s.key == KEY]
        assert status.last_good_run["id"] == run.id
