"""The schema of ``extract:`` blocks: the keys each declarative type accepts, and their compiling.

Each block of the format is a mapping of ``Key``s below (``BLOCKS`` lists them
all, by the names ``docs/connectors.md`` documents them under); ``compile_*``
checks a source's block against them and compiles it into the spec its crawler
reads (``HtmlSpec``, ``ApiSpec``, ``SitemapSpec``, ``GeoSpec``). Every problem
is recorded with its line and key (``extract.pages.list.items[0].fields
.titel``) before one error lists them all. The crawlers live beside this
module, one per type: ``html``, ``json_api``, ``sitemap_jsonld``, ``geojson``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from crawlers.declarative.fields import (
    HTML_LANGUAGES,
    ITEM_KEYS,
    JSON_LANGUAGES,
    SELECTOR_KEYS,
    ItemRule,
    Pick,
    compile_item,
    compile_pick,
)
from crawlers.declarative.shaping import (
    GRAPHQL_KEYS,
    Shape,
    compile_shape,
    headers_key,
    variables_in,
)
from crawlers.errors import SourceConfigError
from crawlers.parsing.schema_types import SYNTAXES, family
from crawlers.parsing.sitemaps import DEFAULT_SITEMAP_INDEX
from crawlers.source import SourceConfig
from crawlers.tiling import DEFAULT_MIN_TILE, Box, parse_box
from crawlers.transforms import TRANSFORMS
from crawlers.validation import Key, Path, Problems, RecordedProblem, Where, at_least

PAGINATION_STYLES = ("page", "offset", "cursor", "next_link", "graphql", "none")
#: the body variable each style moves
STYLE_VARIABLES = {"page": "page", "offset": "offset", "cursor": "cursor", "graphql": "cursor"}
_SELECTOR = (str, dict)  # a selector: text, or a mapping of SELECTOR_KEYS

# ---------------------------------------------------------------------- html
HTML_KEYS: dict[str, Key] = {
    "start": Key((list, str), "start pages: paths, or {url, page} (default rule: the first)",
                 required=True),
    "pages": Key((dict,), "page rules by name", required=True),
    "complete": Key((str,), "text every whole HTML page contains (</html>); else retried"),
    "repage_rounds": Key((int,), "passes again over a next chain that lists fewer items "
                         "than announced (4)", check=at_least(0)),
}
START_KEYS: dict[str, Key] = {
    "url": Key((str,), "the start page", required=True),
    "page": Key((str,), "the page rule reading it (default: the first)"),
}
PAGE_RULE_KEYS: dict[str, Key] = {
    "format": Key((str,), "html (CSS/XPath) or json (JMESPath)"),
    "items": Key((list,), "item rules: the listings the page carries"),
    "follow": Key((list,), "links to other pages: a selector and the page rule reading them"),
    "next": Key(_SELECTOR, "the next page of a paged list (same rule)"),
    "total": Key(_SELECTOR, "the item count the list announces (needs next)"),
    "headers": headers_key("the rule's pages"),
}
HTML_ITEM_KEYS: dict[str, Key] = {
    "select": Key(_SELECTOR, "one item per node found (json: JMESPath to the list); "
                  "absent: the whole page is one item"),
    "allow_empty": Key((bool,), "a page where select finds nothing is fine (else a layout "
                       "error)"),
}
FOLLOW_KEYS: dict[str, Key] = {
    "page": Key((str,), "the page rule reading the links found", required=True),
}


@dataclass(frozen=True)
class Follow:
    pick: Pick
    page: str


@dataclass(frozen=True)
class PageRule:
    name: str
    format: str  # html | json
    items: tuple[ItemRule, ...] = ()
    follow: tuple[Follow, ...] = ()
    next: Pick | None = None
    total: Pick | None = None
    shape: Shape = Shape()


@dataclass(frozen=True)
class HtmlSpec:
    start: tuple[tuple[str, str], ...]
    pages: dict[str, PageRule]
    complete: str = "</html>"
    repage_rounds: int = 4


def _page_rule(w: Where, name: str, rule: Any, rules: list[str]) -> PageRule:
    path: Path = ("pages", name)
    rule = w.mapping(path, rule, PAGE_RULE_KEYS)
    fmt = rule.get("format", "html")
    if fmt not in ("html", "json"):
        raise w.error((*path, "format"), f"format must be html or json, got {fmt!r}")
    langs = HTML_LANGUAGES if fmt == "html" else JSON_LANGUAGES
    items = []
    for i, item in enumerate(rule.get("items", [])):
        with w.guard():
            ipath = (*path, "items", i)
            compiled, item_raw = compile_item(w, ipath, item, langs,
                                              {**ITEM_KEYS, **HTML_ITEM_KEYS})
            select = None
            if "select" in item_raw:
                select = compile_pick(w, (*ipath, "select"), item_raw["select"], langs)
                if select.lang in ("from_url", "const"):
                    raise w.error((*ipath, "select"), "select needs a css, xpath or path")
            items.append(ItemRule(compiled.kind, compiled.fields, compiled.required, select,
                                  bool(item_raw.get("allow_empty", False))))
    follow = []
    for i, link in enumerate(rule.get("follow", [])):
        with w.guard():
            fpath = (*path, "follow", i)
            if not isinstance(link, dict) or "page" not in link:
                raise w.error(fpath, "a follow rule is a selector with a 'page' key "
                              "(the page rule for those links)")
            target = w.mapping(fpath, {"page": link["page"]}, FOLLOW_KEYS)["page"]
            if target not in rules:
                w.add((*fpath, "page"), f"unknown page rule {target!r} (rules: "
                      f"{', '.join(rules)})")
            pick = compile_pick(w, fpath, link, langs, default_all=True, extra=FOLLOW_KEYS)
            follow.append(Follow(pick, target))
    nxt = total = None
    if "next" in rule:
        with w.guard():
            nxt = compile_pick(w, (*path, "next"), rule["next"], langs)
    if "total" in rule:
        with w.guard():
            if "next" not in rule:
                raise w.error((*path, "total"), "total needs a next rule (it checks a chain "
                              "of pages)")
            total = compile_pick(w, (*path, "total"), rule["total"], langs)
    shape = compile_shape(w, path, rule, json_rule=fmt == "json", bodies=False)
    return PageRule(name, fmt, tuple(items), tuple(follow), nxt, total, shape)


def compile_html(w: Where, raw: Any) -> HtmlSpec:
    """The ``html`` type's spec: start pages and page rules."""
    raw = w.mapping((), raw, HTML_KEYS)
    if not raw["pages"]:
        raise w.error(("pages",), "needs at least one page rule")
    names = list(raw["pages"])
    pages: dict[str, PageRule] = {}
    for name, rule in raw["pages"].items():
        with w.guard():
            pages[name] = _page_rule(w, name, rule, names)
    start = raw["start"] if isinstance(raw["start"], list) else [raw["start"]]
    if not start:
        w.add(("start",), "needs at least one start page")
    first = next(iter(raw["pages"]))
    starts = []
    for i, item in enumerate(start):
        with w.guard():
            if isinstance(item, str):
                starts.append((item, first))
                continue
            item = w.mapping(("start", i), item, START_KEYS)
            page = item.get("page", first)
            if page not in names:
                raise w.error(("start", i, "page"), f"unknown page rule {page!r} (rules: "
                              f"{', '.join(names)})")
            starts.append((item["url"], page))
    return HtmlSpec(tuple(starts), pages, raw.get("complete", "</html>"),
                    raw.get("repage_rounds", 4))


