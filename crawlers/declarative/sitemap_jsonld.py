"""The ``sitemap_jsonld`` type: sitemaps lead to pages whose schema.org objects are the listings.

``SitemapSpider`` is the generic spider, configured by attributes as Scrapy's
``SitemapSpider`` is: it reads ``/robots.txt`` for its ``Sitemap:`` lines (when
``robots``; else, or when it names none, ``sitemap_index``), follows sitemap
indexes to their child sitemaps (gzip too, strictly parsed: one cut short is
retried; up to the protocol's 50 MB), and requests each listed page of the
platform's hosts whose path a rule of ``sitemap_rules`` matches ((regex,
callback name), first match wins); entries on other hosts are counted per host
(``CatalogSpider.follows``), other URLs counted and left alone. ``read_schema_page`` reads such a page:
a page without ``page_complete`` text is retried as cut short; a complete page
whose JSON-LD does not parse is fetched once more, then recorded as an
``invalid_record`` (a broken record, its id from ``record_id`` kept live: the
run stays complete); a page without the object looked for is a layout change
(the page counts as lost).

``DeclarativeSitemapSpider`` maps objects with the page rules of a
``sitemap_jsonld`` entry (see ``docs/connectors.md``), a broken page's id read by
its rule when the rule reads it from the URL; the Dans Ma Zone spider is a
hand-written one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.declarative.fields import read_items
from crawlers.declarative.schema import SitemapPage, SitemapSpec, compile_spec
from crawlers.errors import (
    BodyTooLarge,
    ErrorKind,
    InvalidJsonLd,
    InvalidRecord,
    MalformedSitemap,
    PageError,
    SourceConfigError,
    SourceLayoutChanged,
)
from crawlers.listing import PageResult
from crawlers.parsing.schema_org import find_object, schema_objects
from crawlers.parsing.schema_types import SYNTAXES
from crawlers.parsing.sitemaps import (
    DEFAULT_SITEMAP_INDEX,
    MAX_SITEMAP_BYTES,
    parse_sitemap,
    sitemaps_from_robots,
)
from crawlers.spiders.base import CatalogSpider

log = logging.getLogger(__name__)

ReadObjects = Callable[[str, list[dict[str, Any]]], PageResult]


class SitemapSpider(CatalogSpider):
    """robots.txt -> sitemap indexes -> sitemaps -> the pages a rule matches."""

    # One item per page and a synchronous catalog pipeline: Scrapy's 100 item tasks
    # per response would be pure overhead (~20 % of the crawl's CPU). One at a time.
    custom_settings = {"CONCURRENT_ITEMS": 1}

    #: read the Sitemap: lines of /robots.txt first
    robots: bool = True
    #: where the sitemaps start when robots.txt names none (or is not read)
    sitemap_index: str = DEFAULT_SITEMAP_INDEX
    #: (regex on the URL path, name of the callback reading those pages)
    sitemap_rules: Sequence[tuple[str | re.Pattern[str], str]] = ()
    #: schema.org syntaxes read on a page
    syntaxes: tuple[str, ...] = SYNTAXES
    #: text a whole page contains
    complete_marker: str = "</html>"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rules: list[tuple[re.Pattern[str], str]] = []

    def rules(self) -> list[tuple[re.Pattern[str], str]]:
        """``sitemap_rules`` compiled (read on first use: subclasses may set them late)."""
        if not self._rules:
            self._rules = [(re.compile(p) if isinstance(p, str) else p, callback)
                           for p, callback in self.sitemap_rules]
        return self._rules

    def page_complete(self, text: str) -> bool:
        """Whether a page arrived whole."""
        return self.complete_marker in text

    def record_id(self, url: str) -> str | None:
        """The source id of a page's record when the URL tells it (kept live if broken)."""
        return None

    # -------------------------------------------------------------- sitemaps
    async def start(self) -> AsyncIterator[Any]:
        if self.robots:
            yield scrapy.Request(self.absolute("/robots.txt"), callback=self.parse_robots,
                                 errback=self.robots_failed, dont_filter=True, priority=100)
        else:
            yield self.sitemap_request(self.sitemap_index)

    def parse_robots(self, response: Response) -> Iterator[Any]:
        text = getattr(response, "text", None) or response.body.decode("utf-8", "replace")
        sitemaps = [u for u in sitemaps_from_robots(text) if self.follows(u)]
        for url in sitemaps or [self.absolute(self.sitemap_index)]:
            yield self.sitemap_request(url)

    def robots_failed(self, failure: Failure) -> Iterator[Any]:
        """No robots.txt to read: start from the sitemap index."""
        log.info("%s: robots.txt unavailable (%s), starting from %s", self.config.key,
                 failure.getErrorMessage(), self.sitemap_index)
        yield self.sitemap_request(self.sitemap_index)

    def sitemap_request(self, url: str) -> scrapy.Request:
        """A sitemap: up to the protocol's 50 MB (uncompressed), whatever ``max_body``."""
        return self.request(url, self.parse_sitemap, priority=50,
                            meta={"download_maxsize": MAX_SITEMAP_BYTES})

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            kind, entries = parse_sitemap(response.body)
        except MalformedSitemap as exc:
            yield from self.retry_malformed(response, f"sitemap: {exc}")
            return
        except BodyTooLarge as exc:
            yield PageResult(url=response.url, page=False, failed=True,
                             errors=[PageError(response.url, exc.kind, f"sitemap: {exc}")])
            return
        self.count("sitemaps")
        rules = self.rules()
        for entry in entries:
            if not self.follows(entry.loc):
                continue
            if kind == "index":
                yield self.sitemap_request(entry.loc)
                continue
            path = urlsplit(entry.loc).path
            number = next((i for i, (pattern, _) in enumerate(rules) if pattern.search(path)),
                          None)
            if number is None:
                self.count("other_pages_skipped")
                continue
            yield self.request(entry.loc, getattr(self, rules[number][1]),
                               meta={"rule": number})

    # -------------------------------------------------------------- pages
    def read_schema_page(self, response: Response, read: ReadObjects) -> Iterator[Any]:
        """The PageResult ``read(url, objects)`` makes of a page's schema.org objects."""
        url = response.url
        text = getattr(response, "text", None)
        if text is None or not self.page_complete(text):
            yield from self.retry_malformed(response, "page cut short (no "
                                            f"{self.complete_marker!r})")
            return
        try:
            result = read(url, schema_objects(text, url, self.syntaxes))
        except InvalidJsonLd as exc:
            if not response.meta.get("jsonld_refetched"):
                # complete yet unparsable: fetch once more before calling it broken
                callback = response.request.callback if response.request else None
                yield self.request(url, callback or self.parse_sitemap, dont_filter=True,
                                   meta={"rule": response.meta.get("rule"),
                                         "jsonld_refetched": True})
                return
            yield self.broken(url, str(exc), self.record_id(url))
            return
        except InvalidRecord as exc:
            yield self.broken(url, str(exc), exc.source_id or self.record_id(url))
            return
        except SourceLayoutChanged as exc:
            log.warning("%s: %s on %s", self.config.key, exc, url)
            yield PageResult(url=url, page=False, failed=True, errors=[PageError.of(exc, url)])
            return
        yield result

    def broken(self, url: str, reason: str, source_id: str | None) -> PageResult:
        """A permanently broken record: an error, its id kept live, the page done."""
        self.count("invalid_records")
        return PageResult(url=url, errors=[PageError(url, ErrorKind.INVALID_RECORD, reason)],
                          touched=[source_id] if source_id else [], done=True)


