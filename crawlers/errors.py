"""Errors of the crawlers, the kinds they are recorded under, and a recorded page error.

Every error a crawler raises is a ``CrawlError``; context travels as attributes
(``source``, ``url``, and per class ``status``, ``source_id``, ``problems``,
``index``), never only inside the message::

    CrawlError                  where: ``source``, ``url``
    ├── FetchError              a page could not be fetched after retries (``status``)
    │   ├── RateLimited         the platform kept answering 429
    │   └── FetchTimeout        no answer in time
    ├── RedirectRefused         a redirect not followed: to itself, in a loop, too many, or
    │                           to a page already fetched (``target``)
    ├── OffsiteRequest          a request or redirect to a host the platform does not allow
    │                           (``target``)
    ├── BodyTooLarge            an answer larger than the source's ``max_body`` once
    │                           decompressed (``limit``); not retried
    ├── MalformedPage           a page came back cut short or unparsable (it is retried)
    │   └── MalformedSitemap    a sitemap cut short or not a sitemap
    ├── SourceLayoutChanged     the page parsed but the expected parts are missing
    ├── InvalidRecord           one record of a page cannot be a listing (``source_id``
    │   │                       when its id could be read: it is kept live)
    │   ├── InvalidJsonLd       a complete page whose JSON-LD does not parse
    │   └── InvalidListing      a record breaks the listing contract (``crawlers.listing``)
    ├── SourceConfigError       the sources file is wrong (``problems``: every one found,
    │   │                       each with its file, line, source and key)
    │   └── TransformError      a ``transform:`` written wrong (``index`` in its list)
    └── NothingToDraft          ``agora sources scaffold`` found nothing an entry could read

Lower-level errors are translated at the boundary where they are met (httpx's
in ``crawlers.http``, Scrapy's in ``CatalogSpider.on_error``); pure value
parsers (``parse_box``, ``parse_duration``) raise ``ValueError`` like ``float()``
does, and their callers turn it into one of the above.

What a crawl records is a ``PageError`` (url, kind, reason): ``kind`` is one of
``ErrorKind``'s constants, the same strings the catalog stores and the operator
page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class ErrorKind:
    """The kinds of recorded errors (``crawl_errors.kind``)."""

    FETCH = "fetch"                      # a transport error after retries
    TIMEOUT = "timeout"                  # no answer in time after retries
    RATE_LIMITED = "rate_limited"        # 429 after retries
    REDIRECT = "redirect"                # a redirect loop, to itself, to a page already fetched
    OFFSITE = "offsite"                  # a redirect or next page off the platform's hosts
    TOO_LARGE = "too_large"              # an answer larger than max_body (decompressed)
    OFFSITE_SKIPPED = "offsite_skipped"  # links or sitemap entries on other hosts, not followed
    MALFORMED = "malformed"              # cut short or unparsable after retries
    LAYOUT = "layout"                    # parsed, but the expected parts are missing
    INVALID_RECORD = "invalid_record"    # one record unusable (its id kept live)
    INVALID_LISTING = "invalid_listing"  # a record breaking the listing contract
    INCOMPLETE = "incomplete"            # fewer items than the platform announces
    ABANDONED = "abandoned"              # the rest of an endpoint cannot be reached
    API_ERROR = "api_error"              # the API answered errors (GraphQL errors[])
    TILE_CAP = "tile_cap"                # a map tile still capped at the smallest size
    PARSE_ERROR = "parse_error"          # a spider callback crashed on a page
    DEGRADED = "degraded"                # extraction fell against the last good run
    CONFIG = "config"                    # the source's configuration is wrong
    ERROR = "error"                      # anything else

    @staticmethod
    def http(status: int) -> str:
        """``http_404``: a status the platform kept answering."""
        return f"http_{status}"


class PageError(NamedTuple):
    """An error met on a page, as recorded: where, what kind, why."""

    url: str | None
    kind: str
    reason: str

    @classmethod
    def of(cls, exc: CrawlError, url: str | None = None) -> PageError:
        """The recorded form of a crawler error (its own URL first, else ``url``)."""
        return cls(exc.url or url, exc.kind, str(exc))


class CrawlError(Exception):
    """Base of every crawler error; ``source`` and ``url`` say where."""

    kind = ErrorKind.ERROR

    def __init__(self, message: str, *, source: str | None = None,
                 url: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.url = url


class FetchError(CrawlError):
    """A page could not be fetched after retries; ``status`` when the platform answered."""

    kind = ErrorKind.FETCH

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.status = status
        if status is not None:
            self.kind = ErrorKind.http(status)


class RateLimited(FetchError):
    """The platform kept answering 429."""

    kind = ErrorKind.RATE_LIMITED


class FetchTimeout(FetchError):
    """No answer in time, after retries."""

    kind = ErrorKind.TIMEOUT


class RedirectRefused(CrawlError):
    """A redirect not followed (to itself, a loop, too many, to a page already fetched):
    the page it answered for is lost. ``target`` is where it pointed."""

    kind = ErrorKind.REDIRECT

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 target: str | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.target = target


class OffsiteRequest(CrawlError):
    """A request or redirect to a host the platform does not allow (another host, port or
    scheme, an internal address): never sent, so credentials and foreign records stay
    out. ``target`` is the refused URL."""

    kind = ErrorKind.OFFSITE

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 target: str | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.target = target


class BodyTooLarge(CrawlError):
    """An answer larger than the source's ``max_body`` (decompressed size); ``limit``."""

    kind = ErrorKind.TOO_LARGE

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 limit: int | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.limit = limit