# ---------------------------------------------------------------------- json_api
API_KEYS: dict[str, Key] = {
    "endpoints": Key((list,), "the endpoints, walked in order", required=True),
}
ENDPOINT_KEYS: dict[str, Key] = {
    "name": Key((str,), "what for_each refers to it by (default: the kind)"),
    "path": Key((str,), "the endpoint's path; {value} for a for_each", required=True),
    "params": Key((dict,), "fixed query parameters; {value} for a for_each"),
    "items": Key(_SELECTOR, "JMESPath to the list of records", required=True),
    "pagination": Key((str, dict), "how to walk its pages (none)"),
    "for_each": Key((dict,), "walk it once per record of an earlier endpoint"),
    "headers": headers_key("the endpoint"),
    "method": Key((str,), "GET or POST (GET; POST with a graphql block)"),
    "body": Key((dict,), "the POST body; string values may carry {page}, {offset}, "
                "{cursor}, {size}, {value}"),
    "body_format": Key((str,), "json or form (json)"),
    "graphql": Key((dict,), "a GraphQL query and its variables, sent by POST"),
}
PAGINATION_KEYS: dict[str, Key] = {
    "style": Key((str,), "page | offset | cursor | next_link | graphql | none",
                 required=True),
    "param": Key((str,), "the query parameter moved (page / offset / cursor)"),
    "start": Key((int,), "the first page number or offset (page: 1, offset: 0)"),
    "size": Key((int,), "records asked per page (offset: the step)", check=at_least(1)),
    "size_param": Key((str,), "the query parameter carrying size"),
    "next": Key(_SELECTOR, "JMESPath to the next cursor or next link"),
    "total": Key(_SELECTOR, "JMESPath to the announced record count (page, offset)"),
    "overlap": Key((int,), "offset: records each window shares with the last (drift)",
                   check=at_least(0)),
    "rounds": Key((int,), "walks again while fewer than total were seen (3)",
                  check=at_least(0)),
    "max_pages": Key((int,), "pages walked at most (100000)", check=at_least(1)),
    "page_info": Key(_SELECTOR, "graphql: JMESPath to the connection's pageInfo "
                     "(endCursor, hasNextPage)"),
}
FOR_EACH_KEYS: dict[str, Key] = {
    "endpoint": Key((str,), "the earlier endpoint whose records are walked", required=True),
    "value": Key(_SELECTOR, "JMESPath to the value put in {value}", required=True),
}


