"""A GraphQL API read by introspection: the connections of shops and of their products.

``graphql_api(probe, url)`` asks the endpoint for its schema (the standard
introspection query) and looks for a root field returning a Relay connection
(``edges { node }`` and ``pageInfo``) whose nodes look like shops (a postcode or
a city among their fields), and, on that node type, a connection whose nodes look
like products, reached again by a root field taking the shop's ``id``. It writes
the queries (every scalar field, and the scalar fields of nested objects), runs
them once for sample records, and returns what ``draft`` maps (``GraphqlApi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawlers.errors import CrawlError
from crawlers.scaffold.probe import Probe

INTROSPECTION = """query { __schema { queryType { name } types { name kind fields {
  name args { name type { kind name ofType { kind name ofType { kind name } } } }
  type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"""
SHOP_HINTS = ("postcode", "codepostal", "code_postal", "cp", "zip", "city", "ville", "adresse",
              "address")
PRODUCT_HINTS = ("price", "prix", "gtin", "ean", "sku", "titre", "title")
PAGE_INFO = "pageInfo { endCursor hasNextPage }"


@dataclass
class GraphqlApi:
    path: str
    shops_field: str
    shops_query: str
    shop_records: list[dict[str, Any]]
    products_field: str | None = None  # root field taking the shop's id
    products_connection: str | None = None
    products_query: str | None = None
    product_records: list[dict[str, Any]] = field(default_factory=list)


def _named(ref: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(kind, name) of a type reference, wrappers removed."""
    while ref and ref.get("kind") in ("NON_NULL", "LIST"):
        ref = ref.get("ofType")
    return (ref or {}).get("kind"), (ref or {}).get("name")


def _is_list(ref: dict[str, Any] | None) -> bool:
    while ref and ref.get("kind") == "NON_NULL":
        ref = ref.get("ofType")
    return ref is not None and ref.get("kind") == "LIST"


class _Schema:
    def __init__(self, data: dict[str, Any]) -> None:
        schema = data["data"]["__schema"]
        self.query = schema["queryType"]["name"]
        self.types = {t["name"]: t for t in schema["types"] if t.get("name")}

    def fields(self, name: str | None) -> list[dict[str, Any]]:
        return (self.types.get(name or "") or {}).get("fields") or []

    def node_of(self, connection: str | None) -> str | None:
        """The node type of a Relay connection type (None: not one)."""
        names = {f["name"]: f for f in self.fields(connection)}
        if "edges" not in names or "pageInfo" not in names:
            return None
        edge = _named(names["edges"]["type"])[1]
        node = next((f for f in self.fields(edge) if f["name"] == "node"), None)
        return _named(node["type"])[1] if node else None

    def selection(self, name: str | None, depth: int = 0) -> str:
        """Every scalar field of a type, and those of its nested objects (one level)."""
        parts = []
        for f in self.fields(name):
            if any(_named(a["type"])[0] and a["type"].get("kind") == "NON_NULL"
                   for a in f.get("args") or []):
                continue
            kind, type_name = _named(f["type"])
            if kind in ("SCALAR", "ENUM"):
                parts.append(f["name"])
            elif kind == "OBJECT" and depth == 0 and not _is_list(f["type"]) and (
                    self.node_of(type_name) is None):
                inner = self.selection(type_name, 1)
                if inner:
                    parts.append(f"{f['name']} {{ {inner} }}")
        return " ".join(parts)

    def looks(self, name: str | None, hints: tuple[str, ...]) -> bool:
        names = {f["name"].lower() for f in self.fields(name)}
        for f in self.fields(name):
            names |= {g["name"].lower() for g in self.fields(_named(f["type"])[1])}
        return any(h in names for h in hints)


def _post(probe: Probe, url: str, query: str, variables: dict[str, Any]) -> Any:
    try:
        return probe.post_json(url, {"query": query, "variables": variables})
    except (CrawlError, ValueError):
        return None


def graphql_api(probe: Probe, url: str) -> GraphqlApi | None:
    """The shops (and products) connections of the GraphQL API at ``url`` (see the docs)."""
    answer = _post(probe, url, INTROSPECTION, {})
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
        return None
    schema = _Schema(answer)
    for root in schema.fields(schema.query):
        node = schema.node_of(_named(root["type"])[1])
        if node is None or not schema.looks(node, SHOP_HINTS):
            continue
        api = _shops(probe, url, schema, root["name"], node)
        if api is not None:
            _products(probe, url, schema, node, api)
            return api
    return None


def _shops(probe: Probe, url: str, schema: _Schema, root: str, node: str) -> GraphqlApi | None:
    query = (f"query($first: Int!, $after: String) {{ {root}(first: $first, after: $after) "
             f"{{ {PAGE_INFO} edges {{ node {{ {schema.selection(node)} }} }} }} }}")
    data = _post(probe, url, query, {"first": 10})
    try:
        records = [e["node"] for e in data["data"][root]["edges"]]
    except (KeyError, TypeError):
        return None
    return GraphqlApi(urlsplit(url).path, root, query, records) if records else None


def _products(probe: Probe, url: str, schema: _Schema, shop: str, api: GraphqlApi) -> None:
    single = next((f for f in schema.fields(schema.query) if _named(f["type"])[1] == shop
                   and [a["name"] for a in f.get("args") or []] == ["id"]), None)
    if single is None or not api.shop_records or "id" not in api.shop_records[0]:
        return
    for conn in schema.fields(shop):
        node = schema.node_of(_named(conn["type"])[1])
        if node is None or not schema.looks(node, PRODUCT_HINTS):
            continue
        query = (f"query($shop: ID!, $first: Int!, $after: String) {{ {single['name']}"
                 f"(id: $shop) {{ id {conn['name']}(first: $first, after: $after) "
                 f"{{ {PAGE_INFO} edges {{ node {{ {schema.selection(node)} }} }} }} }} }}")
        for record in api.shop_records:
            data = _post(probe, url, query, {"shop": record["id"], "first": 10})
            try:
                nodes = [e["node"] for e in data["data"][single["name"]][conn["name"]]["edges"]]
            except (KeyError, TypeError):
                return
            if nodes:
                api.products_field, api.products_connection = single["name"], conn["name"]
                api.products_query, api.product_records = query, nodes
                return


def is_graphql_url(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("graphql")


