"""Achetez Grand Nancy: the metropolis's own marketplace, a plain paged JSON API.

The Grand Nancy's city platform (the world's ``grand_nancy`` region). Shops at
``/api/v1/commerces?page=N`` and products at ``/api/v1/produits?page=N``, 25 a
page in id order, each answer announcing ``total`` and ``pages``; a record's
``lien`` is its public page (``/commerce/<id>-<slug>``, ``/produit/<id>-<slug>``).
Crawled by a declarative ``json_api`` entry of ``config/sources.yaml``: no
connector code.

Presence (the world's five Toulouse platforms are not here, so the platform draws
it, ``replicas.platforms.presence``, like Ma Ville Mon Shopping): an open shop of
the ``grand_nancy`` zone is listed when ``rng_for(seed, "achetezgrandnancy",
"presence", entity_id)`` draws under SHOP_RATE; an open offer of a listed shop
under OFFER_RATE. Light noise: phones dotted or spaced, coordinates jittered up
to 15 m and ~5 % missing, streets sometimes abbreviated, prices a little off the
shop's own on ~15 %.

Faults: both lists are paged by position (``classify`` says so), so the injector's
drift shifts their window; with ``bad_records``, a picked record is followed by a
copy whose ``id`` is null.
"""

from __future__ import annotations

import html
import re
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
    render_phone,
    render_street,
)
from replicas.platforms import DEFAULT_PORTS
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.paging import drifted_window, requested_drift
from replicas.platforms.presence import DrawnPresence
from replicas.platforms.web import PageShell, json_response, routed_app
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Offer, Shop, World, rng_for, slugify

KEY = "achetezgrandnancy"
PRESENCE_ZONES = ("grand_nancy",)
SHOP_RATE = 0.7
OFFER_RATE = 0.8
SHOP_ID_BASE = 5_000
SERVICE_LABELS = (("click_collect", "Click & Collect"), ("delivery", "Livraison"),
                  ("local_delivery", "Livraison dans la métropole"))
AVAILABILITY = {"in_stock": "disponible", "limited": "stock limité",
                "out_of_stock": "indisponible"}
PRESENCE = DrawnPresence(KEY, SHOP_RATE, OFFER_RATE, zones=PRESENCE_ZONES)
# the metropolis's own site: no header, no footer, nothing wrapped in <main>
SHELL = PageShell("Achetez Grand Nancy", newlines=False)


