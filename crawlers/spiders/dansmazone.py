"""Dans Ma Zone: walk the sitemaps, read each shop and product page's schema.org JSON-LD.

The spider is the generic ``SitemapSpider`` (``crawlers.declarative.sitemap_jsonld``:
``/robots.txt``'s ``Sitemap:`` lines, else ``options.sitemap_index``, default
``/sitemap_index.xml``; indexes, gzip children, strict parsing) with two rules:
listed ``/commerce/<id>-<slug>`` and ``/produit/<id>-<slug>`` pages of the same
host are read; other URLs (static pages) are left alone.

Contract mapping (the parsing helpers below are pure functions):

- source ids come from the page URL: ``commerce-<id>`` and ``produit-<id>``;
  ``shop_source_id`` from the seller's ``@id`` (or ``url``) in the Offer.
- shop: the LocalBusiness (or any subtype, or failing that any object with an
  ``address`` that is not the platform's own Organization); ``categories`` is
  the "rubrique" in ``keywords`` (one label, "Alimentation > Boulangerie"), else
  the BreadcrumbList items linking under ``/rubriques/`` joined with " > ";
  ``services`` are the ``amenityFeature`` names whose ``value`` is not false;
  ``website`` is the first ``sameAs`` that is not a social network;
  ``opening_hours`` joins ``openingHours`` with "; "; ``siret`` is the
  ``identifier`` PropertyValue named SIRET, as written.
- product: ``price`` is the Offer's price as written ("12.90"); ``availability``
  is the last part of the schema.org URL ("InStock", "LimitedAvailability",
  "OutOfStock"), whichever way the page spells the URL; ``brand`` is the Brand's
  name (or the plain string); ``gtin`` from ``gtin13`` (or gtin, gtin14/12/8).

A page without the footer marker was cut short or garbled in transit: it is
retried (``retry_malformed``). A complete page whose JSON-LD does not parse is
fetched once more, then recorded as an ``invalid_record`` error (so is a
Product without a name): a broken record, not a lost page, so the run stays
complete. A page without any business or Product object is a layout change:
recorded as ``layout`` and the page counted lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from crawlers.declarative.sitemap_jsonld import SitemapSpider
from crawlers.errors import InvalidRecord, SourceLayoutChanged
from crawlers.listing import PageResult
from crawlers.parsing.schema_types import (
    BUSINESS_TYPES,
    NOT_BUSINESS_TYPES,
    PRODUCT_TYPES,
    types_of,
)
from crawlers.parsing.sitemaps import DEFAULT_SITEMAP_INDEX

log = logging.getLogger(__name__)

FOOTER_MARKER = "<!-- dmz:fin-de-page -->"

SHOP_PATH = re.compile(r"^/commerce/(\d+)(?:-[^/]*)?/?$")
PRODUCT_PATH = re.compile(r"^/produit/(\d+)(?:-[^/]*)?/?$")
SOCIAL_HOSTS = ("facebook.com", "instagram.com", "twitter.com", "x.com", "linkedin.com",
                "tiktok.com", "youtube.com", "pinterest.")

GTIN_KEYS = ("gtin13", "gtin", "gtin14", "gtin12", "gtin8")



def source_id_for(url: str) -> str | None:
    """'commerce-123' / 'produit-456' for a shop or product URL, else None."""
    path = urlsplit(url).path
    if m := SHOP_PATH.match(path):
        return f"commerce-{m.group(1)}"
    if m := PRODUCT_PATH.match(path):
        return f"produit-{m.group(1)}"
    return None


# ---------------------------------------------------------------------- JSON-LD
def page_is_complete(text: str) -> bool:
    """Whether a page arrived whole: the footer marker, then the closing tag."""
    end = text.rfind(FOOTER_MARKER)
    return end >= 0 and "</html>" in text[end:]


def _text(value: Any) -> str | None:
    """A plain string from a JSON-LD value: strings, numbers, {name}, first of a list."""
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _same_page(obj: dict[str, Any], url: str) -> bool:
    path = urlsplit(url).path
    return any(isinstance(obj.get(k), str) and urlsplit(obj[k]).path == path
               for k in ("@id", "url"))


def find_business(objects: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The page's business: a LocalBusiness (sub)type, preferring the one about this page."""
    typed = [o for o in objects if types_of(o) & BUSINESS_TYPES]
    if not typed:  # an unknown subtype: anything with an address that is not a known other
        typed = [o for o in objects if isinstance(o.get("address"), dict | str)
                 and not types_of(o) & NOT_BUSINESS_TYPES]
    for obj in typed:
        if _same_page(obj, url):
            return obj
    return typed[0] if typed else None


