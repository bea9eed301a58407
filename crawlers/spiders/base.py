"""The base of every Scrapy spider: run bookkeeping, errors, malformed pages, the platform's hosts.

A spider yields ``PageResult`` items (one per page with listings) and requests.
Every request it makes goes through ``self.request`` (the one place a request
is built, so per-request headers belong there; credentials are set per hop by
``PlatformHostsMiddleware``), so that every request ends in a page result or a
recorded loss: a page lost after Scrapy's retries, refused off the platform's
hosts, larger than ``max_body``, or redirected in a loop is recorded (URL,
kind, reason) and makes the run partial, and so is a page whose redirect
Scrapy's duplicate filter drops (to itself, to a page already requested: its
own answer is never read; ``request_dropped``). Pages skipped by robots.txt or
already stored by a killed run are not errors. Links and sitemap entries are
followed only when ``self.follows(url)``: one on another host is counted per
host, reported at the end of the run (``offsite_skipped``) and kept in the
run's stats, where the sink judges whether the run skipped too large a share.
A page that arrives cut short or unparsable is retried with
``self.retry_malformed``; after the retries it is recorded and skipped.

Mark a page ``done=True`` only when a resumed run needs nothing more from it: a
page that carries listings *and* links to further pages (a shop page linking its
products) must stay ``done=False``, or a resumed run would never reach them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawlers.errors import ErrorKind, PageError
from crawlers.hosts import host_label
from crawlers.http import MAX_REDIRECTS
from crawlers.listing import PageResult, PageSink
from crawlers.redaction import Redactor, install_log_redaction
from crawlers.runs import RunOutcome, RunStart
from crawlers.scrapy_support import (
    AlreadyDone,
    BodyTooLargeIgnored,
    ForbiddenByRobots,
    RefusedOffsite,
    scrapy_settings,
)
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
        self.followed = 0  # links and sitemap entries followed (on the platform's hosts)
        self.offsite: Counter[str] = Counter()  # skipped ones, per host
        self.offsite_examples: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CatalogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_dropped, signal=signals.request_dropped)
        return spider

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
        install_log_redaction(Redactor.of(config))  # on the handler Scrapy just installed
        crawler = process.create_crawler(cls)
        process.crawl(crawler, source_config=config, sink=sink,
                      done_pages=set((start or RunStart()).done_pages))
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = stats.get("finish_reason")
        stopped = reason not in (None, "finished") and not (
            max_pages is not None and reason == "closespider_pagecount")
        spider = crawler.spider
        offsite: dict[str, Any] = {}
        if isinstance(spider, CatalogSpider):
            offsite = spider.offsite_stats()
            for result in spider.offsite_report():
                sink.write(result)
        return RunOutcome(fatal=f"spider closed: {reason}" if stopped else None, stats={
            "scrapy": {k: v for k, v in stats.items()
                       if isinstance(v, int | float) and not isinstance(v, bool)},
            "robots_skipped": getattr(spider, "skipped_by_robots", 0),
            "offsite": offsite})

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    def absolute(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def follows(self, url: str) -> bool:
        """Whether to follow a link or sitemap entry: on the platform's hosts, yes; on
        another host, no, and it is counted for that host (reported with the run)."""
        if self.on_platform(url):
            self.followed += 1
            return True
        host = host_label(url)
        self.offsite[host] += 1
        self.offsite_examples.setdefault(host, url)
        self.count("offsite_skipped")
        return False

    def offsite_stats(self) -> dict[str, Any]:
        """What ``follows`` counted, for the run's stats (``CatalogSink`` judges the share)."""
        return {"followed": self.followed, "skipped": dict(self.offsite)}

    def offsite_report(self) -> Iterator[PageResult]:
        """One recorded error per other host whose links or entries were not followed."""
        for host, n in self.offsite.most_common():
            example = self.offsite_examples[host]
            log.warning("%s: %d link(s) or sitemap entries on %s not followed, e.g. %s",
                        self.config.key, n, host, example)
            yield PageResult(url=None, page=False, errors=[PageError(
                example, ErrorKind.OFFSITE_SKIPPED,
                f"{n} link(s) or sitemap entries on {host}, not the platform's host, not "
                f"followed (of {n + self.followed} met); if it is the platform's, list it "
                "in allowed_hosts")])

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

    def on_error(self, failure: Failure) -> Iterator[Any]:
        """The errback of every request: a lost page recorded (robots.txt and resumes aside)."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(AlreadyDone):
            return
        if failure.check(ForbiddenByRobots):  # polite, not an error
            self.skipped_by_robots += 1
            return
        if failure.check(RefusedOffsite):
            kind, reason = ErrorKind.OFFSITE, failure.getErrorMessage()
        elif failure.check(HttpError):
            status = failure.value.response.status
            kind, reason = ErrorKind.http(status), f"server answered {status} after retries"
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            kind, reason = ErrorKind.TIMEOUT, "no answer in time after retries"
        elif failure.check(BodyTooLargeIgnored, DownloadCancelledError, CancelledError):
            kind, reason = ErrorKind.TOO_LARGE, (
                f"answer larger than max_body ({self.config.max_body} bytes)"
                + (" once inflated" if failure.check(BodyTooLargeIgnored) else ""))
        elif failure.check(IgnoreRequest) and request.meta.get("redirect_times", 0) >= \
                MAX_REDIRECTS:
            kind, reason = ErrorKind.REDIRECT, f"more than {MAX_REDIRECTS} redirects"
        else:
            kind, reason = ErrorKind.FETCH, f"{failure.type.__name__}: {failure.getErrorMessage()}"
        yield from self.lost(request, kind, reason)

    def lost(self, request: scrapy.Request, kind: str, reason: str) -> Iterator[PageResult]:
        """The record of a page lost (the one first asked for, when it was redirected)."""
        url = page_url(request)
        log.warning("%s: lost %s (%s: %s)", self.config.key, url, kind, reason)
        yield PageResult(url=url, page=False, failed=True, errors=[PageError(url, kind, reason)])

    def after_loss(self, request: scrapy.Request) -> Iterator[Any]:
        """What else a lost request calls for (a spider's own bookkeeping); nothing here."""
        return iter(())

    def on_dropped(self, request: scrapy.Request, spider: Any = None) -> None:
        """Scrapy's duplicate filter dropped a request. The spider's own duplicates are
        fine (the first one reads the page); a redirect dropped means the page it answered
        for redirects to itself or to a page already requested: that page is lost."""
        chain = request.meta.get("redirect_urls")
        if not chain:
            return
        if request.url in chain:
            reason = "redirects to itself" if request.url == chain[-1] else (
                "redirect loop: " + " -> ".join([*chain[chain.index(request.url):],
                                                 request.url]))
        else:
            reason = (f"redirects to {request.url}, a page already requested in this run: its "
                      "own answer is never read")
        self.count("redirects_dropped")
        engine = self.crawler.engine
        for item in [*self.lost(request, ErrorKind.REDIRECT, reason), *self.after_loss(request)]:
            if isinstance(item, PageResult):
                self.sink.write(item)
            elif isinstance(item, scrapy.Request) and engine is not None:
                engine.crawl(item)

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


def page_url(request: scrapy.Request) -> str:
    """The URL a request was first made for (before any redirect)."""
    return str(request.meta.get("page_url") or (request.meta.get("redirect_urls")
                                                 or [request.url])[0])
