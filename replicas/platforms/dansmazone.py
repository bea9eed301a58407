"""Dans Ma Zone: the Occitanie region's marketplace, HTML pages carrying schema.org JSON-LD.

Everything is discovered through sitemaps: ``/robots.txt`` names
``/sitemap_index.xml``, which lists child sitemaps of at most ``sitemap_size``
URLs each: ``/sitemaps/commerces-<n>.xml`` (shop pages), the gzip-compressed
``/sitemaps/produits-<n>.xml.gz`` (product pages, served as
``application/gzip``) and ``/sitemaps/pages.xml`` (static pages, no listings).
Every entry carries a ``<lastmod>``.

Shop pages ``/commerce/<id>-<slug>`` carry a ``LocalBusiness`` object (or a
subtype: ``Bakery``, ``BookStore``...) with a PostalAddress, GeoCoordinates,
telephone, email, ``sameAs`` (the shop's website, sometimes followed by a social
page), ``openingHours`` (a list, or one string), the SIRET as an ``identifier``
PropertyValue, the services as ``amenityFeature`` (only those with ``value``
true are offered) and the platform's "rubrique" ("Alimentation > Boulangerie")
in ``keywords``; when ``keywords`` is absent, the rubrique is only in the
BreadcrumbList (the items linking to ``/rubriques/...``). Product pages
``/produit/<id>-<slug>`` carry a ``Product`` whose ``offers`` name the seller by
``@id`` (its shop page URL, sometimes with a ``#business`` fragment). The
JSON-LD comes as one block, as several blocks (a BreadcrumbList and the
platform's own ``Organization`` next to the listing) or as one ``@graph``.

An old regional CMS: names with legal forms or without accents, cities in upper
case, "+33 5 61 22 33 44" phones, coordinates jittered or missing, SIRET on a
minority of shops; availability written ``https://schema.org/InStock``,
``http://schema.org/InStock`` or ``InStock``; brands as Brand objects or plain
strings; GTINs under ``gtin13`` or ``gtin``; images as a URL, a list or an
ImageObject.

Every page ends with the footer marker ``<!-- dmz:fin-de-page -->``. With the
``bad_records`` fault, a few extra product pages (listed in the sitemaps, never
in the truth) carry JSON-LD that does not parse (a decimal comma in the price)
or a Product without a name. Nothing is paginated: sitemaps are fixed chunks,
so pagination drift does not apply.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask import Flask, abort, redirect
from werkzeug.wrappers import Response

from replicas.faults import WSGIApp
from replicas.noise import (
    fold_accents,
    format_price_dot,
    hours_french,
    hours_schema,
    jitter,
    names_seller,
    pick_phone_style,
    platform_price,
    render_gtin,
    render_name,
    render_phone,
    render_street,
    render_title,
)
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.web import html_response, text_response
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Offer, Shop, World, rng_for, slugify

FOOTER_MARKER = "<!-- dmz:fin-de-page -->"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
IMAGE_HOST = "https://cdn.dansmazone.fr"
BASE = "@@BASE@@"  # stands for the base URL in page templates (known at serve time only)
BAD_OFFSET = 900_000_000  # ids of the broken extra product pages

SERVICE_LABELS = {
    "click_collect": "Retrait en magasin",
    "delivery": "Livraison à domicile",
    "local_delivery": "Livraison locale",
}

AVAILABILITY = {"in_stock": "InStock", "limited": "LimitedAvailability",
                "out_of_stock": "OutOfStock"}

# schema.org type of each trade's shops (the CMS falls back to LocalBusiness now and then)
SCHEMA_TYPES = {
    "boulangerie": "Bakery", "boucherie": "Store", "fromagerie": "Store",
    "caviste": "LiquorStore", "epicerie_fine": "GroceryStore", "primeur": "GroceryStore",
    "poissonnerie": "Store", "chocolatier": "Store", "librairie": "BookStore",
    "fleuriste": "Florist", "pret_a_porter": "ClothingStore", "chaussures": "ShoeStore",
    "bijouterie": "JewelryStore", "opticien": "Optician", "quincaillerie": "HardwareStore",
    "jouets": "ToyStore", "sport": "SportingGoodsStore", "decoration": "HomeGoodsStore",
    "cosmetiques": "HealthAndBeautyBusiness", "papeterie": "Store",
    "informatique": "ComputerStore", "cafe_the": "Store", "velo": "BikeStore",
    "disquaire": "Store",
}

PLATFORM_ORG = {"@type": "Organization", "name": "Dans Ma Zone", "url": BASE + "/",
                "address": {"@type": "PostalAddress", "streetAddress": "22 boulevard du "
                            "Maréchal Juin", "postalCode": "31400", "addressLocality": "Toulouse",
                            "addressCountry": "FR"}}


def shop_number(shop: Shop) -> int:
    """The platform's id of a shop (stable across epochs)."""
    return 1000 + shop.index


