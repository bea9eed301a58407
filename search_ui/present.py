"""How entities and hits are shown: labels, prices, distances, platform badges, safe links.

Everything here takes what the backend or the catalog holds (scraped, so never
trusted) and returns plain values; templates escape them (autoescape) and the
API serializes them. The only HTML built here is the search highlight, rebuilt
from escaped text with nothing but ``<mark>`` allowed, and the only links to
other sites are http(s) URLs.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, get_template_attribute, request, url_for
from markupsafe import Markup, escape

from normalizer.categories import TAXONOMY
from search_ui.context import Platform, platform, platforms, unregistered

SERVICE_LABELS = {"click_collect": "Click & collect", "delivery": "Livraison",
                  "local_delivery": "Livraison locale"}
KIND_LABELS = {"shop": "Boutique", "product": "Produit", "offer": "Article"}
KIND_PLURALS = {"shop": "Boutiques", "product": "Produits", "offer": "Articles"}
FACET_TITLES = {"kind": "Type", "platform": "Plateforme", "category": "Catégorie",
                "commune": "Commune", "service": "Services", "price": "Prix", "flag": "Signal"}
AVAILABILITY_LABELS = {"in_stock": "en stock", "out_of_stock": "épuisé",
                       "preorder": "en précommande", "limited": "stock limité",
                       "backorder": "sur commande", "discontinued": "arrêté"}
CONFLICT_LABELS = {"phone": "Téléphone", "address": "Adresse", "opening_hours": "Horaires",
                   "website": "Site web", "email": "E-mail", "siret": "SIRET", "name": "Nom",
                   "price_cents": "Prix"}
DAY_NAMES = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi",
             "Sa": "samedi", "Su": "dimanche", "PH": "jours fériés"}
NBSP = "\u00a0"
NNBSP = "\u202f"


# --------------------------------------------------------------------------- values
def category_label(key: str | None) -> str:
    if not key:
        return ""

    return TAXONOMY.get(key, key.replace("_", " ").capitalize())


def service_label(key: str) -> str:
    return SERVICE_LABELS.get(key, key.replace("_", " "))


def price(cents: int | float | None, currency: str | None = "EUR") -> str:
    """'12,90 €' from 1290 (French grouping and decimal comma)."""
    if cents is None:
        return ""
    euros = cents / 100
    whole = f"{euros:,.2f}".replace(",", NNBSP).replace(".", ",")
    if whole.endswith(",00") and euros >= 100:
        whole = whole[:-3]
    symbol = "€" if (currency or "EUR") == "EUR" else currency
    return f"{whole}{NBSP}{symbol}"


def price_range(low: int | None, high: int | None, currency: str | None = "EUR") -> str:
    if low is None and high is None:
        return ""
    if low is None or high is None or low == high:
        return price(low if low is not None else high, currency)
    return f"{price(low, currency)} – {price(high, currency)}"


def distance(km: float | None) -> str:
    if km is None:
        return ""
    if km < 1:
        return f"{max(10, round(km * 1000, -1)):.0f}{NBSP}m"
    if km < 10:
        return f"{km:.1f}{NBSP}km".replace(".", ",")
    return f"{km:.0f}{NBSP}km"


def phone(value: str | None) -> str:
    """'05 61 12 13 89' from '+33561121389'; other numbers as given."""
    if not value:
        return ""
    if re.fullmatch(r"\+33\d{9}", value):
        digits = "0" + value[3:]
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    return value


def tel_href(value: str | None) -> str | None:
    if value and re.fullmatch(r"\+?\d{6,15}", value):
        return "tel:" + value
    return None


def hours(value: str | None) -> list[str]:
    """French lines from OSM-style hours: 'Tu-Sa 09:30-12:30,14:00-19:00' ->
    ['du mardi au samedi : 9h30–12h30, 14h–19h']. Unknown forms are shown as given."""
    if not value:
        return []
    lines = []
    for rule in value.split(";"):
        rule = rule.strip()
        match = re.fullmatch(r"([A-Za-z,\- ]+?)\s+(off|closed|[0-9:,\-+ ]+)", rule)
        if not match:
            lines.append(rule)
            continue
        days, times = match.groups()
        day_text = _days_fr(days)
        if times in ("off", "closed"):
            lines.append(f"{day_text} : fermé")
            continue
        spans = [_span_fr(s) for s in times.split(",")]
        lines.append(f"{day_text} : {', '.join(spans)}")
    return lines


def _days_fr(days: str) -> str:
    parts = []
    for part in days.replace(" ", "").split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            parts.append(f"du {DAY_NAMES.get(a, a)} au {DAY_NAMES.get(b, b)}")
        else:
            parts.append(DAY_NAMES.get(part, part))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def _span_fr(span: str) -> str:
    def clock(t: str) -> str:
        h, _, m = t.partition(":")
        return f"{int(h)}h" + ("" if m in ("", "00") else m) if h.isdigit() else t
    a, _, b = span.strip().partition("-")
    return f"{clock(a)}–{clock(b)}" if b else clock(a)


def safe_url(url: Any) -> str | None:
    """The URL when it is absolute http(s), else None: never a javascript: link."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    return _safe_url(url)