@dataclass(frozen=True)
class Pagination:
    style: str = "none"
    param: str | None = None
    start: int = 0
    size: int | None = None
    size_param: str | None = None
    next: Pick | None = None
    total: Pick | None = None
    overlap: int = 0
    rounds: int = 3
    max_pages: int = 100_000
    page_info: Pick | None = None


@dataclass(frozen=True)
class Endpoint:
    name: str
    item: ItemRule
    path: str
    params: dict[str, Any]
    items: Pick
    pagination: Pagination
    for_each: tuple[str, Pick] | None = None
    shape: Shape = Shape()


@dataclass(frozen=True)
class ApiSpec:
    endpoints: tuple[Endpoint, ...]

    def parents(self) -> set[str]:
        return {e.for_each[0] for e in self.endpoints if e.for_each}


def compile_pagination(w: Where, path: Path, raw: Any) -> Pagination:
    if raw is None:
        return Pagination()
    if isinstance(raw, str):
        raw = {"style": raw}
    raw = w.mapping(path, raw, PAGINATION_KEYS)
    style = raw["style"]
    if style not in PAGINATION_STYLES:
        raise w.error((*path, "style"), f"unknown pagination style {style!r} (known: "
                      f"{', '.join(PAGINATION_STYLES)})")
    langs = ("path",)
    nxt = compile_pick(w, (*path, "next"), raw["next"], langs) if "next" in raw else None
    total = compile_pick(w, (*path, "total"), raw["total"], langs) if "total" in raw else None
    if style in ("cursor", "next_link") and nxt is None:
        w.add(path, f"pagination style {style} needs 'next' (JMESPath to the next "
              f"{'cursor' if style == 'cursor' else 'link'})")
    if style in ("page", "offset", "graphql", "none") and nxt is not None:
        w.add((*path, "next"), f"'next' is not used by pagination style {style}")
    if style == "offset" and "size" not in raw:
        w.add(path, "pagination style offset needs 'size' (records per page)")
    if raw.get("overlap", 0) and (style != "offset" or raw["overlap"] >= raw.get("size", 0)):
        w.add((*path, "overlap"), "overlap is for the offset style, below size")
    page_info = None
    if "page_info" in raw:
        page_info = compile_pick(w, (*path, "page_info"), raw["page_info"], langs)
        if style != "graphql":
            w.add((*path, "page_info"), "page_info is for the graphql style")
    elif style == "graphql":
        w.add(path, "pagination style graphql needs 'page_info' (JMESPath to the "
              "connection's pageInfo)")
    if style == "graphql" and "param" in raw:
        w.add((*path, "param"), "the graphql style moves {cursor} in the variables")
    default_param = {"page": "page", "offset": "offset", "cursor": "cursor"}.get(style)
    return Pagination(style, raw.get("param", default_param),
                      raw.get("start", 1 if style == "page" else 0), raw.get("size"),
                      raw.get("size_param"), nxt, total, raw.get("overlap", 0),
                      raw.get("rounds", 3), raw.get("max_pages", 100_000), page_info)


