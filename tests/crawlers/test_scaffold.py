"""``agora sources scaffold``: drafts for every replica platform, crawled unedited.

For each platform the draft is written from the site alone, loaded by the sources
loader, and crawled by a worker; what it gets is printed as a share of the truth per
kind (a listing counts when its page URL or its id is among the draft's listings of
that kind: the platform's own ids may carry conventions no draft can guess, such as a
``commerce-`` prefix, and an API record may carry no page URL). Only floors that the
drafts are known to reach are asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from protego import Protego
from werkzeug.test import Client

from crawlers.config import parse_sources
from crawlers.errors import NothingToDraft
from crawlers.scaffold import Probe, scaffold
from crawlers.scaffold.scripts import ScriptCall, Unknown, script_calls
from replicas.platforms import PLATFORM_CLASSES
from replicas.server import ReplicaCluster
from tests.crawlers.conftest import crawl_once, live

#: shares of the truth (shops, products) the unedited draft is known to reach
FLOORS = {"mavillemonshopping": (1.0, 1.0), "dansmazone": (1.0, 1.0),
          "panier_toulousain": (1.0, 1.0), "clickandco": (1.0, 0.0), "geolocal31": (1.0, 0.0),
          "achetezlocal": (1.0, 0.0)}


def shares(key: str, home: Path, truth: list[dict]) -> tuple[float | None, float | None]:
    """(shops, products) found as a share of the truth (None: the platform has none)."""
    listings = live(home, key).values()
    out: list[float | None] = []
    for kind in ("shop", "product"):
        got = {item.get("url") for item in listings if item["kind"] == kind} | {
            item["source_id"] for item in listings if item["kind"] == kind}
        wanted = [t for t in truth if t["kind"] == kind]
        out.append(sum(t["url"] in got or t["source_id"] in got for t in wanted)
                   / len(wanted) if wanted else None)
    return out[0], out[1]


def shown(share: float | None) -> str:
    return "   n/a" if share is None else f"{share:6.1%}"


@pytest.mark.slow
def test_each_platform_draft_loads_and_crawls_its_share_of_the_truth(tmp_path: Path) -> None:
    report = []
    with ReplicaCluster(5, 80, ports={}) as cluster:
        for key, platform in cluster.platforms.items():
            truth = list(platform.expected_listings())
            try:
                text = scaffold(cluster.urls[key], key, max_pages=60, seconds=60)
            except NothingToDraft:
                assert key not in FLOORS
                shop, product = (0.0 if any(t["kind"] == k for t in truth) else None
                                 for k in ("shop", "product"))
                report.append((key, "no draft", "-", shop, product))
                continue
            config = parse_sources(text, f"{key}.yaml")[key]  # a draft always loads
            home = tmp_path / key
            run = crawl_once(config, home, full=True)
            shop, product = shares(key, home, truth)
            report.append((key, config.connector, run.run.status, shop, product))
            floor = FLOORS.get(key, (0.0, 0.0))
            assert (shop or 0) >= floor[0] and (product or 0) >= floor[1], (key, shop, product,
                                                                           text)
    print("\nscaffold drafts, unedited: share of the truth found (by page URL or id)")
    for key, connector, status, shop, product in report:
        print(f"  {key:20} {connector:15} {status:9} shops {shown(shop)}  products "
              f"{shown(product)}")
    assert {r[0] for r in report} == set(PLATFORM_CLASSES)


def test_the_probe_obeys_robots_txt_and_its_budget() -> None:
    with ReplicaCluster(5, 40, ports={}, platforms=("mavillemonshopping",)) as cluster:
        platform = cluster.platforms["mavillemonshopping"]
        url = cluster.urls["mavillemonshopping"]
        with Probe(url, max_pages=6, seconds=30) as probe:
            assert probe.get("/panier") is None and probe.skipped == [url + "/panier"]
            assert probe.get("/") is not None
            assert probe.get("http://127.0.0.2:1/") is None  # another host: never asked
            while not probe.exhausted:
                probe.get(f"/boutiques?page={probe.fetched}")
            assert probe.get("/boutiques?page=99") is None
        robots = Protego.parse(Client(platform.wsgi()).get("/robots.txt").get_data(
            as_text=True))
        asked = [p for p in platform.requests if p != "/robots.txt"]
        assert len(asked) <= 6 and all(robots.can_fetch(url + p, "AgoraBot") for p in asked)


def test_a_script_fetch_is_read_as_far_as_its_literals_go() -> None:
    script = """const KEY = 'k-123'; let n = 3;
    function go(kind, after) { return fetch('/api/find', {method: 'post',
      headers: {'X-Key': KEY, Accept: "application/json"},
      body: JSON.stringify({kind: kind, size: 20, after: after, on: true})}); }
    fetch("/api/plain", {credentials: 'same-origin'});"""
    assert script_calls(script) == [
        ScriptCall("/api/find", "POST", {"X-Key": "k-123", "Accept": "application/json"},
                   {"kind": Unknown("kind"), "size": 20, "after": Unknown("after"),
                    "on": True}),
        ScriptCall("/api/plain")]
