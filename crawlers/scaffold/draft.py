"""A draft ``sources.yaml`` entry from what ``discover`` found, a comment on each choice.

The type is chosen by what was found, in this order: a list of microdata items
(``html``: the list page, its ``rel=next`` chain, each item's JSON endpoint
followed); sitemaps leading to schema.org pages (``sitemap_jsonld``); JSON
endpoints answering lists of records (``json_api``). Fields are mapped to the
listing contract by what the platform calls them: schema.org properties
(``SCHEMA_FIELDS``), microdata ``itemprop``s, JSON keys in French or English
(``JSON_NAMES``). Every contract field left unmapped is named in a comment, as is
everything the draft could not use; the operator finishes from there. Found
nothing of the three: ``NothingToDraft``, with what was tried (no placeholder
entry).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from parsel import Selector

from crawlers.errors import NothingToDraft
from crawlers.listing import FIELDS
from crawlers.scaffold.discover import FRANCE, CardList, Findings, JsonEndpoint, SitemapRule
from crawlers.scaffold.graphql import GraphqlApi

#: contract field -> JMESPath on a schema.org object (alternatives)
SCHEMA_FIELDS: dict[str, dict[str, str]] = {
    "shop": {"name": "name", "url": "url",
             "address": "address.streetAddress || address[0].streetAddress",
             "postcode": "address.postalCode || address[0].postalCode",
             "city": "address.addressLocality || address[0].addressLocality",
             "phone": "telephone[0] || telephone", "email": "email[0] || email",
             "website": "sameAs[0] || sameAs",
             "lat": "geo.latitude", "lon": "geo.longitude", "siret": "identifier.value || identifier[0].value || "
             "(type(identifier) == 'string' && identifier) || null",
             "opening_hours": "openingHours", "description": "description"},
    "product": {"title": "name", "url": "url", "brand": "brand.name || brand[0].name || brand",
                "gtin": "gtin13 || gtin", "price": "offers.price || offers[0].price",
                "currency": "offers.priceCurrency || offers[0].priceCurrency",
                "availability": "offers.availability || offers[0].availability",
                "category": "category[0] || category", "description": "description",
                "image_url": "image.url || image[0].url || "
                "(type(image[0]) == 'string' && image[0]) || "
                "(type(image) == 'string' && image) || null"},
}
#: contract field -> microdata itemprop (and what to read of it)
ITEMPROPS: dict[str, dict[str, tuple[str, str]]] = {
    "shop": {"name": ("name", ""), "url": ("url", "href"), "address": ("streetAddress", ""),
             "postcode": ("postalCode", ""), "city": ("addressLocality", ""),
             "phone": ("telephone", ""), "email": ("email", "href"), "website": ("sameAs", "href"),
             "lat": ("latitude", "content"), "lon": ("longitude", "content"),
             "opening_hours": ("openingHours", "content"), "description": ("description", "")},
    "product": {"title": ("name", ""), "url": ("url", "href"), "brand": ("brand", ""),
                "gtin": ("gtin13", "content"), "price": ("price", "content"),
                "currency": ("priceCurrency", "content"),
                "availability": ("availability", "href"), "category": ("category", ""),
                "description": ("description", ""), "image_url": ("image", "src")},
}
#: contract field -> JSON key names it goes by (French and English), first found wins
JSON_NAMES: dict[str, tuple[str, ...]] = {
    "source_id": ("id", "ref", "reference", "sku", "uuid", "code"),
    "url": ("url", "lien", "link", "href", "permalink"),
    "name": ("name", "nom", "raison_sociale", "enseigne"),
    "title": ("title", "titre", "nom", "name", "libelle", "designation"),
    "address": ("address", "adresse", "rue", "street", "ligne1", "streetAddress"),
    "postcode": ("postcode", "code_postal", "codePostal", "cp", "zip", "postalCode"),
    "city": ("city", "ville", "commune", "localite", "addressLocality"),
    "phone": ("phone", "telephone", "tel", "téléphone"),
    "email": ("email", "courriel", "mail"),
    "website": ("website", "site", "site_web", "siteWeb", "web"),
    "siret": ("siret",),
    "lat": ("lat", "latitude"), "lon": ("lon", "lng", "longitude"),
    "categories": ("categories", "rubriques", "categorie", "category", "rayon"),
    "services": ("services",),
    "opening_hours": ("opening_hours", "horaires", "hours", "openingHours"),
    "description": ("description", "descriptif", "presentation", "texte"),
    "brand": ("brand", "marque"), "gtin": ("gtin", "ean", "gtin13", "barcode"),
    "price": ("price", "prix", "montant", "amount", "tarif"),
    "currency": ("currency", "devise", "priceCurrency"),
    "availability": ("availability", "dispo", "disponibilite", "stock"),
    "category": ("category", "rayon", "categorie"),
    "image_url": ("image_url", "image", "photo", "visuel", "img"),
}


def draft_entry(name: str, url: str, found: Findings) -> str:
    """The text of a sources file holding the one drafted entry (see the module docs)."""
    notes = list(found.notes)
    if found.card_list is not None:
        connector, extract, comments = "html", *_html(found.card_list, notes)
    elif found.sitemap_rules:
        connector, extract, comments = "sitemap_jsonld", *_sitemap(found.sitemap_rules, notes)
    elif found.geojson is not None:
        connector, extract, comments = "geojson", *_geojson(found.geojson)
    elif found.graphql is not None:
        connector, extract, comments = "json_api", *_graphql(found.graphql)
    elif found.endpoints:
        connector, extract, comments = "json_api", *_api(found.endpoints, notes)
    else:
        raise NothingToDraft(
            f"{url}: no list of schema.org items, no schema.org page in the sitemaps, no "
            f"JSON or GraphQL endpoint named by the {found.pages} page(s) fetched"
            + "".join(f"; {n}" for n in notes), url=url)
    entry = {"name": name.replace("_", " ").title(), "connector": connector,
             "base_url": url.rstrip("/"), "concurrency": 2, "extract": extract}
    lines = ["# Drafted by `agora sources scaffold` from " + url,
             f"# ({found.pages} page(s) fetched; schema.org types met: "
             f"{', '.join(f'{t} x{n}' for t, n in found.types.most_common()) or 'none'})",
             f"# type: {connector}"]
    lines += [f"#   - {c}" for c in comments]
    lines += [f"# not used: {n}" for n in notes]
    body = yaml.safe_dump({"sources": {name: entry}}, sort_keys=False, allow_unicode=True,
                          width=100)
    return "\n".join(lines) + "\n" + body


def _unmapped(kind: str, fields: dict[str, Any]) -> str:
    missing = [f for f in FIELDS[kind] if f not in fields and f not in ("kind", "source")]
    return f"{kind}: not mapped: {', '.join(missing)}" if missing else f"{kind}: every field mapped"


# ---------------------------------------------------------------------- html
def _html(cards: CardList, notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    comments = [f"{cards.start} lists {cards.kind}s as microdata items ({cards.css})"]
    sel = Selector(text="".join(cards.cards))
    fields: dict[str, Any] = {}
    if cards.id_attr:
        fields["source_id"] = f":scope::attr({cards.id_attr})"
        comments.append(f"source_id: the {cards.id_attr} attribute of each item (unique)")
    for contract, (prop, attr) in ITEMPROPS[cards.kind].items():
        found = sel.css(f"[itemprop={prop}]")
        if not found:
            continue
        if attr and attr in found[0].attrib:
            css = f"[itemprop={prop}]::attr({attr})"
            if contract == "email" and found[0].attrib[attr].startswith("mailto:"):
                fields[contract] = {"css": css, "transform": [{"replace": ["mailto:", ""]}]}
                continue
            if contract == "opening_hours":
                fields[contract] = {"css": css, "all": True, "transform": [{"join": "; "}]}
                continue
            fields[contract] = css
        else:
            fields[contract] = f"[itemprop={prop}]"
    if "source_id" not in fields and "url" in fields:
        fields["source_id"] = fields["url"]
        comments.append("source_id: the item's URL (no unique id attribute found)")
    required = ["name"] if cards.kind == "shop" and "name" in fields else []
    rule: dict[str, Any] = {"items": [{"kind": cards.kind, "select": cards.css,
                                       **({"required": required} if required else {}),
                                       "fields": fields}]}
    comments.append(_unmapped(cards.kind, fields))
    pages: dict[str, Any] = {"list": rule}
    if cards.next_css:
        rule["next"] = cards.next_css
        comments.append("the list goes on by its rel=next links")
    if cards.endpoint is not None and cards.endpoint_attr:
        rule["follow"] = [{"css": f"{cards.css}::attr({cards.endpoint_attr})",
                           "page": "endpoint"}]
        kind = "product" if cards.kind == "shop" else "shop"
        item, mapped = _json_item(cards.endpoint, kind)
        item = {"kind": kind, "select": cards.endpoint.list_path, "allow_empty": True,
                **item}
        if cards.endpoint.parent_key and kind == "product":
            item["fields"]["shop_source_id"] = {"path": f"{cards.endpoint.parent_key}.id",
                                                "scope": "page"}
        endpoint_rule: dict[str, Any] = {"format": "json", "items": [item]}
        if cards.endpoint.next_key:
            endpoint_rule["next"] = cards.endpoint.next_key
        pages["endpoint"] = endpoint_rule
        comments.append(f"each item's {cards.endpoint_attr} is a JSON endpoint listing "
                        f"{kind}s at {cards.endpoint.list_path}"
                        + (f", paged by its {cards.endpoint.next_key!r} link"
                           if cards.endpoint.next_key else ""))
        comments.append(_unmapped(kind, item["fields"]))
    return {"start": [cards.start], "pages": pages}, comments


# ---------------------------------------------------------------------- json
def _json_item(endpoint: JsonEndpoint, kind: str) -> tuple[dict[str, Any], list[str]]:
    """The item rule (``fields``) for the endpoint's records, by their key names."""
    sample = endpoint.records[:20]
    fields: dict[str, Any] = {}
    for contract in ["source_id", *FIELDS[kind]]:
        if contract in ("kind", "source", "shop_source_id") or contract in fields:
            continue
        if kind == "shop" and contract == "title" or kind == "product" and contract == "name":
            continue
        path = _json_path(sample, JSON_NAMES.get(contract, ()), contract)
        if path is not None:
            fields[contract] = path
    return {"fields": fields}, list(fields)


