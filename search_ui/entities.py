"""Entity pages: a merged shop (``/boutiques/<id>``) and a product or an item (``/produits/<id>``).

A shop page shows every platform listing the shop (with the name it has there
and a link to its page), the address(es), phone(s), hours, services (and which
platform offers which), the conflicts between sources as such, the shop's
items, and a plan of where it is among the build's shops. A product page shows
its offers per shop and per platform, with their prices.

Under a territory (``/t/<key>/``) a page is that territory's: a shop (or one shop's
item) of another served territory redirects (302) to the same page under the
territory that holds it, since the link a shopper follows means that shop; one no
served territory holds is a 404. A product page lists only the offers of the
territory's shops, and says how many offers the other served territories have, with a
link to the page there; a product none of whose shops is here redirects like a shop.

``load_entity`` reads the indexed document (``SearchBackend.get``) and completes
it with the merged record the catalog keeps (conflicts, every listing), so the
pages work the same whichever engine serves the search.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from catalog.backends import SearchQuery
from catalog.errors import CatalogError
from search_ui import present, territory
from search_ui.context import get_backend, get_catalog
from search_ui.geo import haversine_km, plan

entities_bp = Blueprint("entities", __name__)

ENTITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}")
MAX_SHOP_ITEMS = 200
MAX_PRODUCT_OFFERS = 200
NEARBY_KM = 1.0
NEARBY_MAX = 24


def valid_id(entity_id: str) -> bool:
    return bool(ENTITY_ID.fullmatch(entity_id))


def load_entity(entity_id: str) -> dict[str, Any] | None:
    """The entity's indexed document, completed with the catalog's merged record."""
    if not valid_id(entity_id):
        return None
    doc = get_backend().get(entity_id)
    record = _catalog_record(entity_id)
    if doc is None and record is None:
        return None
    merged = dict(record or {})
    merged.update({k: v for k, v in (doc or {}).items() if v not in (None, "", [], {})})
    if doc is not None and "territories" in doc:  # none is an answer too
        merged["territories"] = doc["territories"]
    merged.setdefault("entity_id", entity_id)
    # the record's names for what the document calls otherwise
    for doc_key, record_key in (("shop_id", "shop_entity_id"), ("product_id", "product_entity_id")):
        if merged.get(doc_key) and not merged.get(record_key):
            merged[record_key] = merged[doc_key]
    if merged.get("kind") in ("shop", "offer") and merged.get("lat") is None:
        point = present.location(merged)
        if point is not None:
            merged["lat"], merged["lon"] = point
    return merged


def load_entities(ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for entity_id in ids:
        found = load_entity(entity_id)
        if found is not None:
            out.append(found)
    return out


def _catalog_record(entity_id: str) -> dict[str, Any] | None:
    try:
        return get_catalog().entities.get(entity_id)
    except CatalogError:
        return None


def misplaced(doc: dict[str, Any]) -> str | None:
    """Where an entity not in this app's territory is shown instead (None: here).

    Raises:
        NotFound: no served territory holds it.
    """
    keys = territory.holders(doc)
    if territory.is_here(keys):
        return None
    target = territory.elsewhere(keys)
    if target is None:
        abort(404)
    return target


def offers_here(doc: dict[str, Any], offers: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A product's offers in this app's territory, and how many each other served
    territory has ([{key, name, count, href}], in the file's order).

    Raises:
        NotFound: neither the product nor any of its offers is in a served territory.
    """
    here, counts = [], Counter[str]()
    for offer in offers:
        keys = territory.holders(offer)
        if territory.is_here(keys):
            here.append(offer)
        else:
            counts.update(keys)
    away = [{"key": t.key, "name": t.name, "count": counts[t.key],
             "href": territory.url_in(t.key)} for t in territory.served() if counts[t.key]]
    return here, away


