"""Search documents from the catalog's entities: one flat, JSON-able dict per entity.

Every backend indexes the same documents (``build_documents`` for records in
hand, ``catalog_documents`` for a whole build read from the catalog), so that
they filter, facet and show the same things. A document holds:

- ``id``, ``kind`` (shop, offer, product), ``scope`` (the kinds a search for it
  covers: an offer that no product groups, a shop's own item, also answers for
  ``product``), ``name`` (shop name, offer or product title);
- searched text: ``brand``, ``description``, ``category_text`` (the trades'
  French labels and words), ``place_text`` (communes, postcodes, a shop's street),
  ``shop_name``;
- filters and facets: ``platforms``, ``categories`` (taxonomy keys),
  ``communes`` (display form, one spelling per build) and ``commune_keys``
  (folded, what filters compare), ``services`` (click_collect, delivery,
  local_delivery), ``flags`` (data-quality codes), ``price_min``/``price_max``
  (cents), ``locations`` ([{lat, lon}], a product's are its shops'), ``territories``
  (the keys of the territories a shop's address is in; an offer's are its shop's, a
  product's its shops');
- what a result shows: ``sources`` ([{source, source_id, url, name}], a
  product's are its offers'), ``shop_id``, ``address``, ``postcode``, ``city``,
  ``image_url``, ``availability``, ``currency``, ``gtin``, ``offers_count``,
  ``shops_count``, ``weight`` (how widely it is listed: suggestions, ties).

Example:
    >>> shop = {"entity_id": "shop-1", "kind": "shop", "name": "Fromagerie André",
    ...         "city": "Toulouse", "categories": ["fromagerie"], "platforms": ["a"],
    ...         "sources": [{"source": "a", "source_id": "1", "url": None}]}
    >>> doc = build_documents([shop])[0]
    >>> doc["scope"], doc["commune_keys"], doc["category_text"][:10]
    (['shop'], ['toulouse'], 'Fromagerie')
    >>> build_documents([{**shop, "address": "12 bis r. de Metz"}])[0]["place_text"]
    'Toulouse rue de Metz'
    >>> street_of("Marché Victor Hugo, Pl. Victor-Hugo")
    'place Victor-Hugo'
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from catalog.engine import decode_json
from normalizer.addresses import parse_street
from normalizer.categories import TAXONOMY
from normalizer.territories import Territories
from normalizer.text import fold

# Words a shopper may use for a trade, beyond its label (searched, weighted as categories).
CATEGORY_WORDS: dict[str, str] = {
    "boulangerie": "boulangerie pâtisserie boulanger pain pains gâteaux viennoiseries",
    "boucherie": "boucherie charcuterie boucher charcutier viande viandes",
    "fromagerie": "fromagerie fromager fromage fromages crèmerie",
    "caviste": "caviste cave vin vins spiritueux",
    "epicerie_fine": "épicerie fine produits du terroir",
    "primeur": "primeur fruits légumes",
    "poissonnerie": "poissonnerie poissonnier poisson poissons fruits de mer",
    "chocolatier": "chocolatier chocolaterie chocolat chocolats confiserie",
    "librairie": "librairie libraire livres livre",
    "fleuriste": "fleuriste fleurs plantes",
    "pret_a_porter": "prêt-à-porter vêtements mode",
    "chaussures": "chaussures chausseur",
    "bijouterie": "bijouterie bijoux horlogerie montres",
    "opticien": "opticien optique lunettes",
    "quincaillerie": "quincaillerie bricolage outils",
    "jouets": "jouets jeux",
    "sport": "sport sports",
    "decoration": "décoration déco maison",
    "cosmetiques": "beauté cosmétiques parfumerie",
    "papeterie": "papeterie fournitures",
    "informatique": "informatique ordinateurs high-tech",
    "cafe_the": "café thé torréfacteur",
    "velo": "vélo vélos cycles",
    "disquaire": "disquaire disques vinyles musique",
}

KIND_WEIGHT = {"shop": 3, "product": 2, "offer": 1}


@lru_cache(maxsize=8192)
def commune_key(name: str | None) -> str:
    """The folded form communes are compared on ("Labège" and "LABEGE" meet)."""
    return " ".join(fold(name or "").lower().replace("-", " ").replace("'", " ").split())


def street_of(address: str | None) -> str | None:
    """A shop's street without its number, searched with its place ("fromagerie rue de
    metz"): "12 bis r. de Metz" -> "rue de Metz"."""
    if not address:
        return None
    return parse_street(address[:200])[2]


def category_text(keys: Iterable[str]) -> str:
    parts = []
    for key in keys:
        parts.append(TAXONOMY.get(key, key))
        parts.append(CATEGORY_WORDS.get(key, ""))
    return " ".join(p for p in parts if p)


