"""The base of every Scrapy spider: run bookkeeping, errors, malformed pages, the platform's host.

A spider yields ``PageResult`` items (one per page with listings) and requests.
Every request it makes goes through ``self.request`` (the one place a request
is built, so per-source headers or credentials belong there) so that a page
lost after Scrapy's retries is recorded (URL, kind, reason) and makes the run
partial, while pages skipped by robots.txt or already stored by a killed run are
not errors. Links are followed only when ``self.on_platform(url)``. A page that arrives cut short or unparsable is retried with
``self.retry_malformed``; after the retries it is recorded and skipped.

Mark a page ``done=True`` only when a resumed run needs nothing more from it: a
page that carries listings *and* links to further pages (a shop page linking its
products) must stay ``done=False``, or a resumed run would never reach them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawlers.errors import ErrorKind, PageError
from crawlers.listing import PageResult, PageSink
from crawlers.runs import RunOutcome, RunStart
from crawlers.scrapy_support import AlreadyDone, scrapy_settings
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)


class CatalogSpider(scrapy.Spider):
    """A spider crawling one source into one catalog run."""

    def __init__(self, *args: Any, source_config: SourceConfig, sink: PageSink,
                 done_pages: set[str] | None = None, **kwargs: Any) -> None:
        kwargs["name"] = source_config.key
        super().__init__(*args, **kwargs)
        self.config = source_config
        self.sink = sink
        self.done_pages = done_pages or set()
        self.skipped_by_robots = 0

    @classmethod
    def run(cls, config: SourceConfig, sink: PageSink, *, start: RunStart | None = None,
            max_pages: int | None = None, log_file: str | None = None) -> RunOutcome:
        """Crawl the source into ``sink`` with Scrapy, in this process (its reactor runs
        once per process); stop near ``max_pages``; log to ``log_file`` (else not at all).
        """
        settings = scrapy_settings(config, log_file=log_file)
        if log_file is None:
            settings["LOG_ENABLED"] = settings["LOG_INSTALL_ROOT_HANDLER"] = False
        else:  # Scrapy logs to the run's log file through its own root handler
            logging.getLogger().handlers.clear()
        if max_pages is not None:
            settings["CLOSESPIDER_PAGECOUNT"] = max_pages + (1 if config.obey_robots else 0)
            # few requests in flight, so that the spider stops near the page count
            settings["CONCURRENT_REQUESTS"] = settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = max(
                1, min(config.concurrency, max_pages))
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(cls)
        process.crawl(crawler, source_config=config, sink=sink,
                      done_pages=set((start or RunStart()).done_pages))
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = stats.get("finish_reason")
        stopped = reason not in (None, "finished") and not (
            max_pages is not None and reason == "closespider_pagecount")
        return RunOutcome(fatal=f"spider closed: {reason}" if stopped else None, stats={
            "scrapy": {k: v for k, v in stats.items()
                       if isinstance(v, int | float) and not isinstance(v, bool)},
            "robots_skipped": getattr(crawler.spider, "skipped_by_robots", 0)})

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    def absolute(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def on_platform(self, url: str) -> bool:
        """Whether a link may be followed: the platform's origin or an ``allowed_hosts``
        entry (``crawlers.hosts``)."""
        return self.config.hosts.allows(url)

    def count(self, name: str, n: int = 1) -> None:
        """A counter ``<source>/<name>`` in Scrapy's stats (kept in the run's stats)."""
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value(f"{self.config.key}/{name}", n)

    def request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        """A request whose loss is recorded rather than silently dropped."""
        return scrapy.Request(self.absolute(url), callback=callback, errback=self.on_error,
                              **kwargs)

    def on_error(self, failure: Failure) -> Iterator[PageResult]:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(AlreadyDone):
            return
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt said no: polite, not an error
            self.skipped_by_robots += 1
            return
        if failure.check(HttpError):
            status = failure.value.response.status
            kind, reason = ErrorKind.http(status), f"server answered {status} after retries"
        elif failure.check(TimeoutError, TCPTimedOutError):
            kind, reason = ErrorKind.TIMEOUT, "no answer in time after retries"
        else:
            kind, reason = ErrorKind.FETCH, f"{failure.type.__name__}: {failure.getErrorMessage()}"
        log.warning("%s: lost %s (%s)", self.config.key, request.url, reason)
        yield PageResult(url=request.url, page=False, failed=True,
                         errors=[PageError(request.url, kind, reason)])

    def retry_malformed(self, response: Response, reason: str) -> Iterator[Any]:
        """Retry a page that came back malformed; record it when retries run out."""
        retry = None
        if response.request is not None:
            retry = get_retry_request(response.request, spider=self, reason="malformed",
                                      max_retry_times=self.config.retries)
        if retry is not None:
            yield retry
            return
        yield PageResult(url=response.url, page=False, failed=True,
                         errors=[PageError(response.url, ErrorKind.MALFORMED, reason)])
