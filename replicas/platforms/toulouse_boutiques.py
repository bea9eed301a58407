"""Toulouse Boutiques: a server-rendered French shop directory with product pages.

The site is plain HTML. ``/`` links every category; ``/categorie/<slug>`` lists
its shops 20 a page (``?page=N``, a "Page suivante" link, and a line "N
boutiques" announcing the total) and suffers pagination drift; ``/boutique/<slug>``
is a shop's own page (its name in ``<h1>``, its address on one line
"12 bis r. de Metz, 31000 Toulouse", phone, website, hours in French prose,
service badges, description, and its products with title, price and link);
``/produit/<id>-<slug>`` is a product page (title, brand, price "12,90 €",
"EAN : …", availability in French, category, a link back to its shop). Every page
links to paths that ``/robots.txt`` disallows (cart, account, search, reviews)
and ends with the footer ``<footer id="pied">``, so a page cut short is visible.

Shops write their own pages, hence the noise: names as they like them (upper
case, typos, legal form, dropped accents), abbreviated street types, two phone
styles, product titles reworded, prices a little off the shop's own.

``page_size`` (20) may be lowered on an instance so that small test worlds get
categories of several pages. Broken records (fault profile ``bad_records``): an
old copy of a shop's page, ``/boutique/<slug>-ancienne-fiche``, listed in its
category and counted in its total, whose sheet has lost its name.

Source ids: a shop's slug (letters always, e.g. ``boulangerie-martin-toulouse``)
and a product's numeric id (digits only), so the two never collide.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from replicas.noise import (
    format_price_fr,
    hours_french,
    pick_phone_style,
    platform_price,
    render_name,
    render_phone,
    render_street,
    render_title,
)
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.paging import drifted_window, requested_drift
from replicas.platforms.web import PageShell, html_response, text_response
from replicas.vocab import TRADES, TRADES_BY_KEY
from replicas.world import Offer, Shop, World, rng_for, slugify

PAGE_SIZE = 20
FOOTER = '<footer id="pied">'
AVAILABILITY_FR = {"in_stock": "En stock", "limited": "Stock limité",
                   "out_of_stock": "Rupture de stock"}
SERVICE_BADGES = {"click_collect": "Click & Collect", "delivery": "Livraison",
                  "local_delivery": "Livraison à domicile"}
PHONE_STYLES = {"dotted": 0.5, "spaced": 0.5}
BAD_SUFFIX = "-ancienne-fiche"
ROBOTS_TXT = """User-agent: *
Disallow: /panier
Disallow: /compte
Disallow: /recherche
Disallow: /boutique/*/avis
"""
SHELL = PageShell(
    "Toulouse Boutiques",
    before=('\n<header id="entete"><a class="logo" href="/">Toulouse Boutiques</a>\n'
            '<form class="recherche" action="/recherche" method="get">'
            '<input type="search" name="q" placeholder="Rechercher une boutique, un produit">'
            '<button>OK</button></form>\n'
            '<a href="/compte">Mon compte</a> <a href="/panier">Mon panier</a></header>\n'
            "<main>\n"),
    after=("\n</main>\n"
           f'{FOOTER}<p>© Toulouse Boutiques — le commerce toulousain en ligne</p>'
           '<a href="/compte/inscription">Créer un compte commerçant</a></footer>'))

_CATEGORY = re.compile(r"^/categorie/([a-z0-9-]+)/?$")
_SHOP = re.compile(r"^/boutique/([a-z0-9-]+)/?$")
_REVIEWS = re.compile(r"^/boutique/([a-z0-9-]+)/avis/?$")
_PRODUCT = re.compile(r"^/produit/(\d+)-([a-z0-9-]*)/?$")


def category_label(trade: str) -> str:
    return TRADES_BY_KEY[trade].labels[ToulouseBoutiques.key]


def category_slug(trade: str) -> str:
    return slugify(category_label(trade))


@dataclass
class _Entry:
    """One shop line of a category page."""

    slug: str
    name: str
    city: str
    sort_key: str


@dataclass
class _Index:
    """The records of one epoch, indexed for serving; rendered pages cached lazily."""

    shops: dict[str, Record] = field(default_factory=dict)
    products: dict[str, Record] = field(default_factory=dict)
    products_of: dict[str, list[Record]] = field(default_factory=dict)
    categories: dict[str, tuple[str, list[_Entry]]] = field(default_factory=dict)
    bad_shops: dict[str, Record] = field(default_factory=dict)
    cache: dict[str, bytes] = field(default_factory=dict)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


class ToulouseBoutiques(Platform):
    """The Toulouse Boutiques replica (server-rendered HTML, French)."""

    key = "toulouse_boutiques"
    title = "Toulouse Boutiques"
    default_port = 8702
    #: shops per category page (the site's 20; tests of small worlds lower it)
    page_size = PAGE_SIZE

    def __init__(self, world: World, **kwargs: Any) -> None:
        self._index = _Index()
        self._cache_lock = threading.Lock()
        super().__init__(world, **kwargs)

    # ------------------------------------------------------------------ records
    def _shop_looks(self, world: World, shop: Shop) -> dict[str, Any]:
        """How the shop shows itself here: the same at every epoch unless it changed."""
        def rng(aspect: str) -> Any:
            return rng_for(world.seed, self.key, shop.entity_id, aspect)

        name = render_name(shop, rng("name"), legal_form_rate=0.10, upper_rate=0.08,
                           fold_rate=0.05, typo_rate=0.03)
        street = render_street(shop, rng("street"), abbreviate_rate=0.40, saint_rate=0.40)
        phone_style = pick_phone_style(rng("phone"), PHONE_STYLES)
        srng = rng("services")
        services = []
        for service in shop.services:
            label = SERVICE_BADGES[service]
            if service == "click_collect" and srng.random() < 0.25:
                label = "Retrait en magasin"
            services.append(label)
        return {"name": " ".join(name.split()), "street": " ".join(street.split()),
                "phone": render_phone(shop.phone, phone_style), "services": services}

    def _shop_slugs(self, world: World) -> dict[int, str]:
        """Slug of every shop the world ever had, first come first served (stable)."""
        slugs: dict[int, str] = {}
        used: set[str] = set()
        for shop in world.shops:  # append-only list: earlier shops keep their slug
            name = render_name(shop, rng_for(world.seed, self.key, shop.entity_id, "name"),
                               legal_form_rate=0.10, upper_rate=0.08, fold_rate=0.05,
                               typo_rate=0.03)
            base = slugify(f"{name} {shop.commune}")[:70].strip("-") or "boutique"
            slug, n = base, 1
            while slug in used:
                n += 1
                slug = f"{base}-{n}"
            used.add(slug)
            slugs[shop.index] = slug
        return slugs

    def build_records(self, world: World) -> list[Record]:
        slugs = self._shop_slugs(world)
        records: list[Record] = []
        shop_names: dict[int, str] = {}
        for shop in world.shops_on(self.key):
            looks = self._shop_looks(world, shop)
            slug = slugs[shop.index]
            shop_names[shop.index] = looks["name"]
            fields: dict[str, Any] = {
                "url": f"/boutique/{slug}",
                "name": looks["name"],
                "address": looks["street"],
                "postcode": shop.postcode,
                "city": shop.commune,
                "phone": looks["phone"],
                "email": shop.email,
                "website": shop.website,
                "categories": [category_label(shop.trade)],
                "services": looks["services"],
                "opening_hours": hours_french(shop.hours),
                "description": shop.description,
            }
            records.append(Record(
                kind="shop", source_id=slug, entity_id=shop.entity_id,
                fields=present(fields),
                native={"slug": slug, "trade": shop.trade,
                        "address_line": f"{looks['street']}, {shop.postcode} {shop.commune}",
                        "tel": "+33" + shop.phone[1:]},
            ))
        on_platform = {s.index for s in world.shops_on(self.key)}
        for position, offer in enumerate(world.offers):
            if not self._lists(world, offer, on_platform):
                continue
            records.append(self._product_record(world, offer, position, slugs, shop_names))
        return records

    def _lists(self, world: World, offer: Offer, on_platform: set[int]) -> bool:
        return offer.is_open and self.key in offer.platforms and offer.shop in on_platform

    def _product_record(self, world: World, offer: Offer, position: int,
                        slugs: dict[int, str], shop_names: dict[int, str]) -> Record:
        product = world.products[offer.product]
        shop = world.shops[offer.shop]
        product_id = str(100_001 + position)  # the site's auto-increment id, never changes
        title = render_title(product, rng_for(world.seed, self.key, offer.entity_id, "title"),
                             brand_first_rate=0.15, compact_units_rate=0.25)
        title = " ".join(title.split())
        cents = platform_price(offer.price_cents,
                               rng_for(world.seed, self.key, offer.entity_id, "price"),
                               drift_rate=0.3)
        slug = slugify(title)[:60].strip("-")
        fields: dict[str, Any] = {
            "url": f"/produit/{product_id}-{slug}",
            "title": title,
            "brand": product.brand,
            "gtin": product.gtin,
            # regular spaces: thousands as "1 250,00 €", as the site prints them
            "price": format_price_fr(cents, symbol=" €").replace("\u202f", " "),
            "availability": AVAILABILITY_FR[offer.availability],
            "category": category_label(product.trade),
            "description": product.description,
            "shop_source_id": slugs[shop.index],
        }
        return Record(
            kind="product", source_id=product_id, entity_id=offer.entity_id,
            fields=present(fields),
            native={"id": product_id, "shop_slug": slugs[shop.index],
                    "shop_name": shop_names[shop.index], "trade": product.trade},
        )

    def on_records_changed(self) -> None:
        index = _Index()
        for record in self.records:
            if record.kind == "shop":
                index.shops[record.source_id] = record
                index.products_of.setdefault(record.source_id, [])
            else:
                index.products[record.source_id] = record
                index.products_of.setdefault(record.native["shop_slug"], []).append(record)
        entries: dict[str, list[_Entry]] = {category_slug(t.key): [] for t in TRADES
                                            if self.key in t.labels}
        for slug, record in index.shops.items():
            cat = category_slug(record.native["trade"])
            name = record.fields["name"]
            entries[cat].append(_Entry(slug, name, record.fields["city"],
                                       name.casefold() + "\x00" + slug))
            if self.injector.is_bad_record(record.source_id):
                bad = slug + BAD_SUFFIX
                index.bad_shops[bad] = record
                entries[cat].append(_Entry(bad, name, record.fields["city"],
                                           name.casefold() + "\x01" + bad))
        for trade in TRADES:
            if self.key not in trade.labels:
                continue
            cat = category_slug(trade.key)
            index.categories[cat] = (category_label(trade.key),
                                     sorted(entries[cat], key=lambda e: e.sort_key))
        self._index = index  # swapped whole: a request in flight keeps its own epoch

    # ------------------------------------------------------------------ web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path == "/robots.txt":
            return None
        if _CATEGORY.match(path):
            return "html", True
        return "html", False

    def create_app(self) -> Callable[[dict, Callable], Iterable[bytes]]:
        def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            request = Request(environ)
            response = self._dispatch(request, requested_drift(environ))
            return response(environ, start_response)

        return app

    def _dispatch(self, request: Request, drift: int) -> Response:
        path = request.path
        index = self._index
        if path == "/robots.txt":
            return text_response(ROBOTS_TXT)
        if path == "/":
            return html_response(self._cached(index, "/", lambda: self._home(index)))
        match = _CATEGORY.match(path)
        if match and match.group(1) in index.categories:
            try:
                page = max(1, int(request.args.get("page", "1")))
            except ValueError:
                page = 1
            return html_response(self._category(index, match.group(1), page, drift))
        match = _SHOP.match(path)
        if match:
            slug = match.group(1)
            if slug in index.shops:
                return html_response(self._cached(index, path, lambda: self._shop(index, slug)))
            if slug in index.bad_shops:
                return html_response(self._cached(index, path,
                                                  lambda: self._bad_shop(index, slug)))
        match = _PRODUCT.match(path)
        if match and match.group(1) in index.products:
            record = index.products[match.group(1)]
            if record.fields["url"] != path.rstrip("/"):  # old or wrong slug: the real one
                return Response("", status=301, headers={"Location": record.fields["url"]})
            return html_response(self._cached(index, path, lambda: self._product(index, record)))
        match = _REVIEWS.match(path)
        if match and match.group(1) in index.shops:
            return html_response(SHELL.render("Avis", "<h1>Avis clients</h1><p>Aucun avis "
                                                      "pour le moment.</p>"))
        if path.startswith(("/panier", "/compte", "/recherche")):
            return html_response(SHELL.render("Espace client", "<h1>Espace client</h1>"
                                              "<p>Connectez-vous pour continuer.</p>"))
        return html_response(SHELL.render("Page introuvable", "<h1>Page introuvable</h1>"),
                             status=404)

    def _cached(self, index: _Index, key: str, render: Callable[[], str]) -> bytes:
        page = index.cache.get(key)
        if page is None:
            page = render().encode("utf-8")
            with self._cache_lock:
                index.cache[key] = page
        return page

    # ------------------------------------------------------------------ pages
    def _home(self, index: _Index) -> str:
        items = "\n".join(
            f'<li><a href="/categorie/{cat}">{_e(label)}</a> '
            f'<span class="nombre">({len(entries)})</span></li>'
            for cat, (label, entries) in index.categories.items())
        return SHELL.render("Accueil", "<h1>Les boutiques de Toulouse</h1>\n"
                          f'<ul class="categories">\n{items}\n</ul>')

    def _category(self, index: _Index, cat: str, page: int, drift: int) -> str:
        label, entries = index.categories[cat]
        total = len(entries)
        size = self.page_size
        # a first page drifted back still shows a whole page
        shown = drifted_window(entries, (page - 1) * size, size, drift, full_at_start=True)
        items = "\n".join(
            f'<li class="boutique"><a href="/boutique/{e.slug}">{_e(e.name)}</a> '
            f'<span class="ville">{_e(e.city)}</span></li>' for e in shown)
        nav = []
        if page > 1:
            nav.append(f'<a rel="prev" href="/categorie/{cat}?page={page - 1}">'
                       "Page précédente</a>")
        if page * size < total:
            nav.append(f'<a rel="next" href="/categorie/{cat}?page={page + 1}">'
                       "Page suivante</a>")
        noun = "boutique" if total < 2 else "boutiques"
        return SHELL.render(label, (
            f'<nav class="ariane"><a href="/">Accueil</a> › {_e(label)}</nav>\n'
            f"<h1>{_e(label)}</h1>\n<p class=\"total\">{total} {noun}</p>\n"
            f'<ul class="boutiques">\n{items}\n</ul>\n'
            f'<nav class="pagination">{" ".join(nav)}</nav>'))

    def _shop_body(self, index: _Index, record: Record, *, name: str, slug: str,
                   products: list[Record]) -> str:
        f = record.fields
        cat = category_slug(record.native["trade"])
        label = category_label(record.native["trade"])
        parts = [
            f'<nav class="ariane"><a href="/">Accueil</a> › '
            f'<a href="/categorie/{cat}">{_e(label)}</a></nav>',
            f'<article class="fiche-boutique" data-boutique="{_e(slug)}">',
            f"<h1>{_e(name)}</h1>" if name else "<h1></h1>",
            f'<p class="categorie"><a href="/categorie/{cat}">{_e(label)}</a></p>',
            f'<p class="adresse">{_e(record.native["address_line"])}</p>',
            f'<p class="telephone">Tél. : <a href="tel:{record.native["tel"]}">'
            f'{_e(f["phone"])}</a></p>',
        ]
        if "email" in f:
            parts.append(f'<p class="email">Courriel : <a href="mailto:{_e(f["email"])}">'
                         f'{_e(f["email"])}</a></p>')
        if "website" in f:
            shown = f["website"].removeprefix("https://").removeprefix("http://").rstrip("/")
            parts.append(f'<p class="site">Site : <a href="{_e(f["website"])}" '
                         f'rel="nofollow noopener">{_e(shown)}</a></p>')
        parts.append(f'<p class="horaires">Horaires : <span class="horaires-texte">'
                     f'{_e(f["opening_hours"])}</span></p>')
        if f.get("services"):
            badges = "".join(f'<li class="badge">{_e(s)}</li>' for s in f["services"])
            parts.append(f'<ul class="services">{badges}</ul>')
        parts.append(f'<div class="description"><p>{_e(f.get("description", ""))}</p></div>')
        parts.append(f'<p class="avis"><a href="/boutique/{_e(slug)}/avis">Voir les avis '
                     "clients</a></p>")
        lines = "\n".join(
            f'<li class="produit"><a class="titre" href="{p.fields["url"]}">'
            f'{_e(p.fields["title"])}</a> <span class="prix">{_e(p.fields["price"])}</span> '
            f'<a class="panier" href="/panier/ajouter?produit={p.source_id}">Ajouter au '
            "panier</a></li>" for p in products)
        count = f"{len(products)} produit{'s' if len(products) > 1 else ''}"
        parts.append(f'<section class="produits"><h2>Produits ({count})</h2>\n'
                     f"<ul>\n{lines}\n</ul></section>")
        parts.append("</article>")
        return "\n".join(parts)

    def _shop(self, index: _Index, slug: str) -> str:
        record = index.shops[slug]
        return SHELL.render(record.fields["name"], self._shop_body(
            index, record, name=record.fields["name"], slug=slug,
            products=index.products_of.get(slug, [])))

    def _bad_shop(self, index: _Index, slug: str) -> str:
        """An old duplicate page left behind: the name is gone, so is everything useful."""
        record = index.bad_shops[slug]
        return SHELL.render("Boutique", self._shop_body(index, record, name="", slug=slug,
                                                        products=[]))

    def _product(self, index: _Index, record: Record) -> str:
        f = record.fields
        cat = category_slug(record.native["trade"])
        parts = [
            f'<nav class="ariane"><a href="/">Accueil</a> › '
            f'<a href="/categorie/{cat}">{_e(f["category"])}</a></nav>',
            f'<article class="fiche-produit" data-produit="{record.source_id}">',
            f"<h1>{_e(f['title'])}</h1>",
        ]
        if "brand" in f:
            parts.append(f'<p class="marque">Marque : <span>{_e(f["brand"])}</span></p>')
        parts.append(f'<p class="prix">{_e(f["price"])}</p>')
        if "gtin" in f:
            parts.append(f'<p class="ean">EAN : {_e(f["gtin"])}</p>')
        parts.append(f'<p class="disponibilite">{_e(f["availability"])}</p>')
        parts.append(f'<p class="categorie">Catégorie : <a href="/categorie/{cat}">'
                     f'{_e(f["category"])}</a></p>')
        if "description" in f:
            parts.append(f'<div class="description"><p>{_e(f["description"])}</p></div>')
        parts.append(f'<p class="vendeur">Vendu par <a class="boutique" '
                     f'href="/boutique/{record.native["shop_slug"]}">'
                     f'{_e(record.native["shop_name"])}</a></p>')
        parts.append(f'<p><a class="panier" href="/panier/ajouter?produit={record.source_id}">'
                     "Ajouter au panier</a></p>")
        parts.append("</article>")
        return SHELL.render(f["title"], "\n".join(parts))