def rubrique_from_breadcrumb(objects: list[dict[str, Any]]) -> str | None:
    """'Alimentation > Boulangerie' from the BreadcrumbList items under /rubriques/."""
    for obj in objects:
        if "BreadcrumbList" not in types_of(obj):
            continue
        items = [i for i in _as_list(obj.get("itemListElement")) if isinstance(i, dict)]
        items.sort(key=lambda i: _number(i.get("position")) or 0)
        names = []
        for item in items:
            target = item.get("item")
            link = target.get("@id") if isinstance(target, dict) else target
            name = _text(item.get("name")) or (_text(target) if isinstance(target, dict)
                                               else None)
            if isinstance(link, str) and urlsplit(link).path.startswith("/rubriques/") and name:
                names.append(name)
        if names:
            return " > ".join(names)
    return None


def _website(value: Any, page_url: str) -> str | None:
    page_host = urlsplit(page_url).netloc.lower()
    for link in _as_list(value):
        if not isinstance(link, str) or not link.strip().startswith(("http://", "https://")):
            continue
        host = urlsplit(link.strip()).netloc.lower()
        if host == page_host or any(s in host for s in SOCIAL_HOSTS):
            continue
        return link.strip()
    return None


def _siret(value: Any) -> str | None:
    for ident in _as_list(value):
        if isinstance(ident, dict):
            name = str(ident.get("propertyID") or ident.get("name") or "").strip().lower()
            if name == "siret":
                return _text(ident.get("value"))
        elif isinstance(ident, str) and len(re.sub(r"\D", "", ident)) == 14:
            return ident.strip()
    return None


def _services(value: Any) -> list[str]:
    out = []
    for feature in _as_list(value):
        if isinstance(feature, str):
            out.append(feature)
            continue
        if not isinstance(feature, dict):
            continue
        offered = feature.get("value", True)
        if isinstance(offered, str):
            offered = offered.strip().lower() not in ("false", "no", "non", "0", "")
        name = _text(feature.get("name"))
        if offered and name:
            out.append(name)
    return out