def _json_path(records: list[dict[str, Any]], names: tuple[str, ...], contract: str
               ) -> Any:
    """A JMESPath (or a selector mapping) reading ``contract`` from records, by key names."""
    lowered = [n.lower() for n in names]
    for record in records[:1]:
        for prefix, obj in _objects(record):
            for key in obj:
                if key.lower() not in lowered:
                    continue
                value = obj[key]
                path = f"{prefix}{key}"
                if contract == "price" and isinstance(value, dict):
                    for sub in ("centimes", "cents"):
                        if sub in value:
                            return {"path": f"{path}.{sub}", "transform": ["cents_to_decimal"]}
                    for sub in ("montant", "amount", "value", "affiche"):
                        if sub in value:
                            return f"{path}.{sub}"
                    continue
                if contract == "currency" and isinstance(value, dict):
                    continue
                if isinstance(value, dict | list) and contract not in ("categories",
                                                                       "services"):
                    continue
                return path
    if contract == "currency":  # a price object carrying its currency
        for record in records[:1]:
            for prefix, obj in _objects(record):
                for key in ("devise", "currency"):
                    if key in obj and prefix:
                        return f"{prefix}{key}"
    return None


def _objects(record: dict[str, Any], prefix: str = "", depth: int = 0
             ) -> list[tuple[str, dict[str, Any]]]:
    """(prefix, object) of the record and its nested objects (two levels)."""
    out = [(prefix, record)]
    if depth < 2:
        for key, value in record.items():
            if isinstance(value, dict) and re.fullmatch(r"[A-Za-z_]\w*", key):
                out += _objects(value, f"{prefix}{key}.", depth + 1)
    return out


