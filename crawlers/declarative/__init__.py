"""Declarative connectors: a new platform from its ``sources.yaml`` entry alone, no code.

A source whose ``connector`` is one of the four types below is crawled by a
generic crawler configured by its ``extract:`` block, validated and compiled
when the sources file is loaded (``schema``: every problem named with its file,
line, source and key). The format, with examples, is ``docs/connectors.md``.

- ``schema``: the keys of every block and their compiling into specs;
- ``fields``: selectors, item rules, reading records into listings;
- ``html``: ``HtmlSpider`` (page rules, links, drift-proof next chains);
- ``json_api``: ``DeclarativeApiConnector`` (endpoints and their pagination);
- ``sitemap_jsonld``: ``SitemapSpider`` (sitemaps, schema.org objects);
- ``geojson``: ``GeoJsonConnector`` (bounding-box tiles split under the cap).

The generic crawlers are the ones the hand-written platforms subclass, as
Scrapy's site spiders subclass its ``SitemapSpider``; declarative crawls run on
the same machinery (``CatalogSpider``, ``ApiConnector`` and its ``Fetcher``),
so they have the same politeness, retries, resumability and error recording.
"""

from __future__ import annotations

from crawlers.registry import CrawlerType


def crawler_types() -> list[CrawlerType]:
    """The hook ``crawlers.registry`` calls: the declarative types."""
    schema = "crawlers.declarative.schema"
    return [
        CrawlerType("html", "spider", "crawlers.declarative.html:DeclarativeHtmlSpider",
                    "HTML (or JSON) pages read by named page rules: CSS/XPath/JMESPath, "
                    "links, next pages, announced totals", extract=f"{schema}:compile_html"),
        CrawlerType("json_api", "api", "crawlers.declarative.json_api:DeclarativeApiConnector",
                    "JSON endpoints: JMESPath, page/offset/cursor/next_link pagination, "
                    "for_each", extract=f"{schema}:compile_api"),
        CrawlerType("sitemap_jsonld", "spider",
                    "crawlers.declarative.sitemap_jsonld:DeclarativeSitemapSpider",
                    "sitemaps, then each page's schema.org JSON-LD or microdata",
                    extract=f"{schema}:compile_sitemap"),
        CrawlerType("geojson", "api", "crawlers.declarative.geojson:DeclarativeGeoJsonConnector",
                    "GeoJSON by bounding box, tiles split while the answer is capped",
                    extract=f"{schema}:compile_geojson"),
    ]
