"""Spider for Toulouse Boutiques: category pages, shop pages, product pages (HTML).

The walk: ``/`` links every category; each category lists its shops 20 a page
("Page suivante") under a line "N boutiques"; each shop page carries the shop and
links its products; each product page carries one product. Listings are
shops (source_id = the slug of ``/boutique/<slug>``) and products (source_id =
the numeric id of ``/produit/<id>-<slug>``, its ``shop_source_id`` the slug its
"Vendu par" link points to).

Quirks handled here:

- pagination drift: shops move between pages while we page through a category,
  so some are seen twice and others never. Shop links are deduplicated, and when
  a category's pages yield fewer distinct shops than it announces, its pages are
  fetched again (``dont_filter``) until the count is reached or
  ``options.max_repage_rounds`` rounds are spent (then the category is recorded
  as incomplete and the run ends partial: nothing is wrongly marked gone).
- pages cut short or garbled: every page ends with ``<footer id="pied">`` and
  ``</html>``; a page without them is retried (``retry_malformed``).
- broken shop pages (no name): recorded as ``invalid_record`` errors.
- the address comes on one line, "12 bis r. de Metz, 31000 Toulouse":
  ``split_address`` cuts it at the last ", " into street line, postcode and city.
- cart, account, search and review links are never followed (robots.txt
  disallows them, and the link patterns below never match them anyway).

Shop pages are stored with ``done=False`` (a resumed run fetches them again to
reach their product links); product pages, the leaves, with ``done=True``.
Options (``sources.yaml`` ``options:``): ``max_repage_rounds`` (default 4).
Counters in the run's Scrapy stats: ``toulouse_boutiques/repaging_rounds`` and
``toulouse_boutiques/incomplete_categories``.

The parsing helpers are pure functions of the HTML text, tested on strings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.errors import ErrorKind, PageError
from crawlers.listing import PageResult
from crawlers.spiders.base import CatalogSpider

log = logging.getLogger(__name__)

FOOTER_MARKER = '<footer id="pied">'
DEFAULT_MAX_REPAGE_ROUNDS = 4

_CATEGORY_PATH = re.compile(r"^/categorie/([a-z0-9-]+)/?$")
_SHOP_PATH = re.compile(r"^/boutique/([A-Za-z0-9_-]+)/?$")  # not /boutique/<slug>/avis
_PRODUCT_PATH = re.compile(r"^/produit/(\d+)(?:-[^/]*)?/?$")
_POSTCODE_CITY = re.compile(r"^(\d{5})\s+(.+)$")
_TOTAL = re.compile(r"(\d[\d\s\u202f\u00a0.]*)\s*boutiques?\b", re.IGNORECASE)
_EAN = re.compile(r"EAN\s*:?\s*(\d{8,14})")


# --------------------------------------------------------------------------- pure helpers
def clean(text: str | None) -> str | None:
    """Whitespace collapsed and trimmed; None for nothing."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def node_text(sel: Selector, css: str) -> str | None:
    """The visible text of the first node matching ``css``, cleaned."""
    node = sel.css(css)
    if not node:
        return None
    return clean(" ".join(node[0].css("::text").getall()))


def page_is_complete(text: str) -> bool:
    """Whether a page arrived whole: the footer marker, then the closing </html>."""
    return FOOTER_MARKER in text and text.rstrip().endswith("</html>")


def split_address(line: str | None) -> tuple[str | None, str | None, str | None]:
    """'12 bis r. de Metz, 31000 Toulouse' -> ('12 bis r. de Metz', '31000', 'Toulouse').

    The street line is everything before the last ", " (it may hold a comma itself:
    "Marché des Carmes, place des Carmes"); after it come the 5-digit postcode and
    the city. A line without that tail is all street line.

    >>> split_address("Marché des Carmes, place des Carmes, 31000 Toulouse")
    ('Marché des Carmes, place des Carmes', '31000', 'Toulouse')
    """
    line = clean(line)
    if not line:
        return None, None, None
    head, sep, tail = line.rpartition(", ")
    match = _POSTCODE_CITY.match(tail)
    if match:
        return clean(head) if sep else None, match.group(1), clean(match.group(2))
    match = _POSTCODE_CITY.match(line)  # no street at all: "31000 Toulouse"
    if match:
        return None, match.group(1), clean(match.group(2))
    return line, None, None


