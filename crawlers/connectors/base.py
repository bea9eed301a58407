"""The base of every API connector: handed a Fetcher, yields PageResults.

A connector walks a platform's API page by page and yields one ``PageResult``
per answer, carrying the listings in the contract and the ``checkpoint`` from
which a killed run resumes (an offset, a cursor, the tiles still to fetch). It
never writes anywhere itself: the worker hands each result to the catalog sink.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

import httpx

from crawlers.errors import CrawlError
from crawlers.http import Fetcher, make_client
from crawlers.listing import PageResult, PageSink
from crawlers.runs import RunOutcome, RunStart
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)


class ApiConnector(ABC):
    """Crawl one platform's API. Subclasses implement ``pages``."""

    #: whether ``pages`` honours ``since`` (an updated-since filter)
    supports_incremental: ClassVar[bool] = False

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        self.config = config
        self.client = client
        self.fetcher = fetcher or Fetcher(config, client)

    @classmethod
    def run(cls, config: SourceConfig, sink: PageSink, *, start: RunStart | None = None,
            max_pages: int | None = None, log_file: str | None = None) -> RunOutcome:
        """Crawl the source into ``sink`` over a client of its own; stop after ``max_pages``.

        A CrawlError that stops the walk (a refused token) ends the run as failed.
        Connectors log through ``logging`` as the caller set it up (``log_file`` is
        for the engines that install their own handler, as Scrapy does).
        """
        start = start or RunStart()
        outcome = RunOutcome()
        with make_client(config) as client:
            connector = cls(config, client)
            results = connector.pages(start.checkpoint, since=start.since)
            fetched = 0
            try:
                for result in results:
                    sink.write(result)
                    fetched += result.page
                    if max_pages is not None and fetched >= max_pages:
                        break
            except CrawlError as exc:
                outcome.error = exc
                outcome.fatal = f"{exc.kind}: {exc}" + (f" ({exc.url})" if exc.url else "")
                log.error("%s: crawl stopped: %s", config.key, outcome.fatal)
            finally:
                close = getattr(results, "close", None)  # a generator cut short
                if close is not None:
                    close()
            outcome.stats = {"http": dict(connector.fetcher.stats),
                             "connector": dict(getattr(connector, "stats", {}) or {})}
        return outcome

    @property
    def source(self) -> str:
        return self.config.key

    def on_platform(self, url: str) -> bool:
        """Whether a URL may be requested: the platform's origin or an ``allowed_hosts``
        entry (``crawlers.hosts``; credentials only ever go to the origin)."""
        return self.config.hosts.allows(url)

    def absolute(self, path: str) -> str:
        """A path on the platform as an absolute URL."""
        if path.startswith(("http://", "https://")):
            return path
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    @abstractmethod
    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        """Yield one PageResult per answer, each with the checkpoint to resume after it.

        Args:
            checkpoint: the last checkpoint a killed run stored, or None to start.
            since: only listings changed since then (incremental run), if supported.
        """
