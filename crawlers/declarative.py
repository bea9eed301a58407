"""Declarative connectors: a new platform from its ``sources.yaml`` entry alone, no code.

A source whose ``connector`` is one of the four declarative types below is
crawled by a connector built at runtime from its ``extract:`` block. The
block is validated when the sources file is loaded (``crawlers.config``): an
unknown key, a wrong type, a field that is not in the listing contract, an
unknown transform, a CSS/XPath/JMESPath/regex that does not compile, an
unknown pagination style, a page rule that does not exist: each is a
``SourceConfigError`` naming the file, the line, the source and the key
(``extract.pages.list.items[0].fields.titel``). Declarative crawls run on the
same machinery as the hand-written ones (``CatalogSpider`` and its
``request``/``retry_malformed``, ``ApiConnector`` and its ``Fetcher``), so they
have the same politeness, retries, resumability, error recording and
completeness rules.

Types (``connector:``)
======================

``html``
    A Scrapy spider. ``start`` pages, then *page rules*: each says how to read
    one kind of page (HTML with CSS/XPath, or a JSON document the page's
    script loads, with JMESPath), which items it carries, which links lead to
    which other page rule, and its "next page" link::

        extract:
          start: ["/boutiques?page=1"]     # or [{url: PATH, page: RULE}]; default rule: the first
          complete: "</html>"             # text a whole page contains (else retried as cut short)
          repage_rounds: 4                # see ``total`` below
          pages:
            list:                         # a page rule, by name
              format: html                # html (CSS/XPath) | json (JMESPath)
              items:
                - kind: shop
                  select: "article.card"  # one item per node (json: JMESPath to the list)
                  fields: {source_id: ":scope::attr(data-id)", name: "h2", ...}
                  required: [name]        # an item without them is an invalid record
                  allow_empty: false      # a page where ``select`` finds nothing is a layout error
              follow:
                - {css: "article.card::attr(data-catalogue)", page: catalogue}
              next: "a[rel=next]::attr(href)"   # pagination: the next page, same rule
              total: ".count strong"      # the announced item count (see below)
            catalogue:
              format: json
              items: [{kind: product, select: produits, fields: {...}}]
              next: suivant

    An item rule without ``select`` reads the whole page as one item (a detail
    page); an HTML item's ``url`` defaults to the page's URL. A page whose
    ``select`` finds nothing is a ``layout`` error (the page counts as lost, so
    the run is partial and nothing is marked gone), unless ``allow_empty``;
    for a JSON page, a path that finds no list at all is always one. Links
    (``follow``, ``next``) are followed on the platform's own host only, once
    each. ``total``: when the pages of a ``next`` chain yield fewer distinct
    items than announced (listings moved between pages while we paged:
    pagination drift), the chain's pages are fetched again, up to
    ``repage_rounds`` times; still short, it is recorded as
    ``incomplete_listing`` and the run ends partial. Pages that arrive cut
    short (no ``complete`` text, or JSON that does not parse) are retried,
    then recorded as ``malformed``.

``json_api``
    An ``ApiConnector``. One or more ``endpoints``, walked in order::

        extract:
          endpoints:
            - name: shops                 # default: the kind
              kind: shop
              path: /api/v1/shops
              params: {limit: 50}         # fixed query parameters
              items: items                # JMESPath to the list of records
              pagination:
                style: offset             # page | offset | cursor | next_link | none
                param: offset             # query parameter (default: page / offset / cursor)
                start: 0                  # first page number or offset (page: 1, offset: 0)
                size: 50                  # records asked per page (offset: the limit sent)
                size_param: limit         # query parameter carrying ``size``, if any
                next: next_cursor         # JMESPath: the next cursor / next link
                total: total              # JMESPath: the announced count (page/offset)
                overlap: 5                # offset: windows overlap by this many (drift)
                rounds: 3                 # re-walks when fewer than ``total`` were seen
              fields: {source_id: id, name: nom, ...}
              required: [shop_source_id]
            - kind: product
              path: "/api/shops/{value}/products"   # once per record of another endpoint
              for_each: {endpoint: shops, value: id}

    Authentication comes from the entry's ``auth:`` (``bearer``/``header``/``query``,
    the token read from the environment with ``${VAR}``). ``pagination: none``
    (the default) fetches one answer. ``page`` stops on an empty page, when
    ``total`` is covered, or (no total) on a page shorter than the others;
    ``offset`` moves by the records received minus ``overlap``; ``cursor`` and
    ``next_link`` stop when ``next`` is empty (a next link to another host is
    refused: credentials never leave the platform). A record seen twice
    (overlapping windows) is passed on once; records without an id are
    ``invalid_record`` errors (each reported once); a lost page is recorded
    and the walk goes on where it can; a 401/403 stops the run (failed).

``sitemap_jsonld``
    A Scrapy spider: robots.txt ``Sitemap:`` lines (or ``sitemap``), sitemap
    indexes and child sitemaps (gzip too), then the pages they list. Each
    page's schema.org objects (JSON-LD and/or microdata, via extruct) are
    mapped with JMESPath::

        extract:
          robots: true                    # read Sitemap: lines from /robots.txt
          sitemap: /sitemap_index.xml     # else (or as a fallback) this one
          syntaxes: [json-ld, microdata]
          complete: "</html>"
          pages:
            - match: "^/commerce/"        # regex on the URL path
              kind: shop
              types: [LocalBusiness]      # schema.org @type; LocalBusiness and Product
                                          # include their usual subtypes
              fields: {source_id: {from_url: "/commerce/(\\d+)"}, name: name, ...}

    ``scope: page`` evaluates a path on the list of every object of the page.

``geojson``
    An ``ApiConnector`` covering a bounding box with tiles, each split in four
    while the answer is capped (``numberMatched`` > ``numberReturned``), like
    the Géo'local31 connector it reuses::

        extract:
          endpoint: /api/commerces
          bbox: [0.44, 42.69, 2.05, 43.92]   # default: Haute-Garonne
          bbox_param: bbox
          cap: 100                        # assume capped at this many when unannounced
          min_tile: 0.0001
          kind: shop
          fields: {source_id: id, name: "properties.enseigne || properties.nom", ...}

    ``lat``/``lon`` default to the Point geometry.

Fields
======

``fields`` maps contract fields (``source_id``, ``url`` and the fields of the
item's kind: see ``crawlers.listing.FIELDS``) to a selector; ``source_id`` is
required. An item whose ``source_id`` comes out empty, or one of its
``required`` fields, is an ``invalid_record`` error (its id, when known, is
kept live); a value that breaks the contract is an ``invalid_listing`` error
recorded by the sink. A plain string
is a selector in the page's language (CSS for HTML, JMESPath otherwise); a
mapping holds exactly one of ``css``, ``xpath``, ``path`` (JMESPath),
``from_url`` (a regex on the page URL: its first group) or ``const``, and
optionally ``all`` (every match as a list; default for ``categories`` and
``services``), ``scope: page`` (evaluate on the whole page, not the item) and
``transform`` (a list: see ``crawlers.transforms``). An HTML element selected
without ``::text``/``::attr()`` gives its whole visible text, whitespace
collapsed; ``:scope::attr(x)`` is an item node's own attribute. ``url`` is
resolved against the page (or API) URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import jmespath
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawlers.config import SourceConfig
from crawlers.connectors.base import ApiConnector
from crawlers.connectors.geolocal31 import HAUTE_GARONNE_BBOX, Geolocal31Connector
from crawlers.errors import (
    CrawlError,
    ErrorKind,
    FetchError,
    InvalidJsonLd,
    InvalidRecord,
    MalformedSitemap,
    PageError,
    SourceConfigError,
    SourceLayoutChanged,
)
from crawlers.hosts import same_host
from crawlers.http import Fetcher
from crawlers.listing import FIELDS, LIST_FIELDS, PageResult
from crawlers.parsing.schema_org import find_object, schema_objects
from crawlers.parsing.schema_types import family
from crawlers.parsing.sitemaps import parse_sitemap, sitemaps_from_robots
from crawlers.tiling import Box, feature_point, format_box, owns, parse_box
from crawlers.transforms import Transform, TransformError, apply_transforms, compile_transforms

log = logging.getLogger(__name__)

DECLARATIVE_TYPES: tuple[str, ...] = ("html", "json_api", "sitemap_jsonld", "geojson")
HTML_TYPES: tuple[str, ...] = ("html", "sitemap_jsonld")
PAGINATION_STYLES = ("page", "offset", "cursor", "next_link", "none")
SELECTOR_KEYS = ("css", "xpath", "path", "from_url", "const")
CHECKPOINT_VERSION = 1

_TRANSLATOR = HTMLTranslator()
_SPACES = re.compile(r"\s+")


# ====================================================================== the hooks
def is_html_type(config: SourceConfig) -> bool:
    """Whether the source's declarative type is crawled by a Scrapy spider."""
    return config.connector in HTML_TYPES