@lru_cache(maxsize=65536)
def _safe_url(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def highlight(fragment: str | None) -> Markup:
    """A backend's highlight as safe HTML: every piece escaped, only <mark> kept."""
    if not fragment:
        return Markup("")
    text = str(fragment)
    # the same fragments come back with a backend's cached answers: sanitised once
    return _cached_sanitised(text) if len(text) <= 2000 else _sanitised(text)


def _sanitised(fragment: str) -> Markup:
    pieces = re.split(r"(</?mark>)", str(fragment))
    out = []
    for piece in pieces:
        if piece in ("<mark>", "</mark>"):
            out.append(piece)
        else:
            # the backend may or may not have escaped the text already: normalise
            out.append(str(escape(html.unescape(piece))))
    text = "".join(out)
    if text.count("<mark>") != text.count("</mark>"):  # unbalanced: show plain text
        return Markup(escape(html.unescape(re.sub(r"</?mark>", "", str(fragment)))))
    return Markup(text)


_cached_sanitised = lru_cache(maxsize=16384)(_sanitised)


# --------------------------------------------------------------------------- documents
def title(doc: Mapping[str, Any]) -> str:
    return str(doc.get("name") or doc.get("title") or doc.get("entity_id") or "Sans nom")


def commune(doc: Mapping[str, Any]) -> str | None:
    communes = doc.get("communes") or []
    return doc.get("city") or doc.get("commune") or (communes[0] if len(communes) == 1
                                                     else None)


def location(doc: Mapping[str, Any]) -> tuple[float, float] | None:
    """The entity's point: its own lat/lon, else its first location (a product's shop)."""
    lat, lon = doc.get("lat"), doc.get("lon")
    if lat is None or lon is None:
        locations = doc.get("locations") or []
        if not locations:
            return None
        lat, lon = locations[0].get("lat"), locations[0].get("lon")
    try:
        return (float(lat), float(lon)) if lat is not None and lon is not None else None
    except (TypeError, ValueError):
        return None


def ordered_platforms(keys: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(keys), key=lambda k: (platform(k).rank, k))


def badges(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One badge per platform carrying the entity: its name and the listing's page there."""
    return _badges(doc, platforms())


def _badges(doc: Mapping[str, Any], table: Mapping[str, Platform]) -> list[dict[str, Any]]:
    urls: dict[str, str | None] = {}
    for src in doc.get("sources") or doc.get("offers") or []:
        key = src.get("source")
        if key and urls.get(key) is None:
            urls[key] = safe_url(src.get("url"))
    found = sorted((table.get(key) or unregistered(key)
                    for key in dict.fromkeys([*(doc.get("platforms") or ()), *urls])),
                   key=_badge_order)
    return [{"key": p.key, "name": p.name, "url": urls.get(p.key) or _homepage(p.homepage)}
            for p in found]


def badges_html(items: Iterable[Mapping[str, Any]], label: str = "Plateformes") -> Markup:
    """The badges of ``badges()`` as a list of links (or names, without a safe URL).

    Built here rather than by a template macro: a results page shows some twenty hits,
    and a badge's markup depends only on its platform and URL, escaped once."""
    lis = "".join(_badge_li(str(b["key"]), str(b["name"]), b.get("url")) for b in items)
    if not lis:
        return Markup("")
    return Markup(f'\n<ul class="badges" aria-label="{escape(label)}">{lis}\n</ul>\n')


@lru_cache(maxsize=16384)
def _badge_li(key: str, name: str, url: str | None) -> str:
    k, n = escape(key), escape(name)
    if url:
        return (f'\n  <li><a class="badge badge-{k}" href="{escape(url)}" '
                f'rel="noopener noreferrer nofollow" title="Voir sur {n} (site externe)">{n}'
                f'<span class="visually-hidden"> (ouvre la page sur {n})</span></a></li>')
    return f'\n  <li><span class="badge badge-{k}">{n}</span></li>'


def _badge_order(p: Platform) -> tuple[int, str]:
    return (p.rank, p.key)


def _homepage(url: str | None) -> str | None:
    return None if url is None else safe_url(url)


def entity_href(entity_id: str, kind: str, *, external: bool = False, api: bool = False) -> str:
    """The entity's page (or its API answer): built once per request and kind, then filled
    in, since a page of results needs three links per hit."""
    return entity_href_maker(external=external, api=api)(entity_id, kind)


def entity_href_maker(*, external: bool = False, api: bool = False
                      ) -> Callable[[str, str], str]:
    """``entity_href`` for this request with these options, as a function of (id, kind)."""
    shop, product = _href_templates(external, api)

    def maker(entity_id: str, kind: str) -> str:
        return _quoted(str(entity_id)).join(shop if kind == "shop" else product)

    return maker


def _href_templates(external: bool, api: bool) -> tuple[list[str], list[str]]:
    """The shop and product links with a hole for the id, per app and what ``url_for``
    builds them from (the request's scheme, host and script root): the same for nearly
    every request, and ``url_for`` costs more than the rest of a hit's view."""
    key = (external, api, request.scheme, request.host, request.root_path)
    cache: dict[Any, tuple[list[str], list[str]]] = current_app.extensions.setdefault(
        "agora_href_templates", {})
    found = cache.get(key)
    if found is None:
        prefix = "api." if api else "entities."
        shop, product = (str(url_for(prefix + endpoint, entity_id="__ID__",
                                     _external=external)).split("__ID__", 1)
                         for endpoint in ("shop", "product"))
        found = (shop, product)
        if len(cache) >= 64:  # hosts are the client's to choose: kept bounded
            cache.clear()
        cache[key] = found
    return found


@lru_cache(maxsize=65536)
def _quoted(entity_id: str) -> str:
    return quote(entity_id, safe="")


def services_of(doc: Mapping[str, Any]) -> list[str]:
    return list(doc.get("services") or doc.get("shop_services") or [])


class DocumentViews:
    """The part of hits' views that depends on their document alone (and the platforms
    table), kept per entity: shoppers' searches bring the same shops back again and
    again, and an index never changes once built.

    An entry is used only while the hit's document is the one it was drawn from (the
    same object, as the embedded backend hands back while it keeps the document parsed,
    or an equal one) and the platforms table the same object (it is replaced at each
    build, ``search_ui.context.platforms``): a new build's documents are drawn afresh.
    The oldest entries go first past ``size``. Thread-safe.
    """

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Mapping[str, Any], object, dict[str, Any]]] = {}

    def view(self, entity_id: str, kind: str, doc: Mapping[str, Any],
             table: Mapping[str, Platform]) -> dict[str, Any]:
        """The document-only fields of the view (shared between requests: only
        ``with_details`` adds to it, what it draws from these fields)."""
        found = self._entries.get(entity_id)
        if found is not None:
            kept, kept_table, view = found
            if kept_table is table and (kept is doc or kept == doc) and view["kind"] == kind:
                return view
        view = _document_view(kind, doc, table)
        with self._lock:
            self._entries.pop(entity_id, None)
            self._entries[entity_id] = (doc, table, view)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return view