def _quality(name: str) -> tuple[int, int]:
    return (sum(1 for a, b in zip(name, fold(name), strict=False) if a != b), len(name))


def _flag_codes(record: dict[str, Any]) -> list[str]:
    return sorted({f["code"] for f in record.get("flags") or [] if f.get("code")})


def _sources(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"source": s.get("source"), "source_id": s.get("source_id"), "url": s.get("url"),
             "name": s.get("name")} for s in record.get("sources") or []]


def _prices(record: dict[str, Any]) -> dict[str, int | None]:
    """price_min and price_max in cents, each standing in for the other when alone."""
    lo, hi = record.get("price_min"), record.get("price_max")
    return {"price_min": lo if lo is not None else hi, "price_max": hi if hi is not None else lo}


def _location(lat: Any, lon: Any) -> dict[str, float] | None:
    if lat is None or lon is None:
        return None
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return {"lat": la, "lon": lo}


class DocumentBuilder:
    """Documents of one build: shops first (offers and products read their shops)."""

    def __init__(self, shops: Iterable[dict[str, Any]],
                 territories: Territories | None = None) -> None:
        self.shops = {s["entity_id"]: s for s in shops}
        self.territories = territories
        spellings: dict[str, Counter[str]] = defaultdict(Counter)
        for s in self.shops.values():
            if s.get("city"):
                spellings[commune_key(s["city"])][s["city"]] += 1
        # one spelling per commune in the whole build: the most common, accents preferred
        self.spelling = {key: max(c, key=lambda n: (c[n], _quality(n), n))
                         for key, c in spellings.items()}
        self._product_parts: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"sources": [], "flags": set(), "shops": set()})

    def commune(self, city: str | None) -> str | None:
        if not city:
            return None
        return self.spelling.get(commune_key(city), city)

    def _place(self, communes: list[str], postcodes: list[str],
               street: str | None = None) -> dict[str, Any]:
        communes = sorted({c for c in communes if c})
        words = communes + sorted({p for p in postcodes if p}) + ([street] if street else [])
        return {"communes": communes, "commune_keys": sorted({commune_key(c) for c in communes}),
                "place_text": " ".join(words)}

    def territories_of(self, record: dict[str, Any]) -> list[str]:
        """The territories a shop (or an offer's own address) is in."""
        if self.territories is None:
            return []
        return list(self.territories.all_of(record.get("postcode"), record.get("lat"),
                                            record.get("lon")))

    # ------------------------------------------------------------------ kinds
    def shop(self, r: dict[str, Any]) -> dict[str, Any]:
        categories = list(r.get("categories") or [])
        city = self.commune(r.get("city"))
        loc = _location(r.get("lat"), r.get("lon"))
        platforms = list(r.get("platforms") or [])
        return {
            "id": r["entity_id"], "kind": "shop", "scope": ["shop"],
            "name": r.get("name") or "", "brand": None, "description": r.get("description"),
            "categories": categories, "category_text": category_text(categories),
            **self._place([city] if city else [], [r.get("postcode") or ""],
                          street_of(r.get("address"))),
            "shop_id": None, "shop_name": None,
            "platforms": platforms, "services": sorted(r.get("services") or []),
            "flags": _flag_codes(r), "price_min": None, "price_max": None, "currency": None,
            "locations": [loc] if loc else [],
            "territories": self.territories_of(r),
            "sources": _sources(r),
            "address": r.get("address"), "postcode": r.get("postcode"), "city": city,
            "phone": r.get("phone"), "website": r.get("website"),
            "opening_hours": r.get("opening_hours"),
            "image_url": None, "availability": None, "gtin": None,
            "offers_count": len(r.get("offer_ids") or []), "shops_count": 1,
            "weight": KIND_WEIGHT["shop"] * 10 + len(platforms),
        }

    def offer(self, r: dict[str, Any]) -> dict[str, Any]:
        shop = self.shops.get(r.get("shop_entity_id") or "", {})
        category = [r["category"]] if r.get("category") else []
        city = self.commune(r.get("city") or shop.get("city"))
        loc = _location(r.get("lat", shop.get("lat")), r.get("lon", shop.get("lon")))
        platforms = list(r.get("platforms") or [])
        product_id = r.get("product_entity_id")
        sources = _sources(r)
        flags = _flag_codes(r)
        if product_id:
            parts = self._product_parts[product_id]
            parts["sources"].extend(sources)
            parts["flags"].update(flags)
            if r.get("shop_entity_id"):
                parts["shops"].add(r["shop_entity_id"])
        return {
            "id": r["entity_id"], "kind": "offer",
            "scope": ["offer"] if product_id else ["offer", "product"],
            "name": r.get("title") or "", "brand": r.get("brand"),
            "description": r.get("description"),
            "categories": category, "category_text": category_text(category),
            **self._place([city] if city else [], [r.get("postcode") or shop.get("postcode")
                                                   or ""]),
            "shop_id": r.get("shop_entity_id"),
            "shop_name": r.get("shop_name") or shop.get("name"),
            "product_id": product_id,
            "platforms": platforms,
            "services": sorted(r.get("shop_services") or shop.get("services") or []),
            "flags": flags, **_prices(r),
            "currency": r.get("currency"),
            "locations": [loc] if loc else [],
            "territories": self.territories_of(shop or r),
            "sources": sources,
            "address": shop.get("address"), "postcode": r.get("postcode") or shop.get("postcode"),
            "city": city,
            "image_url": r.get("image_url"), "availability": r.get("availability"),
            "gtin": r.get("gtin"), "offers_count": 1, "shops_count": 1 if shop else 0,
            "weight": KIND_WEIGHT["offer"] * 10 + len(platforms),
        }

    def product(self, r: dict[str, Any]) -> dict[str, Any]:
        parts = self._product_parts.pop(r["entity_id"], None) or {
            "sources": [], "flags": set(), "shops": set()}
        shops = [self.shops[s] for s in sorted(set(r.get("shop_ids") or []) | parts["shops"])
                 if s in self.shops]
        category = [r["category"]] if r.get("category") else []
        locations, seen = [], set()
        for s in shops:
            loc = _location(s.get("lat"), s.get("lon"))
            if loc and (loc["lat"], loc["lon"]) not in seen:
                seen.add((loc["lat"], loc["lon"]))
                locations.append(loc)
        # a loose product (no shop named) carries its own listings
        sources = parts["sources"] or _sources(r)
        flags = sorted(parts["flags"] | set(_flag_codes(r)))
        platforms = list(r.get("platforms") or [])
        communes = [self.commune(s.get("city")) for s in shops]
        return {
            "id": r["entity_id"], "kind": "product", "scope": ["product"],
            "name": r.get("title") or "", "brand": r.get("brand"),
            "description": r.get("description"),
            "categories": category, "category_text": category_text(category),
            **self._place([c for c in communes if c], [s.get("postcode") or "" for s in shops]),
            "shop_id": None, "shop_name": None,
            "platforms": platforms,
            "services": sorted({sv for s in shops for sv in s.get("services") or []}),
            "flags": flags, **_prices(r),
            "currency": r.get("currency"),
            "locations": locations,
            "territories": sorted({t for s in shops for t in self.territories_of(s)}),
            "sources": sources,
            "address": None, "postcode": None, "city": None,
            "image_url": r.get("image_url"), "availability": r.get("availability"),
            "gtin": r.get("gtin"),
            "offers_count": r.get("offers_count") or len(r.get("offer_ids") or []) or 1,
            "shops_count": len(shops),
            "weight": KIND_WEIGHT["product"] * 10 + len(platforms) + min(len(shops), 9),
        }


