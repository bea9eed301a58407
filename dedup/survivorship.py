"""Survivorship: the merged record of an entity, and the conflicts between its sources.

For each field the merged record shows the value most of its sources agree on
(compared on the normalized form), ties going to the more trusted platform, and
shown in its best-written form (mixed case and accents beat ALL CAPS). Where
sources disagree on a phone, an address, the opening hours, a website, an
e-mail or a SIRET, every value is kept with the platforms giving it, so the
shop page can show the conflict rather than hide it.
"""

from __future__ import annotations

import functools
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from dedup.settings import MatchSettings

CONFLICT_FIELDS = ("phone", "address", "opening_hours", "website", "email", "siret", "name")


@functools.lru_cache(maxsize=65536)
def _quality(text: str) -> tuple[int, int, int]:
    """Higher is better written: mixed case, accents, length."""
    has_lower = any(c.islower() for c in text)
    accents = sum(1 for c in unicodedata.normalize("NFD", text) if unicodedata.combining(c))
    return (1 if has_lower else 0, accents, len(text))


def _choose(members: Sequence[Any], key: Callable[[Any], Any], display: Callable[[Any], Any],
            trust: Callable[[Any], int]) -> tuple[Any, Any]:
    """(normalized key, display value) most members agree on; None when no member has one."""
    if len(members) == 1:  # most entities have one source: nothing to vote on
        k = key(members[0])
        if k in (None, "", ()):
            return None, None
        shown = display(members[0])
        return k, (None if shown in (None, "") else shown)
    groups: dict[Any, list[Any]] = defaultdict(list)
    for m in members:
        k = key(m)
        if k not in (None, "", ()):
            groups[k].append(m)
    if not groups:
        return None, None
    best_key = min(groups, key=lambda k: (-len(groups[k]), min(trust(m) for m in groups[k]),
                                          str(k)))
    candidates = [m for m in groups[best_key] if display(m) not in (None, "")]
    if not candidates:
        return best_key, None
    shown = max(candidates, key=lambda m: (_quality(str(display(m))), -trust(m)))
    return best_key, display(shown)


def _conflict(members: Sequence[Any], key: Callable[[Any], Any],
              display: Callable[[Any], Any]) -> list[dict[str, Any]] | None:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for m in members:
        k = key(m)
        if k not in (None, ""):
            groups[k].append(m)
    if len(groups) < 2:
        return None
    return [{"value": display(ms[0]) or str(k), "sources": sorted({m.source for m in ms})}
            for k, ms in sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))]


def _street_line(m: Any) -> str | None:
    if not m.street:
        return None
    number = (m.street_number or "") + (f" {m.street_suffix}" if m.street_suffix else "")
    return f"{number} {m.street}".strip()


def _source_entry(m: Any, title_field: str) -> dict[str, Any]:
    return {"source": m.source, "source_id": m.source_id, "url": m.url,
            "name": m.raw.get(title_field)}


def _flags(members: Sequence[Any]) -> list[dict[str, str]]:
    return [{"source": m.source, "source_id": m.source_id, "field": f.field, "code": f.code,
             "value": f.value} for m in members for f in m.flags]