def shop_listing(url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The shop listing (contract) of a shop page's JSON-LD objects.

    >>> shop_listing("http://h/commerce/7-a", [{"@type": "Bakery", "name": "A",
    ...     "keywords": "Alimentation > Boulangerie"}])["categories"]
    ['Alimentation > Boulangerie']
    """
    sid = source_id_for(url)
    if sid is None or not sid.startswith("commerce-"):
        raise SourceLayoutChanged(f"not a shop page: {url}")
    business = find_business(objects, url)
    if business is None:
        raise SourceLayoutChanged("no LocalBusiness in the page's JSON-LD")
    name = _text(business.get("name"))
    if not name:
        raise InvalidRecord("LocalBusiness without a name")
    listing: dict[str, Any] = {"kind": "shop", "source_id": sid, "url": url, "name": name}
    address = business.get("address")
    if isinstance(address, list):
        address = next((a for a in address if isinstance(a, dict | str)), None)
    if isinstance(address, dict):
        listing["address"] = _text(address.get("streetAddress"))
        listing["postcode"] = _text(address.get("postalCode"))
        listing["city"] = _text(address.get("addressLocality"))
    elif isinstance(address, str):
        listing["address"] = address.strip() or None
    geo = business.get("geo")
    if isinstance(geo, list):
        geo = next((g for g in geo if isinstance(g, dict)), None)
    if isinstance(geo, dict):
        lat, lon = _number(geo.get("latitude")), _number(geo.get("longitude"))
        if lat is not None and lon is not None:
            listing["lat"], listing["lon"] = lat, lon
    listing["phone"] = _text(business.get("telephone"))
    email = _text(business.get("email"))
    listing["email"] = email[7:] if email and email.lower().startswith("mailto:") else email
    listing["website"] = _website(business.get("sameAs"), url)
    listing["siret"] = _siret(business.get("identifier"))
    keywords = [k.strip() for k in _as_list(business.get("keywords"))
                if isinstance(k, str) and k.strip()]
    rubrique = rubrique_from_breadcrumb(objects)
    listing["categories"] = keywords or ([rubrique] if rubrique else None)
    listing["services"] = _services(business.get("amenityFeature")) or None
    hours = [h.strip() for h in _as_list(business.get("openingHours"))
             if isinstance(h, str) and h.strip()]
    listing["opening_hours"] = "; ".join(hours) or None
    listing["description"] = _text(business.get("description"))
    return {k: v for k, v in listing.items() if v is not None}


def shop_id_from_seller(seller: Any) -> str | None:
    """'commerce-123' from a seller object's @id or url (a shop page URL)."""
    for ref in (seller.get("@id"), seller.get("url")) if isinstance(seller, dict) else ():
        if isinstance(ref, str) and (m := SHOP_PATH.match(urlsplit(ref).path)):
            return f"commerce-{m.group(1)}"
    return None


def _image(value: Any) -> str | None:
    for image in _as_list(value):
        if isinstance(image, dict):
            image = image.get("url") or image.get("contentUrl")
        if isinstance(image, str) and image.strip():
            return image.strip()
    return None


def product_listing(url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The product listing (contract) of a product page's JSON-LD objects."""
    sid = source_id_for(url)
    if sid is None or not sid.startswith("produit-"):
        raise SourceLayoutChanged(f"not a product page: {url}")
    product = next((o for o in objects if types_of(o) & PRODUCT_TYPES), None)
    if product is None:
        raise SourceLayoutChanged("no Product in the page's JSON-LD")
    title = _text(product.get("name"))
    if not title:
        raise InvalidRecord("Product without a name")
    offers = [o for o in _as_list(product.get("offers")) if isinstance(o, dict)]
    offer = next((o for o in offers if "Offer" in types_of(o)), offers[0] if offers else {})
    price = offer.get("price")
    if isinstance(price, bool) or not isinstance(price, str | int | float):
        price = None
    availability = _text(offer.get("availability"))
    if availability:
        availability = availability.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or None
    listing: dict[str, Any] = {
        "kind": "product", "source_id": sid, "url": url, "title": title,
        "brand": _text(product.get("brand")),
        "gtin": next((_text(product.get(k)) for k in GTIN_KEYS if _text(product.get(k))), None),
        "price": price.strip() if isinstance(price, str) else price,
        "currency": _text(offer.get("priceCurrency")),
        "availability": availability,
        "category": _text(product.get("category")),
        "description": _text(product.get("description")),
        "image_url": _image(product.get("image")),
        "shop_source_id": shop_id_from_seller(offer.get("seller")),
    }
    return {k: v for k, v in listing.items() if v not in (None, "")}


# ---------------------------------------------------------------------- spider
class DansMaZoneSpider(SitemapSpider):
    """Sitemaps → shop and product pages → listings from their JSON-LD."""

    sitemap_rules = ((SHOP_PATH, "parse_shop"), (PRODUCT_PATH, "parse_product"))
    syntaxes = ("json-ld",)
    complete_marker = FOOTER_MARKER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sitemap_index = str(self.config.option("sitemap_index", DEFAULT_SITEMAP_INDEX))

    def page_complete(self, text: str) -> bool:
        return page_is_complete(text)

    def record_id(self, url: str) -> str | None:
        return source_id_for(url)

    def parse_shop(self, response: Response) -> Iterator[Any]:
        yield from self.read_schema_page(response, _one(shop_listing))

    def parse_product(self, response: Response) -> Iterator[Any]:
        yield from self.read_schema_page(response, _one(product_listing))


def _one(extract: Callable[[str, list[dict[str, Any]]], dict[str, Any]]
         ) -> Callable[[str, list[dict[str, Any]]], PageResult]:
    """A page holding one listing, read by ``extract``: a leaf, done once stored."""
    def read(url: str, objects: list[dict[str, Any]]) -> PageResult:
        return PageResult(url=url, listings=[extract(url, objects)], done=True)
    return read