def api_connector_class(config: SourceConfig) -> type[ApiConnector]:
    """The ApiConnector class crawling a ``json_api`` or ``geojson`` source."""
    if config.connector == "json_api":
        return DeclarativeApiConnector
    if config.connector == "geojson":
        return DeclarativeGeoJsonConnector
    raise SourceConfigError(f"{config.connector!r} is not a declarative API type",
                            source=config.key)


def spider_class(config: SourceConfig) -> type[Any]:
    """The Scrapy spider class crawling an ``html`` or ``sitemap_jsonld`` source."""
    classes = _spider_classes()
    if config.connector not in classes:
        raise SourceConfigError(f"{config.connector!r} is not a declarative HTML type",
                                source=config.key)
    return classes[config.connector]


# ====================================================================== validation
Path = tuple[str | int, ...]


class _Where:
    """Turns a path inside ``extract:`` into an error naming file, line, source and key."""

    def __init__(self, source: str, filename: str | None = None,
                 lines: dict[Path, int] | None = None, line: int = 0) -> None:
        self.source, self.filename = source, filename
        self.lines, self.line = lines or {}, line

    def line_of(self, path: Path) -> int:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return self.line

    def error(self, path: Path, message: str) -> SourceConfigError:
        key = "extract" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        line = self.line_of(path)
        head = f"{self.filename}:{line}: " if self.filename else (f"line {line}: " if line
                                                                   else "")
        return SourceConfigError(f"{head}source {self.source!r}: {key}: {message}",
                                 source=self.source)


def node_lines(node: Any, path: Path = ()) -> dict[Path, int]:
    """Line (1-based) of every key and item under a composed YAML node."""
    import yaml  # noqa: PLC0415 - only the loader needs it

    lines: dict[Path, int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = (*path, key_node.value)
            lines.update(node_lines(value_node, sub))
            lines[sub] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(node_lines(item, (*path, i)))
    return lines


_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true/false",
               dict: "a mapping", list: "a list"}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _mapping(w: _Where, path: Path, value: Any, keys: dict[str, tuple[type, ...]],
             required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise w.error(path, f"must be a mapping, got {value!r}")
    for key, item in value.items():
        if key not in keys:
            raise w.error((*path, key), f"unknown key {key!r} (known: "
                          f"{', '.join(sorted(keys))})")
        if not _is(item, keys[key]):
            names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in keys[key])
            raise w.error((*path, key), f"must be {names}, got {item!r}")
    for key in required:
        if key not in value:
            raise w.error(path, f"missing required key {key!r}")
    return value


@dataclass(frozen=True)
class Pick:
    """One compiled selector: where a value is, and the transforms it goes through."""

    lang: str  # css | xpath | path | from_url | const
    expr: Any
    compiled: Any = None
    all: bool = False
    scope: str = "item"  # item | page
    transforms: tuple[Transform, ...] = ()

    def raw(self, node: Any, page: Any, url: str) -> Any:
        """The value before transforms."""
        target = page if self.scope == "page" else node
        if self.lang == "const":
            return self.expr
        if self.lang == "from_url":
            match = self.compiled.search(url)
            if not match:
                return None
            return match.group(1) if self.compiled.groups else match.group(0)
        if self.lang == "path":
            if target is None:
                return None
            return self.compiled.search(target)
        values = [_node_value(s) for s in target.xpath(self.compiled)]
        values = [v for v in values if v]
        if self.all:
            return values
        return values[0] if values else None

    def value(self, node: Any, page: Any, url: str) -> Any:
        return apply_transforms(list(self.transforms), self.raw(node, page, url), url)


def _node_value(sel: Selector) -> str:
    """Text or attribute value as is; an element's whole visible text, collapsed."""
    root = sel.root
    if isinstance(root, str):
        return _SPACES.sub(" ", root).strip()
    if isinstance(root, etree._Element):  # noqa: SLF001 - lxml's public element type
        return _SPACES.sub(" ", " ".join(sel.xpath(".//text()").getall())).strip()
    return _SPACES.sub(" ", str(sel.get() or "")).strip()


def _compile_pick(w: _Where, path: Path, raw: Any, langs: tuple[str, ...], *,
                  default_all: bool = False) -> Pick:
    """A selector from its shorthand (text) or mapping form; compiled to catch errors now."""
    if isinstance(raw, str):
        raw = {langs[0]: raw}
    if not isinstance(raw, dict):
        raise w.error(path, f"must be a selector (text, or a mapping with one of "
                      f"{', '.join(langs)}), got {raw!r}")
    _mapping(w, path, raw, {"css": (str,), "xpath": (str,), "path": (str,),
                            "from_url": (str,), "const": (str, int, float, bool, list),
                            "all": (bool,), "scope": (str,), "transform": (list, str, dict)})
    chosen = [k for k in SELECTOR_KEYS if k in raw]
    if len(chosen) != 1:
        raise w.error(path, f"needs exactly one of {', '.join(langs)}, got "
                      f"{', '.join(chosen) or 'none'}")
    lang = chosen[0]
    if lang not in langs:
        raise w.error((*path, lang), f"{lang} selectors are not used here (use one of "
                      f"{', '.join(langs)})")
    expr = raw[lang]
    compiled: Any = None
    where = (*path, lang)
    if lang == "css":
        try:
            compiled = _TRANSLATOR.css_to_xpath(expr)
        except Exception as exc:  # cssselect raises SelectorError or ExpressionError
            raise w.error(where, f"CSS selector {expr!r} does not compile: {exc}") from None
    elif lang == "xpath":
        try:
            etree.XPath(expr)
        except etree.XPathError as exc:
            raise w.error(where, f"XPath {expr!r} does not compile: {exc}") from None
        compiled = expr
    elif lang == "path":
        try:
            compiled = jmespath.compile(expr)
        except jmespath.exceptions.JMESPathError as exc:
            message = str(exc).replace("\n", " ")
            raise w.error(where, f"JMESPath {expr!r} does not compile: {message}") from None
    elif lang == "from_url":
        try:
            compiled = re.compile(expr)
        except re.error as exc:
            raise w.error(where, f"regex {expr!r} does not compile: {exc}") from None
    scope = raw.get("scope", "item")
    if scope not in ("item", "page"):
        raise w.error((*path, "scope"), f"scope must be item or page, got {scope!r}")
    try:
        transforms = compile_transforms(raw.get("transform"))
    except TransformError as exc:
        tpath = (*path, "transform") + ((exc.index,) if exc.index is not None
                                        and isinstance(raw.get("transform"), list) else ())
        raise w.error(tpath, str(exc)) from None
    return Pick(lang, expr, compiled, bool(raw.get("all", default_all)), scope,
                tuple(transforms))


