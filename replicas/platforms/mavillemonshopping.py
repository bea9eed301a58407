"""Ma Ville Mon Shopping: a town-centre marketplace, microdata shop cards and a JSON catalogue.

Its layout is unlike the other five. Shops are listed 24 to a page at
``/boutiques?page=N`` (sorted by id, "<N> boutiques" announced at the top, a
``rel="next"`` link): each shop is an ``<article class="carte-boutique">`` card
carrying schema.org **microdata** (``itemscope``/``itemprop``: name, url,
PostalAddress, GeoCoordinates, telephone, email, sameAs, openingHours,
description) plus a few plain elements (``.rayon``, ``.siret``,
``.services`` joined by " | "). Products are not in the HTML at all: the
shop's page loads them with a script from a JSON endpoint,
``/api/catalogue?boutique=<id>`` (10 a page, sorted by ``ref``, a ``suivant``
link to the next page carrying ``apres=<last ref>``), with prices in integer
cents. The card's ``data-catalogue`` attribute is that endpoint. Public pages:
``/boutique/<id>-<slug>`` and ``/produit/<ref>-<slug>``.

Presence (the world has no PRESENCE entry for this platform: the platform draws
it, ``replicas.platforms.presence``): an open shop of the ``toulouse``, ``metro``
or ``grand_nancy`` zones (a national provider serves both territories from one
site) is listed when it is
one of the world's independents (on none of the five: this platform's own
shops, found nowhere else) or when
``rng_for(seed, "mavillemonshopping", "presence", shop.entity_id)`` draws under
0.20; an open offer of a listed shop when its own draw (same stream, the
offer's entity id) is under 0.85. The draws depend on the entity only, so a
shop stays on (or off) the platform from epoch to epoch until it closes; new
shops of later epochs get their own draw.

Noise (one rng per (platform, entity), drawn in a fixed order): names ~5 %
upper case, ~8 % without accents, some abbreviations; streets ~25 %
abbreviated; phones "05.61.22.33.44" (60 %) or spaced; coordinates jittered up
to 20 m, ~8 % missing; the SIRET shown spaced ("123 456 789 00012") on ~60 %;
the e-mail on ~70 % of the shops that have one; cities ~10 % in upper case;
product titles sometimes brand first or with compact units; prices ~20 % a
little off the shop's own.

Faults: the shop list pages are paginated (``classify`` says so), so the
injector's drift shifts their window; the catalogue is paged by key and does
not drift. With ``bad_records``, a picked shop gets a second card with an id
but no name (never in the truth), and a picked product a second catalogue item
whose ``ref`` is null.

Layout switch: ``platform.layout = "v2"`` serves the redesign the operator
did not announce: the cards become ``<div class="mvms-card">`` with
``data-ref``/``data-src`` instead of ``data-id``/``data-catalogue`` (same
microdata). A configuration written for v1 then finds no shop cards: a layout
error on every list page (the run is partial; nothing is marked gone).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from replicas.faults import WSGIApp
from replicas.noise import (
    fold_accents,
    format_price_dot,
    format_price_fr,
    hours_schema,
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
from replicas.platforms.paging import after_key, drifted_window, requested_drift
from replicas.platforms.presence import DrawnPresence
from replicas.platforms.web import (
    PageShell,
    html_response,
    json_response,
    routed_app,
    text_response,
)
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Offer, Shop, World, rng_for, slugify, stable_hash

KEY = "mavillemonshopping"
PRESENCE_ZONES = ("toulouse", "metro", "grand_nancy")  # a national provider: both regions
SHOP_RATE = 0.20
OFFER_RATE = 0.85
SHOP_ID_BASE = 12_000
BAD_ID_BASE = 900_000
IMAGES = "https://img.mavillemonshopping.fr/p"
FOOTER = ('<footer class="pied">Ma Ville Mon Shopping — le commerce de proximité en ligne'
          "</footer>")

SERVICE_LABELS = (("click_collect", "Retrait en magasin"), ("delivery", "Livraison à domicile"),
                  ("local_delivery", "Livraison à vélo"))
AVAILABILITY = {"in_stock": "en stock", "limited": "stock limité", "out_of_stock": "épuisé"}
LAYOUTS = {
    # card element and class, id attribute, catalogue attribute
    "v1": ("article", "carte-boutique", "data-id", "data-catalogue"),
    "v2": ("div", "mvms-card", "data-ref", "data-src"),
}
PRESENCE = DrawnPresence(KEY, SHOP_RATE, OFFER_RATE, zones=PRESENCE_ZONES, independents=True)
SHELL = PageShell("Ma Ville Mon Shopping",
                  before='<header><a href="/">Ma Ville Mon Shopping</a></header><main>',
                  after="</main>" + FOOTER)


def shop_number(shop: Shop) -> int:
    return SHOP_ID_BASE + shop.index


def spaced_siret(siret: str) -> str:
    """'12345678900012' -> '123 456 789 00012'."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


