"""Errors of the crawlers.

    CrawlError                 carries ``source`` and ``url``
    ├── FetchError             a page could not be fetched (after retries)
    │   ├── RateLimited        the platform kept answering 429
    │   └── FetchTimeout       no answer in time
    ├── MalformedPage          a page came back truncated or unparsable
    ├── SourceLayoutChanged    the page parsed but the expected parts are missing
    ├── InvalidListing         a record breaks the listing contract
    └── SourceConfigError      sources.yaml is wrong (names the source and key)
"""

from __future__ import annotations


class CrawlError(Exception):
    """Base of every crawler error; ``source`` and ``url`` say where."""

    kind = "error"

    def __init__(self, message: str, *, source: str | None = None,
                 url: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.url = url


class FetchError(CrawlError):
    kind = "fetch"

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.status = status
        if status is not None:
            self.kind = f"http_{status}"


class RateLimited(FetchError):
    kind = "rate_limited"


class FetchTimeout(FetchError):
    kind = "timeout"


class MalformedPage(CrawlError):
    kind = "malformed"


class SourceLayoutChanged(CrawlError):
    kind = "layout"


class InvalidListing(CrawlError):
    kind = "invalid_listing"


class SourceConfigError(CrawlError):
    kind = "config"