@dataclass(frozen=True)
class ItemRule:
    """How to turn a record (an HTML node, a JSON object) into a listing of one kind."""

    kind: str
    fields: dict[str, Pick]
    required: tuple[str, ...] = ()
    select: Pick | None = None
    allow_empty: bool = False

    def listing(self, node: Any, page: Any, url: str) -> dict[str, Any]:
        """The listing (contract keys; empty values dropped), ``url`` made absolute."""
        out: dict[str, Any] = {"kind": self.kind}
        for name, pick in self.fields.items():
            value = pick.value(node, page, url)
            if name in ("source_id", "url") and isinstance(value, list):
                value = next((v for v in value if v not in (None, "")), None)
            if name == "source_id" and value is not None and not isinstance(value, str):
                value = str(int(value)) if isinstance(value, float) and value.is_integer() \
                    else str(value)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, "", []):
                continue
            out[name] = value
        link = out.get("url")
        if isinstance(link, str):
            out["url"] = urljoin(url, link)
        return out

    def problem(self, listing: dict[str, Any]) -> str | None:
        """Why the listing is unusable (a required field came out empty), or None."""
        missing = [name for name in self.required if name not in listing]
        if missing:
            return f"{self.kind} without {', '.join(missing)}"
        return None


def _compile_fields(w: _Where, path: Path, raw: Any, kind: str, langs: tuple[str, ...],
                    *, need: tuple[str, ...] = ("source_id",)) -> dict[str, Pick]:
    if not isinstance(raw, dict) or not raw:
        raise w.error(path, "must be a mapping of contract fields to selectors")
    allowed = [f for f in FIELDS[kind] if f not in ("kind", "source")]
    out: dict[str, Pick] = {}
    for name, spec in raw.items():
        if name not in allowed:
            raise w.error((*path, name), f"unknown field {name!r} for a {kind} (contract "
                          f"fields: {', '.join(allowed)})")
        out[name] = _compile_pick(w, (*path, name), spec, langs,
                                  default_all=name in LIST_FIELDS)
    for name in need:
        if name not in out:
            raise w.error(path, f"missing field mapping for {name!r}")
    return out


def _compile_item(w: _Where, path: Path, raw: Any, langs: tuple[str, ...], *,
                  extra: dict[str, tuple[type, ...]] | None = None,
                  kinds: tuple[str, ...] = ("shop", "product")) -> tuple[ItemRule, dict]:
    keys = {"kind": (str,), "fields": (dict,), "required": (list,), **(extra or {})}
    raw = _mapping(w, path, raw, keys, required=("kind", "fields"))
    kind = raw["kind"]
    if kind not in kinds:
        raise w.error((*path, "kind"), f"kind must be {' or '.join(kinds)}, got {kind!r}")
    fields = _compile_fields(w, (*path, "fields"), raw["fields"], kind, langs)
    required = raw.get("required", [])
    for i, name in enumerate(required):
        if name not in FIELDS[kind] or name in ("kind", "source"):
            raise w.error((*path, "required", i), f"{name!r} is not a {kind} field")
        if name not in fields and name != "url":
            raise w.error((*path, "required", i), f"{name!r} is required but not mapped")
    return ItemRule(kind, fields, tuple(required)), raw


# ---------------------------------------------------------------------- html spec
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


@dataclass(frozen=True)
class HtmlSpec:
    start: tuple[tuple[str, str], ...]
    pages: dict[str, PageRule]
    complete: str = "</html>"
    repage_rounds: int = 4


def _langs(fmt: str) -> tuple[str, ...]:
    return ("css", "xpath", "from_url", "const") if fmt == "html" else (
        "path", "from_url", "const")


def compile_html(w: _Where, raw: Any) -> HtmlSpec:
    raw = _mapping(w, (), raw, {"start": (list, str), "pages": (dict,), "complete": (str,),
                                "repage_rounds": (int,)}, required=("start", "pages"))
    if not raw["pages"]:
        raise w.error(("pages",), "needs at least one page rule")
    pages: dict[str, PageRule] = {}
    follows: list[tuple[Path, str]] = []
    for name, rule in raw["pages"].items():
        path: Path = ("pages", name)
        rule = _mapping(w, path, rule, {"format": (str,), "items": (list,), "follow": (list,),
                                        "next": (str, dict), "total": (str, dict)})
        fmt = rule.get("format", "html")
        if fmt not in ("html", "json"):
            raise w.error((*path, "format"), f"format must be html or json, got {fmt!r}")
        langs = _langs(fmt)
        items = []
        for i, item in enumerate(rule.get("items", [])):
            ipath = (*path, "items", i)
            compiled, item_raw = _compile_item(w, ipath, item, langs, extra={
                "select": (str, dict), "allow_empty": (bool,)})
            select = None
            if "select" in item_raw:
                select = _compile_pick(w, (*ipath, "select"), item_raw["select"], langs)
                if select.lang in ("from_url", "const"):
                    raise w.error((*ipath, "select"), "select needs a css, xpath or path")
            items.append(ItemRule(compiled.kind, compiled.fields, compiled.required, select,
                                  bool(item_raw.get("allow_empty", False))))
        follow = []
        for i, link in enumerate(rule.get("follow", [])):
            fpath = (*path, "follow", i)
            if not isinstance(link, dict) or "page" not in link:
                raise w.error(fpath, "a follow rule is a selector with a 'page' key "
                              "(the page rule for those links)")
            target = link["page"]
            if not isinstance(target, str):
                raise w.error((*fpath, "page"), f"must be text, got {target!r}")
            pick = _compile_pick(w, fpath, {k: v for k, v in link.items() if k != "page"},
                                 langs, default_all=True)
            follow.append(Follow(pick, target))
            follows.append(((*fpath, "page"), target))
        nxt = _compile_pick(w, (*path, "next"), rule["next"], langs) if "next" in rule else None
        total = (_compile_pick(w, (*path, "total"), rule["total"], langs)
                 if "total" in rule else None)
        if total is not None and nxt is None:
            raise w.error((*path, "total"), "total needs a next rule (it checks a chain of "
                          "pages)")
        pages[name] = PageRule(name, fmt, tuple(items), tuple(follow), nxt, total)
    for fpath, target in follows:
        if target not in pages:
            raise w.error(fpath, f"unknown page rule {target!r} (rules: {', '.join(pages)})")
    start = raw["start"] if isinstance(raw["start"], list) else [raw["start"]]
    if not start:
        raise w.error(("start",), "needs at least one start page")
    first = next(iter(pages))
    starts = []
    for i, item in enumerate(start):
        if isinstance(item, str):
            starts.append((item, first))
            continue
        item = _mapping(w, ("start", i), item, {"url": (str,), "page": (str,)},
                        required=("url",))
        page = item.get("page", first)
        if page not in pages:
            raise w.error(("start", i, "page"), f"unknown page rule {page!r} (rules: "
                          f"{', '.join(pages)})")
        starts.append((item["url"], page))
    rounds = raw.get("repage_rounds", 4)
    if rounds < 0:
        raise w.error(("repage_rounds",), "cannot be negative")
    return HtmlSpec(tuple(starts), pages, raw.get("complete", "</html>"), rounds)


# ---------------------------------------------------------------------- json_api spec
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


@dataclass(frozen=True)
class Endpoint:
    name: str
    item: ItemRule
    path: str
    params: dict[str, Any]
    items: Pick
    pagination: Pagination
    for_each: tuple[str, Pick] | None = None


@dataclass(frozen=True)
class ApiSpec:
    endpoints: tuple[Endpoint, ...]

    def parents(self) -> set[str]:
        return {e.for_each[0] for e in self.endpoints if e.for_each}


_PAGINATION_KEYS: dict[str, tuple[type, ...]] = {
    "style": (str,), "param": (str,), "start": (int,), "size": (int,), "size_param": (str,),
    "next": (str, dict), "total": (str, dict), "overlap": (int,), "rounds": (int,),
    "max_pages": (int,)}