class AchetezGrandNancy(Platform):
    """Shops and products of the Grand Nancy, on a paged JSON API."""

    key: ClassVar[str] = KEY
    title: ClassVar[str] = "Achetez Grand Nancy"
    default_port: ClassVar[int] = DEFAULT_PORTS[KEY]

    #: records per API page
    page_size: int = 25

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        return PRESENCE.records(world, shop_order=lambda s: s.index,
                                shop_record=self._shop_record,
                                product_record=self._product_record,
                                product_order=lambda r: r.native["number"])

    def _shop_record(self, world: World, shop: Shop) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        street = render_street(shop, rng, abbreviate_rate=0.15)
        phone = render_phone(shop.phone, pick_phone_style(rng, {"dotted": 0.5, "spaced": 0.5}))
        lat, lon = jitter(shop.lat, shop.lon, rng, 15.0)
        has_geo = rng.random() >= 0.05
        number = SHOP_ID_BASE + shop.index
        sid = f"commerce-{number}"
        fields = {
            "url": f"/commerce/{number}-{slugify(shop.name)[:50]}",
            "name": shop.name,
            "address": street,
            "postcode": shop.postcode,
            "city": shop.commune,
            "phone": phone,
            "email": shop.email,
            "website": shop.website,
            "siret": shop.siret,
            "lat": lat if has_geo else None,
            "lon": lon if has_geo else None,
            "categories": [TRADES_BY_KEY[shop.trade].label],
            "services": [label for code, label in SERVICE_LABELS if code in shop.services],
            "opening_hours": hours_osm(shop.hours),
            "description": shop.description or None,
        }
        item = {
            "id": sid, "nom": fields["name"], "lien": fields["url"],
            "adresse": {"voie": street, "cp": shop.postcode, "commune": shop.commune},
            "position": {"lat": lat, "lng": lon} if has_geo else None,
            "telephone": phone, "courriel": shop.email, "site": shop.website,
            "siret": shop.siret, "activites": fields["categories"],
            "services": fields["services"], "horaires": fields["opening_hours"],
            "presentation": fields["description"],
        }
        return Record("shop", sid, shop.entity_id, present(fields),
                      {"number": number, "item": item})

    def _product_record(self, world: World, offer: Offer, shop_sid: str) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        cents = platform_price(offer.price_cents, rng, drift_rate=0.15)
        number = offer.shop * 100_000 + offer.product
        sid = f"produit-{number}"
        fields = {
            "url": f"/produit/{number}-{slugify(product.title)[:50]}",
            "title": product.title,
            "brand": product.brand,
            "gtin": product.gtin,
            "price": format_price_dot(cents),
            "currency": "EUR",
            "availability": AVAILABILITY[offer.availability],
            "category": TRADES_BY_KEY[product.trade].label,
            "description": product.description or None,
            "shop_source_id": shop_sid,
        }
        item = {
            "id": sid, "commerce": shop_sid, "libelle": product.title, "marque": product.brand,
            "ean": product.gtin, "prix": fields["price"], "devise": "EUR",
            "dispo": fields["availability"], "rayon": fields["category"],
            "descriptif": fields["description"], "lien": fields["url"],
        }
        return Record("product", sid, offer.entity_id, present(fields),
                      {"number": number, "item": item})

    def on_records_changed(self) -> None:
        self._shops = [r for r in self.records if r.kind == "shop"]
        self._products = [r for r in self.records if r.kind == "product"]
        self._by_path = {r.fields["url"]: r for r in self.records}
        # what the lists serve: with ``bad_records``, a picked record is followed by a
        # copy without an id (never in the truth)
        self._items: dict[str, list[dict[str, Any]]] = {}
        for kind, records in (("shop", self._shops), ("product", self._products)):
            items = self._items[kind] = []
            for record in records:
                items.append(record.native["item"])
                if self.injector.is_bad_record(record.source_id):
                    items.append({**record.native["item"], "id": None})

    # ---------------------------------------------------------------- answers
    def page(self, kind: str, page: int, drift: int = 0) -> dict[str, Any]:
        """The JSON answer of a list page (past the last one: no items); ``drift`` items
        added (+) or removed (-) ahead of the page since the walk began."""
        items = self._items[kind]
        size = max(1, self.page_size)
        key = "commerces" if kind == "shop" else "produits"
        return {"total": len(items), "page": page, "pages": max(1, -(-len(items) // size)),
                key: drifted_window(items, (page - 1) * size, size, drift)}

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path in ("/api/v1/commerces", "/api/v1/produits"):
            return "json", True
        if path.startswith(("/commerce/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        urls = Map([
            Rule("/", endpoint="home"),
            Rule("/api/v1/commerces", endpoint="shops"),
            Rule("/api/v1/produits", endpoint="products"),
            Rule("/commerce/<path:slug>", endpoint="public"),
            Rule("/produit/<path:slug>", endpoint="public"),
        ])
        views: dict[str, Callable[..., Response]] = {
            "home": self._home, "public": self._public,
            "shops": lambda request: self._list("shop", request),
            "products": lambda request: self._list("product", request),
        }
        return routed_app(urls, views, api_error=_api_error)

    def _home(self, request: Request) -> Response:
        return SHELL.response(self.title, f"<h1>{self.title}</h1><p>"
                                          f"{len(self._shops)} commerces de la métropole.</p>")

    def _list(self, kind: str, request: Request) -> Response:
        raw = request.args.get("page", "1")
        if not re.fullmatch(r"\d{1,6}", raw) or int(raw) < 1:
            return _json({"erreur": "Bad Request", "detail": "page: un numéro attendu"}, 400)
        return _json(self.page(kind, int(raw), requested_drift(request.environ)))

    def _public(self, request: Request, slug: str) -> Response:
        record = self._by_path.get(request.path)
        if record is None:
            raise NotFound()
        name = record.fields.get("name") or record.fields.get("title") or ""
        return SHELL.response(name, f"<h1>{html.escape(name)}</h1>")


def _json(data: Any, status: int = 200) -> Response:
    """This API's JSON: json.dumps's own spacing (``", "``, ``": "``), unlike the others."""
    return json_response(data, status, compact=False)


def _api_error(exc: HTTPException) -> Response:
    return _json({"erreur": exc.name}, exc.code or 500)
