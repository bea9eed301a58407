"""Scrapy components shared by every spider: settings, pipeline, middlewares.

- ``scrapy_settings(config)``: a source's politeness as Scrapy settings
  (robots.txt, AutoThrottle, per-domain concurrency, delay, retries, timeout),
  its ``max_body`` (``DOWNLOAD_MAXSIZE``, decompression included, and
  ``DOWNLOAD_WARNSIZE`` at half of it) and ``MAX_REDIRECTS``.
- ``CatalogPipeline``: hands each ``PageResult`` item to the catalog sink.
- ``PlatformHostsMiddleware``: every request, redirected ones included, goes to
  the platform's hosts only (``RefusedOffsite`` otherwise, before robots.txt is
  even asked there), and carries the source's credentials and the headers its
  entry sets (the source's ``headers:``, a rule's in ``meta["rule_headers"]``) only
  on its origin.
  Scrapy's own ``OffsiteMiddleware`` matches ``allowed_domains`` and their
  subdomains whatever the scheme and port, so a redirect to another port of the
  same host (another service) would pass it: ``crawlers.hosts`` decides instead.
- ``RobotsMiddleware``: Scrapy's robots.txt middleware, its refusals told apart
  (``ForbiddenByRobots``) from the other ignored requests, which are lost pages.
- ``BoundedCompressionMiddleware``: Scrapy's decompression, its refusal of a body
  over ``DOWNLOAD_MAXSIZE`` told apart (``BodyTooLargeIgnored``).
- ``ResumeMiddleware``: a resumed run skips the pages it already stored.
- ``RetryAfterMiddleware``: on 429/503 with Retry-After, waits that long before
  Scrapy's RetryMiddleware retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser

from crawlers.errors import ErrorKind, PageError
from crawlers.http import MAX_REDIRECTS, credentials_for, retry_after_seconds, shaped_headers
from crawlers.listing import PageResult, PageSink
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)


class AlreadyDone(IgnoreRequest):
    """The page's listings were stored before the run was killed: not fetched again."""


class ForbiddenByRobots(IgnoreRequest):
    """robots.txt disallows the page: polite, not an error."""


class RefusedOffsite(IgnoreRequest):
    """A request (a redirect, mostly) to a host the platform does not allow: not sent."""


class BodyTooLargeIgnored(IgnoreRequest):
    """A compressed answer that inflates past ``DOWNLOAD_MAXSIZE``."""