def url_path(url: str) -> str:
    return urlsplit(url).path


def shop_slug(url: str) -> str | None:
    """The slug of a shop page URL, None for anything else (reviews included)."""
    match = _SHOP_PATH.match(url_path(url))
    return match.group(1) if match else None


def product_id(url: str) -> str | None:
    match = _PRODUCT_PATH.match(url_path(url))
    return match.group(1) if match else None


def parse_total(text: str | None) -> int | None:
    """'53 boutiques' -> 53; '1 boutique' -> 1."""
    if not text:
        return None
    match = _TOTAL.search(text)
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    return int(digits) if digits else None


def parse_home(text: str, base_url: str) -> list[str]:
    """Absolute URLs of the category pages linked from the home page, in order."""
    sel = Selector(text=text)
    out: list[str] = []
    for href in sel.css("a::attr(href)").getall():
        url = urljoin(base_url, href)
        if _CATEGORY_PATH.match(url_path(url)) and url not in out:
            out.append(url)
    return out


@dataclass
class CategoryPage:
    """What one page of a category holds."""

    total: int | None
    shops: list[str] = field(default_factory=list)  # absolute shop URLs, page order
    next_url: str | None = None


def parse_category(text: str, url: str) -> CategoryPage:
    """The announced total, the shop links and the "Page suivante" link of a page."""
    sel = Selector(text=text)
    total = parse_total(node_text(sel, ".total"))
    if total is None:
        total = parse_total(" ".join(sel.css("main ::text").getall()))
    shops: list[str] = []
    for href in sel.css("ul.boutiques a::attr(href), li.boutique a::attr(href)").getall():
        shop_url = urljoin(url, href)
        if shop_slug(shop_url) and shop_url not in shops:
            shops.append(shop_url)
    next_href = (sel.css('a[rel="next"]::attr(href)').get()
                 or sel.xpath('//a[contains(normalize-space(.), "Page suivante")]/@href').get())
    return CategoryPage(total, shops, urljoin(url, next_href) if next_href else None)


@dataclass
class ShopPage:
    """A shop page: its listing (or why there is none) and its product links."""

    listing: dict[str, Any] | None
    error: str | None
    products: list[str] = field(default_factory=list)


def parse_shop(text: str, url: str) -> ShopPage:
    """The shop listing in the contract, and the absolute URLs of its product pages."""
    sel = Selector(text=text)
    products: list[str] = []
    for href in sel.css("section.produits a::attr(href), li.produit a::attr(href)").getall():
        product_url = urljoin(url, href)
        if product_id(product_url) and product_url not in products:
            products.append(product_url)
    slug = shop_slug(url)
    if not slug:
        return ShopPage(None, f"not a shop page URL: {url}", products)
    article = sel.css("article.fiche-boutique")
    if not article:
        return ShopPage(None, "no shop sheet (article.fiche-boutique) on the page", products)
    article = article[0]
    name = node_text(article, "h1")
    if not name:
        return ShopPage(None, "shop page without a name", products)
    street, postcode, city = split_address(node_text(article, ".adresse"))
    website = article.css(".site a::attr(href)").get()
    email = article.css('.email a[href^="mailto:"]::attr(href)').get()
    listing: dict[str, Any] = {
        "kind": "shop",
        "source_id": slug,
        "url": url,
        "name": name,
        "address": street,
        "postcode": postcode,
        "city": city,
        "phone": node_text(article, ".telephone a") or _after_colon(
            node_text(article, ".telephone")),
        "email": clean(email.removeprefix("mailto:")) if email else None,
        "website": clean(website),
        "categories": [c for c in (clean(t) for t in article.css(
            ".categorie a::text").getall()) if c],
        "services": [s for s in (clean(" ".join(li.css("::text").getall()))
                                 for li in article.css(".services li")) if s],
        "opening_hours": node_text(article, ".horaires-texte") or _after_colon(
            node_text(article, ".horaires")),
        "description": node_text(article, ".description"),
    }
    return ShopPage(_drop_empty(listing), None, products)


