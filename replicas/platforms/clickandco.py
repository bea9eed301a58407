"""Click'n Co: the Sicoval's click & collect platform, served as a cursor-paged JSON API.

The API lists shops at ``GET /api/shops?cursor=&limit=`` (at most 50 a page)
and each shop's products at ``GET /api/shops/<shop_id>/products?cursor=``; both
answer ``{"data": [...], "next_cursor": "<opaque>" | null}``. The cursor is the
base64 of the last id served and items are sorted by id, so a listing added or
removed while a crawler pages through cannot shift the window (no drift).
Prices are integer cents, phones E.164, opening hours one entry per day and
range, services booleans. Every client gets a token bucket (``rate_limit``
requests a second, ``rate_burst`` at once); beyond it the API answers 429 with
a ``Retry-After`` in whole seconds or, now and then, as an HTTP date. Every API
answer announces the policy in ``X-RateLimit-Limit`` (requests a second),
``X-RateLimit-Burst`` and ``X-RateLimit-Remaining``. Public pages for shoppers
live at ``/boutique/<id>`` and ``/produit/<id>``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import html
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from replicas.faults import FaultProfile, WSGIApp
from replicas.noise import (
    DAY_ORDER,
    fold_accents,
    format_price_dot,
    format_price_fr,
    hours_osm,
    jitter,
    platform_price,
    render_name,
    render_phone,
    render_street,
    render_title,
)
from replicas.platforms import DEFAULT_PORTS
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.paging import after_key
from replicas.platforms.web import (
    PageShell,
    View,
    dispatch,
    html_response,
    json_response,
    text_response,
)
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Hours, Offer, Shop, World, rng_for, stable_hash

_KEY = re.compile(r"(shp|prd)_[0-9a-f]+~?")
MAX_LIMIT = 50
DEFAULT_LIMIT = 20
CDN = "https://cdn.clickandco.fr/produits"

DAY_NAMES = {"Mo": "monday", "Tu": "tuesday", "We": "wednesday", "Th": "thursday",
             "Fr": "friday", "Sa": "saturday", "Su": "sunday"}
STOCK = {"in_stock": "in_stock", "limited": "low", "out_of_stock": "out"}
SERVICES = (("click_collect", "click_and_collect"), ("delivery", "delivery"),
            ("local_delivery", "local_delivery"))
SHELL = PageShell("Click'n Co", after="<footer>Click'n Co — Sicoval</footer>", newlines=False)


def encode_cursor(key: str) -> str:
    """The opaque cursor pointing after ``key``."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor points after; ValueError for a cursor this API never gave."""
    try:
        key = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc
    if not _KEY.fullmatch(key):
        raise ValueError(f"invalid cursor {cursor!r}")
    return key


def hours_entries(hours: Hours) -> list[dict[str, str]]:
    """One ``{"day", "opens", "closes"}`` per day and range, Monday first."""
    out = []
    for day in DAY_ORDER:
        for days, start, end in hours.spans:
            a, b = DAY_ORDER.index(days[0]), DAY_ORDER.index(days[1])
            if a <= DAY_ORDER.index(day) <= b:
                out.append({"day": DAY_NAMES[day], "opens": start, "closes": end})
    return out