def offer_number(offer: Offer) -> int:
    """The platform's id of a product page: one per offer (shop, product)."""
    return (1000 + offer.shop) * 10_000 + offer.product


def _rubrique_path(label: str) -> list[tuple[str, str]]:
    """'Alimentation > Boulangerie' -> [(name, '/rubriques/alimentation'), ...]."""
    out, path = [], "/rubriques"
    for part in label.split(" > "):
        path += "/" + slugify(part)
        out.append((part, path))
    return out


def _script(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _price_fr(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €"


@dataclass
class _Index:
    """What the app serves for one epoch: pages by id, sitemaps, and a page cache."""

    by_id: dict[int, tuple[str, Record]]  # id -> ("shop" | "product" | "bad", record)
    products_of: dict[str, list[Record]]  # shop source_id -> its product records
    sitemaps: dict[str, list[tuple[str, str]]]  # file name -> [(path, lastmod)]
    cache: dict[str, bytes] = field(default_factory=dict)
    base: str | None = None


class DansMaZone(Platform):
    """Dans Ma Zone: shop and product pages with JSON-LD, found through gzip sitemaps."""

    key: ClassVar[str] = "dansmazone"
    title: ClassVar[str] = "Dans Ma Zone"
    default_port: ClassVar[int] = 8704
    #: URLs per child sitemap at most; tests lower it on an instance
    sitemap_size: int = 500

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        shops = [self._shop_record(world, shop) for shop in world.shops_on(self.key)]
        shops.sort(key=lambda r: r.native["id"])
        by_index = {r.native["index"]: r for r in shops}
        products = [self._product_record(world, offer, by_index[offer.shop])
                    for offer in world.offers_on(self.key)]
        products.sort(key=lambda r: r.native["id"])
        return shops + products

    def _shop_record(self, world: World, shop: Shop) -> Record:
        # One rng per (platform, shop), every draw made in a fixed order whatever
        # its outcome: the same shop looks the same at every epoch unless it changed.
        rng = rng_for(world.seed, self.key, shop.entity_id)
        name = render_name(shop, rng, legal_form_rate=0.33, fold_rate=0.2)
        street = render_street(shop, rng, abbreviate_rate=0.3, fold_rate=0.2, upper_rate=0.05)
        fold_city, upper_city = rng.random() < 0.2, rng.random() < 0.25
        phone_style = pick_phone_style(rng, {"intl_spaced": 0.8, "spaced": 0.15, "e164": 0.05})
        has_phone = rng.random() < 0.95
        lat, lon = jitter(shop.lat, shop.lon, rng, 80.0)
        has_geo, geo_as_text = rng.random() >= 0.3, rng.random() < 0.3
        has_siret, spaced_siret = rng.random() < 0.4, rng.random() < 0.25
        has_email, has_website, has_social = (rng.random() < 0.85, rng.random() < 0.9,
                                              rng.random() < 0.2)
        has_hours, hours_as_text = rng.random() < 0.8, rng.random() < 0.5
        has_description = rng.random() < 0.7
        has_services, all_features = rng.random() < 0.85, rng.random() < 0.5
        has_keywords = rng.random() < 0.7
        generic_type, id_fragment = rng.random() < 0.3, rng.random() < 0.2
        layout = rng.choice(("single", "blocks", "graph"))
        with_org = rng.random() < 0.4
        if not has_keywords and layout == "single":
            layout = "blocks"  # the rubrique must show somewhere: in the breadcrumb

        number = shop_number(shop)
        slug = slugify(name)[:60] or "commerce"
        path = f"/commerce/{number}-{slug}"
        sid = f"commerce-{number}"
        rubrique = TRADES_BY_KEY[shop.trade].labels[self.key]
        city = shop.commune
        if fold_city:
            city = fold_accents(city)
        if upper_city:
            city = city.upper()
        phone = render_phone(shop.phone, phone_style) if has_phone else None
        siret = None
        if has_siret:
            s = shop.siret
            siret = f"{s[:3]} {s[3:6]} {s[6:9]} {s[9:]}" if spaced_siret else s
        email = shop.email if has_email else None
        website = shop.website if has_website else None
        hours = hours_schema(shop.hours) if has_hours else None
        services = [SERVICE_LABELS[s] for s in shop.services] if has_services else []
        description = shop.description if has_description else None

        ld: dict[str, Any] = {
            "@type": "LocalBusiness" if generic_type else SCHEMA_TYPES.get(shop.trade, "Store"),
            "@id": BASE + path + ("#business" if id_fragment else ""),
            "name": name,
            "url": BASE + path,
            "address": {"@type": "PostalAddress", "streetAddress": street,
                        "postalCode": shop.postcode, "addressLocality": city,
                        "addressCountry": "FR"},
        }
        if has_geo:
            ld["geo"] = {"@type": "GeoCoordinates",
                         "latitude": repr(lat) if geo_as_text else lat,
                         "longitude": repr(lon) if geo_as_text else lon}
        if phone:
            ld["telephone"] = phone
        if email:
            ld["email"] = email
        if website:
            slug_fb = slug.replace("-", "")
            ld["sameAs"] = ([website, f"https://www.facebook.com/{slug_fb}"] if has_social
                            else website)
        if hours:
            ld["openingHours"] = hours[0] if len(hours) == 1 and hours_as_text else hours
        if siret:
            ld["identifier"] = {"@type": "PropertyValue", "propertyID": "SIRET", "value": siret}
        if has_keywords:
            ld["keywords"] = rubrique
        if has_services and (services or all_features):
            features = [{"@type": "LocationFeatureSpecification", "name": label,
                         "value": key in shop.services}
                        for key, label in SERVICE_LABELS.items()
                        if all_features or key in shop.services]
            ld["amenityFeature"] = features
        if description:
            ld["description"] = description

        fields: dict[str, Any] = {
            "url": path, "name": name, "address": street, "postcode": shop.postcode,
            "city": city, "phone": phone, "email": email, "website": website,
            "siret": siret, "lat": lat if has_geo else None, "lon": lon if has_geo else None,
            "categories": [rubrique], "services": services or None,
            "opening_hours": "; ".join(hours) if hours else None,
            "description": description,
        }
        fields = present(fields)
        native = {
            "id": number, "index": shop.index, "path": path, "ld": ld, "layout": layout,
            "with_org": with_org, "rubrique": rubrique, "hours_text": hours_french(shop.hours),
            "lastmod": world.listing_updated_at(self.key, shop).strftime("%Y-%m-%d"),
        }
        return Record("shop", sid, shop.entity_id, fields, native)

    def _product_record(self, world: World, offer: Offer, shop_rec: Record) -> Record:
        product = world.products[offer.product]
        rng = rng_for(world.seed, self.key, offer.entity_id)
        # the CMS trims what it stores ("Brand - " when the brand is the whole title)
        title = " ".join(render_title(product, rng, brand_first_rate=0.3,
                                      fold_rate=0.15).split())
        has_brand, brand_object = rng.random() < 0.9, rng.random() < 0.8
        has_gtin, gtin_key = rng.random() < 0.9, "gtin13" if rng.random() < 0.8 else "gtin"
        has_description, has_image = rng.random() < 0.7, rng.random() < 0.85
        image_style = rng.choice(("url", "url", "list", "object"))
        has_category = rng.random() < 0.9
        avail_style = rng.choices(("https", "http", "bare"), (0.6, 0.3, 0.1))[0]
        seller_fragment, offers_list = rng.random() < 0.2, rng.random() < 0.3
        layout = rng.choice(("single", "single", "blocks", "graph"))
        bad_kind = rng.choice(("syntax", "no_name"))
        # the price last, in its own stream: it changes when the offer does
        cents = platform_price(offer.price_cents, rng_for(world.seed, self.key,
                                                          offer.entity_id, "price"),
                               drift_rate=0.3)

        number = offer_number(offer)
        slug = slugify(title)[:60] or "produit"
        path = f"/produit/{number}-{slug}"
        sid = f"produit-{number}"
        rubrique = TRADES_BY_KEY[product.trade].labels[self.key]
        brand = product.brand if has_brand and product.brand else None
        gtin = render_gtin(product, rng) if has_gtin and product.gtin else None
        seller_named = names_seller(product, rng)
        description = product.description if has_description else None
        image = f"{IMAGE_HOST}/produits/{number}/{slug}.jpg" if has_image else None
        availability = AVAILABILITY[offer.availability]
        shop_path = shop_rec.native["path"]
        shop_name = shop_rec.fields["name"]

        ld: dict[str, Any] = {"@type": "Product", "name": title, "url": BASE + path}
        if brand:
            ld["brand"] = {"@type": "Brand", "name": brand} if brand_object else brand
        if gtin:
            ld[gtin_key] = gtin
        if description:
            ld["description"] = description
        if image:
            ld["image"] = {"url": image, "list": [image],
                           "object": {"@type": "ImageObject", "url": image}}[image_style]
        if has_category:
            ld["category"] = rubrique
        avail_url = {"https": "https://schema.org/", "http": "http://schema.org/",
                     "bare": ""}[avail_style] + availability
        offer_ld = {"@type": "Offer", "price": format_price_dot(cents), "priceCurrency": "EUR",
                    "availability": avail_url, "url": BASE + path,
                    "seller": {"@type": "LocalBusiness",
                               "@id": BASE + shop_path + ("#business" if seller_fragment
                                                          else ""),
                               "name": shop_name}}
        if not seller_named:
            del offer_ld["seller"]
        ld["offers"] = [offer_ld] if offers_list else offer_ld

        fields: dict[str, Any] = {
            "url": path, "title": title, "brand": brand, "gtin": gtin,
            "price": format_price_dot(cents), "currency": "EUR", "availability": availability,
            "category": rubrique if has_category else None, "description": description,
            "image_url": image, "shop_source_id": shop_rec.source_id if seller_named else None,
        }
        fields = present(fields)
        native = {
            "id": number, "path": path, "ld": ld, "layout": layout, "rubrique": rubrique,
            "shop_path": shop_path, "shop_name": shop_name, "price_fr": _price_fr(cents),
            "bad_kind": bad_kind,
            "lastmod": world.listing_updated_at(self.key, offer).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"),
        }
        return Record("product", sid, offer.entity_id, fields, native)

    # ---------------------------------------------------------------- indexes
    def on_records_changed(self) -> None:
        by_id: dict[int, tuple[str, Record]] = {}  # id -> (page kind, record)
        products_of: dict[str, list[Record]] = {}
        shop_entries: list[tuple[str, str]] = []
        product_entries: list[tuple[str, str]] = []
        for record in self.records:
            native = record.native
            if record.kind == "shop":
                by_id[native["id"]] = ("shop", record)
                shop_entries.append((native["path"], native["lastmod"]))
                continue
            by_id[native["id"]] = ("product", record)
            if "shop_source_id" in record.fields:
                products_of.setdefault(record.fields["shop_source_id"], []).append(record)
            product_entries.append((native["path"], native["lastmod"]))
            if self.injector.is_bad_record(record.source_id):
                by_id[BAD_OFFSET + native["id"]] = ("bad", record)
                product_entries.append((self._bad_path(record), native["lastmod"]))
        size = max(1, self.sitemap_size)
        sitemaps: dict[str, list[tuple[str, str]]] = {}
        for prefix, suffix, entries in (("commerces", ".xml", shop_entries),
                                        ("produits", ".xml.gz", product_entries)):
            for n, start in enumerate(range(0, len(entries), size), start=1):
                sitemaps[f"{prefix}-{n}{suffix}"] = entries[start:start + size]
        sitemaps["pages.xml"] = [("/", self.world.epoch_time().strftime("%Y-%m-%d")),
                                 ("/rubriques", "2025-09-01"),
                                 ("/mentions-legales", "2024-03-18")]
        # One object swapped in at once: a request reads one epoch from start to end.
        self._index = _Index(by_id, products_of, sitemaps)

    @staticmethod
    def _bad_path(record: Record) -> str:
        return record.native["path"].replace(f"/produit/{record.native['id']}-",
                                             f"/produit/{BAD_OFFSET + record.native['id']}-", 1)

    def bad_pages(self) -> list[tuple[str, str]]:
        """(source_id, path) of the broken extra product pages served (never in the truth)."""
        return [(f"produit-{pid}", self._bad_path(rec)) for pid, (kind, rec)
                in sorted(self._index.by_id.items()) if kind == "bad"]

    # ---------------------------------------------------------------- rendering
    def _cached(self, index: _Index, key: str, render: Callable[[], bytes]) -> bytes:
        """A page rendered once per epoch (and per base URL: the port is set at start)."""
        if index.base != self.base_url:
            index.cache = {}
            index.base = self.base_url
        cache = index.cache
        body = cache.get(key)
        if body is None:
            body = render()
            cache[key] = body
        return body

    def _finish(self, text: str) -> bytes:
        return text.replace(BASE, self.base_url).encode("utf-8")

    def render_sitemap_index(self, index: _Index | None = None) -> bytes:
        index = index or self._index
        parts = ['<?xml version="1.0" encoding="UTF-8"?>',
                 f'<sitemapindex xmlns="{SITEMAP_NS}">']
        for name, entries in index.sitemaps.items():
            lastmod = max((e[1] for e in entries), default="2024-01-01")
            parts.append(f"<sitemap><loc>{BASE}/sitemaps/{name}</loc>"
                         f"<lastmod>{lastmod}</lastmod></sitemap>")
        parts.append("</sitemapindex>\n")
        return self._finish("\n".join(parts))

    def render_sitemap(self, name: str, index: _Index | None = None) -> bytes | None:
        urls = (index or self._index).sitemaps.get(name)
        if urls is None:
            return None
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
        for path, lastmod in urls:
            parts.append(f"<url><loc>{BASE}{html.escape(path)}</loc><lastmod>{lastmod}</lastmod>"
                         "<changefreq>weekly</changefreq></url>")
        parts.append("</urlset>\n")
        body = self._finish("\n".join(parts))
        if name.endswith(".gz"):
            body = gzip.compress(body, compresslevel=6, mtime=0)
        return body

    def render_shop(self, record: Record, index: _Index | None = None) -> bytes:
        n = record.native
        f = record.fields
        crumbs = self._breadcrumb(n["rubrique"], f["name"], n["path"])
        blocks = self._blocks(n["ld"], crumbs, n["layout"], n.get("with_org", False))
        esc = html.escape
        lines = [f'<p class="adresse">{esc(f["address"])}<br>{esc(f["postcode"])} '
                 f'{esc(f["city"])}</p>']
        if f.get("phone"):
            lines.append(f'<p class="tel">Tél. : {esc(f["phone"])}</p>')
        if f.get("opening_hours"):
            lines.append(f'<p class="horaires">{esc(n["hours_text"])}</p>')
        if f.get("services"):
            lines.append('<ul class="services">' + "".join(
                f"<li>{esc(s)}</li>" for s in f["services"]) + "</ul>")
        if f.get("website"):
            lines.append(f'<p class="site"><a rel="nofollow" href="{esc(f["website"])}">'
                         "Site du commerce</a></p>")
        products = (index or self._index).products_of.get(record.source_id, [])
        if products:
            lines.append("<h2>Ses produits</h2><ul class=\"produits\">" + "".join(
                f'<li><a href="{esc(p.native["path"])}">{esc(p.fields["title"])}</a> – '
                f'{esc(p.native["price_fr"])}</li>' for p in products) + "</ul>")
        body = (f'<main class="fiche-commerce"><h1>{esc(f["name"])}</h1>'
                f'<p class="rubrique">{esc(n["rubrique"])}</p>\n' + "\n".join(lines) + "</main>")
        return self._finish(self._page(f"{f['name']} – {f['city']}", n["path"], blocks, body))

    def render_product(self, record: Record, *, bad: bool = False) -> bytes:
        n = record.native
        f = record.fields
        path = self._bad_path(record) if bad else n["path"]
        ld = n["ld"]
        if bad:
            ld = json.loads(json.dumps(ld).replace(n["path"], path))
            if n["bad_kind"] == "no_name":
                ld.pop("name", None)
        crumbs = self._breadcrumb(n["rubrique"], f["title"], path)
        blocks = self._blocks(ld, crumbs, n["layout"], False)
        if bad and n["bad_kind"] == "syntax":
            # a decimal comma typed into the price: the block no longer parses
            price = f'"price": "{f["price"]}"'
            blocks = [b.replace(price, '"price": ' + f["price"].replace(".", ","), 1)
                      for b in blocks]
        esc = html.escape
        body = (f'<main class="fiche-produit"><h1>{esc(f["title"])}</h1>'
                f'<p class="prix">{esc(n["price_fr"])}</p>'
                f'<p class="vendeur">Vendu par <a href="{esc(n["shop_path"])}">'
                f'{esc(n["shop_name"])}</a></p>'
                + (f'<p class="description">{esc(f["description"])}</p>'
                   if f.get("description") else "") + "</main>")
        return self._finish(self._page(f["title"], path, blocks, body))

    @staticmethod
    def _breadcrumb(rubrique: str, name: str, path: str) -> dict[str, Any]:
        items = [("Accueil", "/")] + _rubrique_path(rubrique) + [(name, path)]
        return {"@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": i, "name": label, "item": BASE + link}
            for i, (label, link) in enumerate(items, start=1)]}

    @staticmethod
    def _blocks(main: dict[str, Any], crumbs: dict[str, Any], layout: str,
                with_org: bool) -> list[str]:
        context = "https://schema.org"
        if layout == "single":
            return [_script({"@context": context, **main})]
        if layout == "blocks":
            blocks = [_script({"@context": context, **main}),
                      _script({"@context": context, **crumbs})]
            if with_org:
                blocks.append(_script({"@context": context, **PLATFORM_ORG}))
            return blocks
        graph = [crumbs, main] + ([PLATFORM_ORG] if with_org else [])
        return [_script({"@context": context, "@graph": graph})]

    def _page(self, title: str, path: str, blocks: list[str], body: str) -> str:
        head_blocks, body_blocks = blocks[:1], blocks[1:]
        return (
            '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)} | Dans Ma Zone</title>\n"
            f'<link rel="canonical" href="{BASE}{html.escape(path)}">\n'
            + "\n".join(head_blocks) +
            '\n</head>\n<body>\n<header class="dmz-entete"><a href="/">Dans Ma Zone</a> — le '
            "commerce de proximité en Occitanie</header>\n" + body + "\n"
            + "\n".join(body_blocks) +
            '\n<footer class="dmz-pied">© Dans Ma Zone · Région Occitanie · '
            '<a href="/mentions-legales">Mentions légales</a></footer>\n'
            f"{FOOTER_MARKER}\n</body>\n</html>\n")

    def _static(self, title: str, body: str) -> bytes:
        return self._finish(self._page(title, "/", [], body))

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path.startswith(("/commerce/", "/produit/", "/sitemaps/")) \
                or path == "/sitemap_index.xml":
            return "html", False
        return None

    def create_app(self) -> WSGIApp:
        app = Flask(f"replica_{self.key}")

        @app.get("/robots.txt")
        def robots() -> Response:
            text = ("User-agent: *\nDisallow: /panier\nDisallow: /recherche\n\n"
                    f"Sitemap: {self.base_url}/sitemap_index.xml\n")
            return text_response(text)

        @app.get("/sitemap_index.xml")
        def sitemap_index() -> Response:
            index = self._index
            body = self._cached(index, "sitemap_index", lambda: self.render_sitemap_index(index))
            return Response(body, content_type="application/xml; charset=utf-8")

        @app.get("/sitemaps/<name>")
        def sitemap(name: str) -> Response:
            index = self._index
            if name not in index.sitemaps:
                abort(404)
            body = self._cached(index, "sitemap:" + name,
                                lambda: self.render_sitemap(name, index) or b"")
            ctype = "application/gzip" if name.endswith(".gz") else \
                "application/xml; charset=utf-8"
            return Response(body, content_type=ctype)

        def lookup(ref: str, page_kind: str, prefix: str) -> Response:
            index = self._index
            match = re.match(r"(\d+)(?:-|$)", ref)
            found = index.by_id.get(int(match.group(1))) if match else None
            if found is None or (found[0] == "shop") != (page_kind == "shop"):
                abort(404)
            kind, record = found
            path = self._bad_path(record) if kind == "bad" else record.native["path"]
            if f"{prefix}/{ref}" != path:
                return redirect(path, code=301)  # old slug: the canonical address
            if kind == "shop":
                return html_response(self._cached(index, path,
                                                  lambda: self.render_shop(record, index)))
            return html_response(self._cached(index, path, lambda: self.render_product(
                record, bad=kind == "bad")))

        @app.get("/commerce/<ref>")
        def commerce(ref: str) -> Response:
            return lookup(ref, "shop", "/commerce")

        @app.get("/produit/<ref>")
        def produit(ref: str) -> Response:
            return lookup(ref, "product", "/produit")

        @app.get("/")
        def home() -> Response:
            shops = sum(1 for r in self.records if r.kind == "shop")
            return html_response(self._static(self.title, (
                f"<main><h1>{html.escape(self.title)}</h1><p>{shops} commerces et "
                f"{len(self.records) - shops} produits près de chez vous, partout en "
                "Occitanie.</p></main>")))

        @app.get("/rubriques")
        def rubriques() -> Response:
            labels = sorted({t.labels[self.key] for t in TRADES_BY_KEY.values()})
            return html_response(self._static("Rubriques", "<main><ul>" + "".join(
                f"<li>{html.escape(label)}</li>" for label in labels) + "</ul></main>"))

        @app.get("/mentions-legales")
        def mentions() -> Response:
            return html_response(self._static("Mentions légales", (
                "<main><h1>Mentions légales</h1><p>Dans Ma Zone est un service de la Région "
                "Occitanie.</p></main>")))

        return app.wsgi_app