def _compile_pagination(w: _Where, path: Path, raw: Any) -> Pagination:
    if raw is None:
        return Pagination()
    if isinstance(raw, str):
        raw = {"style": raw}
    raw = _mapping(w, path, raw, _PAGINATION_KEYS, required=("style",))
    style = raw["style"]
    if style not in PAGINATION_STYLES:
        raise w.error((*path, "style"), f"unknown pagination style {style!r} (known: "
                      f"{', '.join(PAGINATION_STYLES)})")
    langs = ("path",)
    nxt = _compile_pick(w, (*path, "next"), raw["next"], langs) if "next" in raw else None
    total = _compile_pick(w, (*path, "total"), raw["total"], langs) if "total" in raw else None
    if style in ("cursor", "next_link") and nxt is None:
        raise w.error(path, f"pagination style {style} needs 'next' (JMESPath to the next "
                      f"{'cursor' if style == 'cursor' else 'link'})")
    if style in ("page", "offset", "none") and nxt is not None:
        raise w.error((*path, "next"), f"'next' is not used by pagination style {style}")
    if style == "offset" and "size" not in raw:
        raise w.error(path, "pagination style offset needs 'size' (records per page)")
    for key in ("size", "max_pages"):
        if key in raw and raw[key] < 1:
            raise w.error((*path, key), "must be at least 1")
    for key in ("overlap", "rounds"):
        if key in raw and raw[key] < 0:
            raise w.error((*path, key), "cannot be negative")
    if raw.get("overlap", 0) and (style != "offset" or raw["overlap"] >= raw["size"]):
        raise w.error((*path, "overlap"), "overlap is for the offset style, below size")
    default_param = {"page": "page", "offset": "offset", "cursor": "cursor"}.get(style)
    return Pagination(style, raw.get("param", default_param),
                      raw.get("start", 1 if style == "page" else 0), raw.get("size"),
                      raw.get("size_param"), nxt, total, raw.get("overlap", 0),
                      raw.get("rounds", 3), raw.get("max_pages", 100_000))


def compile_api(w: _Where, raw: Any) -> ApiSpec:
    raw = _mapping(w, (), raw, {"endpoints": (list,)}, required=("endpoints",))
    if not raw["endpoints"]:
        raise w.error(("endpoints",), "needs at least one endpoint")
    endpoints: list[Endpoint] = []
    for i, ep in enumerate(raw["endpoints"]):
        path: Path = ("endpoints", i)
        item, ep = _compile_item(w, path, ep, ("path", "from_url", "const"), extra={
            "name": (str,), "path": (str,), "params": (dict,), "items": (str, dict),
            "pagination": (str, dict), "for_each": (dict,)})
        for key in ("path", "items"):
            if key not in ep:
                raise w.error(path, f"missing required key {key!r}")
        name = ep.get("name", item.kind)
        if any(e.name == name for e in endpoints):
            raise w.error(path, f"two endpoints are named {name!r}: give them a 'name'")
        for key, value in ep.get("params", {}).items():
            if not _is(value, (str, int, float, bool)):
                raise w.error((*path, "params", key), f"must be a plain value, got {value!r}")
        for_each = None
        if "for_each" in ep:
            fe = _mapping(w, (*path, "for_each"), ep["for_each"],
                          {"endpoint": (str,), "value": (str, dict)},
                          required=("endpoint", "value"))
            if not any(e.name == fe["endpoint"] for e in endpoints):
                raise w.error((*path, "for_each", "endpoint"), f"no endpoint named "
                              f"{fe['endpoint']!r} before this one")
            if "{value}" not in ep["path"] and not any(
                    "{value}" in str(v) for v in ep.get("params", {}).values()):
                raise w.error((*path, "path"), "a for_each endpoint puts {value} in its path "
                              "or params")
            for_each = (fe["endpoint"], _compile_pick(w, (*path, "for_each", "value"),
                                                      fe["value"], ("path",)))
        elif "{value}" in ep["path"]:
            raise w.error((*path, "path"), "{value} in the path needs a for_each")
        items = _compile_pick(w, (*path, "items"), ep["items"], ("path",))
        endpoints.append(Endpoint(name, item, ep["path"], dict(ep.get("params", {})), items,
                                  _compile_pagination(w, (*path, "pagination"),
                                                      ep.get("pagination")), for_each))
    return ApiSpec(tuple(endpoints))


# ---------------------------------------------------------------------- geojson spec
@dataclass(frozen=True)
class GeoSpec:
    item: ItemRule
    endpoint: str = "/api/commerces"
    bbox: Box | None = None
    bbox_param: str = "bbox"
    cap: int | None = None
    min_tile: float = 0.0001
    params: dict[str, Any] = field(default_factory=dict)


def compile_geojson(w: _Where, raw: Any) -> GeoSpec:
    raw = _mapping(w, (), raw, {"endpoint": (str,), "bbox": (list, str), "bbox_param": (str,),
                                "cap": (int,), "min_tile": (int, float), "kind": (str,),
                                "fields": (dict,), "required": (list,), "params": (dict,)},
                   required=("fields",))
    box = None
    if "bbox" in raw:
        try:
            box = parse_box(raw["bbox"])
        except ValueError as exc:
            raise w.error(("bbox",), str(exc)) from None
    if raw.get("min_tile", 1) <= 0:
        raise w.error(("min_tile",), "must be positive")
    if raw.get("cap", 1) < 1:
        raise w.error(("cap",), "must be at least 1")
    fields = dict(raw["fields"])
    fields.setdefault("source_id", "id || properties.id")
    item, _ = _compile_item(w, (), {"kind": raw.get("kind", "shop"), "fields": fields,
                                    "required": raw.get("required", [])},
                            ("path", "from_url", "const"), kinds=("shop",))
    return GeoSpec(item, raw.get("endpoint", "/api/commerces"), box,
                   raw.get("bbox_param", "bbox"), raw.get("cap"),
                   float(raw.get("min_tile", 0.0001)), dict(raw.get("params", {})))


# ---------------------------------------------------------------------- sitemap spec
SYNTAXES = ("json-ld", "microdata")


@dataclass(frozen=True)
class SitemapPage:
    pattern: re.Pattern[str]
    item: ItemRule
    types: frozenset[str]


@dataclass(frozen=True)
class SitemapSpec:
    pages: tuple[SitemapPage, ...]
    sitemap: str = "/sitemap_index.xml"
    robots: bool = True
    syntaxes: tuple[str, ...] = SYNTAXES
    complete: str = "</html>"


def compile_sitemap(w: _Where, raw: Any) -> SitemapSpec:
    raw = _mapping(w, (), raw, {"sitemap": (str,), "robots": (bool,), "syntaxes": (list,),
                                "complete": (str,), "pages": (list,)}, required=("pages",))
    syntaxes = raw.get("syntaxes", list(SYNTAXES))
    for i, syntax in enumerate(syntaxes):
        if syntax not in SYNTAXES:
            raise w.error(("syntaxes", i), f"unknown syntax {syntax!r} (known: "
                          f"{', '.join(SYNTAXES)})")
    if not raw["pages"]:
        raise w.error(("pages",), "needs at least one page rule")
    pages = []
    for i, page in enumerate(raw["pages"]):
        path: Path = ("pages", i)
        item, page = _compile_item(w, path, page, ("path", "from_url", "const"), extra={
            "match": (str,), "types": (list, str)})
        if "match" not in page:
            raise w.error(path, "missing required key 'match' (a regex on the URL path)")
        try:
            pattern = re.compile(page["match"])
        except re.error as exc:
            raise w.error((*path, "match"), f"regex {page['match']!r} does not compile: "
                          f"{exc}") from None
        types_raw = page.get("types", ["LocalBusiness" if item.kind == "shop" else "Product"])
        types_raw = [types_raw] if isinstance(types_raw, str) else types_raw
        types: set[str] = set()
        for t in types_raw:
            if not isinstance(t, str) or not t:
                raise w.error((*path, "types"), f"a schema.org type name, got {t!r}")
            types |= family(t)
        pages.append(SitemapPage(pattern, item, frozenset(types)))
    return SitemapSpec(tuple(pages), raw.get("sitemap", "/sitemap_index.xml"),
                       raw.get("robots", True), tuple(syntaxes),
                       raw.get("complete", "</html>"))