def _endpoint(w: Where, i: int, ep: Any, names: list[str]) -> Endpoint:
    path: Path = ("endpoints", i)
    item, ep = compile_item(w, path, ep, JSON_LANGUAGES, {**ITEM_KEYS, **ENDPOINT_KEYS})
    name = ep.get("name", item.kind)
    shape = compile_shape(w, path, ep, json_rule=True, bodies=True)
    for key, value in ep.get("params", {}).items():
        if not isinstance(value, str | int | float | bool):
            w.add((*path, "params", key), f"must be a plain value, got {value!r}")
    for_each = None
    if "for_each" in ep:
        fe = w.mapping((*path, "for_each"), ep["for_each"], FOR_EACH_KEYS)
        if fe["endpoint"] not in names:
            w.add((*path, "for_each", "endpoint"), f"no endpoint named {fe['endpoint']!r} "
                  "before this one")
        if "{value}" not in ep["path"] and not any(
                "{value}" in str(v) for v in ep.get("params", {}).values()) and (
                "value" not in variables_in(shape.body)):
            w.add((*path, "path"), "a for_each endpoint puts {value} in its path, params "
                  "or body")
        for_each = (fe["endpoint"], compile_pick(w, (*path, "for_each", "value"), fe["value"],
                                                 ("path",)))
    elif "{value}" in ep["path"] or "value" in variables_in(shape.body):
        w.add((*path, "path"), "{value} in the path or body needs a for_each")
    items = compile_pick(w, (*path, "items"), ep["items"], ("path",))
    pagination = compile_pagination(w, (*path, "pagination"), ep.get("pagination"))
    if shape.method == "POST":
        pagination = _posted(w, path, ep.get("pagination"), pagination, shape)
    elif pagination.style == "graphql":
        w.add((*path, "pagination"), "the graphql style needs a graphql block")
    return Endpoint(name, item, ep["path"], dict(ep.get("params", {})), items, pagination,
                    for_each, shape)


def _posted(w: Where, path: Path, raw: Any, pagination: Pagination, shape: Shape
            ) -> Pagination:
    """A POST endpoint's pagination: its variables in the body, in the query only when
    ``param`` says so; every variable the body carries is one the walk sets."""
    used = variables_in(shape.body)
    where = (*path, "graphql", "variables") if shape.graphql is not None else (*path, "body")
    explicit = isinstance(raw, dict) and "param" in raw
    moved = STYLE_VARIABLES.get(pagination.style)
    if moved and moved not in used and not explicit:
        w.add(where, f"pagination style {pagination.style} moves {{{moved}}}: put it in the "
              "body (or set pagination.param to send it in the query)")
    if pagination.style == "graphql" and shape.graphql is None:
        w.add((*path, "pagination"), "the graphql style needs a graphql block")
    for variable in sorted(used & {"page", "offset", "cursor"} - {moved}):
        w.add(where, f"{{{variable}}} is set by the pagination style "
              f"{'graphql or cursor' if variable == 'cursor' else variable} only")
    if "size" in used and pagination.size is None:
        w.add(where, "{size} needs pagination.size")
    return pagination if explicit else replace(pagination, param=None)


def compile_api(w: Where, raw: Any) -> ApiSpec:
    """The ``json_api`` type's spec: its endpoints."""
    raw = w.mapping((), raw, API_KEYS)
    if not raw["endpoints"]:
        raise w.error(("endpoints",), "needs at least one endpoint")
    endpoints: list[Endpoint] = []
    names: list[str] = []  # every endpoint named so far, compiled or not
    for i, ep in enumerate(raw["endpoints"]):
        name = str(ep.get("name", ep.get("kind"))) if isinstance(ep, dict) else ""
        with w.guard():
            if name in names:
                raise w.error(("endpoints", i), f"two endpoints are named {name!r}: give "
                              "them a 'name'")
            endpoints.append(_endpoint(w, i, ep, names))
        names.append(name)
    return ApiSpec(tuple(endpoints))