def _document_view(kind: str, doc: Mapping[str, Any],
                   table: Mapping[str, Platform]) -> dict[str, Any]:
    point = location(doc)
    return {
        "kind": kind,
        "kind_label": KIND_LABELS.get(kind, kind),
        "platforms": _badges(doc, table),
        "commune": commune(doc),
        "postcode": doc.get("postcode"),
        "address": doc.get("address"),
        "services": services_of(doc),
        "price_min": doc.get("price_min"),
        "price_max": doc.get("price_max"),
        "currency": doc.get("currency") or "EUR",
        "categories": list(doc.get("categories") or ([doc["category"]] if doc.get("category")
                                                      else [])),
        "brand": doc.get("brand"),
        "shop_name": doc.get("shop_name"),
        "shop_id": doc.get("shop_id") or doc.get("shop_entity_id"),
        "product_id": doc.get("product_id") or doc.get("product_entity_id"),
        "offers_count": doc.get("offers_count") or len(doc.get("offer_ids") or []) or None,
        "shops_count": doc.get("shops_count"),
        "lat": point[0] if point else None,
        "lon": point[1] if point else None,
    }


def document_views() -> DocumentViews:
    """The app's ``DocumentViews``."""
    found: DocumentViews | None = current_app.extensions.get("agora_document_views")
    if found is None:
        found = current_app.extensions.setdefault("agora_document_views", DocumentViews())
    return found


def hit_views(hits: Iterable[Any]) -> list[dict[str, Any]]:
    """Search hits as the pages and the API show them, in order."""
    table, views = platforms(), document_views()
    href = entity_href_maker()
    return [_hit_view(hit, table, views, href) for hit in hits]


def hit_view(hit: Any) -> dict[str, Any]:
    """A search hit as the pages and the API show it."""
    return hit_views([hit])[0]


