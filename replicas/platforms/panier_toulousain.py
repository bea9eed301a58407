"""Le Panier Toulousain: a shop-front app whose only data source is a GraphQL API.

``POST /graphql`` with ``{"query", "variables"}`` is executed for real
(graphql-core) against ``SCHEMA``: ``commerces(first, after)`` is a Relay
connection of the shops (``edges { cursor node }``, ``pageInfo { endCursor
hasNextPage }``, ``totalCount``), sorted by id, at most ``MAX_FIRST`` a page;
``commerce(id)`` is one shop, whose ``produits(first, after)`` is the same kind
of connection over its products. A query that does not validate, or asks for a
field the schema lacks, is answered ``200`` with ``errors[]`` and no data, as
GraphQL servers do; a body that is not a GraphQL request is a 400. Public pages:
``/commerce/<id>`` and ``/produit/<id>``.

Presence (the world has no entry for this platform: ``replicas.platforms.presence``):
an open shop of the ``toulouse``, ``metro`` or ``sicoval`` zones is listed when
``rng_for(seed, "panier_toulousain", "presence", entity_id)`` draws under 0.3,
an open offer of a listed shop when its own draw is under 0.75.

Noise: names ~4 % upper case; streets ~20 % abbreviated; phones
"05 61 22 33 44" (70 %) or "+33 (0)5..."; coordinates jittered up to 25 m,
~6 % missing; opening hours in French; prices "12,50 €" as shown, and in
cents; ~20 % a little off the shop's own.

Faults: the API is JSON, paged by cursor (no drift). With ``bad_records``, a
picked shop gets a second node with an id but no name, a picked product a second
node whose id is null (neither in the truth).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from typing import Any, ClassVar

from graphql import GraphQLSchema, build_schema, graphql_sync
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from replicas.faults import WSGIApp
from replicas.noise import (
    format_price_fr,
    hours_french,
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
from replicas.world import Offer, Shop, World, rng_for, slugify, stable_hash

KEY = "panier_toulousain"
PORT = DEFAULT_PORTS[KEY]
PRESENCE_ZONES = ("toulouse", "metro", "sicoval")
SHOP_RATE = 0.3
OFFER_RATE = 0.75
BAD_ID_BASE = 900_000
MAX_FIRST = 50
AVAILABILITY = {"in_stock": "EN_STOCK", "limited": "STOCK_LIMITE", "out_of_stock": "EPUISE"}
SERVICES = {"click_collect": "RETRAIT", "delivery": "LIVRAISON",
            "local_delivery": "LIVRAISON_VELO"}

SCHEMA_SDL = """
type Query {
  commerces(first: Int = 20, after: String): CommerceConnection!
  commerce(id: ID!): Commerce
}
type PageInfo { endCursor: String  hasNextPage: Boolean! }
type CommerceConnection { totalCount: Int!  pageInfo: PageInfo!  edges: [CommerceEdge!]! }
type CommerceEdge { cursor: String!  node: Commerce! }
type Adresse { ligne1: String  codePostal: String  ville: String }
type Coordonnees { latitude: Float!  longitude: Float! }
type Commerce {
  id: ID!
  nom: String
  url: String!
  adresse: Adresse
  telephone: String
  courriel: String
  siteWeb: String
  siret: String
  coordonnees: Coordonnees
  categorie: String
  services: [String!]!
  horaires: String
  description: String
  produits(first: Int = 20, after: String): ProduitConnection!
}
type Prix { centimes: Int!  affiche: String!  devise: String! }
type ProduitConnection { totalCount: Int!  pageInfo: PageInfo!  edges: [ProduitEdge!]! }
type ProduitEdge { cursor: String!  node: Produit! }
type Produit {
  id: ID
  titre: String!
  marque: String
  gtin: String
  prix: Prix!
  disponibilite: String!
  rayon: String
  description: String
  image: String
  url: String!
}
"""


PRESENCE = DrawnPresence(KEY, SHOP_RATE, OFFER_RATE, zones=PRESENCE_ZONES)
SHELL = PageShell("Le Panier Toulousain", before="<main>", after="</main>")


def shop_key(shop: Shop) -> str:
    return f"pt-{shop.index:06d}"


def cursor_of(key: str) -> str:
    """An opaque cursor for a sort key, as Relay servers give them."""
    return base64.urlsafe_b64encode(f"curseur:{key}".encode()).decode()


def key_of(cursor: str | None) -> str | None:
    """The sort key of a cursor (None: from the start); ValueError if not one of ours."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc
    if not text.startswith("curseur:"):
        raise ValueError(f"invalid cursor {cursor!r}")
    return text[len("curseur:"):]