# ---------------------------------------------------------------------- sitemap_jsonld
SITEMAP_KEYS: dict[str, Key] = {
    "sitemap": Key((str,), f"the sitemap (index) to start from ({DEFAULT_SITEMAP_INDEX}); "
                   "with robots, when robots.txt names none"),
    "robots": Key((bool,), "read Sitemap: lines from /robots.txt (true)"),
    "syntaxes": Key((list,), "json-ld and/or microdata (both)"),
    "complete": Key((str,), "text every whole page contains (</html>); else retried"),
    "pages": Key((list,), "page rules, the first whose match fits a listed URL reads it",
                 required=True),
}
SITEMAP_PAGE_KEYS: dict[str, Key] = {
    "match": Key((str,), "a regex on the URL path", required=True),
    "types": Key((list, str), "schema.org types of the object read (LocalBusiness / Product "
                 "stand for their subtypes)"),
}


@dataclass(frozen=True)
class SitemapPage:
    pattern: re.Pattern[str]
    item: ItemRule
    types: frozenset[str]


@dataclass(frozen=True)
class SitemapSpec:
    pages: tuple[SitemapPage, ...]
    sitemap: str = DEFAULT_SITEMAP_INDEX
    robots: bool = True
    syntaxes: tuple[str, ...] = SYNTAXES
    complete: str = "</html>"


def _sitemap_page(w: Where, i: int, page: Any) -> SitemapPage:
    path: Path = ("pages", i)
    item, page = compile_item(w, path, page, JSON_LANGUAGES,
                              {**ITEM_KEYS, **SITEMAP_PAGE_KEYS})
    try:
        pattern = re.compile(page["match"])
    except re.error as exc:
        raise w.error((*path, "match"), f"regex {page['match']!r} does not compile: "
                      f"{exc}") from None
    types_raw = page.get("types", ["LocalBusiness" if item.kind == "shop" else "Product"])
    types: set[str] = set()
    for t in [types_raw] if isinstance(types_raw, str) else types_raw:
        if not isinstance(t, str) or not t:
            raise w.error((*path, "types"), f"a schema.org type name, got {t!r}")
        types |= family(t)
    return SitemapPage(pattern, item, frozenset(types))


def compile_sitemap(w: Where, raw: Any) -> SitemapSpec:
    """The ``sitemap_jsonld`` type's spec: where the sitemaps are, and page rules."""
    raw = w.mapping((), raw, SITEMAP_KEYS)
    syntaxes = raw.get("syntaxes", list(SYNTAXES))
    for i, syntax in enumerate(syntaxes):
        if syntax not in SYNTAXES:
            w.add(("syntaxes", i), f"unknown syntax {syntax!r} (known: {', '.join(SYNTAXES)})")
    if not raw["pages"]:
        raise w.error(("pages",), "needs at least one page rule")
    pages = []
    for i, page in enumerate(raw["pages"]):
        with w.guard():
            pages.append(_sitemap_page(w, i, page))
    return SitemapSpec(tuple(pages), raw.get("sitemap", DEFAULT_SITEMAP_INDEX),
                       raw.get("robots", True), tuple(syntaxes),
                       raw.get("complete", "</html>"))


# ---------------------------------------------------------------------- geojson
GEOJSON_KEYS: dict[str, Key] = {
    "endpoint": Key((str,), "the GeoJSON endpoint answering a bbox", required=True),
    "bbox": Key((list, str), "the box covered: [minLon, minLat, maxLon, maxLat]",
                required=True, check=parse_box),
    "bbox_param": Key((str,), "the query parameter carrying the box (bbox)"),
    "params": Key((dict,), "fixed query parameters"),
    "cap": Key((int,), "an answer of this many features is capped, when the server does "
               "not say (numberMatched)", check=at_least(1)),
    "min_tile": Key((int, float), f"degrees below which a capped tile is not split again "
                    f"({DEFAULT_MIN_TILE})", check=at_least(1e-9)),
    "kind": Key((str,), "shop (the only kind on a map)"),
    "fields": Key((dict,), "contract field -> JMESPath on the feature (source_id: id || "
                  "properties.id; lat/lon: the Point)", required=True),
    "required": Key((list,), "fields without which a feature is an invalid record"),
    "headers": headers_key("the endpoint"),
}