@dataclass
class _Page:
    """Items sorted by key, for cursor paging."""

    keys: list[str] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)

    def window(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        start = after_key(self.keys, after)
        end = min(len(self.items), start + limit)
        more = end < len(self.items)
        return self.items[start:end], (encode_cursor(self.keys[end - 1]) if more else None)


@dataclass
class _Index:
    shops: _Page
    products: dict[str, _Page]
    by_id: dict[str, Record]
    products_of: dict[str, list[Record]]


class _TokenBuckets:
    """One token bucket per client: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str, rate: float, burst: int) -> tuple[bool, float, float]:
        """(allowed, tokens left, seconds until the next token)."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return True, tokens - 1.0, 0.0
            self._buckets[client] = (tokens, now)
            return False, tokens, (1.0 - tokens) / rate


class ClickAndCo(Platform):
    """Click'n Co: cursor-paged JSON API with a per-client rate limit."""

    key: ClassVar[str] = "clickandco"
    title: ClassVar[str] = "Click'n Co"
    default_port: ClassVar[int] = DEFAULT_PORTS["clickandco"]

    #: requests a second each client may make to the API (None or 0: no limit)
    rate_limit: float | None = 20.0
    #: requests a client may make at once after a pause
    rate_burst: int = 20

    def __init__(self, world: World, *, faults: FaultProfile | None = None,
                 rate_limit: float | None = None, rate_burst: int | None = None) -> None:
        if rate_limit is not None:
            self.rate_limit = rate_limit
        if rate_burst is not None:
            self.rate_burst = rate_burst
        self._buckets = _TokenBuckets()
        self._html_cache: dict[str, bytes] = {}
        self.rate_limited = 0  # 429 answers given, for tests and benchmarks
        super().__init__(world, faults=faults)

    # ------------------------------------------------------------------ records
    def _id(self, prefix: str, world: World, entity_id: str) -> str:
        return f"{prefix}_{stable_hash(world.seed, self.key, entity_id):016x}"[:16]

    def build_records(self, world: World) -> list[Record]:
        shops = world.shops_on(self.key)
        shop_ids = {s.index: self._id("shp", world, s.entity_id) for s in shops}
        records = sorted((self._shop_record(world, s, shop_ids[s.index]) for s in shops),
                         key=lambda r: r.source_id)
        products = [self._product_record(world, o, shop_ids[o.shop])
                    for o in world.offers_on(self.key)]
        products.sort(key=lambda r: (r.fields["shop_source_id"], r.source_id))
        return records + products

    def _shop_record(self, world: World, shop: Shop, sid: str) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        name = render_name(shop, rng, legal_form_rate=0.3, upper_rate=0.05, abbreviate_rate=0.12)
        street = render_street(shop, rng, abbreviate_rate=0.2, saint_rate=0.1)
        city_roll = rng.random()
        if city_roll < 0.1:
            city = f"{shop.postcode} {shop.commune}"
        elif city_roll < 0.2:
            city = fold_accents(shop.commune).upper()
        else:
            city = shop.commune
        has_siret = rng.random() < 0.7
        lat, lon = jitter(shop.lat, shop.lon, rng, 30.0)
        has_location = rng.random() >= 0.1
        has_legal_name = shop.legal_form is not None and rng.random() < 0.8
        trade = TRADES_BY_KEY[shop.trade]
        category = trade.labels[self.key]
        services = [word for world_word, word in SERVICES if world_word in shop.services]
        native = {
            "id": sid,
            "name": name,
            "legal_name": (f"{shop.name} {shop.legal_form}".upper() if has_legal_name else None),
            "address": {"line1": street, "zip": shop.postcode, "city": city},
            "phone_e164": render_phone(shop.phone, "e164"),
            "email": shop.email,
            "website": shop.website,
            "siret": shop.siret if has_siret else None,
            "location": {"lat": lat, "lon": lon} if has_location else None,
            "category": category,
            "click_and_collect": "click_collect" in shop.services,
            "delivery": "delivery" in shop.services,
            "local_delivery": "local_delivery" in shop.services,
            "opening_hours": hours_entries(shop.hours),
            "description": shop.description or None,
            "permalink": f"/boutique/{sid}",
            "updated_at": world.listing_updated_at(self.key, shop).isoformat(),
        }
        if native["legal_name"] is None:
            del native["legal_name"]
        if native["siret"] is None:
            del native["siret"]
        fields = present({
            "url": f"/boutique/{sid}",
            "name": name,
            "address": street,
            "postcode": shop.postcode,
            "city": city,
            "phone": native["phone_e164"],
            "email": shop.email,
            "website": shop.website,
            "siret": native.get("siret"),
            "lat": lat if has_location else None,
            "lon": lon if has_location else None,
            "categories": [category],
            "services": services,
            "opening_hours": hours_osm(shop.hours),
            "description": shop.description,
        })
        return Record("shop", sid, shop.entity_id, fields, native)

    def _product_record(self, world: World, offer: Offer, shop_sid: str) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        sid = self._id("prd", world, offer.entity_id)
        title = render_title(product, rng, upper_rate=0.15, compact_units_rate=0.3)
        has_image = rng.random() >= 0.1
        cents = platform_price(offer.price_cents, rng, drift_rate=0.25)
        category = TRADES_BY_KEY[product.trade].labels[self.key]
        image = f"{CDN}/{sid[4:]}.jpg" if has_image else None
        native = {
            "id": sid,
            "shop_id": shop_sid,
            "name": title,
            "brand": product.brand,
            "ean": product.gtin,
            "price_cents": cents,
            "currency": "EUR",
            "stock": STOCK[offer.availability],
            "category": category,
            "image_url": image,
            "description": product.description,
            "permalink": f"/produit/{sid}",
            "updated_at": world.listing_updated_at(self.key, offer).isoformat(),
        }
        fields = present({
            "url": f"/produit/{sid}",
            "title": title,
            "brand": product.brand,
            "gtin": product.gtin,
            "price": format_price_dot(cents),  # as the connector derives it
            "currency": "EUR",
            "availability": STOCK[offer.availability],
            "category": category,
            "description": product.description,
            "image_url": image,
            "shop_source_id": shop_sid,
        })
        return Record("product", sid, offer.entity_id, fields, native)

    def on_records_changed(self) -> None:
        shops = _Page()
        products: dict[str, _Page] = {}
        by_id: dict[str, Record] = {}
        products_of: dict[str, list[Record]] = {}
        for record in self.records:  # shops come first, sorted by id
            by_id[record.source_id] = record
            if record.kind == "shop":
                shops.keys.append(record.source_id)
                shops.items.append(record.native)
                products[record.source_id] = _Page()
                products_of[record.source_id] = []
                if self.injector.is_bad_record(record.source_id):
                    shops.keys.append(record.source_id + "~")
                    shops.items.append(_broken_shop(record))
                continue
            shop_sid = record.fields["shop_source_id"]
            page = products[shop_sid]
            products_of[shop_sid].append(record)
            page.keys.append(record.source_id)
            page.items.append(record.native)
            if self.injector.is_bad_record(record.source_id):
                broken = _broken_product(record)
                page.keys.append(broken["id"])
                page.items.append(broken)
        for page in products.values():  # keep each page sorted with the broken items in
            order = sorted(range(len(page.keys)), key=page.keys.__getitem__)
            page.keys = [page.keys[i] for i in order]
            page.items = [page.items[i] for i in order]
        self._index = _Index(shops, products, by_id, products_of)
        self._html_cache = {}

    # ------------------------------------------------------------------ web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path.startswith("/api/"):
            return "json", False  # cursor paging: immune to drift
        if path.startswith(("/boutique/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        urls = Map([
            Rule("/", endpoint="home"),
            Rule("/robots.txt", endpoint="robots"),
            Rule("/api/shops", endpoint="api_shops"),
            Rule("/api/shops/<shop_id>", endpoint="api_shop"),
            Rule("/api/shops/<shop_id>/products", endpoint="api_products"),
            Rule("/boutique/<sid>", endpoint="shop_page"),
            Rule("/produit/<sid>", endpoint="product_page"),
        ])
        views: dict[str, View] = {
            "home": self._home, "robots": self._robots,
            "api_shops": self._rate_limited(self._api_shops),
            "api_shop": self._rate_limited(self._api_shop),
            "api_products": self._rate_limited(self._api_products),
            "shop_page": self._shop_page, "product_page": self._product_page,
        }

        def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            request = Request(environ)
            response = dispatch(request, urls, views, api_error=_api_error)
            if endpoint_is_api(request.path) and response.status_code != 429:
                self._rate_headers(response, request)
            return response(environ, start_response)

        return app

    # ------------------------------------------------------------------ rate limit
    def _rate_limited(self, view: View) -> View:
        """The API view behind the client's token bucket (a 429 once it is empty)."""
        def limited(request: Request, **args: Any) -> Response:
            refused = self._rate_check(request)
            return refused if refused is not None else view(request, **args)
        return limited

    def _client(self, request: Request) -> str:
        return request.headers.get("Authorization") or request.remote_addr or "-"

    def _rate_check(self, request: Request) -> Response | None:
        rate = self.rate_limit
        if not rate:
            request.environ["clickandco.tokens"] = None
            return None
        burst = max(1, int(self.rate_burst))
        allowed, left, wait = self._buckets.take(self._client(request), rate, burst)
        request.environ["clickandco.tokens"] = left
        if allowed:
            return None
        with self._lock:
            self.rate_limited += 1
            count = self.rate_limited
        seconds = max(1, math.ceil(wait))
        if stable_hash(self.key, count) % 4 == 0:  # some gateways send a date instead
            retry_after = email.utils.formatdate(math.ceil(time.time()) + seconds, usegmt=True)
        else:
            retry_after = str(seconds)
        response = json_response({"error": "Too Many Requests",
                                  "detail": f"limit of {rate:g} requests a second exceeded"},
                                 429)
        response.headers["Retry-After"] = retry_after
        response.headers["X-RateLimit-Limit"] = f"{rate:g}"
        response.headers["X-RateLimit-Burst"] = str(burst)
        response.headers["X-RateLimit-Remaining"] = "0"
        return response

    def _rate_headers(self, response: Response, request: Request) -> None:
        rate = self.rate_limit
        if not rate:
            return
        left = request.environ.get("clickandco.tokens")
        response.headers["X-RateLimit-Limit"] = f"{rate:g}"
        response.headers["X-RateLimit-Burst"] = str(max(1, int(self.rate_burst)))
        if left is not None:
            response.headers["X-RateLimit-Remaining"] = str(int(left))

    # ------------------------------------------------------------------ API views
    def _paging(self, request: Request) -> tuple[str | None, int]:
        cursor = request.args.get("cursor") or None
        try:
            limit = int(request.args.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = -1
        if limit < 1:
            raise _BadRequest("limit must be a positive integer")
        after = None
        if cursor is not None:
            try:
                after = decode_cursor(cursor)
            except ValueError as exc:
                raise _BadRequest(str(exc)) from exc
        return after, min(limit, MAX_LIMIT)

    def _api_shops(self, request: Request) -> Response:
        after, limit = self._paging(request)
        items, next_cursor = self._index.shops.window(after, limit)
        return json_response({"data": items, "next_cursor": next_cursor})

    def _api_shop(self, request: Request, shop_id: str) -> Response:
        record = self._index.by_id.get(shop_id)
        if record is None or record.kind != "shop":
            raise NotFound(f"no shop {shop_id}")
        return json_response({"data": record.native})

    def _api_products(self, request: Request, shop_id: str) -> Response:
        page = self._index.products.get(shop_id)
        if page is None:
            raise NotFound(f"no shop {shop_id}")
        after, limit = self._paging(request)
        items, next_cursor = page.window(after, limit)
        return json_response({"data": items, "next_cursor": next_cursor})

    # ------------------------------------------------------------------ public pages
    def _home(self, request: Request) -> Response:
        body = (f"<h1>{self.title}</h1><p>{len(self._index.shops.items)} commerces du Sicoval "
                "en click &amp; collect.</p><p>API : <code>/api/shops</code></p>")
        return SHELL.response(self.title, body)

    def _robots(self, request: Request) -> Response:
        return text_response("User-agent: *\nAllow: /\n")

    def _shop_page(self, request: Request, sid: str) -> Response:
        return self._public_page(sid, "shop")

    def _product_page(self, request: Request, sid: str) -> Response:
        return self._public_page(sid, "product")

    def _public_page(self, sid: str, kind: str) -> Response:
        """The page of the listing ``sid`` of ``kind``, rendered once per epoch."""
        cached = self._html_cache.get(sid)
        if cached is None:
            record = self._index.by_id.get(sid)
            if record is None or record.kind != kind:
                raise NotFound()
            render = self._render_shop if kind == "shop" else self._render_product
            cached = render(record).encode()
            self._html_cache[sid] = cached
        return html_response(cached)

    def _render_shop(self, record: Record) -> str:
        f, e = record.fields, html.escape
        lines = [f"<h1>{e(f['name'])}</h1>",
                 f"<p class=\"adresse\">{e(f.get('address', ''))}, {e(f['postcode'])} "
                 f"{e(f.get('city', ''))}</p>",
                 f"<p class=\"tel\">{e(f.get('phone', ''))}</p>",
                 f"<p class=\"categorie\">{e(', '.join(f.get('categories', [])))}</p>"]
        if f.get("services"):
            lines.append(f"<p class=\"services\">{e(', '.join(f['services']))}</p>")
        lines.append("<ul class=\"produits\">")
        for product in self._index.products_of.get(record.source_id, []):
            cents = product.native["price_cents"]
            lines.append(f"<li><a href=\"/produit/{product.source_id}\">"
                         f"{e(product.fields['title'])}</a> {e(format_price_fr(cents))}</li>")
        lines.append("</ul>")
        return SHELL.render(f["name"], "\n".join(lines))

    def _render_product(self, record: Record) -> str:
        f, e = record.fields, html.escape
        shop = self._index.by_id.get(f["shop_source_id"])
        shop_name = shop.fields["name"] if shop else ""
        body = (f"<h1>{e(f['title'])}</h1>"
                f"<p class=\"prix\">{e(format_price_fr(record.native['price_cents']))}</p>"
                f"<p class=\"stock\">{e(f['availability'])}</p>"
                f"<p>Vendu par <a href=\"/boutique/{e(f['shop_source_id'])}\">"
                f"{e(shop_name)}</a></p>")
        return SHELL.render(f["title"], body)


class _BadRequest(HTTPException):
    code = 400
    name = "Bad Request"


def endpoint_is_api(path: str) -> bool:
    return path.startswith("/api/")


def _api_error(exc: HTTPException) -> Response:
    return json_response({"error": exc.name, "detail": exc.description}, exc.code or 500)


def _broken_shop(record: Record) -> dict[str, Any]:
    """A shop the API serves without an id (never in the truth)."""
    native = dict(record.native)
    native["id"] = None
    native["permalink"] = None
    return native


def _broken_product(record: Record) -> dict[str, Any]:
    """A product whose price is not a number (never in the truth)."""
    native = dict(record.native)
    native["id"] = "prd_" + f"{stable_hash(record.source_id, 'broken'):016x}"[:12]
    native["price_cents"] = "sur devis"
    native["permalink"] = f"/produit/{native['id']}"
    return native