class MalformedPage(CrawlError):
    """A page came back cut short or unparsable."""

    kind = ErrorKind.MALFORMED


class MalformedSitemap(MalformedPage):
    """A sitemap cut short or not a sitemap."""


class SourceLayoutChanged(CrawlError):
    """The page parsed, but the parts the crawler reads are not there."""

    kind = ErrorKind.LAYOUT


class InvalidRecord(CrawlError):
    """One record of a page cannot be a listing; ``source_id`` when its id was read."""

    kind = ErrorKind.INVALID_RECORD

    def __init__(self, message: str, *, source_id: str | None = None,
                 source: str | None = None, url: str | None = None) -> None:
        super().__init__(message, source=source, url=url)
        self.source_id = source_id


class InvalidJsonLd(InvalidRecord):
    """A whole page whose JSON-LD does not parse: its record is broken, the page is not lost."""


class InvalidListing(InvalidRecord):
    """A record that breaks the listing contract."""

    kind = ErrorKind.INVALID_LISTING


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a sources file: where it is and what is wrong."""

    file: str | None
    line: int
    source: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}: " if self.file else (
            f"line {self.line}: " if self.line else "")
        where = f"source {self.source!r}: " if self.source else ""
        return f"{head}{where}{self.message}"


class SourceConfigError(CrawlError):
    """The sources file is wrong; ``problems`` lists every problem found in it."""

    kind = ErrorKind.CONFIG

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None,
                 problems: tuple[ConfigProblem, ...] = ()) -> None:
        super().__init__(message, source=source, url=url)
        self.problems = problems

    @classmethod
    def listing(cls, problems: list[ConfigProblem] | tuple[ConfigProblem, ...]
                ) -> SourceConfigError:
        """One error listing every problem (one line each), the way Splink reports settings."""
        problems = tuple(problems)
        if len(problems) == 1:
            message = str(problems[0])
        else:
            files = sorted({p.file for p in problems if p.file})
            where = f" in {', '.join(files)}" if files else ""
            message = f"{len(problems)} problems{where}:\n" + "\n".join(
                f"  {p}" for p in problems)
        sources = {p.source for p in problems}
        return cls(message, source=sources.pop() if len(sources) == 1 else None,
                   problems=problems)


class NothingToDraft(CrawlError):
    """The scaffold found no list, no schema.org page and no API to draft an entry from."""

    kind = ErrorKind.CONFIG


class TransformError(SourceConfigError):
    """A transform written wrong; ``index`` is its position in the list."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index