@dataclass(frozen=True)
class GeoSpec:
    item: ItemRule
    endpoint: str
    bbox: Box
    bbox_param: str = "bbox"
    cap: int | None = None
    min_tile: float = DEFAULT_MIN_TILE
    params: dict[str, Any] = field(default_factory=dict)
    shape: Shape = Shape()


def compile_geojson(w: Where, raw: Any) -> GeoSpec:
    """The ``geojson`` type's spec: the box, the endpoint, the feature mapping."""
    raw = w.mapping((), raw, GEOJSON_KEYS)
    fields = dict(raw["fields"])
    fields.setdefault("source_id", "id || properties.id")
    item, _ = compile_item(w, (), {"kind": raw.get("kind", "shop"), "fields": fields,
                                   "required": raw.get("required", [])},
                           JSON_LANGUAGES, ITEM_KEYS, kinds=("shop",))
    return GeoSpec(item, raw["endpoint"], parse_box(raw["bbox"]), raw.get("bbox_param", "bbox"),
                   raw.get("cap"), float(raw.get("min_tile", DEFAULT_MIN_TILE)),
                   dict(raw.get("params", {})),
                   compile_shape(w, (), raw, json_rule=True, bodies=False))


# ---------------------------------------------------------------------- the whole schema
COMPILERS: dict[str, Callable[[Where, Any], Any]] = {
    "html": compile_html, "json_api": compile_api, "sitemap_jsonld": compile_sitemap,
    "geojson": compile_geojson,
}

# every block of the format, by the name docs/connectors.md documents it under
BLOCKS: dict[str, Mapping[str, Key]] = {
    "selector": SELECTOR_KEYS,
    "item": ITEM_KEYS,
    "html": HTML_KEYS,
    "html.start": START_KEYS,
    "html.pages": PAGE_RULE_KEYS,
    "html.items": HTML_ITEM_KEYS,
    "html.follow": FOLLOW_KEYS,
    "json_api": API_KEYS,
    "json_api.endpoints": ENDPOINT_KEYS,
    "json_api.pagination": PAGINATION_KEYS,
    "json_api.for_each": FOR_EACH_KEYS,
    "json_api.graphql": GRAPHQL_KEYS,
    "sitemap_jsonld": SITEMAP_KEYS,
    "sitemap_jsonld.pages": SITEMAP_PAGE_KEYS,
    "geojson": GEOJSON_KEYS,
    "transforms": {name: Key((str, dict), "see crawlers.transforms") for name in TRANSFORMS},
}


def check_extract(type_name: str, extract: Any, *, source: str, filename: str | None = None,
                  lines: dict[Path, int] | None = None, line: int = 0) -> Any:
    """Validate and compile an ``extract:`` block on its own; one error lists every problem."""
    problems = Problems(filename)
    where = Where(problems, source, lines, line)
    spec = None
    try:
        spec = COMPILERS[type_name](where, extract)
    except RecordedProblem:
        pass
    problems.raise_if_any()
    return spec


@lru_cache(maxsize=32)
def _compiled(connector: str, source: str, extract_json: str) -> Any:
    return check_extract(connector, json.loads(extract_json), source=source)


def compile_spec(config: SourceConfig) -> Any:
    """The compiled spec of a declarative source (cached per configuration)."""
    if config.connector not in COMPILERS:
        raise SourceConfigError(f"connector {config.connector!r} is not a declarative type",
                                source=config.key)
    if config.extract is None:
        raise SourceConfigError(f"connector {config.connector!r} needs an 'extract' block",
                                source=config.key)
    return _compiled(config.connector, config.key,
                     json.dumps(config.extract, default=str))  # key order matters
