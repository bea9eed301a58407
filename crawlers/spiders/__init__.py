"""Scrapy spiders for HTML platforms, one module per platform, registered as crawler types here.

Each subclasses a generic spider of ``crawlers.declarative`` (the paged-HTML
``HtmlSpider``, the ``SitemapSpider``), as Scrapy's site spiders subclass its
``SitemapSpider``: the walking is written once, the platform's reading here.
"""

from __future__ import annotations

from crawlers.registry import CrawlerType
from crawlers.validation import Key, at_least


def crawler_types() -> list[CrawlerType]:
    """The hook ``crawlers.registry`` calls: the built-in spiders."""
    return [
        CrawlerType(
            "toulouse_boutiques", "spider",
            "crawlers.spiders.toulouse_boutiques:ToulouseBoutiquesSpider",
            "Toulouse Boutiques' HTML: category pages (drift-proof), shops, products",
            options={
                "max_repage_rounds": Key((int,), "passes again over a category that lists "
                                         "fewer shops than it announces (4)",
                                         check=at_least(0)),
            }),
        CrawlerType(
            "dansmazone", "spider", "crawlers.spiders.dansmazone:DansMaZoneSpider",
            "Dans Ma Zone: sitemaps (gzip children too), then each page's schema.org JSON-LD",
            options={
                "sitemap_index": Key((str,), "the sitemap index when robots.txt names none "
                                     "(/sitemap_index.xml)"),
            }),
    ]