def _hit_view(hit: Any, table: Mapping[str, Platform], views: DocumentViews,
              href: Callable[[str, str], str]) -> dict[str, Any]:
    doc = hit.document or {}
    kind = hit.kind
    static = views.view(hit.entity_id, kind, doc, table)
    return {
        "id": hit.entity_id,
        "kind": kind,
        "kind_label": static["kind_label"],
        "name": hit.name or title(doc),
        "href": href(hit.entity_id, kind),
        "platforms": static["platforms"],
        "commune": static["commune"],
        "postcode": static["postcode"],
        "address": static["address"],
        "services": static["services"],
        "distance_km": None if hit.distance_km is None else round(hit.distance_km, 3),
        "price_min": static["price_min"],
        "price_max": static["price_max"],
        "currency": static["currency"],
        "categories": static["categories"],
        "brand": static["brand"],
        "shop_name": static["shop_name"],
        "shop_id": static["shop_id"],
        "product_id": static["product_id"],
        "offers_count": static["offers_count"],
        "shops_count": static["shops_count"],
        "lat": static["lat"],
        "lon": static["lon"],
        "highlights": {k: highlight(v) for k, v in (hit.highlights or {}).items()},
        "score": hit.score,
        "document_view": static,
    }


def with_details(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The views with ``details``: the results page's markup of what depends on the
    document alone (the macro ``details`` of ``search/_hit.html``), drawn once per
    document and kept with its document view (while the hit's name is the same)."""
    draw: Callable[[dict[str, Any]], Markup] | None = None
    for view in views:
        static = view["document_view"]
        kept = static.get("details")
        if kept is None or kept[0] != view["name"]:
            if draw is None:
                draw = get_template_attribute("search/_hit.html", "details")
            kept = (view["name"], draw(view))
            static["details"] = kept  # one assignment: a thread racing draws the same
        view["details"] = kept[1]
    return views


def facet_value_label(key: str, value: str,
                      table: Mapping[str, Platform] | None = None) -> str:
    """How a facet value is shown; ``table``: the platforms (default ``platforms()``; a
    caller labelling many values looks it up once)."""
    if key == "platform":
        return ((platforms() if table is None else table).get(value)
                or unregistered(value)).name
    if key == "category":
        return category_label(value)
    if key == "service":
        return service_label(value)
    if key == "kind":
        return KIND_PLURALS.get(value, value)
    if key == "price":
        return price_bucket_label(value)
    return value


def price_bucket(value: str) -> tuple[int | None, int | None] | None:
    """A price facet value ('1000-2000': from 10 € up to 20 € excluded; '20000-': 200 € and
    more) as (price_min, price_max) cents, both included; None when unreadable."""
    match = re.fullmatch(r"(\d{1,9})?-(\d{1,9})?", str(value).strip())
    if not match or not any(match.groups()):
        return None
    low, high = match.groups()
    return (int(low) if low else None, int(high) - 1 if high else None)


def price_bucket_label(value: str) -> str:
    match = re.fullmatch(r"(\d{1,9})?-(\d{1,9})?", str(value).strip())
    if not match or not any(match.groups()):
        return value
    low, high = (int(x) if x else None for x in match.groups())
    if not low and high is not None:
        return f"moins de {price(high)}"
    if high is None:
        return f"{price(low)} et plus"
    return f"de {price(low)} à {price(high)}"


def price_limits_label(low: int | None, high: int | None) -> str:
    """'de 10 € à 19,99 €', 'jusqu’à 20 €', 'à partir de 5 €' (both ends included)."""
    if low is not None and high is not None:
        return f"de {price(low)} à {price(high)}"
    if high is not None:
        return f"jusqu’à {price(high)}"
    return f"à partir de {price(low)}"


def dom_id(*parts: Any) -> str:
    """A stable HTML id from any values: the same facet value keeps its id across pages
    (focus is put back on it after a filter reloads the page)."""

    text = "-".join(str(p) for p in parts)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "x"
    return f"{slug}-{hashlib.blake2b(text.encode(), digest_size=3).hexdigest()}"


def register_filters(app: Flask) -> None:
    app.add_template_global(dom_id, "dom_id")
    app.add_template_global(badges_html, "badges_html")
    app.add_template_filter(price, "price")
    app.add_template_filter(price_range, "price_range")
    app.add_template_filter(distance, "distance")
    app.add_template_filter(phone, "phone")
    app.add_template_filter(tel_href, "tel_href")
    app.add_template_filter(hours, "hours")
    app.add_template_filter(safe_url, "safe_url")
    app.add_template_filter(category_label, "category_label")
    app.add_template_filter(service_label, "service_label")
    app.jinja_env.globals.update(KIND_LABELS=KIND_LABELS, FACET_TITLES=FACET_TITLES,
                                 CONFLICT_LABELS=CONFLICT_LABELS,
                                 AVAILABILITY_LABELS=AVAILABILITY_LABELS)
    app.add_template_global(platform, "platform_of")