def scrapy_settings(config: SourceConfig, *, log_file: str | None = None) -> dict[str, Any]:
    """Scrapy settings carrying a source's politeness and our components."""
    return {
        "BOT_NAME": "agora",
        "USER_AGENT": config.agent,
        "ROBOTSTXT_OBEY": config.obey_robots,
        "CONCURRENT_REQUESTS": config.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrency,
        "DOWNLOAD_DELAY": config.delay,
        "RANDOMIZE_DOWNLOAD_DELAY": True,
        "DOWNLOAD_TIMEOUT": config.timeout,
        # bytes on the wire, and again once inflated (HttpCompressionMiddleware)
        "DOWNLOAD_MAXSIZE": config.max_body,
        "DOWNLOAD_WARNSIZE": config.max_body // 2,
        "REDIRECT_MAX_TIMES": MAX_REDIRECTS,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": config.retries,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "AUTOTHROTTLE_ENABLED": config.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(config.delay, 0.05),
        # a slow answer must not slow the whole crawl for long (retries handle the rest)
        "AUTOTHROTTLE_MAX_DELAY": 2.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(config.concurrency),
        "COOKIES_ENABLED": False,
        # Scrapy's default starts 100 tasks per response; ours yield a handful of items
        "CONCURRENT_ITEMS": 16,
        # the check re-reads each callback's source for every response (costly, no use here)
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "LOG_INSTALL_ROOT_HANDLER": True,
        # retries of malformed pages carry Scrapy's own bookkeeping keys: expected
        "META_COPY_WARN_SKIP_KEYS": ["retry_times", "download_latency"],
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": True,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": log_file,
        "DEFAULT_REQUEST_HEADERS": {"Accept-Language": "fr-FR,fr;q=0.9",
                                    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        "ITEM_PIPELINES": {"crawlers.scrapy_support.CatalogPipeline": 300},
        "DOWNLOADER_MIDDLEWARES": {
            # first of all: nothing, not even robots.txt, is asked from another host
            "crawlers.scrapy_support.PlatformHostsMiddleware": 40,
            "crawlers.scrapy_support.ResumeMiddleware": 50,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawlers.scrapy_support.RobotsMiddleware": 100,
            "crawlers.scrapy_support.RetryAfterMiddleware": 560,  # before RetryMiddleware (550)
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            "crawlers.scrapy_support.BoundedCompressionMiddleware": 590,
        },
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "FEED_EXPORT_ENCODING": "utf-8",
    }


class CatalogPipeline:
    """Stores each PageResult item through the run's PageSink."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.sink: PageSink | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogPipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.on_spider_error, signal=signals.spider_error)
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        self.sink = getattr(self.crawler.spider, "sink", None)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, PageResult) and self.sink is not None:
            self.sink.write(item)
        return item

    def on_spider_error(self, failure: Any, response: Response, spider: Any = None) -> None:
        """A callback crashed on a page: its listings are lost, so the run is partial."""
        if self.sink is not None:
            self.sink.write(PageResult(url=response.url, page=False, failed=True, errors=[
                PageError(response.url, ErrorKind.PARSE_ERROR,
                          f"{failure.type.__name__}: {failure.value}")]))


class PlatformHostsMiddleware:
    """Every request on the platform's hosts only; credentials on its origin only.

    Redirected requests come back through here (Scrapy schedules them again), so a
    redirect to another host is refused before anything is sent there, and the
    credentials a redirect would copy from the first request are set again, or
    taken off, for each hop.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PlatformHostsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        config: SourceConfig | None = getattr(self.crawler.spider, "config", None)
        if config is None:
            return None
        if not config.hosts.allows(request.url):
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(f"{config.key}/offsite_refused")
            what = "redirected to" if request.meta.get("redirect_urls") else "asked for"
            raise RefusedOffsite(f"{what} {request.url}, off the platform's hosts: not "
                                 "requested")
        headers, _ = credentials_for(config, request.url)  # query auth: refused at load
        rule = request.meta.get("rule_headers") or {}
        headers = {**shaped_headers(config, request.url, rule), **headers}
        for name in {*_credential_headers(config), *(config.headers or {}), *rule}:
            if name in headers:
                request.headers[name] = headers[name]
            else:
                request.headers.pop(name, None)
        return None


def _credential_headers(config: SourceConfig) -> tuple[str, ...]:
    auth = config.auth or {}
    if auth.get("type") == "bearer":
        return ("Authorization",)
    if auth.get("type") == "header":
        return (auth.get("name", "X-Api-Key"),)
    return ()


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware; a page it forbids raises ``ForbiddenByRobots``."""

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as exc:
            raise ForbiddenByRobots(str(exc)) from exc


class BoundedCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression (bounded by ``DOWNLOAD_MAXSIZE``); an answer inflating past it
    raises ``BodyTooLargeIgnored``."""

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            raise BodyTooLargeIgnored(str(exc)) from exc


class ResumeMiddleware:
    """Skip pages a killed run of the same id already stored."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        done = getattr(self.crawler.spider, "done_pages", None)
        if done and request.url in done:
            raise AlreadyDone(f"already stored in this run: {request.url}")
        return None


class RetryAfterMiddleware:
    """Honour Retry-After on 429/503 before the retry middleware retries."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response,
                               spider: Any = None) -> Response:
        if response.status in (429, 503):
            header = response.headers.get("Retry-After")
            wait = retry_after_seconds(header.decode() if header else None)
            if wait:
                log.info("Retry-After %.2fs on %s", wait, request.url)
                await asyncio.sleep(wait)  # the asyncio reactor is always installed
        return response