@dataclass
class _Index:
    """What the app serves for one epoch."""

    shops: list[Record] = field(default_factory=list)  # sorted by number
    cards: list[tuple[str, Record, bool]] = field(default_factory=list)  # (key, record, broken)
    by_number: dict[int, Record] = field(default_factory=dict)
    products: dict[str, Record] = field(default_factory=dict)  # by ref
    catalogue: dict[int, tuple[list[str], list[dict[str, Any]]]] = field(default_factory=dict)
    products_of: dict[int, list[Record]] = field(default_factory=dict)


class MaVilleMonShopping(Platform):
    """Microdata shop cards on paged HTML lists, products from a JSON catalogue."""

    key: ClassVar[str] = KEY
    title: ClassVar[str] = "Ma Ville Mon Shopping"
    default_port: ClassVar[int] = DEFAULT_PORTS[KEY]

    #: shop cards per list page; tests lower it on an instance to get more pages
    page_size: int = 24
    #: products per catalogue answer
    catalogue_size: int = 10
    #: "v1", or "v2" for the redesign that breaks a v1 configuration (see the docstring)
    layout: str = "v1"

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        return PRESENCE.records(world, shop_order=shop_number, shop_record=self._shop_record,
                                product_record=self._product_record,
                                product_order=lambda r: (r.native["shop"], r.source_id))

    def _shop_record(self, world: World, shop: Shop) -> Record:
        rng = rng_for(world.seed, self.key, shop.entity_id)
        name = render_name(shop, rng, upper_rate=0.05, fold_rate=0.08, abbreviate_rate=0.1,
                           article_drop_rate=0.1)
        street = render_street(shop, rng, abbreviate_rate=0.25, comma_rate=0.15,
                               saint_rate=0.1)
        phone = render_phone(shop.phone, pick_phone_style(rng, {"dotted": 0.6, "spaced": 0.4}))
        lat, lon = jitter(shop.lat, shop.lon, rng, 20.0)
        has_geo = rng.random() >= 0.08
        has_siret = rng.random() < 0.6
        has_email = rng.random() < 0.7
        upper_city = rng.random() < 0.1
        number = shop_number(shop)
        sid = f"boutique-{number}"
        city = fold_accents(shop.commune).upper() if upper_city else shop.commune
        hours = hours_schema(shop.hours)
        fields = {
            "url": f"/boutique/{number}-{slugify(shop.name)[:50]}",
            "name": name,
            "address": street,
            "postcode": shop.postcode,
            "city": city,
            "phone": phone,
            "email": shop.email if has_email else None,
            "website": shop.website,
            "siret": spaced_siret(shop.siret) if has_siret else None,
            "lat": lat if has_geo else None,
            "lon": lon if has_geo else None,
            "categories": [TRADES_BY_KEY[shop.trade].labels[self.key]],
            "services": [label for code, label in SERVICE_LABELS if code in shop.services],
            "opening_hours": "; ".join(hours),
            "description": shop.description or None,
        }
        native = {"number": number, "hours": hours}
        return Record("shop", sid, shop.entity_id, present(fields), native)

    def _product_record(self, world: World, offer: Offer, shop_sid: str) -> Record:
        rng = rng_for(world.seed, self.key, offer.entity_id)
        product = world.products[offer.product]
        title = render_title(product, rng, upper_rate=0.03, brand_first_rate=0.2,
                             compact_units_rate=0.25)
        cents = platform_price(offer.price_cents, rng, drift_rate=0.2)
        has_image = rng.random() < 0.8
        ref = f"ref-{stable_hash(world.seed, self.key, offer.entity_id):016x}"[:14]
        image = f"{IMAGES}/{ref[4:]}.jpg" if has_image else None
        category = TRADES_BY_KEY[product.trade].labels[self.key]
        fields = {
            "url": f"/produit/{ref}-{slugify(title)[:50]}",
            "title": title,
            "brand": product.brand,
            "gtin": product.gtin,
            "price": format_price_dot(cents),
            "currency": "EUR",
            "availability": AVAILABILITY[offer.availability],
            "category": category,
            "description": product.description or None,
            "image_url": image,
            "shop_source_id": shop_sid,
        }
        item = {
            "ref": ref, "nom": title, "marque": product.brand, "ean": product.gtin,
            "prix": {"centimes": cents, "devise": "EUR", "affiche": format_price_fr(cents)},
            "dispo": fields["availability"], "rayon": category, "photo": image,
            "lien": fields["url"], "descriptif": product.description or None,
        }
        return Record("product", ref, offer.entity_id, present(fields),
                      {"shop": int(shop_sid.rsplit("-", 1)[1]), "item": item})

    # ---------------------------------------------------------------- indexes
    def on_records_changed(self) -> None:
        index = _Index()
        for record in self.records:
            if record.kind == "shop":
                number = record.native["number"]
                index.shops.append(record)
                index.by_number[number] = record
                index.cards.append((record.source_id, record, False))
                if self.injector.is_bad_record(record.source_id):
                    index.cards.append((record.source_id, record, True))
                index.catalogue[number] = ([], [])
                index.products_of[number] = []
                continue
            index.products[record.source_id] = record
            number = record.native["shop"]
            index.products_of[number].append(record)
            keys, items = index.catalogue[number]
            keys.append(record.source_id)
            items.append(record.native["item"])
            if self.injector.is_bad_record(record.source_id):
                keys.append(record.source_id + "~")  # right after the good one
                items.append({**record.native["item"], "ref": None})
        self._index = index
        self._cache: dict[tuple[str, ...], str] = {}

    # ---------------------------------------------------------------- rendering
    def _card(self, record: Record, broken: bool, layout: str) -> str:
        key = ("card", layout, record.source_id, "broken" if broken else "")
        cached = self._cache.get(key)
        if cached is None:
            cached = render_card(record, layout, broken=broken)
            self._cache[key] = cached
        return cached

    def list_page(self, page: int, drift: int = 0) -> str | None:
        """The HTML of ``/boutiques?page=N`` (None past the last page)."""
        index, layout, size = self._index, self.layout, max(1, self.page_size)
        total = len(index.cards)
        pages = max(1, -(-total // size))
        if page < 1 or page > pages:
            return None
        window = drifted_window(index.cards, (page - 1) * size, size, drift)
        cards = "\n".join(self._card(record, broken, layout) for _, record, broken in window)
        links = []
        if page > 1:
            links.append(f'<a rel="prev" href="/boutiques?page={page - 1}">Page précédente</a>')
        links.append(f"<span>Page {page} / {pages}</span>")
        if page < pages:
            links.append(f'<a rel="next" href="/boutiques?page={page + 1}">Page suivante</a>')
        body = (f'<h1>Les boutiques de la ville</h1><p class="compteur"><strong>{total}'
                f'</strong> boutiques</p>\n<div class="grille">\n{cards}\n</div>\n'
                f'<nav class="pagination">{" ".join(links)}</nav>')
        return SHELL.render("Les boutiques", body)

    def catalogue(self, number: int, after: str | None) -> dict[str, Any] | None:
        """The JSON answer of ``/api/catalogue?boutique=N[&apres=REF]`` (None: no such shop)."""
        index = self._index
        shop = index.by_number.get(number)
        if shop is None:
            return None
        keys, items = index.catalogue[number]
        start = after_key(keys, after)
        end = min(len(items), start + max(1, self.catalogue_size))
        following = None
        if end < len(items):
            following = "/api/catalogue?" + urlencode({"boutique": number,
                                                       "apres": keys[end - 1]})
        return {"boutique": {"id": shop.source_id, "nom": shop.fields["name"],
                             "lien": shop.fields["url"]},
                "total": len(items), "produits": items[start:end], "suivant": following}

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path == "/boutiques":
            return "html", True  # paged by position: drifts
        if path == "/api/catalogue":
            return "json", False  # paged by key: immune to drift
        if path.startswith(("/boutique/", "/produit/")):
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        urls = Map([
            Rule("/", endpoint="home"),
            Rule("/robots.txt", endpoint="robots"),
            Rule("/boutiques", endpoint="shops"),
            Rule("/boutique/<path:slug>", endpoint="shop"),
            Rule("/produit/<path:slug>", endpoint="product"),
            Rule("/api/catalogue", endpoint="catalogue"),
            Rule("/static/catalogue.js", endpoint="script"),
        ])
        views: dict[str, Callable[..., Response]] = {
            "home": self._home, "robots": self._robots, "shops": self._shops,
            "shop": self._shop, "product": self._product, "catalogue": self._catalogue,
            "script": self._script,
        }
        return routed_app(urls, views, api_error=_api_error)

    def _home(self, request: Request) -> Response:
        body = (f"<h1>{self.title}</h1><p>{len(self._index.shops)} boutiques de votre ville "
                'en ligne. <a href="/boutiques?page=1">Toutes les boutiques</a></p>')
        return SHELL.response(self.title, body)

    def _robots(self, request: Request) -> Response:
        return text_response("User-agent: *\nDisallow: /panier\nDisallow: /compte\nAllow: /\n")

    def _script(self, request: Request) -> Response:
        script = ("document.querySelectorAll('[data-src-catalogue]').forEach(function (el) {"
                  " fetch(el.dataset.srcCatalogue).then(function (r) { return r.json(); })"
                  ".then(function (data) { el.dataset.total = data.total; }); });\n")
        return text_response(script, "application/javascript")

    def _shops(self, request: Request) -> Response:
        try:
            page = int(request.args.get("page", "1"))
        except ValueError:
            raise NotFound() from None
        body = self.list_page(page, requested_drift(request.environ))
        if body is None:
            raise NotFound()
        return html_response(body)

    def _shop(self, request: Request, slug: str) -> Response:
        match = re.match(r"^(\d+)(?:-[^/]*)?$", slug)
        record = self._index.by_number.get(int(match.group(1))) if match else None
        if record is None:
            raise NotFound()
        key = ("shop", self.layout, record.source_id)
        cached = self._cache.get(key)
        if cached is None:
            number = record.native["number"]
            body = (self._card(record, False, self.layout)
                    + f'<section id="catalogue" data-src-catalogue="/api/catalogue?boutique='
                    f'{number}"><noscript>Activez JavaScript pour voir les produits.</noscript>'
                    '</section><script src="/static/catalogue.js"></script>')
            cached = SHELL.render(record.fields["name"], body)
            self._cache[key] = cached
        return html_response(cached)

    def _product(self, request: Request, slug: str) -> Response:
        ref = slug[:14]
        record = self._index.products.get(ref)
        if record is None:
            raise NotFound()
        f, e = record.fields, html.escape
        shop = self._index.by_number.get(record.native["shop"])
        seller = (f'<p class="vendeur">Vendu par <a href="{e(shop.fields["url"])}">'
                  f'{e(shop.fields["name"])}</a></p>' if shop else "")
        cents = record.native["item"]["prix"]["centimes"]
        body = (f'<h1>{e(f["title"])}</h1><p class="prix">{e(format_price_fr(cents))}</p>'
                f'<p class="dispo">{e(f["availability"])}</p>{seller}')
        return SHELL.response(f["title"], body)

    def _catalogue(self, request: Request) -> Response:
        try:
            number = int(request.args.get("boutique", ""))
        except ValueError:
            return json_response({"erreur": "Bad Request",
                                  "detail": "boutique: un numéro attendu"}, 400)
        answer = self.catalogue(number, request.args.get("apres") or None)
        if answer is None:
            return json_response({"erreur": "Not Found",
                                  "detail": f"pas de boutique {number}"}, 404)
        return json_response(answer)


def _api_error(exc: HTTPException) -> Response:
    return json_response({"erreur": exc.name, "detail": exc.description}, exc.code or 500)


def render_card(record: Record, layout: str, *, broken: bool = False) -> str:
    """One shop card with its microdata (a broken card: an id, but no name, no catalogue)."""
    tag, css_class, id_attr, catalogue_attr = LAYOUTS[layout]
    f, e, number = record.fields, html.escape, record.native["number"]
    if broken:
        return (f'<{tag} class="{css_class}" itemscope itemtype="https://schema.org/Store" '
                f'{id_attr}="boutique-{BAD_ID_BASE + number}"><h2 itemprop="name"></h2>'
                f'<p class="rayon">{e(f["categories"][0])}</p></{tag}>')
    parts = [f'<{tag} class="{css_class}" itemscope itemtype="https://schema.org/Store" '
             f'{id_attr}="{e(record.source_id)}" '
             f'{catalogue_attr}="/api/catalogue?boutique={number}">',
             f'<h2 itemprop="name"><a itemprop="url" href="{e(f["url"])}">{e(f["name"])}</a>'
             "</h2>",
             f'<p class="rayon">{e(f["categories"][0])}</p>',
             '<p class="adresse" itemprop="address" itemscope '
             'itemtype="https://schema.org/PostalAddress">'
             f'<span itemprop="streetAddress">{e(f["address"])}</span>, '
             f'<span itemprop="postalCode">{e(f["postcode"])}</span> '
             f'<span itemprop="addressLocality">{e(f["city"])}</span></p>']
    if "lat" in f:
        parts.append('<span itemprop="geo" itemscope itemtype="https://schema.org/'
                     f'GeoCoordinates"><meta itemprop="latitude" content="{f["lat"]}">'
                     f'<meta itemprop="longitude" content="{f["lon"]}"></span>')
    parts.append(f'<p class="tel">Tél. <span itemprop="telephone">{e(f["phone"])}</span></p>')
    if "email" in f:
        parts.append(f'<p class="courriel"><a itemprop="email" href="mailto:{e(f["email"])}">'
                     f'{e(f["email"])}</a></p>')
    if "website" in f:
        parts.append(f'<p class="site"><a itemprop="sameAs" rel="nofollow" '
                     f'href="{e(f["website"])}">Site de la boutique</a></p>')
    if "siret" in f:
        parts.append(f'<p class="siret">SIRET : {e(f["siret"])}</p>')
    if "services" in f:
        parts.append(f'<p class="services">{e(" | ".join(f["services"]))}</p>')
    for hours in record.native["hours"]:
        parts.append(f'<meta itemprop="openingHours" content="{e(hours)}">')
    if "description" in f:
        parts.append(f'<p itemprop="description">{e(f["description"])}</p>')
    parts.append(f"</{tag}>")
    return "".join(parts)

