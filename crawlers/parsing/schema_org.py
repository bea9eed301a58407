"""schema.org objects of a page: JSON-LD and microdata (through extruct) as one list of objects.

JSON-LD ``@graph`` members are flattened; microdata items become JSON-LD-like
objects (short ``@type``, properties inline), so one JMESPath or one mapping
function reads both. A JSON-LD block that does not parse is an ``InvalidJsonLd``.

Example:
    >>> page = ('<script type="application/ld+json">{"@type": "Product", "name": "A",'
    ...         ' "offers": {"@type": "Offer", "price": "1"}}</script>')
    >>> find_object(schema_objects(page, "http://x/p"), frozenset({"Offer"}))["price"]
    '1'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from extruct.jsonld import JsonLdExtractor
from extruct.utils import parse_html
from extruct.w3cmicrodata import MicrodataExtractor

from crawlers.errors import InvalidJsonLd
from crawlers.parsing.schema_types import SYNTAXES, short_type, types_of

_JSONLD = JsonLdExtractor()
_MICRODATA = MicrodataExtractor()


def jsonld_objects(page: str | bytes, *, document: Any = None) -> list[dict[str, Any]]:
    """Every JSON-LD object of a page (UTF-8), ``@graph`` members flattened.

    Raises InvalidJsonLd when any block does not parse.
    """
    if document is None:
        document = parse_html(page.encode("utf-8") if isinstance(page, str) else page,
                              encoding="UTF-8")
    try:
        items = _JSONLD.extract_items(document)
    except (ValueError, TypeError) as exc:
        raise InvalidJsonLd(f"JSON-LD does not parse: {exc}") from exc
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        graph = item.get("@graph")
        if isinstance(graph, list):
            out.extend(g for g in graph if isinstance(g, dict))
        elif isinstance(graph, dict):
            out.append(graph)
        if "@type" in item or graph is None:
            out.append(item)
    return out


def microdata_objects(items: list[Any]) -> list[dict[str, Any]]:
    """extruct microdata items as JSON-LD-like objects (``@type`` short, properties inline)."""
    def convert(item: Any) -> Any:
        if isinstance(item, list):
            return [convert(i) for i in item]
        if not isinstance(item, dict) or "properties" not in item:
            return item
        types = item.get("type")
        types = types if isinstance(types, list) else [types]
        short = [t for t in (short_type(t) for t in types) if t]
        out: dict[str, Any] = {"@type": short[0] if len(short) == 1 else short}
        if item.get("id"):
            out["@id"] = item["id"]
        for key, value in (item.get("properties") or {}).items():
            out[key] = convert(value)
        return out
    return [convert(i) for i in items if isinstance(i, dict)]


def schema_objects(text: str, url: str, syntaxes: tuple[str, ...] = SYNTAXES
                   ) -> list[dict[str, Any]]:
    """Every schema.org object of a page in the given syntaxes; InvalidJsonLd if one is broken."""
    document = parse_html(text.encode("utf-8"), encoding="UTF-8")
    objects: list[dict[str, Any]] = []
    if "json-ld" in syntaxes:
        objects.extend(jsonld_objects(text, document=document))
    if "microdata" in syntaxes:
        objects.extend(microdata_objects(_MICRODATA.extract_items(document, base_url=url)))
    return objects


def nested_objects(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each object, then the typed objects nested in it, depth first."""
    for obj in objects:
        yield obj
        for value in obj.values():
            for sub in value if isinstance(value, list) else [value]:
                if isinstance(sub, dict) and "@type" in sub:
                    yield from nested_objects([sub])


def find_object(objects: list[dict[str, Any]], types: frozenset[str]) -> dict[str, Any] | None:
    """The first object (nested ones too) of one of the types."""
    return next((o for o in nested_objects(objects) if types_of(o) & types), None)