def parse_product(text: str, url: str) -> tuple[dict[str, Any] | None, str | None]:
    """The product listing in the contract, or (None, why)."""
    sel = Selector(text=text)
    pid = product_id(url)
    if not pid:
        return None, f"not a product page URL: {url}"
    article = sel.css("article.fiche-produit")
    if not article:
        return None, "no product sheet (article.fiche-produit) on the page"
    article = article[0]
    title = node_text(article, "h1")
    if not title:
        return None, "product page without a title"
    ean = _EAN.search(node_text(article, ".ean") or "")
    shop_href = article.css(".vendeur a::attr(href)").get()
    listing: dict[str, Any] = {
        "kind": "product",
        "source_id": pid,
        "url": url,
        "title": title,
        "brand": node_text(article, ".marque span") or _after_colon(
            node_text(article, ".marque")),
        "gtin": ean.group(1) if ean else None,
        "price": node_text(article, ".prix"),
        "availability": node_text(article, ".disponibilite"),
        "category": node_text(article, ".categorie a") or _after_colon(
            node_text(article, ".categorie")),
        "description": node_text(article, ".description"),
        "shop_source_id": shop_slug(urljoin(url, shop_href)) if shop_href else None,
    }
    return _drop_empty(listing), None


def _after_colon(text: str | None) -> str | None:
    if not text:
        return None
    return clean(text.split(":", 1)[1]) if ":" in text else text


def _drop_empty(listing: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in listing.items() if v not in (None, "", [])}


# --------------------------------------------------------------------------- the spider
@dataclass
class _Category:
    """Paging state of one category."""

    url: str
    total: int | None = None
    seen: set[str] = field(default_factory=set)  # shop URLs listed on its pages
    pages: list[str] = field(default_factory=list)  # page URLs, in paging order
    round: int = 0
    pending: int = 0  # pages of the current re-paging round still awaited
    finished: bool = False


