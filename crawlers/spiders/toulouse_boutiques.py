"""Spider for Toulouse Boutiques: category pages, shop pages, product pages (HTML).

The walk: ``/`` links every category; each category lists its shops 20 a page
("Page suivante") under a line "N boutiques"; each shop page carries the shop and
links its products; each product page carries one product. Listings are
shops (source_id = the slug of ``/boutique/<slug>``) and products (source_id =
the numeric id of ``/produit/<id>-<slug>``, its ``shop_source_id`` the slug its
"Vendu par" link points to).

The spider is the generic ``HtmlSpider`` (``crawlers.declarative.html``) with
four page rules (home, category, shop, product) read by the pure helpers below.
Quirks handled:

- pagination drift: shops move between pages while we page through a category,
  so some are seen twice and others never. Categories are the spider's "next"
  chains: shop links are deduplicated, and when a category's pages yield fewer
  distinct shops than it announces, its pages are fetched again until the count
  is reached or ``options.max_repage_rounds`` rounds are spent (then the
  category is recorded as ``incomplete`` and the run ends partial: nothing is
  wrongly marked gone).
- pages cut short or garbled: every page ends with ``<footer id="pied">`` and
  ``</html>``; a page without them is retried, then recorded as ``malformed``.
- broken shop pages (no name): recorded as ``invalid_record`` errors.
- the address comes on one line, "12 bis r. de Metz, 31000 Toulouse":
  ``split_address`` cuts it at the last ", " into street line, postcode and city.
- cart, account, search and review links are never followed (robots.txt
  disallows them, and the link patterns below never match them anyway).

Shop pages with products stay not done (a resumed run fetches them again to
reach their product links); product pages, the leaves, are done once stored.
Options (``sources.yaml`` ``options:``): ``max_repage_rounds`` (default 4).
Counters in the run's Scrapy stats: ``toulouse_boutiques/repaging_rounds`` and
``toulouse_boutiques/incomplete_chains``.

The parsing helpers are pure functions of the HTML text, tested on strings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import Response

from crawlers.declarative.html import HtmlSpider, PageRead
from crawlers.errors import ErrorKind, MalformedPage, PageError
from crawlers.listing import PageResult

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
    sheets = sel.css("article.fiche-boutique")
    if not sheets:
        return ShopPage(None, "no shop sheet (article.fiche-boutique) on the page", products)
    article = sheets[0]
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
    sheets = sel.css("article.fiche-produit")
    if not sheets:
        return None, "no product sheet (article.fiche-produit) on the page"
    article = sheets[0]
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
class ToulouseBoutiquesSpider(HtmlSpider):
    """Home -> categories (paged, drift-proof) -> shops -> products."""

    start_pages = (("/", "home"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repage_rounds = int(self.config.option("max_repage_rounds",
                                                    DEFAULT_MAX_REPAGE_ROUNDS))

    def chained(self, page: str) -> bool:
        return page == "category"

    def read_page(self, page: str, response: Response, url: str) -> PageRead:
        text = response.text
        if not page_is_complete(text):
            raise MalformedPage(f"{page} page cut short", source=self.config.key, url=url)
        if page == "home":
            return PageRead(links=[(u, "category") for u in parse_home(text, url)])
        if page == "category":
            category = parse_category(text, url)
            return PageRead(links=[(u, "shop") for u in category.shops],
                            next_url=category.next_url, total=category.total,
                            counted=set(category.shops))
        if page == "shop":
            shop = parse_shop(text, url)
            links = [(u, "product") for u in shop.products]
            if shop.listing is None:
                slug = shop_slug(url)
                return PageRead(PageResult(url=url, touched=[slug] if slug else [], errors=[
                    PageError(url, ErrorKind.INVALID_RECORD, shop.error or "unreadable shop")]),
                    links)
            # a shop page with products stays not done: a resumed run must fetch it
            # again to reach them
            return PageRead(PageResult(url=url, listings=[shop.listing]), links)
        listing, error = parse_product(text, url)
        if listing is None:
            pid = product_id(url)
            return PageRead(PageResult(url=url, touched=[pid] if pid else [], errors=[
                PageError(url, ErrorKind.INVALID_RECORD, error or "unreadable product")]))
        return PageRead(PageResult(url=url, listings=[listing]))