def connection(nodes: list[tuple[str, dict[str, Any]]], keys: list[str], first: int,
               after: str | None, cap: int = MAX_FIRST) -> dict[str, Any]:
    """A Relay connection over (key, node) pairs sorted by key, ``first`` of them after
    the cursor ``after`` (at most ``cap``)."""
    if not 1 <= first <= MAX_FIRST:
        raise ValueError(f"first must be within 1..{MAX_FIRST}")
    key = key_of(after)
    start = after_key(keys, key)
    page = nodes[start:start + min(first, max(1, cap))]
    return {"totalCount": len(nodes),
            "pageInfo": {"endCursor": cursor_of(page[-1][0]) if page else after,
                         "hasNextPage": start + len(page) < len(nodes)},
            "edges": [{"cursor": cursor_of(k), "node": node} for k, node in page]}


class PanierToulousain(Platform):
    """Shops and their products through a GraphQL API with cursor connections."""

    key: ClassVar[str] = KEY
    title: ClassVar[str] = "Le Panier Toulousain"
    default_port: ClassVar[int] = PORT
    #: nodes per page at most, whatever ``first`` asks; tests lower it for more pages
    page_cap: int = MAX_FIRST

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        return PRESENCE.records(
            world, shop_order=shop_key, shop_record=self._shop_record,
            product_record=self._product_record,
            product_order=lambda r: (r.fields["shop_source_id"], r.source_id))

    def _shop_record(self, world: World, shop: Shop) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        name = render_name(shop, rng, upper_rate=0.04)
        street = render_street(shop, rng, abbreviate_rate=0.2)
        phone = render_phone(shop.phone, pick_phone_style(rng, {"spaced": 0.7,
                                                                "intl_paren": 0.3}))
        lat, lon = jitter(shop.lat, shop.lon, rng, 25.0)
        has_geo = rng.random() >= 0.06
        sid = shop_key(shop)
        fields: dict[str, Any] = {
            "url": f"/commerce/{sid}-{slugify(shop.name)[:40]}", "name": name,
            "address": street, "postcode": shop.postcode, "city": shop.commune,
            "phone": phone, "email": shop.email, "website": shop.website,
            "siret": shop.siret, "lat": lat if has_geo else None,
            "lon": lon if has_geo else None,
            "categories": [TRADES_BY_KEY[shop.trade].label],
            "services": [label for code, label in SERVICES.items() if code in shop.services],
            "opening_hours": hours_french(shop.hours) or None,
            "description": shop.description or None,
        }
        node = {
            "id": sid, "nom": name, "url": fields["url"],
            "adresse": {"ligne1": street, "codePostal": shop.postcode, "ville": shop.commune},
            "telephone": phone, "courriel": shop.email, "siteWeb": shop.website,
            "siret": shop.siret,
            "coordonnees": {"latitude": lat, "longitude": lon} if has_geo else None,
            "categorie": fields["categories"][0], "services": fields["services"],
            "horaires": fields["opening_hours"], "description": fields["description"],
        }
        return Record("shop", sid, shop.entity_id, present(fields), {"node": node})

    def _product_record(self, world: World, offer: Offer, shop_sid: str) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        title = render_title(product, rng, upper_rate=0.02, compact_units_rate=0.2)
        cents = platform_price(offer.price_cents, rng, drift_rate=0.2)
        has_image = rng.random() < 0.7
        pid = f"pp-{stable_hash(world.seed, self.key, offer.entity_id):012x}"[:15]
        shown = format_price_fr(cents)
        fields: dict[str, Any] = {
            "url": f"/produit/{pid}", "title": title, "brand": product.brand,
            "gtin": product.gtin, "price": shown, "currency": "EUR",
            "availability": AVAILABILITY[offer.availability],
            "category": TRADES_BY_KEY[product.trade].label,
            "description": product.description or None,
            "image_url": f"/media/{pid}.webp" if has_image else None,
            "shop_source_id": shop_sid,
        }
        node = {
            "id": pid, "titre": title, "marque": product.brand, "gtin": product.gtin,
            "prix": {"centimes": cents, "affiche": shown, "devise": "EUR"},
            "disponibilite": fields["availability"], "rayon": fields["category"],
            "description": fields["description"], "image": fields["image_url"],
            "url": fields["url"],
        }
        return Record("product", pid, offer.entity_id, present(fields), {"node": node})

    # ---------------------------------------------------------------- the graph
    def on_records_changed(self) -> None:
        shops: list[tuple[str, dict[str, Any]]] = []
        products: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._pages: dict[str, Record] = {}
        products[""] = []  # the broken shops' (none)
        for record in self.records:
            self._pages[record.fields["url"]] = record
            node = record.native["node"]
            bad = self.injector.is_bad_record(record.source_id)
            if record.kind == "shop":
                products[record.source_id] = []
                node = {**node, "produits": self._products_of(record.source_id)}
                shops.append((record.source_id, node))
                if bad:
                    number = BAD_ID_BASE + int(record.source_id[3:])
                    shops.append((record.source_id + "~", {  # no name, no products
                        **node, "id": f"pt-{number:06d}", "nom": None,
                        "produits": self._products_of("")}))
                continue
            owner = products[record.fields["shop_source_id"]]
            owner.append((record.source_id, node))
            if bad:
                owner.append((record.source_id + "~", {**node, "id": None}))
        for items in products.values():
            items.sort(key=lambda item: item[0])
        shops.sort(key=lambda item: item[0])
        self._shops = shops
        self._shop_keys = [k for k, _ in shops]
        self._shop_by_id = {node["id"]: node for _, node in shops}
        self._products = products
        self._product_keys = {sid: [k for k, _ in items] for sid, items in products.items()}

    def _products_of(self, sid: str) -> Callable[..., dict[str, Any]]:
        def resolve(info: Any, first: int = 20, after: str | None = None) -> dict[str, Any]:
            return connection(self._products[sid], self._product_keys[sid], first, after,
                              self.page_cap)
        return resolve

    def _commerces(self, info: Any, first: int = 20, after: str | None = None
                   ) -> dict[str, Any]:
        return connection(self._shops, self._shop_keys, first, after, self.page_cap)

    def _commerce(self, info: Any, id: str) -> dict[str, Any] | None:
        return self._shop_by_id.get(id)

    def execute(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        """A GraphQL request's answer: ``data`` and, when anything went wrong, ``errors``."""
        result = graphql_sync(schema(), query, root_value={
            "commerces": self._commerces, "commerce": self._commerce},
            variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return answer

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path == "/graphql":
            return "json", False  # paged by cursor: immune to drift
        if path.startswith(("/commerce/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        urls = Map([Rule("/", endpoint="home"), Rule("/robots.txt", endpoint="robots"),
                    Rule("/graphql", endpoint="graphql", methods=["POST"]),
                    Rule("/commerce/<slug>", endpoint="page"),
                    Rule("/produit/<slug>", endpoint="page")])
        views: dict[str, Callable[..., Response]] = {
            "home": self._home, "robots": self._robots, "graphql": self._graphql,
            "page": self._page}
        return routed_app(urls, views)  # errors, even the API's, as HTML pages

    def _home(self, request: Request) -> Response:
        body = (f"<h1>{self.title}</h1><p>Vos commerçants toulousains, livrés chez vous.</p>"
                '<div id="app" data-graphql="/graphql"></div>')
        return SHELL.response(self.title, body)

    def _robots(self, request: Request) -> Response:
        return text_response("User-agent: *\nDisallow: /panier\nAllow: /\n")

    def _graphql(self, request: Request) -> Response:
        try:
            payload = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            payload = None
        if (not isinstance(payload, dict) or not isinstance(payload.get("query"), str)
                or not isinstance(payload.get("variables") or {}, dict)):
            return json_response({"errors": [{"message": "a GraphQL request is a JSON object "
                                                         "with a query (and variables)"}]}, 400)
        return json_response(self.execute(payload["query"], payload.get("variables")))

    def _page(self, request: Request, slug: str) -> Response:
        record = self._pages.get(request.path)
        if record is None:
            raise NotFound()
        title = record.fields.get("name") or record.fields.get("title") or slug
        return SHELL.response(title, f"<h1>{html.escape(title)}</h1>"
                                     '<div id="app" data-graphql="/graphql"></div>')


_SCHEMA: list[GraphQLSchema] = []


def schema() -> GraphQLSchema:
    """The platform's GraphQL schema (built once)."""
    if not _SCHEMA:
        _SCHEMA.append(build_schema(SCHEMA_SDL))
    return _SCHEMA[0]