# --------------------------------------------------------------------------- views
def listings_view(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every platform listing of the entity: platform, its name there, its page."""
    out = []
    for src in doc.get("sources") or []:
        key = src.get("source") or ""
        out.append({"platform": key, "platform_name": present.platform(key).name,
                    "rank": present.platform(key).rank, "source_id": src.get("source_id"),
                    "name": src.get("name"), "url": present.safe_url(src.get("url"))})
    out.sort(key=lambda s: (s["rank"], str(s["source_id"])))
    return out


def conflicts_view(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for field, values in (doc.get("conflicts") or {}).items():
        rows = []
        for v in values or []:
            value = v.get("value")
            if field == "phone":
                value = present.phone(value)
            elif field == "price_cents":
                value = present.price(value)
            elif field == "opening_hours":
                value = "; ".join(present.hours(value))
            rows.append({"value": value, "platforms": [present.platform(s).name
                                                       for s in present.ordered_platforms(
                                                           v.get("sources") or [])]})
        out.append({"field": field, "label": present.CONFLICT_LABELS.get(field, field),
                    "values": rows})
    return out


def item_view(offer: dict[str, Any]) -> dict[str, Any]:
    product_id = offer.get("product_entity_id") or offer.get("product_id")
    return {"id": offer["entity_id"], "title": present.title(offer),
            "brand": offer.get("brand"),
            "price": present.price_range(offer.get("price_min"), offer.get("price_max"),
                                         offer.get("currency")),
            "price_min": offer.get("price_min"),
            "availability": offer.get("availability"),
            "platforms": present.badges(offer),
            "href": url_for("entities.product", entity_id=offer["entity_id"]),
            "compare_href": url_for("entities.product", entity_id=product_id)
            if product_id else None}


def nearby(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Shops of the build around this one (nearest first)."""
    lat, lon = doc.get("lat"), doc.get("lon")
    if lat is None or lon is None:
        return []
    results = get_backend().search(SearchQuery(
        kinds=("shop",), near=(float(lat), float(lon)), radius_km=NEARBY_KM, sort="distance",
        per_page=NEARBY_MAX + 1, facets=(), highlight=False))
    out = []
    for hit in results.hits:
        if hit.entity_id == doc["entity_id"]:
            continue
        point = present.location(hit.document)
        if point is None:
            continue
        hlat, hlon = point
        km = hit.distance_km if hit.distance_km is not None else haversine_km(
            (float(lat), float(lon)), (float(hlat), float(hlon)))
        out.append({"id": hit.entity_id, "name": hit.name or present.title(hit.document),
                    "lat": float(hlat), "lon": float(hlon), "distance_km": km,
                    "href": url_for("entities.shop", entity_id=hit.entity_id)})
    return out[:NEARBY_MAX]


@entities_bp.get("/boutiques/<entity_id>")
def shop(entity_id: str) -> str | Response:
    """A merged shop, every platform listing it, its conflicts, items and plan."""
    doc = load_entity(entity_id)
    if doc is None or doc.get("kind") != "shop":
        abort(404)
    target = misplaced(doc)
    if target is not None:
        return redirect(target)
    items = [item_view(o) for o in load_entities(list(doc.get("offer_ids") or [])
                                                 [:MAX_SHOP_ITEMS])]
    items.sort(key=lambda i: (i["title"].casefold(), i["id"]))
    neighbours = nearby(doc)
    the_plan = None
    if doc.get("lat") is not None and doc.get("lon") is not None:
        the_plan = plan((float(doc["lat"]), float(doc["lon"])), present.title(doc),
                        [(n["lat"], n["lon"], n["name"], n["href"]) for n in neighbours])
    addresses = _addresses(doc)
    return render_template(
        "entities/shop.html", doc=doc, name=present.title(doc),
        platform_badges=present.badges(doc),
        listings=listings_view(doc), conflicts=conflicts_view(doc), items=items,
        more_items=max(0, len(doc.get("offer_ids") or []) - MAX_SHOP_ITEMS),
        addresses=addresses, phones=_phones(doc), hours_lines=present.hours(
            doc.get("opening_hours")),
        services=_services(doc), neighbours=neighbours[:8], plan=the_plan,
        website=_website(doc.get("website")))


def _addresses(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The merged address, and the others the sources give (with which platforms)."""
    main = ", ".join(x for x in (doc.get("address"),
                                 " ".join(x for x in (doc.get("postcode"), doc.get("city"))
                                          if x)) if x)
    out = [{"text": main, "platforms": []}] if main else []
    for v in (doc.get("conflicts") or {}).get("address") or []:
        if v.get("value") and v["value"] != doc.get("address"):
            out.append({"text": v["value"], "platforms": [
                present.platform(s).name for s in present.ordered_platforms(v.get("sources")
                                                                            or [])]})
    return out


def _phones(doc: dict[str, Any]) -> list[dict[str, Any]]:
    numbers = list(dict.fromkeys([p for p in [doc.get("phone"), *(doc.get("phones") or [])]
                                  if p]))
    by_number: dict[str, list[str]] = {}
    for v in (doc.get("conflicts") or {}).get("phone") or []:
        by_number[v.get("value")] = present.ordered_platforms(v.get("sources") or [])
    return [{"text": present.phone(n), "href": present.tel_href(n),
             "platforms": [present.platform(s).name for s in by_number.get(n, [])]}
            for n in numbers]


def _services(doc: dict[str, Any]) -> list[dict[str, Any]]:
    by_source = doc.get("services_by_source") or {}
    return [{"key": s, "label": present.service_label(s),
             "platforms": [present.platform(p).name
                           for p in present.ordered_platforms(by_source.get(s) or [])]}
            for s in present.services_of(doc)]


def _website(host: str | None) -> str | None:
    if not host or not re.fullmatch(r"[A-Za-z0-9.\-]{1,253}", host):
        return None
    return host


@entities_bp.get("/produits/<entity_id>")
def product(entity_id: str) -> str | Response:
    """A product's offers per shop and per platform (or one shop's item, alike)."""
    doc = load_entity(entity_id)
    if doc is None or doc.get("kind") not in ("product", "offer"):
        abort(404)
    offers, away = product_offers(doc)
    if offers is None:
        return redirect(str(away))
    rows = offer_rows(offers)
    if doc["kind"] == "product" and not offers and doc.get("sources"):
        rows = offer_rows([{**doc, "shop_entity_id": None}])  # a product seen without a shop
    return render_template(
        "entities/product.html", doc=doc, name=present.title(doc),
        platform_badges=present.badges(doc),
        rows=rows, shops=len({r["shop_id"] for r in rows if r["shop_id"]}),
        listings=listings_view(doc), conflicts=conflicts_view(doc),
        more_offers=max(0, len(doc.get("offer_ids") or []) - MAX_PRODUCT_OFFERS),
        away=away,
        product_href=url_for("entities.product", entity_id=doc["product_entity_id"])
        if doc["kind"] == "offer" and doc.get("product_entity_id") else None,
        shop_href=url_for("entities.shop", entity_id=doc["shop_entity_id"])
        if doc["kind"] == "offer" and doc.get("shop_entity_id") else None)


def product_offers(doc: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, Any]:
    """The offers a product (or an item) page shows here, and the other territories'
    counts (see ``offers_here``); ``(None, url)`` when the page is another territory's.

    Raises:
        NotFound: no served territory holds it.
    """
    if doc["kind"] == "offer":
        target = misplaced(doc)
        return (None, target) if target else ([doc], [])
    offers = load_entities(list(doc.get("offer_ids") or [])[:MAX_PRODUCT_OFFERS])
    here, away = offers_here(doc, offers)
    keys = set(territory.holders(doc)) | {k for o in offers for k in territory.holders(o)}
    if not territory.is_here(keys):
        target = misplaced({"territories": sorted(keys)})
        return None, target
    return here, away


def offer_rows(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (shop, platform) listing with its price, cheapest first."""
    rows = []
    for offer in offers:
        listings = offer.get("offers") or [
            {"source": s.get("source"), "url": s.get("url"), "price_cents": offer.get(
                "price_min"), "availability": offer.get("availability")}
            for s in offer.get("sources") or []]
        for listing in listings:
            key = listing.get("source") or ""
            rows.append({
                "shop_id": offer.get("shop_entity_id"), "offer_id": offer.get("entity_id"),
                "shop_name": offer.get("shop_name") or ("—" if not offer.get("shop_entity_id")
                                                        else offer.get("shop_entity_id")),
                "shop_href": url_for("entities.shop", entity_id=offer["shop_entity_id"])
                if offer.get("shop_entity_id") else None,
                "commune": offer.get("city"),
                "platform": key, "platform_name": present.platform(key).name,
                "url": present.safe_url(listing.get("url")),
                "price_cents": listing.get("price_cents"),
                "price": present.price(listing.get("price_cents"), offer.get("currency")),
                "availability": listing.get("availability"),
                "title": listing.get("title") or present.title(offer),
            })
    rows.sort(key=lambda r: (r["price_cents"] is None, r["price_cents"] or 0,
                             str(r["shop_name"]).casefold(), present.platform(r["platform"]).rank))
    return rows
