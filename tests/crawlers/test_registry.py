"""The registry of crawler types: every caller resolves a source's crawler there."""

from __future__ import annotations

import textwrap
import types
from typing import Any

import pytest

from crawlers import registry
from crawlers.config import parse_sources
from crawlers.connectors.base import ApiConnector
from crawlers.connectors.tout_toulouse import ToutToulouseConnector
from crawlers.declarative.geojson import GeoJsonConnector
from crawlers.declarative.html import DeclarativeHtmlSpider, HtmlSpider
from crawlers.declarative.sitemap_jsonld import SitemapSpider
from crawlers.errors import SourceConfigError
from crawlers.registry import CrawlerType, Registry, default_registry
from crawlers.source import SourceConfig
from crawlers.spiders.base import CatalogSpider
from crawlers.validation import Key
from tests.conftest import SOURCES_FILE

BUILT_IN = {"tout_toulouse": "api", "clickandco": "api", "geolocal31": "api",
            "toulouse_boutiques": "spider", "dansmazone": "spider"}
DECLARATIVE = {"html": "spider", "json_api": "api", "sitemap_jsonld": "spider",
               "geojson": "api"}


def test_every_type_is_registered_once_through_the_same_hook() -> None:
    found = {t.name: t for t in default_registry()}
    assert {n: t.engine for n, t in found.items()} == BUILT_IN | DECLARATIVE
    assert {n for n, t in found.items() if t.declarative} == set(DECLARATIVE)
    for crawler_type in found.values():
        cls = crawler_type.load()
        base = ApiConnector if crawler_type.engine == "api" else CatalogSpider
        assert issubclass(cls, base), crawler_type.name
        assert crawler_type.help


def test_hand_written_spiders_subclass_the_generic_ones() -> None:
    assert issubclass(registry.get("toulouse_boutiques").load(), HtmlSpider)
    assert issubclass(registry.get("dansmazone").load(), SitemapSpider)
    assert registry.get("html").load() is DeclarativeHtmlSpider
    assert issubclass(registry.get("geolocal31").load(), GeoJsonConnector)
    assert issubclass(registry.get("geojson").load(), GeoJsonConnector)


def test_resolution_and_what_callers_ask_of_a_type() -> None:
    config = SourceConfig(key="tt", name="TT", connector="tout_toulouse", base_url="http://x")
    crawler_type = registry.resolve(config)
    assert crawler_type.load() is ToutToulouseConnector
    assert crawler_type.kind == "api" and crawler_type.supports_incremental()
    assert not registry.get("clickandco").supports_incremental()
    assert not registry.get("json_api").supports_incremental()
    assert not registry.get("toulouse_boutiques").supports_incremental()  # a spider
    assert registry.get("sitemap_jsonld").kind == "declarative"
    with pytest.raises(SourceConfigError) as info:
        registry.resolve(SourceConfig(key="x", name="X", connector="magic", base_url="h"))
    assert info.value.source == "x"
    assert str(info.value) == ("unknown connector 'magic' (built in: tout_toulouse, "
                               "clickandco, geolocal31, toulouse_boutiques, dansmazone; "
                               "declarative: html, json_api, sitemap_jsonld, geojson)")


class FeedConnector(ApiConnector):
    def pages(self, checkpoint: Any = None, *, since: Any = None) -> Any:
        return iter(())


def test_another_registry_takes_a_type_the_loader_then_accepts() -> None:
    own = Registry()
    own.register_module(types.SimpleNamespace(crawler_types=lambda: [CrawlerType(
        "feed", "api", f"{__name__}:FeedConnector", "a feed",
        options={"page": Key((int,), "page size")})]))
    with pytest.raises(SourceConfigError, match="registered twice"):
        own.register(own.get("feed"))
    text = textwrap.dedent("""\
        sources:
          demo: {name: D, connector: feed, base_url: http://x, options: {page: 3}}
        """)
    [config] = parse_sources(text, registry=own).values()
    assert own.resolve(config).load() is FeedConnector and config.option("page") == 3
    with pytest.raises(SourceConfigError, match="unknown connector 'feed'"):
        parse_sources(text)  # the default registry has no such type


@pytest.mark.parametrize(("connector", "options", "message"), [
    ("clickandco", "{page_size: 80}", "options.page_size: must be between 1 and 50, got 80"),
    ("clickandco", "{rate: 3}", "options.rate: unknown key 'rate' (known: page_size, "
                                "rate_burst, rate_limit, rate_limited_rounds, rate_margin)"),
    ("geolocal31", "{bbox: '1,2,3'}", "options.bbox: bbox must be minLon,minLat,maxLon,maxLat"),
    ("geolocal31", "{min_tile: 0}", "options.min_tile: must be at least"),
    ("tout_toulouse", "{overlap: many}", "options.overlap: must be an integer, got 'many'"),
    ("dansmazone", "{sitemap: /x.xml}", "options.sitemap: unknown key 'sitemap'"),
    ("html", "{x: 1}", "options: connector 'html' takes no options"),
])
def test_options_a_type_does_not_read_are_refused_at_load(connector: str, options: str,
                                                          message: str) -> None:
    extract = "\n    extract: {start: [/], pages: {p: {}}}" if connector == "html" else ""
    text = (f"sources:\n  demo:\n    name: D\n    connector: {connector}\n"
            f"    base_url: http://x\n    options: {options}{extract}\n")
    with pytest.raises(SourceConfigError) as info:
        parse_sources(text)
    assert str(info.value).startswith("sources.yaml:6: source 'demo': " + message), \
        str(info.value)


def test_the_repository_file_resolves_every_source() -> None:
    configs = parse_sources(SOURCES_FILE.read_text(encoding="utf-8"))
    kinds = {key: registry.resolve(c).kind for key, c in configs.items()}
    assert kinds == {"tout_toulouse": "api", "toulouse_boutiques": "spider",
                     "clickandco": "api", "dansmazone": "spider", "geolocal31": "api",
                     "mavillemonshopping": "declarative", "achetezlocal": "declarative",
                     "panier_toulousain": "declarative", "achetezgrandnancy": "declarative"}
