"""Ma Ville Mon Shopping, connected by its entry in config/sources.yaml alone.

The platform has no connector code: the ``html`` declarative type reads its
microdata shop cards and the JSON catalogue behind each card. That it is crawled
exactly, under faults and across a kill, is the platform contract
(test_platform_contract.py); here, a layout change must show as a broken
selector and harm nothing.
"""

from __future__ import annotations

from pathlib import Path

from catalog.store import Catalog
from replicas.server import ReplicaCluster
from tests.crawlers.conftest import crawl_once, expected, live, repository_config

KEY = "mavillemonshopping"


def test_a_changed_layout_shows_as_a_broken_selector_and_harms_nothing(
        tmp_path: Path) -> None:
    with ReplicaCluster(7, 120, ports={}, platforms=(KEY,)) as cluster:
        platform = cluster.platforms[KEY]
        platform.page_size = 8
        config = repository_config(KEY, cluster.urls[KEY])
        home = tmp_path / "home"
        first = crawl_once(config, home)
        assert first.run.status == "complete"
        platform.layout = "v2"  # the cards' class and data attributes are renamed
        broken = crawl_once(config, home)
        pages = -(-sum(r.kind == "shop" for r in platform.records) // platform.page_size)
        assert broken.run.status == "partial", broken.run.message
        assert broken.errors_by_kind == {"layout": pages}
        assert broken.run.gone == 0 and broken.run.listings == 0
        assert live(home, KEY) == expected(platform)  # every listing kept live
        assert broken.run.stats["fill_rates"] == {}
        with Catalog.in_home(home) as catalog:
            [error] = {e["reason"] for e in catalog.errors(broken.run.id)}
        assert error == "no shop found at 'article.carte-boutique'"
