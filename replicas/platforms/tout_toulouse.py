"""Tout Toulouse: the shopkeepers' federation app, a bearer-token JSON API.

The app's backend serves ``/api/v1/shops`` and ``/api/v1/products`` with offset
pagination (``offset``, ``limit`` up to 100, default 50; items sorted by id,
``{"total", "offset", "limit", "items"}``) and an ``updated_since`` filter that
also returns tombstones (``{"id", "deleted": true, "updated_at"}``) for listings
removed since then. Field names are French (``nom``, ``adresse``, ``prix``...).
Every listing also has a small public page, ``/boutique/<id>`` and
``/produit/<id>``, which is its ``url``.

Ids: a shop's native id is ``1000 + 2 * shop.index``, a product listing's is
``100000 + 2 * offer_index`` (its offer's position in ``world.offers``), so ids
never change between epochs; the odd ids in between are where permanently broken
records live. Source ids are ``boutique-<id>`` and ``produit-<id>``.

The data is the federation's own, hence clean: names as registered (legal form
shown for ~15%, ~1% typos), full addresses (~10% abbreviated), SIRET for ~90%,
phones mostly "05 61 22 33 44", coordinates jittered by up to 15 m (~5% missing).

``updated_at`` is the platform's clock: epochs the replica was built with keep the
world's dates (``world.epoch_time``), and an epoch served later (``set_world``
while running) is dated when the replica started serving it, so that an
incremental crawl whose ``since`` is a wall-clock time sees the change.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, abort, request
from werkzeug.wrappers import Response

from replicas.faults import WSGIApp
from replicas.noise import (
    format_price_fr,
    hours_osm,
    jitter,
    pick_phone_style,
    platform_price,
    render_name,
    render_phone,
    render_street,
    render_title,
)
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.paging import drifted_window, requested_drift
from replicas.platforms.web import PageShell, definition_rows, json_response, text_response
from replicas.vocab import TRADES_BY_KEY
from replicas.world import EPOCH_STEP, Offer, Shop, World, rng_for, stable_hash

DEFAULT_TOKEN = "replica-demo-token"
TOKEN_ENV = "TOUT_TOULOUSE_TOKEN"
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
IMAGE_BASE = "https://media.toutoulouse.fr/produits"

SHOP_ID_BASE = 1000
PRODUCT_ID_BASE = 100_000

SERVICE_FLAGS = (("click_collect", "click_and_collect", "Click & Collect"),
                 ("delivery", "livraison", "Livraison"),
                 ("local_delivery", "livraison_locale", "Livraison locale"))
AVAILABILITY = {"in_stock": "en_stock", "limited": "stock_limite", "out_of_stock": "epuise"}
PHONE_STYLES = {"spaced": 0.85, "compact": 0.15}
SHELL = PageShell("Tout Toulouse", separator="·", before="<main>",
                  after="</main><footer>Tout Toulouse — la fédération des commerçants</footer>")


def shop_native_id(shop: Shop) -> int:
    return SHOP_ID_BASE + 2 * shop.index


def product_native_id(offer_index: int) -> int:
    return PRODUCT_ID_BASE + 2 * offer_index


def iso(when: datetime) -> str:
    """'2026-01-05T06:00:00Z' (milliseconds when there are some)."""
    when = when.astimezone(UTC)
    spec = "milliseconds" if when.microsecond else "seconds"
    return when.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_since(value: str) -> datetime:
    """An ISO 8601 instant; naive means UTC. ValueError when unreadable."""
    when = datetime.fromisoformat(value.strip().replace(" ", "+"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class _Endpoint:
    """One paginated collection: items sorted by id, with their update times."""

    items: list[dict[str, Any]] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    tombstones: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    _filtered: dict[datetime, list[dict[str, Any]]] = field(default_factory=dict)

    def since(self, when: datetime | None) -> list[dict[str, Any]]:
        """Items updated after ``when`` and tombstones of what was removed since (by id)."""
        if when is None:
            return self.items
        cached = self._filtered.get(when)
        if cached is not None:
            return cached
        chosen = [item for item, t in zip(self.items, self.times, strict=True) if t > when]
        chosen += [item for t, item in self.tombstones if t > when]
        chosen.sort(key=_sort_key)
        if len(self._filtered) > 16:
            self._filtered.clear()
        self._filtered[when] = chosen
        return chosen


def _sort_key(item: dict[str, Any]) -> tuple[int, int]:
    # ORDER BY id puts NULL ids first, as the federation's database does
    return (0, 0) if item.get("id") is None else (1, item["id"])


@dataclass
class _Index:
    shops: _Endpoint
    products: _Endpoint
    shop_by_id: dict[int, Record]
    product_by_id: dict[int, Record]
    products_of_shop: dict[int, list[Record]]


class ToutToulouse(Platform):
    """The federation app's API and its public listing pages."""

    key = "tout_toulouse"
    title = "Tout Toulouse"
    default_port = 8701

    def __init__(self, world: World, **kwargs: Any) -> None:
        self.token = os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN
        self._base_epoch: int | None = None
        self._served_at: dict[int, datetime] = {}
        self._index: _Index | None = None
        super().__init__(world, **kwargs)

    # ---------------------------------------------------------------- clock
    def _note_epoch(self, world: World) -> None:
        """Date the epochs served after start (see the module docstring)."""
        if self._base_epoch is None:
            self._base_epoch = world.epoch
            return
        for epoch in range(self._base_epoch + 1, world.epoch + 1):
            if epoch not in self._served_at:
                previous = self.epoch_time(world, epoch - 1)
                self._served_at[epoch] = max(datetime.now(UTC),
                                             previous + timedelta(milliseconds=1))

    def epoch_time(self, world: World, epoch: int) -> datetime:
        """When, on the platform's clock, the world reached ``epoch``."""
        if self._base_epoch is None or epoch <= self._base_epoch or epoch not in self._served_at:
            return world.epoch_time(epoch)
        return self._served_at[epoch]

    def _epoch_of(self, world: World, when: datetime) -> int:
        return round((when - world.epoch_time(0)) / EPOCH_STEP)

    def updated_at(self, world: World, entity: Shop | Offer) -> datetime:
        """When this platform's listing of the entity last changed, on its clock."""
        epoch = self._epoch_of(world, world.listing_updated_at(self.key, entity))
        return self.epoch_time(world, epoch)

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        self._note_epoch(world)
        records = [self._shop_record(world, shop) for shop in world.shops_on(self.key)]
        listed = {id(o) for o in world.offers_on(self.key)}
        for index, offer in enumerate(world.offers):
            if id(offer) in listed:
                records.append(self._product_record(world, offer, index))
        return records

    def _shop_record(self, world: World, shop: Shop) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        nom = render_name(shop, rng, typo_rate=0.01)
        legal_form = shop.legal_form if shop.legal_form and rng.random() < 0.25 else None
        street = render_street(shop, rng, abbreviate_rate=0.10)
        phone = render_phone(shop.phone, pick_phone_style(rng, PHONE_STYLES))
        siret = shop.siret if rng.random() < 0.90 else None
        geo = None if rng.random() < 0.05 else jitter(shop.lat, shop.lon, rng, 15.0)
        native_id = shop_native_id(shop)
        category = TRADES_BY_KEY[shop.trade].labels[self.key]
        services = {flag: code in shop.services for code, flag, _ in SERVICE_FLAGS}
        item: dict[str, Any] = {"id": native_id, "nom": nom}
        if legal_form:
            item["forme_juridique"] = legal_form
        item.update({
            "adresse": {"rue": street, "code_postal": shop.postcode, "ville": shop.commune},
            "telephone": phone,
            "email": shop.email,
            "site_web": shop.website,
            "siret": siret,
            "geo": {"lat": geo[0], "lng": geo[1]} if geo else None,
            "categories": [category],
            "services": services,
            "horaires": hours_osm(shop.hours),
            "description": shop.description,
            "updated_at": iso(self.updated_at(world, shop)),
        })
        fields: dict[str, Any] = {
            "url": f"/boutique/{native_id}",
            "name": f"{nom} {legal_form}" if legal_form else nom,
            "address": street,
            "postcode": shop.postcode,
            "city": shop.commune,
            "phone": phone,
            "email": shop.email,
            "website": shop.website,
            "siret": siret,
            "lat": geo[0] if geo else None,
            "lon": geo[1] if geo else None,
            "categories": [category],
            "services": [label for code, _, label in SERVICE_FLAGS if code in shop.services],
            "opening_hours": item["horaires"],
            "description": shop.description or None,
        }
        return Record("shop", f"boutique-{native_id}", shop.entity_id, present(fields),
                      {"id": native_id, "item": item})

    def _product_record(self, world: World, offer: Offer, index: int) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        title = render_title(product, rng, upper_rate=0.05, compact_units_rate=0.20)
        image = (f"{IMAGE_BASE}/{product.index:05d}.jpg" if rng.random() < 0.92 else None)
        price = round(platform_price(offer.price_cents, rng, drift_rate=0.2) / 100, 2)
        native_id = product_native_id(index)
        shop_id = shop_native_id(world.shops[offer.shop])
        category = TRADES_BY_KEY[product.trade].labels[self.key]
        item = {
            "id": native_id,
            "boutique_id": shop_id,
            "libelle": title,
            "marque": product.brand,
            "ean": product.gtin,
            "prix": price,
            "devise": "EUR",
            "disponibilite": AVAILABILITY[offer.availability],
            "categorie": category,
            "description": product.description,
            "image": image,
            "updated_at": iso(self.updated_at(world, offer)),
        }
        fields = {
            "url": f"/produit/{native_id}",
            "title": title,
            "brand": product.brand,
            "gtin": product.gtin,
            "price": price,
            "currency": "EUR",
            "availability": item["disponibilite"],
            "category": category,
            "description": product.description or None,
            "image_url": image,
            "shop_source_id": f"boutique-{shop_id}",
        }
        return Record("product", f"produit-{native_id}", offer.entity_id, present(fields),
                      {"id": native_id, "shop_id": shop_id, "item": item})

    # ---------------------------------------------------------------- index
    def on_records_changed(self) -> None:
        self._index = self._build_index(self.world, self.records)

    def _build_index(self, world: World, records: list[Record]) -> _Index:
        shops, products = _Endpoint(), _Endpoint()
        shop_by_id: dict[int, Record] = {}
        product_by_id: dict[int, Record] = {}
        products_of_shop: dict[int, list[Record]] = {}
        for record in records:
            item = record.native["item"]
            endpoint = shops if record.kind == "shop" else products
            when = parse_since(item["updated_at"])
            endpoint.items.append(item)
            endpoint.times.append(when)
            for broken in self._broken_items(record):
                endpoint.items.append(broken)
                endpoint.times.append(when)
            if record.kind == "shop":
                shop_by_id[record.native["id"]] = record
            else:
                product_by_id[record.native["id"]] = record
                products_of_shop.setdefault(record.native["shop_id"], []).append(record)
        for endpoint in (shops, products):
            pairs = sorted(zip(endpoint.items, endpoint.times, strict=True),
                           key=lambda pair: _sort_key(pair[0]))
            endpoint.items = [item for item, _ in pairs]
            endpoint.times = [when for _, when in pairs]
        shops.tombstones, products.tombstones = self._tombstones(world)
        return _Index(shops, products, shop_by_id, product_by_id, products_of_shop)

    def _broken_items(self, record: Record) -> list[dict[str, Any]]:
        """A permanently broken extra item next to a record the fault profile picked."""
        if not self.injector.is_bad_record(record.source_id):
            return []
        item = dict(record.native["item"])
        variant = stable_hash(self.key, "broken", record.source_id) % 2
        if variant == 0:  # a row whose id was lost: nothing can identify it
            item["id"] = None
        elif record.kind == "shop":  # coordinates typed in by hand
            item["id"] = record.native["id"] + 1
            item["geo"] = {"lat": "n/a", "lng": "n/a"}
        else:  # a product whose shop was deleted: no shop to sell it
            item["id"] = record.native["id"] + 1
            item["boutique_id"] = None
        return [item]

    def _tombstones(self, world: World) -> tuple[list[tuple[datetime, dict[str, Any]]],
                                                 list[tuple[datetime, dict[str, Any]]]]:
        """(removal time, tombstone) for every shop and offer this platform stopped listing."""
        live_shops = {s.index for s in world.shops_on(self.key)}
        shops = []
        for shop in world.shops:
            if shop.index in live_shops or not (self.key in shop.platforms
                                                or self.key in shop.platform_left):
                continue
            epoch = world.removed_from(self.key, shop)
            if epoch is not None:
                shops.append(self._tombstone(world, shop_native_id(shop), epoch))
        live_offers = {id(o) for o in world.offers_on(self.key)}
        offers = []
        for index, offer in enumerate(world.offers):
            if id(offer) in live_offers or self.key not in offer.platforms:
                continue
            epoch = world.removed_from(self.key, offer)
            if epoch is not None:
                offers.append(self._tombstone(world, product_native_id(index), epoch))
        return shops, offers

    def _tombstone(self, world: World, native_id: int,
                   epoch: int) -> tuple[datetime, dict[str, Any]]:
        when = self.epoch_time(world, epoch)
        return when, {"id": native_id, "deleted": True, "updated_at": iso(when)}

    def _current_index(self) -> _Index:
        index = self._index
        assert index is not None
        return index

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path in ("/api/v1/shops", "/api/v1/products"):
            return "json", True
        if path.startswith("/api/v1/"):
            return "json", False
        if path.startswith(("/boutique/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        app = Flask(__name__)
        platform = self

        def authorized() -> bool:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            return scheme.lower() == "bearer" and token.strip() == platform.token

        def api_error(status: int, code: str, message: str) -> Response:
            response = json_response({"error": code, "message": message}, status)
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="toutoulouse"'
            return response

        def unauthorized() -> Response:
            return api_error(401, "unauthorized", "jeton d'accès manquant ou invalide")

        def listing(endpoint_of: Callable[[_Index], _Endpoint]) -> Response:
            if not authorized():
                return unauthorized()
            try:
                offset = int(request.args.get("offset", "0"))
                limit = int(request.args.get("limit", str(DEFAULT_LIMIT)))
            except ValueError:
                return api_error(400, "bad_request", "offset et limit doivent être des entiers")
            if offset < 0 or limit < 1:
                return api_error(400, "bad_request", "offset >= 0 et limit >= 1")
            limit = min(limit, MAX_LIMIT)
            since = None
            if request.args.get("updated_since"):
                try:
                    since = parse_since(request.args["updated_since"])
                except ValueError:
                    return api_error(400, "bad_request", "updated_since: date ISO 8601 attendue")
            items = endpoint_of(platform._current_index()).since(since)
            window = drifted_window(items, offset, limit, requested_drift(request.environ))
            return json_response({"total": len(items), "offset": offset, "limit": limit,
                                  "items": window})

        @app.get("/api/v1/shops")
        def shops() -> Response:
            return listing(lambda ix: ix.shops)

        @app.get("/api/v1/products")
        def products() -> Response:
            return listing(lambda ix: ix.products)

        def one(records_of: Callable[[_Index], dict[int, Record]], native_id: int,
                unknown: str) -> Response:
            if not authorized():
                return unauthorized()
            record = records_of(platform._current_index()).get(native_id)
            if record is None:
                return api_error(404, "not_found", unknown)
            return json_response(record.native["item"])

        @app.get("/api/v1/shops/<int:native_id>")
        def shop_item(native_id: int) -> Response:
            return one(lambda ix: ix.shop_by_id, native_id, "boutique inconnue")

        @app.get("/api/v1/products/<int:native_id>")
        def product_item(native_id: int) -> Response:
            return one(lambda ix: ix.product_by_id, native_id, "produit inconnu")

        @app.get("/api/<path:rest>")
        def api_unknown(rest: str) -> Response:
            return api_error(404, "not_found", "ressource inconnue")

        @app.get("/boutique/<int:native_id>")
        def shop_page(native_id: int) -> Response:
            index = platform._current_index()
            record = index.shop_by_id.get(native_id)
            if record is None:
                abort(404)
            return SHELL.response(record.fields["name"],
                                  _shop_body(record, index.products_of_shop.get(native_id, [])))

        @app.get("/produit/<int:native_id>")
        def product_page(native_id: int) -> Response:
            index = platform._current_index()
            record = index.product_by_id.get(native_id)
            if record is None:
                abort(404)
            shop = index.shop_by_id.get(record.native["shop_id"])
            return SHELL.response(record.fields["title"], _product_body(record, shop))

        @app.get("/")
        def home() -> Response:
            index = platform._current_index()
            body = (f"<h1>Tout Toulouse</h1><p>{len(index.shop_by_id)} commerces toulousains, "
                    f"{len(index.product_by_id)} produits.</p>"
                    "<p>L'application des commerçants de Toulouse.</p>")
            return SHELL.response("Tout Toulouse", body)

        @app.get("/robots.txt")
        def robots() -> Response:
            return text_response("User-agent: *\nAllow: /\n")

        return app.wsgi_app


def _shop_body(record: Record, products: list[Record]) -> str:
    f = record.fields
    rows = definition_rows([
        ("Adresse", f"{f.get('address', '')}, {f.get('postcode', '')} {f.get('city', '')}"),
        ("Téléphone", f.get("phone")), ("E-mail", f.get("email")),
        ("Site web", f.get("website")), ("SIRET", f.get("siret")),
        ("Catégories", ", ".join(f.get("categories", []))),
        ("Services", ", ".join(f.get("services", []))),
        ("Horaires", f.get("opening_hours")),
    ])
    items = "".join(f'<li><a href="{html.escape(p.fields["url"])}">'
                    f'{html.escape(p.fields["title"])}</a></li>' for p in products)
    return (f'<h1 class="nom">{html.escape(f["name"])}</h1><dl>{rows}</dl>'
            f'<p>{html.escape(f.get("description", ""))}</p>'
            f'<h2>Produits</h2><ul class="produits">{items}</ul>')


def _product_body(record: Record, shop: Record | None) -> str:
    f = record.fields
    price = format_price_fr(int(round(f["price"] * 100)))
    shop_link = (f'<a href="{html.escape(shop.fields["url"])}">'
                 f'{html.escape(shop.fields["name"])}</a>' if shop else "")
    image = (f'<img src="{html.escape(f["image_url"])}" alt="">' if f.get("image_url") else "")
    rows = definition_rows([("Marque", f.get("brand")), ("EAN", f.get("gtin")),
                  ("Disponibilité", f.get("availability")), ("Catégorie", f.get("category"))])
    return (f'<h1 class="libelle">{html.escape(f["title"])}</h1>{image}'
            f'<p class="prix">{html.escape(price)}</p><dl>{rows}</dl>'
            f'<p>{html.escape(f.get("description", ""))}</p><p>Vendu par {shop_link}</p>')
