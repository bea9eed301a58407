"""A few pages of any source, crawled without touching the catalog (``agora sources test``).

``preview_source`` resolves the source's crawler in the registry, as the worker
does, runs it until it has fetched the pages asked, and keeps what came out in a
``Preview``: listings validated against the contract, errors, and per kind how
many listings filled each contract field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import CrawlerProcess

from crawlers import registry
from crawlers.errors import InvalidListing, PageError
from crawlers.http import make_client
from crawlers.listing import FIELDS, PageResult, validate_listing
from crawlers.scrapy_support import scrapy_settings
from crawlers.source import SourceConfig


@dataclass
class Preview:
    """What a few pages of a source gave.

    ``listings`` are validated (contract) listings; ``errors`` are PageErrors,
    invalid listings included; ``pages`` counts pages fetched.
    """

    source: str
    connector: str
    pages: int = 0
    failed_pages: int = 0
    listings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[PageError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.listings:
            out[item["kind"]] = out.get(item["kind"], 0) + 1
        return out

    def fill(self) -> dict[str, dict[str, int]]:
        """Per kind, how many listings have each contract field filled."""
        out: dict[str, dict[str, int]] = {}
        for kind in self.counts():
            names = [f for f in FIELDS[kind] if f not in ("kind", "source", "source_id")]
            out[kind] = {name: sum(1 for item in self.listings
                                   if item["kind"] == kind and name in item) for name in names}
        return out

    def empty_fields(self) -> dict[str, list[str]]:
        """Per kind, the contract fields that came out empty in every listing."""
        return {kind: [name for name, n in fields.items() if n == 0]
                for kind, fields in self.fill().items()}

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "connector": self.connector, "pages": self.pages,
                "failed_pages": self.failed_pages, "counts": self.counts(),
                "fill": self.fill(), "empty_fields": self.empty_fields(),
                "errors": [list(e) for e in self.errors], "listings": self.listings}


class PreviewSink:
    """Takes a crawler's PageResults like ``CatalogSink`` does, but keeps them in memory."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview

    def write(self, result: PageResult) -> None:
        preview = self.preview
        if result.page:
            preview.pages += 1
        if result.failed:
            preview.failed_pages += 1
        preview.errors.extend(PageError(*e) for e in result.errors)
        for raw in result.listings:
            try:
                preview.listings.append(validate_listing({**raw, "source": preview.source}))
            except InvalidListing as exc:
                sid = raw.get("source_id") if isinstance(raw, dict) else None
                preview.errors.append(PageError(result.url, exc.kind,
                                                f"{exc} (source_id={sid!r})"))


def preview_source(config: SourceConfig, *, pages: int = 5,
                   log_file: str | None = None) -> Preview:
    """Crawl a few pages of any source (built-in or declarative) into a ``Preview``.

    Spiders run Scrapy in this process (a process can start Scrapy's reactor
    once: call this from a command, not from a long-lived program).
    """
    crawler_type = registry.resolve(config)
    crawler_class = crawler_type.load()
    preview = Preview(config.key, config.connector)
    sink = PreviewSink(preview)
    if crawler_type.engine == "api":
        with make_client(config) as client:
            results = crawler_class(config, client).pages(None)
            try:
                for result in results:
                    sink.write(result)
                    if preview.pages >= pages:
                        break
            finally:
                results.close()
        return preview
    settings = scrapy_settings(config, log_file=log_file)
    settings["CLOSESPIDER_PAGECOUNT"] = pages + (1 if config.obey_robots else 0)
    # few requests in flight, so that the spider stops near the page count
    settings["CONCURRENT_REQUESTS"] = settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = max(
        1, min(config.concurrency, pages))
    settings["LOG_ENABLED"] = log_file is not None
    settings["LOG_INSTALL_ROOT_HANDLER"] = False
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(crawler_class)
    process.crawl(crawler, source_config=config, sink=sink, done_pages=set())
    process.start()
    return preview