_COMPILERS: dict[str, Callable[[_Where, Any], Any]] = {
    "html": compile_html, "json_api": compile_api, "sitemap_jsonld": compile_sitemap,
    "geojson": compile_geojson,
}


def check_extract(connector: str, extract: Any, *, source: str, filename: str | None = None,
                  lines: dict[Path, int] | None = None, line: int = 0) -> Any:
    """Validate (and compile) a source's ``extract:`` block for its connector type.

    Raises SourceConfigError naming the file, line, source and key. Returns the
    compiled spec (``HtmlSpec``, ``ApiSpec``, ``SitemapSpec`` or ``GeoSpec``).
    """
    where = _Where(source, filename, lines, line)
    if connector not in DECLARATIVE_TYPES:
        if extract is not None:
            raise where.error((), f"'extract' is only for declarative connectors "
                              f"({', '.join(DECLARATIVE_TYPES)}); {connector!r} is built in")
        return None
    if extract is None:
        head = f"{filename}:{line}: " if filename else ""
        raise SourceConfigError(f"{head}source {source!r}: connector {connector!r} needs an "
                                "'extract' block (what to fetch and how to read it)",
                                source=source)
    return _COMPILERS[connector](where, extract)


@lru_cache(maxsize=32)
def _compiled(connector: str, source: str, extract_json: str) -> Any:
    return check_extract(connector, json.loads(extract_json), source=source)


def compile_spec(config: SourceConfig) -> Any:
    """The compiled spec of a declarative source (cached per configuration)."""
    return _compiled(config.connector, config.key,
                     json.dumps(config.extract, default=str))  # key order matters


