"""The base of every API connector: handed a Fetcher, yields PageResults.

A connector walks a platform's API page by page and yields one ``PageResult``
per answer, carrying the listings in the contract and the ``checkpoint`` from
which a killed run resumes (an offset, a cursor, the tiles still to fetch). It
never writes anywhere itself: the worker hands each result to the catalog sink.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

import httpx

from crawlers.hosts import same_host
from crawlers.http import Fetcher
from crawlers.listing import PageResult
from crawlers.source import SourceConfig


class ApiConnector(ABC):
    """Crawl one platform's API. Subclasses implement ``pages``."""

    #: whether ``pages`` honours ``since`` (an updated-since filter)
    supports_incremental: ClassVar[bool] = False

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        self.config = config
        self.client = client
        self.fetcher = fetcher or Fetcher(config, client)

    @property
    def source(self) -> str:
        return self.config.key

    def on_platform(self, url: str) -> bool:
        """Whether a URL is on the platform's own host (credentials go nowhere else)."""
        return same_host(url, self.config.base_url)

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