def merge_shop(entity_id: str, members: Sequence[Any], settings: MatchSettings) -> dict[str, Any]:
    """The merged record of a shop from its clean listings."""
    trust = lambda m: settings.trust_rank(m.source)  # noqa: E731
    record: dict[str, Any] = {"entity_id": entity_id, "kind": "shop"}
    record["name_key"], record["name"] = _choose(members, lambda m: m.name_key,
                                                 lambda m: m.name, trust)
    record["address"] = _choose(members, lambda m: m.address_key or m.street_key, _street_line,
                                trust)[1]
    record["postcode"] = _choose(members, lambda m: m.postcode, lambda m: m.postcode, trust)[1]
    record["city"] = _choose(members, lambda m: m.city_key, lambda m: m.city, trust)[1]
    record["department"] = _choose(members, lambda m: m.department, lambda m: m.department,
                                   trust)[1]
    for field in ("phone", "email", "siret", "opening_hours", "description"):
        record[field] = _choose(members, attrgetter(field), attrgetter(field), trust)[1]
    record["website"] = _choose(members, lambda m: m.website_host, lambda m: m.website_host,
                                trust)[1]
    lats = [m.lat for m in members if m.lat is not None and m.lon is not None]
    lons = [m.lon for m in members if m.lat is not None and m.lon is not None]
    record["lat"] = round(statistics.median(lats), 6) if lats else None
    record["lon"] = round(statistics.median(lons), 6) if lons else None
    cats = Counter(c for m in members for c in m.categories)
    record["categories"] = [c for c, _ in sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))]
    services: dict[str, list[str]] = defaultdict(list)
    for m in members:
        for s in m.services:
            services[s].append(m.source)
    record["services"] = sorted(services)
    record["services_by_source"] = {s: sorted(set(v)) for s, v in sorted(services.items())}
    record["phones"] = sorted({m.phone for m in members if m.phone})
    conflicts = {}
    for field, key, display in (
        ("phone", lambda m: m.phone, lambda m: m.phone),
        ("address", lambda m: m.address_key, _street_line),
        ("opening_hours", lambda m: m.opening_hours, lambda m: m.opening_hours),
        ("website", lambda m: m.website_host, lambda m: m.website_host),
        ("email", lambda m: m.email, lambda m: m.email),
        ("siret", lambda m: m.siret, lambda m: m.siret),
    ):
        found = _conflict(members, key, display)
        if found:
            conflicts[field] = found
    record["conflicts"] = conflicts
    ordered = sorted(members, key=lambda m: (trust(m), m.source_id))
    record["sources"] = [_source_entry(m, "name") for m in ordered]
    record["platforms"] = sorted({m.source for m in members}, key=settings.trust_rank)
    record["flags"] = _flags(members)
    return record


def merge_offer(entity_id: str, shop_entity_id: str | None, members: Sequence[Any],
                settings: MatchSettings) -> dict[str, Any]:
    """The merged record of an offer (one item of one shop) from its product listings."""
    trust = lambda m: settings.trust_rank(m.source)  # noqa: E731
    record: dict[str, Any] = {"entity_id": entity_id, "kind": "offer",
                              "shop_entity_id": shop_entity_id}
    record["title_key"], record["title"] = _choose(members, lambda m: m.title_key,
                                                   lambda m: m.title, trust)
    record["brand"] = _choose(members, lambda m: m.brand_key, lambda m: m.brand, trust)[1]
    record["gtin"] = _choose(members, lambda m: m.gtin, lambda m: m.gtin, trust)[1]
    record["variant"] = [list(v) for v in _choose(members, lambda m: tuple(m.variant),
                                                  lambda m: tuple(m.variant), trust)[1] or ()]
    record["category"] = _choose(members, lambda m: m.category, lambda m: m.category, trust)[1]
    record["image_url"] = _choose(members, lambda m: m.image_url, lambda m: m.image_url,
                                  trust)[1]
    record["description"] = _choose(members, lambda m: m.description, lambda m: m.description,
                                    trust)[1]
    record["availability"] = _choose(members, lambda m: m.availability,
                                     lambda m: m.availability, trust)[1]
    prices = [m.price_cents for m in members if m.price_cents is not None]
    record["price_min"] = min(prices) if prices else None
    record["price_max"] = max(prices) if prices else None
    record["currency"] = _choose(members, lambda m: m.currency, lambda m: m.currency, trust)[1]
    ordered = sorted(members, key=lambda m: (trust(m), m.source_id))
    record["offers"] = [{"source": m.source, "source_id": m.source_id, "url": m.url,
                         "title": m.title, "price_cents": m.price_cents,
                         "availability": m.availability} for m in ordered]
    record["sources"] = [_source_entry(m, "title") for m in ordered]
    record["platforms"] = sorted({m.source for m in members}, key=settings.trust_rank)
    conflicts = {}
    found = _conflict(members, lambda m: m.price_cents, lambda m: m.price_cents)
    if found:
        conflicts["price_cents"] = found
    record["conflicts"] = conflicts
    record["flags"] = _flags(members)
    return record


def product_key_of(offer: dict[str, Any]) -> str | None:
    """What makes offers of different shops the same product: GTIN, else brand+title+variant.

    Without a GTIN or a brand, an item is the shop's own (a bakery's tart, a gift card):
    the same title in two shops is two different products, so no product groups them.
    """
    if offer.get("gtin"):
        return "gtin:" + offer["gtin"]
    if offer.get("title_key") and offer.get("brand"):
        variant = ",".join(f"{k}={v}" for k, v in offer.get("variant") or [])
        return f"title:{offer.get('brand') or ''}|{offer['title_key']}|{variant}"
    return None