# ====================================================================== records
def _fingerprint(item: Any) -> str:
    text = json.dumps(item, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def read_items(rule: ItemRule, nodes: list[Any], page: Any, url: str, result: PageResult, *,
               seen: set[tuple[str, str]] | None = None, null_rows: set[str] | None = None,
               ids: set[str] | None = None, page_url_default: bool = False) -> None:
    """Turn the records of a page into listings, errors and touched ids on ``result``.

    ``seen`` ((kind, source id) already passed on in this crawl) drops repeats;
    ``ids`` collects every id met (for drift checks); ``null_rows`` collects
    fingerprints of id-less records (reported once each); ``page_url_default``
    gives listings without a ``url`` the page's.
    """
    for node in nodes:
        try:
            listing = rule.listing(node, page, url)
        except (TypeError, ValueError, jmespath.exceptions.JMESPathError) as exc:
            result.errors.append((url, "invalid_record", f"{rule.kind}: {exc}"))
            continue
        sid = listing.get("source_id")
        if sid is None:
            key = _fingerprint(node if not isinstance(node, Selector) else node.get())
            if null_rows is not None:
                if key in null_rows:
                    continue
                null_rows.add(key)
            result.errors.append((url, "invalid_record", f"{rule.kind} without source_id"))
            continue
        if ids is not None:
            ids.add(sid)
        if seen is not None:
            if (rule.kind, sid) in seen:
                continue
            seen.add((rule.kind, sid))
        if page_url_default:
            listing.setdefault("url", url)
        problem = rule.problem(listing)
        if problem:
            result.errors.append((listing.get("url", url), "invalid_record",
                                  f"{sid}: {problem}"))
            result.touched.append(sid)
            continue
        result.listings.append(listing)


def select_nodes(pick: Pick | None, root: Any, url: str) -> list[Any] | None:
    """The item nodes a ``select`` finds (None: a JSON path that found no list)."""
    if pick is None:
        return [root]
    if pick.lang == "path":
        found = pick.compiled.search(root)
        if found is None or not isinstance(found, list):
            return None
        return found
    return list(root.xpath(pick.compiled))


def _links(pick: Pick, node: Any, url: str) -> list[str]:
    value = pick.value(node, node, url)
    values = value if isinstance(value, list) else [value]
    return [urljoin(url, v.strip()) for v in values if isinstance(v, str) and v.strip()]


def _total(pick: Pick, node: Any, url: str) -> int | None:
    value = pick.value(node, node, url)
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    digits = re.sub(r"[\s\u202f\u00a0.]", "", str(value))
    match = re.search(r"\d+", digits)
    return int(match.group(0)) if match else None


# ====================================================================== json_api
class DeclarativeApiConnector(ApiConnector):
    """A JSON API walked by the endpoints of a ``json_api`` entry (see the module docs).

    The checkpoint after each page is ``{"v", "endpoint", "value_index",
    "position", "parents"}``: the endpoint under way, how many parent values
    (for_each) are done, the next page's position (page number, offset, cursor
    or link), and the parent values later endpoints still need. A resumed run
    continues from there; listings stored before the kill are stored again as
    unchanged.
    """

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        spec = compile_spec(config)
        if not isinstance(spec, ApiSpec):
            raise SourceConfigError(f"connector {config.connector!r} is not json_api",
                                    source=config.key)
        self.spec = spec
        self.stats: dict[str, int] = {"pages": 0, "rewalks": 0, "lost_pages": 0}

    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        start, value_index, position = 0, 0, None
        parents: dict[str, list[Any]] = {}  # child endpoint -> the values it walks
        if isinstance(checkpoint, dict) and checkpoint.get("v") == CHECKPOINT_VERSION:
            start = int(checkpoint.get("endpoint", 0))
            value_index = int(checkpoint.get("value_index", 0))
            position = checkpoint.get("position")
            parents = {k: list(v) for k, v in (checkpoint.get("parents") or {}).items()}
            log.info("%s: resuming at endpoint %d", self.source, start)
        endpoints = self.spec.endpoints
        seen: set[tuple[str, str]] = set()
        for number in range(start, len(endpoints)):
            endpoint = endpoints[number]
            children = [e for e in endpoints[number + 1:]
                        if e.for_each and e.for_each[0] == endpoint.name]
            for child in children:
                parents.setdefault(child.name, [])

            def checkpoint_of(values_done: int, position: Any, finished: bool,
                              number: int = number) -> dict[str, Any]:
                if finished:
                    number, values_done, position = number + 1, 0, None
                wanted = {e.name for e in endpoints[number:] if e.for_each}
                return {"v": CHECKPOINT_VERSION, "endpoint": number,
                        "value_index": values_done, "position": position,
                        "parents": {k: v for k, v in parents.items() if k in wanted}}

            if endpoint.for_each is None:
                for result in self._walk(endpoint, endpoint.path, dict(endpoint.params),
                                         position, seen, children, parents):
                    result.checkpoint = checkpoint_of(0, result.checkpoint,
                                                      result.checkpoint is None)
                    yield result
            else:
                yield from self._for_each(endpoint, parents.get(endpoint.name, []),
                                          value_index, seen, children, parents, checkpoint_of)
            value_index, position = 0, None

    def _for_each(self, endpoint: Endpoint, values: list[Any], first: int,
                  seen: set[tuple[str, str]], children: list[Endpoint],
                  parents: dict[str, list[Any]],
                  checkpoint_of: Callable[[int, Any, bool], dict[str, Any]]
                  ) -> Iterator[PageResult]:
        """Walk the endpoint once per parent value, ``concurrency`` values at a time."""
        workers = max(1, self.config.concurrency)

        def one(value: Any) -> list[PageResult]:
            text = str(value)
            path = endpoint.path.replace("{value}", text)
            params = {k: (v.replace("{value}", text) if isinstance(v, str) else v)
                      for k, v in endpoint.params.items()}
            return list(self._walk(endpoint, path, params, None, set(), children, parents))

        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix=f"{self.source}-each") as pool:
            index = first
            if index >= len(values):  # nothing to walk: say the endpoint is done
                yield PageResult(None, page=False, checkpoint=checkpoint_of(0, None, True))
                return
            while index < len(values):
                batch = values[index:index + workers]
                for offset, results in enumerate(pool.map(one, batch)):
                    done = index + offset + 1
                    for result in results:
                        fresh = []
                        for listing in result.listings:
                            key = (listing["kind"], listing["source_id"])
                            if key not in seen:
                                seen.add(key)
                                fresh.append(listing)
                        result.listings = fresh
                        result.checkpoint = checkpoint_of(done, None, done >= len(values))
                        yield result
                index += len(batch)

    def _query(self, endpoint: Endpoint, params: dict[str, Any], position: Any
               ) -> dict[str, Any]:
        pag = endpoint.pagination
        query = dict(params)
        if pag.size is not None and pag.size_param:
            query[pag.size_param] = pag.size
        if pag.style in ("page", "offset", "cursor") and pag.param and position is not None:
            query[pag.param] = position
        return query

    def _fetch(self, path: str, query: dict[str, Any]) -> tuple[str, Any, PageResult | None]:
        """(url, data, None), or (url, None, a failed PageResult) when the page is lost."""
        url = self.absolute(path)
        shown = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        try:
            fetched = self.fetcher.get_json(path, query or None)
        except FetchError as exc:
            if exc.status in (401, 403):
                raise  # nothing can be reached: the run fails with this message
            return shown, None, PageResult(shown, page=False, failed=True,
                                           errors=[(exc.url or shown, exc.kind, str(exc))])
        except CrawlError as exc:
            return shown, None, PageResult(shown, page=False, failed=True,
                                           errors=[(exc.url or shown, exc.kind, str(exc))])
        return fetched.url, fetched.data, None

    def _walk(self, endpoint: Endpoint, path: str, params: dict[str, Any], position: Any,
              seen: set[tuple[str, str]], children: list[Endpoint],
              parents: dict[str, list[Any]]) -> Iterator[PageResult]:
        """Every page of one endpoint, walked again while fewer than ``total`` were seen.

        Each result's ``checkpoint`` is the next page's position (None: the end).
        """
        pag = endpoint.pagination
        ids: set[str] = set()
        null_rows: set[str] = set()
        found: dict[str, dict[Any, None]] = {c.name: dict.fromkeys(parents.get(c.name, []))
                                             for c in children}
        state = {"total": None, "lost": False}
        rounds = 0
        while True:
            pending: PageResult | None = None  # held back: the last page may not be the end
            for result in self._pages_of(endpoint, path, params, position, seen, ids,
                                         null_rows, state, children, found, parents):
                if pending is not None:
                    yield pending
                pending = result
            position = None
            total = state["total"]
            short = (total is not None and pag.style in ("page", "offset")
                     and len(ids) + len(null_rows) < total and not state["lost"])
            if short and rounds < pag.rounds:
                rounds += 1
                self.stats["rewalks"] += 1
                log.info("%s: %s has %d of %d records, walking it again (round %d)",
                         self.source, endpoint.name, len(ids) + len(null_rows), total, rounds)
                if pending is not None:
                    pending.checkpoint = pag.start  # killed now: walk again from the start
                    yield pending
                continue
            if short:
                assert pending is not None
                url = self.absolute(path)
                pending.failed = True
                pending.errors.append(PageError(url, ErrorKind.INCOMPLETE, f"{endpoint.name}: "
                                       f"{len(ids) + len(null_rows)} of {total} records after "
                                       f"{rounds} re-walk(s)"))
            if pending is not None:
                yield pending
            return

    def _pages_of(self, endpoint: Endpoint, path: str, params: dict[str, Any], position: Any,
                  seen: set[tuple[str, str]], ids: set[str], null_rows: set[str],
                  state: dict[str, Any], children: list[Endpoint],
                  found: dict[str, dict[Any, None]], parents: dict[str, list[Any]]
                  ) -> Iterator[PageResult]:
        """One pass over the endpoint; each result's checkpoint is the next position."""
        pag = endpoint.pagination
        if position is None and pag.style in ("page", "offset"):
            position = pag.start
        visited: set[str] = set()
        failures = largest = 0
        for _ in range(pag.max_pages):
            if pag.style == "next_link" and position:
                url_path, query = str(position), {}
            else:
                url_path, query = path, self._query(endpoint, params, position)
            key = f"{url_path}?{sorted(query.items())}"
            if key in visited:
                return  # the API's links loop
            visited.add(key)
            url, data, failed = self._fetch(url_path, query)
            self.stats["pages"] += 1
            if failed is not None:
                self.stats["lost_pages"] += 1
                state["lost"] = True
                failures += 1
                if pag.style in ("page", "offset") and failures < 3:
                    position += 1 if pag.style == "page" else (pag.size or 1)
                    failed.checkpoint = position
                    yield failed
                    continue
                failed.errors.append((url, "abandoned", f"{endpoint.name}: the rest of the "
                                      "endpoint cannot be reached"))
                yield failed
                return
            failures = 0
            records = select_nodes(endpoint.items, data, url)
            if records is None:
                exc = SourceLayoutChanged(f"{endpoint.name}: no list at "
                                          f"{endpoint.items.expr!r}", source=self.source,
                                          url=url)
                state["lost"] = True
                yield PageResult(url, failed=True, errors=[(url, exc.kind, str(exc))])
                return
            result = PageResult(url)
            read_items(endpoint.item, records, data, url, result, seen=seen,
                       null_rows=null_rows, ids=ids)
            for child in children:
                values = found[child.name]
                for record in records:
                    value = child.for_each[1].value(record, data, url)  # type: ignore[index]
                    if value not in (None, "") and isinstance(value, str | int | float):
                        values[value] = None
                parents[child.name] = list(values)
            if pag.total is not None:
                total = _total(pag.total, data, url)
                if total is not None:
                    state["total"] = total
            total = state["total"]
            largest = max(largest, len(records))
            nxt: Any = None
            if pag.style == "page":
                covered = (position - pag.start + 1) * largest
                last = not records or (total is not None and covered >= total) or (
                    total is None and len(records) < max(largest, pag.size or 0))
                nxt = None if last else position + 1
            elif pag.style == "offset":
                last = not records or (
                    total is not None and position + len(records) >= total) or (
                    total is None and len(records) < (pag.size or 1))
                nxt = None if last else position + max(1, len(records) - pag.overlap)
            elif pag.style in ("cursor", "next_link") and pag.next is not None:
                value = pag.next.value(data, data, url)
                if isinstance(value, list):
                    value = next((v for v in value if v not in (None, "")), None)
                nxt = value if isinstance(value, str | int) and value != "" else None
                if pag.style == "next_link" and nxt is not None:
                    nxt = urljoin(url, str(nxt))
                    if not same_host(nxt, self.config.base_url):
                        # never carry the source's credentials to another host
                        result.failed = state["lost"] = True
                        result.errors.append((url, "layout", f"{endpoint.name}: the next "
                                              f"link leaves the platform: {nxt}"))
                        nxt = None
            result.checkpoint = nxt
            yield result
            if nxt is None:
                return
            position = nxt