def _api(endpoints: list[JsonEndpoint], notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    comments = []
    out = []
    for i, endpoint in enumerate(endpoints[:4]):
        record = endpoint.records[0]
        kind = "shop" if any(k.lower() in JSON_NAMES["postcode"] + JSON_NAMES["city"]
                             for _, obj in _objects(record) for k in obj) else "product"
        item, _ = _json_item(endpoint, kind)
        path, _, query = endpoint.url.partition("?")
        rule: dict[str, Any] = {"name": f"{kind}_{i}", "kind": kind, "path": path,
                                "items": endpoint.list_path, **item}
        if query:
            rule["params"] = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if endpoint.method == "POST":
            rule.update({"method": "POST", "body": endpoint.body})
            if endpoint.headers:
                rule["headers"] = endpoint.headers
                comments.append(f"{path}: the headers its script sends: "
                                f"{', '.join(endpoint.headers)}")
        if endpoint.next_key:
            rule["pagination"] = {"style": "next_link", "next": endpoint.next_key}
        elif endpoint.method == "POST" and endpoint.cursor_key:
            rule["pagination"] = {"style": "cursor", "next": endpoint.cursor_key,
                                  **({"size": endpoint.size} if endpoint.size else {})}
            comments.append(f"{path}: paged by search_after keys ({endpoint.cursor_key})")
        elif endpoint.cursor_key:  # the parameter's name is a guess: the key's last word
            param = endpoint.cursor_key.lower().replace("next_", "").replace("next", "")
            rule["pagination"] = {"style": "cursor", "param": param or "cursor",
                                  "next": endpoint.cursor_key}
            comments.append(f"{path}: paged by the cursor {endpoint.cursor_key!r}, sent back "
                            f"as ?{param or 'cursor'}= (a guess: check the API's docs)")
        out.append(rule)
        comments.append(f"{path}, named by {endpoint.source}: {kind}s at "
                        f"{endpoint.list_path}" + (f", paged by {endpoint.next_key!r}"
                                                    if endpoint.next_key else ""))
        comments.append(_unmapped(kind, item["fields"]))
    return {"endpoints": out}, comments


# ---------------------------------------------------------------------- geojson
def _geojson(endpoint: JsonEndpoint) -> tuple[dict[str, Any], list[str]]:
    item, _ = _json_item(endpoint, "shop")
    fields = {k: v for k, v in item["fields"].items() if k not in ("lat", "lon")}
    fields.pop("source_id", None)  # the feature's id (the default)
    comments = [f"{endpoint.url} answers GeoJSON for a box ({endpoint.list_path}=): the map "
                "of metropolitan France, cut in tiles while an answer is capped",
                "source_id: the feature's id; lat/lon: its Point", _unmapped("shop", {
                    **fields, "source_id": 1, "lat": 1, "lon": 1})]
    return {"endpoint": endpoint.url, "bbox": list(FRANCE), "bbox_param": endpoint.list_path,
            "fields": fields}, comments


# ---------------------------------------------------------------------- graphql
def _graphql(api: GraphqlApi) -> tuple[dict[str, Any], list[str]]:
    item, _ = _json_item(JsonEndpoint(api.path, "", api.shop_records), "shop")
    shops: dict[str, Any] = {
        "name": "shop", "kind": "shop", "path": api.path,
        "graphql": {"query": api.shops_query, "variables": {"first": "{size}",
                                                            "after": "{cursor}"}},
        "items": f"data.{api.shops_field}.edges[].node",
        "pagination": {"style": "graphql", "size": 20,
                       "page_info": f"data.{api.shops_field}.pageInfo"}, **item}
    if "name" in item["fields"]:
        shops["required"] = ["name"]
    comments = [f"{api.path} is GraphQL: the shops are the connection {api.shops_field!r}, "
                "found by introspection", _unmapped("shop", item["fields"])]
    endpoints = [shops]
    if api.products_query and api.products_field and api.products_connection:
        at = f"data.{api.products_field}.{api.products_connection}"
        product, _ = _json_item(JsonEndpoint(api.path, "", api.product_records), "product")
        product["fields"]["shop_source_id"] = {"path": f"data.{api.products_field}.id",
                                               "scope": "page"}
        endpoints.append({
            "kind": "product", "path": api.path, "for_each": {"endpoint": "shop", "value": "id"},
            "graphql": {"query": api.products_query,
                        "variables": {"shop": "{value}", "first": "{size}",
                                      "after": "{cursor}"}},
            "items": f"{at}.edges[].node",
            "pagination": {"style": "graphql", "size": 20, "page_info": f"{at}.pageInfo"},
            **product})
        comments += [f"each shop's products: {api.products_field}(id).{api.products_connection}",
                     _unmapped("product", product["fields"])]
    else:
        comments.append("no connection of products found on the shops")
    return {"endpoints": endpoints}, comments


# ---------------------------------------------------------------------- sitemaps
def _sitemap(rules: list[SitemapRule], notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    comments = []
    pages = []
    shop_rule = next((r for r in rules if r.kind == "shop"), None)
    for rule in rules:
        fields: dict[str, Any] = {"source_id": {"from_url": rule.id_regex}}
        for contract, path in SCHEMA_FIELDS[rule.kind].items():
            head = path.split(" || ")[0].split(".")[0].split("[")[0]
            if head in rule.sample:
                fields[contract] = path
        if "opening_hours" in fields and isinstance(rule.sample.get("openingHours"), list):
            fields["opening_hours"] = {"path": "openingHours", "transform": [{"join": "; "}]}
        seller = (rule.sample.get("offers") or {}) if rule.kind == "product" else {}
        seller = seller[0] if isinstance(seller, list) and seller else seller
        if shop_rule is not None and isinstance(seller, dict) and isinstance(
                seller.get("seller"), dict) and "@id" in seller["seller"]:
            fields["shop_source_id"] = {
                "path": 'offers.seller."@id" || offers[0].seller."@id"',
                "transform": [{"regex": shop_rule.id_regex}]}
        page: dict[str, Any] = {"match": f"^/{re.escape(rule.segment)}/", "kind": rule.kind,
                                "fields": fields}
        if rule.kind == "shop" and "name" in fields:
            page["required"] = ["name"]
        pages.append(page)
        comments.append(f"/{rule.segment}/ ({rule.count} sitemap URLs): a "
                        f"{rule.sample.get('@type')} object per page; the id read from the URL")
        comments.append(_unmapped(rule.kind, fields))
    return {"pages": pages}, comments
