"""The ``html`` type: pages read by named page rules, links followed, paged lists re-paged while short.

``HtmlSpider`` is the generic spider, configured by attributes and two hooks
as Scrapy's ``SitemapSpider`` is: ``start_pages`` ((path, page rule) pairs),
``chained(page)`` (are pages of that rule linked by a "next" link?) and
``read_page(page, response, url)`` (what a page holds: a ``PageRead``). It
follows links on the platform's hosts once each (others are counted, see
``CatalogSpider.follows``; a "next" link elsewhere is an ``offsite`` error, the
rest of its list being out of reach), and makes paged lists
drift-proof: when the pages of a "next" chain yield fewer distinct items than
the list announces (listings moved between pages while we paged), the chain's
pages are fetched again, up to ``repage_rounds`` times; still short, it is
recorded as ``incomplete`` and the run ends partial, so that nothing is wrongly
marked gone. A page cut short (``read_page`` raises ``MalformedPage``) is
retried, then recorded as ``malformed``.

``DeclarativeHtmlSpider`` reads the page rules of an ``html`` entry (see
``docs/connectors.md``); the Toulouse Boutiques spider is a hand-written one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import scrapy
from parsel import Selector
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.declarative.fields import links_of, read_items, select_nodes, total_of
from crawlers.declarative.schema import HtmlSpec, compile_spec
from crawlers.errors import (
    ErrorKind,
    MalformedPage,
    PageError,
    SourceConfigError,
    SourceLayoutChanged,
)
from crawlers.listing import PageResult
from crawlers.spiders.base import CatalogSpider

log = logging.getLogger(__name__)


@dataclass
class PageRead:
    """What a spider read on one page.

    ``result`` holds its listings and errors (None: a page of links only);
    ``links`` are (URL, page rule) to follow; ``next_url`` the next page of
    its chain; ``total`` the item count the list announces; ``counted`` what
    the chain counts against that total (item ids, or item links).
    """

    result: PageResult | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    next_url: str | None = None
    total: int | None = None
    counted: set[str] = field(default_factory=set)


@dataclass
class Chain:
    """Pages linked by "next" from one start page: the items met, the count announced."""

    key: str  # the URL of its first page
    page: str  # the page rule reading its pages
    total: int | None = None
    ids: set[str] = field(default_factory=set)
    pages: list[str] = field(default_factory=list)  # in paging order
    round: int = 0
    pending: int = 0  # pages of the current re-paging round still awaited
    finished: bool = False


class HtmlSpider(CatalogSpider):
    """Named page rules, links on the platform's hosts, drift-proof "next" chains."""

    # Two Scrapy defaults cost more CPU than the parsing: CONCURRENT_ITEMS (100)
    # starts that many tasks per response for a handful of items, and
    # WARN_ON_GENERATOR_RETURN_VALUE re-reads each callback's source per response.
    custom_settings = {"CONCURRENT_ITEMS": 8, "WARN_ON_GENERATOR_RETURN_VALUE": False}

    #: (path or URL, page rule) of the first pages
    start_pages: Sequence[tuple[str, str]] = ()
    #: passes again over a chain still short of its announced total
    repage_rounds: int = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requested: set[str] = set()
        self.chains: dict[str, Chain] = {}

    def chained(self, page: str) -> bool:
        """Whether pages of this rule form "next" chains (counted against a total)."""
        return False

    def read_page(self, page: str, response: Response, url: str) -> PageRead:
        """What the page holds; raises MalformedPage when it came back cut short."""
        raise NotImplementedError

    def rule_headers(self, page: str) -> dict[str, str]:
        """Headers the requests of a page rule carry (on the platform's origin only)."""
        return {}

    async def start(self) -> AsyncIterator[Any]:
        for path, page in self.start_pages:
            url = self.absolute(path)
            self.requested.add(url)
            yield self.page_request(url, page)

    # -------------------------------------------------------------- requests
    def page_request(self, url: str, page: str, **kwargs: Any) -> scrapy.Request:
        """A request for a page of rule ``page``, starting a chain if the rule has one."""
        chain = None
        if self.chained(page):
            self.chains.setdefault(url, Chain(url, page))
            chain = url
        return self._request(url, page, chain=chain, **kwargs)

    def _request(self, url: str, page: str, *, chain: str | None, round_: int = 0,
                 **kwargs: Any) -> scrapy.Request:
        request = self.request(url, self.parse_page, meta={
            "page": page, "chain": chain, "round": round_, "page_url": url,
            "rule_headers": self.rule_headers(page)}, **kwargs)
        return request.replace(errback=self.on_page_error)

    def on_page_error(self, failure: Failure) -> Iterator[Any]:
        yield from self.on_error(failure)
        yield from self.after_loss(failure.request)  # type: ignore[attr-defined]

    def after_loss(self, request: scrapy.Request) -> Iterator[Any]:
        """A chain page that ends without an answer (lost, skipped) closes its round."""
        if request.meta.get("chain"):
            yield from self._chain_lost(request.meta["chain"], request.meta["round"])

    # -------------------------------------------------------------- pages
    def parse_page(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        url = meta.get("page_url") or response.url
        try:
            read = self.read_page(meta["page"], response, url)
        except MalformedPage as exc:
            yield from self._malformed(response, str(exc))
            return
        chain = self.chains.get(meta["chain"]) if meta.get("chain") else None
        links = 0
        for link, page in read.links:
            if not self.follows(link):
                continue
            links += 1
            if link in self.requested:
                continue
            self.requested.add(link)
            yield self.page_request(link, page)
        if chain is not None:
            chain.ids |= read.counted
            if read.total is not None:
                chain.total = read.total
        result = read.result
        next_url = read.next_url
        if next_url and not self.on_platform(next_url):
            # the rest of the list is out of reach: the page counts as lost
            result = result or PageResult(url=url, page=False)
            result.failed = True
            result.errors.append(PageError(url, ErrorKind.OFFSITE, "the next page leaves the "
                                           f"platform: {next_url}"))
            next_url = None
        if result is not None:
            # a leaf (nothing to reach from it, no chain to count) need not be fetched
            # again by a resumed run
            result.done = not links and chain is None and not result.failed
            yield result
        if chain is not None:
            yield from self._chain_step(chain, url, next_url, meta["round"])

    def _malformed(self, response: Response, reason: str) -> Iterator[Any]:
        retried = False
        for item in self.retry_malformed(response, reason):
            retried = retried or isinstance(item, scrapy.Request)
            yield item
        chain = response.meta.get("chain")
        if not retried and chain:
            yield from self._chain_lost(chain, response.meta["round"])

    # -------------------------------------------------------------- drift-proof chains
    def _chain_step(self, chain: Chain, url: str, next_url: str | None,
                    round_: int) -> Iterator[Any]:
        if url not in chain.pages:
            chain.pages.append(url)
        if round_ == 0:
            if next_url and next_url not in chain.pages:
                self.requested.add(next_url)
                yield self._request(next_url, chain.page, chain=chain.key)
            else:
                yield from self._round_over(chain)
        else:
            chain.pending -= 1
            if chain.pending == 0:
                yield from self._round_over(chain)

    def _chain_lost(self, key: str, round_: int) -> Iterator[Any]:
        """A chain page is lost for good (already recorded): close its round."""
        chain = self.chains[key]
        if round_ == 0:
            chain.finished = True  # the chain is cut: the run is partial anyway
            return
        chain.pending -= 1
        if chain.pending == 0:
            yield from self._round_over(chain)

    def _round_over(self, chain: Chain) -> Iterator[Any]:
        """Every page of the round answered: page again if items are still missing."""
        if chain.finished:
            return
        if chain.total is None or len(chain.ids) >= chain.total:
            chain.finished = True
            return
        if chain.round >= self.repage_rounds:
            chain.finished = True
            reason = (f"{len(chain.ids)} of {chain.total} announced items found after "
                      f"{chain.round + 1} pass(es) over {len(chain.pages)} page(s)")
            log.warning("%s: %s incomplete: %s", self.config.key, chain.key, reason)
            self.count("incomplete_chains")
            yield PageResult(url=chain.key, page=False, failed=True,
                             errors=[PageError(chain.key, ErrorKind.INCOMPLETE, reason)])
            return
        chain.round += 1
        chain.pending = len(chain.pages)
        self.count("repaging_rounds")
        log.info("%s: %s lists %d of %d items: paging it again (round %d)",
                 self.config.key, chain.key, len(chain.ids), chain.total, chain.round)
        # the "next" links of round 0 follow the nominal positions, so the chain visited
        # every page even when drift moved the items between them
        for page_url in list(chain.pages):
            yield self._request(page_url, chain.page, chain=chain.key, round_=chain.round,
                                dont_filter=True)

    def closed(self, reason: str) -> None:
        log.info("%s: %d page(s) requested, %d chain(s), %d re-paging round(s)",
                 self.config.key, len(self.requested), len(self.chains),
                 sum(c.round for c in self.chains.values()))


class DeclarativeHtmlSpider(HtmlSpider):
    """Pages read by the page rules of an ``html`` entry (CSS/XPath, or JSON with JMESPath)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = compile_spec(self.config)
        if not isinstance(spec, HtmlSpec):
            raise SourceConfigError("not an html source", source=self.config.key)
        self.spec = spec
        self.start_pages = spec.start
        self.repage_rounds = spec.repage_rounds
        self.seen: set[tuple[str, str]] = set()
        self.null_rows: set[str] = set()

    def chained(self, page: str) -> bool:
        return self.spec.pages[page].next is not None

    def rule_headers(self, page: str) -> dict[str, str]:
        rule = self.spec.pages[page]
        return rule.shape.request_headers(json_rule=rule.format == "json")

    def read_page(self, page: str, response: Response, url: str) -> PageRead:
        rule = self.spec.pages[page]
        text = getattr(response, "text", None)
        root: Any
        if rule.format == "html":
            if text is None or self.spec.complete not in text:
                raise MalformedPage(f"page cut short (no {self.spec.complete!r})",
                                    source=self.config.key, url=url)
            root = Selector(text=text)
        else:
            try:
                root = json.loads(text if text is not None else response.body)
            except ValueError as exc:
                raise MalformedPage(f"invalid JSON ({exc})", source=self.config.key,
                                    url=url) from exc
        result = PageResult(url=url)
        counted: set[str] = set()
        for item in rule.items:
            nodes = select_nodes(item.select, root, url)
            if not nodes and not (item.allow_empty and nodes is not None):
                what = item.select.expr if item.select else "the page"
                layout = SourceLayoutChanged(f"no {item.kind} found at {what!r}",
                                             source=self.config.key, url=url)
                log.warning("%s: %s on %s", self.config.key, layout, url)
                self.count("layout_errors")
                result.failed = True
                result.errors.append(PageError.of(layout))
                continue
            read_items(item, nodes, root, url, result, seen=self.seen,
                       null_rows=self.null_rows, ids=counted,
                       page_url_default=rule.format == "html")
        links = [(link, follow.page) for follow in rule.follow
                 for link in links_of(follow.pick, root, url)]
        next_url = None
        if rule.next is not None:
            next_url = next(iter(links_of(rule.next, root, url)), None)
        total = None
        if rule.total is not None and not result.failed:
            total = total_of(rule.total, root, url)
        return PageRead(result, links, next_url, total, counted)