# ====================================================================== geojson
class DeclarativeGeoJsonConnector(Geolocal31Connector):
    """GeoJSON by bounding box, tiles split under the cap; properties mapped by path."""

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        ApiConnector.__init__(self, config, client, fetcher=fetcher)
        spec = compile_spec(config)
        if not isinstance(spec, GeoSpec):
            raise SourceConfigError(f"connector {config.connector!r} is not geojson",
                                    source=config.key)
        self.spec = spec
        self.root = spec.bbox or parse_box(list(HAUTE_GARONNE_BBOX))
        self.min_tile = spec.min_tile
        self.cap = spec.cap
        self.endpoint = spec.endpoint
        self.page_url = self.absolute("/")

    def _params(self, box: Box) -> dict[str, Any]:
        return {**self.spec.params, self.spec.bbox_param: format_box(box)}

    def tile_url(self, box: Box) -> str:
        query = "&".join(f"{k}={v}" for k, v in self._params(box).items())
        return self.absolute(self.endpoint) + "?" + query

    def _fetch(self, box: Box) -> Any:
        try:
            return self.fetcher.get_json(self.endpoint, self._params(box))
        except CrawlError as exc:
            return exc

    def _take(self, feature: Any, root: Box, box: Box, result: PageResult,
              counts: dict[str, int], seen: set[str], reported: set[str]) -> None:
        sid = None
        try:
            listing = self.spec.item.listing(feature, feature, result.url or self.page_url)
            sid = listing.get("source_id")
            if sid is None:
                raise InvalidRecord("feature without id")
            lon, lat = feature_point(feature, sid)
            listing.setdefault("lat", lat)
            listing.setdefault("lon", lon)
            problem = self.spec.item.problem(listing)
            if problem:
                raise InvalidRecord(problem, source_id=sid)
        except (InvalidRecord, TypeError, ValueError) as exc:
            sid = getattr(exc, "source_id", None) or sid
            key = sid or _fingerprint(feature)
            if key in reported:  # a point-less feature comes back from every tile it touches
                return
            reported.add(key)
            counts["invalid"] += 1
            result.errors.append((result.url, "invalid_record",
                                  str(exc) + (f" (id={sid})" if sid else "")))
            if sid:
                result.touched.append(sid)
            return
        if not owns(box, root, lon, lat):
            return  # on an edge: the neighbouring tile owns it
        if sid in seen:
            return
        seen.add(sid)
        counts["features"] += 1
        result.listings.append(listing)


# ====================================================================== the spiders
@lru_cache(maxsize=1)
def _spider_classes() -> dict[str, type[Any]]:
    """The spider classes, built on first use (Scrapy is slow to import)."""
    import scrapy  # noqa: PLC0415
    from scrapy.http import Response  # noqa: PLC0415
    from twisted.python.failure import Failure  # noqa: PLC0415

    from crawlers.spiders.base import CatalogSpider  # noqa: PLC0415

    @dataclass
    class _Chain:
        """A chain of pages linked by ``next``: its pages, the ids met, the announced total."""

        key: str
        page: str
        total: int | None = None
        ids: set[str] = field(default_factory=set)
        pages: list[str] = field(default_factory=list)
        round: int = 0
        pending: int = 0
        finished: bool = False

    class DeclarativeHtmlSpider(CatalogSpider):
        """Pages read by the page rules of an ``html`` entry (see crawlers.declarative)."""

        custom_settings = {"CONCURRENT_ITEMS": 8, "WARN_ON_GENERATOR_RETURN_VALUE": False}

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spec = compile_spec(self.config)
            if not isinstance(spec, HtmlSpec):
                raise SourceConfigError("not an html source", source=self.config.key)
            self.spec = spec
            self.requested: set[str] = set()
            self.seen: set[tuple[str, str]] = set()
            self.null_rows: set[str] = set()
            self.chains: dict[str, _Chain] = {}

        async def start(self) -> AsyncIterator[Any]:
            for url, page in self.spec.start:
                absolute = self.absolute(url)
                self.requested.add(absolute)
                yield self._request(absolute, page, chain=self._chain_for(absolute, page))

        # -------------------------------------------------------------- requests
        def _chain_for(self, url: str, page: str) -> str | None:
            rule = self.spec.pages[page]
            if rule.next is None:
                return None
            if url not in self.chains:
                self.chains[url] = _Chain(url, page)
            return url

        def _request(self, url: str, page: str, *, chain: str | None = None, round_: int = 0,
                     **kwargs: Any) -> scrapy.Request:
            request = self.request(url, self.parse_page, meta={
                "page": page, "chain": chain, "round": round_, "page_url": url}, **kwargs)
            return request.replace(errback=self.on_page_error)

        def on_page_error(self, failure: Failure) -> Iterator[Any]:
            yield from self.on_error(failure)
            request = failure.request  # type: ignore[attr-defined]
            if request.meta.get("chain"):
                yield from self._chain_lost(request.meta["chain"], request.meta["round"])

        def _count(self, name: str) -> None:
            stats = getattr(getattr(self, "crawler", None), "stats", None)
            if stats is not None:
                stats.inc_value(f"{self.config.key}/{name}")

        # -------------------------------------------------------------- pages
        def parse_page(self, response: Response) -> Iterator[Any]:
            meta = response.meta
            rule = self.spec.pages[meta["page"]]
            url = meta.get("page_url") or response.url
            text = getattr(response, "text", None)
            root: Any
            if rule.format == "html":
                if text is None or self.spec.complete not in text:
                    yield from self._malformed(response, "page cut short (no "
                                               f"{self.spec.complete!r})")
                    return
                root = Selector(text=text)
            else:
                try:
                    root = json.loads(text if text is not None else response.body)
                except ValueError as exc:
                    yield from self._malformed(response, f"invalid JSON ({exc})")
                    return
            result = PageResult(url=url)
            chain = self.chains.get(meta["chain"]) if meta.get("chain") else None
            for item in rule.items:
                nodes = select_nodes(item.select, root, url)
                if not nodes and not (item.allow_empty and nodes is not None):
                    what = item.select.expr if item.select else "the page"
                    exc = SourceLayoutChanged(f"no {item.kind} found at {what!r}",
                                              source=self.config.key, url=url)
                    log.warning("%s: %s on %s", self.config.key, exc, url)
                    self._count("layout_errors")
                    result.failed = True
                    result.errors.append((url, exc.kind, str(exc)))
                    continue
                read_items(item, nodes, root, url, result, seen=self.seen,
                           null_rows=self.null_rows, ids=chain.ids if chain else None,
                           page_url_default=rule.format == "html")
            links = 0
            for follow in rule.follow:
                for link in _links(follow.pick, root, url):
                    if not same_host(link, self.base_url):
                        self._count("offsite_links_skipped")
                        continue
                    links += 1
                    if link in self.requested:
                        continue
                    self.requested.add(link)
                    yield self._request(link, follow.page, chain=self._chain_for(link,
                                                                                 follow.page))
            next_url = None
            if rule.next is not None:
                found = [u for u in _links(rule.next, root, url) if same_host(u, self.base_url)]
                next_url = found[0] if found else None
            if chain is not None and rule.total is not None and not result.failed:
                total = _total(rule.total, root, url)
                if total is not None:
                    chain.total = total
            # a leaf (nothing to reach from it, no chain to count) need not be fetched again
            # by a resumed run
            result.done = not links and chain is None and not result.failed
            yield result
            if chain is not None:
                yield from self._chain_step(chain, url, next_url, meta["round"])

        def _malformed(self, response: Response, reason: str) -> Iterator[Any]:
            retried = False
            for item in self.retry_malformed(response, reason):
                retried = retried or isinstance(item, scrapy.Request)
                yield item
            chain = response.meta.get("chain")
            if not retried and chain:
                yield from self._chain_lost(chain, response.meta["round"])

        # -------------------------------------------------------------- drift-proof chains
        def _chain_step(self, chain: _Chain, url: str, next_url: str | None,
                        round_: int) -> Iterator[Any]:
            if url not in chain.pages:
                chain.pages.append(url)
            if round_ == 0:
                if next_url and next_url not in chain.pages:
                    self.requested.add(next_url)
                    yield self._request(next_url, chain.page, chain=chain.key)
                else:
                    yield from self._round_over(chain)
            else:
                chain.pending -= 1
                if chain.pending == 0:
                    yield from self._round_over(chain)

        def _chain_lost(self, key: str, round_: int) -> Iterator[Any]:
            chain = self.chains[key]
            if round_ == 0:
                chain.finished = True  # the chain is cut: the run is partial anyway
                return
            chain.pending -= 1
            if chain.pending == 0:
                yield from self._round_over(chain)

        def _round_over(self, chain: _Chain) -> Iterator[Any]:
            if chain.finished:
                return
            if chain.total is None or len(chain.ids) >= chain.total:
                chain.finished = True
                return
            if chain.round >= self.spec.repage_rounds:
                chain.finished = True
                reason = (f"{len(chain.ids)} of {chain.total} announced items found after "
                          f"{chain.round + 1} pass(es) over {len(chain.pages)} page(s)")
                log.warning("%s: %s incomplete: %s", self.config.key, chain.key, reason)
                self._count("incomplete_chains")
                yield PageResult(url=chain.key, page=False, failed=True,
                                 errors=[PageError(chain.key, ErrorKind.INCOMPLETE, reason)])
                return
            chain.round += 1
            chain.pending = len(chain.pages)
            self._count("repaging_rounds")
            log.info("%s: %s lists %d of %d items: paging it again (round %d)",
                     self.config.key, chain.key, len(chain.ids), chain.total, chain.round)
            for page_url in list(chain.pages):
                yield self._request(page_url, chain.page, chain=chain.key, round_=chain.round,
                                    dont_filter=True)

    class DeclarativeSitemapSpider(CatalogSpider):
        """Sitemaps -> pages -> schema.org objects mapped by a ``sitemap_jsonld`` entry."""

        custom_settings = {"CONCURRENT_ITEMS": 1}

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spec = compile_spec(self.config)
            if not isinstance(spec, SitemapSpec):
                raise SourceConfigError("not a sitemap_jsonld source", source=self.config.key)
            self.spec = spec

        async def start(self) -> AsyncIterator[Any]:
            if self.spec.robots:
                yield scrapy.Request(self.absolute("/robots.txt"), callback=self.parse_robots,
                                     errback=self.robots_failed, dont_filter=True,
                                     priority=100)
            else:
                yield self.request(self.spec.sitemap, self.parse_sitemap, priority=50)

        def parse_robots(self, response: Response) -> Iterator[Any]:
            text = getattr(response, "text", None) or response.body.decode("utf-8", "replace")
            found = [u for u in sitemaps_from_robots(text) if same_host(u, self.base_url)]
            for url in found or [self.absolute(self.spec.sitemap)]:
                yield self.request(url, self.parse_sitemap, priority=50)

        def robots_failed(self, failure: Failure) -> Iterator[Any]:
            yield self.request(self.spec.sitemap, self.parse_sitemap, priority=50)

        def parse_sitemap(self, response: Response) -> Iterator[Any]:
            try:
                kind, entries = parse_sitemap(response.body)
            except MalformedSitemap as exc:
                yield from self.retry_malformed(response, f"sitemap: {exc}")
                return
            for entry in entries:
                if not same_host(entry.loc, self.base_url):
                    continue
                if kind == "index":
                    yield self.request(entry.loc, self.parse_sitemap, priority=50)
                    continue
                path = urlsplit(entry.loc).path
                for number, page in enumerate(self.spec.pages):
                    if page.pattern.search(path):
                        yield self.request(entry.loc, self.parse_page,
                                           meta={"rule": number})
                        break

        def parse_page(self, response: Response) -> Iterator[Any]:
            page = self.spec.pages[response.meta["rule"]]
            url = response.url
            text = getattr(response, "text", None)
            if text is None or self.spec.complete not in text:
                yield from self.retry_malformed(response, f"page cut short (no "
                                                f"{self.spec.complete!r})")
                return
            try:
                objects = schema_objects(text, url, self.spec.syntaxes)
            except InvalidJsonLd as exc:
                if not response.meta.get("refetched"):
                    yield self.request(url, self.parse_page, dont_filter=True,
                                       meta={**response.meta, "refetched": True})
                    return
                yield PageResult(url=url, errors=[(url, "invalid_record", str(exc))],
                                 done=True)
                return
            obj = find_object(objects, page.types)
            if obj is None:
                exc2 = SourceLayoutChanged(f"no {'/'.join(sorted(page.types)[:3])}... object "
                                           "on the page", source=self.config.key, url=url)
                yield PageResult(url=url, page=False, failed=True,
                                 errors=[(url, exc2.kind, str(exc2))])
                return
            result = PageResult(url=url, done=True)
            read_items(page.item, [obj], objects, url, result, page_url_default=True)
            yield result

    return {"html": DeclarativeHtmlSpider, "sitemap_jsonld": DeclarativeSitemapSpider}


