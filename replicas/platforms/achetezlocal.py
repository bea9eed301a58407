"""Achetez Local: a regional marketplace whose front end searches through a POST JSON API.

Nothing is in the HTML: the site's script (``/static/app.js``) asks
``POST /api/v2/search`` with a JSON body, Elasticsearch style::

    {"index": "boutiques" | "produits", "size": 20, "search_after": ["<key>"]}

and the answer is ``{"hits": {"total": {"value": N}, "hits": [{"_id", "_source",
"sort": ["<key>"]}]}}``, sorted by key: the next page is asked with the last
hit's ``sort`` as ``search_after`` (key pagination: it never drifts). The API
wants the header the script sends, ``X-Api-Key: <API_KEY>`` (401 without it, or
with another key) and a JSON ``Accept`` (406 for ``text/html`` or none); a body
that is not such a search is a 400. Shop records nest their address, contact
and position; a product carries its price as ``{"montant": "12.50", "devise":
"EUR"}`` and its shop's id. Public pages: ``/boutique/<id>``, ``/produit/<ref>``.

Presence (the world has no entry for this platform: ``replicas.platforms.presence``): an
open shop of any zone is listed when ``rng_for(seed, "achetezlocal", "presence",
entity_id)`` draws under 0.22, an open offer of a listed shop when its own draw
is under 0.8: a shop stays on (or off) until it closes.

Noise: names ~6 % upper case, ~10 % without accents; streets ~30 % abbreviated;
phones "+33 5 61 22 33 44" (50 %) or compact; coordinates jittered up to 15 m,
~10 % without a position; the SIRET on ~70 %; titles sometimes brand first;
prices ~25 % a little off the shop's own.

Faults: the search API is JSON, paged by key (no drift). With ``bad_records``, a
picked shop gets a second hit with an id but no name, a picked product a second
hit whose ``ref`` is null (neither in the truth).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from replicas.faults import WSGIApp
from replicas.noise import (
    format_price_dot,
    hours_osm,
    jitter,
    pick_phone_style,
    platform_price,
    render_name,
    render_phone,
    render_street,
    render_title,
)
from replicas.platforms import DEFAULT_PORTS
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.paging import after_key
from replicas.platforms.presence import DrawnPresence
from replicas.platforms.web import PageShell, json_response, routed_app, text_response
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Offer, Shop, World, rng_for, stable_hash

KEY = "achetezlocal"
PORT = DEFAULT_PORTS[KEY]
SHOP_RATE = 0.22
OFFER_RATE = 0.8
BAD_ID_BASE = 900_000
#: the key the site's own script sends (public, as such keys are)
API_KEY = "al-web-5d41402abc"
MAX_SIZE = 100
INDEXES = ("boutiques", "produits")
SERVICE_LABELS = (("click_collect", "Click & Collect"), ("delivery", "Livraison"),
                  ("local_delivery", "Livraison locale"))
AVAILABILITY = {"in_stock": "disponible", "limited": "derniers articles",
                "out_of_stock": "indisponible"}
IMAGES = "https://cdn.achetezlocal.fr/img"
PRESENCE = DrawnPresence(KEY, SHOP_RATE, OFFER_RATE)
SHELL = PageShell("Achetez Local", before="<main>", after="</main>")


def shop_key(shop: Shop) -> str:
    return f"AL-{shop.index:06d}"


class AchetezLocal(Platform):
    """Shops and products behind a POST JSON search API with key pagination."""

    key: ClassVar[str] = KEY
    title: ClassVar[str] = "Achetez Local"
    default_port: ClassVar[int] = PORT
    #: hits per answer at most, whatever the size asked; tests lower it for more pages
    page_cap: int = MAX_SIZE

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        return PRESENCE.records(world, shop_order=shop_key, shop_record=self._shop_record,
                                product_record=self._product_record,
                                product_order=lambda r: r.source_id)

    def _shop_record(self, world: World, shop: Shop) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        name = render_name(shop, rng, upper_rate=0.06, fold_rate=0.1)
        street = render_street(shop, rng, abbreviate_rate=0.3)
        phone = render_phone(shop.phone, pick_phone_style(rng, {"intl_spaced": 0.5, "compact": 0.5}))
        lat, lon = jitter(shop.lat, shop.lon, rng, 15.0)
        has_geo = rng.random() >= 0.1
        has_siret = rng.random() < 0.7
        sid = shop_key(shop)
        fields = {
            "url": f"/boutique/{sid}", "name": name, "address": street,
            "postcode": shop.postcode, "city": shop.commune, "phone": phone,
            "email": shop.email, "website": shop.website,
            "siret": shop.siret if has_siret else None,
            "lat": lat if has_geo else None, "lon": lon if has_geo else None,
            "categories": [TRADES_BY_KEY[shop.trade].label],
            "services": [label for code, label in SERVICE_LABELS if code in shop.services],
            "opening_hours": hours_osm(shop.hours) or None,
            "description": shop.description or None,
        }
        source = {
            "id": sid, "nom": name, "lien": fields["url"],
            "adresse": {"rue": street, "cp": shop.postcode, "ville": shop.commune},
            "contact": {"tel": phone, "email": shop.email, "web": shop.website},
            "siret": fields["siret"],
            "position": {"lat": lat, "lon": lon} if has_geo else None,
            "rubriques": fields["categories"], "services": fields["services"],
            "horaires": fields["opening_hours"], "presentation": fields["description"],
        }
        return Record("shop", sid, shop.entity_id, present(fields), {"source": source})

    def _product_record(self, world: World, offer: Offer, shop_sid: str) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        title = render_title(product, rng, brand_first_rate=0.15)
        cents = platform_price(offer.price_cents, rng, drift_rate=0.25)
        has_image = rng.random() < 0.75
        ref = f"ALP-{stable_hash(world.seed, self.key, offer.entity_id):012x}"[:16]
        fields = {
            "url": f"/produit/{ref}", "title": title, "brand": product.brand,
            "gtin": product.gtin, "price": format_price_dot(cents), "currency": "EUR",
            "availability": AVAILABILITY[offer.availability],
            "category": TRADES_BY_KEY[product.trade].label,
            "description": product.description or None,
            "image_url": f"{IMAGES}/{ref[4:]}.jpg" if has_image else None,
            "shop_source_id": shop_sid,
        }
        source = {
            "ref": ref, "titre": title, "marque": product.brand, "ean": product.gtin,
            "prix": {"montant": fields["price"], "devise": "EUR"},
            "stock": fields["availability"], "rayon": fields["category"],
            "texte": fields["description"], "visuel": fields["image_url"],
            "lien": fields["url"], "boutique": {"id": shop_sid},
        }
        return Record("product", ref, offer.entity_id, present(fields), {"source": source})

    # ---------------------------------------------------------------- the search index
    def on_records_changed(self) -> None:
        hits: dict[str, list[tuple[str, dict[str, Any]]]] = {name: [] for name in INDEXES}
        self._pages: dict[str, Record] = {}
        for record in self.records:
            index = "boutiques" if record.kind == "shop" else "produits"
            source = record.native["source"]
            hits[index].append((record.source_id, source))
            self._pages[record.fields["url"]] = record
            if self.injector.is_bad_record(record.source_id):
                if record.kind == "shop":
                    number = BAD_ID_BASE + int(record.source_id[3:])
                    broken = {"id": f"AL-{number:06d}", "nom": None,
                              "rubriques": source["rubriques"]}
                else:
                    broken = {**source, "ref": None}
                hits[index].append((record.source_id + "~", broken))  # right after it
        for index in INDEXES:
            hits[index].sort(key=lambda hit: hit[0])
        self._hits = hits
        self._keys = {index: [k for k, _ in hits[index]] for index in INDEXES}

    def search(self, index: str, size: int, after: str | None) -> dict[str, Any]:
        """The answer to a search of ``index``, ``size`` hits after the key ``after``."""
        hits, keys = self._hits[index], self._keys[index]
        start = after_key(keys, after)
        page = hits[start:start + min(size, max(1, self.page_cap))]
        return {"took": 1, "timed_out": False,
                "hits": {"total": {"value": len(hits), "relation": "eq"},
                         "hits": [{"_index": index, "_id": key, "_source": source,
                                   "sort": [key]} for key, source in page]}}

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path == "/api/v2/search":
            return "json", False  # paged by key: immune to drift
        if path.startswith(("/boutique/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        urls = Map([Rule("/", endpoint="home"), Rule("/robots.txt", endpoint="robots"),
                    Rule("/static/app.js", endpoint="script"),
                    Rule("/api/v2/search", endpoint="search", methods=["POST"]),
                    Rule("/boutique/<sid>", endpoint="page"),
                    Rule("/produit/<sid>", endpoint="page")])
        views: dict[str, Callable[..., Response]] = {
            "home": self._home, "robots": self._robots, "script": self._script,
            "search": self._search, "page": self._page}
        return routed_app(urls, views, api_error=_api_error)

    def _home(self, request: Request) -> Response:
        body = (f"<h1>{self.title}</h1><p>Le commerce de votre région, en ligne.</p>"
                '<div id="app" data-index="boutiques"></div>'
                '<script src="/static/app.js"></script>')
        return SHELL.response(self.title, body)

    def _robots(self, request: Request) -> Response:
        return text_response("User-agent: *\nDisallow: /compte\nAllow: /\n")

    def _script(self, request: Request) -> Response:
        script = (
            "const API_KEY = '" + API_KEY + "';\n"
            "function search(index, after) {\n"
            "  return fetch('/api/v2/search', {method: 'POST', headers: {\n"
            "    'X-Api-Key': API_KEY, 'Accept': 'application/json',\n"
            "    'Content-Type': 'application/json'},\n"
            "    body: JSON.stringify({index: index, size: 20, search_after: after})})\n"
            "    .then(function (r) { return r.json(); });\n}\n")
        return text_response(script, "application/javascript")

    def _search(self, request: Request) -> Response:
        if request.headers.get("X-Api-Key") != API_KEY:
            return json_response({"error": {"type": "unauthorized",
                                            "reason": "missing or unknown X-Api-Key"}}, 401)
        if "application/json" not in request.headers.get("Accept", ""):
            return json_response({"error": {"type": "not_acceptable",
                                            "reason": "this API answers application/json"}},
                                 406)
        try:
            query = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            query = None
        problem = _bad_search(query)
        if problem:
            return json_response({"error": {"type": "parsing_exception", "reason": problem}},
                                 400)
        after = query.get("search_after")
        return json_response(self.search(query["index"], int(query.get("size", 20)),
                                         str(after[0]) if after else None))

    def _page(self, request: Request, sid: str) -> Response:
        record = self._pages.get(request.path)
        if record is None:
            raise NotFound()
        title = record.fields.get("name") or record.fields.get("title") or sid
        body = (f"<h1>{html.escape(title)}</h1>"
                f'<div id="app" data-id="{html.escape(sid)}"></div>'
                '<script src="/static/app.js"></script>')
        return SHELL.response(title, body)


def _api_error(exc: HTTPException) -> Response:
    return json_response({"error": {"type": exc.name, "reason": exc.description}},
                         exc.code or 500)


def _bad_search(query: Any) -> str | None:
    """Why a search body is refused (None: it is a search)."""
    if not isinstance(query, dict):
        return "the body is a JSON object"
    if query.get("index") not in INDEXES:
        return f"index must be one of {', '.join(INDEXES)}"
    size = query.get("size", 20)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        return f"size must be an integer within 1..{MAX_SIZE}"
    after = query.get("search_after")
    if after is not None and (not isinstance(after, list) or len(after) != 1
                              or not isinstance(after[0], str)):
        return "search_after is the sort value of the last hit: [key]"
    return None

