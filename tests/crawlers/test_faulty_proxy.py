"""Every declarative type crawled through a proxy that spoils answers loses nothing (issue 12).

Between the crawler and the replica, ``FaultyProxy`` answers 503s, resets connections,
answers slowly and cuts answers short; each type's run still ends complete, with every
listing of the truth, each field its entry maps as the platform serves it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from replicas.server import ReplicaCluster
from tests.crawlers.conftest import config_of, crawl_once, expected, live, repository_config
from tests.crawlers.faulty_proxy import FaultyProxy
from tests.crawlers.test_declarative import DANS_MA_ZONE, GEOLOCAL31, TOUT_TOULOUSE


def _declarative(text: str, key: str) -> Callable[[str], Any]:
    return lambda url: dataclasses.replace(config_of(text, key), base_url=url)


CASES = {  # name: (platform, its configuration, replica attributes)
    "html": ("mavillemonshopping", lambda url: repository_config("mavillemonshopping", url),
             {"page_size": 6}),
    "sitemap_jsonld": ("dansmazone", _declarative(DANS_MA_ZONE, "dansmazone"),
                       {"sitemap_size": 40}),
    "json_api": ("tout_toulouse", _declarative(TOUT_TOULOUSE, "tout_toulouse"),
                 {"shops": 300}),
    "json_api_post": ("achetezlocal", lambda url: repository_config("achetezlocal", url),
                      {"page_cap": 9}),
    "json_api_graphql": ("panier_toulousain",
                         lambda url: repository_config("panier_toulousain", url),
                         {"page_cap": 6}),
    "geojson": ("geolocal31", _declarative(GEOLOCAL31, "geolocal31"), {"cap": 8}),
}


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "replica-demo-token")


@pytest.mark.parametrize("case", list(CASES))
def test_a_crawl_through_a_spoiling_proxy_loses_nothing(case: str, tmp_path: Path) -> None:
    key, config_for, attributes = CASES[case]
    attributes = dict(attributes)
    shops = attributes.pop("shops", 100)  # enough requests for every kind of spoiling
    with ReplicaCluster(5, shops, ports={}, platforms=(key,)) as cluster:
        platform = cluster.platforms[key]
        for name, value in attributes.items():
            setattr(platform, name, value)
        platform.set_world(platform.world)
        port = int(cluster.urls[key].rsplit(":", 1)[1])
        with FaultyProxy(port, rate=0.5, seed=len(case)) as proxy:
            platform.base_url = proxy.url  # what the listings' URLs are made of
            config = dataclasses.replace(config_for(proxy.url), timeout=2.0, retries=5)
            report = crawl_once(config, tmp_path / "home", full=True)
        assert report.run.status == "complete", report.run.message
        assert set(proxy.spoiled) == {"5xx", "reset", "slow", "truncated"}, proxy.spoiled
        got, truth = live(tmp_path / "home", key), expected(platform)
        assert got.keys() == truth.keys()
        for sid, listing in got.items():  # every field the entry maps, as served
            assert {k: v for k, v in truth[sid].items() if k in listing} == listing, sid
        assert report.errors_by_kind == {}