# ====================================================================== preview
@dataclass
class Preview:
    """What a few pages of a source gave, without touching the catalog (``agora sources test``).

    ``listings`` are validated (contract) listings; ``errors`` are (url, kind,
    reason), invalid listings included; ``pages`` counts pages fetched.
    """

    source: str
    connector: str
    pages: int = 0
    failed_pages: int = 0
    listings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str | None, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.listings:
            out[item["kind"]] = out.get(item["kind"], 0) + 1
        return out

    def fill(self) -> dict[str, dict[str, int]]:
        """Per kind, how many listings have each contract field filled."""
        out: dict[str, dict[str, int]] = {}
        for kind in self.counts():
            names = [f for f in FIELDS[kind] if f not in ("kind", "source", "source_id")]
            out[kind] = {name: sum(1 for item in self.listings
                                   if item["kind"] == kind and name in item) for name in names}
        return out

    def empty_fields(self) -> dict[str, list[str]]:
        """Per kind, the contract fields that came out empty in every listing."""
        return {kind: [name for name, n in fields.items() if n == 0]
                for kind, fields in self.fill().items()}

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "connector": self.connector, "pages": self.pages,
                "failed_pages": self.failed_pages, "counts": self.counts(),
                "fill": self.fill(), "empty_fields": self.empty_fields(),
                "errors": [list(e) for e in self.errors], "listings": self.listings}


class PreviewSink:
    """Takes a crawler's PageResults like ``CatalogSink`` does, but keeps them in memory."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview

    def write(self, result: PageResult) -> None:
        from crawlers.errors import InvalidListing  # noqa: PLC0415
        from crawlers.listing import validate_listing  # noqa: PLC0415

        preview = self.preview
        if result.page:
            preview.pages += 1
        if result.failed:
            preview.failed_pages += 1
        preview.errors.extend(result.errors)
        for raw in result.listings:
            try:
                preview.listings.append(validate_listing({**raw, "source": preview.source}))
            except InvalidListing as exc:
                sid = raw.get("source_id") if isinstance(raw, dict) else None
                preview.errors.append((result.url, "invalid_listing",
                                       f"{exc} (source_id={sid!r})"))


def preview_source(config: SourceConfig, *, pages: int = 5,
                   log_file: str | None = None) -> Preview:
    """Crawl a few pages of any source (built-in or declarative) into a ``Preview``.

    HTML sources run Scrapy in this process (a process can start Scrapy's
    reactor once: call this from a command, not from a long-lived program).
    """
    from crawlers.connectors import CONNECTORS, SPIDERS  # noqa: PLC0415
    from crawlers.http import make_client  # noqa: PLC0415
    from crawlers.worker import crawler_kind, load_object  # noqa: PLC0415

    preview = Preview(config.key, config.connector)
    sink = PreviewSink(preview)
    kind = crawler_kind(config)
    if kind == "api" or (kind == "declarative" and not is_html_type(config)):
        connector_cls = (load_object(CONNECTORS[config.connector]) if kind == "api"
                         else api_connector_class(config))
        with make_client(config) as client:
            connector = connector_cls(config, client)
            results = connector.pages(None)
            try:
                for result in results:
                    sink.write(result)
                    if preview.pages >= pages:
                        break
            finally:
                results.close()  # type: ignore[attr-defined]
        return preview

    from scrapy.crawler import CrawlerProcess  # noqa: PLC0415

    from crawlers.scrapy_support import scrapy_settings  # noqa: PLC0415

    spider_cls = load_object(SPIDERS[config.connector]) if kind == "spider" \
        else spider_class(config)
    settings = scrapy_settings(config, log_file=log_file)
    settings["CLOSESPIDER_PAGECOUNT"] = pages + (1 if config.obey_robots else 0)
    # few requests in flight, so that the spider stops near the page count
    settings["CONCURRENT_REQUESTS"] = settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = max(
        1, min(config.concurrency, pages))
    settings["LOG_ENABLED"] = log_file is not None
    settings["LOG_INSTALL_ROOT_HANDLER"] = False
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, source_config=config, sink=sink, done_pages=set())
    process.start()
    return preview