def build_documents(records: Iterable[dict[str, Any]],
                    territories: Territories | None = None) -> list[dict[str, Any]]:
    """The documents of a set of entity records (shops, offers, products, any order),
    placed in ``territories`` (none when not given)."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_kind[r["kind"]].append(r)
    builder = DocumentBuilder(by_kind["shop"], territories)
    docs = [builder.shop(r) for r in by_kind["shop"]]
    docs += [builder.offer(r) for r in by_kind["offer"]]
    docs += [builder.product(r) for r in by_kind["product"]]
    return docs


def entity_record(data: str) -> dict[str, Any]:
    """A stored entity record (a sixth of a large index build went to Python's parser
    before ``decode_json``)."""
    record: dict[str, Any] = decode_json(data)
    return record


def catalog_documents(conn: Any, territories: Territories | None = None
                      ) -> Iterator[dict[str, Any]]:
    """The documents of every entity in the catalog (a sqlite3 connection), streamed.

    Shops are held in memory (offers and products read them); offers and products
    are decoded one at a time.
    """
    def rows(kind: str) -> Iterator[dict[str, Any]]:
        cur = conn.execute("SELECT data FROM entities WHERE kind = ? ORDER BY entity_id",
                           (kind,))
        while True:
            chunk = cur.fetchmany(1000)
            if not chunk:
                return
            for (data,) in chunk:
                yield entity_record(data)

    builder = DocumentBuilder(rows("shop"), territories)
    for shop in builder.shops.values():
        yield builder.shop(shop)
    for offer in rows("offer"):
        yield builder.offer(offer)
    for product in rows("product"):
        yield builder.product(product)


def entity_count(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) FROM entities").fetchone()[0])