class DeclarativeSitemapSpider(SitemapSpider):
    """Sitemaps -> pages -> schema.org objects mapped by a ``sitemap_jsonld`` entry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = compile_spec(self.config)
        if not isinstance(spec, SitemapSpec):
            raise SourceConfigError("not a sitemap_jsonld source", source=self.config.key)
        self.spec = spec
        self.robots = spec.robots
        self.sitemap_index = spec.sitemap
        self.syntaxes = spec.syntaxes
        self.complete_marker = spec.complete
        self.sitemap_rules = [(page.pattern, "parse_rule") for page in spec.pages]

    def record_id(self, url: str) -> str | None:
        """The id the matching page rule reads from the URL (``from_url``), if it does."""
        path = urlsplit(url).path
        page = next((p for p in self.spec.pages if p.pattern.search(path)), None)
        return page.item.id_from_url(url) if page is not None else None

    def parse_rule(self, response: Response) -> Iterator[Any]:
        page = self.spec.pages[response.meta["rule"]]
        yield from self.read_schema_page(response, lambda url, objects: self._read(
            page, url, objects))

    def _read(self, page: SitemapPage, url: str, objects: list[dict[str, Any]]) -> PageResult:
        obj = find_object(objects, page.types)
        if obj is None:
            raise SourceLayoutChanged(f"no {'/'.join(sorted(page.types)[:3])}... object on "
                                      "the page", source=self.config.key, url=url)
        result = PageResult(url=url, done=True)
        read_items(page.item, [obj], objects, url, result, page_url_default=True)
        return result