class ToulouseBoutiquesSpider(CatalogSpider):
    """Home -> categories (paged, drift-proof) -> shops -> products."""

    # Two Scrapy defaults that cost more CPU than our parsing on a 1,500-shop world:
    # CONCURRENT_ITEMS (100) starts that many asyncio tasks per response to handle a
    # handful of items; WARN_ON_GENERATOR_RETURN_VALUE re-reads and parses the
    # callback's source for every response (its cache is keyed by bound methods).
    custom_settings = {"CONCURRENT_ITEMS": 8, "WARN_ON_GENERATOR_RETURN_VALUE": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_rounds = int(self.config.option("max_repage_rounds",
                                                 DEFAULT_MAX_REPAGE_ROUNDS))
        self.categories: dict[str, _Category] = {}
        self.shops_requested: set[str] = set()
        self.products_requested: set[str] = set()
        self.repaged = 0

    async def start(self) -> AsyncIterator[Any]:
        yield self.request("/", self.parse_home)

    # ------------------------------------------------------------ pages
    def parse_home(self, response: Response) -> Iterator[Any]:
        if not page_is_complete(response.text):
            yield from self.retry_malformed(response, "home page cut short")
            return
        for url in parse_home(response.text, response.url):
            if url in self.categories:
                continue
            self.categories[url] = _Category(url)
            yield self._category_request(url, url, 0)

    def _category_request(self, category: str, url: str, round_: int) -> scrapy.Request:
        request = self.request(url, self.parse_category, dont_filter=round_ > 0,
                               meta={"category": category, "round": round_})
        return request.replace(errback=self.on_category_error)

    def parse_category(self, response: Response) -> Iterator[Any]:
        state = self.categories[response.meta["category"]]
        round_ = response.meta["round"]
        if not page_is_complete(response.text):
            retried = False
            for item in self.retry_malformed(response, "category page cut short"):
                retried = retried or isinstance(item, scrapy.Request)
                yield item
            if not retried:
                yield from self._page_lost(state, round_)
            return
        page = parse_category(response.text, response.url)
        if page.total is not None:
            state.total = page.total
        if response.url not in state.pages:
            state.pages.append(response.url)
        for shop_url in page.shops:
            state.seen.add(shop_url)
            if shop_url not in self.shops_requested:
                self.shops_requested.add(shop_url)
                yield self.request(shop_url, self.parse_shop)
        if round_ == 0:
            if page.next_url and page.next_url not in state.pages:
                yield self._category_request(state.url, page.next_url, 0)
            else:
                yield from self._round_over(state)
        else:
            state.pending -= 1
            if state.pending == 0:
                yield from self._round_over(state)

    def on_category_error(self, failure: Failure) -> Iterator[Any]:
        yield from self.on_error(failure)
        request = failure.request  # type: ignore[attr-defined]
        state = self.categories[request.meta["category"]]
        yield from self._page_lost(state, request.meta["round"])

    def _page_lost(self, state: _Category, round_: int) -> Iterator[Any]:
        """A category page is lost for good (already recorded): close its round."""
        if round_ == 0:
            state.finished = True  # the paging chain is cut: the run is partial anyway
            return
        state.pending -= 1
        if state.pending == 0:
            yield from self._round_over(state)

    def _round_over(self, state: _Category) -> Iterator[Any]:
        """Every page of the round answered: page again if shops are still missing."""
        if state.finished:
            return
        if state.total is None or len(state.seen) >= state.total:
            state.finished = True
            return
        if state.round >= self.max_rounds:
            state.finished = True
            reason = (f"{len(state.seen)} of {state.total} announced shops found after "
                      f"{state.round + 1} passes over {len(state.pages)} page(s)")
            log.warning("%s: %s incomplete: %s", self.config.key, state.url, reason)
            self._count("incomplete_categories")
            yield PageResult(url=state.url, page=False, failed=True,
                             errors=[PageError(state.url, ErrorKind.INCOMPLETE, reason)])
            return
        state.round += 1
        self.repaged += 1
        self._count("repaging_rounds")
        # "Page suivante" is computed from the nominal position, so the chain of
        # round 0 visited every page even when drift moved the shops between them
        pages = list(state.pages)
        state.pending = len(pages)
        log.info("%s: %s lists %d of %d shops: paging it again (round %d)", self.config.key,
                 state.url, len(state.seen), state.total, state.round)
        for url in pages:
            yield self._category_request(state.url, url, state.round)

    def _count(self, name: str) -> None:
        """A counter in Scrapy's stats (kept in the run's stats by the worker)."""
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value(f"{self.config.key}/{name}")

    def parse_shop(self, response: Response) -> Iterator[Any]:
        if not page_is_complete(response.text):
            yield from self.retry_malformed(response, "shop page cut short")
            return
        page = parse_shop(response.text, response.url)
        for url in page.products:
            if url not in self.products_requested:
                self.products_requested.add(url)
                yield self.request(url, self.parse_product)
        if page.listing is None:
            slug = shop_slug(response.url)
            yield PageResult(url=response.url, errors=[PageError(
                response.url, ErrorKind.INVALID_RECORD, page.error or "unreadable shop")],
                             touched=[slug] if slug else [], done=not page.products)
            return
        # not done: a resumed run must fetch this page again to reach its products
        yield PageResult(url=response.url, listings=[page.listing], done=False)

    def parse_product(self, response: Response) -> Iterator[Any]:
        if not page_is_complete(response.text):
            yield from self.retry_malformed(response, "product page cut short")
            return
        listing, error = parse_product(response.text, response.url)
        if listing is None:
            pid = product_id(response.url)
            yield PageResult(url=response.url, errors=[PageError(
                response.url, ErrorKind.INVALID_RECORD, error or "unreadable product")],
                             touched=[pid] if pid else [], done=True)
            return
        yield PageResult(url=response.url, listings=[listing], done=True)

    def closed(self, reason: str) -> None:
        log.info("%s: %d categories, %d shop pages, %d product pages, %d re-paging rounds",
                 self.config.key, len(self.categories), len(self.shops_requested),
                 len(self.products_requested), self.repaged)
